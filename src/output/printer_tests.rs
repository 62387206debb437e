//! Tests of the printer: exact comparisons with real `ansible-playbook` output (captured from
//! ansible-core 2.19 into `testdata/`, its `[ERROR]` excerpts removed), and snapshots of the
//! rest.

use super::*;
use crate::output::events::{Event, HostResult, HostStats, Recap, ResultStatus};
use converge_modules::Diff;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Buf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn opts() -> PrinterOptions {
    PrinterOptions::default()
}

fn render(events: &[Event], opts: PrinterOptions) -> String {
    let buf = Buf::default();
    let p = Printer::to_writer(Box::new(buf.clone()), opts);
    for e in events {
        p.emit(e);
    }
    buf.text()
}

fn play(name: &str, hosts: &[&str]) -> Event {
    Event::PlayStart {
        name: name.into(),
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
    }
}

fn task(name: &str, hosts: usize) -> Event {
    Event::TaskStart {
        name: name.into(),
        role: None,
        handler: false,
        hosts,
    }
}

fn result(host: &str, status: ResultStatus) -> HostResult {
    HostResult::new(host, status)
}

fn item(label: &str, status: ResultStatus) -> HostResult {
    let mut r = HostResult::new("localhost", status);
    r.item = Some(label.into());
    r
}

fn stats(ok: u32, changed: u32, unreachable: u32, failed: u32, skipped: u32) -> HostStats {
    HostStats {
        ok,
        changed,
        unreachable,
        failed,
        skipped,
        ..HostStats::default()
    }
}

fn run_end(recap: Recap) -> Event {
    Event::RunEnd {
        recap,
        duration: Duration::from_secs(3),
    }
}

fn run_start() -> Event {
    Event::RunStart {
        playbooks: vec!["playbooks/site.yml".into()],
        inventory: vec!["inventory/hosts.yml".into()],
        check: false,
        diff: true,
    }
}

/// The events of `testdata/play1.yml`'s run (see the reference file).
fn play1_events() -> Vec<Event> {
    let mut ev = vec![run_start(), play("First play", &["localhost"])];

    ev.push(task("say hi", 1));
    let mut r = result("localhost", ResultStatus::Ok);
    r.data = json!({"_show": true, "msg": "hello \"world\""});
    ev.push(Event::HostResult(r));
    ev.push(Event::TaskEnd);

    ev.push(task("write file", 1));
    let mut r = result("localhost", ResultStatus::Changed);
    r.diffs.push(Diff {
        before_header: String::new(),
        after_header: "/tmp/ansplay/out.txt".into(),
        before: String::new(),
        after: "a\nb\nc\nd\ne\nf\ng\nh\nnew53\n".into(),
    });
    ev.push(Event::HostResult(r));
    ev.push(Event::TaskEnd);

    ev.push(task("loop copy", 1));
    let mut r = result("localhost", ResultStatus::Changed);
    for (x, n) in [("x", 38), ("y", 37)] {
        let mut i = item(x, ResultStatus::Changed);
        i.diffs.push(Diff {
            before_header: String::new(),
            after_header: format!("/tmp/ansplay/out-{x}.txt"),
            before: String::new(),
            after: format!("item {x} {n}"),
        });
        r.items.push(i);
    }
    ev.push(Event::HostResult(r));
    ev.push(Event::TaskEnd);

    ev.push(task("skipped", 1));
    ev.push(Event::HostResult(result(
        "localhost",
        ResultStatus::Skipped,
    )));
    ev.push(Event::TaskEnd);

    ev.push(task("failing ignored", 1));
    let mut r = result("localhost", ResultStatus::Failed);
    r.ignored = true;
    r.msg = Some("non-zero return code".into());
    r.data = json!({
        "changed": true, "cmd": ["/bin/false"], "rc": 1,
        "start": "2026-11-25 10:23:43.988552", "end": "2026-11-25 10:23:44.004223",
        "delta": "0:00:00.015671", "stdout": "", "stderr": "",
        "stdout_lines": [], "stderr_lines": [], "failed": true,
    });
    ev.push(Event::HostResult(r));
    ev.push(Event::TaskEnd);

    ev.push(task("fail", 1));
    let mut r = result("localhost", ResultStatus::Failed);
    r.msg = Some("boom".into());
    ev.push(Event::HostResult(r));
    ev.push(Event::TaskEnd);
    ev.push(Event::PlayEnd);

    let mut recap = Recap::new();
    let mut s = stats(4, 3, 0, 1, 1);
    s.ignored = 1;
    recap.insert("localhost".into(), s);
    ev.push(run_end(recap));
    ev
}

