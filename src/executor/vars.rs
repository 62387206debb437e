//! The variables a task sees on a host, merged in Ansible's precedence order (low → high):
//! role defaults < inventory (group vars < host vars) < facts < play vars < play vars_files
//! < role vars < block and task vars < include_vars / set_fact / register < role params
//! < extra vars; then the magic variables (`inventory_hostname`, `groups`, ...).
//! docs/variables.md says the same for users.

use super::host::{add_facts, HostState};
use crate::playbook::{Play, Task};
use serde_json::{Map, Value};
use std::sync::Arc;

/// What is shared by every host during one task.
pub struct SharedVars<'a> {
    pub play: &'a Play,
    pub extra_vars: &'a Map<String, Value>,
    /// `groups`, `play_hosts`, `ansible_check_mode`, ... the same for every host.
    pub magic: &'a Map<String, Value>,
    /// `hostvars`, built only for tasks that use it.
    pub hostvars: Option<Arc<Value>>,
}

pub fn task_vars(
    shared: &SharedVars,
    host: &HostState,
    task: Option<&Task>,
    group_names: &[String],
) -> Map<String, Value> {
    let mut m = Map::new();
    let origin = task.map(|t| &t.origin);
    // Every role's defaults are seen by the whole play; a task's own role's win.
    m.extend(shared.play.role_exports.defaults.clone());
    if let Some(o) = origin {
        m.extend(o.role_defaults.clone());
    }
    m.extend(
        host.inventory_vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    add_facts(&mut m, &host.facts);
    m.extend(shared.play.vars.clone());
    m.extend(host.play_vars_files.clone());
    if !crate::settings::private_role_vars() {
        m.extend(shared.play.role_exports.vars.clone());
    }
    if let Some(o) = origin {
        m.extend(o.role_vars.clone());
    }
    if let Some(t) = task {
        m.extend(t.vars.clone());
    }
    m.extend(host.vars.clone());
    if let Some(o) = origin {
        m.extend(o.role_params.clone());
        if let Some(role) = &o.role {
            m.insert("role_name".into(), Value::String(role.clone()));
        }
        if let Some(p) = &o.role_path {
            m.insert("role_path".into(), Value::String(p.display().to_string()));
        }
        // Where `lookup('file')` and `lookup('template')` look.
        let mut dirs = o.search_path("files");
        dirs.extend(o.search_path("templates"));
        let mut seen = std::collections::HashSet::new();
        dirs.retain(|d| seen.insert(d.clone()));
        m.insert(
            crate::template::SEARCH_PATH_KEY.into(),
            Value::Array(
                dirs.iter()
                    .map(|d| Value::String(d.display().to_string()))
                    .collect(),
            ),
        );
    }
    m.extend(shared.extra_vars.clone());
    m.extend(shared.magic.clone());
    super::magic::apply_defaults(&mut m);
    m.insert(
        "inventory_hostname".into(),
        Value::String(host.name.clone()),
    );
    m.insert(
        "inventory_hostname_short".into(),
        Value::String(
            host.name
                .split('.')
                .next()
                .unwrap_or(&host.name)
                .to_string(),
        ),
    );
    m.insert(
        "group_names".into(),
        Value::Array(group_names.iter().cloned().map(Value::String).collect()),
    );
    if let Some(hv) = &shared.hostvars {
        m.insert("hostvars".into(), (**hv).clone());
    }
    m
}
