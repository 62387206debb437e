//! get_url / unarchive / sysctl / service / apt (check mode only) against the local machine.
//!
//! Only what is safe on a shared machine: downloads from a local HTTP server on 127.0.0.1 into a
//! temporary directory, archives unpacked into a temporary directory, a sysctl *file* in a
//! temporary directory (`sysctl_set: false`, `reload: false`), a fake SysV init script in a
//! temporary init.d (`_initd_dir`, `_rc_dir`), and apt in check mode (which only runs
//! `dpkg-query` and `apt-get -s`). Packages, users and live sysctls are tested on the lab hosts.

mod common;

use common::{cycle, ok, p, run};
use converge_modules::Status;
use serde_json::json;
use std::fs;
use std::io::Read;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Fails the test, naming the tool: a missing prerequisite is an error, never a pass
/// (`tests/setup.sh` installs every one of them).
fn require<T>(found: Option<T>, what: &str) -> T {
    match found {
        Some(v) => v,
        None => panic!("{what} is missing: run tests/setup.sh (it installs it)"),
    }
}

fn has_command(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A `python3 -m http.server` on 127.0.0.1 serving `dir`, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path) -> Option<Server> {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
            l.local_addr().ok()?.port()
        };
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let s = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn get_url_downloads_verifies_and_is_idempotent() {
    let www = tempfile::tempdir().unwrap();
    fs::write(www.path().join("app.txt"), "version 1\n").unwrap();
    let srv = require(Server::start(www.path()), "python3 (its http.server)");
    let d = tempfile::tempdir().unwrap();
    let dest = p(d.path(), "app.txt");
    let sum = sha256(&www.path().join("app.txt"));

    // New file, with checksum and mode: check predicts, real run downloads, second run is ok.
    let args = json!({"url": srv.url("app.txt"), "dest": dest, "checksum": format!("sha256:{sum}"), "mode": "0640"});
    let o = cycle("get_url", &args, d.path(), Status::Changed);
    assert_eq!(fs::read_to_string(&dest).unwrap(), "version 1\n");
    assert_eq!(
        fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(o.data["status_code"], 200);
    assert_eq!(o.data["size"], 10);
    assert_eq!(o.data["dest"], dest);

    // A wrong checksum fails and leaves neither the file nor a temporary file behind.
    let bad = p(d.path(), "bad.txt");
    let e = run(
        "get_url",
        &json!({"url": srv.url("app.txt"), "dest": bad, "checksum": format!("sha256:{}", "0".repeat(64))}),
        false,
    );
    assert!(e.is_err(), "{e:?}");
    assert!(e.unwrap_err().to_string().contains("did not match"));
    assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);

    // The remote content changes: without force the file stays, with force it is replaced.
    fs::write(www.path().join("app.txt"), "version 2\n").unwrap();
    let plain = json!({"url": srv.url("app.txt"), "dest": dest});
    assert_eq!(ok("get_url", &plain, false).status, Status::Ok);
    assert_eq!(fs::read_to_string(&dest).unwrap(), "version 1\n");
    let forced = json!({"url": srv.url("app.txt"), "dest": dest, "force": true});
    let c = ok("get_url", &forced, true);
    assert_eq!(c.status, Status::Changed);
    assert_eq!(fs::read_to_string(&dest).unwrap(), "version 1\n");
    assert_eq!(ok("get_url", &forced, false).status, Status::Changed);
    assert_eq!(fs::read_to_string(&dest).unwrap(), "version 2\n");
    // force with identical content: the streamed checksum says ok.
    assert_eq!(ok("get_url", &forced, false).status, Status::Ok);

    // Only the mode differs: an attribute change, no download.
    let o = ok(
        "get_url",
        &json!({"url": srv.url("app.txt"), "dest": dest, "mode": "0600"}),
        false,
    );
    assert_eq!(o.status, Status::Changed);
    assert_eq!(
        fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A directory as dest receives the URL's file name; a 404 fails clearly.
    let sub = d.path().join("dir");
    fs::create_dir(&sub).unwrap();
    let o = ok(
        "get_url",
        &json!({"url": srv.url("app.txt"), "dest": sub.to_string_lossy()}),
        false,
    );
    assert_eq!(o.status, Status::Changed);
    assert!(sub.join("app.txt").exists());
    let e = run(
        "get_url",
        &json!({"url": srv.url("missing"), "dest": p(d.path(), "m")}),
        false,
    );
    assert!(e.unwrap_err().to_string().contains("Request failed"));
}

fn make_tree(root: &Path) {
    fs::create_dir_all(root.join("app/conf")).unwrap();
    fs::write(root.join("app/bin.sh"), "#!/bin/sh\necho hi\n").unwrap();
    fs::write(root.join("app/conf/a.conf"), "a=1\n").unwrap();
    std::os::unix::fs::symlink("conf/a.conf", root.join("app/link")).unwrap();
}

fn b64_file(path: &Path) -> String {
    let mut data = Vec::new();
    fs::File::open(path)
        .unwrap()
        .read_to_end(&mut data)
        .unwrap();
    converge_modules::common::b64_encode(&data)
}

#[test]
fn unarchive_tar_from_controller_and_remote() {
    let src = tempfile::tempdir().unwrap();
    make_tree(src.path());
    let arch = tempfile::tempdir().unwrap();
    let tgz = arch.path().join("app.tgz");
    let st = Command::new("tar")
        .arg("-czf")
        .arg(&tgz)
        .arg("-C")
        .arg(src.path())
        .arg("app")
        .status()
        .unwrap();
    assert!(st.success());

    // From the controller (the engine passes the bytes as _content_b64).
    let d = tempfile::tempdir().unwrap();
    let args = json!({"src": "app.tgz", "dest": d.path().to_string_lossy(), "_content_b64": b64_file(&tgz), "list_files": true});
    let o = cycle("unarchive", &args, d.path(), Status::Changed);
    assert_eq!(
        fs::read_to_string(d.path().join("app/conf/a.conf")).unwrap(),
        "a=1\n"
    );
    assert_eq!(o.data["handler"], "TgzArchive");
    assert!(o.data["files"]
        .as_array()
        .unwrap()
        .contains(&json!("app/conf/a.conf")));
    // A changed file is put back.
    fs::write(d.path().join("app/conf/a.conf"), "a=2\n").unwrap();
    let o = ok("unarchive", &args, false);
    assert_eq!(o.status, Status::Changed);
    assert_eq!(o.data["changed_files"], json!(["app/conf/a.conf"]));
    assert_eq!(
        fs::read_to_string(d.path().join("app/conf/a.conf")).unwrap(),
        "a=1\n"
    );

    // From the host, with a symbolic mode applied to every member.
    let d2 = tempfile::tempdir().unwrap();
    let args = json!({"src": tgz.to_string_lossy(), "remote_src": true, "dest": d2.path().to_string_lossy(), "mode": "u=rwX,g=rX,o="});
    cycle("unarchive", &args, d2.path(), Status::Changed);
    let m = fs::metadata(d2.path().join("app/conf/a.conf"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(m, 0o640);
    let m = fs::metadata(d2.path().join("app/conf"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(m, 0o750);

    // creates: skipped.
    let o = ok(
        "unarchive",
        &json!({"src": tgz.to_string_lossy(), "remote_src": true, "dest": d2.path().to_string_lossy(), "creates": p(d2.path(), "app")}),
        false,
    );
    assert_eq!(o.status, Status::Skipped);

    // dest must exist; an unknown format is refused.
    assert!(run(
        "unarchive",
        &json!({"src": tgz.to_string_lossy(), "remote_src": true, "dest": p(d2.path(), "nope")}),
        false
    )
    .is_err());
    let txt = arch.path().join("x.txt");
    fs::write(&txt, "not an archive at all").unwrap();
    let e = run(
        "unarchive",
        &json!({"src": txt.to_string_lossy(), "remote_src": true, "dest": d2.path().to_string_lossy()}),
        false,
    );
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("Failed to find handler"));
}

#[test]
fn unarchive_zip() {
    require(has_command("zip", "-v").then_some(()), "zip");
    require(has_command("unzip", "-v").then_some(()), "unzip");
    let src = tempfile::tempdir().unwrap();
    make_tree(src.path());
    let arch = tempfile::tempdir().unwrap();
    let zip = arch.path().join("app.zip");
    let st = Command::new("zip")
        .args(["-q", "-r", "-y"])
        .arg(&zip)
        .arg("app")
        .current_dir(src.path())
        .status()
        .unwrap();
    assert!(st.success());
    for remote in [false, true] {
        let d = tempfile::tempdir().unwrap();
        let mut args = json!({"src": zip.to_string_lossy(), "dest": d.path().to_string_lossy()});
        if remote {
            args["remote_src"] = json!(true);
        } else {
            args["_content_b64"] = json!(b64_file(&zip));
        }
        let o = cycle("unarchive", &args, d.path(), Status::Changed);
        assert_eq!(o.data["handler"], "ZipArchive");
        assert_eq!(
            fs::read_to_string(d.path().join("app/bin.sh")).unwrap(),
            "#!/bin/sh\necho hi\n"
        );
        fs::write(d.path().join("app/bin.sh"), "changed, longer content\n").unwrap();
        assert_eq!(ok("unarchive", &args, false).status, Status::Changed);
        assert_eq!(
            fs::read_to_string(d.path().join("app/bin.sh")).unwrap(),
            "#!/bin/sh\necho hi\n"
        );
    }
}

#[test]
fn sysctl_edits_only_the_file() {
    let d = tempfile::tempdir().unwrap();
    let f = p(d.path(), "99-test.conf");
    fs::write(&f, "# test\nvm.swappiness = 60\nnet.core.somaxconn=128\n").unwrap();
    let base = json!({"sysctl_file": f, "sysctl_set": false, "reload": false});
    let with = |extra: serde_json::Value| {
        let mut a = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            a[k] = v.clone();
        }
        a
    };
    let o = cycle(
        "sysctl",
        &with(json!({"name": "vm.swappiness", "value": 10})),
        d.path(),
        Status::Changed,
    );
    assert_eq!(
        o.diffs[0].after,
        "# test\nvm.swappiness=10\nnet.core.somaxconn=128\n"
    );
    cycle(
        "sysctl",
        &with(json!({"name": "vm.max_map_count", "value": "262144"})),
        d.path(),
        Status::Changed,
    );
    cycle(
        "sysctl",
        &with(json!({"name": "net.core.somaxconn", "state": "absent"})),
        d.path(),
        Status::Changed,
    );
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        "# test\nvm.swappiness=10\nvm.max_map_count=262144\n"
    );
    // A missing file is created.
    let g = p(d.path(), "new.conf");
    let o = ok(
        "sysctl",
        &json!({"name": "vm.swappiness", "value": "1", "sysctl_file": g, "reload": false}),
        false,
    );
    assert_eq!(o.status, Status::Changed);
    assert_eq!(fs::read_to_string(&g).unwrap(), "vm.swappiness=1\n");
}

const FAKE_INIT: &str = r#"#!/bin/sh
# A SysV script that only records what it is asked to do.
dir="$(dirname "$0")/.."
case "$1" in
  start) echo start >> "$dir/log"; touch "$dir/running" ;;
  stop) echo stop >> "$dir/log"; rm -f "$dir/running" ;;
  restart) echo restart >> "$dir/log"; touch "$dir/running" ;;
  reload) echo reload >> "$dir/log" ;;
  status) [ -f "$dir/running" ] && exit 0; exit 3 ;;
  *) echo "Usage: $0 {start|stop|restart|reload|status}" >&2; exit 2 ;;
