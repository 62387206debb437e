//! What a run adds to the inventory while it runs, as Ansible's `group_by` and `add_host` do:
//! groups (with their hosts) and new hosts (with their variables). The loaded inventory stays
//! as it was; the executor asks here too when it selects a play's hosts, computes
//! `group_names` and `groups`, and creates a host's state.

use super::engine_modules::text;
use super::host::HostState;
use super::task_runner::failed;
use super::Executor;
use crate::output::{HostResult, ResultStatus};
use serde_json::{json, Map, Value};

#[derive(Debug, Default)]
pub struct RuntimeInventory {
    /// Group → hosts added to it, in order.
    groups: Vec<(String, Vec<String>)>,
    /// Hosts added by `add_host`, with their variables.
    hosts: Vec<(String, Map<String, Value>)>,
}

impl RuntimeInventory {
    /// Put `host` in `group` (and the group under `all`); true when that is new.
    pub fn add_to_group(&mut self, group: &str, host: &str) -> bool {
        match self.groups.iter_mut().find(|(g, _)| g == group) {
            Some((_, hs)) if hs.iter().any(|h| h == host) => false,
            Some((_, hs)) => {
                hs.push(host.to_string());
                true
            }
            None => {
                self.groups
                    .push((group.to_string(), vec![host.to_string()]));
                true
            }
        }
    }

    /// Add a host, or more variables to one added before; true when anything changed.
    pub fn add_host(&mut self, host: &str, vars: Map<String, Value>) -> bool {
        match self.hosts.iter_mut().find(|(h, _)| h == host) {
            Some((_, v)) => {
                let before = v.clone();
                v.extend(vars);
                *v != before
            }
            None => {
                self.hosts.push((host.to_string(), vars));
                true
            }
        }
    }

    pub fn host_vars(&self, host: &str) -> Option<&Map<String, Value>> {
        self.hosts.iter().find(|(h, _)| h == host).map(|(_, v)| v)
    }

    pub fn groups_of<'a>(&'a self, host: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.groups
            .iter()
            .filter(move |(_, hs)| hs.iter().any(|h| h == host))
            .map(|(g, _)| g)
    }

    pub fn group_hosts(&self, group: &str) -> Option<&[String]> {
        self.groups
            .iter()
            .find(|(g, _)| g == group)
            .map(|(_, hs)| hs.as_slice())
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.hosts.is_empty()
    }

    /// Merge into the `groups` variable; added hosts are also in `all`.
    pub fn extend_groups_var(&self, groups: &mut Map<String, Value>) {
        let mut add = |g: &str, h: &str| {
            let entry = groups.entry(g).or_insert_with(|| json!([]));
            if let Value::Array(a) = entry {
                if !a.iter().any(|v| v.as_str() == Some(h)) {
                    a.push(Value::String(h.to_string()));
                }
            }
        };
        for (h, _) in &self.hosts {
            add("all", h);
        }
        for (g, hs) in &self.groups {
            hs.iter().for_each(|h| add(g, h));
        }
    }
}

impl Executor<'_> {
    /// `group_names`: the inventory's groups of a host and the groups added during the run.
    pub(crate) fn group_names_of(&self, host: &str) -> Vec<String> {
        let mut names = self.inventory.group_names(host);
        if let Ok(rt) = self.runtime.lock() {
            names.extend(rt.groups_of(host).cloned());
        }
        names.sort();
        names.dedup();
        names
    }

    /// A play's hosts: the inventory's for its pattern, plus those of groups and hosts added
    /// during the run that the pattern names (plain names, `,`- or `:`-separated).
    pub(crate) fn select_hosts(&self, pattern: &str) -> Vec<String> {
        let mut names = self.inventory.select(pattern);
        let Ok(rt) = self.runtime.lock() else {
            return names;
        };
        if rt.is_empty() {
            return names;
        }
        for term in pattern.split([',', ':']).map(str::trim) {
            let added: Vec<String> = match term {
                "all" => rt.hosts.iter().map(|(h, _)| h.clone()).collect(),
                t => match rt.group_hosts(t) {
                    Some(hs) => hs.to_vec(),
                    None if rt.host_vars(t).is_some() => vec![t.to_string()],
                    None => Vec::new(),
                },
            };
            for h in added {
                if !names.contains(&h) {
                    names.push(h);
                }
            }
        }
        names
    }

    /// `group_by: key=... parents=...`.
    pub(crate) fn group_by(&self, host: &HostState, args: &Map<String, Value>) -> HostResult {
        let key = args.get("key").map(text).unwrap_or_default();
        if key.is_empty() {
            return failed(
                &host.name,
                "the 'key' param is required when using group_by".into(),
            );
        }
        let parents: Vec<String> = match args.get("parents") {
            Some(Value::Array(a)) => a.iter().map(text).collect(),
            Some(v) => vec![text(v)],
            None => vec!["all".into()],
        };
        // As Ansible's group_by: spaces become dashes; other characters stay.
        let group = key.replace(' ', "-");
        let mut changed = false;
        if let Ok(mut rt) = self.runtime.lock() {
            changed |= rt.add_to_group(&group, &host.name);
            for p in parents.iter().filter(|p| *p != "all") {
                changed |= rt.add_to_group(p, &host.name);
            }
        }
        result(
            &host.name,
            changed,
            json!({"add_group": group, "parent_groups": parents}),
        )
    }

    /// `add_host: name=... groups=... <variables>`.
    pub(crate) fn add_host(&self, host: &HostState, args: &Map<String, Value>) -> HostResult {
        let name = args
            .get("name")
            .or_else(|| args.get("hostname"))
            .or_else(|| args.get("host"))
            .map(text)
            .unwrap_or_default();
        if name.is_empty() {
            return failed(&host.name, "add_host needs a name".into());
        }
        let groups: Vec<String> = match args.get("groups").or_else(|| args.get("group")) {
            Some(Value::Array(a)) => a.iter().map(text).collect(),
            Some(v) => text(v).split(',').map(|g| g.trim().to_string()).collect(),
            None => Vec::new(),
        };
        let vars: Map<String, Value> = args
            .iter()
            .filter(|(k, _)| !["name", "hostname", "host", "groups", "group"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut changed = false;
        if let Ok(mut rt) = self.runtime.lock() {
            changed |= rt.add_host(&name, vars);
            for g in groups.iter().filter(|g| !g.is_empty()) {
                changed |= rt.add_to_group(g, &name);
            }
        }
        result(
            &host.name,
            changed,
            json!({"add_host": {"host_name": name, "groups": groups}}),
        )
    }
}

fn result(host: &str, changed: bool, data: Value) -> HostResult {
    let mut r = HostResult::new(
        host,
        if changed {
            ResultStatus::Changed
        } else {
            ResultStatus::Ok
        },
    );
    let mut m = match data {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    m.insert("changed".into(), Value::Bool(changed));
    r.data = Value::Object(m);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_hosts_added_once() {
        let mut rt = RuntimeInventory::default();
        assert!(rt.add_to_group("web", "h1"));
        assert!(!rt.add_to_group("web", "h1"));
        assert!(rt.add_host("new1", Map::new()));
        assert!(rt.add_to_group("web", "new1"));
        let mut groups = Map::new();
        groups.insert("all".into(), json!(["h1"]));
        rt.extend_groups_var(&mut groups);
        assert_eq!(groups["all"], json!(["h1", "new1"]));
        assert_eq!(groups["web"], json!(["h1", "new1"]));
        assert_eq!(rt.groups_of("h1").collect::<Vec<_>>(), ["web"]);
    }
}
