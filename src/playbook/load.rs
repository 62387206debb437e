//! Loading playbooks: plays, `import_playbook`, roles and their dependencies, `import_tasks`.
//! Task syntax is in `task.rs`. Every problem found is collected (not just the first) and points
//! at `file:line:col`; nothing here touches a host.

use super::model::*;
use super::task::{Inherit, TaskParser};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::source::Span;
use crate::template::Templater;
use crate::yaml::{self, Node, Yaml};
use converge_modules::args::nearest;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Separates the alternatives of a `vars_files` entry that is a list (first found wins).
pub(crate) const VARS_FILES_ALTERNATIVES: &str = "\0";

/// Imports nested deeper than this are a loop.
const MAX_IMPORT_DEPTH: usize = 32;

pub struct Loader<'t> {
    pub(crate) templater: &'t Templater,
    pub(crate) diags: Diagnostics,
    pub(crate) warnings: Vec<String>,
    import_depth: usize,
    /// > 0 while validating a file reached only through a dynamic include.
    pub(crate) dynamic_depth: usize,
    /// The defaults and vars of the roles the current play loads.
    role_exports: RoleExports,
    /// `-e` variables: templated play keywords are rendered with them (`play_templates.rs`).
    extra_vars: Map<String, Value>,
}

/// Load and validate playbooks. On success, also returns warnings worth printing.
pub fn load_playbooks(
    paths: &[PathBuf],
    templater: &Templater,
) -> Result<(Vec<Playbook>, Vec<String>), Diagnostics> {
    load_playbooks_with_extra_vars(paths, templater, &Map::new())
}

/// [`load_playbooks`], rendering templated play keywords (`strategy: "{{ s }}"`) with the
/// `-e` variables as Ansible does.
pub fn load_playbooks_with_extra_vars(
    paths: &[PathBuf],
    templater: &Templater,
    extra_vars: &Map<String, Value>,
) -> Result<(Vec<Playbook>, Vec<String>), Diagnostics> {
    let mut loader = Loader::new(templater);
    loader.extra_vars = extra_vars.clone();
    let mut books = Vec::new();
    for path in paths {
        let plays = loader.load_playbook_file(path, None);
        books.push(Playbook {
            path: path.clone(),
            plays,
        });
    }
    let warnings = std::mem::take(&mut loader.warnings);
    loader.diags.finish((books, warnings))
}

impl<'t> Loader<'t> {
    pub(crate) fn new(templater: &'t Templater) -> Self {
        Loader {
            templater,
            diags: Diagnostics::default(),
            warnings: Vec::new(),
            import_depth: 0,
            dynamic_depth: 0,
            role_exports: RoleExports::default(),
            extra_vars: Map::new(),
        }
    }

    pub(crate) fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// A module found nowhere: an error, except in a file reached only through a dynamic
    /// include (`include_tasks`, `include_role`), which a host may never include (a role's
    /// `setup-RedHat.yml` on a Debian host). There it is a warning at load time, and the
    /// error comes when a host includes the file (it is loaded again, strictly, then),
    /// before any of its tasks run there.
    pub(crate) fn unknown_module(&mut self, d: Diagnostic) {
        if self.dynamic_depth > 0 {
            self.warnings.push(format!(
                "{d}\n  (in a dynamically included file: an error only for a host that includes it)"
            ));
        } else {
            self.error(d);
        }
    }

    pub(crate) fn load_yaml(&mut self, path: &Path, referenced_at: Option<&Span>) -> Option<Node> {
        match yaml::load_path(path) {
            Ok(n) => Some(n),
            Err(mut d) => {
                if d.span.is_none() {
                    if let Some(at) = referenced_at {
                        d.span = Some(at.clone());
                    }
                }
                self.error(d);
                None
            }
        }
    }

