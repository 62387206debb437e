//! The SSH transport against real sshd: the lab of `tests/lab/lab.sh`.
//!
//! The lab dir is `$CONVERGE_LAB` (else `$LAB_DIR`, else `/tmp/converge-lab`); it must be up
//! (`tests/lab/lab.sh up 3`; `tests/run.sh` starts it). These tests FAIL when it is not
//! reachable: a test that did not run never counts as passed (run them with `--skip` to leave
//! them out, and the summary says so).
//!
//! The tests change process-wide environment (HOME, SSH_AUTH_SOCK, CONVERGE_KNOWN_HOSTS), so
//! each one holds a global lock. Two tests disturb the last host of the lab (never h1, the one the
//! other tests use) and restore it at once: its sshd is killed and restarted, and it gets new host
//! keys and then its original ones back.

use std::path::{Path, PathBuf};
use std::process::Command as Proc;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use converge::connection::ssh::SshConnection;
use converge::connection::{self, Become, ConnectOptions, Connection, ConnectionSpec};
use converge_modules::target::{Command, FileAttrs, FileKind, Target, TargetError};
use sha2::{Digest, Sha256};

struct Lab {
    dir: PathBuf,
    addrs: Vec<String>,
    hosts: Vec<String>,
    script: PathBuf,
    /// An empty HOME, so that no default key or known_hosts of the machine interferes.
    home: tempfile::TempDir,
}

static LOCK: Mutex<()> = Mutex::new(());

/// The lab; panics when it is not reachable. Holds the env lock for the test.
fn lab() -> (&'static Lab, MutexGuard<'static, ()>) {
    static LAB: OnceLock<Lab> = OnceLock::new();
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let lab = LAB.get_or_init(|| {
        let dir = std::env::var_os("CONVERGE_LAB")
            .or_else(|| std::env::var_os("LAB_DIR"))
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp/converge-lab"));
        let env = std::fs::read_to_string(dir.join("env.sh")).unwrap_or_default();
        let var = |name: &str| -> Vec<String> {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .map(|v| v.replace("\\ ", " ").split_whitespace().map(String::from).collect())
                .unwrap_or_default()
        };
        let addrs = var("LAB_ADDRS");
        let hosts = var("LAB_HOSTS");
        let reachable = addrs.first().is_some_and(|a| {
            std::net::TcpStream::connect_timeout(
                &format!("{a}:22").parse().unwrap(),
                Duration::from_secs(3),
            )
            .is_ok()
        });
        if !reachable || addrs.len() < 2 {
            panic!(
                "the test lab is not reachable at {} (needs 2 hosts or more: tests/lab/lab.sh up 2)",
                dir.display()
            );
        }
        let home = tempfile::tempdir().unwrap();
        Lab {
            script: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab.sh"),
            dir,
            addrs,
            hosts,
            home,
        }
    });
    // The baseline environment of every test.
    std::env::set_var("HOME", lab.home.path());
    std::env::remove_var("SSH_AUTH_SOCK");
    std::env::remove_var("CONVERGE_SSH_CONFIG");
    std::env::remove_var("CONVERGE_SSH_KEY_PASSPHRASE");
    // Never ask on the terminal of whoever runs the tests.
    std::env::set_var("CONVERGE_BATCH", "1");
    std::env::set_var("CONVERGE_KNOWN_HOSTS", lab.dir.join("known_hosts"));
    (lab, guard)
}

impl Lab {
    fn key(&self, kind: &str) -> String {
        self.dir.join(format!("id_{kind}")).display().to_string()
    }

    fn spec(&self, host: usize, user: &str) -> ConnectionSpec {
        ConnectionSpec {
            name: self.hosts[host].clone(),
            kind: "ssh".into(),
            address: self.addrs[host].clone(),
            user: Some(user.into()),
            private_key_file: Some(self.key("ed25519")),
            ..Default::default()
        }
    }

    fn connect(&self, spec: &ConnectionSpec) -> Result<SshConnection, TargetError> {
        SshConnection::connect(spec, &ConnectOptions::default())
    }

