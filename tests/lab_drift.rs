//! Drift on a real lab host: after an apply run, a file is changed by hand on the host (through
//! the lab, not converge); `converge plan` finds it (exit 2), `converge drift` reports it with
//! its diff, a `--drift-correct` run puts it back and records both runs. Needs the lab
//! (`CONVERGE_LAB`); fails without it.

mod common;
use common::*;
use std::process::Command;

fn lab() -> std::path::PathBuf {
    std::path::PathBuf::from(
        std::env::var("CONVERGE_LAB")
            .expect("CONVERGE_LAB must name a running lab (tests/run.sh starts one)"),
    )
}

fn lab_id(dir: &std::path::Path) -> String {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let id = name.trim_start_matches("converge-lab");
    if id.is_empty() {
        "0".into()
    } else {
        id.into()
    }
}

fn converge_h(args: &[&str], db: &std::path::Path) -> Run {
    let out = Command::new(converge_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .env("CONVERGE_KNOWN_HOSTS", lab().join("known_hosts"))
        .env("CONVERGE_HISTORY", db)
        .output()
        .expect("run converge");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn on_host(host: &str, script: &str) -> String {
    let out = Command::new("bash")
        .arg(repo().join("tests/lab/lab.sh"))
        .args(["exec", host, "sh", "-c", script])
        .env("LAB_DIR", lab())
        .env("LAB_ID", lab_id(&lab()))
        .output()
        .expect("lab.sh exec");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn drift_made_by_hand_is_found_reported_and_corrected() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.db");
    let pb = tmp.path().join("drift.yml");
    std::fs::write(
        &pb,
        "- hosts: h2\n  gather_facts: false\n  tasks:\n    - file: path=/etc/converge-drift state=directory\n    - copy:\n        dest: /etc/converge-drift/app.conf\n        content: \"workers = 4\\n\"\n",
    )
    .unwrap();
    let inv = lab().join("inventory.ini");
    let args = [pb.to_str().unwrap(), "-i", inv.to_str().unwrap()];

    let r = converge_h(&args, &db);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    on_host("h2", "echo 'workers = 64' > /etc/converge-drift/app.conf");

    let mut plan = vec!["plan"];
    plan.extend(args);
    let r = converge_h(&plan, &db);
    assert_eq!(
        r.code, 2,
        "the hand edit is pending drift: {}\n{}",
        r.stdout, r.stderr
    );
    assert_eq!(
        on_host("h2", "cat /etc/converge-drift/app.conf"),
        "workers = 64\n",
        "plan changed the host"
    );

    let r = converge_h(&["drift"], &db);
    assert!(
        r.stdout.contains("h2") && r.stdout.contains("workers = 64"),
        "{}",
        r.stdout
    );

    let mut nightly = args.to_vec();
    nightly.push("--drift-correct");
    let r = converge_h(&nightly, &db);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        on_host("h2", "cat /etc/converge-drift/app.conf"),
        "workers = 4\n"
    );
    let r = converge_h(&["history", "--host", "h2", "--json"], &db);
    let runs: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let modes: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["mode"].as_str())
        .collect();
    assert_eq!(
        modes,
        vec!["apply", "check", "check", "apply"],
        "newest first: apply, check of the nightly run, the plan, the first apply: {}",
        r.stdout
    );
    on_host("h2", "rm -rf /etc/converge-drift");
}
