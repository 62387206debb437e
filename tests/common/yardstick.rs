//! What the yardstick tests of Ansible's own targets share (`tests/ansible_suite.rs`,
//! `tests/ansible_runme.rs`): the committed lists of `tests/ansible-suite/`, and the verdict on a
//! run's `results.tsv` (target, tool, pass|fail, ...): a listed target that fails fails the
//! test, with the end of its log; a target that passes but is not listed is reported.

use super::repo;
use std::collections::BTreeMap;
use std::path::Path;

/// The non-comment lines of a list in `tests/ansible-suite/`.
pub fn listed(file: &str) -> Vec<String> {
    std::fs::read_to_string(repo().join("tests/ansible-suite").join(file))
        .unwrap_or_else(|e| panic!("tests/ansible-suite/{file}: {e}"))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// The expected list, checked to be a subset of the targets run.
pub fn expected(expected_file: &str, targets_file: &str) -> (Vec<String>, Vec<String>) {
    let expected = listed(expected_file);
    let all = listed(targets_file);
    for t in &expected {
        assert!(
            all.contains(t),
            "{expected_file} lists {t}, which {targets_file} does not run"
        );
    }
    (expected, all)
}

/// The verdict on a run kept in `out` (`results.tsv`, `logs/converge/TARGET.log`).
pub fn assert_expected_pass(
    label: &str,
    out: &Path,
    expected_file: &str,
    expected: &[String],
    total: usize,
) {
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
        eprintln!("{label}: now passing, add to tests/ansible-suite/{expected_file}: {newly:?}");
    }
    let regressed: Vec<&String> = expected
        .iter()
        .filter(|t| passed.get(*t) != Some(&true))
        .collect();
    let count = passed.values().filter(|ok| **ok).count();
    eprintln!("{label}: converge passes {count} of {total} targets");
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
