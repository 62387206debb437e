//! The data the handlebars templates (markdown, html, junit) render: the report regrouped by
//! host, with counts, labels and diff texts computed once in Rust so the templates stay simple
//! and a `--template` override gets the same, documented context (see `docs/report-schema.md`).
//!
//! The markdown renderer trims this view (diffs, then tasks, then hosts) to fit GitHub's
//! comment size limit, which is why it is a plain, mutable structure.

use super::model::{RunMeta, RunReport, Status, TaskResult, Totals};
use serde::Serialize;

/// The format-specific parts of a [`View`] to compute.
#[derive(Debug, Clone, Copy, Default)]
pub struct Parts {
    /// `DiffView::lines` (html).
    pub diff_lines: bool,
    /// `suites` and `junit_totals` (junit).
    pub junit: bool,
}

impl Parts {
    pub const NONE: Parts = Parts {
        diff_lines: false,
        junit: false,
    };
    pub const HTML: Parts = Parts {
        diff_lines: true,
        junit: false,
    };
    pub const JUNIT: Parts = Parts {
        diff_lines: false,
        junit: true,
    };
}

#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub schema: String,
    /// `converge plan (check mode)` or `converge apply`.
    pub title: String,
    pub mode: String,
    pub check: bool,
    pub run: RunMeta,
    /// One sentence: how many tasks changed on how many hosts, failures, unreachable hosts.
    pub summary_line: String,
    /// Facts about the run (id, time, playbooks, commit, version, duration), in order.
    pub facts: Vec<Fact>,
    pub totals: Totals,
    pub hosts: Vec<HostView>,
    /// Hosts left out of the summary table by trimming.
    pub omitted_hosts: usize,
    pub warnings: Vec<String>,
    /// Set when the output was trimmed to fit a size limit: what was cut.
    pub trim_note: Option<String>,
    /// JUnit: one suite per play (filled for junit only).
    pub suites: Vec<SuiteView>,
    pub junit_totals: JunitTotals,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
    /// Rendered as code in markdown and html.
    pub code: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostView {
    pub name: String,
    pub ok: u32,
    pub changed: u32,
    pub failed: u32,
    pub unreachable: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
    /// Tasks that changed on this host.
    pub changes: usize,
    /// Tasks that failed (not ignored nor rescued) or found the host unreachable.
    pub failures: usize,
    /// Failures that `ignore_errors` or a `rescue` section handled.
    pub handled_failures: usize,
    /// Of those, the ones a block's `rescue` section handled.
    pub rescued_failures: usize,
    /// Tasks check mode could not predict (reported as skipped).
    pub unpredictable: usize,
    /// `3 changes, 1 failure`.
    pub summary: String,
    /// `ok`, `changed` or `failed` (for styling).
    pub status: String,
    /// The changed and failed tasks, in run order.
    pub tasks: Vec<TaskView>,
    pub has_tasks: bool,
    /// Tasks left out by trimming.
    pub omitted_tasks: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    pub play: String,
    pub task: String,
    /// `play / task`.
    pub title: String,
    pub status: String,
    /// `changed`, `failed`, `failed (ignored)`, `rescued`, `unreachable`.
    pub status_label: String,
    pub changed: bool,
    /// Failed or unreachable, and neither ignored nor rescued: what makes the run fail.
    pub failed: bool,
    /// A failure that `ignore_errors` or a block's `rescue` section handled.
    pub handled: bool,
    pub msg: Option<String>,
    /// A code fence longer than any backtick run in `msg`.
    pub msg_fence: String,
    pub duration_ms: u64,
    pub diffs: Vec<DiffView>,
    pub has_diffs: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffView {
    /// The unified diff, or the trim notice when `trimmed`.
    pub text: String,
    /// A code fence longer than any backtick run in `text`.
    pub fence: String,
    pub line_count: usize,
    pub trimmed: bool,
    /// Per-line classification (filled for html only).
    pub lines: Vec<DiffLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffLine {
    /// `add`, `del`, `hunk`, `header` or `ctx`.
    pub kind: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct JunitTotals {
    pub tests: usize,
    pub failures: usize,
    pub skipped: usize,
    pub time: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SuiteView {
    pub name: String,
    pub tests: usize,
    pub failures: usize,
    pub skipped: usize,
    pub time: String,
    pub cases: Vec<CaseView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    /// The host.
    pub classname: String,
    /// `play / task`.
    pub name: String,
    /// Seconds, 3 decimals.
    pub time: String,
    pub status: String,
    pub failure: Option<FailureView>,
    pub skipped: Option<String>,
    /// Diff and message of changed (and ignored-failure) results.
    pub system_out: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailureView {
    pub message: String,
    /// `failed` or `unreachable`.
    pub kind: String,
    pub text: String,
}

/// A fence of backticks longer than the longest run of backticks in `text` (at least 3).
pub fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn classify(line: &str) -> &'static str {
    if line.starts_with("+++") || line.starts_with("---") {
        "header"
    } else if line.starts_with("@@") {
        "hunk"
    } else if line.starts_with('+') {
        "add"
    } else if line.starts_with('-') {
        "del"
    } else {
        "ctx"
    }
}

impl DiffView {
    fn new(text: &str, with_lines: bool) -> Self {
        DiffView {
            text: text.trim_end_matches('\n').to_string(),
            fence: fence_for(text),
            line_count: text.lines().count(),
            trimmed: false,
            lines: if with_lines {
                text.lines()
                    .map(|l| DiffLine {
                        kind: classify(l),
                        text: l.to_string(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Replaces the diff by a notice; returns how many bytes that saved (roughly).
    pub fn trim(&mut self) -> usize {
        if self.trimmed {
            return 0;
        }
        let before = self.text.len() + self.lines.iter().map(|l| l.text.len() + 30).sum::<usize>();
        self.text = format!(
            "(diff trimmed: {}, see the JSON report)",
            plural(self.line_count, "line", "lines")
        );
        self.fence = "```".to_string();
        self.trimmed = true;
        self.lines.clear();
        before.saturating_sub(self.text.len())
    }

    /// Bytes this diff takes in the output, roughly.
    pub fn weight(&self) -> usize {
        self.text.len() + self.lines.iter().map(|l| l.text.len() + 30).sum::<usize>()
    }
}

fn status_label(r: &TaskResult) -> String {
    match r.status {
        Status::Failed if r.ignored => "failed (ignored)".into(),
        Status::Failed if r.rescued => "rescued".into(),
        s => s.as_str().into(),
    }
}

/// A failure that neither `ignore_errors` nor a `rescue` section handled.
fn is_unhandled_failure(r: &TaskResult) -> bool {
    r.status.is_failure() && !r.ignored && !r.rescued
}

fn task_view(play: &str, task: &str, r: &TaskResult, with_lines: bool) -> TaskView {
    let diffs: Vec<DiffView> = r
        .all_diffs()
        .into_iter()
        .filter(|d| !d.unified.is_empty())
        .map(|d| DiffView::new(&d.unified, with_lines))
        .collect();
    let msg = r.effective_msg().map(str::to_string);
    let title = if play.is_empty() {
        task.to_string()
    } else {
        format!("{play} / {task}")
    };
    TaskView {
        play: play.to_string(),
        task: task.to_string(),
        title,
        status: r.status.as_str().to_string(),
        status_label: status_label(r),
        changed: r.changed,
        failed: is_unhandled_failure(r),
        handled: r.status.is_failure() && !is_unhandled_failure(r),
        msg_fence: fence_for(msg.as_deref().unwrap_or("")),
        msg,
        duration_ms: r.duration_ms,
        has_diffs: !diffs.is_empty(),
        diffs,
    }
}

impl HostView {
    /// Recomputes the fields derived from `tasks` (after trimming).
    pub fn refresh(&mut self) {
        self.has_tasks = !self.tasks.is_empty() || self.omitted_tasks > 0;
    }
}

impl View {
    /// Builds the view. `parts` says which format-specific parts to fill (they are large).
    pub fn build(report: &RunReport, parts: Parts) -> View {
        let with_lines = parts.diff_lines;
        let check = report.run.mode == super::model::Mode::Check;
        let t = &report.totals;
        let title = if check {
            "converge plan (check mode)".to_string()
        } else {
            "converge apply".to_string()
        };
        let verb = if check { "would change" } else { "changed" };
        // Rescued failures are named only when there are some, as `rescued`, never as failures.
        let rescued = if t.rescued > 0 {
            format!(", {} rescued", t.rescued)
        } else {
            String::new()
        };
        let summary_line = format!(
            "{} {verb} on {} of {}; {} failed{rescued}, {} unreachable.",
            plural(t.changed as usize, "task", "tasks"),
            t.hosts_changed,
            plural(t.hosts as usize, "host", "hosts"),
            t.failed,
            t.unreachable,
        );

        let mut facts = vec![Fact {
            label: "run".into(),
            value: report.run.id.clone(),
            code: true,
        }];
        facts.push(Fact {
            label: "status".into(),
            value: report.run.status.as_str().into(),
            code: false,
        });
        facts.push(Fact {
            label: "started".into(),
            value: report.run.started_at.clone(),
            code: false,
        });
        if let Some(ms) = report.run.duration_ms {
            facts.push(Fact {
                label: "duration".into(),
                value: format!("{} s", seconds(ms)),
                code: false,
            });
        }
        if !report.run.playbooks.is_empty() {
            facts.push(Fact {
                label: "playbooks".into(),
                value: report.run.playbooks.join(", "),
                code: true,
            });
        }
        if !report.run.inventory.is_empty() {
            facts.push(Fact {
                label: "inventory".into(),
                value: report.run.inventory.join(", "),
                code: true,
            });
        }
        if let Some(c) = &report.run.git_commit {
            facts.push(Fact {
                label: "commit".into(),
                value: c.chars().take(12).collect(),
                code: true,
            });
        }
        facts.push(Fact {
            label: "converge".into(),
            value: report.run.converge_version.clone(),
            code: false,
        });

        let host_names = report.hosts();
        let mut hosts: Vec<HostView> = host_names
            .iter()
            .map(|h| {
                let s = report.recap.get(h).copied().unwrap_or_default();
                HostView {
                    name: h.clone(),
                    ok: s.ok,
                    changed: s.changed,
                    failed: s.failed,
                    unreachable: s.unreachable,
                    skipped: s.skipped,
                    rescued: s.rescued,
                    ignored: s.ignored,
                    changes: 0,
                    failures: 0,
                    handled_failures: 0,
                    rescued_failures: 0,
                    unpredictable: 0,
                    summary: String::new(),
                    status: String::new(),
                    tasks: Vec::new(),
                    has_tasks: false,
                    omitted_tasks: 0,
                }
            })
            .collect();
        let index = |name: &str| host_names.iter().position(|h| h == name);

        let mut suites = Vec::new();
        let mut jt = JunitTotals::default();
        let mut total_ms = 0u64;
        for play in &report.plays {
            let mut suite = SuiteView {
                name: if play.name.is_empty() {
                    "play".into()
                } else {
                    play.name.clone()
                },
                tests: 0,
                failures: 0,
                skipped: 0,
                time: String::new(),
                cases: Vec::new(),
            };
            let mut suite_ms = 0u64;
            for task in &play.tasks {
                let tname = task.display_name();
                for r in &task.results {
                    let Some(hi) = index(&r.host) else { continue };
                    let host = &mut hosts[hi];
                    let tv = task_view(&play.name, &tname, r, with_lines);
                    if r.changed {
                        host.changes += 1;
                    }
                    if is_unhandled_failure(r) {
                        host.failures += 1;
                    } else if r.status.is_failure() {
                        host.handled_failures += 1;
                        host.rescued_failures += usize::from(r.rescued);
                    }
                    if r.check_mode_unknown {
                        host.unpredictable += 1;
                    }
                    if parts.junit {
                        suite.cases.push(case_view(&r.host, &tv, r));
                    }
                    suite_ms += r.duration_ms;
                    if r.changed || r.status.is_failure() {
                        host.tasks.push(tv);
                    }
                }
            }
            suite.tests = suite.cases.len();
            suite.failures = suite.cases.iter().filter(|c| c.failure.is_some()).count();
            suite.skipped = suite.cases.iter().filter(|c| c.skipped.is_some()).count();
            suite.time = seconds(suite_ms);
            jt.tests += suite.tests;
            jt.failures += suite.failures;
            jt.skipped += suite.skipped;
            total_ms += suite_ms;
            suites.push(suite);
        }
        jt.time = seconds(report.run.duration_ms.unwrap_or(total_ms));

        for h in &mut hosts {
            let mut parts = vec![plural(h.changes, "change", "changes")];
            if h.failures > 0 {
                parts.push(plural(h.failures, "failure", "failures"));
            }
            let ignored = h.handled_failures - h.rescued_failures;
            if ignored > 0 {
                parts.push(plural(ignored, "ignored failure", "ignored failures"));
            }
            if h.rescued_failures > 0 {
                parts.push(format!("{} rescued", h.rescued_failures));
            }
            if h.unpredictable > 0 {
                parts.push(format!("{} not predictable in check mode", h.unpredictable));
            }
            h.summary = parts.join(", ");
            h.status = if h.failed > 0 || h.unreachable > 0 || h.failures > 0 {
                "failed"
            } else if h.changed > 0 || h.changes > 0 {
                "changed"
            } else {
                "ok"
            }
            .into();
            h.refresh();
        }

        View {
            schema: report.schema.clone(),
            title,
            mode: report.run.mode.as_str().into(),
            check,
            run: report.run.clone(),
            summary_line,
            facts,
            totals: report.totals,
            hosts,
            omitted_hosts: 0,
            warnings: report.warnings.clone(),
            trim_note: None,
            suites,
            junit_totals: jt,
        }
    }
}

fn case_view(host: &str, tv: &TaskView, r: &TaskResult) -> CaseView {
    let diff_text = tv
        .diffs
        .iter()
        .map(|d| d.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut body = String::new();
    if let Some(m) = &tv.msg {
        body.push_str(m);
    }
    if !diff_text.is_empty() {
        if !body.is_empty() {
            body.push_str("\n\n");
        }
        body.push_str(&diff_text);
    }
    let failure = is_unhandled_failure(r).then(|| FailureView {
        message: tv
            .msg
            .as_deref()
            .and_then(|m| m.lines().next())
            .unwrap_or(r.status.as_str())
            .to_string(),
        kind: r.status.as_str().to_string(),
        text: body.clone(),
    });
    let skipped = (r.status == Status::Skipped).then(|| {
        if r.check_mode_unknown {
            "check mode cannot predict this task".to_string()
        } else {
            tv.msg.clone().unwrap_or_else(|| "skipped".into())
        }
    });
    let system_out = (failure.is_none() && skipped.is_none() && !body.is_empty())
        .then(|| format!("{}\n{}", tv.status_label, body));
    CaseView {
        classname: host.to_string(),
        name: tv.title.clone(),
        time: seconds(r.duration_ms),
        status: tv.status_label.clone(),
        failure,
        skipped,
        system_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_backtick_runs() {
        assert_eq!(fence_for("plain"), "```");
        assert_eq!(fence_for("a ``` b"), "````");
        assert_eq!(fence_for("`````"), "``````");
    }
}