    fn load_playbook_file(&mut self, path: &Path, referenced_at: Option<&Span>) -> Vec<Play> {
        if self.import_depth > MAX_IMPORT_DEPTH {
            self.error(Diagnostic::new(
                format!(
                    "import_playbook nested more than {MAX_IMPORT_DEPTH} deep (a loop?) at {}",
                    path.display()
                ),
                referenced_at.cloned(),
            ));
            return Vec::new();
        }
        let Some(doc) = self.load_yaml(path, referenced_at) else {
            return Vec::new();
        };
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let Some(items) = doc.as_seq() else {
            self.error(
                Diagnostic::at(
                    &doc.span,
                    format!(
                        "a playbook must be a list of plays, found {}",
                        doc.kind_name()
                    ),
                )
                .with_hint("start each play with `- hosts: ...`"),
            );
            return Vec::new();
        };
        let mut plays = Vec::new();
        for item in items {
            if let Some(target) = item
                .get("import_playbook")
                .or_else(|| item.get("ansible.builtin.import_playbook"))
            {
                match target.as_str() {
                    Some(rel) => {
                        let p = dir.join(rel);
                        if !p.exists() {
                            self.error(Diagnostic::at(
                                &target.span,
                                format!("imported playbook {} does not exist", p.display()),
                            ));
                            continue;
                        }
                        self.import_depth += 1;
                        let mut imported = self.load_playbook_file(&p, Some(&target.span));
                        self.import_depth -= 1;
                        // `vars:` beside import_playbook: play vars of each imported play
                        // (the play's own vars win).
                        if let Some(Value::Object(vars)) = item.get("vars").map(Node::to_json) {
                            for play in &mut imported {
                                for (k, v) in &vars {
                                    play.vars.entry(k.clone()).or_insert_with(|| v.clone());
                                }
                            }
                        }
                        plays.extend(imported);
                    }
                    None => self.error(Diagnostic::at(
                        &target.span,
                        "import_playbook takes a file name",
                    )),
                }
                continue;
            }
            if let Some(play) = self.parse_play(item, &dir) {
                plays.push(play);
            }
        }
        plays
    }

    fn parse_play(&mut self, node: &Node, dir: &Path) -> Option<Play> {
        let entries = match node.string_keys("a play") {
            Ok(e) => e,
            Err(d) => {
                self.error(d);
                return None;
            }
        };
        let mut play = Play {
            name: String::new(),
            hosts: String::new(),
            span: node.span.clone(),
            vars: Map::new(),
            vars_files: Vec::new(),
            gather_facts: true,
            r#become: BecomeOpts::default(),
            serial: Vec::new(),
            strategy: Strategy::Linear,
            max_fail_percentage: None,
            any_errors_fatal: false,
            check_mode: None,
            connection: None,
            remote_user: None,
            environment: None,
            tags: Vec::new(),
            pre_tasks: Vec::new(),
            role_tasks: Vec::new(),
            tasks: Vec::new(),
            post_tasks: Vec::new(),
            handlers: Vec::new(),
            playbook_dir: dir.to_path_buf(),
            role_exports: RoleExports::default(),
        };
        self.role_exports = RoleExports::default();
        let mut hosts_seen = false;
        let literal_vars = match node.get("vars").map(Node::to_json) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        for (key, knode, v) in &entries {
            let rendered;
            let v = if super::play_templates::RENDERED.contains(&key.as_str()) {
                match super::play_templates::render(
                    self.templater,
                    v,
                    &self.extra_vars,
                    &literal_vars,
                ) {
                    super::play_templates::Rendered::AsWritten => *v,
                    super::play_templates::Rendered::Omitted => continue,
                    super::play_templates::Rendered::Value(n) => {
                        rendered = n;
                        &rendered
                    }
                }
            } else {
                *v
            };
            if !super::keywords::PLAY.contains(&key.as_str()) {
                let hint = nearest(key, super::keywords::PLAY.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| "tasks go under `tasks:`".to_string());
                self.error(
                    Diagnostic::at(&knode.span, format!("`{key}` is not a valid play keyword"))
                        .with_hint(hint),
                );
                continue;
            }
            if super::keywords::ACCEPTED_NOT_IMPLEMENTED.contains(&key.as_str()) {
                self.warnings.push(format!(
                    "{}: play keyword `{key}` is accepted but ignored by converge",
                    knode.span.location()
                ));
            }
            match key.as_str() {
                "name" => play.name = v.scalar_text().unwrap_or_default(),
                "hosts" => {
                    hosts_seen = true;
                    play.hosts = match &v.value {
                        Yaml::Seq(items) => items
                            .iter()
                            .filter_map(Node::scalar_text)
                            .collect::<Vec<_>>()
                            .join(","),
                        _ => v.scalar_text().unwrap_or_default(),
                    };
                    if play.hosts.trim().is_empty() {
                        self.error(Diagnostic::at(&v.span, "`hosts` is empty"));
                    }
                }
                "vars" => play.vars = self.vars_map(v, "play vars"),
                "vars_files" => play.vars_files = self.vars_files(v),
                "gather_facts" => play.gather_facts = self.bool_of(v, key).unwrap_or(true),
                "become" => play.r#become.enabled = self.bool_of(v, key),
                "become_user" => play.r#become.user = v.scalar_text(),
                "become_method" => play.r#become.method = v.scalar_text(),
                "serial" => play.serial = self.serial(v),
                "strategy" => match v.as_str() {
                    Some("linear") | Some("debug") => play.strategy = Strategy::Linear,
                    Some("free") | Some("host_pinned") => play.strategy = Strategy::Free,
                    _ => self.error(Diagnostic::at(
                        &v.span,
                        "strategy must be `linear` or `free`",
                    )),
                },
                "max_fail_percentage" => play.max_fail_percentage = number_of(v),
                "any_errors_fatal" => play.any_errors_fatal = self.bool_of(v, key).unwrap_or(false),
                "check_mode" => play.check_mode = self.bool_of(v, key),
                "connection" => play.connection = v.scalar_text(),
                "remote_user" => play.remote_user = v.scalar_text(),
                "environment" => play.environment = Some(v.to_json()),
                "tags" => play.tags = tags_of(v),
                _ => {}
            }
        }
        if !hosts_seen {
            self.error(
                Diagnostic::at(&node.span, "this play has no `hosts`")
                    .with_hint("add `hosts: all` or a group name"),
            );
        }
        if play.name.is_empty() {
            play.name = play.hosts.clone();
        }
        let origin = Arc::new(TaskOrigin {
            playbook_dir: dir.to_path_buf(),
            file_dir: dir.to_path_buf(),
            ..TaskOrigin::default()
        });
        let mut inherit = Inherit {
            tags: play.tags.clone(),
            r#become: play.r#become.clone(),
            check_mode: play.check_mode,
            environment: play.environment.clone(),
            ..Inherit::default()
        };
        if let Some((_, _, v)) = entries.iter().find(|(k, _, _)| k == "module_defaults") {
            super::task::merge_module_defaults(&mut inherit.module_defaults, &v.to_json());
        }
        for (key, _, v) in &entries {
            match key.as_str() {
                "pre_tasks" => play.pre_tasks = self.task_list(v, &inherit, &origin),
                "tasks" => play.tasks = self.task_list(v, &inherit, &origin),
                "post_tasks" => play.post_tasks = self.task_list(v, &inherit, &origin),
                "handlers" => play.handlers = self.task_list(v, &inherit, &origin),
                _ => {}
            }
        }
        if let Some(roles) = node.get("roles") {
            let mut seen = HashSet::new();
            for r in roles.as_seq().unwrap_or(&[]) {
                let (tasks, handlers) = self.role_from_entry(r, &inherit, dir, &mut seen, 0);
                play.role_tasks.extend(tasks);
                play.handlers.extend(handlers);
            }
            if !roles.is_null() && roles.as_seq().is_none() {
                self.error(Diagnostic::at(&roles.span, "`roles` must be a list"));
            }
        }
        play.role_exports = std::mem::take(&mut self.role_exports);
        Some(play)
    }

