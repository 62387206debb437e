//! Fleet tests: the `converge` binary end to end against the real-SSH lab of `tests/lab/lab.sh`.
//!
//! The lab is the directory named by `CONVERGE_LAB` (e.g. `/tmp/converge-lab`, which
//! `tests/run.sh` starts with 3 hosts). These tests FAIL — they never skip — when
//! `CONVERGE_LAB` is unset or the lab does not answer: a fleet test that silently passes without
//! a fleet proves nothing.
//!
//! Every test runs the real binary (`CARGO_BIN_EXE_converge`) with a private `HOME` and
//! `CONVERGE_KNOWN_HOSTS` pointing at the lab's `known_hosts`, on playbooks and inventories it
//! writes into a temp dir. Each test works under its own `/tmp/fleet-<test>/` on the hosts (or
//! one file under `/root/`) and removes it afterwards; the sshd test restarts the sshd it kills.
//! The tests hold one global lock, so they never disturb each other (one of them kills h2's
//! sshd). No test asserts on timing.
//!
//! Hosts are changed by hand (for drift) and inspected through `lab.sh exec hN ...` (namespaces +
//! chroot, no SSH), called with `LAB_DIR` = the lab dir and `LAB_ID` = the lab's id, which is the
//! third octet of its addresses (198.18.K.x; the dir name's numeric suffix, `/tmp/converge-lab5`
//! → 5, is used when the addresses cannot be read).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use common::Run;
use sha2::{Digest, Sha256};

/// No converge run in these tests should come anywhere near this; it only bounds a hang.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

struct Lab {
    dir: PathBuf,
    id: u32,
    hosts: Vec<String>,
    addrs: Vec<String>,
    script: PathBuf,
    /// A private HOME for converge: no `~/.ssh/config`, `known_hosts` or history of the machine.
    home: tempfile::TempDir,
}

static LOCK: Mutex<()> = Mutex::new(());

fn lab() -> (&'static Lab, MutexGuard<'static, ()>) {
    static LAB: OnceLock<Lab> = OnceLock::new();
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let lab = LAB.get_or_init(|| {
        let Some(dir) = std::env::var_os("CONVERGE_LAB").filter(|d| !d.is_empty()) else {
            panic!(
                "CONVERGE_LAB is not set: the fleet tests need the real-SSH lab \
                 (LAB_ID=0 tests/lab/lab.sh up 3; CONVERGE_LAB=/tmp/converge-lab)"
            );
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
        let hosts = var("LAB_HOSTS");
        let addrs = var("LAB_ADDRS");
        assert!(
            hosts.len() >= 3 && hosts.len() == addrs.len(),
            "lab at {}: needs 3 hosts or more (tests/lab/lab.sh up 3), env.sh lists {hosts:?}",
            dir.display()
        );
        let id = lab_id(&dir, &addrs[0]);
        for a in &addrs {
            assert!(
                banner_ok(a),
                "lab at {}: {a}:22 does not answer with an SSH banner; is the lab up?",
                dir.display()
            );
        }
        Lab {
            script: common::repo().join("tests/lab/lab.sh"),
            dir,
            id,
            hosts,
            addrs,
            home: tempfile::tempdir().unwrap(),
        }
    });
    (lab, guard)
}

/// The lab id: 198.18.K.x → K; else the numeric suffix of the dir name (`converge-lab5` → 5).
fn lab_id(dir: &Path, addr: &str) -> u32 {
    let from_addr = addr
        .strip_prefix("198.18.")
        .and_then(|rest| rest.split('.').next())
        .and_then(|k| k.parse().ok());
    from_addr.unwrap_or_else(|| {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let digits: String = name
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect();
        digits
            .chars()
            .rev()
            .collect::<String>()
            .parse()
            .unwrap_or(0)
    })
}

fn banner_ok(addr: &str) -> bool {
    use std::io::Read;
    let Ok(sa) = format!("{addr}:22").parse() else {
        return false;
    };
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&sa, Duration::from_secs(3)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).is_ok() && &buf == b"SSH-"
}

impl Lab {
    fn key(&self) -> String {
        self.dir.join("id_ed25519").display().to_string()
    }

