//! The run history: every run, check or apply, recorded in an embedded SQLite database, so
//! `converge history` can list and re-render past runs and `converge drift` can say which hosts
//! have drifted from what the last successful apply left them in, and since when.
//!
//! Writes are crash-safe: WAL mode, `synchronous=NORMAL`, results batched in transactions, and
//! the run row committed before any result. A run whose process was killed stays `running` in
//! the file; the next [`History::open`] on the same host sees the recorded pid is gone and marks
//! it `incomplete`. Everything written goes through the history's [`Redactor`].

pub mod drift;
pub mod lock;
pub mod process;
pub mod schema;
pub mod sink;

pub use drift::{drift_text, DriftTask, HostDrift};
pub use lock::{LockBusy, RunLock};
pub use sink::HistorySink;

#[cfg(test)]
mod tests;

use crate::report::model::{
    DiffReport, PlayReport, RunMeta, RunReport, RunStatus, Status, TaskReport, TaskResult,
};
use crate::report::{Mode, Redactor};
use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variable that overrides the history path.
pub const ENV_VAR: &str = "CONVERGE_HISTORY";

/// Results are committed at least every this many rows (and at the end of each task).
const BATCH: usize = 500;

/// The id of a recorded run (the report's run id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RunId(pub String);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `$XDG_STATE_HOME/converge/history.db`, else `~/.local/state/converge/history.db`.
pub fn default_path() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let base = match xdg {
        Some(p) => p,
        None => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?)
            .join(".local")
            .join("state"),
    };
    Some(base.join("converge").join("history.db"))
}

/// The history path: `--history PATH`, else `$CONVERGE_HISTORY`, else [`default_path`].
pub fn resolve_path(cli: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = cli {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(ENV_VAR).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    default_path().context(
        "cannot locate the run history: neither XDG_STATE_HOME nor HOME is set (use --history PATH)",
    )
}

/// One result to record.
#[derive(Debug, Clone, Default)]
pub struct ResultRecord {
    pub host: String,
    /// Position of the play in the run and of the task in the play (to regroup results).
    pub play_idx: i64,
    pub play: String,
    pub task_idx: i64,
    /// `role : task`.
    pub task: String,
    pub status: String,
    pub changed: bool,
    pub ignored: bool,
    pub rescued: bool,
    /// Unified diff(s), concatenated.
    pub diff: Option<String>,
    pub msg: Option<String>,
    pub duration_ms: i64,
}

impl ResultRecord {
    pub fn from_result(
        play_idx: usize,
        play: &str,
        task_idx: usize,
        task: &str,
        r: &TaskResult,
    ) -> Self {
        let diff: String = r
            .all_diffs()
            .iter()
            .map(|d| d.unified.as_str())
            .collect::<Vec<_>>()
            .concat();
        ResultRecord {
            host: r.host.clone(),
            play_idx: play_idx as i64,
            play: play.to_string(),
            task_idx: task_idx as i64,
            task: task.to_string(),
            status: r.status.as_str().to_string(),
            changed: r.changed,
            ignored: r.ignored,
            rescued: r.rescued,
            diff: (!diff.is_empty()).then_some(diff),
            msg: r.effective_msg().map(str::to_string),
            duration_ms: i64::try_from(r.duration_ms).unwrap_or(i64::MAX),
        }
    }
}

/// A run as `converge history` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub playbooks: Vec<String>,
    pub inventory: Vec<String>,
    pub git_commit: Option<String>,
    pub mode: String,
    pub status: String,
    /// Task results that changed / failed (not ignored nor rescued).
    pub changed: i64,
    pub failed: i64,
    pub hosts: i64,
}

/// Which runs [`History::list`] returns (all conditions must hold).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Runs with a result for this host.
    pub host: Option<String>,
    /// Runs whose playbook path contains this text.
    pub playbook: Option<String>,
    pub status: Option<RunStatus>,
    pub mode: Option<Mode>,
    /// At most this many runs, newest first (0: no limit).
    pub limit: usize,
}

/// An open history database.
pub struct History {
    conn: Connection,
    path: PathBuf,
    redactor: Redactor,
    in_tx: bool,
    pending: usize,
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History").field("path", &self.path).finish()
    }
}

fn join_lines(v: &[String]) -> String {
    v.join("\n")
}