    pub(crate) fn task_list(
        &mut self,
        node: &Node,
        inherit: &Inherit,
        origin: &Arc<TaskOrigin>,
    ) -> Vec<Task> {
        TaskParser {
            loader: self,
            origin: Arc::clone(origin),
        }
        .list(node, inherit)
    }

    /// Load a task file (for `import_tasks`, a role's `tasks/main.yml`, or a pre-check of an
    /// `include_tasks` with a literal file name).
    pub(crate) fn task_file(
        &mut self,
        path: &Path,
        inherit: &Inherit,
        origin: &TaskOrigin,
        at: Option<&Span>,
    ) -> Vec<Task> {
        if self.import_depth > MAX_IMPORT_DEPTH {
            self.error(Diagnostic::new(
                format!(
                    "task imports nested more than {MAX_IMPORT_DEPTH} deep (a loop?) at {}",
                    path.display()
                ),
                at.cloned(),
            ));
            return Vec::new();
        }
        let Some(doc) = self.load_yaml(path, at) else {
            return Vec::new();
        };
        let origin = Arc::new(TaskOrigin {
            role: origin.role.clone(),
            role_path: origin.role_path.clone(),
            role_defaults: origin.role_defaults.clone(),
            role_vars: origin.role_vars.clone(),
            role_params: origin.role_params.clone(),
            playbook_dir: origin.playbook_dir.clone(),
            file_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        });
        self.import_depth += 1;
        let tasks = self.task_list(&doc, inherit, &origin);
        self.import_depth -= 1;
        tasks
    }

