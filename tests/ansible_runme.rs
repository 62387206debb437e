//! Ansible's playbook-language `runme.sh` targets, unmodified, with `ansible-playbook` on PATH
//! being converge (`tests/ansible-suite/runme.sh`, local connection on this machine). Every
//! target of `tests/ansible-suite/runme-expected-pass.txt` must pass; a target that passes but
//! is not listed is reported, so the list grows. Needs root (some scripts mount a tmpfs) and the
//! targets that `tests/setup.sh` unpacks; fails (never skips) without them. The side-by-side run
//! with ansible-playbook that refreshes docs/compatibility.md is a separate command.

mod common;
use common::repo;
use common::yardstick::{assert_expected_pass, expected};
use std::process::Command;

#[test]
fn ansible_runme_targets_pass() {
    let (expected, all) = expected("runme-expected-pass.txt", "runme-targets.txt");
    // A fixed place, kept after the run, so that a failure's logs can be read.
    let out = std::env::temp_dir().join("converge-ansible-runme");
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new("bash")
        .arg(repo().join("tests/ansible-suite/runme.sh"))
        .args(["--tool", "converge", "--jobs", "3", "--out"])
        .arg(&out)
        .env("CONVERGE_BIN", common::converge_bin())
        .env("RUNME_TIMEOUT", "60")
        .status()
        .expect("run tests/ansible-suite/runme.sh");
    assert!(
        status.success(),
        "tests/ansible-suite/runme.sh failed to run"
    );
    assert_expected_pass(
        "ansible-runme",
        &out,
        "runme-expected-pass.txt",
        &expected,
        all.len(),
    );
}