    fn try_lab_sh(&self, args: &[&str]) -> Result<(), String> {
        let out = Proc::new("bash")
            .arg(&self.script)
            .args(args)
            .env("LAB_DIR", &self.dir)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "lab.sh {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    fn lab_sh(&self, args: &[&str]) {
        self.try_lab_sh(args).unwrap();
    }
}

impl Lab {
    /// For restoring in `Drop`: never panics, says what failed.
    fn lab_sh_quiet(&self, args: &[&str]) {
        match Proc::new("bash")
            .arg(&self.script)
            .args(args)
            .env("LAB_DIR", &self.dir)
            .output()
        {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "lab.sh {args:?} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("lab.sh {args:?}: {e}"),
        }
    }
}

fn sh(conn: &dyn Target, script: &str) -> String {
    let out = conn.run(&Command::shell(script)).unwrap();
    assert!(
        out.success(),
        "{script}: rc {} {}",
        out.rc,
        out.stderr_str()
    );
    out.stdout_str()
}

fn unreachable_message(r: Result<SshConnection, TargetError>) -> String {
    match r {
        Err(TargetError::Unreachable(m)) => m,
        Err(e) => panic!("expected Unreachable, got {e:?}"),
        Ok(c) => panic!("expected a failure, connected: {}", c.describe()),
    }
}

#[test]
fn key_auth_ed25519_rsa_ecdsa_and_safe_algorithms() {
    let (lab, _g) = lab();
    for kind in ["ed25519", "rsa", "ecdsa"] {
        let mut spec = lab.spec(0, "root");
        spec.private_key_file = Some(lab.key(kind));
        let conn = lab.connect(&spec).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(sh(&conn, "id -un").trim(), "root");
        assert_eq!(conn.user(), "root");
        let algs = conn.algorithms();
        assert!(algs.ends_with("strict-kex"), "{algs}");
        assert!(
            algs.contains("chacha20-poly1305") || algs.contains("gcm"),
            "{algs}"
        );
        eprintln!("{kind}: connected in {:?} ({algs})", conn.connect_time());
        conn.close();
        let e = conn.run(&Command::argv(["true"])).unwrap_err();
        assert!(matches!(e, TargetError::Unreachable(_)), "{e:?}");
    }
    // The generic entry point, with the deploy user.
    let conn = connection::open(&lab.spec(0, "deploy"), &ConnectOptions::default()).unwrap();
    assert_eq!(conn.describe(), format!("ssh deploy@{}:22", lab.addrs[0]));
    assert_eq!(sh(conn.as_ref(), "id -un").trim(), "deploy");
}

#[test]
fn agent_auth() {
    let (lab, _g) = lab();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("agent.sock");
    let mut agent = Proc::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        if let Ok(Some(st)) = agent.try_wait() {
            panic!("ssh-agent exited: {st}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _agent = Kill(agent);
    let add = Proc::new("ssh-add")
        .arg(lab.key("rsa"))
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    std::env::set_var("SSH_AUTH_SOCK", &sock);
    let mut spec = lab.spec(0, "root");
    spec.private_key_file = None;
    let conn = lab.connect(&spec).expect("agent authentication");
    assert_eq!(sh(&conn, "id -un").trim(), "root");
}

#[test]
fn wrong_key_is_a_clear_auth_error() {
    let (lab, _g) = lab();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    let st = Proc::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let mut spec = lab.spec(0, "root");
    spec.private_key_file = Some(key.display().to_string());
    let msg = unreachable_message(lab.connect(&spec));
    assert_eq!(
        msg,
        format!(
            "authentication failed for root@{}:22 (tried: key {})",
            lab.addrs[0],
            key.display()
        )
    );

    // An encrypted key: without the passphrase it is reported; with it, it is used.
    let enc = dir.path().join("id_enc");
    let st = Proc::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "lab-pass", "-f"])
        .arg(&enc)
        .status()
        .unwrap();
    assert!(st.success());
    spec.private_key_file = Some(enc.display().to_string());
    let msg = unreachable_message(lab.connect(&spec));
    assert!(
        msg.contains("encrypted, set CONVERGE_SSH_KEY_PASSPHRASE"),
        "{msg}"
    );
    std::env::set_var("CONVERGE_SSH_KEY_PASSPHRASE", "wrong");
    let msg = unreachable_message(lab.connect(&spec));
    assert!(msg.contains("cannot decrypt"), "{msg}");
    std::env::set_var("CONVERGE_SSH_KEY_PASSPHRASE", "lab-pass");
    let msg = unreachable_message(lab.connect(&spec));
    // Decrypted fine, but not authorized on the host.
    assert_eq!(
        msg,
        format!(
            "authentication failed for root@{}:22 (tried: key {})",
            lab.addrs[0],
            enc.display()
        )
    );
}