    fn role_from_entry(
        &mut self,
        entry: &Node,
        inherit: &Inherit,
        dir: &Path,
        seen: &mut HashSet<String>,
        depth: usize,
    ) -> (Vec<Task>, Vec<Task>) {
        let (name, params, inh) = match &entry.value {
            Yaml::Str(s) => (s.clone(), Map::new(), inherit.clone()),
            Yaml::Map(_) => {
                let Some(name) = entry
                    .get("role")
                    .or_else(|| entry.get("name"))
                    .and_then(Node::scalar_text)
                else {
                    self.error(Diagnostic::at(
                        &entry.span,
                        "a role entry needs `role: NAME`",
                    ));
                    return (Vec::new(), Vec::new());
                };
                let mut params = Map::new();
                let mut inh = inherit.clone();
                for (k, _, v) in entry.string_keys("a role entry").unwrap_or_default() {
                    match k.as_str() {
                        "role" | "name" => {}
                        "when" => inh.when.extend(self.exprs(v)),
                        "tags" => inh.tags.extend(tags_of(v)),
                        "become" => inh.r#become.enabled = self.bool_of(v, "become"),
                        "become_user" => inh.r#become.user = v.scalar_text(),
                        "vars" => {
                            for (vk, vv) in self.vars_map(v, "role vars") {
                                params.insert(vk, vv);
                            }
                        }
                        _ => {
                            params.insert(k, v.to_json());
                        }
                    }
                }
                (name, params, inh)
            }
            _ => {
                self.error(Diagnostic::at(
                    &entry.span,
                    "a role entry must be a name or a mapping",
                ));
                return (Vec::new(), Vec::new());
            }
        };
        let key = format!("{name}{}", Value::Object(params.clone()));
        if !seen.insert(key) {
            return (Vec::new(), Vec::new());
        }
        self.load_role(&name, None, params, &inh, dir, &entry.span, seen, depth)
    }

