//! Ansible's playbook-language `runme.sh` targets, unmodified, with `ansible-playbook` on PATH
//! being converge (`tests/ansible-suite/runme.sh`, local connection on this machine). Every
//! target of `tests/ansible-suite/runme-expected-pass.txt` must pass; a target that passes but
//! is not listed is reported, so the list grows. Needs root (some scripts mount a tmpfs) and the
//! targets that `tests/setup.sh` unpacks; fails (never skips) without them. The side-by-side run
//! with ansible-playbook that refreshes docs/compatibility.md is a separate command.

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
fn ansible_runme_targets_pass() {
    let expected = listed("runme-expected-pass.txt");
    let all = listed("runme-targets.txt");
    for t in &expected {
        assert!(
            all.contains(t),
            "runme-expected-pass.txt lists {t}, which runme-targets.txt does not run"
        );
    }
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
            "ansible-runme: now passing, add to tests/ansible-suite/runme-expected-pass.txt: {newly:?}"
        );
    }
    let regressed: Vec<&String> = expected
        .iter()
        .filter(|t| passed.get(*t) != Some(&true))
        .collect();
    let count = passed.values().filter(|ok| **ok).count();
    eprintln!(
        "ansible-runme: converge passes {count} of {} targets",
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
