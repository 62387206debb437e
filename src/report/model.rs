//! The report of one run as plain, serialisable data: run metadata, plays → tasks → per-host
//! results, and the recap. Every report format and `converge history show` render this one
//! structure, and [`ReportCollector`] builds it from the executor's events, so the formats can
//! never disagree with each other or with the terminal output.

use super::clock;
use super::diff::unified_diff;
use super::redact::Redactor;
use crate::output::{Event, EventSink, HostResult, HostStats, Recap, ResultStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The version of the JSON report schema (see `docs/report-schema.md`).
pub const SCHEMA: &str = "converge.report/v1";

/// What the shown text replaces a `no_log` result with (Ansible's wording).
pub const NO_LOG_MSG: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// Check mode (`converge plan`, `--check`) or a real run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Check,
    #[default]
    Apply,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Check => "check",
            Mode::Apply => "apply",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "check" => Some(Mode::Check),
            "apply" => Some(Mode::Apply),
            _ => None,
        }
    }
}

/// Where a run stands. `Incomplete`: the process ended (killed, crashed) before the run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    #[default]
    Running,
    Ok,
    Failed,
    Incomplete,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Incomplete => "incomplete",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        match s {
            "running" => Some(RunStatus::Running),
            "ok" => Some(RunStatus::Ok),
            "failed" => Some(RunStatus::Failed),
            "incomplete" => Some(RunStatus::Incomplete),
            _ => None,
        }
    }
}

/// How a task ended on one host, as reports spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Changed,
    Failed,
    Skipped,
    Unreachable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Unreachable => "unreachable",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "ok" => Some(Status::Ok),
            "changed" => Some(Status::Changed),
            "failed" => Some(Status::Failed),
            "skipped" | "skipping" => Some(Status::Skipped),
            "unreachable" => Some(Status::Unreachable),
            _ => None,
        }
    }

    pub fn is_failure(self) -> bool {
        matches!(self, Status::Failed | Status::Unreachable)
    }
}

impl From<ResultStatus> for Status {
    fn from(s: ResultStatus) -> Self {
        match s {
            ResultStatus::Ok => Status::Ok,
            ResultStatus::Changed => Status::Changed,
            ResultStatus::Failed => Status::Failed,
            ResultStatus::Skipped => Status::Skipped,
            ResultStatus::Unreachable => Status::Unreachable,
        }
    }
}

/// Who ran what, when, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RunMeta {
    pub id: String,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    pub status: RunStatus,
    pub mode: Mode,
    /// `--diff` was given (diffs are collected in reports regardless).
    #[serde(default)]
    pub diff: bool,
    pub playbooks: Vec<String>,
    pub inventory: Vec<String>,
    pub converge_version: String,
    /// `git rev-parse HEAD` of the repository holding the (first) playbook.
    #[serde(default)]
    pub git_commit: Option<String>,
}

impl RunMeta {
    /// Metadata for a run starting now: fresh id, start time, this converge's version.
    pub fn start(mode: Mode) -> Self {
        RunMeta {
            id: clock::new_run_id(),
            started_at: clock::now_rfc3339(),
            finished_at: None,
            duration_ms: None,
            status: RunStatus::Running,
            mode,
            diff: false,
            playbooks: Vec::new(),
            inventory: Vec::new(),
            converge_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: None,
        }
    }

    /// Metadata for a run of these playbooks starting now, with the git commit of the first
    /// playbook's repository. Create it once and hand clones to the [`ReportCollector`] and the
    /// history, so both carry the same run id.
    pub fn for_run(mode: Mode, playbooks: &[String], inventory: &[String]) -> Self {
        let mut m = RunMeta::start(mode);
        m.playbooks = playbooks.to_vec();
        m.inventory = inventory.to_vec();
        m.git_commit = playbooks
            .first()
            .and_then(|p| git_commit_of_playbook(Path::new(p)));
        m
    }
}

/// One play.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PlayReport {
    pub name: String,
    pub hosts: Vec<String>,
    pub tasks: Vec<TaskReport>,
}

/// One task (or handler) of a play, with one result per host it ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TaskReport {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default)]
    pub handler: bool,
    pub results: Vec<TaskResult>,
}

impl TaskReport {
    /// `role : name`, as the terminal prints it.
    pub fn display_name(&self) -> String {
        match &self.role {
            Some(r) if !r.is_empty() => format!("{r} : {}", self.name),
            _ => self.name.clone(),
        }
    }
}