/// The events of `testdata/play2.yml`'s run; the loop's timestamps differ between captures.
fn play2_events(delta: &str, start: &str, end: &str) -> Vec<Event> {
    let mut ev = vec![run_start(), play("No match", &[])];
    ev.push(Event::NoHostsMatched {
        pattern: "nomatch".into(),
    });
    ev.push(Event::PlayEnd);

    ev.push(play("all", &["localhost", "badhost"]));
    ev.push(Event::TaskStart {
        name: "role task".into(),
        role: Some("myrole".into()),
        handler: false,
        hosts: 2,
    });
    let mut r = result("badhost", ResultStatus::Unreachable);
    r.msg = Some("Task failed: Failed to connect to the host via ssh: ssh: connect to host 127.0.0.9 port 1: Connection refused".into());
    ev.push(Event::HostResult(r));
    ev.push(Event::HostResult(result("localhost", ResultStatus::Ok)));
    ev.push(Event::TaskEnd);

    ev.push(task("loop mixed", 1));
    let mut r = result("localhost", ResultStatus::Failed);
    r.ignored = true;
    r.items.push(item("true", ResultStatus::Changed));
    let mut failed = item("false", ResultStatus::Failed);
    failed.msg = Some("non-zero return code".into());
    failed.data = json!({
        "ansible_loop_var": "item", "item": "false", "changed": true, "cmd": ["false"],
        "rc": 1, "start": start, "end": end, "delta": delta, "stdout": "", "stderr": "",
        "stdout_lines": [], "stderr_lines": [],
    });
    r.items.push(failed);
    r.items.push(item("skip", ResultStatus::Skipped));
    ev.push(Event::HostResult(r));
    ev.push(Event::TaskEnd);

    ev.push(task("notify", 1));
    ev.push(Event::HostResult(result(
        "localhost",
        ResultStatus::Changed,
    )));
    ev.push(Event::TaskEnd);

    ev.push(task("debug var", 1));
    let mut r = result("localhost", ResultStatus::Ok);
    r.data = json!({"_show": true, "foo": {"b": 2, "a": "é"}, "changed": false});
    ev.push(Event::HostResult(r));
    ev.push(Event::TaskEnd);

    ev.push(Event::TaskStart {
        name: "h1".into(),
        role: None,
        handler: true,
        hosts: 1,
    });
    let mut r = result("localhost", ResultStatus::Ok);
    r.msg = Some("handler ran".into());
    r.data = json!({"_show": true});
    ev.push(Event::HostResult(r));
    ev.push(Event::TaskEnd);
    ev.push(Event::PlayEnd);

    ev.push(play("unreach", &[]));
    ev.push(Event::PlayEnd);

    let mut recap = Recap::new();
    let mut s = stats(5, 2, 0, 0, 0);
    s.ignored = 1;
    recap.insert("localhost".into(), s);
    recap.insert("badhost".into(), stats(0, 0, 1, 0, 0));
    ev.push(run_end(recap));
    ev
}

#[test]
fn matches_ansible_play1_with_diff() {
    let expected = include_str!("testdata/ansible_play1.txt");
    let got = render(
        &play1_events(),
        PrinterOptions {
            diff: true,
            ..opts()
        },
    );
    assert_eq!(got, expected);
}

