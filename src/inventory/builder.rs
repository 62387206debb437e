//! Accumulates hosts, groups and their links while inventory sources are parsed (Ansible's
//! `InventoryData`), then applies Ansible's reconciliation: every group ends up under `all`,
//! hosts in no group go to `ungrouped`, hosts in a real group leave `ungrouped`, and group depths,
//! recursive group memberships and host orders are computed once for fast lookups.

use super::{Group, Host};
use crate::diagnostics::Diagnostic;
use indexmap::IndexMap;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};

/// The names Ansible treats as the local machine (`C.LOCALHOST`).
pub const LOCALHOST: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

/// Where hosts being added come from: sets their `inventory_file` and `inventory_dir`.
#[derive(Debug, Clone, Default)]
pub struct SourceInfo {
    pub file: Option<String>,
    pub dir: Option<String>,
}

#[derive(Debug)]
pub struct Builder {
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
    /// The first localhost-like host found in the inventory.
    pub localhost: Option<String>,
    pub warnings: Vec<Diagnostic>,
    pub source: SourceInfo,
}

/// The finished graph with everything lookups need.
#[derive(Debug, Default)]
pub struct Reconciled {
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
    pub localhost: Option<String>,
    pub warnings: Vec<Diagnostic>,
    /// Each group's hosts, recursively, in Ansible's order (`Group.get_hosts()`).
    pub group_hosts: HashMap<String, Vec<String>>,
    /// Each host's groups (all of them, `all` and `ungrouped` included), in variable precedence
    /// order: by depth, then `ansible_group_priority`, then name.
    pub host_groups: HashMap<String, Vec<String>>,
}