/// One before/after pair and its unified diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DiffReport {
    pub before_header: String,
    pub after_header: String,
    /// Full texts; absent in reports rebuilt from the history, which keeps only the diff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Unified diff (`---`/`+++` headers, 3 lines of context).
    pub unified: String,
}

/// A task's outcome on one host (or one loop item, inside `items`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    pub host: String,
    pub status: Status,
    pub changed: bool,
    #[serde(default)]
    pub ignored: bool,
    #[serde(default)]
    pub rescued: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<DiffReport>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<TaskResult>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
    pub duration_ms: u64,
    #[serde(default)]
    pub no_log: bool,
    #[serde(default)]
    pub check_mode_unknown: bool,
}

impl TaskResult {
    pub fn new(host: &str, status: Status) -> Self {
        TaskResult {
            host: host.to_string(),
            status,
            changed: status == Status::Changed,
            ignored: false,
            rescued: false,
            msg: None,
            item: None,
            diffs: Vec::new(),
            items: Vec::new(),
            data: Value::Null,
            duration_ms: 0,
            no_log: false,
            check_mode_unknown: false,
        }
    }

    /// Builds a result from an event, dropping what `no_log` hid and redacting the rest.
    pub fn from_event(r: &HostResult, redactor: &Redactor) -> Self {
        let status = Status::from(r.status);
        let items: Vec<TaskResult> = r
            .items
            .iter()
            .map(|i| TaskResult::from_event(i, redactor))
            .collect();
        let mut out = TaskResult {
            host: r.host.clone(),
            status,
            changed: status == Status::Changed || items.iter().any(|i| i.changed),
            ignored: r.ignored,
            rescued: r.rescued,
            msg: r.msg.clone(),
            item: r.item.clone(),
            diffs: r.diffs.iter().map(|d| diff_report(d, redactor)).collect(),
            items,
            data: r.data.clone(),
            duration_ms: r.duration.as_millis() as u64,
            no_log: r.no_log,
            check_mode_unknown: r.check_mode_unknown,
        };
        if out.no_log {
            out.msg = Some(NO_LOG_MSG.to_string());
            out.diffs.clear();
            out.data = Value::Null;
            out.item = None;
        }
        out.redact(redactor);
        out
    }

    /// Every diff of this result and of its loop items, in order.
    pub fn all_diffs(&self) -> Vec<&DiffReport> {
        let mut v: Vec<&DiffReport> = self.diffs.iter().collect();
        for i in &self.items {
            v.extend(i.all_diffs());
        }
        v
    }

    /// The message of this result, or else the first message of a failed/changed loop item.
    pub fn effective_msg(&self) -> Option<&str> {
        if let Some(m) = self.msg.as_deref().filter(|m| !m.is_empty()) {
            return Some(m);
        }
        self.items
            .iter()
            .find(|i| i.status.is_failure())
            .and_then(|i| i.effective_msg())
    }

    /// Applies the redactor to every text of this result.
    pub fn redact(&mut self, redactor: &Redactor) {
        redactor.redact_string(&mut self.host);
        redactor.redact_opt(&mut self.msg);
        redactor.redact_opt(&mut self.item);
        for d in &mut self.diffs {
            redact_diff(d, redactor);
        }
        for i in &mut self.items {
            i.redact(redactor);
        }
        redactor.redact_value(&mut self.data);
    }
}

fn diff_report(d: &converge_modules::Diff, redactor: &Redactor) -> DiffReport {
    // Redact the texts before diffing, so no hunk can show part of a secret's context; the
    // result is redacted again by `redact_diff`.
    let mut redacted = d.clone();
    redactor.redact_diff(&mut redacted);
    let unified = unified_diff(&redacted);
    DiffReport {
        before_header: redacted.before_header,
        after_header: redacted.after_header,
        before: Some(redacted.before),
        after: Some(redacted.after),
        unified,
    }
}

fn redact_diff(d: &mut DiffReport, redactor: &Redactor) {
    redactor.redact_string(&mut d.before_header);
    redactor.redact_string(&mut d.after_header);
    redactor.redact_opt(&mut d.before);
    redactor.redact_opt(&mut d.after);
    redactor.redact_string(&mut d.unified);
}

/// Per-host counters of the recap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HostRecap {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

impl From<HostStats> for HostRecap {
    fn from(s: HostStats) -> Self {
        HostRecap {
            ok: s.ok,
            changed: s.changed,
            unreachable: s.unreachable,
            failed: s.failed,
            skipped: s.skipped,
            rescued: s.rescued,
            ignored: s.ignored,
        }
    }
}

