//! The host-level modules (apt, package, service, user, group, sysctl, get_url, apt_repository,
//! unarchive) against a REAL lab host, without the engine: a minimal [`Target`] that runs
//! everything through `tests/lab/lab.sh exec h1 ...` (the host's namespaces and root), so a
//! module's own behaviour is tested apart from the SSH transport. More cases per module than the
//! playbook test over SSH (`tests/lab_packages.rs`): removals, appended groups, live sysctl.
//!
//! Needs root and a running lab (`tests/run.sh` starts one and sets `CONVERGE_LAB`; h1 is used
//! unless `CONVERGE_LAB_EXEC` names another host); FAILS (never skips) without it:
//!
//! ```sh
//! tests/lab/lab.sh up 1
//! CONVERGE_LAB=/tmp/converge-lab cargo test -p converge-modules --test lab_exec
//! tests/lab/lab.sh down
//! ```

use converge_modules::registry;
use converge_modules::target::{
    shell_quote, Command, FileAttrs, FileKind, Output, Stat, Target, TargetError,
};
use converge_modules::{Outcome, RunMode, Status};
use serde_json::{json, Value};
use std::io::Write;
use std::process::Stdio;

struct LabTarget {
    host: String,
}

impl LabTarget {
    fn lab_sh() -> String {
        format!("{}/../tests/lab/lab.sh", env!("CARGO_MANIFEST_DIR"))
    }
    fn exec(&self, script: &str, stdin: Option<&[u8]>) -> Result<Output, TargetError> {
        let mut cmd = std::process::Command::new(Self::lab_sh());
        if let Ok(dir) = std::env::var("CONVERGE_LAB") {
            cmd.env("LAB_DIR", dir);
        }
        let mut child = cmd
            .args(["exec", &self.host, "/bin/sh", "-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| TargetError::Failed(e.to_string()))?;
        let mut sin = child.stdin.take().unwrap();
        let data = stdin.map(<[u8]>::to_vec).unwrap_or_default();
        let writer = std::thread::spawn(move || {
            let _ = sin.write_all(&data);
        });
        let out = child
            .wait_with_output()
            .map_err(|e| TargetError::Failed(e.to_string()))?;
        let _ = writer.join();
        Ok(Output {
            rc: out.status.code().unwrap_or(255),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
}

impl Target for LabTarget {
    fn run(&self, cmd: &Command) -> Result<Output, TargetError> {
        self.exec(&cmd.to_shell_string(), cmd.stdin.as_deref())
    }
    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, TargetError> {
        let q = shell_quote(path);
        let out = self.exec(&format!("[ -e {q} ] || exit 3; cat -- {q}"), None)?;
        match out.rc {
            0 => Ok(Some(out.stdout)),
            3 => Ok(None),
            _ => Err(TargetError::Failed(out.stderr_str())),
        }
    }
    fn write_file(&self, path: &str, content: &[u8], attrs: &FileAttrs) -> Result<(), TargetError> {
        let q = shell_quote(path);
        let mut s = format!("set -e; t={q}.lab-tmp; cat > \"$t\"; ");
        if let Some(m) = attrs.mode {
            s.push_str(&format!("chmod {m:o} \"$t\"; "));
        } else {
            s.push_str(&format!(
                "if [ -e {q} ]; then chmod $(stat -c %a {q}) \"$t\"; else chmod 644 \"$t\"; fi; "
            ));
        }
        if let Some(o) = &attrs.owner {
            s.push_str(&format!("chown {} \"$t\"; ", shell_quote(o)));
        }
        if let Some(g) = &attrs.group {
            s.push_str(&format!("chgrp {} \"$t\"; ", shell_quote(g)));
        }
        s.push_str(&format!("mv -f \"$t\" {q}"));
        let out = self.exec(&s, Some(content))?;
        if out.success() {
            Ok(())
        } else {
            Err(TargetError::Failed(out.stderr_str()))
        }
    }
    fn stat(&self, path: &str) -> Result<Option<Stat>, TargetError> {
        let q = shell_quote(path);
        let out = self.exec(
            &format!("[ -e {q} ] || [ -L {q} ] || exit 3; stat -c '%F|%a|%u|%g|%U|%G|%s|%Y|%h|%i' -- {q}; readlink -- {q} || true"),
            None,
        )?;
        if out.rc == 3 {
            return Ok(None);
        }
        let text = out.stdout_str();
        let mut lines = text.lines();
        let f: Vec<&str> = lines.next().unwrap_or("").split('|').collect();
        if f.len() < 10 {
            return Err(TargetError::Failed(format!(
                "stat {path}: {}",
                out.stderr_str()
            )));
        }
        let kind = match f[0] {
            "directory" => FileKind::Directory,
            "symbolic link" => FileKind::Symlink,
            "regular file" | "regular empty file" => FileKind::File,
            _ => FileKind::Other,
        };
        Ok(Some(Stat {
            kind,
            mode: u32::from_str_radix(f[1], 8).unwrap_or(0),
            uid: f[2].parse().unwrap_or(0),
            gid: f[3].parse().unwrap_or(0),
            owner: f[4].into(),
            group: f[5].into(),
            size: f[6].parse().unwrap_or(0),
            mtime: f[7].parse().unwrap_or(0),
            nlink: f[8].parse().unwrap_or(1),
            inode: f[9].parse().unwrap_or(0),
            link_target: lines
                .next()
                .filter(|_| kind == FileKind::Symlink)
                .map(str::to_string),
        }))
    }
}

/// The lab host to use: `CONVERGE_LAB_EXEC`, or h1 of the lab named by `CONVERGE_LAB`.
fn lab() -> LabTarget {
    let named = std::env::var("CONVERGE_LAB_EXEC")
        .ok()
        .filter(|h| !h.is_empty());
    let host = named.unwrap_or_else(|| {
        std::env::var("CONVERGE_LAB")
            .expect("CONVERGE_LAB must name a running lab (tests/run.sh starts one)");
        "h1".to_string()
    });
    LabTarget { host }
}

fn go(t: &LabTarget, module: &str, args: Value, check: bool) -> Outcome {
    let m = registry::find(module).unwrap();
    let a = args.as_object().cloned().unwrap();
    match m.run(t, &a, RunMode { check, diff: true }) {
        Ok(o) => {
            eprintln!(
                "{module}{} {args}: {:?} {:?}\n  diffs: {:?}\n  data: {}",
                if check { " (check)" } else { "" },
                o.status,
                o.msg,
                o.diffs,
                serde_json::to_string(&o.data).unwrap()
            );
            o
        }
        Err(e) => panic!("{module} {args}: {e}"),
    }
}

/// check → real (expected status) → real again (ok) → check again (ok).
fn converge(t: &LabTarget, module: &str, args: Value, expect: Status) -> Outcome {
    let c = go(t, module, args.clone(), true);
    assert_eq!(c.status, expect, "check mode of {module} {args}");
    let r = go(t, module, args.clone(), false);
    assert_eq!(r.status, expect, "{module} {args}");
    assert_eq!(
        c.diffs, r.diffs,
        "check mode predicted another diff for {module}"
    );
    assert_eq!(
        go(t, module, args.clone(), false).status,
        Status::Ok,
        "second run of {module} {args}"
    );
    assert_eq!(go(t, module, args, true).status, Status::Ok);
    r
}

// Opt-in (reported as ignored, never as passed): CI covers these modules over SSH in
// tests/lab_packages.rs; this runs them through `lab.sh exec` for module development.
#[test]
fn lab_host_system_modules() {
    let t = lab();
    // Packages: check mode lists exactly what apt would install (dependencies included).
    let c = go(&t, "apt", json!({"name": ["tree", "curl"]}), true);
    if c.status == Status::Changed {
        assert!(c.diffs[0].after.contains("tree="), "{:?}", c.diffs);
        assert!(c.diffs[0].after.contains("libcurl4="), "{:?}", c.diffs);
        let r = go(&t, "apt", json!({"name": ["tree", "curl"]}), false);
        assert_eq!(r.status, Status::Changed);
        assert_eq!(c.data["installed"], r.data["installed"]);
    }
    assert_eq!(
        go(&t, "apt", json!({"name": ["tree", "curl"]}), false).status,
        Status::Ok
    );
    assert_eq!(
        go(
            &t,
            "package",
            json!({"name": "tree", "state": "present"}),
            false
        )
        .status,
        Status::Ok
    );
    assert_eq!(
        go(&t, "apt", json!({"name": "tree", "state": "latest"}), false).status,
        Status::Ok
    );
    // Cache: valid for an hour after an update.
    go(&t, "apt", json!({"update_cache": true}), false);
    assert_eq!(
        go(
            &t,
            "apt",
            json!({"update_cache": true, "cache_valid_time": 3600}),
            false
        )
        .status,
        Status::Ok
    );
    // Remove and reinstall tree.
    converge(
        &t,
        "apt",
        json!({"name": "tree", "state": "absent", "purge": true}),
        Status::Changed,
    );
    converge(&t, "apt", json!({"name": "tree"}), Status::Changed);

    // Users and groups.
    go(
        &t,
        "user",
        json!({"name": "app", "state": "absent", "remove": true}),
        false,
    );
    go(
        &t,
        "group",
        json!({"name": "app", "state": "absent"}),
        false,
    );
    converge(
        &t,
        "group",
        json!({"name": "app", "gid": 2345}),
        Status::Changed,
    );
    let u = converge(
        &t,
        "user",
        json!({"name": "app", "group": "app", "groups": ["sudo"], "shell": "/bin/bash", "comment": "App"}),
        Status::Changed,
    );
    assert_eq!(u.data["group"], 2345);
    converge(
        &t,
        "user",
        json!({"name": "app", "groups": ["users"], "append": true}),
        Status::Changed,
    );
    converge(
        &t,
        "user",
        json!({"name": "app", "groups": "sudo"}),
        Status::Changed,
    );
    converge(
        &t,
        "user",
        json!({"name": "app", "state": "absent", "remove": true}),
        Status::Changed,
    );

    // sysctl, live value too (the host has its own network namespace).
    go(
        &t,
        "sysctl",
        json!({"name": "net.ipv4.ip_forward", "value": "0", "sysctl_set": true}),
        false,
    );
    converge(
        &t,
        "sysctl",
        json!({"name": "net.ipv4.ip_forward", "value": "1", "sysctl_set": true, "sysctl_file": "/etc/sysctl.d/90-converge.conf"}),
        Status::Changed,
    );

    // A SysV service with a real daemon started by start-stop-daemon.
    let script = "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: sleeper\n# Required-Start:\n# Required-Stop:\n# Default-Start: 2 3 4 5\n# Default-Stop: 0 1 6\n# Short-Description: test\n### END INIT INFO\nP=/run/sleeper.pid\ncase \"$1\" in\nstart) start-stop-daemon --start --background --make-pidfile --pidfile $P --exec /bin/sleep -- 100000 ;;\nstop) start-stop-daemon --stop --pidfile $P --remove-pidfile --retry 5 || true ;;\nrestart) $0 stop; $0 start ;;\nreload) kill -HUP $(cat $P) 2>/dev/null; true ;;\nstatus) start-stop-daemon --status --pidfile $P ;;\n*) exit 2 ;;\nesac\n";
    go(
        &t,
        "copy",
        json!({"dest": "/etc/init.d/sleeper", "content": script, "mode": "0755"}),
        false,
    );
    go(
        &t,
        "service",
        json!({"name": "sleeper", "state": "stopped", "enabled": false}),
        false,
    );
    converge(
        &t,
        "service",
        json!({"name": "sleeper", "state": "started", "enabled": true}),
        Status::Changed,
    );
    assert_eq!(
        go(
            &t,
            "service",
            json!({"name": "sleeper", "state": "restarted"}),
            false
        )
        .status,
        Status::Changed
    );
    converge(
        &t,
        "service",
        json!({"name": "sleeper", "pattern": "sleep 100000", "state": "stopped"}),
        Status::Changed,
    );
    // The existing ssh service is running: started is ok.
    assert_eq!(
        go(
            &t,
            "service",
            json!({"name": "ssh", "state": "started"}),
            false
        )
        .status,
        Status::Ok
    );

    // get_url with curl on the host (installed above), from the Debian mirror's Release file.
    let o = go(
        &t,
        "get_url",
        json!({"url": "file:///etc/os-release", "dest": "/tmp/Release"}),
        false,
    );
    assert_ne!(o.status, Status::Failed);
    let o = converge(
        &t,
        "get_url",
        json!({"url": "file:///etc/debian_version", "dest": "/tmp/Release.gpg", "owner": "nobody", "mode": "0640"}),
        Status::Changed,
    );
    assert_eq!(o.data["owner"], "nobody");
    // unarchive on the host, owner and mode applied to every member, then idempotent.
    go(
        &t,
        "shell",
        json!({"cmd": "rm -rf /tmp/ua && mkdir -p /tmp/ua && tar -czf /tmp/ua.tgz -C /etc apt"}),
        false,
    );
    converge(
        &t,
        "unarchive",
        json!({"src": "/tmp/ua.tgz", "remote_src": true, "dest": "/tmp/ua", "owner": "nobody", "group": "users", "mode": "u+rwX,go-w"}),
        Status::Changed,
    );
    // apt_repository in check mode (no network trust needed).
    let r = go(
        &t,
        "apt_repository",
        json!({"repo": "deb [signed-by=/etc/apt/keyrings/x.gpg] http://example.invalid/debian bookworm main"}),
        true,
    );
    assert_eq!(r.status, Status::Changed);
}