esac
exit 0
"#;

#[test]
fn service_with_a_sysv_script() {
    let d = tempfile::tempdir().unwrap();
    let initd = d.path().join("init.d");
    fs::create_dir(&initd).unwrap();
    let script = initd.join("fakesvc");
    fs::write(&script, FAKE_INIT).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let rc = d.path().join("rc");
    let args = |extra: serde_json::Value| {
        let mut a = json!({"name": "fakesvc", "_initd_dir": initd.to_string_lossy(), "_rc_dir": rc.to_string_lossy()});
        for (k, v) in extra.as_object().unwrap() {
            a[k] = v.clone();
        }
        a
    };
    let log = || fs::read_to_string(d.path().join("log")).unwrap_or_default();

    let o = cycle(
        "service",
        &args(json!({"state": "started", "enabled": true})),
        d.path(),
        Status::Changed,
    );
    assert_eq!(log(), "start\n");
    assert_eq!(o.data["manager"], "sysv");
    assert_eq!(
        o.diffs[0].after,
        "name: fakesvc\nstate: started\nenabled: true\n"
    );
    assert!(rc.join("rc2.d/S01fakesvc").exists());
    assert!(fs::symlink_metadata(rc.join("rc5.d/S01fakesvc"))
        .unwrap()
        .file_type()
        .is_symlink());

    // restarted: always a change; reloaded on a running service reloads.
    for (state, word) in [("restarted", "restart"), ("reloaded", "reload")] {
        assert_eq!(
            ok("service", &args(json!({"state": state})), true).status,
            Status::Changed
        );
        let o = ok("service", &args(json!({"state": state})), false);
        assert_eq!(o.status, Status::Changed);
        assert!(log().ends_with(&format!("{word}\n")));
    }
    // systemd falls back to the script on a host without systemd.
    assert_eq!(
        ok("systemd", &args(json!({"state": "started"})), false).status,
        Status::Ok
    );

    cycle(
        "service",
        &args(json!({"state": "stopped", "enabled": false})),
        d.path(),
        Status::Changed,
    );
    assert!(!rc.join("rc2.d/S01fakesvc").exists());
    assert!(fs::symlink_metadata(rc.join("rc2.d/K01fakesvc")).is_ok());
    assert!(log().ends_with("stop\n"));
    // Enabling again turns the K link back into an S link.
    cycle(
        "service",
        &args(json!({"enabled": true})),
        d.path(),
        Status::Changed,
    );
    assert!(fs::symlink_metadata(rc.join("rc2.d/S01fakesvc")).is_ok());

    // A missing service is a clear failure.
    let e = run(
        "service",
        &args(json!({"name": "nosuch", "state": "started"})),
        false,
    );
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("Could not find the requested service nosuch"));
}

