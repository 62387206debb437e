//! `service`/`systemd`/`systemd_service` against real systemd: the test starts its own lab
//! (`LAB_ID=24 tests/lab/lab.sh up 1 --systemd`, whose host boots systemd as PID 1; the systemd
//! base is built and cached on first use, about a minute) and tears it down at the end.
//! `tests/lab_playbooks/systemd.yml` converges (daemon_reload, a unit file written with copy,
//! started + enabled, a handler restarting it), a second run changes nothing, the unit is checked
//! with `systemctl` over SSH, and a unit stopped by hand is started again by the next run.
//! Needs root (it starts a lab); fails, never skips, when the lab cannot start.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const LAB_ID: &str = "24";

/// The lab of this test: up in `new`, down on drop (also when an assertion fails).
struct SystemdLab {
    dir: PathBuf,
    ssh_opts: Vec<String>,
    addr: String,
}

fn lab_sh(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(repo().join("tests/lab/lab.sh"))
        .args(args)
        .env("LAB_ID", LAB_ID)
        .env("LAB_DIR", dir)
        .output()
        .expect("run tests/lab/lab.sh")
}

impl SystemdLab {
    fn up() -> SystemdLab {
        let dir = PathBuf::from(format!("/tmp/converge-lab{LAB_ID}"));
        let out = lab_sh(&dir, &["up", "1", "--systemd"]);
        let lab = SystemdLab {
            ssh_opts: Vec::new(),
            addr: String::new(),
            dir,
        };
        assert!(
            out.status.success(),
            "lab.sh up 1 --systemd failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(lab.dir.join("env.sh")).expect("read env.sh");
        let var = |name: &str| -> String {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .unwrap_or_default()
                .replace("\\ ", " ")
        };
        assert_eq!(var("LAB_SYSTEMD"), "1", "env.sh:\n{env}");
        let mut lab = lab;
        lab.ssh_opts = var("LAB_SSH_OPTS")
            .split_whitespace()
            .map(String::from)
            .collect();
        lab.addr = var("LAB_ADDRS");
        lab
    }

    /// A shell command on h1 over SSH: (exit code, stdout).
    fn sh(&self, script: &str) -> (i32, String) {
        let out = Command::new("ssh")
            .args(&self.ssh_opts)
            .arg(format!("root@{}", self.addr))
            .arg(script)
            .output()
            .expect("run ssh");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    }

    fn converge(&self, playbook: &str) -> Run {
        let home = self.dir.join("test-home");
        std::fs::create_dir_all(&home).expect("test home");
        let inv = self.dir.join("inventory.ini");
        let out = Command::new(converge_bin())
            .current_dir(repo())
            .arg(playbook)
            .arg("-i")
            .arg(&inv)
            .args(["--color", "never"])
            .env("HOME", &home)
            .env("NO_COLOR", "1")
            .env("CONVERGE_KNOWN_HOSTS", self.dir.join("known_hosts"))
            .env("CONVERGE_HISTORY", home.join("history.db"))
            .output()
            .expect("run converge");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Drop for SystemdLab {
    fn drop(&mut self) {
        let out = lab_sh(&self.dir, &["down"]);
        if !out.status.success() {
            eprintln!(
                "lab.sh down (lab {LAB_ID}) failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn units_under_real_systemd_converge_and_stay_converged() {
    let lab = SystemdLab::up();
    let pb = "tests/lab_playbooks/systemd.yml";

    // The host really runs systemd as PID 1, with ssh.service serving this very connection.
    let (_, comm) = lab.sh("cat /proc/1/comm");
    assert_eq!(comm, "systemd");
    let (_, state) = lab.sh("systemctl is-system-running || true");
    assert!(
        state == "running" || state == "degraded",
        "is-system-running: {state}; failed units: {}",
        lab.sh("systemctl --failed --no-legend").1
    );
    assert_eq!(lab.sh("systemctl is-active ssh").1, "active");

    let first = lab.converge(pb);
    assert_eq!(first.code, 0, "{}", first.text());
    assert!(first.changed("h1") >= 3, "{}", first.stdout);
    assert!(
        first.stdout.contains("RUNNING HANDLER") || first.stdout.contains("Restart sleeper"),
        "the handler did not run:\n{}",
        first.stdout
    );
    assert_eq!(lab.sh("systemctl is-active cvlab-sleeper").1, "active");
    assert_eq!(lab.sh("systemctl is-enabled cvlab-sleeper").1, "enabled");
    assert_eq!(
        lab.sh("systemctl is-active cvlab-idle").1,
        "inactive",
        "cvlab-idle"
    );
    assert_eq!(lab.sh("systemctl is-enabled cvlab-idle").1, "disabled");
    // The unit's process lives in its own cgroup under the host's systemd.
    let (_, cg) = lab.sh(
        "cat /proc/$(systemctl show -p MainPID --value cvlab-sleeper)/cgroup | grep name=systemd",
    );
    assert!(
        cg.ends_with("/system.slice/cvlab-sleeper.service"),
        "cgroup of the unit's main process: {cg}"
    );

    let second = lab.converge(pb);
    assert_eq!(second.code, 0, "{}", second.text());
    second.assert_no_change();

    // Drift by hand: the next run starts the unit again, the one after changes nothing.
    assert_eq!(lab.sh("systemctl stop cvlab-sleeper").0, 0);
    let fix = lab.converge(pb);
    assert_eq!(fix.code, 0, "{}", fix.text());
    assert_eq!(fix.changed("h1"), 1, "{}", fix.stdout);
    assert_eq!(lab.sh("systemctl is-active cvlab-sleeper").1, "active");
    let last = lab.converge(pb);
    assert_eq!(last.code, 0, "{}", last.text());
    last.assert_no_change();
}