#[test]
fn matches_ansible_play2_stdout_and_stderr() {
    let expected = include_str!("testdata/ansible_play2.txt");
    let (out, err) = (Buf::default(), Buf::default());
    let p = Printer::to_writers(Box::new(out.clone()), Some(Box::new(err.clone())), opts());
    let events = play2_events(
        "0:00:00.006399",
        "2026-11-25 10:24:32.153033",
        "2026-11-25 10:24:32.159432",
    );
    for e in &events {
        p.emit(e);
    }
    assert_eq!(out.text(), expected);
    assert_eq!(
        err.text(),
        "[WARNING]: Could not match supplied host pattern, ignoring: nomatch\n"
    );
}

#[test]
fn matches_ansible_colors() {
    let expected = include_str!("testdata/ansible_play2_color.txt");
    let (out, err) = (Buf::default(), Buf::default());
    let color = PrinterOptions {
        color: true,
        ..opts()
    };
    let p = Printer::to_writers(Box::new(out.clone()), Some(Box::new(err.clone())), color);
    let events = play2_events(
        "0:00:00.007205",
        "2026-11-25 10:29:32.178977",
        "2026-11-25 10:29:32.186182",
    );
    for e in &events {
        p.emit(e);
    }
    assert_eq!(out.text(), expected);
    assert_eq!(
        err.text(),
        "\x1b[1;35m[WARNING]: Could not match supplied host pattern, ignoring: nomatch\x1b[0m\n"
    );
}

#[test]
fn colored_diff_matches_ansible() {
    // From `ANSIBLE_FORCE_COLOR=1 ansible-playbook --diff` on a file whose last line changed.
    let mut r = result("localhost", ResultStatus::Changed);
    r.diffs.push(Diff::new(
        "/tmp/ansplay/out.txt",
        "a\nb\nc\nd\ne\nf\ng\nh\nnew53\n",
        "a\nb\nc\nd\ne\nf\ng\nh\nnew97\n",
    ));
    let got = render(
        &[Event::HostResult(r)],
        PrinterOptions {
            color: true,
            diff: true,
            ..opts()
        },
    );
    let expected = "\x1b[0;31m--- before: /tmp/ansplay/out.txt\x1b[0m\n\
        \x1b[0;31m\x1b[0m\x1b[0;32m+++ after: /tmp/ansplay/out.txt\x1b[0m\n\
        \x1b[0;32m\x1b[0m\x1b[0;36m@@ -6,4 +6,4 @@\x1b[0m\n\
        \x1b[0;36m\x1b[0m f\n g\n h\n\
        \x1b[0;31m-new53\x1b[0m\n\
        \x1b[0;31m\x1b[0m\x1b[0;32m+new97\x1b[0m\n\
        \x1b[0;32m\x1b[0m\n\
        \x1b[0;33mchanged: [localhost]\x1b[0m\n";
    assert_eq!(got, expected);
}