fn split_lines(s: &str) -> Vec<String> {
    s.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

impl History {
    /// Opens (creating if needed) the history at `path`, migrates its schema and marks the runs
    /// whose writer died as `incomplete`.
    pub fn open(path: &Path) -> Result<History> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)
                .with_context(|| format!("creating the history directory {}", dir.display()))?;
        }
        precreate_private_file(path)
            .with_context(|| format!("creating the history database {}", path.display()))?;
        let mut conn = Connection::open(path)
            .with_context(|| format!("opening the history database {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .context("setting the history busy timeout")?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .with_context(|| format!("enabling WAL on {}", path.display()))?;
        if !mode.eq_ignore_ascii_case("wal") {
            bail!(
                "the history database {} cannot use WAL mode (got {mode}); is it on a network filesystem?",
                path.display()
            );
        }
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
            .context("configuring the history database")?;
        schema::migrate(&mut conn)
            .with_context(|| format!("preparing the history database {}", path.display()))?;
        let mut h = History {
            conn,
            path: path.to_path_buf(),
            redactor: Redactor::default(),
            in_tx: false,
            pending: 0,
        };
        h.mark_abandoned_runs()?;
        Ok(h)
    }

    /// Secrets to keep out of the database (added to those already known).
    pub fn set_redactor(&mut self, redactor: &Redactor) {
        self.redactor.merge(redactor);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw connection, for diagnostics and tests (`PRAGMA integrity_check`).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Runs left `running` by a process of this host that no longer exists → `incomplete`.
    fn mark_abandoned_runs(&mut self) -> Result<()> {
        let me = process::hostname();
        let candidates: Vec<(String, i64, Option<i64>)> = {
            let mut st = self
                .conn
                .prepare("SELECT id, pid, pid_start FROM runs WHERE status = 'running' AND hostname = ?1")
                .context("looking for abandoned runs")?;
            let rows = st
                .query_map([&me], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .context("looking for abandoned runs")?;
            rows.collect::<rusqlite::Result<_>>()
                .context("reading abandoned runs")?
        };
        for (id, pid, start) in candidates {
            if !process::process_alive(pid, start) {
                self.close_run(&RunId(id), RunStatus::Incomplete, None)?;
            }
        }
        Ok(())
    }

    /// Records the start of a run (status `running`), committed at once.
    pub fn begin_run(&mut self, meta: &RunMeta) -> Result<RunId> {
        self.flush()?;
        let r = &self.redactor;
        let pid = process::current_pid();
        self.conn
            .execute(
                "INSERT INTO runs (id, started_at, playbook, inventory, git_commit, mode, status,
                                   converge_version, pid, pid_start, hostname)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running', ?7, ?8, ?9, ?10)",
                params![
                    meta.id,
                    meta.started_at,
                    r.redact(&join_lines(&meta.playbooks)),
                    r.redact(&join_lines(&meta.inventory)),
                    meta.git_commit,
                    meta.mode.as_str(),
                    meta.converge_version,
                    pid,
                    process::process_start_time(pid),
                    process::hostname(),
                ],
            )
            .with_context(|| format!("recording the start of run {}", meta.id))?;
        Ok(RunId(meta.id.clone()))
    }

    /// Updates what the run turned out to be (playbooks, inventory, mode) once it has started.
    pub fn update_run(&mut self, run: &RunId, meta: &RunMeta) -> Result<()> {
        self.flush()?;
        let r = &self.redactor;
        self.conn
            .execute(
                "UPDATE runs SET playbook = ?2, inventory = ?3, git_commit = ?4, mode = ?5 WHERE id = ?1",
                params![
                    run.0,
                    r.redact(&join_lines(&meta.playbooks)),
                    r.redact(&join_lines(&meta.inventory)),
                    meta.git_commit,
                    meta.mode.as_str(),
                ],
            )
            .with_context(|| format!("updating run {run}"))?;
        Ok(())
    }

    /// Records one result. Results are written in batches: call [`History::flush`] (the sink
    /// does at the end of every task) or [`History::finish_run`] to commit them.
    pub fn record_result(&mut self, run: &RunId, rec: &ResultRecord) -> Result<()> {
        if !self.in_tx {
            self.conn
                .execute_batch("BEGIN")
                .context("starting a history transaction")?;
            self.in_tx = true;
        }
        {
            let r = &self.redactor;
            let mut st = self
                .conn
                .prepare_cached(
                    "INSERT INTO results (run_id, seq, host, play_idx, play, task_idx, task, status,
                                          changed, ignored, rescued, diff_redacted, msg, duration_ms)
                     VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM results WHERE run_id = ?1),
                             ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .context("preparing to record a result")?;
            st.execute(params![
                run.0,
                r.redact(&rec.host),
                rec.play_idx,
                r.redact(&rec.play),
                rec.task_idx,
                r.redact(&rec.task),
                rec.status,
                rec.changed,
                rec.ignored,
                rec.rescued,
                rec.diff.as_deref().map(|d| r.redact(d)),
                rec.msg.as_deref().map(|m| r.redact(m)),
                rec.duration_ms,
            ])
            .with_context(|| format!("recording a result of run {run}"))?;
        }
        self.pending += 1;
        if self.pending >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Commits the results recorded so far.
    pub fn flush(&mut self) -> Result<()> {
        if self.in_tx {
            self.conn
                .execute_batch("COMMIT")
                .context("committing results to the history")?;
            self.in_tx = false;
            self.pending = 0;
        }
        Ok(())
    }

    /// Records the end of a run: its status, end time and counters.
    pub fn finish_run(&mut self, run: &RunId, status: RunStatus) -> Result<()> {
        self.flush()?;
        let finished_at = crate::report::clock::now_rfc3339();
        self.close_run(run, status, Some(&finished_at))
    }

    fn close_run(
        &mut self,
        run: &RunId,
        status: RunStatus,
        finished_at: Option<&str>,
    ) -> Result<()> {
        let n = self
            .conn
            .execute(
                "UPDATE runs SET
                    status = ?2,
                    finished_at = ?3,
                    duration_ms = CASE WHEN ?3 IS NULL THEN NULL ELSE
                        CAST(ROUND((julianday(?3) - julianday(started_at)) * 86400000) AS INTEGER) END,
                    changed = (SELECT COUNT(*) FROM results WHERE run_id = ?1 AND changed = 1),
                    failed = (SELECT COUNT(*) FROM results WHERE run_id = ?1
                              AND status IN ('failed', 'unreachable') AND ignored = 0 AND rescued = 0)
                 WHERE id = ?1",
                params![run.0, status.as_str(), finished_at],
            )
            .with_context(|| format!("recording the end of run {run}"))?;
        if n == 0 {
            bail!("no run {run} in the history");
        }
        Ok(())
    }

    /// Sets the precise duration of a finished run (the executor knows it better than the
    /// second-precision timestamps).
    pub fn set_duration(&mut self, run: &RunId, duration_ms: u64) -> Result<()> {
        self.flush()?;
        self.conn
            .execute(
                "UPDATE runs SET duration_ms = ?2 WHERE id = ?1",
                params![run.0, i64::try_from(duration_ms).unwrap_or(i64::MAX)],
            )
            .with_context(|| format!("recording the duration of run {run}"))?;
        Ok(())
    }

    /// Records a whole finished report at once (imports, tests). The run keeps the report's
    /// status unless it is still `running`, which is recorded as `incomplete`.
    pub fn record_report(&mut self, report: &RunReport) -> Result<RunId> {
        let run = self.begin_run(&report.run)?;
        for (pi, play) in report.plays.iter().enumerate() {
            for (ti, task) in play.tasks.iter().enumerate() {
                let name = task.display_name();
                for r in &task.results {
                    let rec = ResultRecord::from_result(pi, &play.name, ti, &name, r);
                    self.record_result(&run, &rec)?;
                }
            }
        }
        let status = match report.run.status {
            RunStatus::Running => RunStatus::Incomplete,
            s => s,
        };
        self.finish_run(&run, status)?;
        if let Some(ms) = report.run.duration_ms {
            self.set_duration(&run, ms)?;
        }
        Ok(run)
    }

    /// Past runs, newest first.
    pub fn list(&mut self, filter: &ListFilter) -> Result<Vec<RunSummary>> {
        self.flush()?;
        let mut sql = String::from(
            "SELECT id, started_at, finished_at, duration_ms, playbook, inventory, git_commit, mode,
                    status, changed, failed,
                    (SELECT COUNT(DISTINCT host) FROM results WHERE run_id = runs.id)
             FROM runs WHERE 1 = 1",
        );
        let mut args: Vec<String> = Vec::new();
        if let Some(h) = &filter.host {
            args.push(h.clone());
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM results WHERE results.run_id = runs.id AND results.host = ?{})",
                args.len()
            ));
        }
        if let Some(p) = &filter.playbook {
            args.push(p.clone());
            sql.push_str(&format!(" AND instr(playbook, ?{}) > 0", args.len()));
        }
        if let Some(s) = filter.status {
            args.push(s.as_str().to_string());
            sql.push_str(&format!(" AND status = ?{}", args.len()));
        }
        if let Some(m) = filter.mode {
            args.push(m.as_str().to_string());
            sql.push_str(&format!(" AND mode = ?{}", args.len()));
        }
        sql.push_str(" ORDER BY seq DESC");
        if filter.limit > 0 {
            sql.push_str(&format!(" LIMIT {}", filter.limit));
        }
        let mut st = self.conn.prepare(&sql).context("listing runs")?;
        let rows = st
            .query_map(rusqlite::params_from_iter(args.iter()), summary_from_row)
            .context("listing runs")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .context("reading the list of runs")
    }

    /// Resolves a run reference: a full id, a unique id prefix, or `last`/`latest`.
    pub fn resolve(&mut self, reference: &str) -> Result<RunId> {
        self.flush()?;
        if reference == "last" || reference == "latest" {
            return self
                .conn
                .query_row("SELECT id FROM runs ORDER BY seq DESC LIMIT 1", [], |r| {
                    r.get::<_, String>(0)
                })
                .optional()
                .context("finding the latest run")?
                .map(RunId)
                .context("the history has no runs yet");
        }
        if reference.is_empty() || !reference.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            bail!("{reference:?} is not a run id");
        }
        let mut st = self
            .conn
            .prepare("SELECT id FROM runs WHERE id = ?1 OR substr(id, 1, length(?1)) = ?1 ORDER BY seq DESC LIMIT 3")
            .context("finding the run")?;
        let ids: Vec<String> = st
            .query_map([reference], |r| r.get(0))
            .context("finding the run")?
            .collect::<rusqlite::Result<_>>()
            .context("finding the run")?;
        if let Some(exact) = ids.iter().find(|i| i.as_str() == reference) {
            return Ok(RunId(exact.clone()));
        }
        match ids.as_slice() {
            [] => bail!("no run {reference} in the history"),
            [one] => Ok(RunId(one.clone())),
            _ => bail!("{reference} matches several runs; give more of the id"),
        }
    }

    /// The metadata of a recorded run.
    pub fn run_meta(&mut self, run: &RunId) -> Result<RunMeta> {
        self.flush()?;
        self.conn
            .query_row(
                "SELECT id, started_at, finished_at, duration_ms, playbook, inventory, git_commit,
                        mode, status, converge_version
                 FROM runs WHERE id = ?1",
                [&run.0],
                |r| {
                    Ok(RunMeta {
                        id: r.get(0)?,
                        started_at: r.get(1)?,
                        finished_at: r.get(2)?,
                        duration_ms: r.get::<_, Option<i64>>(3)?.map(|d| d.max(0) as u64),
                        playbooks: split_lines(&r.get::<_, String>(4)?),
                        inventory: split_lines(&r.get::<_, String>(5)?),
                        git_commit: r.get(6)?,
                        mode: Mode::parse(&r.get::<_, String>(7)?).unwrap_or_default(),
                        status: RunStatus::parse(&r.get::<_, String>(8)?).unwrap_or_default(),
                        diff: true,
                        converge_version: r.get(9)?,
                    })
                },
            )
            .optional()
            .with_context(|| format!("reading run {run}"))?
            .with_context(|| format!("no run {run} in the history"))
    }

    /// A recorded run as a report, for the report renderers. The history keeps diffs and
    /// messages but not the modules' data, nor the before/after texts.
    pub fn show(&mut self, run: &RunId) -> Result<RunReport> {
        let meta = self.run_meta(run)?;
        let mut report = RunReport::new(meta);
        let mut st = self
            .conn
            .prepare(
                "SELECT host, play_idx, play, task_idx, task, status, changed, ignored, rescued,
                        diff_redacted, msg, duration_ms
                 FROM results WHERE run_id = ?1 ORDER BY seq",
            )
            .context("reading the results of the run")?;
        let rows = st
            .query_map([&run.0], |r| {
                Ok((
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    result_from_row(r)?,
                ))
            })
            .context("reading the results of the run")?;
        let mut last_play: Option<i64> = None;
        let mut last_task: Option<(i64, i64)> = None;
        for row in rows {
            let (play_idx, play, task_idx, task, result) =
                row.context("reading a result of the run")?;
            if last_play != Some(play_idx) {
                report.plays.push(PlayReport {
                    name: play,
                    hosts: Vec::new(),
                    tasks: Vec::new(),
                });
                last_play = Some(play_idx);
                last_task = None;
            }
            let Some(p) = report.plays.last_mut() else {
                continue;
            };
            if !p.hosts.contains(&result.host) {
                p.hosts.push(result.host.clone());
            }
            if last_task != Some((play_idx, task_idx)) {
                let (role, name) = match task.split_once(" : ") {
                    Some((role, name)) => (Some(role.to_string()), name.to_string()),
                    None => (None, task),
                };
                p.tasks.push(TaskReport {
                    name,
                    role,
                    handler: false,
                    results: Vec::new(),
                });
                last_task = Some((play_idx, task_idx));
            }
            if let Some(t) = p.tasks.last_mut() {
                t.results.push(result);
            }
        }
        report.redactor = self.redactor.clone();
        report.finalize_counts();
        Ok(report)
    }

    /// Deletes runs older than the newest `keep` ones (with their results). Returns how many.
    pub fn prune(&mut self, keep: usize) -> Result<usize> {
        self.flush()?;
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let tx = self
            .conn
            .transaction()
            .context("starting to prune the history")?;
        tx.execute(
            "DELETE FROM results WHERE run_id IN
                (SELECT id FROM runs ORDER BY seq DESC LIMIT -1 OFFSET ?1)",
            [keep],
        )
        .context("pruning results")?;
        let n = tx
            .execute(
                "DELETE FROM runs WHERE id IN (SELECT id FROM runs ORDER BY seq DESC LIMIT -1 OFFSET ?1)",
                [keep],
            )
            .context("pruning runs")?;
        tx.commit().context("committing the pruned history")?;
        Ok(n)
    }

    /// `PRAGMA integrity_check`: `Ok` when the database is sound.
    pub fn integrity_check(&mut self) -> Result<()> {
        self.flush()?;
        let msg: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .context("checking the history database")?;
        if msg != "ok" {
            bail!(
                "the history database {} is damaged: {msg}",
                self.path.display()
            );
        }
        Ok(())
    }
}

