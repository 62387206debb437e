//! The yardstick of issue 12: Ansible's own integration targets, unmodified, run by converge
//! against real lab hosts (`tests/ansible-suite/run.sh`, which starts its own lab). Every
//! target of `tests/ansible-suite/expected-pass.txt` must pass; a target that passes but is not
//! listed is reported, so the list grows. Needs root and the targets that `tests/setup.sh`
//! unpacks; fails (never skips) without them. The side-by-side run with ansible-playbook that
//! refreshes docs/compatibility.md is a separate command (see docs/compatibility.md).

mod common;
use common::repo;
use common::yardstick::{assert_expected_pass, expected};
use std::process::Command;

#[test]
fn ansible_integration_targets_pass() {
    let (expected, all) = expected("expected-pass.txt", "targets.txt");
    // A fixed place, kept after the run, so that a failure's logs can be read.
    let out = std::env::temp_dir().join("converge-ansible-suite");
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new("bash")
        .arg(repo().join("tests/ansible-suite/run.sh"))
        .args(["--tool", "converge", "--shards", "3", "--out"])
        .arg(&out)
        .env("CONVERGE_BIN", common::converge_bin())
        .env("SUITE_TIMEOUT", "240")
        .status()
        .expect("run tests/ansible-suite/run.sh");
    assert!(status.success(), "tests/ansible-suite/run.sh failed to run");
    assert_expected_pass(
        "ansible-suite",
        &out,
        "expected-pass.txt",
        &expected,
        all.len(),
    );
}