/// Several hosts, every kind of line, in one stream.
fn mixed_events() -> Vec<Event> {
    let hosts = ["web1", "web2", "db1", "cache"];
    let mut ev = vec![run_start(), play("Configure web servers", &hosts)];
    ev.push(Event::Warning(
        "Found variable using reserved name: port".into(),
    ));
    ev.push(Event::Warning(
        "Found variable using reserved name: port".into(),
    ));
    ev.push(Event::Verbose {
        level: 3,
        host: Some("web1".into()),
        message: "ESTABLISH SSH CONNECTION FOR USER: deploy".into(),
    });

    ev.push(task("Install packages", 4));
    ev.push(Event::HostResult(result("web1", ResultStatus::Ok)));
    let mut r = result("web2", ResultStatus::Changed);
    r.diffs.push(Diff::new(
        "/etc/nginx/nginx.conf",
        "user www-data;\nworker_processes 2;\npid /run/nginx.pid;\n",
        "user www-data;\nworker_processes auto;\npid /run/nginx.pid;\n",
    ));
    // Unchanged diffs print nothing.
    r.diffs.push(Diff::new("/etc/hosts", "same\n", "same\n"));
    ev.push(Event::HostResult(r));
    let mut r = result("db1", ResultStatus::Failed);
    r.msg = Some("No package matching 'ngnix' is available".into());
    r.data = json!({"rc": 100, "results": [], "invocation": {"module_args": {"name": "ngnix"}}});
    ev.push(Event::HostResult(r));
    let mut r = result("cache", ResultStatus::Unreachable);
    r.msg = Some("ssh: connect to host 10.0.0.9 port 22: No route to host".into());
    ev.push(Event::HostResult(r));
    ev.push(Event::TaskEnd);

    ev.push(Event::TaskStart {
        name: "Create users".into(),
        role: Some("common".into()),
        handler: false,
        hosts: 2,
    });
    let mut r = result("web1", ResultStatus::Changed);
    let mut alice = item("alice", ResultStatus::Changed);
    alice.host = "web1".into();
    let mut bob = item("bob", ResultStatus::Ok);
    bob.host = "web1".into();
    r.items = vec![alice, bob];
    ev.push(Event::HostResult(r));
    let mut r = result("web2", ResultStatus::Skipped);
    r.items = vec![
        item("alice", ResultStatus::Skipped),
        item("bob", ResultStatus::Skipped),
    ];
    ev.push(Event::HostResult(r));
    ev.push(Event::TaskEnd);

    ev.push(task("Check config", 2));
    let mut r = result("web1", ResultStatus::Failed);
    r.ignored = true;
    r.msg = Some("non-zero return code".into());
    r.data = json!({"rc": 1, "stdout": "", "stderr": "nginx: [emerg] unknown directive \"foo\"", "changed": true, "failed": true});
    ev.push(Event::HostResult(r));
    let mut r = result("web2", ResultStatus::Failed);
    r.rescued = true;
    r.no_log = true;
    r.msg = Some("secret".into());
    ev.push(Event::HostResult(r));
    ev.push(Event::TaskEnd);

    ev.push(task("Show version", 1));
    let mut r = result("web1", ResultStatus::Ok);
    r.data = json!({"_show": true, "msg": ["nginx 1.24", "naïve ✓"]});
    ev.push(Event::HostResult(r));
    ev.push(Event::TaskEnd);

    ev.push(Event::TaskStart {
        name: "restart nginx".into(),
        role: Some("web".into()),
        handler: true,
        hosts: 1,
    });
    ev.push(Event::HostResult(result("web2", ResultStatus::Changed)));
    ev.push(Event::TaskEnd);
    ev.push(Event::PlayEnd);

    ev.push(play("Configure backups", &[]));
    ev.push(Event::NoHostsMatched {
        pattern: "backup".into(),
    });
    ev.push(Event::PlayEnd);

    let mut recap = Recap::new();
    let mut s = stats(4, 1, 0, 0, 0);
    s.ignored = 1;
    recap.insert("web1".into(), s);
    let mut s = stats(2, 2, 0, 0, 1);
    s.rescued = 1;
    recap.insert("web2".into(), s);
    recap.insert("db1".into(), stats(0, 0, 0, 1, 0));
    recap.insert("cache".into(), stats(0, 0, 1, 0, 0));
    recap.insert(
        "a-very-long-host-name.example.internal".into(),
        stats(12, 0, 0, 0, 0),
    );
    ev.push(run_end(recap));
    ev
}

#[test]
fn mixed_stream() {
    let got = render(
        &mixed_events(),
        PrinterOptions {
            diff: true,
            ..opts()
        },
    );
    insta::assert_snapshot!("mixed_stream", got);
}

#[test]
fn mixed_stream_verbose() {
    let got = render(
        &mixed_events(),
        PrinterOptions {
            diff: true,
            verbosity: 1,
            ..opts()
        },
    );
    insta::assert_snapshot!("mixed_stream_verbose", got);
}