#[test]
fn connect_timeout_is_unreachable() {
    let (lab, _g) = lab();
    let mut spec = lab.spec(0, "root");
    // In the lab's subnet, no host there.
    spec.address = "198.18.0.250".into();
    spec.connect_timeout_secs = Some(1);
    let t = Instant::now();
    let msg = unreachable_message(lab.connect(&spec));
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert!(msg.contains("root@198.18.0.250:22"), "{msg}");
    eprintln!("no host: {msg} after {:?}", t.elapsed());
}

#[test]
fn password_auth() {
    let (lab, _g) = lab();
    let mut spec = lab.spec(0, "pwuser");
    spec.private_key_file = None;
    spec.password = Some("pw-lab-secret".into());
    let conn = lab.connect(&spec).expect("password authentication");
    assert_eq!(sh(&conn, "id -un").trim(), "pwuser");

    spec.password = Some("not-the-password".into());
    let msg = unreachable_message(lab.connect(&spec));
    assert!(
        msg.starts_with("authentication failed for pwuser@"),
        "{msg}"
    );
    assert!(msg.contains("password"), "{msg}");
    assert!(!msg.contains("not-the-password"), "{msg}");
}

#[test]
fn host_key_policies() {
    let (lab, _g) = lab();
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    std::fs::write(&kh, "").unwrap();
    std::env::set_var("CONVERGE_KNOWN_HOSTS", &kh);
    let spec = lab.spec(0, "root");

    // strict (the default): unknown key refused, naming host and fingerprint.
    let msg = unreachable_message(lab.connect(&spec));
    assert!(
        msg.contains(&format!(
            "host key verification failed for {}",
            lab.addrs[0]
        )),
        "{msg}"
    );
    assert!(msg.contains("unknown ssh-ed25519 key SHA256:"), "{msg}");

    // off: anything goes, nothing recorded.
    let mut off = spec.clone();
    off.host_key_checking = Some("false".into());
    assert_eq!(sh(&lab.connect(&off).unwrap(), "echo ok").trim(), "ok");
    assert_eq!(std::fs::read_to_string(&kh).unwrap(), "");

    // accept-new: recorded, then known under strict.
    let opts = ConnectOptions {
        host_key_checking: Some("accept-new".into()),
        ..Default::default()
    };
    let conn = SshConnection::connect(&spec, &opts).unwrap();
    assert_eq!(sh(&conn, "echo ok").trim(), "ok");
    let text = std::fs::read_to_string(&kh).unwrap();
    assert!(
        text.starts_with(&format!("{} ssh-ed25519 AAAA", lab.addrs[0])),
        "{text}"
    );
    lab.connect(&spec).expect("known after accept-new");

    // A hashed entry (ssh-keygen -H) works too.
    let st = Proc::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&kh)
        .output()
        .unwrap();
    assert!(st.status.success());
    assert!(std::fs::read_to_string(&kh).unwrap().starts_with("|1|"));
    lab.connect(&spec).expect("hashed known_hosts entry");

    // Another key on record for the host: refused as changed, naming file and line.
    let other = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    std::fs::write(
        &kh,
        format!("# comment\n{} ssh-ed25519 {other}\n", lab.addrs[0]),
    )
    .unwrap();
    for policy in ["strict", "accept-new"] {
        let mut s = spec.clone();
        s.host_key_checking = Some(policy.into());
        let msg = unreachable_message(lab.connect(&s));
        assert!(msg.contains("HOST KEY CHANGED"), "{msg}");
        assert!(msg.contains(&format!("{}:2", kh.display())), "{msg}");
    }

    // @revoked wins.
    let line = std::fs::read_to_string(lab.dir.join("known_hosts"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with(&format!("{},", lab.addrs[0])) && l.contains("ssh-ed25519"))
        .unwrap()
        .to_string();
    let key = line
        .split_whitespace()
        .skip(1)
        .collect::<Vec<_>>()
        .join(" ");
    std::fs::write(&kh, format!("@revoked * {key}\n{line}\n")).unwrap();
    let msg = unreachable_message(lab.connect(&spec));
    assert!(msg.contains("@revoked"), "{msg}");
}

