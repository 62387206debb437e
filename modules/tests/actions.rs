//! command / shell / raw / stat / slurp / wait_for / pause against the local machine.

mod common;

use common::{cycle, ok, p, run, snapshot};
use converge_modules::Status;
use serde_json::json;

#[test]
fn command_runs_and_registers() {
    let o = ok("command", &json!({"cmd": "echo 'a  b' c"}), false);
    assert_eq!(o.status, Status::Changed);
    assert_eq!(o.data["stdout"], "a  b c");
    assert_eq!(o.data["stdout_lines"], json!(["a  b c"]));
    assert_eq!(o.data["rc"], 0);
    assert_eq!(o.data["cmd"], json!(["echo", "a  b", "c"]));
    assert!(o.data["delta"].as_str().unwrap().starts_with("0:00:0"));
    // Never through a shell.
    let o = ok("command", &json!({"cmd": "echo $HOME ; ls"}), false);
    assert_eq!(o.data["stdout"], "$HOME ; ls");
    // argv, stdin, chdir.
    let o = ok(
        "command",
        &json!({"argv": ["cat"], "stdin": "hello"}),
        false,
    );
    assert_eq!(o.data["stdout"], "hello");
    let o = ok("command", &json!({"cmd": "pwd", "chdir": "/"}), false);
    assert_eq!(o.data["stdout"], "/");
}

#[test]
fn command_failure_is_failed_with_data() {
    let o = ok(
        "shell",
        &json!({"cmd": "echo out; echo err >&2; exit 3"}),
        false,
    );
    assert_eq!(o.status, Status::Failed);
    assert_eq!(o.msg.as_deref(), Some("non-zero return code"));
    assert_eq!(
        (
            o.data["rc"].clone(),
            o.data["stdout"].clone(),
            o.data["stderr"].clone()
        ),
        (json!(3), json!("out"), json!("err"))
    );
    let o = ok("command", &json!({"cmd": "/nonexistent/binary"}), false);
    assert_eq!(o.status, Status::Failed);
    assert_eq!(o.data["rc"], 127);
}

#[test]
fn command_check_mode_skips() {
    let o = ok("command", &json!({"cmd": "false"}), true);
    assert_eq!(o.status, Status::Skipped);
    assert_eq!(
        o.msg.as_deref(),
        Some(converge_modules::command::CHECK_MODE_MSG)
    );
}

#[test]
fn creates_and_removes_make_commands_idempotent() {
    let d = tempfile::tempdir().unwrap();
    let marker = p(d.path(), "marker");
    let o = cycle(
        "command",
        &json!({"cmd": format!("touch {marker}"), "creates": marker}),
        d.path(),
        Status::Changed,
    );
    assert_eq!(o.data["rc"], 0);
    let again = ok(
        "command",
        &json!({"cmd": format!("touch {marker}"), "creates": marker}),
        false,
    );
    assert_eq!(
        again.msg.unwrap(),
        format!("Did not run command since '{marker}' exists")
    );
    // Relative to chdir, and with a glob.
    let o = ok(
        "shell",
        &json!({"cmd": "exit 1", "creates": "mark*", "chdir": d.path()}),
        false,
    );
    assert_eq!(o.status, Status::Ok);
    cycle(
        "shell",
        &json!({"cmd": "rm marker", "removes": "marker", "chdir": d.path()}),
        d.path(),
        Status::Changed,
    );
    assert!(!d.path().join("marker").exists());
}

#[test]
fn shell_features() {
    let o = ok("shell", &json!({"cmd": "echo a | tr a b"}), false);
    assert_eq!(o.data["stdout"], "b");
    assert_eq!(o.data["cmd"], "echo a | tr a b");
    let o = ok(
        "shell",
        &json!({"cmd": "echo $0", "executable": "/bin/sh"}),
        false,
    );
    assert_eq!(o.data["stdout"], "/bin/sh");
    let o = ok(
        "shell",
        &json!({"cmd": "cat", "stdin": "x", "stdin_add_newline": false}),
        false,
    );
    assert_eq!(o.data["stdout"], "x");
}

#[test]
fn raw_is_always_changed() {
    let o = ok("raw", &json!({"free_form": "echo hi"}), false);
    assert_eq!(
        (o.status, o.data["stdout"].clone()),
        (Status::Changed, json!("hi\n"))
    );
    assert_eq!(
        ok("raw", &json!({"free_form": "echo hi"}), true).status,
        Status::Skipped
    );
    assert_eq!(
        ok("raw", &json!({"free_form": "exit 2"}), false).status,
        Status::Failed
    );
}

