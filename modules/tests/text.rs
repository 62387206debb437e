//! lineinfile / blockinfile / replace against the local machine.

mod common;

use common::{cycle, ok, p, run, snapshot};
use converge_modules::Status;
use serde_json::json;
use std::fs;

#[test]
fn lineinfile_cycle() {
    let d = tempfile::tempdir().unwrap();
    let f = p(d.path(), "sshd_config");
    fs::write(&f, "#Port 22\nPermitRootLogin yes\n").unwrap();
    let o = cycle(
        "lineinfile",
        &json!({"path": f, "regexp": "^PermitRootLogin", "line": "PermitRootLogin no"}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(o.msg.as_deref(), Some("line replaced"));
    assert_eq!(o.diffs[0].before, "#Port 22\nPermitRootLogin yes\n");
    assert_eq!(o.diffs[0].after, "#Port 22\nPermitRootLogin no\n");
    let o = cycle(
        "lineinfile",
        &json!({"path": f, "line": "Port 2222", "insertafter": "^#Port"}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(o.msg.as_deref(), Some("line added"));
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        "#Port 22\nPort 2222\nPermitRootLogin no\n"
    );
    let o = cycle(
        "lineinfile",
        &json!({"path": f, "regexp": "^#", "state": "absent", "backup": true}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(o.msg.as_deref(), Some("1 line(s) removed"));
    assert_eq!(o.data["found"], 1);
    assert!(o.data.contains_key("backup"));
}

#[test]
fn lineinfile_create_and_missing() {
    let d = tempfile::tempdir().unwrap();
    let f = p(d.path(), "new/file");
    let e = run("lineinfile", &json!({"path": f, "line": "x"}), false).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    cycle(
        "lineinfile",
        &json!({"path": f, "line": "x", "create": true, "mode": "0600"}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(fs::read_to_string(&f).unwrap(), "x\n");
    let o = ok(
        "lineinfile",
        &json!({"path": p(d.path(), "none"), "line": "x", "state": "absent"}),
        false,
    );
    assert_eq!(o.status, Status::Ok);
}

#[test]
fn lineinfile_follows_symlinks_and_validates() {
    let d = tempfile::tempdir().unwrap();
    let real = p(d.path(), "real");
    fs::write(&real, "a\n").unwrap();
    std::os::unix::fs::symlink("real", d.path().join("link")).unwrap();
    cycle(
        "lineinfile",
        &json!({"path": p(d.path(), "link"), "line": "b"}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), "a\nb\n");
    assert!(fs::symlink_metadata(d.path().join("link"))
        .unwrap()
        .file_type()
        .is_symlink());
    let before = snapshot(d.path());
    assert!(run(
        "lineinfile",
        &json!({"path": real, "line": "c", "validate": "false %s"}),
        false
    )
    .is_err());
    assert_eq!(snapshot(d.path()), before);
}

#[test]
fn blockinfile_cycle() {
    let d = tempfile::tempdir().unwrap();
    let f = p(d.path(), "hosts");
    fs::write(&f, "127.0.0.1 localhost\n").unwrap();
    let a = json!({"path": f, "block": "10.0.0.1 db\n10.0.0.2 web"});
    let o = cycle("blockinfile", &a, d.path(), Status::Changed);
    assert_eq!(o.msg.as_deref(), Some("Block inserted"));
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        "127.0.0.1 localhost\n# BEGIN ANSIBLE MANAGED BLOCK\n10.0.0.1 db\n10.0.0.2 web\n# END ANSIBLE MANAGED BLOCK\n"
    );
    cycle(
        "blockinfile",
        &json!({"path": f, "block": "10.0.0.3 cache"}),
        d.path(),
        Status::Changed,
    );
    let o = cycle(
        "blockinfile",
        &json!({"path": f, "state": "absent"}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(o.msg.as_deref(), Some("Block removed"));
    assert_eq!(fs::read_to_string(&f).unwrap(), "127.0.0.1 localhost\n");
    assert!(run(
        "blockinfile",
        &json!({"path": p(d.path(), "none"), "block": "x"}),
        false
    )
    .is_err());
    let o = cycle(
        "blockinfile",
        &json!({"path": p(d.path(), "created"), "block": "x", "create": true}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(o.msg.as_deref(), Some("File created"));
}

#[test]
fn replace_cycle() {
    let d = tempfile::tempdir().unwrap();
    let f = p(d.path(), "app.ini");
    fs::write(&f, "[a]\nhost = old\n[b]\nhost = old\n").unwrap();
    let a =
        json!({"path": f, "regexp": "^host = old$", "replace": "host = new", "after": "\\[b\\]"});
    let o = cycle("replace", &a, d.path(), Status::Changed);
    assert_eq!(o.msg.as_deref(), Some("1 replacements made"));
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        "[a]\nhost = old\n[b]\nhost = new\n"
    );
    let a = json!({"path": f, "regexp": "^(host) = (\\w+)$", "replace": "\\1=\\2", "mode": "0600"});
    cycle("replace", &a, d.path(), Status::Changed);
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        "[a]\nhost=old\n[b]\nhost=new\n"
    );
    assert!(run(
        "replace",
        &json!({"path": p(d.path(), "none"), "regexp": "x"}),
        false
    )
    .is_err());
    assert!(run(
        "replace",
        &json!({"path": f, "regexp": "(x)", "replace": "\\2"}),
        false
    )
    .is_err());
}
