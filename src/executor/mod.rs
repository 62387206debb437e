//! The executor: runs validated plays on hosts. Hosts run in parallel (bounded by `--forks`);
//! with the `linear` strategy each task finishes on every host before the next starts, as in
//! Ansible. A failing or unreachable host drops out of the play; the others carry on.

pub mod ansible_task;
pub mod connect;
pub mod controller;
pub mod engine_modules;
pub mod environment;
pub mod facts;
pub mod host;
pub mod includes;
pub mod loop_runner;
pub mod loops;
pub mod magic;
pub mod parallel;
pub mod play;
pub mod prefetch;
pub mod results;
pub mod runtime_inventory;
pub mod secrets;
pub mod tags;
pub mod task_runner;
pub mod vars;

use crate::connection::ConnectOptions;
use crate::inventory::Inventory;
use crate::output::redacting::RedactingSink;
use crate::output::{self, Event, EventSink, Recap};
use crate::playbook::{BecomeOpts, Playbook};
use crate::report::Secrets;
use crate::template::Templater;
use host::HostState;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tags::TagFilter;

/// How to run: everything the command line decides.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub check: bool,
    pub diff: bool,
    pub forks: usize,
    pub limit: Option<String>,
    pub tags: TagFilter,
    pub extra_vars: Map<String, Value>,
    pub verbosity: u8,
    /// Command-line defaults for connection settings; host variables win over them.
    pub defaults: ConnectionDefaults,
    pub connect: ConnectOptions,
    /// The run's secret values: events are redacted with them, and the executor adds the ones it
    /// meets while running.
    pub secrets: Secrets,
}

/// `-c`, `-u`, `--private-key`, `-b`, `--become-user`.
#[derive(Debug, Clone, Default)]
pub struct ConnectionDefaults {
    pub connection: Option<String>,
    pub remote_user: Option<String>,
    pub private_key: Option<String>,
    pub r#become: bool,
    pub become_user: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            check: false,
            diff: false,
            forks: 100,
            limit: None,
            tags: TagFilter::default(),
            extra_vars: Map::new(),
            verbosity: 0,
            defaults: ConnectionDefaults::default(),
            connect: ConnectOptions::default(),
            secrets: Secrets::default(),
        }
    }
}

/// The end of a run, for the exit code.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub recap: Recap,
    pub any_failed: bool,
    pub any_unreachable: bool,
    /// Setup errors found while running (an `include_tasks` file with a typo...).
    pub errors: Vec<String>,
}

pub struct Executor<'a> {
    pub inventory: &'a Inventory,
    pub templater: Arc<Templater>,
    pub opts: &'a RunOptions,
    /// Every event goes out through here, so secrets are taken out in one place.
    pub sink: RedactingSink<&'a dyn EventSink>,
    hosts: Mutex<HashMap<String, Arc<Mutex<HostState>>>>,
    current_become: Mutex<BecomeOpts>,
    errors: Mutex<Vec<String>>,
    /// Groups and hosts added while the run runs (`group_by`, `add_host`).
    runtime: Mutex<runtime_inventory::RuntimeInventory>,
    /// The run stops before the next play: `any_errors_fatal` fired, `max_fail_percentage` was
    /// exceeded, or every host of a `serial` batch failed (as `ansible-playbook` does).
    stopped: std::sync::atomic::AtomicBool,
}

impl<'a> Executor<'a> {
    pub fn new(
        inventory: &'a Inventory,
        templater: Arc<Templater>,
        opts: &'a RunOptions,
        sink: &'a dyn EventSink,
    ) -> Self {
        Executor {
            inventory,
            templater,
            opts,
            sink: RedactingSink {
                inner: sink,
                secrets: opts.secrets.clone(),
            },
            hosts: Mutex::new(HashMap::new()),
            current_become: Mutex::new(BecomeOpts::default()),
            errors: Mutex::new(Vec::new()),
            runtime: Default::default(),
            stopped: Default::default(),
        }
    }

    /// A secret value met during the run (redacted from every later event and report).
    pub fn add_secret(&self, value: &str) {
        self.opts.secrets.add(value);
    }

    pub(crate) fn play_become(&self) -> BecomeOpts {
        self.current_become
            .lock()
            .map(|b| b.clone())
            .unwrap_or_default()
    }

    pub(crate) fn record_error(&self, e: String) {
        if let Ok(mut v) = self.errors.lock() {
            v.push(e);
        }
    }

    /// The state of a host, created on first use with its inventory variables.
    pub(crate) fn host_state(
        &self,
        name: &str,
        playbook_dir: &std::path::Path,
    ) -> Arc<Mutex<HostState>> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = hosts.get(name) {
            return Arc::clone(h);
        }
        let mut vars = match self.inventory.host_vars(name, Some(playbook_dir)) {
            Ok(v) => v,
            Err(e) => {
                self.record_error(e.to_string());
                Map::new()
            }
        };
        if let Some(added) = self
            .runtime
            .lock()
            .ok()
            .and_then(|rt| rt.host_vars(name).cloned())
        {
            vars.extend(added);
        }
        let h = Arc::new(Mutex::new(HostState::new(name, vars)));
        hosts.insert(name.to_string(), Arc::clone(&h));
        h
    }

    pub fn run(&self, books: &[Playbook]) -> RunSummary {
        let started = Instant::now();
        'books: for book in books {
            for p in &book.plays {
                if self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    break 'books;
                }
                self.run_play(p);
            }
        }
        let mut summary = RunSummary::default();
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        for (name, h) in hosts.iter() {
            let st = h.lock().unwrap_or_else(|p| p.into_inner());
            // A host never reached (a later batch after the run stopped) is not in the recap, as
            // in Ansible.
            if st.stats != output::HostStats::default() {
                summary.any_failed |= st.stats.failed > 0;
                summary.any_unreachable |= st.stats.unreachable > 0;
                summary.recap.insert(name.clone(), st.stats);
            }
            if let Some(c) = &st.connection {
                if let Some(n) = c.round_trips() {
                    self.sink.emit(&Event::Verbose {
                        level: 2,
                        host: Some(name.clone()),
                        message: format!("{n} round trips over {}", c.describe()),
                    });
                }
                c.close();
            }
        }
        summary.errors = self.errors.lock().map(|e| e.clone()).unwrap_or_default();
        self.sink.emit(&Event::RunEnd {
            recap: summary.recap.clone(),
            duration: started.elapsed(),
        });
        summary
    }
}