fn new_group(name: &str) -> Group {
    Group {
        name: name.to_string(),
        hosts: Vec::new(),
        children: Vec::new(),
        vars: serde_json::Map::new(),
        parents: Vec::new(),
        priority: 1,
        depth: 0,
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    pub fn new() -> Builder {
        let mut b = Builder {
            hosts: IndexMap::new(),
            groups: IndexMap::new(),
            localhost: None,
            warnings: Vec::new(),
            source: SourceInfo::default(),
        };
        b.add_group("all").ok();
        b.add_group("ungrouped").ok();
        b.add_child("all", "ungrouped").ok();
        b
    }

    pub fn has_group(&self, name: &str) -> bool {
        self.groups.contains_key(name)
    }

    pub fn add_group(&mut self, name: &str) -> Result<(), String> {
        if name.is_empty() {
            return Err("a group name must not be empty".into());
        }
        if !self.groups.contains_key(name) {
            self.groups.insert(name.to_string(), new_group(name));
        }
        Ok(())
    }

    /// Add a host (and put it in `group`). The port and `inventory_file`/`inventory_dir` are
    /// set only when the host is first seen, as in Ansible.
    pub fn add_host(
        &mut self,
        name: &str,
        group: Option<&str>,
        port: Option<u64>,
    ) -> Result<(), String> {
        if name.is_empty() {
            return Err("a host name must not be empty".into());
        }
        if let Some(g) = group {
            if !self.groups.contains_key(g) {
                return Err(format!("could not find group {g} in inventory"));
            }
        }
        if !self.hosts.contains_key(name) {
            let mut vars = serde_json::Map::new();
            vars.insert(
                "inventory_file".into(),
                self.source.file.clone().map_or(Value::Null, Value::String),
            );
            vars.insert(
                "inventory_dir".into(),
                self.source.dir.clone().map_or(Value::Null, Value::String),
            );
            if let Some(p) = port {
                vars.insert("ansible_port".into(), Value::from(p));
            }
            self.hosts.insert(
                name.to_string(),
                Host {
                    name: name.to_string(),
                    vars,
                    implicit: false,
                },
            );
            if LOCALHOST.contains(&name) {
                match &self.localhost {
                    None => self.localhost = Some(name.to_string()),
                    Some(first) => self.warnings.push(Diagnostic::new(
                        format!("A duplicate localhost-like entry was found ({name}). First found localhost was {first}"),
                        None,
                    )),
                }
            }
        }
        if let Some(g) = group {
            let g = self.groups.get_mut(g).expect("checked above");
            if !g.hosts.iter().any(|h| h == name) {
                g.hosts.push(name.to_string());
            }
        }
        Ok(())
    }

    fn is_ancestor(&self, candidate: &str, of: &str) -> bool {
        let mut queue: VecDeque<&str> = VecDeque::from([of]);
        let mut seen = HashSet::new();
        while let Some(g) = queue.pop_front() {
            let Some(group) = self.groups.get(g) else {
                continue;
            };
            for p in &group.parents {
                if p == candidate {
                    return true;
                }
                if seen.insert(p.as_str()) {
                    queue.push_back(p);
                }
            }
        }
        false
    }

    /// Add a group (or a host) to a group, refusing loops.
    pub fn add_child(&mut self, parent: &str, child: &str) -> Result<(), String> {
        if !self.groups.contains_key(parent) {
            return Err(format!("{parent} is not a known group"));
        }
        if self.groups.contains_key(child) {
            if parent == child {
                return Err(format!("can't add group {child} to itself"));
            }
            if self.groups[parent].children.iter().any(|c| c == child) {
                return Ok(());
            }
            if self.is_ancestor(child, parent) {
                return Err(format!(
                    "Adding group '{child}' as child to '{parent}' creates a recursive dependency loop."
                ));
            }
            self.groups[parent].children.push(child.to_string());
            let c = &mut self.groups[child];
            if !c.parents.iter().any(|p| p == parent) {
                c.parents.push(parent.to_string());
            }
            Ok(())
        } else if self.hosts.contains_key(child) {
            self.add_host(child, Some(parent), None)
        } else {
            Err(format!("{child} is not a known host nor group"))
        }
    }

    /// Set a group variable; `ansible_group_priority` sets the priority instead.
    pub fn set_group_var(&mut self, group: &str, key: &str, value: Value) -> Result<(), String> {
        let g = self
            .groups
            .get_mut(group)
            .ok_or_else(|| format!("could not find group {group}"))?;
        if key == "ansible_group_priority" {
            if value.is_null() {
                return Ok(()); // int(None) raises TypeError, which Ansible ignores
            }
            g.priority = python_int(&value).ok_or_else(|| {
                format!(
                    "ansible_group_priority must be an integer, found {}",
                    short(&value)
                )
            })?;
        } else {
            g.vars.insert(key.to_string(), value);
        }
        Ok(())
    }

    pub fn set_host_var(&mut self, host: &str, key: &str, value: Value) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.vars.insert(key.to_string(), value);
        }
    }

    /// Ansible's `reconcile_inventory`, plus the derived lookups.
    pub fn finish(mut self) -> Reconciled {
        // Every group without a parent goes under `all`.
        let orphans: Vec<String> = self
            .groups
            .values()
            .filter(|g| g.name != "all" && g.parents.is_empty())
            .map(|g| g.name.clone())
            .collect();
        for g in orphans {
            self.add_child("all", &g).ok();
        }

        // Hosts in no group go to `ungrouped`; hosts in a real group leave it.
        let (mut leave, mut join) = (HashSet::new(), Vec::new());
        {
            let direct = direct_groups(&self.groups);
            for host in self.hosts.keys() {
                let mine = with_ancestors(
                    &self.groups,
                    direct.get(host.as_str()).map_or(&[][..], |v| &v[..]),
                );
                if mine.contains("ungrouped") {
                    if mine.iter().any(|g| g != "all" && g != "ungrouped") {
                        leave.insert(host.clone());
                    }
                } else if mine.is_empty() || (mine.len() == 1 && mine.contains("all")) {
                    join.push(host.clone());
                }
            }
        }
        self.groups["ungrouped"]
            .hosts
            .retain(|h| !leave.contains(h));
        for host in join {
            self.add_host(&host, Some("ungrouped"), None).ok();
        }

        for name in self.hosts.keys() {
            if self.groups.contains_key(name) {
                self.warnings.push(Diagnostic::new(
                    format!("Found both group and host with same name: {name}"),
                    None,
                ));
            }
        }

        compute_depths(&mut self.groups);

        let mut group_hosts = HashMap::new();
        for g in self.groups.keys() {
            group_hosts.insert(g.clone(), hosts_of(&self.groups, g));
        }
        let mut host_groups: HashMap<String, Vec<String>> = HashMap::new();
        for g in self.groups.keys() {
            for h in &group_hosts[g] {
                host_groups.entry(h.clone()).or_default().push(g.clone());
            }
        }
        for list in host_groups.values_mut() {
            list.sort_by(|a, b| {
                let (ga, gb) = (&self.groups[a], &self.groups[b]);
                (ga.depth, ga.priority, &ga.name).cmp(&(gb.depth, gb.priority, &gb.name))
            });
        }
        Reconciled {
            hosts: self.hosts,
            groups: self.groups,
            localhost: self.localhost,
            warnings: self.warnings,
            group_hosts,
            host_groups,
        }
    }
}