/// Totals over all hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Totals {
    pub hosts: u32,
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
    /// Hosts with at least one change.
    pub hosts_changed: u32,
    /// Hosts with at least one failure or that were unreachable.
    pub hosts_failed: u32,
}

/// The report of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    pub run: RunMeta,
    pub plays: Vec<PlayReport>,
    /// Per-host counters, hosts in name order.
    pub recap: BTreeMap<String, HostRecap>,
    pub totals: Totals,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Applied once more to every rendered text (defence in depth); never serialised.
    #[serde(skip)]
    pub redactor: Redactor,
}

impl RunReport {
    pub fn new(run: RunMeta) -> Self {
        RunReport {
            schema: SCHEMA.to_string(),
            run,
            plays: Vec::new(),
            recap: BTreeMap::new(),
            totals: Totals::default(),
            warnings: Vec::new(),
            redactor: Redactor::default(),
        }
    }

    /// Builds a report from recorded events (e.g. an [`crate::output::Collector`]'s).
    pub fn from_events(meta: RunMeta, redactor: Redactor, events: &[Event]) -> Self {
        let c = ReportCollector::new(meta, redactor);
        for e in events {
            c.emit(e);
        }
        c.report()
    }

    /// Counts the recap from the results (used when the run did not end with a recap, and by
    /// the history).
    pub fn recap_from_results(&self) -> BTreeMap<String, HostRecap> {
        let mut recap: BTreeMap<String, HostRecap> = BTreeMap::new();
        for play in &self.plays {
            for h in &play.hosts {
                recap.entry(h.clone()).or_default();
            }
            for task in &play.tasks {
                for r in &task.results {
                    let e = recap.entry(r.host.clone()).or_default();
                    match r.status {
                        Status::Ok => e.ok += 1,
                        Status::Changed => {
                            e.ok += 1;
                            e.changed += 1
                        }
                        Status::Failed if r.ignored => {
                            e.ok += 1;
                            e.ignored += 1
                        }
                        Status::Failed if r.rescued => e.rescued += 1,
                        Status::Failed => e.failed += 1,
                        Status::Skipped => e.skipped += 1,
                        Status::Unreachable => e.unreachable += 1,
                    }
                }
            }
        }
        recap
    }

    /// Recomputes [`RunReport::totals`] from the recap.
    pub fn compute_totals(&mut self) {
        let mut t = Totals {
            hosts: self.recap.len() as u32,
            ..Totals::default()
        };
        for s in self.recap.values() {
            t.ok += s.ok;
            t.changed += s.changed;
            t.unreachable += s.unreachable;
            t.failed += s.failed;
            t.skipped += s.skipped;
            t.rescued += s.rescued;
            t.ignored += s.ignored;
            t.hosts_changed += u32::from(s.changed > 0);
            t.hosts_failed += u32::from(s.failed > 0 || s.unreachable > 0);
        }
        self.totals = t;
    }

    /// The recap if the run produced one, else counted from the results; then the totals.
    pub fn finalize_counts(&mut self) {
        if self.recap.is_empty() {
            self.recap = self.recap_from_results();
        }
        self.compute_totals();
    }

    /// Hosts in report order: recap order (names), then any host only seen in results.
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self.recap.keys().cloned().collect();
        let mut extra: Vec<String> = Vec::new();
        for play in &self.plays {
            for task in &play.tasks {
                for r in &task.results {
                    if !self.recap.contains_key(&r.host) && !extra.contains(&r.host) {
                        extra.push(r.host.clone());
                    }
                }
            }
        }
        extra.sort();
        hosts.extend(extra);
        hosts
    }

    /// Applies a redactor to every text of the report and keeps it for the renderers.
    pub fn redact(&mut self, redactor: &Redactor) {
        self.redactor.merge(redactor);
        let r = self.redactor.clone();
        for p in &mut self.run.playbooks {
            r.redact_string(p);
        }
        for i in &mut self.run.inventory {
            r.redact_string(i);
        }
        for w in &mut self.warnings {
            r.redact_string(w);
        }
        for play in &mut self.plays {
            r.redact_string(&mut play.name);
            for task in &mut play.tasks {
                r.redact_string(&mut task.name);
                r.redact_opt(&mut task.role);
                for res in &mut task.results {
                    res.redact(&r);
                }
            }
        }
    }

    /// The status a finished run gets from its results.
    pub fn outcome(&self) -> RunStatus {
        if self.totals.failed > 0 || self.totals.unreachable > 0 {
            RunStatus::Failed
        } else {
            RunStatus::Ok
        }
    }
}

