//! Ansible-compatible inventories: which hosts exist, which groups they belong to, and the
//! variables inventories give them.
//!
//! [`Inventory::load`] reads `-i` sources the way `ansible-inventory` does (INI files, YAML files,
//! directories of them, `host1,host2,` host lists) together with the `group_vars/` and
//! `host_vars/` directories beside them; [`Inventory::select`] and [`Inventory::limit`] evaluate
//! host patterns; [`Inventory::host_vars`] merges a host's variables in Ansible's precedence
//! order; [`Inventory::to_list_json`] and [`Inventory::to_graph`] print what
//! `ansible-inventory --list` and `--graph` would.

mod address;
mod builder;
mod ini;
mod literal;
mod pattern;
mod ranges;
mod render;
mod shlex;
mod vars_dirs;
mod yaml_format;

#[cfg(test)]
mod tests;

pub use builder::LOCALHOST;
pub use pattern::split_host_pattern;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::source::SourceFile;
use builder::{Builder, Reconciled, SourceInfo};
use indexmap::IndexMap;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use vars_dirs::VarsDir;

/// A host of the inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub name: String,
    /// Variables the inventory files give this host itself (inline INI `key=value`, YAML host
    /// values, the port of `host:port`), plus Ansible's `inventory_file` and `inventory_dir`.
    pub vars: Map<String, Value>,
    /// The implicit localhost: not in the inventory, not in `all`, `ansible_connection: local`.
    pub implicit: bool,
}

/// A group of the inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    /// Direct members, in the order they were added.
    pub hosts: Vec<String>,
    /// Child groups, in the order they were added.
    pub children: Vec<String>,
    /// Variables set by inventory files (`[g:vars]`, YAML `vars:`).
    pub vars: Map<String, Value>,
    pub parents: Vec<String>,
    /// `ansible_group_priority` (default 1): among groups of the same depth, higher wins.
    pub priority: i64,
    /// Longest distance from `all` (which is 0).
    pub depth: usize,
}

/// Hosts and groups loaded from inventory sources. `Send + Sync`: variables from playbook
/// directories are read lazily into an internal cache.
#[derive(Debug)]
pub struct Inventory {
    hosts: IndexMap<String, Host>,
    groups: IndexMap<String, Group>,
    /// The first localhost-like host listed in the inventory, if any.
    localhost: Option<String>,
    /// The implicit localhost, one per name of [`LOCALHOST`] (used when none is listed).
    implicit: Vec<Host>,
    group_hosts: HashMap<String, Vec<String>>,
    host_groups: HashMap<String, Vec<String>>,
    /// `group_vars/` and `host_vars/` beside each inventory source, in source order.
    source_vars: Vec<Arc<VarsDir>>,
    playbook_vars: Mutex<HashMap<PathBuf, Result<Arc<VarsDir>, Diagnostics>>>,
    warnings: Vec<Diagnostic>,
}

/// Names in an inventory directory that are not inventory sources (Ansible's `IGNORED_ALWAYS`
/// and default `INVENTORY_IGNORE_EXTS`).
fn ignored_in_dir() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r"^\.|^host_vars$|^group_vars$|^vars_plugins$|(?:\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.cfg|\.retry)$",
        )
        .unwrap()
    })
}

/// Deepest nesting of inventory directories followed (guards against symlink loops).
const MAX_SOURCE_DEPTH: usize = 16;

