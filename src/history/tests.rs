//! Unit tests of the history: round trips, listing, run references, drift, abandoned runs and
//! schema versions. (The killed-writer and secret-leak tests are integration tests in
//! `tests/report_history.rs`, since they need a separate process and the file's bytes.)

use super::*;
use crate::report::model::{PlayReport, TaskReport};
use crate::report::sample::{sample_redactor, sample_report, SAMPLE_SECRET};
use crate::report::{render, Format};

fn open(dir: &tempfile::TempDir) -> History {
    History::open(&dir.path().join("state/history.db")).expect("open history")
}

/// A finished run: `results` are (host, task, status, diff).
/// Each run starts one minute after the previous one, so "since when" is observable.
fn run(mode: Mode, results: &[(&str, &str, Status, Option<&str>)]) -> RunReport {
    use std::sync::atomic::{AtomicI64, Ordering};
    static MINUTE: AtomicI64 = AtomicI64::new(0);
    let mut meta = RunMeta::start(mode);
    meta.started_at = crate::report::clock::rfc3339_from_unix(
        1_700_000_000 + 60 * MINUTE.fetch_add(1, Ordering::Relaxed),
    );
    meta.playbooks = vec!["site.yml".into()];
    meta.inventory = vec!["hosts.ini".into()];
    let mut report = RunReport::new(meta);
    let mut play = PlayReport {
        name: "all".into(),
        hosts: Vec::new(),
        tasks: Vec::new(),
    };
    for (host, task, status, diff) in results {
        if !play.hosts.iter().any(|h| h == host) {
            play.hosts.push(host.to_string());
        }
        let mut r = TaskResult::new(host, *status);
        if let Some(d) = diff {
            r.diffs.push(DiffReport {
                unified: d.to_string(),
                ..DiffReport::default()
            });
        }
        match play.tasks.iter_mut().find(|t| t.name == *task) {
            Some(t) => t.results.push(r),
            None => play.tasks.push(TaskReport {
                name: task.to_string(),
                role: None,
                handler: false,
                results: vec![r],
            }),
        }
    }
    report.plays.push(play);
    report.finalize_counts();
    report.run.status = report.outcome();
    report
}

#[test]
fn a_recorded_report_can_be_listed_and_shown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = open(&dir);
    h.set_redactor(&sample_redactor());
    let report = sample_report();
    let id = h.record_report(&report).expect("record");
    assert_eq!(id.0, report.run.id);

    let runs = h.list(&ListFilter::default()).expect("list");
    assert_eq!(runs.len(), 1);
    let s = &runs[0];
    assert_eq!(s.status, "failed");
    assert_eq!(s.mode, "check");
    assert_eq!(s.hosts, 3);
    assert_eq!(s.changed, 4);
    assert_eq!(s.failed, 2);
    assert_eq!(s.duration_ms, Some(65_432));
    assert_eq!(s.playbooks, vec!["playbooks/site.yml".to_string()]);
    assert!(list_text(&runs).contains(&report.run.id));

    let shown = h.show(&id).expect("show");
    assert_eq!(shown.run.id, report.run.id);
    assert_eq!(shown.run.git_commit, report.run.git_commit);
    assert_eq!(shown.plays.len(), 2);
    assert_eq!(shown.plays[0].tasks.len(), report.plays[0].tasks.len());
    assert_eq!(shown.plays[0].tasks[0].role.as_deref(), Some("base"));
    assert_eq!(shown.recap["web1"].changed, 3);
    assert_eq!(shown.totals.hosts_changed, 2);
    let md = render(Format::Markdown, &shown, None).expect("markdown");
    assert!(md.contains("<details><summary>web1 — 3 changes"));
    assert!(md.contains("+managed by converge"));
    assert!(!md.contains(SAMPLE_SECRET));
}