#[test]
fn bad_arguments_are_caught() {
    assert!(run("command", &json!({"cmd": "ls", "chdri": "/"}), false).is_err());
    assert!(run("file", &json!({"path": "/x", "state": "directry"}), false).is_err());
    let e = run("copy", &json!({"dest": "/x", "contnet": "a"}), false).unwrap_err();
    assert!(e.to_string().contains("did you mean `content`"), "{e}");
}

#[test]
fn stat_and_slurp() {
    let d = tempfile::tempdir().unwrap();
    let f = p(d.path(), "f");
    std::fs::write(&f, "hello\n").unwrap();
    std::os::unix::fs::symlink("f", d.path().join("l")).unwrap();
    let o = ok("stat", &json!({"path": f}), false);
    let s = &o.data["stat"];
    assert_eq!(
        (s["exists"].clone(), s["isreg"].clone(), s["isdir"].clone()),
        (json!(true), json!(true), json!(false))
    );
    assert_eq!(s["checksum"], "f572d396fae9206628714fb2ce00f72e94f2258f");
    assert_eq!(s["size"], 6);
    assert!(s["mode"].as_str().unwrap().len() == 4);
    let l = ok("stat", &json!({"path": p(d.path(), "l")}), false);
    assert_eq!(l.data["stat"]["islnk"], true);
    assert_eq!(l.data["stat"]["lnk_source"], f.as_str());
    assert_eq!(l.data["stat"]["lnk_target"], "f");
    let l = ok(
        "stat",
        &json!({"path": p(d.path(), "l"), "follow": true}),
        false,
    );
    assert_eq!(l.data["stat"]["isreg"], true);
    let m = ok("stat", &json!({"path": p(d.path(), "missing")}), false);
    assert_eq!(m.data["stat"], json!({"exists": false}));

    let o = ok("slurp", &json!({"src": f}), false);
    assert_eq!(
        (o.data["content"].clone(), o.data["encoding"].clone()),
        (json!("aGVsbG8K"), json!("base64"))
    );
    assert_eq!(
        ok("slurp", &json!({"path": p(d.path(), "missing")}), false).status,
        Status::Failed
    );
}

#[test]
fn wait_for_paths_and_ports() {
    let d = tempfile::tempdir().unwrap();
    let f = p(d.path(), "ready");
    std::fs::write(&f, "state: up 42\n").unwrap();
    let o = ok("wait_for", &json!({"path": f, "timeout": 2}), false);
    assert_eq!(o.status, Status::Ok);
    let o = ok(
        "wait_for",
        &json!({"path": f, "search_regex": "up (\\d+)", "timeout": 2}),
        false,
    );
    assert_eq!(o.data["match_groups"], json!(["42"]));
    let o = ok(
        "wait_for",
        &json!({"path": p(d.path(), "nope"), "timeout": 0.3, "sleep": 0.1}),
        false,
    );
    assert_eq!(o.status, Status::Failed);
    assert!(o.msg.unwrap().contains("Timeout when waiting for file"));
    assert_eq!(
        ok(
            "wait_for",
            &json!({"path": p(d.path(), "nope"), "state": "absent", "timeout": 1}),
            false
        )
        .status,
        Status::Ok
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let o = ok("wait_for", &json!({"port": port, "timeout": 5}), true);
    assert_eq!(o.status, Status::Ok, "{:?}", o.msg);
    drop(listener);
    let o = ok(
        "wait_for",
        &json!({"port": port, "state": "stopped", "timeout": 5}),
        false,
    );
    assert_eq!(o.status, Status::Ok, "{:?}", o.msg);
    let o = ok(
        "wait_for",
        &json!({"port": port, "timeout": 0.5, "sleep": 0.2, "msg": "not up"}),
        false,
    );
    assert_eq!(
        (o.status, o.msg.as_deref()),
        (Status::Failed, Some("not up"))
    );
}

#[test]
fn pause_waits() {
    let t = std::time::Instant::now();
    let o = ok("pause", &json!({"seconds": 0.2}), false);
    assert_eq!(o.status, Status::Ok);
    assert!(t.elapsed().as_millis() >= 200);
    assert!(run("pause", &json!({"prompt": "go?"}), false).is_err());
}

#[test]
fn snapshot_sees_changes() {
    let d = tempfile::tempdir().unwrap();
    let a = snapshot(d.path());
    std::fs::write(d.path().join("x"), "1").unwrap();
    assert_ne!(a, snapshot(d.path()));
}
