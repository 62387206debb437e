//! What `ansible-inventory --list` and `--graph` print, so that converge's output can be compared
//! with (and diffed against) Ansible's for the same inventory.

use super::Inventory;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Variables `ansible-inventory` leaves out of its output (Ansible's `INTERNAL_STATIC_VARS`).
const INTERNAL_VARS: &[&str] = &[
    "ansible_async_path",
    "ansible_collection_name",
    "ansible_config_file",
    "ansible_dependent_role_names",
    "ansible_diff_mode",
    "ansible_facts",
    "ansible_forks",
    "ansible_inventory_sources",
    "ansible_limit",
    "ansible_play_batch",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_role_names",
    "ansible_playbook_python",
    "ansible_role_name",
    "ansible_role_names",
    "ansible_run_tags",
    "ansible_skip_tags",
    "ansible_verbosity",
    "ansible_version",
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "groups",
    "group_names",
    "omit",
    "hostvars",
    "playbook_dir",
    "play_hosts",
    "role_name",
    "role_names",
    "role_path",
    "role_uuid",
];

fn remove_internal(mut vars: Map<String, Value>) -> Map<String, Value> {
    vars.retain(|k, _| !INTERNAL_VARS.contains(&k.as_str()));
    vars
}

/// JSON objects with their keys sorted, recursively (`json.dumps(sort_keys=True)`).
fn sort_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

impl Inventory {
    /// `ansible-inventory --list`: groups with their direct `hosts` and `children` (empty keys
    /// and empty groups left out, `all` never lists hosts), and `_meta.hostvars` with each host's
    /// merged inventory variables (hosts without any are left out). Keys are sorted, as Ansible
    /// prints them.
    pub fn to_list_json(&self) -> Value {
        self.list_json(false)
    }

    /// `ansible-inventory --list --export`: group variables under each group's `vars` (with
    /// `ansible_group_priority` when not 1), and only each host's own variables in `_meta`.
    pub fn to_list_json_export(&self) -> Value {
        self.list_json(true)
    }

    fn list_json(&self, export: bool) -> Value {
        let available: HashSet<&str> = self.group_hosts("all").iter().map(String::as_str).collect();
        let mut out = Map::new();
        let mut seen = HashSet::new();
        self.format_group("all", &available, export, &mut seen, &mut out);
        let mut hostvars = Map::new();
        for h in self.group_hosts("all") {
            let vars = if export {
                self.export_host_vars(h)
            } else {
                remove_internal(self.merged_vars(h, None))
            };
            if !vars.is_empty() {
                hostvars.insert(h.clone(), Value::Object(vars));
            }
        }
        out.insert(
            "_meta".into(),
            Value::Object(Map::from_iter([(
                "hostvars".to_string(),
                Value::Object(hostvars),
            )])),
        );
        sort_keys(Value::Object(out))
    }

    fn format_group(
        &self,
        name: &str,
        available: &HashSet<&str>,
        export: bool,
        seen: &mut HashSet<String>,
        out: &mut Map<String, Value>,
    ) {
        let Some(g) = self.groups.get(name) else {
            return;
        };
        let mut entry = Map::new();
        if name != "all" {
            let hosts: Vec<Value> = g
                .hosts
                .iter()
                .filter(|h| available.contains(h.as_str()))
                .map(|h| Value::from(h.as_str()))
                .collect();
            if !hosts.is_empty() {
                entry.insert("hosts".into(), Value::Array(hosts));
            }
        }
        let mut children = Vec::new();
        for c in &g.children {
            children.push(Value::from(c.as_str()));
            if seen.insert(c.clone()) {
                self.format_group(c, available, export, seen, out);
            }
        }
        if !children.is_empty() {
            entry.insert("children".into(), Value::Array(children));
        }
        if export {
            let vars = self.export_group_vars(name);
            if !vars.is_empty() {
                entry.insert("vars".into(), Value::Object(vars));
            }
        }
        if !entry.is_empty() {
            out.insert(name.to_string(), Value::Object(entry));
        }
    }

    fn export_group_vars(&self, name: &str) -> Map<String, Value> {
        let g = &self.groups[name];
        let mut vars = g.vars.clone();
        for d in &self.source_vars {
            if let Some(m) = d.group(name) {
                vars.extend(m.clone());
            }
        }
        if g.priority != 1 {
            vars.insert("ansible_group_priority".into(), Value::from(g.priority));
        }
        remove_internal(vars)
    }

    fn export_host_vars(&self, name: &str) -> Map<String, Value> {
        let mut vars = self
            .hosts
            .get(name)
            .map(|h| h.vars.clone())
            .unwrap_or_default();
        for d in &self.source_vars {
            if let Some(m) = d.host(name) {
                vars.extend(m.clone());
            }
        }
        remove_internal(vars)
    }

    /// `ansible-inventory --graph [group]`: the group tree from `group` (default `all`), children
    /// before hosts, each line ending in a newline. Empty for a group that does not exist
    /// (Ansible: "Pattern must be valid group name when using --graph").
    pub fn to_graph(&self, group: Option<&str>) -> String {
        let start = group.unwrap_or("all");
        if !self.groups.contains_key(start) {
            return String::new();
        }
        let mut out = String::new();
        self.graph_group(start, 0, &mut out);
        out
    }

    fn graph_group(&self, name: &str, depth: usize, out: &mut String) {
        let line = |out: &mut String, text: &str, depth: usize| {
            if depth > 0 {
                out.push_str(&"  |".repeat(depth));
                out.push_str("--");
            }
            out.push_str(text);
            out.push('\n');
        };
        line(out, &format!("@{name}:"), depth);
        let g = &self.groups[name];
        for c in &g.children {
            self.graph_group(c, depth + 1, out);
        }
        if name != "all" {
            for h in &g.hosts {
                line(out, h, depth + 1);
            }
        }
    }
}
