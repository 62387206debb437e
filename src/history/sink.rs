//! Records a run into the history as it happens: an [`EventSink`] that begins the run when it is
//! created, writes every host result (committed at the end of each task), and finishes the run
//! at `RunEnd`. If the run never ends (an error unwinds the CLI), dropping the sink marks it
//! `incomplete`; if the process is killed, the next `History::open` does.
//!
//! History errors must not stop a run: the sink keeps the first one for the CLI to report
//! ([`HistorySink::take_error`]).

use super::{History, ResultRecord, RunId};
use crate::output::{Event, EventSink};
use crate::report::model::{RunMeta, RunStatus, TaskResult};
use crate::report::{Mode, Redactor};
use anyhow::Result;
use std::sync::Mutex;

struct State {
    history: History,
    run: RunId,
    meta: RunMeta,
    redactor: Redactor,
    play_idx: usize,
    play: String,
    task_idx: usize,
    task: String,
    started: bool,
    finished: bool,
    error: Option<anyhow::Error>,
}

/// Writes the events of one run into the history.
pub struct HistorySink {
    state: Mutex<State>,
    run: RunId,
}

impl HistorySink {
    /// Records the start of the run described by `meta` (status `running`, committed) and
    /// returns the sink that records the rest. `redactor` keeps secrets out of the database.
    pub fn begin(mut history: History, meta: &RunMeta, redactor: &Redactor) -> Result<HistorySink> {
        history.set_redactor(redactor);
        let run = history.begin_run(meta)?;
        Ok(HistorySink {
            state: Mutex::new(State {
                history,
                run: run.clone(),
                meta: meta.clone(),
                redactor: redactor.clone(),
                play_idx: 0,
                play: String::new(),
                task_idx: 0,
                task: String::new(),
                started: false,
                finished: false,
                error: None,
            }),
            run,
        })
    }

    pub fn run_id(&self) -> &RunId {
        &self.run
    }

    /// Ends the run with this status now (e.g. `Failed` when the CLI stops on an error before
    /// the executor's `RunEnd`). Does nothing if the run has already ended.
    pub fn finish(&self, status: RunStatus) -> Result<()> {
        let mut s = lock(&self.state);
        if s.finished {
            return Ok(());
        }
        s.finished = true;
        let run = s.run.clone();
        s.history.finish_run(&run, status)
    }

    /// The first error the sink met while recording, if any.
    pub fn take_error(&self) -> Option<anyhow::Error> {
        lock(&self.state).error.take()
    }

    /// Runs `f` on the history (to query it during or after the run).
    pub fn with_history<R>(&self, f: impl FnOnce(&mut History) -> R) -> R {
        let mut s = lock(&self.state);
        f(&mut s.history)
    }
}

impl State {
    fn handle(&mut self, event: &Event) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        match event {
            Event::RunStart {
                playbooks,
                inventory,
                check,
                ..
            } => {
                self.meta.playbooks = playbooks.clone();
                self.meta.inventory = inventory.clone();
                self.meta.mode = if *check { Mode::Check } else { Mode::Apply };
                let run = self.run.clone();
                self.history.update_run(&run, &self.meta)?;
            }
            Event::PlayStart { name, .. } => {
                if self.started {
                    self.play_idx += 1;
                }
                self.started = true;
                self.play = name.clone();
                self.task_idx = 0;
                self.task.clear();
            }
            Event::TaskStart { name, role, .. } => {
                if !self.task.is_empty() {
                    self.task_idx += 1;
                }
                self.task = match role {
                    Some(r) if !r.is_empty() => format!("{r} : {name}"),
                    _ => name.clone(),
                };
            }
            Event::HostResult(r) => {
                let result = TaskResult::from_event(r, &self.redactor);
                let rec = ResultRecord::from_result(
                    self.play_idx,
                    &self.play,
                    self.task_idx,
                    &self.task,
                    &result,
                );
                let run = self.run.clone();
                self.history.record_result(&run, &rec)?;
            }
            Event::TaskEnd | Event::PlayEnd | Event::BatchStart { .. } => self.history.flush()?,
            Event::RunEnd { recap, duration } => {
                let failed = recap.values().any(|s| s.failed > 0 || s.unreachable > 0);
                let status = if failed {
                    RunStatus::Failed
                } else {
                    RunStatus::Ok
                };
                self.finished = true;
                let run = self.run.clone();
                self.history.finish_run(&run, status)?;
                if !duration.is_zero() {
                    self.history.set_duration(
                        &run,
                        duration.as_millis().min(u128::from(u64::MAX)) as u64,
                    )?;
                }
            }
            Event::NoHostsMatched { .. } | Event::Warning(_) | Event::Verbose { .. } => {}
        }
        Ok(())
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl EventSink for HistorySink {
    fn emit(&self, event: &Event) {
        let mut s = lock(&self.state);
        if let Err(e) = s.handle(event) {
            if s.error.is_none() {
                s.error = Some(e.context(format!("recording run {} in the history", s.run)));
            }
        }
    }
}

impl Drop for HistorySink {
    fn drop(&mut self) {
        let mut s = lock(&self.state);
        if !s.finished {
            s.finished = true;
            let run = s.run.clone();
            let _ = s.history.finish_run(&run, RunStatus::Incomplete);
        }
    }
}