#[test]
fn apt_check_mode_only() {
    // The project's machines are Debian (README): dpkg and apt are part of the base system.
    require(
        has_command("dpkg-query", "--version").then_some(()),
        "dpkg-query (a Debian host)",
    );
    require(
        has_command("apt-get", "--version").then_some(()),
        "apt-get (a Debian host)",
    );
    // coreutils is installed on every Debian host: ok, nothing run.
    let o = ok("apt", &json!({"name": "coreutils"}), true);
    assert_eq!(o.status, Status::Ok);
    let o = ok(
        "package",
        &json!({"name": "coreutils", "state": "present"}),
        true,
    );
    assert_eq!(o.status, Status::Ok);
    assert_eq!(o.data["use"], "apt");
    // Removing an installed, non-essential package would be a change (apt-get -s remove says
    // which packages go), in check mode.
    let curl = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "curl"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).ends_with(" installed"));
    require(curl.then_some(()), "the curl package");
    let o = ok("apt", &json!({"name": "curl", "state": "absent"}), true);
    assert_eq!(o.status, Status::Changed);
    assert!(o.diffs[0].before.contains("curl="), "{:?}", o.diffs);
    assert!(o.data["removed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().starts_with("curl=")));
    // An unknown package fails with apt's own message.
    let e = run(
        "apt",
        &json!({"name": "converge-no-such-package-xyz"}),
        true,
    );
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("converge-no-such-package-xyz"));
    // Unsupported managers are named.
    let e = run(
        "package",
        &json!({"name": "x", "state": "present", "use": "dnf"}),
        true,
    );
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("not yet supported by converge (found dnf)"));
}

