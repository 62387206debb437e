//! Fleet rules against Ansible: `any_errors_fatal`, `max_fail_percentage`, `serial` (numbers,
//! percentages, lists), a whole batch failing, and strategy `free`. Each playbook under
//! `tests/fleet_rules/` runs with `ansible-playbook` and with `converge` on the same four hosts
//! (all local connections: these are rules of the executor, not of a transport); which tasks ran
//! on which hosts, in which batches, and the recap of every host must agree. A playbook with a
//! `# compare: recap` line compares only the recap (strategy `free` has no fixed order).
//!
//! Ansible comes from the virtualenv `tests/setup.sh` makes; without it these tests fail.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    repo().join("tests/fleet_rules")
}

fn run(tool: &str, playbook: &Path) -> (i32, String) {
    let mut cmd = if tool == "ansible" {
        let mut c = Command::new(peers_venv().join("bin/ansible-playbook"));
        c.env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
            .env("ANSIBLE_DEPRECATION_WARNINGS", "0")
            .env("ANSIBLE_FORKS", "10");
        c
    } else {
        let mut c = Command::new(converge_bin());
        c.env("NO_COLOR", "1").env(
            "CONVERGE_HISTORY",
            std::env::temp_dir().join("converge-fleet-rules-history.db"),
        );
        c
    };
    let out = cmd
        .arg(playbook)
        .args(["-i", "inventory.ini"])
        .current_dir(dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e} (run tests/setup.sh)"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The run as a list: `PLAY [..]` and `TASK [..]` headers, each followed by the sorted
/// `status [host]` lines of that task (hosts finish in any order).
fn transcript(out: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut block: Vec<String> = Vec::new();
    let flush = |lines: &mut Vec<String>, block: &mut Vec<String>| {
        block.sort();
        lines.append(block);
    };
    for line in out.lines() {
        if line.starts_with("PLAY [") || line.starts_with("TASK [") {
            flush(&mut lines, &mut block);
            let header = line
                .split(" *")
                .next()
                .unwrap_or(line)
                .trim_end_matches('*');
            lines.push(header.trim().to_string());
        } else if line.starts_with("PLAY RECAP") {
            break;
        } else {
            for status in ["ok", "changed", "skipping", "fatal", "failed"] {
                if let Some(rest) = line.strip_prefix(&format!("{status}: [")) {
                    let host = rest.split(']').next().unwrap_or("");
                    block.push(format!("  {status} [{host}]"));
                }
            }
        }
    }
    flush(&mut lines, &mut block);
    lines
}

fn compare(name: &str) {
    assert!(
        peers_venv().join("bin/ansible-playbook").exists(),
        "ansible-playbook not found in {} (run tests/setup.sh)",
        peers_venv().display()
    );
    let pb = dir().join(format!("{name}.yml"));
    let recap_only = std::fs::read_to_string(&pb)
        .unwrap()
        .lines()
        .any(|l| l.trim() == "# compare: recap");
    let (ca, a) = run("ansible", &pb);
    let (cc, c) = run("converge", &pb);
    let context = format!("--- ansible:\n{a}\n--- converge:\n{c}");
    assert_eq!(recap(&a), recap(&c), "{name}: recaps differ\n{context}");
    assert!(!recap(&c).is_empty(), "{name}: no recap\n{context}");
    if !recap_only {
        assert_eq!(
            transcript(&a),
            transcript(&c),
            "{name}: what ran differs\n{context}"
        );
    }
    // Both fail the run, or neither (converge's exit codes are its own: see docs/cli.md).
    assert_eq!(ca == 0, cc == 0, "{name}: exit {ca} vs {cc}\n{context}");
}

macro_rules! cases {
    ($($fn_name:ident => $file:literal),* $(,)?) => {
        $(#[test] fn $fn_name() { compare($file); })*
    };
}

cases! {
    any_errors_fatal => "any-errors-fatal",
    rescued_is_not_fatal => "rescued-is-not-fatal",
    max_fail_percentage => "max-fail-percentage",
    max_fail_zero => "max-fail-zero",
    serial_list => "serial-list",
    whole_batch_fails => "whole-batch-fails",
    strategy_free => "strategy-free",
}