impl Drop for History {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

fn summary_from_row(r: &Row<'_>) -> rusqlite::Result<RunSummary> {
    Ok(RunSummary {
        id: r.get(0)?,
        started_at: r.get(1)?,
        finished_at: r.get(2)?,
        duration_ms: r.get(3)?,
        playbooks: split_lines(&r.get::<_, String>(4)?),
        inventory: split_lines(&r.get::<_, String>(5)?),
        git_commit: r.get(6)?,
        mode: r.get(7)?,
        status: r.get(8)?,
        changed: r.get(9)?,
        failed: r.get(10)?,
        hosts: r.get(11)?,
    })
}

/// Columns: host(0) … status(5), changed(6), ignored(7), rescued(8), diff(9), msg(10),
/// duration_ms(11).
fn result_from_row(r: &Row<'_>) -> rusqlite::Result<TaskResult> {
    let status = Status::parse(&r.get::<_, String>(5)?).unwrap_or(Status::Ok);
    let mut t = TaskResult::new(&r.get::<_, String>(0)?, status);
    t.changed = r.get(6)?;
    t.ignored = r.get(7)?;
    t.rescued = r.get(8)?;
    if let Some(d) = r.get::<_, Option<String>>(9)?.filter(|d| !d.is_empty()) {
        t.diffs.push(DiffReport {
            unified: d,
            ..DiffReport::default()
        });
    }
    t.msg = r.get(10)?;
    t.duration_ms = r.get::<_, i64>(11)?.max(0) as u64;
    Ok(t)
}

/// A plain table of runs for `converge history`.
pub fn list_text(runs: &[RunSummary]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<36}  {:<20}  {:<5}  {:<10}  {:>7}  {:>6}  {:>5}  playbook",
        "run", "started", "mode", "status", "changed", "failed", "hosts"
    );
    for r in runs {
        let _ = writeln!(
            out,
            "{:<36}  {:<20}  {:<5}  {:<10}  {:>7}  {:>6}  {:>5}  {}",
            r.id,
            r.started_at,
            r.mode,
            r.status,
            r.changed,
            r.failed,
            r.hosts,
            r.playbooks.join(", ")
        );
    }
    out
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// The database holds diffs of configuration files: create it readable by its owner only
/// (SQLite gives the `-wal` and `-shm` files the same permissions).
fn precreate_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        return Ok(());
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map(drop)
}