#[test]
fn apt_key_fingerprints_match_gpg_and_keyring_is_idempotent() {
    let ring = Path::new("/usr/share/keyrings/debian-archive-bookworm-stable.gpg");
    let data = require(
        fs::read(ring).ok(),
        "the Debian keyring (debian-archive-keyring)",
    );
    let ours = converge_modules::apt_key::fingerprints(&data);
    assert!(!ours.is_empty());
    let out = require(
        Command::new("gpg")
            .args(["--show-keys", "--with-colons", "--with-subkey-fingerprints"])
            .arg(ring)
            .output()
            .ok(),
        "gpg",
    );
    assert!(
        out.status.success(),
        "gpg --show-keys: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gpg: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("fpr:"))
        .map(|l| l.split(':').nth(9).unwrap_or("").to_string())
        .collect();
    assert_eq!(ours, gpg);
    // A keyring written from a file on the host, found again by id without re-reading the key.
    let d = tempfile::tempdir().unwrap();
    let kr = p(d.path(), "keyrings/debian.gpg");
    let args = json!({"file": ring.to_string_lossy(), "keyring": kr});
    let o = cycle("apt_key", &args, d.path(), Status::Changed);
    assert_eq!(o.data["fp"], ours[0]);
    assert_eq!(fs::read(&kr).unwrap(), data);
    let by_id = json!({"id": &ours[0][24..], "file": "/nonexistent", "keyring": kr});
    assert_eq!(ok("apt_key", &by_id, false).status, Status::Ok);
    let wrong = json!({"id": "DEADBEEFDEADBEEF", "file": ring.to_string_lossy(), "keyring": p(d.path(), "x.gpg")});
    assert!(run("apt_key", &wrong, false)
        .unwrap_err()
        .to_string()
        .contains("does not match"));
    cycle(
        "apt_key",
        &json!({"state": "absent", "keyring": kr}),
        d.path(),
        Status::Changed,
    );
    assert!(!Path::new(&kr).exists());
}
