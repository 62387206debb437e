//! What happens during a run, as plain data. The executor emits these; the terminal printer,
//! the reports (json, markdown, junit, html) and the run history all consume the same events, so
//! they can never disagree, and tests can assert on them.

use converge_modules::Diff;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// How a task ended on one host (or for one loop item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultStatus {
    Ok,
    Changed,
    Failed,
    Skipped,
    Unreachable,
}

impl ResultStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultStatus::Ok => "ok",
            ResultStatus::Changed => "changed",
            ResultStatus::Failed => "failed",
            ResultStatus::Skipped => "skipping",
            ResultStatus::Unreachable => "unreachable",
        }
    }
}

/// One task's outcome on one host. Secrets are already redacted by the executor (`no_log`,
/// values from the environment): consumers print what they get.
#[derive(Debug, Clone)]
pub struct HostResult {
    pub host: String,
    pub status: ResultStatus,
    /// A failure that `ignore_errors` turned into a non-fatal one.
    pub ignored: bool,
    /// A failure that a block's `rescue` section handled.
    pub rescued: bool,
    pub msg: Option<String>,
    pub diffs: Vec<Diff>,
    /// The label of a loop item (`loop_control.label` or the item).
    pub item: Option<String>,
    /// Per-item results of a loop, in order; empty for tasks without a loop.
    pub items: Vec<HostResult>,
    /// The registered result (rc, stdout, ...), for `-v` output and reports.
    pub data: Value,
    pub duration: Duration,
    /// The result was hidden by `no_log`.
    pub no_log: bool,
    /// Check mode could not predict this task's outcome (e.g. `command`): reported as skipped.
    pub check_mode_unknown: bool,
}

impl HostResult {
    pub fn new(host: &str, status: ResultStatus) -> Self {
        HostResult {
            host: host.to_string(),
            status,
            ignored: false,
            rescued: false,
            msg: None,
            diffs: Vec::new(),
            item: None,
            items: Vec::new(),
            data: Value::Null,
            duration: Duration::ZERO,
            no_log: false,
            check_mode_unknown: false,
        }
    }
}

/// Per-host counters, as in Ansible's `PLAY RECAP`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostStats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

/// The recap of a run: hosts in name order, as Ansible prints them.
pub type Recap = BTreeMap<String, HostStats>;

#[derive(Debug, Clone)]
pub enum Event {
    RunStart {
        playbooks: Vec<String>,
        inventory: Vec<String>,
        check: bool,
        diff: bool,
    },
    PlayStart {
        name: String,
        hosts: Vec<String>,
    },
    /// The next `serial` batch of a play starts (the terminal repeats the play banner, as
    /// Ansible does; reports keep one play).
    BatchStart {
        name: String,
        hosts: Vec<String>,
    },
    /// A play's pattern matched no host.
    NoHostsMatched {
        pattern: String,
    },
    TaskStart {
        name: String,
        /// The role the task comes from, printed as `role : task`.
        role: Option<String>,
        handler: bool,
        /// How many hosts the task runs on.
        hosts: usize,
    },
    HostResult(HostResult),
    /// A task finished on every host (progress bars advance, reports close the task).
    TaskEnd,
    Warning(String),
    /// Extra detail shown with `-v` (which connection is used, the command run, ...).
    Verbose {
        level: u8,
        host: Option<String>,
        message: String,
    },
    PlayEnd,
    RunEnd {
        recap: Recap,
        duration: Duration,
    },
}

/// Anything that consumes events. Implementations must be cheap: they are called from the
/// executor's threads.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: &Event);
}

impl<T: EventSink + ?Sized> EventSink for &T {
    fn emit(&self, event: &Event) {
        (**self).emit(event)
    }
}

/// Sends every event to several sinks (the printer and a report collector, say).
pub struct Fanout(pub Vec<Box<dyn EventSink>>);

impl EventSink for Fanout {
    fn emit(&self, event: &Event) {
        for sink in &self.0 {
            sink.emit(event);
        }
    }
}

/// Keeps every event, for tests and for reports written at the end of the run.
#[derive(Default)]
pub struct Collector(pub std::sync::Mutex<Vec<Event>>);

impl EventSink for Collector {
    fn emit(&self, event: &Event) {
        if let Ok(mut v) = self.0.lock() {
            v.push(event.clone());
        }
    }
}

impl Collector {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// A shared sink (the report collector read after the run, say) is a sink too.
impl<T: EventSink + ?Sized> EventSink for std::sync::Arc<T> {
    fn emit(&self, event: &Event) {
        (**self).emit(event);
    }
}

/// A sink that drops everything (`converge plan` prints only its report).
pub struct Silent;

impl EventSink for Silent {
    fn emit(&self, _: &Event) {}
}