#[test]
fn become_with_sudo() {
    let (lab, _g) = lab();
    let conn = lab.connect(&lab.spec(0, "deploy")).unwrap();
    let root = conn.with_become(&Become {
        enabled: true,
        method: "sudo".into(),
        user: None,
        password: None,
    });
    assert_eq!(root.user(), "root");
    assert_eq!(sh(root.as_ref(), "id -u").trim(), "0");
    // Options travel: chdir, env, stdin.
    let out = root
        .run(&Command {
            env: vec![("GREETING".into(), "hi there".into())],
            ..Command::shell("pwd; echo \"$GREETING\"; cat")
                .chdir("/root")
                .stdin("from stdin")
        })
        .unwrap();
    assert_eq!(out.stdout_str(), "/root\nhi there\nfrom stdin");

    // Files as root through sudo: owner and mode set, readable back.
    let path = "/root/converge ssh test 'file'";
    let attrs = FileAttrs {
        mode: Some(0o600),
        owner: Some("deploy".into()),
        group: None,
    };
    root.write_file(path, b"secret\n", &attrs).unwrap();
    let st = root.stat(path).unwrap().unwrap();
    assert_eq!(
        (st.kind, st.mode, st.owner.as_str(), st.size),
        (FileKind::File, 0o600, "deploy", 7)
    );
    assert_eq!(root.read_file(path).unwrap().unwrap(), b"secret\n");
    // Without become, deploy cannot read /root.
    assert!(conn.read_file(path).is_err());
    sh(
        root.as_ref(),
        &format!("rm -f {}", converge_modules::target::shell_quote(path)),
    );

    // become_user: deploy -> pwuser.
    let as_pw = conn.with_become(&Become {
        enabled: true,
        method: "sudo".into(),
        user: Some("pwuser".into()),
        password: None,
    });
    assert_eq!(sh(as_pw.as_ref(), "id -un").trim(), "pwuser");

    // pwuser needs its password for sudo.
    let mut spec = lab.spec(0, "pwuser");
    spec.private_key_file = None;
    spec.password = Some("pw-lab-secret".into());
    let pw = lab.connect(&spec).unwrap();
    let no_pw = pw.with_become(&Become {
        enabled: true,
        ..Default::default()
    });
    let e = no_pw.run(&Command::argv(["id", "-u"])).unwrap_err();
    assert!(e.to_string().contains("ansible_become_password"), "{e}");
    let with_pw = pw.with_become(&Become {
        enabled: true,
        password: Some("pw-lab-secret".into()),
        ..Default::default()
    });
    let out = with_pw
        .run(&Command::shell("id -u; cat").stdin("payload after the password"))
        .unwrap();
    assert_eq!(
        out.stdout_str(),
        "0\npayload after the password",
        "{}",
        out.stderr_str()
    );
    assert!(
        !out.stderr_str().contains("converge-become"),
        "{}",
        out.stderr_str()
    );
    with_pw
        .write_file("/root/converge-pw-test", b"x", &FileAttrs::default())
        .unwrap();
    assert_eq!(
        with_pw
            .stat("/root/converge-pw-test")
            .unwrap()
            .unwrap()
            .owner,
        "root"
    );
    sh(with_pw.as_ref(), "rm -f /root/converge-pw-test");
    let wrong = pw.with_become(&Become {
        enabled: true,
        password: Some("wrong-password".into()),
        ..Default::default()
    });
    let e = wrong.run(&Command::argv(["true"])).unwrap_err();
    assert!(e.to_string().contains("incorrect sudo password"), "{e}");

    // On a host without sudo, become with no method named falls back to su (root -> deploy);
    // sudo named explicitly is not replaced, and the error says it is missing.
    let as_root = lab.connect(&lab.spec(0, "root")).unwrap();
    let sudo_path = sh(&as_root, "command -v sudo");
    let sudo_path = sudo_path.trim().to_string();
    sh(
        &as_root,
        &format!("mv {sudo_path} {sudo_path}.converge-test"),
    );
    struct Restore<'a>(&'a SshConnection, String);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let p = &self.1;
            let _ = self
                .0
                .run(&Command::shell(format!("mv {p}.converge-test {p}")));
        }
    }
    let _restore = Restore(&as_root, sudo_path);
    let su = as_root.with_become(&Become {
        enabled: true,
        user: Some("deploy".into()),
        ..Default::default()
    });
    assert_eq!(sh(su.as_ref(), "id -un").trim(), "deploy");
    su.write_file("/tmp/converge-su-test", b"via su\n", &FileAttrs::default())
        .unwrap();
    assert_eq!(
        su.stat("/tmp/converge-su-test").unwrap().unwrap().owner,
        "deploy"
    );
    sh(&as_root, "rm -f /tmp/converge-su-test");
    let named = as_root.with_become(&Become {
        enabled: true,
        method: "sudo".into(),
        user: Some("deploy".into()),
        password: None,
    });
    let e = named.run(&Command::argv(["true"])).unwrap_err();
    assert!(e.to_string().contains("sudo is not installed"), "{e}");
}

