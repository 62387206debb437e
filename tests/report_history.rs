//! The history survives a writer killed with SIGKILL in the middle of a run: the committed part
//! is intact, the database passes `PRAGMA integrity_check`, and the run shows as `incomplete`.
//! The writer is this test binary re-executed with an environment variable (see `child_writer`).

use converge::history::{History, ListFilter, ResultRecord, RunLock};
use converge::report::model::{Mode, RunMeta, RunStatus};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "CONVERGE_TEST_HISTORY_CHILD_DB";
const COMMITTED: usize = 120;
const UNCOMMITTED: usize = 30;

fn record(h: &mut History, run: &converge::history::RunId, i: usize) {
    let rec = ResultRecord {
        host: format!("host{}", i % 7),
        play: "site".into(),
        task_idx: i as i64,
        task: format!("task {i}"),
        status: "changed".into(),
        changed: true,
        diff: Some(format!(
            "--- before\n+++ after\n@@ -1 +1 @@\n-old {i}\n+new {i}\n"
        )),
        duration_ms: 3,
        ..ResultRecord::default()
    };
    h.record_result(run, &rec).expect("record");
}

/// Not a test on its own: when re-executed by `history_survives_a_killed_writer`, begins a run,
/// commits some results, leaves more in an open transaction, holds the run lock, says READY and
/// waits to be killed.
#[test]
fn child_writer() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let path = std::path::PathBuf::from(path);
    let _lock = RunLock::acquire(&RunLock::path_for(&path), None).expect("lock");
    let mut h = History::open(&path).expect("open");
    let run = h.begin_run(&RunMeta::start(Mode::Apply)).expect("begin");
    for i in 0..COMMITTED {
        record(&mut h, &run, i);
    }
    h.flush().expect("flush");
    for i in COMMITTED..COMMITTED + UNCOMMITTED {
        record(&mut h, &run, i);
    }
    // Tell the parent through a file: the test harness may capture or buffer stdout.
    let ready = path.with_extension("ready");
    std::fs::write(&ready, run.0.as_bytes()).expect("write ready file");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn history_survives_a_killed_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("nested/history.db");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &db)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let ready = db.with_extension("ready");
    let deadline = Instant::now() + Duration::from_secs(120);
    let run_id = loop {
        if let Ok(id) = std::fs::read_to_string(&ready) {
            if !id.is_empty() {
                break id;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("child exited before it was ready: {status}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child never got ready");
        }
        std::thread::sleep(Duration::from_millis(50));
    };

    // While the child runs, its lock keeps a second run out.
    let lock_path = RunLock::path_for(&db);
    assert!(RunLock::try_acquire(&lock_path)
        .expect("try lock")
        .is_none());

    child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix.
    child.wait().expect("reap child");

    // The kernel released the lock with the process.
    assert!(RunLock::try_acquire(&lock_path)
        .expect("try lock")
        .is_some());

    let mut h = History::open(&db).expect("open after kill");
    h.integrity_check().expect("integrity_check");
    let run = h.resolve(&run_id).expect("run recorded");
    assert_eq!(
        h.run_meta(&run).expect("meta").status,
        RunStatus::Incomplete
    );
    let runs = h
        .list(&ListFilter {
            status: Some(RunStatus::Incomplete),
            ..ListFilter::default()
        })
        .expect("list");
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].changed, COMMITTED as i64,
        "committed results kept, open batch lost"
    );
    let report = h.show(&run).expect("show");
    assert_eq!(report.run.status, RunStatus::Incomplete);
    let n: usize = report.plays.iter().map(|p| p.tasks.len()).sum();
    assert_eq!(n, COMMITTED);
    // And the database is still writable.
    let next = h.begin_run(&RunMeta::start(Mode::Check)).expect("begin");
    h.finish_run(&next, RunStatus::Ok).expect("finish");
    h.integrity_check().expect("integrity_check");
}