impl Inventory {
    /// Load one or more `-i` sources, merged in order: INI files, YAML files (`.yml`, `.yaml`,
    /// `.json`, or extension-less files whose content is a YAML mapping), directories (every file
    /// in them except hidden ones, backups and `group_vars`/`host_vars`), or comma-separated host
    /// lists (`web1,web2` or `localhost,`). `group_vars/` and `host_vars/` beside each source are
    /// read too. A source path that does not exist is an error. Every problem found is reported.
    pub fn load(sources: &[String]) -> Result<Inventory, Diagnostics> {
        let mut b = Builder::new();
        let mut diags = Diagnostics::default();
        let mut vars_dirs: Vec<PathBuf> = Vec::new();
        for source in sources {
            if source.is_empty() {
                continue;
            }
            let path = expand_user(source);
            if path.exists() {
                let abs = std::path::absolute(&path).unwrap_or(path);
                vars_dirs.push(if abs.is_dir() {
                    abs.clone()
                } else {
                    abs.parent().map(Path::to_path_buf).unwrap_or_default()
                });
                load_path(&abs, &mut b, &mut diags, 0);
            } else if source.contains(',') {
                load_host_list(source, &mut b);
            } else {
                diags.push(
                    Diagnostic::new(format!("inventory source `{source}` does not exist"), None).with_hint(
                        "pass an inventory file or directory, or a comma-separated host list such as `web1,web2` (a single host needs a trailing comma: `web1,`)",
                    ),
                );
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        Inventory::from_parts(b.finish(), &vars_dirs)
    }

    /// An inventory made of a `groups` variable (group name → host names), as Ansible's
    /// `inventory_hostnames` lookup rebuilds one to evaluate a pattern.
    pub fn from_groups(groups: &Map<String, Value>) -> Inventory {
        let mut b = Builder::new();
        for (group, hosts) in groups {
            if b.add_group(group).is_err() {
                continue;
            }
            for h in hosts
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                b.add_host(h, Some(group), None).ok();
            }
        }
        Inventory::from_parts(b.finish(), &[]).unwrap_or_else(|_| Inventory::empty())
    }

    /// No hosts at all: only the implicit localhost.
    pub fn empty() -> Inventory {
        Inventory::from_parts(Builder::new().finish(), &[]).expect("no files to read")
    }

    fn from_parts(r: Reconciled, vars_dirs: &[PathBuf]) -> Result<Inventory, Diagnostics> {
        let mut warnings = r.warnings;
        let mut diags = Diagnostics::default();
        let mut source_vars: Vec<Arc<VarsDir>> = Vec::new();
        let mut loaded: HashMap<&Path, Arc<VarsDir>> = HashMap::new();
        for dir in vars_dirs {
            if let Some(v) = loaded.get(dir.as_path()) {
                source_vars.push(Arc::clone(v));
                continue;
            }
            let hosts = r.hosts.keys().map(String::as_str).chain(LOCALHOST);
            match VarsDir::load(
                dir,
                r.groups.keys().map(String::as_str),
                hosts,
                &mut warnings,
            ) {
                Ok(v) => {
                    let v = Arc::new(v);
                    loaded.insert(dir, Arc::clone(&v));
                    source_vars.push(v);
                }
                Err(d) => diags.0.extend(d.0),
            }
        }
        let implicit = LOCALHOST
            .iter()
            .map(|name| Host {
                name: name.to_string(),
                vars: Map::from_iter([("ansible_connection".to_string(), Value::from("local"))]),
                implicit: true,
            })
            .collect();
        diags.finish(Inventory {
            hosts: r.hosts,
            groups: r.groups,
            localhost: r.localhost,
            implicit,
            group_hosts: r.group_hosts,
            host_groups: r.host_groups,
            source_vars,
            playbook_vars: Mutex::new(HashMap::new()),
            warnings,
        })
    }

    /// A host by name. `localhost`, `127.0.0.1` and `::1` always resolve: to the localhost listed
    /// in the inventory if there is one (as Ansible's `get_host` does), else to the implicit one.
    pub fn host(&self, name: &str) -> Option<&Host> {
        if let Some(h) = self.hosts.get(name) {
            return Some(h);
        }
        if LOCALHOST.contains(&name) {
            if let Some(l) = &self.localhost {
                return self.hosts.get(l);
            }
            return self.implicit.iter().find(|h| h.name == name);
        }
        None
    }

    /// The inventory's hosts in order of first appearance (the implicit localhost excluded).
    pub fn hosts(&self) -> impl Iterator<Item = &Host> {
        self.hosts.values()
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name)
    }

    /// Every group (`all` and `ungrouped` first), in order of first appearance.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }

    /// A group's hosts, recursively through its children, in Ansible's order.
    pub fn group_hosts(&self, group: &str) -> &[String] {
        self.group_hosts.get(group).map_or(&[], Vec::as_slice)
    }

