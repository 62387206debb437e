//! file / copy / template against the local machine: first run changed, second ok, check mode
//! changes nothing and predicts the real run.

mod common;

use common::{cycle, ok, p, run, snapshot};
use converge_modules::common::b64_encode;
use converge_modules::{LocalTarget, Status, Target};
use serde_json::json;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

fn mode_of(path: &str) -> u32 {
    fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

#[test]
fn file_directory_with_mode() {
    let d = tempfile::tempdir().unwrap();
    let dir = p(d.path(), "a/b/c");
    let o = cycle(
        "file",
        &json!({"path": dir, "state": "directory", "mode": "0750"}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(mode_of(&dir), 0o750);
    assert_eq!(
        mode_of(&p(d.path(), "a")),
        0o750,
        "created parents get the mode too, as in Ansible"
    );
    assert_eq!(o.data["mode"], "0750");
    assert_eq!(
        o.diffs[0].after,
        format!("path: {dir}\nstate: directory\nmode: 0750\n")
    );
    // Then a symbolic change on the existing directory.
    let o = cycle(
        "file",
        &json!({"path": dir, "mode": "g-rx,o=rx"}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(mode_of(&dir), 0o705);
    assert_eq!(o.diffs[0].before, format!("path: {dir}\nmode: 0750\n"));
    assert_eq!(o.diffs[0].after, format!("path: {dir}\nmode: 0705\n"));
}

#[test]
fn file_state_file_and_owner() {
    let d = tempfile::tempdir().unwrap();
    let f = p(d.path(), "f");
    let e = run("file", &json!({"path": f, "state": "file"}), false).unwrap_err();
    assert!(e.to_string().contains("is absent, cannot continue"), "{e}");
    fs::write(&f, "x").unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
    let me = LocalTarget.user();
    cycle(
        "file",
        &json!({"path": f, "mode": "u+x", "owner": me}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(mode_of(&f), 0o744);
}

#[test]
fn file_touch_link_hard_absent() {
    let d = tempfile::tempdir().unwrap();
    let f = p(d.path(), "t");
    let o = ok(
        "file",
        &json!({"path": f, "state": "touch", "mode": "0600"}),
        false,
    );
    assert_eq!(o.status, Status::Changed);
    assert_eq!(mode_of(&f), 0o600);
    // touch with preserved times is idempotent.
    cycle(
        "file",
        &json!({"path": f, "state": "touch", "modification_time": "preserve", "access_time": "preserve"}),
        d.path(),
        Status::Ok,
    );
    // touch to a fixed time.
    ok(
        "file",
        &json!({"path": f, "state": "touch", "modification_time": "202001021230.00"}),
        false,
    );
    assert!(fs::metadata(&f).unwrap().mtime() < 1_600_000_000);

    let l = p(d.path(), "l");
    let o = cycle(
        "file",
        &json!({"path": l, "src": "t", "state": "link"}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(fs::read_link(&l).unwrap().to_str(), Some("t"));
    assert_eq!(
        (o.data["dest"].clone(), o.data["src"].clone()),
        (json!(l), json!("t"))
    );
    // Re-pointing an existing link needs no force.
    fs::write(p(d.path(), "u"), "u").unwrap();
    cycle(
        "file",
        &json!({"path": l, "src": "u", "state": "link"}),
        d.path(),
        Status::Changed,
    );
    // Replacing a file needs force.
    let e = run(
        "file",
        &json!({"path": f, "src": "u", "state": "link"}),
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("refusing to convert"), "{e}");
    cycle(
        "file",
        &json!({"path": f, "src": "u", "state": "link", "force": true}),
        d.path(),
        Status::Changed,
    );
    // Dangling src needs force.
    assert!(run(
        "file",
        &json!({"path": p(d.path(), "dang"), "src": "nowhere", "state": "link"}),
        false
    )
    .is_err());
    cycle(
        "file",
        &json!({"path": p(d.path(), "dang"), "src": "nowhere", "state": "link", "force": true}),
        d.path(),
        Status::Changed,
    );

    let h = p(d.path(), "h");
    cycle(
        "file",
        &json!({"path": h, "src": p(d.path(), "u"), "state": "hard"}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(
        fs::metadata(&h).unwrap().ino(),
        fs::metadata(p(d.path(), "u")).unwrap().ino()
    );

    let sub = p(d.path(), "sub");
    fs::create_dir_all(format!("{sub}/x/y")).unwrap();
    fs::write(format!("{sub}/x/y/z"), "z").unwrap();
    let o = cycle(
        "file",
        &json!({"path": sub, "state": "absent"}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(o.diffs[0].after, format!("path: {sub}\nstate: absent\n"));
    assert!(!std::path::Path::new(&sub).exists());
}

#[test]
fn file_recurse() {
    let d = tempfile::tempdir().unwrap();
    let top = p(d.path(), "top");
    fs::create_dir_all(format!("{top}/a/b")).unwrap();
    fs::write(format!("{top}/a/f"), "f").unwrap();
    fs::set_permissions(format!("{top}/a/f"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(format!("{top}/a/b"), fs::Permissions::from_mode(0o700)).unwrap();
    cycle(
        "file",
        &json!({"path": top, "state": "directory", "recurse": true, "mode": "u=rwX,go=rX"}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(mode_of(&format!("{top}/a/f")), 0o644);
    assert_eq!(mode_of(&format!("{top}/a/b")), 0o755);
}

#[test]
fn copy_content_backup_and_attrs() {
    let d = tempfile::tempdir().unwrap();
    let f = p(d.path(), "conf");
    let o = cycle(
        "copy",
        &json!({"dest": f, "content": "a=1\n", "mode": "0640"}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(fs::read_to_string(&f).unwrap(), "a=1\n");
    assert_eq!(mode_of(&f), 0o640);
    assert_eq!(
        o.data["checksum"],
        converge_modules::common::sha1_hex(b"a=1\n")
    );
    assert_eq!(o.data["dest"], f.as_str());
    assert_eq!(o.data["mode"], "0640");
    assert_eq!(
        (o.diffs[0].before.as_str(), o.diffs[0].after.as_str()),
        ("", "a=1\n")
    );

    // New content with backup: the old file is kept aside, mode kept.
    let o = ok(
        "copy",
        &json!({"dest": f, "content": "a=2\n", "backup": true}),
        false,
    );
    assert_eq!(o.status, Status::Changed);
    let backup = o.data["backup_file"].as_str().unwrap().to_string();
    assert_eq!(fs::read_to_string(&backup).unwrap(), "a=1\n");
    assert!(backup.starts_with(&format!("{f}.")) && backup.ends_with('~'));
    assert_eq!(mode_of(&f), 0o640);
    assert_eq!(o.diffs[0].before, "a=1\n");

    // Attributes only.
    let o = cycle(
        "copy",
        &json!({"dest": f, "content": "a=2\n", "mode": "u=rw,go="}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(mode_of(&f), 0o600);
    assert_eq!(o.diffs[0].after, format!("path: {f}\nmode: 0600\n"));

    // force: false leaves an existing file alone.
    cycle(
        "copy",
        &json!({"dest": f, "content": "other", "force": false}),
        d.path(),
        Status::Ok,
    );
    assert_eq!(fs::read_to_string(&f).unwrap(), "a=2\n");
}

#[test]
fn copy_validate_failure_leaves_dest_untouched() {
    let d = tempfile::tempdir().unwrap();
    let f = p(d.path(), "sudoers");
    fs::write(&f, "old\n").unwrap();
    let before = snapshot(d.path());
    let e = run(
        "copy",
        &json!({"dest": f, "content": "bad\n", "validate": "grep -q good %s"}),
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("failed to validate"), "{e}");
    assert_eq!(
        snapshot(d.path()),
        before,
        "dest changed or a temporary file remains"
    );
    // A passing validation sees the new content.
    let o = ok(
        "copy",
        &json!({"dest": f, "content": "good\n", "validate": "grep -q good %s"}),
        false,
    );
    assert_eq!(o.status, Status::Changed);
    assert_eq!(fs::read_to_string(&f).unwrap(), "good\n");
    assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
}

#[test]
fn copy_controller_file_and_dest_dir() {
    let d = tempfile::tempdir().unwrap();
    let dir = p(d.path(), "etc");
    fs::create_dir(&dir).unwrap();
    let a = json!({"src": "files/app.conf", "dest": dir, "_content_b64": b64_encode(b"x=1\n")});
    let o = cycle("copy", &a, d.path(), Status::Changed);
    assert_eq!(
        fs::read_to_string(format!("{dir}/app.conf")).unwrap(),
        "x=1\n"
    );
    assert_eq!(o.data["dest"], format!("{dir}/app.conf"));
    // dest ending with / creates missing directories.
    let a = json!({"src": "files/app.conf", "dest": format!("{dir}/new/"), "_content_b64": b64_encode(b"x=1\n")});
    cycle("copy", &a, d.path(), Status::Changed);
    assert!(d.path().join("etc/new/app.conf").exists());
    // A missing parent otherwise is an error.
    let e = run(
        "copy",
        &json!({"dest": p(d.path(), "nope/x"), "content": "x"}),
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    // Binary content shows a summary in the diff; preserve takes the controller's mode.
    let a = json!({"src": "bin", "dest": p(d.path(), "bin"), "_content_b64": b64_encode(&[0, 1, 2, 255]), "_src_mode": "0755", "mode": "preserve"});
    let o = cycle("copy", &a, d.path(), Status::Changed);
    assert_eq!(o.diffs[0].after, "(binary file, 4 bytes)");
    assert_eq!(mode_of(&p(d.path(), "bin")), 0o755);
}

#[test]
fn copy_directory_trees() {
    let d = tempfile::tempdir().unwrap();
    let files = json!([
        {"path": "conf.d", "state": "directory", "mode": "0755"},
        {"path": "conf.d/a.conf", "content_b64": b64_encode(b"a\n"), "mode": "0644"},
        {"path": "top.txt", "content_b64": b64_encode(b"t\n"), "mode": "0600"},
    ]);
    // Without a trailing slash: dest/<basename>/...
    let dest = p(d.path(), "out");
    cycle(
        "copy",
        &json!({"src": "files/site", "dest": dest, "_files": files, "directory_mode": "0700"}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(
        fs::read_to_string(format!("{dest}/site/conf.d/a.conf")).unwrap(),
        "a\n"
    );
    assert_eq!(mode_of(&format!("{dest}/site/conf.d")), 0o700);
    // With a trailing slash: the contents go into dest.
    let dest2 = p(d.path(), "out2");
    let o = cycle(
        "copy",
        &json!({"src": "files/site/", "dest": dest2, "_files": files}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(
        fs::read_to_string(format!("{dest2}/top.txt")).unwrap(),
        "t\n"
    );
    assert_eq!(o.data["dest"], dest2.as_str());
    // Remote source: copy the copy on the host.
    let dest3 = p(d.path(), "out3");
    cycle(
        "copy",
        &json!({"src": format!("{dest2}/"), "dest": dest3, "remote_src": true}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(
        fs::read_to_string(format!("{dest3}/conf.d/a.conf")).unwrap(),
        "a\n"
    );
    cycle(
        "copy",
        &json!({"src": format!("{dest2}/top.txt"), "dest": p(d.path(), "single"), "remote_src": true}),
        d.path(),
        Status::Changed,
    );
}

#[test]
fn template_writes_rendered_content() {
    let d = tempfile::tempdir().unwrap();
    let f = p(d.path(), "motd");
    let a = json!({"src": "motd.j2", "dest": f, "_content": "Hello web1\n", "mode": "0644", "trim_blocks": true});
    let o = cycle("template", &a, d.path(), Status::Changed);
    assert_eq!(fs::read_to_string(&f).unwrap(), "Hello web1\n");
    assert_eq!(o.data["src"], "motd.j2");
    let a = json!({"src": "motd.j2", "dest": f, "_content": "Hello web2\n", "backup": true});
    let o = cycle("template", &a, d.path(), Status::Changed);
    assert_eq!(o.diffs[0].before, "Hello web1\n");
    assert!(o.data.contains_key("backup_file"));
}
