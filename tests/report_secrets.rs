//! Defence in depth: a secret the executor failed to redact (in a diff, a message, the module's
//! data, under a secret-looking key) must not appear in any report format nor anywhere in the
//! bytes of the history database (main file and WAL).

use converge::history::{History, HistorySink};
use converge::output::{Event, EventSink, HostResult, HostStats, Recap, ResultStatus};
use converge::report::model::{Mode, RunMeta};
use converge::report::sample::{sample_redactor, sample_report_unredacted, SAMPLE_SECRET};
use converge::report::{render, Format, Redactor, ReportCollector};
use converge_modules::Diff;
use serde_json::json;
use std::time::Duration;

const SECRET: &str = "pa55-w0rd-XYZZY";
/// Not known to the redactor: only the key name (`api_key`) protects it.
const KEYED: &str = "key-only-by-name-31337";

fn events() -> Vec<Event> {
    let mut r = HostResult::new("web1", ResultStatus::Changed);
    r.diffs.push(Diff::new(
        "/srv/app/.env",
        "DB_PASSWORD=old\n",
        format!("DB_PASSWORD={SECRET}\n"),
    ));
    r.msg = Some(format!("wrote {SECRET}"));
    r.data = json!({
        "stdout": format!("password is {SECRET}"),
        "api_key": KEYED,
        "nested": {"client_secret": KEYED, "list": [SECRET]}
    });
    r.duration = Duration::from_millis(5);
    let mut f = HostResult::new("web2", ResultStatus::Failed);
    f.msg = Some(format!("login failed for {SECRET}"));
    let mut recap = Recap::new();
    recap.insert(
        "web1".into(),
        HostStats {
            ok: 1,
            changed: 1,
            ..Default::default()
        },
    );
    recap.insert(
        "web2".into(),
        HostStats {
            failed: 1,
            ..Default::default()
        },
    );
    vec![
        Event::RunStart {
            playbooks: vec!["site.yml".into()],
            inventory: vec!["hosts".into()],
            check: false,
            diff: true,
        },
        Event::PlayStart {
            name: "app".into(),
            hosts: vec!["web1".into(), "web2".into()],
        },
        Event::TaskStart {
            name: "env file".into(),
            role: None,
            handler: false,
            hosts: 2,
        },
        Event::HostResult(r),
        Event::HostResult(f),
        Event::TaskEnd,
        Event::PlayEnd,
        Event::RunEnd {
            recap,
            duration: Duration::from_secs(1),
        },
    ]
}

fn assert_clean(what: &str, bytes: &[u8]) {
    for s in [SECRET, KEYED, SAMPLE_SECRET] {
        assert!(
            !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
            "{s} leaked into {what}"
        );
    }
}

#[test]
fn secrets_never_reach_any_format_or_the_database() {
    let redactor = Redactor::with_secrets([SECRET]);
    let meta = RunMeta::start(Mode::Apply);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("history.db");

    let collector = ReportCollector::new(meta.clone(), redactor.clone());
    let sink =
        HistorySink::begin(History::open(&db).expect("open"), &meta, &redactor).expect("begin");
    for e in events() {
        collector.emit(&e);
        sink.emit(&e);
    }
    assert!(sink.take_error().is_none());
    let report = collector.finished().expect("finished");
    for f in Format::ALL {
        let out = render(f, &report, None).expect("render");
        assert_clean(f.as_str(), out.as_bytes());
        if f == Format::Json {
            assert!(out.contains("\"api_key\": \"********\""));
            assert!(out.contains("DB_PASSWORD=********"));
        }
    }
    // The history's own view of the run, rendered.
    let shown = sink.with_history(|h| h.show(sink.run_id())).expect("show");
    for f in Format::ALL {
        assert_clean(
            f.as_str(),
            render(f, &shown, None).expect("render").as_bytes(),
        );
    }
    // Every file of the database, before and after a checkpoint.
    let scan = || {
        for entry in std::fs::read_dir(dir.path()).expect("read dir") {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("read db file");
            assert_clean(&path.display().to_string(), &bytes);
        }
    };
    scan();
    drop(sink);
    scan();
}

#[test]
fn render_redacts_a_report_that_was_never_redacted() {
    // A report built by hand (or deserialised) with its redactor set: render still cleans it.
    let mut report = sample_report_unredacted();
    report.redactor = sample_redactor();
    for f in Format::ALL {
        let out = render(f, &report, None).expect("render");
        assert_clean(f.as_str(), out.as_bytes());
    }
    // And the history redacts what it is given, with its own redactor.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = History::open(&dir.path().join("h.db")).expect("open");
    h.set_redactor(&sample_redactor());
    let mut raw = sample_report_unredacted();
    raw.redactor = Redactor::default();
    h.record_report(&raw).expect("record");
    drop(h);
    for entry in std::fs::read_dir(dir.path()).expect("read dir") {
        let path = entry.expect("entry").path();
        assert_clean("history", &std::fs::read(&path).expect("read"));
    }
}