/// `git -C dir rev-parse HEAD`, or `None` when `dir` is not in a git repository (or git is
/// missing). Read-only.
pub fn git_commit(dir: &Path) -> Option<String> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (s.len() >= 7 && s.chars().all(|c| c.is_ascii_hexdigit())).then_some(s)
}

/// The git commit of the repository holding a playbook file.
pub fn git_commit_of_playbook(playbook: &Path) -> Option<String> {
    git_commit(playbook.parent().unwrap_or(Path::new(".")))
}

struct CollectorState {
    report: RunReport,
    started: Instant,
    ended: bool,
    /// Host order of the current play, to sort a task's results deterministically.
    play_hosts: Vec<String>,
}

/// An [`EventSink`] that builds the [`RunReport`] as the run goes: [`ReportCollector::report`]
/// gives a snapshot at any time (a run that has not ended is `running`, without recap), and the
/// complete report once `RunEnd` was seen.
///
/// The metadata comes from the [`RunMeta`] it is created with (see [`RunMeta::for_run`]); on
/// `RunStart` it takes the playbooks, inventory and mode from the event.
pub struct ReportCollector {
    state: Mutex<CollectorState>,
    redactor: Redactor,
}

impl ReportCollector {
    pub fn new(meta: RunMeta, redactor: Redactor) -> Self {
        let mut report = RunReport::new(meta);
        report.redactor = redactor.clone();
        ReportCollector {
            state: Mutex::new(CollectorState {
                report,
                started: Instant::now(),
                ended: false,
                play_hosts: Vec::new(),
            }),
            redactor,
        }
    }

    /// The report so far (complete once the run has ended).
    pub fn report(&self) -> RunReport {
        let mut r = match self.state.lock() {
            Ok(s) => s.report.clone(),
            Err(p) => p.into_inner().report.clone(),
        };
        r.finalize_counts();
        r
    }

    /// The report if the run has ended.
    pub fn finished(&self) -> Option<RunReport> {
        let ended = match self.state.lock() {
            Ok(s) => s.ended,
            Err(p) => p.into_inner().ended,
        };
        ended.then(|| self.report())
    }

    fn handle(&self, s: &mut CollectorState, event: &Event) {
        let red = &self.redactor;
        match event {
            Event::RunStart {
                playbooks,
                inventory,
                check,
                diff,
            } => {
                s.started = Instant::now();
                let run = &mut s.report.run;
                run.playbooks = playbooks
                    .iter()
                    .map(|p| red.redact(p).into_owned())
                    .collect();
                run.inventory = inventory
                    .iter()
                    .map(|p| red.redact(p).into_owned())
                    .collect();
                run.mode = if *check { Mode::Check } else { Mode::Apply };
                run.diff = *diff;
            }
            Event::PlayStart { name, hosts } => {
                s.play_hosts = hosts.clone();
                s.report.plays.push(PlayReport {
                    name: red.redact(name).into_owned(),
                    hosts: hosts.iter().map(|h| red.redact(h).into_owned()).collect(),
                    tasks: Vec::new(),
                });
            }
            // Batches of one play stay one play in reports.
            Event::BatchStart { .. } => {}
            Event::NoHostsMatched { pattern } => {
                let w = format!("no hosts matched the pattern {pattern:?}");
                s.report.warnings.push(red.redact(&w).into_owned());
            }
            Event::TaskStart {
                name,
                role,
                handler,
                ..
            } => {
                if s.report.plays.is_empty() {
                    s.report.plays.push(PlayReport::default());
                }
                if let Some(play) = s.report.plays.last_mut() {
                    play.tasks.push(TaskReport {
                        name: red.redact(name).into_owned(),
                        role: role.as_ref().map(|r| red.redact(r).into_owned()),
                        handler: *handler,
                        results: Vec::new(),
                    });
                }
            }
            Event::HostResult(r) => {
                let result = TaskResult::from_event(r, red);
                if s.report.plays.is_empty() {
                    s.report.plays.push(PlayReport::default());
                }
                if let Some(play) = s.report.plays.last_mut() {
                    if play.tasks.is_empty() {
                        play.tasks.push(TaskReport::default());
                    }
                    if let Some(task) = play.tasks.last_mut() {
                        task.results.push(result);
                    }
                }
            }
            Event::TaskEnd => {
                // Results arrive in completion order; report them in the play's host order.
                let order = &s.play_hosts;
                if let Some(task) = s.report.plays.last_mut().and_then(|p| p.tasks.last_mut()) {
                    task.results.sort_by_key(|r| {
                        order
                            .iter()
                            .position(|h| *h == r.host)
                            .unwrap_or(usize::MAX)
                    });
                }
            }
            Event::Warning(w) => s.report.warnings.push(red.redact(w).into_owned()),
            Event::Verbose { .. } | Event::PlayEnd => {}
            Event::RunEnd { recap, duration } => {
                s.ended = true;
                s.report.recap = recap
                    .iter()
                    .map(|(h, st)| (red.redact(h).into_owned(), HostRecap::from(*st)))
                    .collect();
                let elapsed = if duration.is_zero() {
                    s.started.elapsed()
                } else {
                    *duration
                };
                s.report.run.duration_ms = Some(duration_ms(elapsed));
                s.report.run.finished_at = Some(clock::now_rfc3339());
                s.report.compute_totals();
                s.report.run.status = s.report.outcome();
            }
        }
    }
}