#[test]
fn files_commands_stdin_and_timeouts() {
    let (lab, _g) = lab();
    let conn = lab.connect(&lab.spec(0, "root")).unwrap();
    let out = conn
        .run(&Command::argv(["tr", "a-z", "A-Z"]).stdin("hello"))
        .unwrap();
    assert_eq!(out.stdout, b"HELLO");
    let out = conn
        .run(&Command::shell("echo out; echo err >&2; exit 3"))
        .unwrap();
    assert_eq!(
        (out.rc, out.stdout_str().as_str(), out.stderr_str().as_str()),
        (3, "out\n", "err\n")
    );
    // stdin larger than the SSH window, and a command that ignores its stdin.
    let big = vec![b'x'; 5 * 1024 * 1024 + 3];
    let out = conn
        .run(&Command::argv(["wc", "-c"]).stdin(big.clone()))
        .unwrap();
    assert_eq!(out.stdout_str().trim(), (big.len()).to_string());
    let out = conn.run(&Command::argv(["true"]).stdin(big)).unwrap();
    assert_eq!(out.rc, 0);
    // Output larger than the window.
    let out = conn
        .run(&Command::shell("head -c 20000000 /dev/zero"))
        .unwrap();
    assert_eq!(out.stdout.len(), 20_000_000);

    let dir = "/tmp/converge ssh 'files'";
    sh(&conn, &format!("rm -rf \"{dir}\"; mkdir \"{dir}\""));
    let p = format!("{dir}/a \"b\" c");
    assert_eq!(conn.read_file(&p).unwrap(), None);
    assert_eq!(conn.stat(&p).unwrap(), None);
    conn.write_file(&p, b"one", &FileAttrs::default()).unwrap();
    let st = conn.stat(&p).unwrap().unwrap();
    assert_eq!(
        (st.kind, st.mode, st.size, st.owner.as_str()),
        (FileKind::File, 0o644, 3, "root")
    );
    sh(
        &conn,
        &format!("chmod 0604 \"{dir}\"/a*; chown deploy:deploy \"{dir}\"/a*"),
    );
    conn.write_file(&p, b"two!", &FileAttrs::default()).unwrap();
    let st2 = conn.stat(&p).unwrap().unwrap();
    assert_eq!(
        (st2.mode, st2.owner.as_str(), st2.group.as_str()),
        (0o604, "deploy", "deploy")
    );
    assert_ne!(st.inode, st2.inode, "replaced by rename");
    assert_eq!(conn.read_file(&p).unwrap().unwrap(), b"two!");
    sh(&conn, &format!("ln -s 'a \"b\" c' \"{dir}/link\""));
    let l = conn.stat(&format!("{dir}/link")).unwrap().unwrap();
    assert_eq!(
        (l.kind, l.link_target.as_deref()),
        (FileKind::Symlink, Some("a \"b\" c"))
    );
    let e = conn
        .write_file("/nonexistent/x", b"x", &FileAttrs::default())
        .unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert_eq!(
        sh(
            &conn,
            &format!("ls -A \"{dir}\" | grep -c converge || true")
        )
        .trim(),
        "0"
    );
    sh(&conn, &format!("rm -rf \"{dir}\""));

    // Command timeout; the connection survives it.
    let spec = lab.spec(0, "root");
    let opts = ConnectOptions {
        command_timeout: Some(Duration::from_millis(500)),
        ..Default::default()
    };
    let conn = SshConnection::connect(&spec, &opts).unwrap();
    let t = Instant::now();
    let e = conn.run(&Command::argv(["sleep", "5"])).unwrap_err();
    assert!(
        matches!(&e, TargetError::Failed(m) if m.contains("timed out")),
        "{e:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(sh(&conn, "echo alive").trim(), "alive");
}

#[test]
fn big_file_and_round_trips() {
    let (lab, _g) = lab();
    let conn = lab.connect(&lab.spec(0, "root")).unwrap();
    // 50 MB of incompressible data.
    let mut data = vec![0u8; 50 * 1024 * 1024];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let want = format!("{:x}", Sha256::digest(&data));
    let t = Instant::now();
    conn.write_file("/tmp/converge-50mb", &data, &FileAttrs::default())
        .unwrap();
    let up = t.elapsed();
    let got = sh(&conn, "sha256sum /tmp/converge-50mb");
    assert_eq!(got.split_whitespace().next(), Some(want.as_str()));
    let t = Instant::now();
    let back = conn.read_file("/tmp/converge-50mb").unwrap().unwrap();
    let down = t.elapsed();
    assert!(back == data);
    sh(&conn, "rm -f /tmp/converge-50mb");

    let n = 100;
    let t = Instant::now();
    for _ in 0..n {
        conn.run(&Command::argv(["true"])).unwrap();
    }
    let rtt = t.elapsed() / n;
    eprintln!(
        "50 MB write_file {up:?} ({:.0} MB/s), read_file {down:?}; round trip per command {rtt:?}",
        50.0 / up.as_secs_f64()
    );
}

#[test]
fn fifty_concurrent_channels_on_one_connection() {
    let (lab, _g) = lab();
    let conn = Arc::new(lab.connect(&lab.spec(0, "root")).unwrap());
    let t = Instant::now();
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let conn = conn.clone();
            std::thread::spawn(move || {
                let out = conn
                    .run(&Command::shell(format!("sleep 0.3; echo {i}")))
                    .unwrap();
                assert_eq!(out.stdout_str().trim(), i.to_string());
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let took = t.elapsed();
    eprintln!("50 concurrent `sleep 0.3` commands on one connection: {took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn proxy_jump_through_ssh_config() {
    let (lab, _g) = lab();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config");
    std::fs::write(
        &cfg,
        format!(
            "Host far-host\n  HostName {}\n  User root\n  ProxyJump root@{}:22\n  IdentityFile {}\n\n\
             Host *\n  ConnectTimeout 5\n",
            lab.addrs[lab.addrs.len() - 1],
            lab.addrs[0],
            lab.key("ed25519")
        ),
    )
    .unwrap();
    std::env::set_var("CONVERGE_SSH_CONFIG", &cfg);
    let spec = ConnectionSpec {
        name: "far".into(),
        kind: "ssh".into(),
        address: "far-host".into(),
        ..Default::default()
    };
    let conn = lab.connect(&spec).unwrap();
    let last = lab.addrs.len() - 1;
    assert_eq!(sh(&conn, "hostname").trim(), lab.hosts[last]);
    assert_eq!(
        conn.describe(),
        format!(
            "ssh root@{}:22 via root@{}:22",
            lab.addrs[last], lab.addrs[0]
        )
    );
}

#[test]
fn killed_sshd_is_unreachable() {
    let (lab, _g) = lab();
    let idx = lab.hosts.len() - 1;
    let host = lab.hosts[idx].clone();
    let conn = lab.connect(&lab.spec(idx, "root")).unwrap();
    assert_eq!(sh(&conn, "echo up").trim(), "up");
    struct Restart<'a>(&'a Lab, String);
    impl Drop for Restart<'_> {
        fn drop(&mut self) {
            self.0.lab_sh_quiet(&["start-sshd", &self.1]);
        }
    }
    let _restart = Restart(lab, host.clone());
    // A command running when sshd dies ends as unreachable too, at once.
    let conn = Arc::new(conn);
    let running = {
        let conn = conn.clone();
        std::thread::spawn(move || {
            let t = Instant::now();
            (conn.run(&Command::argv(["sleep", "30"])), t.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    lab.lab_sh(&["kill-sshd", &host]);
    let (r, took) = running.join().unwrap();
    assert!(matches!(r, Err(TargetError::Unreachable(_))), "{r:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let t = Instant::now();
    let e = conn.run(&Command::argv(["true"])).unwrap_err();
    assert!(matches!(e, TargetError::Unreachable(_)), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    eprintln!("after kill-sshd: {e}");
    // A new connection is refused quickly, also as unreachable.
    let msg = unreachable_message(lab.connect(&lab.spec(idx, "root")));
    assert!(msg.contains("cannot connect to root@"), "{msg}");
}

#[test]
fn changed_host_key_is_refused() {
    let (lab, _g) = lab();
    let idx = lab.hosts.len() - 1;
    let host = lab.hosts[idx].clone();
    // Save the host's keys (and the drop-in naming them) from inside the host.
    let keys = "cd /etc/ssh && tar -cf - ssh_host_* $(ls sshd_config.d/*hostkeys* 2>/dev/null)";
    let saved = lab.host_exec(&host, keys, &[]);
    assert!(saved.len() > 1024, "no host keys saved");
    struct Restore<'a> {
        lab: &'a Lab,
        host: String,
        saved: Vec<u8>,
    }
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let restore = "cd /etc/ssh && rm -f ssh_host_* && tar -xf -";
            let _ = self.lab.try_host_exec(&self.host, restore, &self.saved);
            self.lab.lab_sh_quiet(&["kill-sshd", &self.host]);
            self.lab.lab_sh_quiet(&["start-sshd", &self.host]);
        }
    }
    let restore = Restore {
        lab,
        host: host.clone(),
        saved,
    };
    if let Err(e) = lab.try_lab_sh(&["rekey", &host]) {
        // Same effect from inside the host, whatever the lab's file layout.
        eprintln!("lab.sh rekey failed ({e}); generating new keys through lab.sh exec");
        let rekey = "cd /etc/ssh && for t in ssh_host_*_key; do \
                     k=${t#ssh_host_}; k=${k%_key}; rm -f $t $t.pub; \
                     ssh-keygen -q -N '' -t $k -f $t || exit 1; done";
        lab.host_exec(&host, rekey, &[]);
        lab.lab_sh(&["kill-sshd", &host]);
        lab.lab_sh(&["start-sshd", &host]);
    }
    let new_fp = String::from_utf8(lab.host_exec(
        &host,
        "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub",
        &[],
    ))
    .unwrap();
    let new_fp = new_fp.split_whitespace().nth(1).unwrap().to_string();
    let kh = lab.dir.join("known_hosts");
    let line = std::fs::read_to_string(&kh)
        .unwrap()
        .lines()
        .position(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|h| h.split(',').any(|h| h == lab.addrs[idx]))
                && l.contains("ssh-ed25519")
        })
        .unwrap()
        + 1;
    for policy in ["strict", "accept-new"] {
        let mut spec = lab.spec(idx, "root");
        spec.host_key_checking = Some(policy.into());
        let msg = unreachable_message(lab.connect(&spec));
        assert!(
            msg.contains(&format!("HOST KEY CHANGED for {}", lab.addrs[idx])),
            "{msg}"
        );
        assert!(msg.contains(&new_fp), "{msg} / {new_fp}");
        assert!(msg.contains(&format!("{}:{line}", kh.display())), "{msg}");
    }
    drop(restore);
    let conn = lab
        .connect(&lab.spec(idx, "root"))
        .expect("original keys restored");
    assert_eq!(sh(&conn, "hostname").trim(), host);
}

impl Lab {
    /// Run a shell script inside a lab host (`lab.sh exec`), stdin fed, stdout returned.
    fn try_host_exec(&self, host: &str, script: &str, stdin: &[u8]) -> Result<Vec<u8>, String> {
        use std::io::Write;
        let mut child = Proc::new("bash")
            .arg(&self.script)
            .args(["exec", host, "/bin/sh", "-c", script])
            .env("LAB_DIR", &self.dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut input = child.stdin.take().unwrap();
        let data = stdin.to_vec();
        let feeder = std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        let _ = feeder.join();
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!(
                "lab.sh exec {host} {script:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn host_exec(&self, host: &str, script: &str, stdin: &[u8]) -> Vec<u8> {
        self.try_host_exec(host, script, stdin).unwrap()
    }
}

/// An encrypted key without `$CONVERGE_SSH_KEY_PASSPHRASE`, on a terminal (a pty made by
/// `script`): converge asks once, not echoed, and connects with the answer.
#[test]
fn passphrase_asked_on_a_terminal() {
    use std::io::{Read, Write};
    let (lab, _g) = lab();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_enc");
    std::fs::copy(lab.key("ed25519"), &key).unwrap();
    let st = Proc::new("ssh-keygen")
        .args(["-q", "-p", "-P", "", "-N", "tty-pass-1234", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    std::fs::write(
        dir.path().join("hosts"),
        format!(
            "{} ansible_host={} ansible_user=root ansible_ssh_private_key_file={}\n",
            lab.hosts[0],
            lab.addrs[0],
            key.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pb.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: id -un\n      register: who\n    - debug: var=who.stdout\n",
    )
    .unwrap();
    let cmdline = format!(
        "{} pb.yml -i hosts --color never",
        env!("CARGO_BIN_EXE_converge")
    );
    let mut child = Proc::new("script")
        .args(["-qefc", &cmdline, "/dev/null"])
        .current_dir(dir.path())
        .env_remove("CONVERGE_BATCH")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux)");
    let seen = Arc::new(Mutex::new(String::new()));
    let mut out = child.stdout.take().unwrap();
    let reader = {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.lock().unwrap().contains("Enter passphrase for key") {
        assert!(
            Instant::now() < deadline,
            "no prompt: {}",
            seen.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"tty-pass-1234\n").unwrap();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "converge did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(stdin);
    reader.join().unwrap();
    let text = seen.lock().unwrap().clone();
    assert!(status.success(), "{text}");
    assert_eq!(
        text.matches("Enter passphrase for key").count(),
        1,
        "{text}"
    );
    assert!(text.contains("\"who.stdout\": \"root\""), "{text}");
    assert!(
        !text.contains("tty-pass-1234"),
        "the passphrase was echoed: {text}"
    );
}
