//! What the executor keeps per host across a run: its variables, facts, connection, failure
//! state, pending handler notifications and recap counters.

use crate::connection::Connection;
use crate::output::HostStats;
use serde_json::{Map, Value};
use std::sync::Arc;

pub struct HostState {
    pub name: String,
    /// Variables from the inventory (files, group_vars, host_vars), merged.
    pub inventory_vars: Arc<Map<String, Value>>,
    /// Gathered facts (`ansible_facts`, keys without the `ansible_` prefix).
    pub facts: Map<String, Value>,
    /// `set_fact`, `register` and `include_vars` results: they outlive the task.
    pub vars: Map<String, Value>,
    /// Loaded `vars_files` of the current play.
    pub play_vars_files: Map<String, Value>,
    pub connection: Option<Box<dyn Connection>>,
    pub failed: bool,
    pub unreachable: bool,
    /// `meta: end_host` / `end_play`: nothing more runs on this host in this play.
    pub ended: bool,
    pub facts_gathered: bool,
    /// Handler names and `listen` topics notified and not yet run.
    pub notified: Vec<String>,
    pub stats: HostStats,
    /// Paths inspected ahead of the play's tasks in one round trip.
    pub prefetch: super::prefetch::Cache,
    /// The privilege escalation the prefetch ran with: only tasks with the same one use it.
    pub prefetch_become: Option<crate::connection::Become>,
    /// Secret-named variables already rendered and registered for redaction (name + raw
    /// value), so a `lookup('pipe', ...)` behind a password runs once, not once per task.
    pub secrets_learned: std::collections::HashSet<String>,
    /// How many blocks with a `rescue` section the host is inside right now.
    pub rescue_depth: u32,
}

impl HostState {
    pub fn new(name: &str, inventory_vars: Map<String, Value>) -> Self {
        HostState {
            name: name.to_string(),
            inventory_vars: Arc::new(inventory_vars),
            facts: Map::new(),
            vars: Map::new(),
            play_vars_files: Map::new(),
            connection: None,
            failed: false,
            unreachable: false,
            ended: false,
            facts_gathered: false,
            notified: Vec::new(),
            stats: HostStats::default(),
            prefetch: Default::default(),
            prefetch_become: None,
            secrets_learned: Default::default(),
            rescue_depth: 0,
        }
    }

    /// Failed (and no `rescue` section is about to handle it) or unreachable: what Ansible's
    /// fleet rules (`any_errors_fatal`, `max_fail_percentage`) count.
    pub fn out_of_play(&self) -> bool {
        self.unreachable || (self.failed && self.rescue_depth == 0)
    }

    /// Still taking part in the play.
    pub fn active(&self) -> bool {
        !self.failed && !self.unreachable && !self.ended
    }

    pub fn notify(&mut self, name: &str) {
        if !self.notified.iter().any(|n| n == name) {
            self.notified.push(name.to_string());
        }
    }

    /// Everything that is known about this host and visible through `hostvars`.
    pub fn visible_vars(&self) -> Map<String, Value> {
        let mut m = (*self.inventory_vars).clone();
        add_facts(&mut m, &self.facts);
        m.extend(self.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        m.insert(
            "inventory_hostname".into(),
            Value::String(self.name.clone()),
        );
        m
    }
}

/// Facts are visible as `ansible_facts.x` and as `ansible_x`.
pub fn add_facts(m: &mut Map<String, Value>, facts: &Map<String, Value>) {
    if facts.is_empty() {
        return;
    }
    for (k, v) in facts {
        m.insert(format!("ansible_{k}"), v.clone());
    }
    m.insert("ansible_facts".into(), Value::Object(facts.clone()));
}
