//! The real-host lab of `tests/lab/lab.sh`, as the lab tests use it: its hosts, an inventory
//! of some of them, converge run against them, and commands on a host over real SSH.
//! A test that needs the lab FAILS (never skips) when `CONVERGE_LAB` is unset.

use super::{repo, Run};
use std::path::PathBuf;
use std::process::{Command, Output};

pub struct Lab {
    pub dir: PathBuf,
    /// (name, address)
    pub hosts: Vec<(String, String)>,
    pub ssh_opts: Vec<String>,
    /// HOME for converge runs (no ~/.ssh of the machine's user).
    pub home: tempfile::TempDir,
    /// Started with `--bare`: none of the lab's own users or sudo rules.
    pub bare: bool,
    vars: String,
}

impl Lab {
    /// The running lab; `docker_room`: it must have been started with `--docker-room`.
    pub fn open(docker_room: bool) -> Lab {
        Lab::open_from("CONVERGE_LAB", docker_room)
    }

    /// The running lab whose directory the environment variable `var` names.
    pub fn open_from(var: &str, docker_room: bool) -> Lab {
        let Some(dir) = std::env::var_os(var).filter(|d| !d.is_empty()) else {
            panic!("{var} is not set: this test needs the lab (tests/lab/lab.sh up 3 --docker-room; {var}=/tmp/converge-lab)");
        };
        let dir = PathBuf::from(dir);
        let env = std::fs::read_to_string(dir.join("env.sh")).unwrap_or_else(|e| {
            panic!(
                "lab at {}: cannot read env.sh ({e}); is the lab up?",
                dir.display()
            )
        });
        let var = |name: &str| -> Vec<String> {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .map(|v| {
                    v.replace("\\ ", " ")
                        .split_whitespace()
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let bare = var("LAB_BARE") == ["1"];
        if docker_room {
            assert_eq!(
                var("LAB_DOCKER_ROOM"),
                ["1"],
                "lab at {} was not started with --docker-room",
                dir.display()
            );
        }
        let hosts: Vec<(String, String)> =
            var("LAB_HOSTS").into_iter().zip(var("LAB_ADDRS")).collect();
        assert!(!hosts.is_empty(), "lab at {}: no hosts", dir.display());
        let vars = format!(
            "ansible_user=root\nansible_ssh_private_key_file={}\n",
            dir.join("id_ed25519").display()
        );
        Lab {
            bare,
            ssh_opts: var("LAB_SSH_OPTS"),
            dir,
            hosts,
            home: tempfile::tempdir().expect("tempdir"),
            vars,
        }
    }

    pub fn addr(&self, host: &str) -> &str {
        &self
            .hosts
            .iter()
            .find(|(h, _)| h == host)
            .unwrap_or_else(|| panic!("no lab host {host}"))
            .1
    }

    /// An INI inventory: `group` holding `hosts`, the lab's connection variables, and `extra`
    /// lines for the group's vars.
    pub fn inventory(&self, file: &str, group: &str, hosts: &[&str], extra: &[&str]) -> PathBuf {
        let mut ini = format!("[{group}]\n");
        for h in hosts {
            ini.push_str(&format!("{h} ansible_host={}\n", self.addr(h)));
        }
        ini.push_str(&format!("\n[{group}:vars]\n{}", self.vars));
        for e in extra {
            ini.push_str(e);
            ini.push('\n');
        }
        let path = self.home.path().join(file);
        std::fs::write(&path, ini).expect("write inventory");
        path
    }

    /// Run converge from the repository's root.
    pub fn converge(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_converge"));
        cmd.current_dir(repo())
            .args(args)
            .args(["--color", "never"])
            .env("HOME", self.home.path())
            .env("CONVERGE_KNOWN_HOSTS", self.dir.join("known_hosts"))
            .env("CONVERGE_HISTORY", self.home.path().join("history.db"))
            .env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run converge");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A shell command on a host, over ssh; panics when it fails.
    pub fn sh(&self, host: &str, script: &str) -> String {
        let out = self.sh_raw(host, script);
        assert!(
            out.status.success(),
            "{host}: `{script}` failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn sh_raw(&self, host: &str, script: &str) -> Output {
        Command::new("ssh")
            .args(&self.ssh_opts)
            .arg(format!("root@{}", self.addr(host)))
            .arg(script)
            .output()
            .expect("run ssh")
    }
}

impl Run {
    /// stdout and stderr, for assertion messages.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The run succeeded; its output otherwise.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "converge failed:\n{}", self.text());
        self
    }

    /// Every host of the recap has `changed=0`.
    pub fn assert_no_change(&self) {
        let r = self.recap();
        assert!(!r.is_empty(), "no recap in:\n{}", self.text());
        for (h, m) in &r {
            assert_eq!(
                m.get("changed"),
                Some(&0),
                "{h} changed something on a second run:\n{}",
                self.text()
            );
        }
    }
}