#[test]
fn vvv_indents_json_and_keeps_invocation() {
    let mut r = result("db1", ResultStatus::Failed);
    r.msg = Some("boom".into());
    r.data = json!({"invocation": {"module_args": {"name": "x"}}, "_ansible_no_log": false});
    let verbose = Event::Verbose {
        level: 3,
        host: Some("db1".into()),
        message: "EXEC /bin/sh -c 'true'".into(),
    };
    let got = render(
        &[verbose, Event::HostResult(r)],
        PrinterOptions {
            verbosity: 3,
            ..opts()
        },
    );
    insta::assert_snapshot!("vvv", got);
}

#[test]
fn no_diff_without_the_option() {
    let mut r = result("h", ResultStatus::Changed);
    r.diffs.push(Diff::new("/f", "a\n", "b\n"));
    assert_eq!(render(&[Event::HostResult(r)], opts()), "changed: [h]\n");
}

#[test]
fn diffs_only_for_changed_results() {
    let mut r = result("h", ResultStatus::Failed);
    r.diffs.push(Diff::new("/f", "a\n", "b\n"));
    r.msg = Some("x".into());
    let got = render(
        &[Event::HostResult(r)],
        PrinterOptions {
            diff: true,
            ..opts()
        },
    );
    assert_eq!(
        got,
        "fatal: [h]: FAILED! => {\"changed\": false, \"msg\": \"x\"}\n"
    );
}

#[test]
fn banner_fills_the_width_with_at_least_three_stars() {
    let p = Printer::to_writer(Box::new(io::sink()), opts());
    assert_eq!(p.banner("PLAY [x]").len(), 1 + 80 + 1);
    let long = format!("TASK [{}]", "n".repeat(100));
    assert_eq!(p.banner(&long), format!("\n{long} ***\n"));
    let wide = Printer::to_writer(Box::new(io::sink()), opts()).with_columns(119);
    assert_eq!(wide.banner("PLAY [x]").trim().len(), 120);
    // Width counts characters, not bytes.
    assert_eq!(p.banner("PLAY [é]").chars().count(), 1 + 80 + 1);
}

#[test]
fn verbose_events_need_their_level() {
    let ev = [
        Event::Verbose {
            level: 1,
            host: None,
            message: "Using inventory/hosts.yml".into(),
        },
        Event::Verbose {
            level: 2,
            host: Some("h".into()),
            message: "two".into(),
        },
    ];
    assert_eq!(render(&ev, opts()), "");
    let v1 = PrinterOptions {
        verbosity: 1,
        ..opts()
    };
    assert_eq!(render(&ev, v1), "Using inventory/hosts.yml\n");
    let v2 = PrinterOptions {
        verbosity: 2,
        color: true,
        ..opts()
    };
    assert_eq!(
        render(&ev, v2),
        "\x1b[0;34mUsing inventory/hosts.yml\x1b[0m\n\x1b[0;34m<h> two\x1b[0m\n"
    );
}

#[test]
fn recap_format() {
    let mut recap = Recap::new();
    recap.insert("localhost".into(), stats(2, 1, 0, 0, 0));
    assert_eq!(
        recap_lines(&recap, false),
        "localhost                  : ok=2    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   \n"
    );
}

/// A writer whose reader went away (`converge ... | head -1`).
struct ClosedPipe;

impl Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::BrokenPipe))
    }
    fn flush(&mut self) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

#[test]
fn closed_pipe_does_not_panic() {
    let p = Printer::to_writers(Box::new(ClosedPipe), Some(Box::new(ClosedPipe)), opts());
    for e in mixed_events() {
        p.emit(&e);
    }
}