/// `int(value)` as Python would take it for `ansible_group_priority`.
fn python_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// host → the groups that list it directly.
fn direct_groups(groups: &IndexMap<String, Group>) -> HashMap<&str, Vec<&str>> {
    let mut m: HashMap<&str, Vec<&str>> = HashMap::new();
    for g in groups.values() {
        for h in &g.hosts {
            m.entry(h.as_str()).or_default().push(g.name.as_str());
        }
    }
    m
}

fn with_ancestors(groups: &IndexMap<String, Group>, start: &[&str]) -> HashSet<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<&str> = start.iter().copied().collect();
    while let Some(g) = queue.pop_front() {
        if !seen.insert(g.to_string()) {
            continue;
        }
        if let Some(group) = groups.get(g) {
            queue.extend(group.parents.iter().map(String::as_str));
        }
    }
    seen
}

/// Depth = length of the longest path from `all` (Ansible keeps `max(parent.depth + 1)`).
fn compute_depths(groups: &mut IndexMap<String, Group>) {
    // Kahn's algorithm over parent → child edges; the graph has no cycles (add_child refuses them).
    let mut indegree: HashMap<String, usize> = groups
        .values()
        .map(|g| (g.name.clone(), g.parents.len()))
        .collect();
    let mut depth: HashMap<String, usize> = HashMap::new();
    let mut queue: VecDeque<String> = groups
        .values()
        .filter(|g| g.parents.is_empty())
        .map(|g| g.name.clone())
        .collect();
    for g in &queue {
        depth.insert(g.clone(), 0);
    }
    while let Some(g) = queue.pop_front() {
        let d = depth[&g];
        for c in groups[&g].children.clone() {
            let e = depth.entry(c.clone()).or_insert(0);
            *e = (*e).max(d + 1);
            let n = indegree.get_mut(&c).expect("child is a group");
            *n -= 1;
            if *n == 0 {
                queue.push_back(c);
            }
        }
    }
    for g in groups.values_mut() {
        g.depth = depth.get(&g.name).copied().unwrap_or(0);
    }
}

/// `Group.get_hosts()`: the group's own hosts, then those of its descendants level by level.
fn hosts_of(groups: &IndexMap<String, Group>, name: &str) -> Vec<String> {
    let mut order: Vec<&str> = vec![name];
    let mut seen: HashSet<&str> = HashSet::from([name]);
    let mut i = 0;
    while i < order.len() {
        if let Some(g) = groups.get(order[i]) {
            for c in &g.children {
                if seen.insert(c.as_str()) {
                    order.push(c.as_str());
                }
            }
        }
        i += 1;
    }
    let mut hosts = Vec::new();
    let mut seen_hosts = HashSet::new();
    for g in order {
        for h in &groups[g].hosts {
            if seen_hosts.insert(h.as_str()) {
                hosts.push(h.clone());
            }
        }
    }
    hosts
}