    /// Inventory lines for every lab host, as `user`.
    fn inventory_lines(&self, user: &str) -> String {
        let mut s = String::from("[lab]\n");
        for (h, a) in self.hosts.iter().zip(&self.addrs) {
            s.push_str(&format!(
                "{h} ansible_host={a} ansible_user={user} ansible_ssh_private_key_file={}\n",
                self.key()
            ));
        }
        s
    }

    /// `tests/lab/lab.sh ARGS` for this lab; returns (exit code, stdout, stderr).
    fn lab_sh_raw(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new("bash")
            .arg(&self.script)
            .args(args)
            .env("LAB_DIR", &self.dir)
            .env("LAB_ID", self.id.to_string())
            .stdin(Stdio::null())
            .output()
            .expect("run tests/lab/lab.sh");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn lab_sh(&self, args: &[&str]) -> String {
        let (code, out, err) = self.lab_sh_raw(args);
        assert_eq!(code, 0, "lab.sh {args:?} exited {code}: {err}");
        out
    }

    /// `sh -c SCRIPT` inside host `h` (no SSH); its stdout.
    fn exec(&self, h: &str, script: &str) -> String {
        self.lab_sh(&["exec", h, "sh", "-c", script])
    }

    fn exec_all(&self, script: &str) {
        for h in &self.hosts {
            self.exec(h, script);
        }
    }

    /// Run the converge binary, bounded by RUN_TIMEOUT.
    fn converge(&self, args: &[&str], cwd: &Path) -> Run {
        let out_path = cwd.join(".converge.stdout");
        let err_path = cwd.join(".converge.stderr");
        let mut child = Command::new(common::converge_bin())
            .args(args)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .env("HOME", self.home.path())
            .env_remove("XDG_STATE_HOME")
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("CONVERGE_SSH_CONFIG")
            .env("CONVERGE_KNOWN_HOSTS", self.dir.join("known_hosts"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .expect("start converge");
        let start = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if start.elapsed() > RUN_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "converge {args:?} still running after {RUN_TIMEOUT:?}; stdout so far:\n{}",
                    std::fs::read_to_string(&out_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        }
    }
}

/// A temp dir holding `inventory.ini` and `site.yml` (plus whatever the test adds).
fn workdir(inventory: &str, playbook: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("inventory.ini"), inventory).unwrap();
    std::fs::write(d.path().join("site.yml"), playbook).unwrap();
    d
}

fn show(run: &Run) -> String {
    format!(
        "exit code {}\n--- stdout\n{}\n--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

fn counter(run: &Run, host: &str, key: &str) -> u32 {
    run.recap()
        .get(host)
        .and_then(|m| m.get(key))
        .copied()
        .unwrap_or_else(|| panic!("no {key} for {host} in the recap\n{}", show(run)))
}

/// Lines that report a per-host result (`ok: [h1]`, `changed: [h2] => ...`, ...).
fn result_lines(run: &Run) -> Vec<String> {
    let mut v: Vec<String> = run
        .stdout
        .lines()
        .filter(|l| {
            [
                "ok: [",
                "changed: [",
                "skipping: [",
                "failed: [",
                "fatal: [",
                "unreachable: [",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .map(String::from)
        .collect();
    v.sort();
    v
}

/// Removes the given paths on every lab host when dropped (also when the test panics).
struct Cleanup<'a> {
    lab: &'a Lab,
    paths: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let script = format!("rm -rf {}", self.paths.join(" "));
        for h in &self.lab.hosts {
            let _ = self.lab.lab_sh_raw(&["exec", h, "sh", "-c", &script]);
        }
    }
}

fn cleanup<'a>(lab: &'a Lab, paths: &[&str]) -> Cleanup<'a> {
    let c = Cleanup {
        lab,
        paths: paths.iter().map(|p| p.to_string()).collect(),
    };
    // Start from a clean slate too (a previous, interrupted run may have left them).
    let script = format!("rm -rf {}", c.paths.join(" "));
    lab.exec_all(&script);
    c
}

// ------------------------------------------------------------------------------------------------
// Every core module against the remote hosts
// ------------------------------------------------------------------------------------------------

const MODULES_ROOT: &str = "/tmp/fleet-modules";

const MODULES_PLAYBOOK: &str = r##"
- name: Every core module on the fleet
  hosts: lab
  gather_facts: false
  vars:
    root: /tmp/fleet-modules
    app_port: 8080
  tasks:
    - name: directory
      file:
        path: "{{ root }}"
        state: directory
        mode: "0755"

    - name: sub directory with a mode
      file:
        path: "{{ root }}/conf.d"
        state: directory
        mode: "0750"

    - name: copy content
      copy:
        dest: "{{ root }}/content.txt"
        content: "content for {{ inventory_hostname }}\n"
        mode: "0644"

    - name: copy src
      copy:
        src: files/src.txt
        dest: "{{ root }}/src.txt"
        mode: "0600"

    - name: template
      template:
        src: templates/app.conf.j2
        dest: "{{ root }}/app.conf"
        mode: "0640"

    - name: lineinfile creates a file
      lineinfile:
        path: "{{ root }}/settings.env"
        regexp: '^PORT='
        line: "PORT={{ app_port }}"
        create: true
        mode: "0644"

    - name: lineinfile adds a second line
      lineinfile:
        path: "{{ root }}/settings.env"
        line: "MODE=production"

    - name: blockinfile
      blockinfile:
        path: "{{ root }}/block.txt"
        create: true
        block: |
          alpha=1
          beta=2
        marker: "# {mark} fleet managed"

    - name: shell with creates seeds a file for replace
      shell: "printf 'speed=slow\\nother=keep\\n' > {{ root }}/replace.txt"
      args:
        creates: "{{ root }}/replace.txt"

    - name: replace
      replace:
        path: "{{ root }}/replace.txt"
        regexp: '^speed=.*$'
        replace: 'speed=fast'

    - name: command with creates
      command: "touch {{ root }}/marker"
      args:
        creates: "{{ root }}/marker"

    - name: wait_for a path
      wait_for:
        path: "{{ root }}/marker"
        timeout: 10

    - name: stat
      stat:
        path: "{{ root }}/content.txt"
      register: st

    - name: slurp
      slurp:
        src: "{{ root }}/content.txt"
      register: sl

    - name: set_fact
      set_fact:
        slurped: "{{ sl.content | b64decode }}"

    - name: debug
      debug:
        msg: "{{ inventory_hostname }} has {{ slurped | trim }}"

    - name: assert
      assert:
        that:
          - st.stat.exists
          - st.stat.isreg
          - st.stat.mode == "0644"
          - (slurped | trim) == "content for " ~ inventory_hostname
"##;

const TEMPLATE: &str =
    "# managed by the fleet test\nhost={{ inventory_hostname }}\nport={{ app_port }}\n";

/// What the lab host's tree under MODULES_ROOT looks like: names, modes, sizes, mtimes and the
/// contents' sha256 (with mtimes only when `with_mtimes`).
fn modules_tree(lab: &Lab, h: &str, with_mtimes: bool) -> String {
    let fmt = if with_mtimes {
        "%p %y %m %s %T@\\n"
    } else {
        "%p %y %m %s\\n"
    };
    lab.exec(
        h,
        &format!(
            "cd {MODULES_ROOT} && find . -printf '{fmt}' | sort && \
             find . -type f | sort | xargs sha256sum"
        ),
    )
}

#[test]
fn fleet_every_core_module_converges_then_is_idempotent_and_check_sees_drift() {
    let (lab, _g) = lab();
    let _c = cleanup(lab, &[MODULES_ROOT]);
    let wd = workdir(&lab.inventory_lines("root"), MODULES_PLAYBOOK);
    std::fs::create_dir_all(wd.path().join("files")).unwrap();
    std::fs::create_dir_all(wd.path().join("templates")).unwrap();
    std::fs::write(
        wd.path().join("files/src.txt"),
        "a file from the controller\n",
    )
    .unwrap();
    std::fs::write(wd.path().join("templates/app.conf.j2"), TEMPLATE).unwrap();
    let args = ["site.yml", "-i", "inventory.ini"];

    // 1. First run: everything changes.
    let first = lab.converge(&args, wd.path());
    assert_eq!(first.code, 0, "first run\n{}", show(&first));
    for h in &lab.hosts {
        assert_eq!(counter(&first, h, "failed"), 0, "{h}\n{}", show(&first));
        assert_eq!(
            counter(&first, h, "unreachable"),
            0,
            "{h}\n{}",
            show(&first)
        );
        // file x2, copy x2, template, lineinfile x2, blockinfile, shell, replace, command.
        assert_eq!(counter(&first, h, "changed"), 11, "{h}\n{}", show(&first));
    }
    // What the hosts now hold.
    for h in &lab.hosts {
        let conf = lab.exec(h, &format!("cat {MODULES_ROOT}/app.conf"));
        assert_eq!(
            conf,
            format!("# managed by the fleet test\nhost={h}\nport=8080\n")
        );
        let content = lab.exec(h, &format!("cat {MODULES_ROOT}/content.txt"));
        assert_eq!(content, format!("content for {h}\n"));
        assert_eq!(
            lab.exec(h, &format!("cat {MODULES_ROOT}/src.txt")),
            "a file from the controller\n"
        );
        assert_eq!(
            lab.exec(h, &format!("cat {MODULES_ROOT}/settings.env")),
            "PORT=8080\nMODE=production\n"
        );
        assert_eq!(
            lab.exec(h, &format!("cat {MODULES_ROOT}/block.txt")),
            "# BEGIN fleet managed\nalpha=1\nbeta=2\n# END fleet managed\n"
        );
        assert_eq!(
            lab.exec(h, &format!("cat {MODULES_ROOT}/replace.txt")),
            "speed=fast\nother=keep\n"
        );
        let modes = lab.exec(
            h,
            &format!(
                "cd {MODULES_ROOT} && stat -c '%n %a' . conf.d content.txt src.txt app.conf \
                 settings.env marker"
            ),
        );
        assert_eq!(
            modes,
            ". 755\nconf.d 750\ncontent.txt 644\nsrc.txt 600\napp.conf 640\nsettings.env 644\nmarker 644\n",
            "{h}"
        );
        assert!(
            first.stdout.contains(&format!("{h} has content for {h}")),
            "debug message of {h} missing\n{}",
            show(&first)
        );
    }

    // 2. Second run: nothing to do anywhere.
    let second = lab.converge(&args, wd.path());
    assert_eq!(second.code, 0, "second run\n{}", show(&second));
    for h in &lab.hosts {
        assert_eq!(
            counter(&second, h, "changed"),
            0,
            "{h} changed on the 2nd run\n{}",
            show(&second)
        );
        assert_eq!(counter(&second, h, "failed"), 0, "{h}\n{}", show(&second));
    }
    let converged: BTreeMap<&String, String> = lab
        .hosts
        .iter()
        .map(|h| (h, modules_tree(lab, h, false)))
        .collect();

    // 3. A hand edit on h2; --check --diff reports exactly that one change and touches nothing.
    let drifted = &lab.hosts[1];
    lab.exec(
        drifted,
        &format!("echo 'port=1 # tampered' > {MODULES_ROOT}/app.conf"),
    );
    let before_check: BTreeMap<&String, String> = lab
        .hosts
        .iter()
        .map(|h| (h, modules_tree(lab, h, true)))
        .collect();
    let check = lab.converge(
        &["site.yml", "-i", "inventory.ini", "--check", "--diff"],
        wd.path(),
    );
    assert_eq!(check.code, 0, "--check run\n{}", show(&check));
    for h in &lab.hosts {
        let want = u32::from(h == drifted);
        assert_eq!(
            counter(&check, h, "changed"),
            want,
            "{h} in --check\n{}",
            show(&check)
        );
        assert_eq!(
            counter(&check, h, "failed"),
            0,
            "{h} in --check\n{}",
            show(&check)
        );
    }
    let changed_lines: Vec<&str> = check
        .stdout
        .lines()
        .filter(|l| l.starts_with("changed: ["))
        .collect();
    assert_eq!(
        changed_lines.len(),
        1,
        "exactly one change expected\n{}",
        show(&check)
    );
    assert!(
        changed_lines[0].starts_with(&format!("changed: [{drifted}]")),
        "{changed_lines:?}"
    );
    assert!(
        check.stdout.contains("port=1 # tampered"),
        "the --diff output should show the hand-edited line\n{}",
        show(&check)
    );
    for h in &lab.hosts {
        assert_eq!(
            modules_tree(lab, h, true),
            before_check[h],
            "--check modified {h} (names, modes, sizes, mtimes or contents)"
        );
    }

    // 4. A real run puts it back, and only there.
    let repair = lab.converge(&args, wd.path());
    assert_eq!(repair.code, 0, "repair run\n{}", show(&repair));
    for h in &lab.hosts {
        let want = u32::from(h == drifted);
        assert_eq!(
            counter(&repair, h, "changed"),
            want,
            "{h} in the repair run\n{}",
            show(&repair)
        );
        assert_eq!(
            modules_tree(lab, h, false),
            converged[h],
            "{h} after the repair run"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// sshd killed on one host mid-run
// ------------------------------------------------------------------------------------------------

/// Restarts a host's sshd when dropped (also when the test panics).
struct RestartSshd<'a> {
    lab: &'a Lab,
    host: String,
}

impl Drop for RestartSshd<'_> {
    fn drop(&mut self) {
        let (code, _, err) = self.lab.lab_sh_raw(&["start-sshd", &self.host]);
        if code != 0 {
            eprintln!("could not restart sshd on {}: {err}", self.host);
        }
    }
}

#[test]
fn fleet_sshd_killed_mid_run_makes_that_host_unreachable_and_the_others_finish() {
    let (lab, _g) = lab();
    let root = "/tmp/fleet-sshd-killed";
    let _c = cleanup(lab, &[root]);
    let victim = lab.hosts[1].clone();
    let playbook = format!(
        r#"
- name: sshd dies mid-run on one host
  hosts: lab
  gather_facts: false
  tasks:
    - name: started
      file:
        path: {root}/started
        state: directory
    - name: wait for the go signal
      wait_for:
        path: {root}/go
        timeout: 120
    - name: after the pause, one
      copy:
        dest: {root}/one.txt
        content: "one\n"
    - name: after the pause, two
      command: "cat {root}/one.txt"
      register: two
    - name: after the pause, three
      assert:
        that: two.stdout == "one"
"#
    );
    let wd = workdir(&lab.inventory_lines("root"), &playbook);
    let bin = common::converge_bin();
    let out_path = wd.path().join("out");
    let err_path = wd.path().join("err");
    let mut child = Command::new(bin)
        .args(["site.yml", "-i", "inventory.ini"])
        .current_dir(wd.path())
        .env("NO_COLOR", "1")
        .env("HOME", lab.home.path())
        .env_remove("XDG_STATE_HOME")
        .env_remove("SSH_AUTH_SOCK")
        .env("CONVERGE_KNOWN_HOSTS", lab.dir.join("known_hosts"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let kill_child = scopeguard(&mut child);

    // Wait (bounded) until the first task is done on every host: the run is in the wait.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let all = lab.hosts.iter().all(|h| {
            lab.lab_sh_raw(&["exec", h, "test", "-d", &format!("{root}/started")])
                .0
                == 0
        });
        if all {
            break;
        }
        if let Some(st) = kill_child.0.try_wait().unwrap() {
            panic!(
                "converge ended ({st}) before every host started\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "the first task never finished on every host"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(300));

    let _restart = RestartSshd {
        lab,
        host: victim.clone(),
    };
    lab.lab_sh(&["kill-sshd", &victim]);
    for h in lab.hosts.iter().filter(|h| **h != victim) {
        lab.exec(h, &format!("touch {root}/go"));
    }

    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(st) = kill_child.0.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "converge did not finish after sshd was killed"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(kill_child);
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
    };
    assert_eq!(
        run.code,
        3,
        "exit code 3 (unreachable) expected\n{}",
        show(&run)
    );
    assert_eq!(counter(&run, &victim, "unreachable"), 1, "{}", show(&run));
    assert_eq!(counter(&run, &victim, "failed"), 0, "{}", show(&run));
    for h in lab.hosts.iter().filter(|h| **h != victim) {
        assert_eq!(counter(&run, h, "failed"), 0, "{h}\n{}", show(&run));
        assert_eq!(counter(&run, h, "unreachable"), 0, "{h}\n{}", show(&run));
        assert_eq!(
            counter(&run, h, "ok"),
            5,
            "{h} should finish all 5 tasks\n{}",
            show(&run)
        );
        assert_eq!(lab.exec(h, &format!("cat {root}/one.txt")), "one\n");
    }
    drop(_restart);
    assert!(
        banner_ok(&lab.addrs[1]),
        "sshd of {victim} did not come back"
    );
}

/// Kills the child process when dropped (a panicking test leaves no converge behind).
struct ChildGuard<'a>(&'a mut std::process::Child);

impl Drop for ChildGuard<'_> {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn scopeguard(c: &mut std::process::Child) -> ChildGuard<'_> {
    ChildGuard(c)
}

// ------------------------------------------------------------------------------------------------
// A host that does not exist
// ------------------------------------------------------------------------------------------------

#[test]
fn fleet_host_that_does_not_exist_is_unreachable_and_the_others_finish() {
    let (lab, _g) = lab();
    let root = "/tmp/fleet-ghost";
    let _c = cleanup(lab, &[root]);
    let mut inventory = lab.inventory_lines("root");
    inventory.push_str(&format!(
        "ghost ansible_host=198.18.{}.250 ansible_user=root ansible_ssh_private_key_file={}\n",
        lab.id,
        lab.key()
    ));
    let playbook = format!(
        r#"
- hosts: lab
  gather_facts: false
  tasks:
    - name: a directory
      file:
        path: {root}
        state: directory
    - name: a file
      copy:
        dest: {root}/f.txt
        content: "x\n"
    - name: a command
      command: "true"
"#
    );
    let wd = workdir(&inventory, &playbook);
    let run = lab.converge(&["site.yml", "-i", "inventory.ini"], wd.path());
    assert_eq!(
        run.code,
        3,
        "exit code 3 (unreachable) expected\n{}",
        show(&run)
    );
    assert_eq!(counter(&run, "ghost", "unreachable"), 1, "{}", show(&run));
    assert_eq!(counter(&run, "ghost", "ok"), 0, "{}", show(&run));
    for h in &lab.hosts {
        assert_eq!(counter(&run, h, "ok"), 3, "{h}\n{}", show(&run));
        assert_eq!(counter(&run, h, "changed"), 3, "{h}\n{}", show(&run));
        assert_eq!(counter(&run, h, "failed"), 0, "{h}\n{}", show(&run));
        assert_eq!(counter(&run, h, "unreachable"), 0, "{h}\n{}", show(&run));
        assert_eq!(lab.exec(h, &format!("cat {root}/f.txt")), "x\n");
    }
}

// ------------------------------------------------------------------------------------------------
// become through sudo
// ------------------------------------------------------------------------------------------------

#[test]
fn fleet_become_through_sudo_from_deploy_writes_as_root() {
    let (lab, _g) = lab();
    let file = "/root/fleet-become.txt";
    let _c = cleanup(lab, &[file]);
    let playbook = format!(
        r#"
- hosts: lab
  gather_facts: false
  become: true
  tasks:
    - name: who am I with become
      command: id -u
      register: uid
    - name: who am I without become
      command: id -un
      become: false
      register: plain
    - name: a file only root may write
      copy:
        dest: {file}
        content: "written by {{{{ inventory_hostname }}}} as root\n"
        mode: "0600"
    - name: check
      assert:
        that:
          - uid.stdout == "0"
          - plain.stdout == "deploy"
"#
    );
    let wd = workdir(&lab.inventory_lines("deploy"), &playbook);
    let run = lab.converge(&["site.yml", "-i", "inventory.ini"], wd.path());
    assert_eq!(run.code, 0, "{}", show(&run));
    for h in &lab.hosts {
        assert_eq!(counter(&run, h, "failed"), 0, "{h}\n{}", show(&run));
        assert_eq!(counter(&run, h, "changed"), 3, "{h}\n{}", show(&run));
        assert_eq!(
            lab.exec(h, &format!("stat -c '%U %G %a' {file} && cat {file}")),
            format!("root root 600\nwritten by {h} as root\n")
        );
    }
    let again = lab.converge(&["site.yml", "-i", "inventory.ini"], wd.path());
    assert_eq!(again.code, 0, "{}", show(&again));
    for h in &lab.hosts {
        // The two commands always report changed (as in Ansible); the copy must not.
        assert_eq!(counter(&again, h, "changed"), 2, "{h}\n{}", show(&again));
    }
}

// ------------------------------------------------------------------------------------------------
// A 50 MB copy
// ------------------------------------------------------------------------------------------------

#[test]
fn fleet_copy_of_a_50_mb_file_arrives_intact() {
    let (lab, _g) = lab();
    let root = "/tmp/fleet-big-copy";
    let _c = cleanup(lab, &[root]);
    let playbook = format!(
        r#"
- hosts: lab
  gather_facts: false
  tasks:
    - name: directory
      file:
        path: {root}
        state: directory
    - name: the big file
      copy:
        src: big.bin
        dest: {root}/big.bin
        mode: "0644"
"#
    );
    let wd = workdir(&lab.inventory_lines("root"), &playbook);
    // 50 MiB of pseudo-random (incompressible) bytes: xorshift64*.
    let size = 50 * 1024 * 1024;
    let mut data = Vec::with_capacity(size);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while data.len() < size {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        data.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    data.truncate(size);
    let want = format!("{:x}", Sha256::digest(&data));
    std::fs::write(wd.path().join("big.bin"), &data).unwrap();
    drop(data);

    let run = lab.converge(&["site.yml", "-i", "inventory.ini"], wd.path());
    assert_eq!(run.code, 0, "{}", show(&run));
    for h in &lab.hosts {
        assert_eq!(counter(&run, h, "changed"), 2, "{h}\n{}", show(&run));
        let got = lab.exec(
            h,
            &format!("sha256sum {root}/big.bin && stat -c %s {root}/big.bin"),
        );
        assert_eq!(got, format!("{want}  {root}/big.bin\n{size}\n"), "{h}");
    }
    let again = lab.converge(&["site.yml", "-i", "inventory.ini"], wd.path());
    assert_eq!(again.code, 0, "{}", show(&again));
    for h in &lab.hosts {
        assert_eq!(counter(&again, h, "changed"), 0, "{h}\n{}", show(&again));
    }
}

// ------------------------------------------------------------------------------------------------
// --forks 1 and the default give the same result
// ------------------------------------------------------------------------------------------------

#[test]
fn fleet_forks_1_and_default_give_the_same_recap() {
    let (lab, _g) = lab();
    let root = "/tmp/fleet-forks";
    let c = cleanup(lab, &[root]);
    let playbook = format!(
        r#"
- hosts: lab
  gather_facts: false
  tasks:
    - name: directory
      file:
        path: {root}
        state: directory
    - name: per-host file
      copy:
        dest: "{root}/{{{{ inventory_hostname }}}}.txt"
        content: "{{{{ inventory_hostname }}}}\n"
    - name: only on the first host
      command: "touch {root}/first"
      when: inventory_hostname == "{first}"
    - name: a check
      stat:
        path: "{root}/first"
      register: st
    - name: report
      debug:
        msg: "{{{{ inventory_hostname }}}} first={{{{ st.stat.exists }}}}"
    - name: line
      lineinfile:
        path: "{root}/lines"
        line: "hello"
        create: true
"#,
        first = lab.hosts[0]
    );
    let wd = workdir(&lab.inventory_lines("root"), &playbook);
    let mut runs = Vec::new();
    for forks in [None, Some("1")] {
        lab.exec_all(&format!("rm -rf {root}"));
        let mut args = vec!["site.yml", "-i", "inventory.ini"];
        if let Some(f) = forks {
            args.extend(["--forks", f]);
        }
        let run = lab.converge(&args, wd.path());
        assert_eq!(run.code, 0, "forks {forks:?}\n{}", show(&run));
        runs.push(run);
    }
    let (default, one) = (&runs[0], &runs[1]);
    assert_eq!(
        default.recap(),
        one.recap(),
        "default:\n{}\n\n--forks 1:\n{}",
        show(default),
        show(one)
    );
    assert_eq!(result_lines(default), result_lines(one));
    assert_eq!(default.recap().len(), lab.hosts.len());
    for h in &lab.hosts {
        assert_eq!(counter(default, h, "failed"), 0);
        let ran = counter(default, h, "ok") + counter(default, h, "skipped");
        assert_eq!(ran, 6, "{h}\n{}", show(default));
    }
    drop(c);
}