fn duration_ms(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

impl EventSink for ReportCollector {
    fn emit(&self, event: &Event) {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        self.handle(&mut guard, event);
    }
}

/// Converts the events' recap type, for callers holding an [`Recap`].
pub fn recap_from_stats(recap: &Recap) -> BTreeMap<String, HostRecap> {
    recap
        .iter()
        .map(|(h, s)| (h.clone(), HostRecap::from(*s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use converge_modules::Diff;
    use serde_json::json;

    fn result(host: &str, status: ResultStatus) -> HostResult {
        HostResult::new(host, status)
    }

    #[test]
    fn collects_plays_tasks_and_results_in_host_order() {
        let c = ReportCollector::new(
            RunMeta::start(Mode::Apply),
            Redactor::with_secrets(["topsecret"]),
        );
        c.emit(&Event::RunStart {
            playbooks: vec!["site.yml".into()],
            inventory: vec!["hosts.ini".into()],
            check: true,
            diff: true,
        });
        c.emit(&Event::PlayStart {
            name: "web".into(),
            hosts: vec!["b".into(), "a".into()],
        });
        c.emit(&Event::TaskStart {
            name: "motd".into(),
            role: Some("base".into()),
            handler: false,
            hosts: 2,
        });
        let mut ra = result("a", ResultStatus::Changed);
        ra.diffs
            .push(Diff::new("/etc/motd", "old\n", "topsecret\n"));
        ra.data = json!({"password": "x", "stdout": "topsecret"});
        ra.duration = Duration::from_millis(1500);
        c.emit(&Event::HostResult(ra));
        let mut rb = result("b", ResultStatus::Ok);
        rb.no_log = true;
        rb.msg = Some("leak".into());
        c.emit(&Event::HostResult(rb));
        c.emit(&Event::TaskEnd);
        assert!(c.finished().is_none());
        let snap = c.report();
        assert_eq!(snap.run.status, RunStatus::Running);
        assert_eq!(snap.recap["a"].changed, 1);
        let mut recap = Recap::new();
        recap.insert(
            "a".into(),
            HostStats {
                ok: 1,
                changed: 1,
                ..Default::default()
            },
        );
        recap.insert(
            "b".into(),
            HostStats {
                ok: 1,
                ..Default::default()
            },
        );
        c.emit(&Event::RunEnd {
            recap,
            duration: Duration::from_secs(2),
        });
        let r = c.finished().expect("run ended");
        assert_eq!(r.run.mode, Mode::Check);
        assert_eq!(r.run.status, RunStatus::Ok);
        assert_eq!(r.run.duration_ms, Some(2000));
        let task = &r.plays[0].tasks[0];
        assert_eq!(task.display_name(), "base : motd");
        assert_eq!(task.results[0].host, "b");
        assert_eq!(task.results[0].msg.as_deref(), Some(NO_LOG_MSG));
        let a = &task.results[1];
        assert!(a.changed);
        assert_eq!(a.duration_ms, 1500);
        assert!(a.diffs[0].unified.contains("+********"));
        assert_eq!(
            a.data,
            json!({"password": "********", "stdout": "********"})
        );
        assert_eq!(r.totals.hosts_changed, 1);
    }
}
