//! Popular public roles (geerlingguy.*, MIT, vendored unmodified in `tests/roles-public/`) run by
//! converge on fresh lab hosts (`tests/roles-public/run.sh`, which starts its own lab 14): a
//! check run writes nothing, the apply succeeds, a second apply changes nothing, the managed files
//! equal what ansible-playbook wrote (the committed `reference/ROLE.tsv`), the service runs.
//! Every role of `expected-pass.txt` must pass; a role that starts to pass is reported. Needs root
//! (the lab) and the Debian mirror through the lab's NAT; fails (never skips) without them.
//! The side-by-side run with ansible-playbook that refreshes the references and
//! docs/compatibility.md is a separate command (see tests/roles-public/README.md).

mod common;
use common::repo;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn dir() -> std::path::PathBuf {
    repo().join("tests/roles-public")
}

/// The first tab-separated field of each non-comment line of a file of the harness.
fn listed(file: &str) -> Vec<String> {
    std::fs::read_to_string(dir().join(file))
        .unwrap_or_else(|e| panic!("tests/roles-public/{file}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split('\t').next())
        .map(|s| s.trim().to_string())
        .collect()
}

#[test]
fn vendored_roles_name_their_source_and_have_a_reference() {
    for role in listed("cases.tsv") {
        let root = dir().join(&role);
        for f in ["LICENSE", "SOURCE", "tasks/main.yml"] {
            assert!(root.join(f).is_file(), "{role}: no {f}");
        }
        let source = std::fs::read_to_string(root.join("SOURCE")).unwrap_or_default();
        assert!(
            source.contains("commit: ") && source.contains("repository: https://github.com/"),
            "{role}/SOURCE must name the repository and the commit"
        );
        assert!(
            dir()
                .join("reference")
                .join(format!("{role}.tsv"))
                .is_file(),
            "{role}: no reference/{role}.tsv (run.sh --tool ansible --write-reference)"
        );
    }
    let cases = listed("cases.tsv");
    for role in listed("expected-pass.txt") {
        assert!(
            cases.contains(&role),
            "expected-pass.txt lists {role}, not in cases.tsv"
        );
    }
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[test]
fn public_roles_converge_like_ansible() {
    let expected = listed("expected-pass.txt");
    // A fixed place, kept after the run, so that a failure's logs can be read.
    let out = std::env::temp_dir().join("converge-roles-public");
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new("bash")
        .arg(dir().join("run.sh"))
        .args(["--tool", "converge", "--out"])
        .arg(&out)
        .env("CONVERGE_BIN", common::converge_bin())
        .env("ROLES_TIMEOUT", "300")
        .status()
        .expect("run tests/roles-public/run.sh");
    // 0: all expected roles pass; 1: some failed (reported below); anything else: no run.
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "tests/roles-public/run.sh failed to run ({status})"
    );
    let results = std::fs::read_to_string(out.join("results.tsv")).expect("results.tsv");
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in results.lines() {
        let cols: Vec<String> = line.split('\t').map(String::from).collect();
        if cols.len() == 11 && cols[1] == "converge" {
            rows.insert(cols[0].clone(), cols);
        }
    }
    let passes = |r: &String| rows.get(r).is_some_and(|c| c[2] == "pass");
    let newly: Vec<&String> = rows
        .keys()
        .filter(|r| passes(r) && !expected.contains(r))
        .collect();
    if !newly.is_empty() {
        eprintln!(
            "roles-public: now passing, add to tests/roles-public/expected-pass.txt: {newly:?}"
        );
    }
    let regressed: Vec<&String> = expected.iter().filter(|r| !passes(r)).collect();
    for r in &regressed {
        let why = rows.get(*r).map_or("not run", |c| c[10].as_str());
        let log = out.join("logs/converge").join(r).join("apply.log");
        eprintln!(
            "---- {r}: {why}\n(last lines of {})\n{}",
            log.display(),
            tail(&log, 20)
        );
    }
    eprintln!(
        "roles-public: converge passes {} of {} roles",
        rows.keys().filter(|r| passes(r)).count(),
        rows.len()
    );
    assert!(
        regressed.is_empty(),
        "roles expected to pass failed: {regressed:?} (logs in {})",
        out.display()
    );
}