    /// Find a role directory: `roles/NAME` beside the playbook, then `ANSIBLE_ROLES_PATH`.
    pub(crate) fn find_role(&self, name: &str, dir: &Path) -> Option<PathBuf> {
        let mut candidates = vec![dir.join("roles").join(name), dir.join(name)];
        candidates.extend(crate::settings::role_dirs().iter().map(|d| d.join(name)));
        candidates.into_iter().find(|p| {
            ["tasks", "meta", "handlers", "vars", "defaults"]
                .iter()
                .any(|sub| p.join(sub).is_dir())
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn load_role(
        &mut self,
        name: &str,
        tasks_from: Option<&str>,
        params: Map<String, Value>,
        inherit: &Inherit,
        dir: &Path,
        at: &Span,
        seen: &mut HashSet<String>,
        depth: usize,
    ) -> (Vec<Task>, Vec<Task>) {
        if depth > MAX_IMPORT_DEPTH {
            self.error(Diagnostic::at(
                at,
                format!("role dependencies nested too deep at `{name}` (a cycle?)"),
            ));
            return (Vec::new(), Vec::new());
        }
        let Some(role_path) = self.find_role(name, dir) else {
            self.error(
                Diagnostic::at(at, format!("role `{name}` not found")).with_hint(format!(
                    "looked in {}/roles/{name}, roles_path (ansible.cfg, ANSIBLE_ROLES_PATH), ~/.ansible/roles, /usr/share/ansible/roles and /etc/ansible/roles",
                    dir.display()
                )),
            );
            return (Vec::new(), Vec::new());
        };
        let defaults = self.role_vars_file(&role_path, "defaults", at);
        let vars = self.role_vars_file(&role_path, "vars", at);
        let mut tasks = Vec::new();
        let mut handlers = Vec::new();
        // Dependencies from meta/main.yml run first.
        if let Some(meta) =
            main_file(&role_path.join("meta")).and_then(|p| self.load_yaml(&p, Some(at)))
        {
            if let Some(deps) = meta.get("dependencies").and_then(Node::as_seq) {
                for dep in deps {
                    let (t, h) = self.role_from_entry(dep, inherit, dir, seen, depth + 1);
                    tasks.extend(t);
                    handlers.extend(h);
                }
            }
        }
        // After its dependencies, so that its own values win over theirs, as in Ansible.
        if self.dynamic_depth == 0 {
            self.role_exports.defaults.extend(defaults.clone());
            self.role_exports.vars.extend(vars.clone());
        }
        let origin = TaskOrigin {
            role: Some(name.to_string()),
            role_path: Some(role_path.clone()),
            role_defaults: defaults,
            role_vars: vars,
            role_params: params,
            playbook_dir: dir.to_path_buf(),
            file_dir: role_path.join("tasks"),
        };
        let tasks_file = match tasks_from {
            Some(f) => with_yaml_ext(&role_path.join("tasks"), f),
            None => main_file(&role_path.join("tasks")),
        };
        match tasks_file {
            Some(p) => tasks.extend(self.task_file(&p, inherit, &origin, Some(at))),
            None if tasks_from.is_some() => self.error(Diagnostic::at(
                at,
                format!(
                    "role `{name}` has no tasks file `{}`",
                    tasks_from.unwrap_or_default()
                ),
            )),
            None => {}
        }
        if let Some(p) = main_file(&role_path.join("handlers")) {
            handlers.extend(self.task_file(&p, inherit, &origin, Some(at)));
        }
        (tasks, handlers)
    }

    fn role_vars_file(&mut self, role: &Path, sub: &str, at: &Span) -> Map<String, Value> {
        match main_file(&role.join(sub)).and_then(|p| self.load_yaml(&p, Some(at))) {
            Some(n) => self.vars_map(&n, &format!("{sub}/main.yml")),
            None => Map::new(),
        }
    }

    pub(crate) fn vars_map(&mut self, v: &Node, what: &str) -> Map<String, Value> {
        match &v.value {
            Yaml::Null => Map::new(),
            Yaml::Map(_) => match v.to_json() {
                Value::Object(m) => m,
                _ => Map::new(),
            },
            // Ansible also accepts a list of mappings.
            Yaml::Seq(items) if items.iter().all(|i| i.as_map().is_some()) => {
                let mut m = Map::new();
                for i in items {
                    if let Value::Object(o) = i.to_json() {
                        m.extend(o);
                    }
                }
                m
            }
            _ => {
                self.error(Diagnostic::at(
                    &v.span,
                    format!("{what} must be a mapping, found {}", v.kind_name()),
                ));
                Map::new()
            }
        }
    }

    pub(crate) fn string_list(&mut self, v: &Node, what: &str) -> Vec<(String, Span)> {
        match &v.value {
            Yaml::Seq(items) => items
                .iter()
                .filter_map(|i| match i.scalar_text() {
                    Some(s) => Some((s, i.span.clone())),
                    None => {
                        self.error(Diagnostic::at(
                            &i.span,
                            format!("{what} entries must be strings"),
                        ));
                        None
                    }
                })
                .collect(),
            Yaml::Null => Vec::new(),
            _ => match v.scalar_text() {
                Some(s) => vec![(s, v.span.clone())],
                None => {
                    self.error(Diagnostic::at(
                        &v.span,
                        format!("{what} must be a string or a list"),
                    ));
                    Vec::new()
                }
            },
        }
    }

    pub(crate) fn bool_of(&mut self, v: &Node, key: &str) -> Option<bool> {
        match &v.value {
            Yaml::Bool(b) => Some(*b),
            Yaml::Str(s) if crate::template::Templater::is_template(s) => {
                self.warnings.push(format!(
                    "{}: templated `{key}` is evaluated as false at load time",
                    v.span.location()
                ));
                None
            }
            _ => match converge_modules::args::to_bool(&v.to_json()) {
                Some(b) => Some(b),
                None => {
                    self.error(Diagnostic::at(
                        &v.span,
                        format!("`{key}` must be a boolean, found {}", v.kind_name()),
                    ));
                    None
                }
            },
        }
    }

    /// `when:`-style conditions: a string, a boolean or a list of them.
    pub(crate) fn exprs(&mut self, v: &Node) -> Vec<Expr> {
        let items: Vec<&Node> = match &v.value {
            Yaml::Seq(items) => items.iter().collect(),
            _ => vec![v],
        };
        let mut out = Vec::new();
        for i in items {
            let text = match &i.value {
                Yaml::Bool(b) => {
                    if *b {
                        "True".to_string()
                    } else {
                        "False".to_string()
                    }
                }
                _ => match i.scalar_text() {
                    Some(s) => s,
                    None => {
                        self.error(Diagnostic::at(&i.span, "a condition must be a string"));
                        continue;
                    }
                },
            };
            // Found before any host is touched (Ansible 2.19 finds it when the task runs).
            if let Err(e) = self.templater.check_expr_syntax(&text) {
                self.error(super::task::template_diag(&i.span, &e, "invalid condition"));
            }
            out.push(Expr {
                text,
                span: i.span.clone(),
            });
        }
        out
    }

    /// `vars_files`: file names, or lists of them of which the first that exists is read.
    /// A list is kept as one entry, its names joined by [`VARS_FILES_ALTERNATIVES`].
    fn vars_files(&mut self, v: &Node) -> Vec<Expr> {
        let Some(items) = v.as_seq() else {
            return self
                .string_list(v, "vars_files")
                .into_iter()
                .map(|(text, span)| Expr { text, span })
                .collect();
        };
        let mut out = Vec::new();
        for i in items {
            let text = match &i.value {
                Yaml::Seq(alts) => alts
                    .iter()
                    .filter_map(Node::scalar_text)
                    .collect::<Vec<_>>()
                    .join(VARS_FILES_ALTERNATIVES),
                _ => match i.scalar_text() {
                    Some(t) => t,
                    None => {
                        self.error(Diagnostic::at(
                            &i.span,
                            "vars_files entries must be file names or lists of them",
                        ));
                        continue;
                    }
                },
            };
            out.push(Expr {
                text,
                span: i.span.clone(),
            });
        }
        out
    }

    fn serial(&mut self, v: &Node) -> Vec<Serial> {
        let items: Vec<&Node> = match &v.value {
            Yaml::Seq(items) => items.iter().collect(),
            _ => vec![v],
        };
        let mut out = Vec::new();
        for i in items {
            match &i.value {
                Yaml::Int(n) if *n > 0 => out.push(Serial::Count(*n as usize)),
                Yaml::Str(s) if s.trim().ends_with('%') => {
                    match s.trim().trim_end_matches('%').parse::<f64>() {
                        Ok(p) if p > 0.0 => out.push(Serial::Percent(p)),
                        _ => self.error(Diagnostic::at(
                            &i.span,
                            "serial percentage must be like `30%`",
                        )),
                    }
                }
                Yaml::Str(s) if s.trim().parse::<usize>().is_ok() => {
                    out.push(Serial::Count(s.trim().parse().unwrap_or(1).max(1)))
                }
                _ => self.error(Diagnostic::at(
                    &i.span,
                    "serial must be a number, a percentage or a list of them",
                )),
            }
        }
        out
    }
}

/// `dir/main.yml`, `dir/main.yaml` or `dir/main`.
pub(crate) fn main_file(dir: &Path) -> Option<PathBuf> {
    with_yaml_ext(dir, "main")
}

pub(crate) fn with_yaml_ext(dir: &Path, name: &str) -> Option<PathBuf> {
    [
        format!("{name}.yml"),
        format!("{name}.yaml"),
        name.to_string(),
    ]
    .into_iter()
    .map(|n| dir.join(n))
    .find(|p| p.is_file())
}

pub(crate) fn tags_of(v: &Node) -> Vec<String> {
    match &v.value {
        Yaml::Seq(items) => items.iter().filter_map(Node::scalar_text).collect(),
        _ => v
            .scalar_text()
            .map(|s| {
                s.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn number_of(v: &Node) -> Option<f64> {
    match &v.value {
        Yaml::Int(i) => Some(*i as f64),
        Yaml::Float(f) => Some(*f),
        Yaml::Str(s) => s.trim().trim_end_matches('%').parse().ok(),
        _ => None,
    }
}

/// Load a task file while a play runs (`include_tasks`, `include_role`): the same validation as
/// at start-up, reported as one error for the host that included it.
pub fn load_task_file_at_runtime(
    path: &Path,
    origin: &TaskOrigin,
    templater: &Templater,
) -> Result<Vec<Task>, Diagnostics> {
    let mut loader = Loader::new(templater);
    let tasks = loader.task_file(path, &Inherit::default(), origin, None);
    loader.diags.finish(tasks)
}

/// Load a role's tasks and handlers while a play runs (`include_role`).
pub fn load_role_at_runtime(
    name: &str,
    tasks_from: Option<&str>,
    params: Map<String, Value>,
    playbook_dir: &Path,
    templater: &Templater,
) -> Result<(Vec<Task>, Vec<Task>), Diagnostics> {
    let mut loader = Loader::new(templater);
    let mut seen = HashSet::new();
    let at = Span::file_start(&crate::source::SourceFile::new(
        playbook_dir.join("(include_role)"),
        "",
    ));
    let r = loader.load_role(
        name,
        tasks_from,
        params,
        &Inherit::default(),
        playbook_dir,
        &at,
        &mut seen,
        0,
    );
    loader.diags.finish(r)
}
