//! The yardstick of issue 12: Ansible's own integration targets, unmodified, run by converge
//! against real lab hosts (`tests/ansible-suite/run.sh`, which starts its own lab). Every
//! target of `tests/ansible-suite/expected-pass.txt` must pass; a target that passes but is not
//! listed is reported, so the list grows. Needs root and the targets that `tests/setup.sh`
//! unpacks; fails (never skips) without them. The side-by-side run with ansible-playbook that
//! refreshes docs/compatibility.md is a separate command (see docs/compatibility.md).

mod common;
use common::repo;
use std::collections::BTreeMap;
use std::process::Command;

fn listed(file: &str) -> Vec<String> {
    std::fs::read_to_string(repo().join("tests/ansible-suite").join(file))
        .unwrap_or_else(|e| panic!("tests/ansible-suite/{file}: {e}"))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

#[test]
fn ansible_integration_targets_pass() {
    let expected = listed("expected-pass.txt");
    let all = listed("targets.txt");
    for t in &expected {
        assert!(
            all.contains(t),
            "expected-pass.txt lists {t}, which targets.txt does not run"
        );
    }
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
    let results = std::fs::read_to_string(out.join("results.tsv")).expect("results.tsv");
    let mut passed: BTreeMap<String, bool> = BTreeMap::new();
    for line in results.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() >= 3 && cols[1] == "converge" {
            passed.insert(cols[0].to_string(), cols[2] == "pass");
        }
    }
    let newly: Vec<&String> = passed
        .iter()
        .filter(|(t, ok)| **ok && !expected.contains(t))
        .map(|(t, _)| t)
        .collect();
    if !newly.is_empty() {
        eprintln!(
            "ansible-suite: now passing, add to tests/ansible-suite/expected-pass.txt: {newly:?}"
        );
    }
    let regressed: Vec<&String> = expected
        .iter()
        .filter(|t| passed.get(*t) != Some(&true))
        .collect();
    let count = passed.values().filter(|ok| **ok).count();
    eprintln!(
        "ansible-suite: converge passes {count} of {} targets",
        all.len()
    );
    for t in &regressed {
        let log = out.join("logs/converge").join(format!("{t}.log"));
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(25).collect();
        eprintln!("---- {t} (last lines of {})", log.display());
        tail.iter().rev().for_each(|l| eprintln!("{l}"));
    }
    assert!(
        regressed.is_empty(),
        "targets expected to pass failed: {regressed:?} (logs in {})",
        out.display()
    );
}
