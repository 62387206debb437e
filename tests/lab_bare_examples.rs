//! Every example playbook of `playbooks/` on hosts nobody prepared (issue 14): the lab's "bare"
//! flavour (`tests/lab/lab.sh up 1 --bare --docker-room`: none of the lab's own users or sudo
//! rules), reached as root over SSH like a freshly installed Debian host. For each example: a
//! check run first, then the real run, whose changed and failed tasks must be exactly the ones
//! the check run predicted; then a second real run with `changed=0`.
//!
//! The bare lab is `$CONVERGE_BARE_LAB` (tests/run.sh starts one); FAILS without it.
//! `playbooks/identidock.yml` is not run here yet (it builds three images on the host; it is
//! covered on the standard lab by tests/lab_containers.rs).

mod common;
use common::lab::Lab;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// What one run did to `host`, per task (`role : name`), from its JSON report: `changed`,
/// `failed` (not ignored nor rescued), or `unpredictable` (check mode could not tell, e.g. a
/// `command`). Tasks that were ok or skipped are left out.
fn outcomes(report: &Path, host: &str) -> BTreeMap<String, &'static str> {
    let text =
        std::fs::read_to_string(report).unwrap_or_else(|e| panic!("{}: {e}", report.display()));
    let v: Value = serde_json::from_str(&text).expect("JSON report");
    let mut out = BTreeMap::new();
    for play in v["plays"].as_array().into_iter().flatten() {
        for task in play["tasks"].as_array().into_iter().flatten() {
            let name = match task["role"].as_str() {
                Some(r) if !r.is_empty() => {
                    format!("{r} : {}", task["name"].as_str().unwrap_or(""))
                }
                _ => task["name"].as_str().unwrap_or("").to_string(),
            };
            for r in task["results"].as_array().into_iter().flatten() {
                if r["host"] != host {
                    continue;
                }
                let handled = r["ignored"] == true || r["rescued"] == true;
                let outcome = if r["check_mode_unknown"] == true {
                    "unpredictable"
                } else if matches!(r["status"].as_str(), Some("failed" | "unreachable")) && !handled
                {
                    "failed"
                } else if r["changed"] == true {
                    "changed"
                } else {
                    continue;
                };
                out.insert(name.clone(), outcome);
            }
        }
    }
    out
}

fn check_apply_apply(lab: &Lab, host: &str, playbook: &str, inventory: &str) {
    let reports = lab.home.path();
    let stem = Path::new(playbook)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("playbook");
    let check_json = reports.join(format!("{stem}-check.json"));
    let apply_json = reports.join(format!("{stem}-apply.json"));
    let run = |extra: &[&str], json: &Path| {
        let json = json.display().to_string();
        let mut args = vec![
            playbook, "-i", inventory, "--format", "json", "--output", &json,
        ];
        args.extend_from_slice(extra);
        lab.converge(&args, &[])
    };
    let check = run(&["--check", "--diff"], &check_json);
    let apply = run(&[], &apply_json);
    let predicted = outcomes(&check_json, host);
    let happened = outcomes(&apply_json, host);
    let context = || {
        format!(
            "--- check ---\n{}\n--- apply ---\n{}",
            check.text(),
            apply.text()
        )
    };
    // Every prediction came true, and everything that happened was predicted (or check mode
    // said it could not tell).
    for (task, what) in &predicted {
        if *what != "unpredictable" {
            assert_eq!(
                happened.get(task),
                Some(what),
                "{playbook}: check mode predicted `{task}` {what}\n{}",
                context()
            );
        }
    }
    for (task, what) in &happened {
        assert!(
            predicted.get(task) == Some(what) || predicted.get(task) == Some(&"unpredictable"),
            "{playbook}: `{task}` {what} in the real run, check mode predicted {:?}\n{}",
            predicted.get(task),
            context()
        );
    }
    assert_eq!(apply.code, 0, "{playbook} failed:\n{}", apply.text());
    assert_eq!(
        check.code,
        0,
        "{playbook} --check failed:\n{}",
        check.text()
    );
    assert!(
        happened.values().any(|w| *w == "changed"),
        "{playbook}: a bare host needed no change?\n{}",
        apply.text()
    );
    lab.converge(&[playbook, "-i", inventory], &[])
        .ok()
        .assert_no_change();
}

#[test]
fn every_example_playbook_converges_a_bare_host() {
    let lab = Lab::open_from("CONVERGE_BARE_LAB", true);
    assert!(
        lab.bare,
        "{} is not a bare lab (tests/lab/lab.sh up 1 --bare --docker-room)",
        lab.dir.display()
    );
    let host = lab.hosts[0].0.clone();
    assert!(
        !lab.sh_raw(&host, "id deploy").status.success(),
        "{host} is not bare: it has the lab's deploy user"
    );

    // playbooks/site.yml, on the host instead of the local machine, with the example
    // inventory's own variables (inventory/group_vars beside the inventory written here).
    let gv = lab.home.path().join("group_vars");
    std::fs::create_dir_all(&gv).expect("group_vars");
    std::fs::copy(
        common::repo().join("inventory/group_vars/all.yml"),
        gv.join("all.yml"),
    )
    .expect("copy inventory/group_vars/all.yml");
    let site = lab.inventory("site.ini", "local", &[host.as_str()], &["demo_env=staging"]);
    check_apply_apply(
        &lab,
        &host,
        "playbooks/site.yml",
        &site.display().to_string(),
    );

    // playbooks/docker-host.yml: the user it adds to the docker group is created first.
    let docker = lab.inventory("docker.ini", "docker_hosts", &[host.as_str()], &[]);
    check_apply_apply(
        &lab,
        &host,
        "playbooks/docker-host.yml",
        &docker.display().to_string(),
    );
    let groups = lab.sh(&host, "id -nG deploy");
    assert!(
        groups.split_whitespace().any(|g| g == "docker"),
        "deploy in the docker group: {groups}"
    );
    assert_eq!(
        lab.sh(&host, "docker info --format '{{.Driver}}'"),
        "overlay2"
    );
}