    /// Problems Ansible only warns about (unknown keys in YAML inventories, a name used for both
    /// a host and a group, ...). The caller prints them.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The `group_names` magic variable: the groups a host belongs to, directly or through
    /// children, sorted. Like Ansible, `all` is left out and `ungrouped` is kept (a host in no
    /// group has `group_names == ["ungrouped"]`); the implicit localhost has none.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let Some(h) = self.host(host) else {
            return Vec::new();
        };
        let mut names: Vec<String> = self
            .host_groups
            .get(&h.name)
            .into_iter()
            .flatten()
            .filter(|g| *g != "all")
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// The `groups` magic variable: every group (`all` and `ungrouped` included) → its hosts,
    /// recursively, in inventory order.
    pub fn groups_var(&self) -> Map<String, Value> {
        self.groups
            .keys()
            .map(|g| {
                let hosts = self
                    .group_hosts(g)
                    .iter()
                    .cloned()
                    .map(Value::String)
                    .collect();
                (g.clone(), Value::Array(hosts))
            })
            .collect()
    }

    /// A host's variables from every inventory source, merged in Ansible's precedence order
    /// (low → high): inventory-file `all` vars < inventory-file group vars (by depth, then
    /// `ansible_group_priority`, then name) < inventory-dir `group_vars/all` < playbook-dir
    /// `group_vars/all` < inventory-dir `group_vars/<group>` < playbook-dir `group_vars/<group>` <
    /// inventory-file host vars < inventory-dir `host_vars/<host>` < playbook-dir
    /// `host_vars/<host>`. Top-level keys replace each other (`hash_behaviour = replace`).
    ///
    /// `playbook_dir`'s `group_vars/` and `host_vars/` are read on first use and cached; their
    /// errors carry positions. An unknown host has no variables.
    pub fn host_vars(
        &self,
        host: &str,
        playbook_dir: Option<&Path>,
    ) -> Result<Map<String, Value>, Diagnostics> {
        let pb = match playbook_dir {
            Some(dir) => Some(self.playbook_vars(dir)?),
            None => None,
        };
        Ok(self.merged_vars(host, pb.as_deref()))
    }

    fn playbook_vars(&self, dir: &Path) -> Result<Arc<VarsDir>, Diagnostics> {
        let key = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let mut cache = self.playbook_vars.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = cache.get(&key) {
            return r.clone();
        }
        let hosts = self.hosts.keys().map(String::as_str).chain(LOCALHOST);
        let r = VarsDir::load(
            &key,
            self.groups.keys().map(String::as_str),
            hosts,
            &mut Vec::new(),
        )
        .map(Arc::new);
        cache.insert(key, r.clone());
        r
    }

    /// The groups whose variables apply to a host, lowest precedence first, without `all`.
    fn precedence_groups(&self, host: &Host) -> Vec<&str> {
        self.host_groups
            .get(&host.name)
            .into_iter()
            .flatten()
            .map(String::as_str)
            .filter(|g| *g != "all")
            .collect()
    }

    fn merged_vars(&self, host: &str, pb: Option<&VarsDir>) -> Map<String, Value> {
        let Some(h) = self.host(host) else {
            return Map::new();
        };
        let groups = if h.implicit {
            Vec::new()
        } else {
            self.precedence_groups(h)
        };
        let mut vars = Map::new();
        let mut merge = |m: Option<&Map<String, Value>>| {
            if let Some(m) = m {
                for (k, v) in m {
                    vars.insert(k.clone(), v.clone());
                }
            }
        };
        merge(self.groups.get("all").map(|g| &g.vars));
        for g in &groups {
            merge(self.groups.get(*g).map(|g| &g.vars));
        }
        for d in &self.source_vars {
            merge(d.group("all"));
        }
        if let Some(p) = pb {
            merge(p.group("all"));
        }
        for d in &self.source_vars {
            for g in &groups {
                merge(d.group(g));
            }
        }
        if let Some(p) = pb {
            for g in &groups {
                merge(p.group(g));
            }
        }
        merge(Some(&h.vars));
        for d in &self.source_vars {
            merge(d.host(&h.name));
        }
        if let Some(p) = pb {
            merge(p.host(&h.name));
        }
        vars
    }
}

fn expand_user(source: &str) -> PathBuf {
    if let Some(rest) = source.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return Path::new(&home).join(rest);
        }
    }
    PathBuf::from(source)
}

/// A file or directory source (Ansible's `parse_source`).
fn load_path(path: &Path, b: &mut Builder, diags: &mut Diagnostics, depth: usize) {
    if !path.is_dir() {
        load_file(path, b, diags);
        return;
    }
    if depth >= MAX_SOURCE_DEPTH {
        return;
    }
    let mut names: Vec<_> = match std::fs::read_dir(path) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect(),
        Err(e) => {
            diags.push(Diagnostic::new(
                format!("cannot read inventory directory {}: {e}", path.display()),
                None,
            ));
            return;
        }
    };
    names.sort();
    for name in names {
        if ignored_in_dir().is_match(&name.to_string_lossy()) {
            continue;
        }
        load_path(&path.join(name), b, diags, depth + 1);
    }
}

/// One inventory file: YAML by extension (or by content when it has none), INI otherwise.
fn load_file(path: &Path, b: &mut Builder, diags: &mut Diagnostics) {
    let file = match SourceFile::read(path) {
        Ok(f) => f,
        Err(m) => {
            diags.push(Diagnostic::new(m, None));
            return;
        }
    };
    b.source = SourceInfo {
        file: Some(path.display().to_string()),
        dir: path.parent().map(|p| p.display().to_string()),
    };
    match path.extension().and_then(|e| e.to_str()) {
        Some("yml" | "yaml" | "json") => match crate::yaml::load(&file) {
            Ok(root) => yaml_format::parse(&root, b, diags),
            Err(d) => diags.push(d),
        },
        None => match crate::yaml::load(&file) {
            Ok(root) if matches!(root.value, crate::yaml::Yaml::Map(_)) => {
                yaml_format::parse(&root, b, diags)
            }
            _ => ini::parse(&file, b, diags),
        },
        Some(_) => ini::parse(&file, b, diags),
    }
    b.source = SourceInfo::default();
}

/// `-i web1,web2:2222,` (Ansible's `host_list` plugin; ranges are not expanded there).
fn load_host_list(source: &str, b: &mut Builder) {
    b.source = SourceInfo {
        file: Some(source.to_string()),
        dir: None,
    };
    for h in source.split(',') {
        let h = h.trim();
        if h.is_empty() {
            continue;
        }
        let (host, port) = match address::parse_address(h, false) {
            Ok(a) => (a.host, a.port),
            Err(_) => (h.to_string(), None),
        };
        if !b.hosts.contains_key(&host) {
            b.add_host(&host, Some("ungrouped"), port).ok();
        }
    }
    b.source = SourceInfo::default();
}
