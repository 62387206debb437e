//! Host-level modules on a real lab host over SSH (apt with its own simulation in check mode,
//! users and groups, sysctl, a SysV service, get_url, unarchive): `tests/lab_playbooks/
//! packages.yml` converges, then repeats every task and asserts none changed; a check run
//! afterwards reports `changed=0` and `failed=0` (leaving out, by its tag, the restart that is a
//! change by definition). Needs the lab (`CONVERGE_LAB`); fails without it.

mod common;
use common::*;
use std::process::Command;

fn lab() -> std::path::PathBuf {
    let dir = std::env::var("CONVERGE_LAB")
        .expect("CONVERGE_LAB must name a running lab (tests/run.sh starts one)");
    std::path::PathBuf::from(dir)
}

fn run(args: &[&str]) -> Run {
    let lab = lab();
    let out = Command::new(converge_bin())
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env("CONVERGE_KNOWN_HOSTS", lab.join("known_hosts"))
        .env(
            "CONVERGE_HISTORY",
            std::env::temp_dir().join("converge-tests-history.db"),
        )
        .output()
        .expect("run converge");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn packages_users_sysctl_service_converge_and_stay_converged() {
    let inv = lab().join("inventory.ini");
    let inv = inv.to_str().unwrap();
    let pb = "tests/lab_playbooks/packages.yml";
    let r = run(&[pb, "-i", inv, "--limit", "h3"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.changed("h3") > 0, "{}", r.stdout);
    let again = run(&[
        pb,
        "-i",
        inv,
        "--limit",
        "h3",
        "--check",
        "--skip-tags",
        "restart",
    ]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let recap = again.recap();
    let h3 = recap.get("h3");
    assert_eq!(
        h3.and_then(|m| m.get("failed")),
        Some(&0),
        "{}",
        again.stdout
    );
    assert_eq!(
        h3.and_then(|m| m.get("changed")),
        Some(&0),
        "{}",
        again.stdout
    );
    assert!(
        !again.stdout.contains("A restart is always a change"),
        "the restart was left out by its tag: {}",
        again.stdout
    );
}