#[test]
fn list_filters_by_host_playbook_status_and_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = open(&dir);
    let a = run(Mode::Apply, &[("web1", "t", Status::Ok, None)]);
    let mut b = run(Mode::Check, &[("db1", "t", Status::Failed, None)]);
    b.run.playbooks = vec!["db.yml".into()];
    h.record_report(&a).expect("record");
    h.record_report(&b).expect("record");
    let ids = |f: ListFilter, h: &mut History| -> Vec<String> {
        h.list(&f)
            .expect("list")
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(
        ids(ListFilter::default(), &mut h),
        vec![b.run.id.clone(), a.run.id.clone()]
    );
    let f = ListFilter {
        host: Some("web1".into()),
        ..Default::default()
    };
    assert_eq!(ids(f, &mut h), vec![a.run.id.clone()]);
    let f = ListFilter {
        playbook: Some("db".into()),
        ..Default::default()
    };
    assert_eq!(ids(f, &mut h), vec![b.run.id.clone()]);
    let f = ListFilter {
        status: Some(RunStatus::Failed),
        mode: Some(Mode::Check),
        ..Default::default()
    };
    assert_eq!(ids(f, &mut h), vec![b.run.id.clone()]);
    let f = ListFilter {
        limit: 1,
        ..Default::default()
    };
    assert_eq!(ids(f, &mut h), vec![b.run.id.clone()]);

    assert_eq!(h.resolve("last").expect("last").0, b.run.id);
    assert_eq!(h.resolve(&a.run.id).expect("exact").0, a.run.id);
    assert!(h.resolve("ffffffff").is_err());
    assert!(h.resolve("'; DROP TABLE runs; --").is_err());
    // Both ids start with the same millisecond timestamp prefix, almost surely.
    let common: String = a
        .run
        .id
        .chars()
        .zip(b.run.id.chars())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect();
    if !common.is_empty() {
        assert!(h.resolve(&common).is_err(), "ambiguous prefix");
    }
    assert_eq!(h.prune(1).expect("prune"), 1);
    assert_eq!(h.list(&ListFilter::default()).expect("list").len(), 1);
}

#[test]
fn drift_reports_changes_since_the_last_converged_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = open(&dir);
    let diff = "--- before: /etc/motd\n+++ after: /etc/motd\n@@ -1 +1 @@\n-hand edit\n+managed\n";
    // An old apply that failed on web2, then a good one for both.
    h.record_report(&run(
        Mode::Apply,
        &[
            ("web1", "motd", Status::Changed, None),
            ("web2", "motd", Status::Failed, None),
        ],
    ))
    .expect("record");
    let apply = run(
        Mode::Apply,
        &[
            ("web1", "motd", Status::Ok, None),
            ("web2", "motd", Status::Changed, None),
        ],
    );
    h.record_report(&apply).expect("record");
    // Check 1: in sync. Check 2 and 3: web1 drifted.
    h.record_report(&run(
        Mode::Check,
        &[
            ("web1", "motd", Status::Ok, None),
            ("web2", "motd", Status::Ok, None),
        ],
    ))
    .expect("record");
    let drifting = run(
        Mode::Check,
        &[
            ("web1", "motd", Status::Changed, Some(diff)),
            ("web2", "motd", Status::Ok, None),
        ],
    );
    h.record_report(&drifting).expect("record");
    let latest = run(
        Mode::Check,
        &[
            ("web1", "motd", Status::Changed, Some(diff)),
            ("web2", "motd", Status::Ok, None),
        ],
    );
    h.record_report(&latest).expect("record");
    // A host never converged by an apply is not reported.
    h.record_report(&run(Mode::Check, &[("db1", "x", Status::Changed, None)]))
        .expect("record");

    let d = h.drift(None).expect("drift");
    assert_eq!(d.len(), 2);
    let web1 = &d[0];
    assert_eq!(web1.host, "web1");
    assert_eq!(web1.last_apply.id, apply.run.id);
    assert_eq!(
        web1.last_check.as_ref().map(|c| c.id.as_str()),
        Some(latest.run.id.as_str())
    );
    assert_eq!(
        web1.drifting_since.as_deref(),
        Some(drifting.run.started_at.as_str())
    );
    assert_eq!(web1.tasks.len(), 1);
    assert_eq!(web1.tasks[0].task, "motd");
    assert_eq!(web1.tasks[0].diff.as_deref(), Some(diff));
    let web2 = &d[1];
    assert!(!web2.drifted());
    assert!(web2.last_check.is_some());
    let text = drift_text(&d);
    assert!(text.contains("web1: drifted since"));
    assert!(text.contains("    +managed"));
    assert!(text.contains("web2: in sync"));

    // A new converged apply resets the baseline: nothing checked since.
    h.record_report(&run(
        Mode::Apply,
        &[("web1", "motd", Status::Changed, None)],
    ))
    .expect("record");
    let d = h.drift(Some("web1")).expect("drift");
    assert_eq!(d.len(), 1);
    assert!(d[0].last_check.is_none());
    assert!(!d[0].drifted());
}