#[test]
fn threads_never_interleave_blocks() {
    let buf = Buf::default();
    let p = Arc::new(Printer::to_writer(
        Box::new(buf.clone()),
        PrinterOptions {
            diff: true,
            ..opts()
        },
    ));
    let before: String = (0..50).map(|i| format!("line {i}\n")).collect();
    let after = before.replace("line 25\n", "line twenty-five\n");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let p = Arc::clone(&p);
            let (before, after) = (before.clone(), after.clone());
            std::thread::spawn(move || {
                for i in 0..20 {
                    let mut r = result(&format!("host{t}-{i}"), ResultStatus::Changed);
                    r.diffs
                        .push(Diff::new("/f", before.as_str(), after.as_str()));
                    p.emit(&Event::HostResult(r));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let one_diff = crate::output::diff::unified_diff(&Diff::new("/f", before, after), false);
    let text = buf.text();
    let blocks: Vec<&str> = text.split_inclusive("]\n").collect();
    assert_eq!(blocks.len(), 160);
    for b in blocks {
        let (diff, line) = b.split_at(one_diff.len() + 1);
        assert_eq!(diff, format!("{one_diff}\n"));
        assert!(line.starts_with("changed: [host"), "{line}");
    }
}

#[test]
fn progress_follows_the_events() {
    let buf = Buf::default();
    let p =
        Printer::to_writer(Box::new(buf.clone()), opts()).with_progress(Progress::hidden(false));
    p.emit(&play("web", &["a", "b"]));
    p.emit(&Event::TaskStart {
        name: "Install".into(),
        role: Some("common".into()),
        handler: false,
        hosts: 2,
    });
    p.emit(&Event::HostResult(result("a", ResultStatus::Ok)));
    let progress = p.progress.as_ref().unwrap();
    assert_eq!(progress.counts(), (1, 2));
    assert_eq!(progress.message(), "TASK [common : Install]");
    p.emit(&Event::TaskEnd);
    assert_eq!(progress.counts(), (2, 2));
    p.emit(&run_end(Recap::new()));
    assert_eq!(
        buf.text(),
        "\nPLAY [web] *********************************************************************\n\
         \nTASK [common : Install] ********************************************************\n\
         ok: [a]\n\
         \nPLAY RECAP *********************************************************************\n\n"
    );
}

#[test]
fn playbook_banner_from_vv() {
    let v2 = PrinterOptions {
        verbosity: 2,
        ..opts()
    };
    assert_eq!(
        render(&[run_start()], v2),
        "\nPLAYBOOK: site.yml *************************************************************\n"
    );
    assert_eq!(render(&[run_start()], opts()), "");
}

#[test]
fn no_log_items_are_censored() {
    let mut r = result("h", ResultStatus::Failed);
    r.no_log = true;
    let mut i = item("secret-value", ResultStatus::Failed);
    i.host = "h".into();
    i.data = json!({"changed": false, "password": "hunter2"});
    r.items.push(i);
    let got = render(&[Event::HostResult(r)], opts());
    assert_eq!(
        got,
        "failed: [h] (item=(censored due to no_log)) => {\"censored\": \"the output has been hidden due to the fact that 'no_log: true' was specified for this result\", \"changed\": false}\n"
    );
}

#[test]
fn show_all_prints_the_whole_result_like_assert() {
    // From ansible-core 2.19: `assert: {that: [true]}`, then `debug: msg=m` with
    // `changed_when: true`.
    let mut assert_ok = result("localhost", ResultStatus::Ok);
    assert_ok.data = json!({"changed": false, "msg": "All assertions passed", "_show": "all"});
    let mut debug = result("localhost", ResultStatus::Changed);
    debug.data = json!({"changed": true, "msg": "m", "_show": true});
    assert_eq!(
        render(&[Event::HostResult(assert_ok), Event::HostResult(debug)], opts()),
        "ok: [localhost] => {\n    \"changed\": false,\n    \"msg\": \"All assertions passed\"\n}\n\
         changed: [localhost] => {\n    \"msg\": \"m\"\n}\n"
    );
}
