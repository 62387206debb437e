//! `converge plan` on a play whose `block` fails and whose `rescue` handles it (issue 14): the
//! rescued failure is `rescued` everywhere — the summary line, the host line, the task list, the
//! markdown and JSON reports — and never a failure; only unrescued failures count and change the
//! exit code. Snapshots of the text, markdown and JSON a user reads, with the run id, times and
//! temporary paths replaced by placeholders.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Host `web1` fails inside a block with a `rescue`; `web2` does not fail; both would get a
/// file. `unrescued` adds a failure on `web2` after the block, with nothing to rescue it.
fn playbook(dir: &Path, unrescued: bool) -> std::path::PathBuf {
    let pb = dir.join("rescue.yml");
    let mut text = String::from(
        "- name: Rescue demo\n  hosts: all\n  gather_facts: false\n  tasks:\n\
         \x20   - name: guarded probe\n      block:\n\
         \x20       - name: probe the service\n          fail:\n            msg: service not answering\n\
         \x20         when: inventory_hostname == 'web1'\n\
         \x20     rescue:\n\
         \x20       - name: note the rescue\n          debug:\n            msg: \"rescued on {{ inventory_hostname }}\"\n\
         \x20   - name: write the config\n      copy:\n        dest: \"{{ root }}/{{ inventory_hostname }}.conf\"\n        content: \"port=8080\\n\"\n",
    );
    if unrescued {
        text.push_str(
            "    - name: unrescued check\n      fail:\n        msg: disk full\n      when: inventory_hostname == 'web2'\n",
        );
    }
    std::fs::write(&pb, text).expect("write playbook");
    pb
}

fn inventory(dir: &Path) -> std::path::PathBuf {
    let inv = dir.join("hosts.ini");
    std::fs::write(
        &inv,
        "web1 ansible_connection=local\nweb2 ansible_connection=local\n",
    )
    .expect("write inventory");
    inv
}

fn converge(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(converge_bin())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("CONVERGE_HISTORY", dir.join("history.db"))
        .output()
        .expect("run converge");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Replaces what differs between runs: the temp dir, the run id, times and durations.
fn normalize_text(s: &str, tmp: &Path) -> String {
    let s = s.replace(&tmp.display().to_string(), "[TMP]");
    s.lines()
        .map(|l| {
            let mut l = l.to_string();
            for (marker, end) in [
                ("run ", " "),
                ("run: <code>", "</code>"),
                ("started: ", " ·"),
                ("duration: ", " s"),
            ] {
                if let Some(start) = l.find(marker) {
                    let from = start + marker.len();
                    if let Some(len) = l[from..].find(end) {
                        l.replace_range(from..from + len, "[X]");
                    }
                }
            }
            if l.starts_with("run [X] ") {
                l = "run [X] · [DURATION]".to_string();
            }
            l
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Also drops each result's `data` (the registered module result, whose keys are the modules'
/// business, not the report's): the snapshot is about statuses, counts and messages.
fn normalize_json(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.contains_key("host") && m.contains_key("status") {
                m.remove("data");
            }
            for (k, val) in m.iter_mut() {
                match k.as_str() {
                    "id" | "started_at" | "finished_at" | "git_commit" => *val = "[X]".into(),
                    "duration_ms" => *val = 0.into(),
                    _ => normalize_json(val),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalize_json),
        _ => {}
    }
}

fn plan(tmp: &Path, unrescued: bool) -> (Run, String, Value) {
    let pb = playbook(tmp, unrescued);
    let inv = inventory(tmp);
    let root = format!("root={}", tmp.display());
    let md = tmp.join("plan.md");
    let json = tmp.join("plan.json");
    let r = converge(
        tmp,
        &[
            "plan",
            pb.to_str().expect("utf-8 path"),
            "-i",
            inv.to_str().expect("utf-8 path"),
            "-e",
            &root,
            "--format",
            "markdown",
            "--output",
            md.to_str().expect("utf-8 path"),
            "--format",
            "json",
            "--output",
            json.to_str().expect("utf-8 path"),
            // No --output left for it: the text goes to standard output.
            "--format",
            "text",
        ],
    );
    let markdown = std::fs::read_to_string(&md).unwrap_or_default();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
        .unwrap_or(Value::Null);
    (r, markdown, report)
}

#[test]
fn a_rescued_failure_is_rescued_in_every_plan_format() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (r, markdown, mut report) = plan(tmp.path(), false);
    // Changes pending, nothing failed: 2, not 1.
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(!tmp.path().join("web1.conf").exists(), "plan wrote a file");
    assert_eq!(report["run"]["status"], "ok", "{report:#}");
    assert_eq!(report["totals"]["failed"], 0);
    assert_eq!(report["totals"]["rescued"], 1);
    assert_eq!(report["totals"]["hosts_failed"], 0);
    let probe = &report["plays"][0]["tasks"][0]["results"][0];
    assert_eq!(probe["host"], "web1");
    assert_eq!(probe["rescued"], true, "{probe:#}");
    assert!(!r.stdout.contains("failure"), "{}", r.stdout);
    assert!(!markdown.contains("failure"), "{markdown}");

    insta::assert_snapshot!("plan_rescued_text", normalize_text(&r.stdout, tmp.path()));
    insta::assert_snapshot!(
        "plan_rescued_markdown",
        normalize_text(&markdown, tmp.path())
    );
    normalize_json(&mut report);
    let json = serde_json::to_string_pretty(&report).expect("json");
    insta::assert_snapshot!("plan_rescued_json", normalize_text(&json, tmp.path()));
}

#[test]
fn only_unrescued_failures_fail_the_plan_and_the_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (r, _, report) = plan(tmp.path(), true);
    assert_eq!(
        r.code, 1,
        "an unrescued failure: {}\n{}",
        r.stdout, r.stderr
    );
    assert_eq!(report["totals"]["failed"], 1, "{report:#}");
    assert_eq!(report["totals"]["rescued"], 1);
    assert_eq!(report["run"]["status"], "failed");
    let first = r.stdout.lines().next().unwrap_or_default();
    assert!(
        first.ends_with("1 failed, 1 rescued, 0 unreachable."),
        "{first}"
    );
    assert!(
        r.stdout.contains("web1  0 changes, 1 rescued\n")
            || r.stdout.contains("web1  1 change, 1 rescued\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("! Rescue demo / unrescued check — failed: disk full"),
        "{}",
        r.stdout
    );

    // The real run: the rescued host converges and exits with the recap's verdict.
    let pb = playbook(tmp.path(), false);
    let inv = inventory(tmp.path());
    let root = format!("root={}", tmp.path().display());
    let args = [
        pb.to_str().expect("utf-8 path"),
        "-i",
        inv.to_str().expect("utf-8 path"),
        "-e",
        &root,
    ];
    let r = converge(tmp.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let recap = r.recap();
    assert_eq!(recap["web1"]["rescued"], 1, "{}", r.stdout);
    assert_eq!(recap["web1"]["failed"], 0, "{}", r.stdout);
    assert!(tmp.path().join("web1.conf").exists());

    // Nothing left to change and the only failure is rescued: plan exits 0.
    let mut plan_args = vec!["plan"];
    plan_args.extend(args);
    let r = converge(tmp.path(), &plan_args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("0 failed, 1 rescued"), "{}", r.stdout);
}