#[test]
fn runs_of_dead_processes_become_incomplete_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.db");
    let mut h = History::open(&path).expect("open");
    let meta = RunMeta::start(Mode::Apply);
    let run = h.begin_run(&meta).expect("begin");
    let rec = ResultRecord {
        host: "web1".into(),
        task: "t".into(),
        status: "changed".into(),
        changed: true,
        ..Default::default()
    };
    h.record_result(&run, &rec).expect("record");
    h.flush().expect("flush");
    // Our own run, still running: left alone.
    drop(h);
    let mut h = History::open(&path).expect("reopen");
    assert_eq!(h.run_meta(&run).expect("meta").status, RunStatus::Running);
    // Pretend its writer was a process that no longer exists.
    h.connection()
        .execute(
            "UPDATE runs SET pid = 2147483646, pid_start = NULL WHERE id = ?1",
            [&run.0],
        )
        .expect("update");
    drop(h);
    let mut h = History::open(&path).expect("reopen");
    let meta = h.run_meta(&run).expect("meta");
    assert_eq!(meta.status, RunStatus::Incomplete);
    let runs = h.list(&ListFilter::default()).expect("list");
    assert_eq!(runs[0].changed, 1);
    assert!(runs[0].finished_at.is_none());
    h.integrity_check().expect("integrity");
}

#[test]
fn sink_records_a_run_from_events() {
    use crate::output::{Event, EventSink, HostResult, HostStats, Recap, ResultStatus};
    use std::time::Duration;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.db");
    let meta = RunMeta::start(Mode::Apply);
    let redactor = Redactor::with_secrets(["s3cr3t-pass"]);
    let sink =
        HistorySink::begin(History::open(&path).expect("open"), &meta, &redactor).expect("begin");
    sink.emit(&Event::RunStart {
        playbooks: vec!["site.yml".into()],
        inventory: vec!["hosts".into()],
        check: true,
        diff: false,
    });
    for play in ["one", "two"] {
        sink.emit(&Event::PlayStart {
            name: play.into(),
            hosts: vec!["h1".into()],
        });
        for task in ["a", "b"] {
            sink.emit(&Event::TaskStart {
                name: task.into(),
                role: None,
                handler: false,
                hosts: 1,
            });
            let mut r = HostResult::new("h1", ResultStatus::Changed);
            r.msg = Some("used s3cr3t-pass".into());
            sink.emit(&Event::HostResult(r));
            sink.emit(&Event::TaskEnd);
        }
        sink.emit(&Event::PlayEnd);
    }
    let mut recap = Recap::new();
    recap.insert(
        "h1".into(),
        HostStats {
            ok: 4,
            changed: 4,
            ..Default::default()
        },
    );
    sink.emit(&Event::RunEnd {
        recap,
        duration: Duration::from_millis(1234),
    });
    assert!(sink.take_error().is_none());
    let report = sink.with_history(|h| h.show(sink.run_id())).expect("show");
    assert_eq!(report.run.mode, Mode::Check);
    assert_eq!(report.run.status, RunStatus::Ok);
    assert_eq!(report.run.duration_ms, Some(1234));
    assert_eq!(report.plays.len(), 2);
    assert_eq!(report.plays[1].tasks.len(), 2);
    assert_eq!(report.plays[1].tasks[1].name, "b");
    assert_eq!(
        report.plays[0].tasks[0].results[0].msg.as_deref(),
        Some("used ********")
    );
    drop(sink);

    // A sink dropped before RunEnd leaves an incomplete run.
    let sink = HistorySink::begin(
        History::open(&path).expect("open"),
        &RunMeta::start(Mode::Apply),
        &redactor,
    )
    .expect("begin");
    let id = sink.run_id().clone();
    drop(sink);
    let mut h = History::open(&path).expect("open");
    assert_eq!(h.run_meta(&id).expect("meta").status, RunStatus::Incomplete);
}

#[test]
fn schema_is_versioned_and_newer_files_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.db");
    let h = History::open(&path).expect("open");
    let v: i64 = h
        .connection()
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v, schema::VERSION);
    let mode: String = h
        .connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");
    h.connection()
        .execute("UPDATE schema_version SET version = 99", [])
        .expect("bump");
    drop(h);
    let err = History::open(&path).expect_err("newer schema");
    assert!(format!("{err:#}").contains("schema version 99"));
}

#[test]
fn paths_resolve_in_order() {
    let p = resolve_path(Some(Path::new("/x/h.db"))).expect("cli");
    assert_eq!(p, PathBuf::from("/x/h.db"));
    // Environment-dependent cases are covered by the precedence in `resolve_path`; only check
    // the default's shape here, without touching the process environment.
    if let Some(d) = default_path() {
        assert!(d.ends_with("converge/history.db"));
    }
}
