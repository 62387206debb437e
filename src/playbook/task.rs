//! Parsing one task (or block) from YAML: keywords, the module and its arguments (mapping,
//! `key=value` shorthand or free-form), loops, and the keywords a block passes down to its tasks.

use super::catalog::{self, EngineModule, ModuleInfo, ModuleKind};
use super::keywords;
use super::kv::parse_kv;
use super::load::{tags_of, with_yaml_ext, Loader};
use super::model::*;
use crate::ansible_modules::{self, AnsibleModule};
use crate::diagnostics::Diagnostic;
use crate::source::{SourceFile, Span};
use crate::template::{TemplateError, Templater};
use crate::yaml::{Node, Yaml};
use converge_modules::args::{check_names, nearest};
use converge_modules::Params;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Keywords a block (or an import, or a role entry) passes down to every task inside it.
#[derive(Debug, Clone, Default)]
pub struct Inherit {
    pub when: Vec<Expr>,
    pub tags: Vec<String>,
    pub vars: Map<String, Value>,
    pub r#become: BecomeOpts,
    pub ignore_errors: Option<Value>,
    pub no_log: Option<Value>,
    pub check_mode: Option<bool>,
    pub diff: Option<bool>,
    pub environment: Option<Value>,
    pub delegate_to: Option<String>,
    pub run_once: Option<bool>,
    pub notify: Vec<String>,
    pub throttle: Option<usize>,
    /// `module_defaults` of the play and enclosing blocks, by module name.
    pub module_defaults: Map<String, Value>,
}

/// A diagnostic for a template error inside a YAML value: the position inside the value is
/// added to the value's own position.
pub fn template_diag(span: &Span, e: &TemplateError, what: &str) -> Diagnostic {
    let at = match e.line {
        Some(line) => span.at_relative_line(line, e.col),
        None => span.clone(),
    };
    Diagnostic::at(&at, format!("{what}: {}", e.message))
}

pub(crate) struct TaskParser<'l, 't> {
    pub loader: &'l mut Loader<'t>,
    pub origin: Arc<TaskOrigin>,
}

impl TaskParser<'_, '_> {
    pub fn list(&mut self, node: &Node, inherit: &Inherit) -> Vec<Task> {
        match &node.value {
            Yaml::Null => Vec::new(),
            Yaml::Seq(items) => items.iter().filter_map(|i| self.task(i, inherit)).collect(),
            _ => {
                self.loader.error(Diagnostic::at(
                    &node.span,
                    format!("a task list must be a list, found {}", node.kind_name()),
                ));
                Vec::new()
            }
        }
    }

    fn err(&mut self, d: Diagnostic) {
        self.loader.error(d);
    }

    fn task(&mut self, node: &Node, parent: &Inherit) -> Option<Task> {
        let entries = match node.string_keys("a task") {
            Ok(e) => e,
            Err(d) => {
                self.err(d);
                return None;
            }
        };
        if entries.is_empty() {
            self.err(
                Diagnostic::at(&node.span, "empty task")
                    .with_hint("a task needs a module, e.g. `debug: msg=hello`"),
            );
            return None;
        }
        let is_block = entries.iter().any(|(k, _, _)| k == "block");
        // Split keywords from the action.
        let mut kw: Vec<(String, &Node, &Node)> = Vec::new();
        let mut actions: Vec<(String, &Node, &Node)> = Vec::new();
        for (k, kn, v) in entries {
            let known = if is_block {
                keywords::is_block_keyword(&k)
            } else {
                keywords::is_task_keyword(&k)
            };
            if known {
                if keywords::ACCEPTED_NOT_IMPLEMENTED.contains(&k.as_str()) {
                    self.loader.warnings.push(format!(
                        "{}: task keyword `{k}` is accepted but ignored by converge",
                        kn.span.location()
                    ));
                }
                kw.push((k, kn, v));
            } else if is_block {
                let hint = nearest(
                    &k,
                    keywords::COMMON.iter().chain(keywords::BLOCK_ONLY).copied(),
                )
                .map(|n| format!("did you mean `{n}`?"));
                self.err(
                    Diagnostic::at(&kn.span, format!("`{k}` is not valid on a block"))
                        .with_hint_opt(hint),
                );
            } else {
                actions.push((k, kn, v));
            }
        }
        let mut t = self.keywords(node, &kw, parent);
        let mut inherit_down = self.inherit_from(&t, parent);
        if let Some((_, _, v)) = kw.iter().find(|(k, _, _)| k == "module_defaults") {
            merge_module_defaults(&mut inherit_down.module_defaults, &v.to_json());
        }
        if is_block {
            let mut block = Vec::new();
            let mut rescue = Vec::new();
            let mut always = Vec::new();
            for (k, _, v) in &kw {
                match k.as_str() {
                    "block" => block = self.list(v, &inherit_down),
                    "rescue" => rescue = self.list(v, &inherit_down),
                    "always" => always = self.list(v, &inherit_down),
                    _ => {}
                }
            }
            t.action = Action::Block {
                block,
                rescue,
                always,
            };
            return Some(t);
        }
        // `action: copy src=a dest=b` / `local_action: ...`
        if let Some((_, _, v)) = kw
            .iter()
            .find(|(k, _, _)| k == "action" || k == "local_action")
        {
            let (name, rest) = match &v.value {
                Yaml::Str(s) => {
                    let s = s.trim();
                    // The module may be a template: `action: "{{ pkg_mgr }} name=x"`.
                    let end = match s.strip_prefix("{{").and_then(|r| r.find("}}")) {
                        Some(i) => i + 4,
                        None => s.find(char::is_whitespace).unwrap_or(s.len()),
                    };
                    let (name, rest) = s.split_at(end);
                    (name.to_string(), Some(rest.trim().to_string()))
                }
                Yaml::Map(_) => (
                    v.get("module")
                        .and_then(Node::scalar_text)
                        .unwrap_or_default(),
                    None,
                ),
                _ => (String::new(), None),
            };
            if kw.iter().any(|(k, _, _)| k == "local_action") {
                t.delegate_to = Some("localhost".to_string());
            }
            return self.action(t, &name, v, rest, &kw, &inherit_down);
        }
        match actions.len() {
            0 => {
                self.err(
                    Diagnostic::at(&node.span, "this task has no module to run")
                        .with_hint("add a module, e.g. `debug: msg=hello`, or `block:`"),
                );
                None
            }
            1 => {
                let (name, kn, v) = actions.remove(0);
                self.action_named(t, &name, kn, v, &kw, &inherit_down)
            }
            _ => {
                let names: Vec<&str> = actions.iter().map(|(k, _, _)| k.as_str()).collect();
                for (k, kn, _) in &actions {
                    if catalog::lookup(k).is_none() {
                        let hint = nearest(
                            k,
                            keywords::COMMON
                                .iter()
                                .chain(keywords::TASK_ONLY)
                                .copied()
                                .chain(catalog::all_names()),
                        )
                        .map(|n| format!("did you mean `{n}`?"));
                        self.loader.unknown_module(
                            Diagnostic::at(
                                &kn.span,
                                format!("`{k}` is neither a task keyword nor a known module"),
                            )
                            .with_hint_opt(hint),
                        );
                        return None;
                    }
                }
                self.err(
                    Diagnostic::at(
                        &actions[1].1.span,
                        format!("conflicting action statements: {}", names.join(", ")),
                    )
                    .with_hint("a task runs exactly one module"),
                );
                None
            }
        }
    }

    fn action_named(
        &mut self,
        t: Task,
        name: &str,
        kn: &Node,
        v: &Node,
        kw: &[(String, &Node, &Node)],
        inherit: &Inherit,
    ) -> Option<Task> {
        if catalog::lookup(name).is_none() && !Templater::is_template(name) {
            if let Err(e) = self.ansible_module(name) {
                let hint = nearest(
                    name,
                    catalog::all_names()
                        .into_iter()
                        .chain(keywords::COMMON.iter().copied())
                        .chain(keywords::TASK_ONLY.iter().copied()),
                )
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| self.ansible_not_found(name, &e));
                self.loader.unknown_module(
                    Diagnostic::at(&kn.span, format!("unknown module or keyword `{name}`"))
                        .with_hint(hint),
                );
                return None;
            }
        }
        self.action(t, name, v, None, kw, inherit)
    }

    fn action(
        &mut self,
        mut t: Task,
        name: &str,
        v: &Node,
        free_text: Option<String>,
        kw: &[(String, &Node, &Node)],
        inherit: &Inherit,
    ) -> Option<Task> {
        if Templater::is_template(name) {
            return self.templated_action(t, name, v, free_text);
        }
        let (info, ansible) = match catalog::lookup(name) {
            Some(info) => (info, None),
            None => match self.ansible_module(name) {
                Ok(m) => {
                    let (error, warning) = m.load_notes();
                    if let Some(e) = error {
                        self.err(Diagnostic::at(&v.span, format!("module `{name}`: {e}")));
                        return None;
                    }
                    if let Some(w) = warning {
                        self.loader
                            .warnings
                            .push(format!("{}: {w}", v.span.location()));
                    }
                    (catalog::ansible(name), Some(m))
                }
                Err(e) => {
                    let hint = self.ansible_not_found(name, &e);
                    self.loader.unknown_module(
                        Diagnostic::at(&v.span, format!("unknown module `{name}`")).with_hint(hint),
                    );
                    return None;
                }
            },
        };
        let (mut args, mut arg_spans) = self.args(&info, v, free_text)?;
        // `args:` keyword: merged under the inline arguments.
        if let Some((_, _, a)) = kw.iter().find(|(k, _, _)| k == "args") {
            // `args: "{{ some_mapping }}"`: known when the task runs, under the inline ones.
            if let Some(text) = a.as_str().filter(|t| is_one_expression(t)) {
                if !args.contains_key(ARGS_SPLAT) {
                    args.insert(ARGS_SPLAT.to_string(), Value::String(text.to_string()));
                    arg_spans.insert(ARGS_SPLAT.to_string(), a.span.clone());
                }
            }
            match a.string_keys("args").map_err(|d| (a.as_str().is_some(), d)) {
                Ok(entries) => {
                    for (k, kn, av) in entries {
                        if !args.contains_key(&k) {
                            args.insert(k.clone(), av.to_json());
                            arg_spans.insert(
                                k,
                                if av.is_null() {
                                    kn.span.clone()
                                } else {
                                    av.span.clone()
                                },
                            );
                        }
                    }
                }
                Err((true, _)) if args.contains_key(ARGS_SPLAT) => {}
                Err((_, d)) => self.err(d),
            }
        }
        // Free-form text goes to the module's free-form argument.
        if let Some(ff) = info.free_form {
            if ff != "_raw_params" {
                if let Some(raw) = args.remove("_raw_params") {
                    args.insert(ff.to_string(), raw);
                    if let Some(s) = arg_spans.remove("_raw_params") {
                        arg_spans.insert(ff.to_string(), s);
                    }
                }
            }
        }
        self.apply_module_defaults(name, inherit, kw, &mut args);
        let (info, ansible) = self.native_or_ansible(name, info, ansible, &args);
        let before = self.loader.diags.0.len();
        self.check_args(&info, &args, &arg_spans, &v.span);
        let has_module_defaults = !inherit.module_defaults.is_empty()
            || kw.iter().any(|(k, _, _)| k == "module_defaults");
        // In a file reached only by a dynamic include, a host may never run the task (a
        // role's `setup-RedHat.yml`): the same.
        let deferred = handles_failure(&t) || has_module_defaults || self.loader.dynamic_depth > 0;
        if self.loader.diags.0.len() > before && deferred {
            // The task expects it may fail (`ignore_errors`, `failed_when`), or module defaults
            // of another module may complete it at run time (`package` → `apt`): as in Ansible,
            // the bad arguments fail the task when it runs; a warning now.
            let found: Vec<Diagnostic> = self.loader.diags.0.drain(before..).collect();
            let msg: Vec<String> = found.iter().map(|d| d.message.clone()).collect();
            for d in &found {
                self.loader
                    .warnings
                    .push(format!("{d}  (fails the task when it runs)"));
            }
            let mut fail = Map::new();
            fail.insert("msg".into(), Value::String(msg.join("; ")));
            t.action = Action::Module {
                module: "fail".into(),
                args: fail,
                arg_spans,
                ansible: None,
            };
            return Some(t);
        }
        t.action = match info.kind {
            ModuleKind::Engine(EngineModule::ImportTasks) => {
                let file = args
                    .get("file")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let file = match self.render_static(&file) {
                    Some(f) => f,
                    None => {
                        self.err(
                            Diagnostic::at(
                                &v.span,
                                "import_tasks needs a file name known when the playbook loads",
                            )
                            .with_hint(
                                "only role_path, role_name, playbook_dir and role variables are \
                                 known then; use include_tasks for a name that depends on a host",
                            ),
                        );
                        return None;
                    }
                };
                let path = self.resolve_task_file(&file);
                if !path.is_file() {
                    self.err(Diagnostic::at(
                        arg_spans.get("file").unwrap_or(&v.span),
                        format!("imported task file {} does not exist", path.display()),
                    ));
                    return None;
                }
                let tasks =
                    self.loader
                        .task_file(&path, inherit, &self.origin.clone(), Some(&v.span));
                Action::Block {
                    block: tasks,
                    rescue: Vec::new(),
                    always: Vec::new(),
                }
            }
            ModuleKind::Engine(EngineModule::ImportRole) => {
                let role = args
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let tasks_from = args
                    .get("tasks_from")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let mut seen = std::collections::HashSet::new();
                let dir = self.origin.playbook_dir.clone();
                let (tasks, _handlers) = self.loader.load_role(
                    &role,
                    tasks_from.as_deref(),
                    t.vars.clone(),
                    inherit,
                    &dir,
                    &v.span,
                    &mut seen,
                    0,
                );
                Action::Block {
                    block: tasks,
                    rescue: Vec::new(),
                    always: Vec::new(),
                }
            }
            ModuleKind::Engine(EngineModule::IncludeTasks) => {
                let file = args
                    .get("file")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if file.is_empty() {
                    self.err(Diagnostic::at(&v.span, "include_tasks needs a file name"));
                    return None;
                }
                if !Templater::is_template(&file) {
                    let path = self.resolve_task_file(&file);
                    if !path.is_file() {
                        self.err(Diagnostic::at(
                            arg_spans.get("file").unwrap_or(&v.span),
                            format!("included task file {} does not exist", path.display()),
                        ));
                        return None;
                    }
                    // Validate it now, so a typo there is found before any host is touched.
                    self.loader.dynamic_depth += 1;
                    let _ = self.loader.task_file(
                        &path,
                        &Inherit::default(),
                        &self.origin.clone(),
                        Some(&v.span),
                    );
                    self.loader.dynamic_depth -= 1;
                }
                Action::IncludeTasks {
                    file,
                    vars: Map::new(),
                }
            }
            ModuleKind::Engine(EngineModule::IncludeRole) => {
                let role = args
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if !Templater::is_template(&role)
                    && self
                        .loader
                        .find_role(&role, &self.origin.playbook_dir)
                        .is_none()
                {
                    self.err(Diagnostic::at(
                        arg_spans.get("name").unwrap_or(&v.span),
                        format!("role `{role}` not found"),
                    ));
                    return None;
                }
                Action::IncludeRole {
                    name: role,
                    tasks_from: args
                        .get("tasks_from")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    vars: Map::new(),
                }
            }
            ModuleKind::Engine(EngineModule::Meta) => Action::Meta(
                args.get("_raw_params")
                    .and_then(Value::as_str)
                    .unwrap_or("noop")
                    .to_string(),
            ),
            _ => {
                self.check_controller_files(info.name, &args, &arg_spans, &v.span);
                Action::Module {
                    module: info.name.to_string(),
                    args,
                    arg_spans,
                    ansible,
                }
            }
        };
        Some(t)
    }

    /// A task whose module is a template (`action: "{{ ansible_facts.pkg_mgr }}"`): found when
    /// it runs, for each host, and its arguments checked then.
    fn templated_action(
        &mut self,
        mut t: Task,
        name: &str,
        v: &Node,
        free_text: Option<String>,
    ) -> Option<Task> {
        let (args, arg_spans) = self.args(&catalog::ansible(name), v, free_text)?;
        t.action = Action::Module {
            module: name.to_string(),
            args,
            arg_spans,
            ansible: None,
        };
        Some(t)
    }

    /// A native module given arguments it does not support runs as Ansible's own module
    /// instead, when Ansible has it as a plain module (no controller-side action plugin, whose
    /// work converge could not do): the playbook keeps working, natively where converge can.
    fn native_or_ansible(
        &self,
        name: &str,
        info: ModuleInfo,
        ansible: Option<Arc<AnsibleModule>>,
        args: &Map<String, Value>,
    ) -> (ModuleInfo, Option<Arc<AnsibleModule>>) {
        let (ModuleKind::Host(_), Some(spec)) = (info.kind, info.spec) else {
            return (info, ansible);
        };
        if args.contains_key(ARGS_SPLAT) || check_names(spec, args).is_empty() {
            return (info, ansible);
        }
        let unknown: Vec<String> = check_names(spec, args)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        match self.ansible_module(name) {
            Ok(m) if !has_action_plugin(&m.path) && declares_args(&m.path, &unknown) => {
                (catalog::ansible(name), Some(m))
            }
            _ => (info, ansible),
        }
    }

    /// `module_defaults` of the play, blocks and task, for this module: arguments the task
    /// does not give. Keys may be the short name or the FQCN (`ansible.builtin.x`).
    fn apply_module_defaults(
        &mut self,
        name: &str,
        inherit: &Inherit,
        kw: &[(String, &Node, &Node)],
        args: &mut Map<String, Value>,
    ) {
        let mut defaults = inherit.module_defaults.clone();
        if let Some((_, _, v)) = kw.iter().find(|(k, _, _)| k == "module_defaults") {
            merge_module_defaults(&mut defaults, &v.to_json());
        }
        let short = catalog::short_name(name);
        for (module, values) in &defaults {
            if module == name || catalog::short_name(module) == short {
                if let Value::Object(m) = values {
                    for (k, v) in m {
                        args.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
    }

    /// A module converge has no native version of, among Ansible's (`src/ansible_modules/`).
    fn ansible_module(&self, name: &str) -> Result<Arc<AnsibleModule>, ansible_modules::Error> {
        ansible_modules::locate::resolve(name, &self.library_dirs())
    }

    fn ansible_not_found(&self, name: &str, e: &ansible_modules::Error) -> String {
        ansible_modules::locate::not_found_hint(name, e, &self.library_dirs())
    }

    fn library_dirs(&self) -> Vec<PathBuf> {
        let o = &self.origin;
        ansible_modules::locate::library_dirs(o.role_path.as_deref(), &o.playbook_dir)
    }

    /// Render a static import's name with what is known at load time, as Ansible does:
    /// `role_path`, `role_name`, `playbook_dir` and the role's variables.
    fn render_static(&self, text: &str) -> Option<String> {
        if !Templater::is_template(text) {
            return Some(text.to_string());
        }
        let o = &self.origin;
        let mut vars = o.role_defaults.clone();
        vars.extend(o.role_vars.clone());
        vars.extend(o.role_params.clone());
        let dir = |p: &Path| Value::String(p.display().to_string());
        vars.insert("playbook_dir".into(), dir(&o.playbook_dir));
        if let Some(r) = &o.role_path {
            vars.insert("role_path".into(), dir(r));
        }
        if let Some(r) = &o.role {
            vars.insert("role_name".into(), Value::String(r.clone()));
        }
        let ctx = crate::template::convert::json_to_value(&Value::Object(vars));
        self.loader.templater.render(text, &ctx).ok()
    }

    fn resolve_task_file(&self, file: &str) -> PathBuf {
        task_file_path(&self.origin, file)
    }

    /// Module arguments from a mapping, a `key=value` string or free-form text.
    fn args(
        &mut self,
        info: &ModuleInfo,
        v: &Node,
        free_text: Option<String>,
    ) -> Option<(Map<String, Value>, HashMap<String, Span>)> {
        let mut args = Map::new();
        let mut spans = HashMap::new();
        let text = free_text.or_else(|| match &v.value {
            Yaml::Map(_) | Yaml::Null => None,
            _ => v.scalar_text(),
        });
        if let Some(text) = text
            .as_deref()
            .filter(|t| info.free_form.is_none() && is_one_expression(t))
        {
            // "Args splat": `assert: '{{ item }}'`, the arguments are a mapping known at run time.
            args.insert(ARGS_SPLAT.to_string(), Value::String(text.to_string()));
            spans.insert(ARGS_SPLAT.to_string(), v.span.clone());
        } else if let Some(text) = text {
            let known: Vec<&str> = info
                .spec
                .map(|s| s.iter().map(|a| a.name).collect())
                .unwrap_or_default();
            match parse_kv(&text, info.free_form.is_some(), &known) {
                Ok(m) => {
                    for k in m.keys() {
                        spans.insert(k.clone(), v.span.clone());
                    }
                    args = m;
                }
                Err(e) => {
                    self.err(Diagnostic::at(
                        &v.span,
                        format!("module `{}`: {e}", info.name),
                    ));
                    return None;
                }
            }
        } else if let Yaml::Map(entries) = &v.value {
            {
                for (k, av) in entries {
                    let Some(key) = k.scalar_text() else {
                        self.err(Diagnostic::at(&k.span, "argument names must be strings"));
                        continue;
                    };
                    if key == "module" {
                        continue; // `action: {module: copy, ...}`
                    }
                    spans.insert(key.clone(), k.span.clone());
                    args.insert(key, av.to_json());
                }
            }
        }
        Some((args, spans))
    }

    /// Argument names against the module's spec, literal values' types, and template syntax.
    fn check_args(
        &mut self,
        info: &ModuleInfo,
        args: &Map<String, Value>,
        spans: &HashMap<String, Span>,
        at: &Span,
    ) {
        if args.contains_key(ARGS_SPLAT) {
            return; // checked when the arguments are known, at run time
        }
        if let Some(spec) = info.spec {
            for (key, e) in check_names(spec, args) {
                if args.get(&key).is_some_and(has_template) {
                    continue; // may render to `omit`; the module checks it when it runs
                }
                let span = spans.get(&key).unwrap_or(at);
                self.err(
                    Diagnostic::at(span, format!("module `{}`: {}", info.name, e.message))
                        .with_hint_opt(e.hint),
                );
            }
            if let ModuleKind::Host(m) = info.kind {
                if let Err(e) = m.validate(args) {
                    let span = e.arg.as_ref().and_then(|a| spans.get(a)).unwrap_or(at);
                    let what = match &e.arg {
                        Some(a) => format!("argument `{a}`: {}", e.message),
                        None => e.message.clone(),
                    };
                    self.err(
                        Diagnostic::at(span, format!("module `{}`: {what}", info.name))
                            .with_hint_opt(e.hint.clone()),
                    );
                }
            }
            let templated = args.values().any(has_template);
            if !templated {
                if let Err(e) = Params::new(spec, args) {
                    if !e.message.contains("unsupported") {
                        let span = e.arg.as_ref().and_then(|a| spans.get(a)).unwrap_or(at);
                        self.err(Diagnostic::at(span, format!("module `{}`: {e}", info.name)));
                    }
                }
            }
        }
        for (k, v) in args {
            let span = spans.get(k).unwrap_or(at).clone();
            self.check_templates(v, &span);
        }
    }

    fn check_templates(&mut self, v: &Value, span: &Span) {
        match v {
            Value::String(s) if Templater::is_template(s) => {
                // An error now; a task that plans for failure (`ignore_errors`) gets it when it
                // runs instead, as in Ansible 2.19 (see `action`).
                if let Err(e) = self.loader.templater.check_syntax(s) {
                    self.err(template_diag(span, &e, "template syntax error"));
                }
            }
            Value::Array(items) => items.iter().for_each(|i| self.check_templates(i, span)),
            Value::Object(m) => m.values().for_each(|i| self.check_templates(i, span)),
            _ => {}
        }
    }

    /// `template: src=...` and `copy: src=...` name controller files: find them (and check a
    /// template's syntax) now rather than halfway through a run.
    fn check_controller_files(
        &mut self,
        module: &str,
        args: &Map<String, Value>,
        spans: &HashMap<String, Span>,
        at: &Span,
    ) {
        let subdir = match module {
            "template" => "templates",
            "copy"
                if !args
                    .get("remote_src")
                    .and_then(converge_modules::args::to_bool)
                    .unwrap_or(false) =>
            {
                "files"
            }
            _ => return,
        };
        let Some(src) = args.get("src").and_then(Value::as_str) else {
            return;
        };
        if Templater::is_template(src) {
            return;
        }
        let span = spans.get("src").unwrap_or(at).clone();
        let Some(path) = find_in(&self.origin.search_path(subdir), src) else {
            self.err(
                Diagnostic::at(&span, format!("could not find `{src}`")).with_hint(format!(
                    "searched {}",
                    self.origin
                        .search_path(subdir)
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
            return;
        };
        if module == "template" {
            match SourceFile::read(&path) {
                Ok(file) => {
                    if let Err(e) = self.loader.templater.check_syntax(&file.text) {
                        let line = e.line.unwrap_or(1);
                        let off = file.offset(line, e.col.unwrap_or(1).saturating_sub(1));
                        self.err(Diagnostic::at(
                            &Span::new(&file, off, off + 1),
                            format!("template syntax error: {}", e.message),
                        ));
                    }
                }
                Err(m) => self.err(Diagnostic::at(&span, m)),
            }
        }
    }

    /// Task keywords, with what the enclosing block passes down folded in.
    fn keywords(&mut self, node: &Node, kw: &[(String, &Node, &Node)], parent: &Inherit) -> Task {
        let mut t = Task {
            name: None,
            span: node.span.clone(),
            action: Action::Meta("noop".to_string()),
            when: parent.when.clone(),
            loop_: None,
            loop_control: LoopControl::default(),
            register: None,
            notify: parent.notify.clone(),
            listen: Vec::new(),
            changed_when: None,
            failed_when: None,
            until: None,
            retries: None,
            delay: None,
            ignore_errors: parent.ignore_errors.clone(),
            ignore_unreachable: false,
            tags: parent.tags.clone(),
            check_mode: parent.check_mode,
            diff: parent.diff,
            no_log: parent.no_log.clone(),
            run_once: parent.run_once.unwrap_or(false),
            vars: parent.vars.clone(),
            environment: parent.environment.clone(),
            r#become: parent.r#become.clone(),
            delegate_to: parent.delegate_to.clone(),
            throttle: parent.throttle,
            async_secs: None,
            poll: None,
            origin: Arc::clone(&self.origin),
        };
        for (k, _, v) in kw {
            match k.as_str() {
                "name" => t.name = v.scalar_text(),
                "when" => t.when.extend(self.loader.exprs(v)),
                "loop" => {
                    t.loop_ = Some(Loop {
                        kind: LoopKind::List,
                        value: v.to_json(),
                        span: v.span.clone(),
                    })
                }
                with if keywords::with_lookup(with).is_some() => {
                    let name = keywords::with_lookup(with).unwrap_or_default();
                    t.loop_ = Some(Loop {
                        kind: LoopKind::With(name.to_string()),
                        value: v.to_json(),
                        span: v.span.clone(),
                    })
                }
                "loop_control" => t.loop_control = self.loop_control(v),
                "register" => match v.as_str() {
                    Some(r)
                        if !r.is_empty() && r.chars().all(|c| c.is_alphanumeric() || c == '_') =>
                    {
                        t.register = Some(r.to_string())
                    }
                    _ => self.err(Diagnostic::at(
                        &v.span,
                        "`register` must be a variable name",
                    )),
                },
                "notify" => {
                    t.notify = self
                        .loader
                        .string_list(v, "notify")
                        .into_iter()
                        .map(|(s, _)| s)
                        .collect()
                }
                "listen" => {
                    t.listen = self
                        .loader
                        .string_list(v, "listen")
                        .into_iter()
                        .map(|(s, _)| s)
                        .collect()
                }
                "changed_when" => t.changed_when = Some(self.loader.exprs(v)),
                "failed_when" => t.failed_when = Some(self.loader.exprs(v)),
                "until" => t.until = self.loader.exprs(v).into_iter().next(),
                "retries" => t.retries = Some(v.to_json()),
                "delay" => t.delay = Some(v.to_json()),
                "ignore_errors" => t.ignore_errors = Some(v.to_json()),
                "ignore_unreachable" => {
                    t.ignore_unreachable = self.loader.bool_of(v, k).unwrap_or(false)
                }
                "tags" => t.tags.extend(tags_of(v)),
                "check_mode" => t.check_mode = self.loader.bool_of(v, k),
                "diff" => t.diff = self.loader.bool_of(v, k),
                "no_log" => t.no_log = Some(v.to_json()),
                "run_once" => t.run_once = self.loader.bool_of(v, k).unwrap_or(false),
                "async" => t.async_secs = Some(v.to_json()),
                "poll" => t.poll = Some(v.to_json()),
                "throttle" => match v.scalar_text().and_then(|s| s.trim().parse().ok()) {
                    Some(n) => t.throttle = Some(n),
                    None => self.err(Diagnostic::at(&v.span, "`throttle` must be a number")),
                },
                "vars" => {
                    let m = self.loader.vars_map(v, "task vars");
                    t.vars.extend(m);
                }
                "environment" => {
                    // Merged over what the block and play set, as Ansible does.
                    t.environment = Some(match (t.environment.take(), v.to_json()) {
                        (Some(Value::Object(mut parent)), Value::Object(own)) => {
                            parent.extend(own);
                            Value::Object(parent)
                        }
                        (_, own) => own,
                    })
                }
                "become" => t.r#become.enabled = self.loader.bool_of(v, k),
                "become_user" => t.r#become.user = v.scalar_text(),
                "become_method" => t.r#become.method = v.scalar_text(),
                "delegate_to" => t.delegate_to = v.scalar_text(),
                _ => {}
            }
        }
        t.tags.sort();
        t.tags.dedup();
        t
    }

    /// What a block passes to the tasks inside it: its own keywords on top of its parent's.
    fn inherit_from(&self, t: &Task, parent: &Inherit) -> Inherit {
        Inherit {
            module_defaults: parent.module_defaults.clone(),
            when: t.when.clone(),
            tags: t.tags.clone(),
            vars: t.vars.clone(),
            r#become: t.r#become.clone(),
            ignore_errors: t.ignore_errors.clone(),
            no_log: t.no_log.clone(),
            check_mode: t.check_mode,
            diff: t.diff,
            environment: t.environment.clone(),
            delegate_to: t.delegate_to.clone(),
            run_once: Some(t.run_once),
            notify: t.notify.clone(),
            throttle: t.throttle,
        }
    }

    fn loop_control(&mut self, v: &Node) -> LoopControl {
        let mut lc = LoopControl::default();
        for (k, kn, val) in v.string_keys("loop_control").unwrap_or_default() {
            match k.as_str() {
                "loop_var" => lc.loop_var = val.scalar_text().unwrap_or_else(|| "item".into()),
                "index_var" => lc.index_var = val.scalar_text(),
                "label" => lc.label = val.scalar_text(),
                "pause" => lc.pause = val.scalar_text().and_then(|s| s.parse().ok()),
                "extended" => lc.extended = self.loader.bool_of(val, "extended").unwrap_or(false),
                "extended_allitems" => {
                    lc.extended_allitems = self.loader.bool_of(val, &k).unwrap_or(true)
                }
                "break_when" => lc.break_when = self.loader.exprs(val),
                _ => {
                    let hint =
                        nearest(&k, LOOP_CONTROL_OPTIONS).map(|n| format!("did you mean `{n}`?"));
                    self.err(
                        Diagnostic::at(&kn.span, format!("`{k}` is not a loop_control option"))
                            .with_hint_opt(hint),
                    );
                }
            }
        }
        lc
    }
}

const LOOP_CONTROL_OPTIONS: [&str; 7] = [
    "loop_var",
    "index_var",
    "label",
    "pause",
    "extended",
    "extended_allitems",
    "break_when",
];

fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => Templater::is_template(s),
        Value::Array(a) => a.iter().any(has_template),
        Value::Object(m) => m.values().any(has_template),
        _ => false,
    }
}

/// Does the task plan for its own failure, so that bad arguments are its runtime failure?
fn handles_failure(t: &Task) -> bool {
    let ignored = match &t.ignore_errors {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => {
            Templater::is_template(s)
                || converge_modules::args::to_bool(&Value::String(s.clone())) == Some(true)
        }
        _ => false,
    };
    ignored || t.failed_when.is_some()
}

/// Does the module's source declare these arguments (`name=dict(`, or the name quoted, as in
/// an argument spec or an alias list)? A typo stays a load-time error instead of becoming a
/// run-time failure of Ansible's module.
fn declares_args(module: &Path, names: &[String]) -> bool {
    let Ok(src) = std::fs::read_to_string(module) else {
        return false;
    };
    names.iter().all(|n| {
        [format!("{n}=dict("), format!("'{n}'"), format!("\"{n}\"")]
            .iter()
            .any(|p| src.contains(p.as_str()))
    })
}

/// Does Ansible run this module through an action plugin of the same name (controller-side
/// work: `copy`, `template`, `package`, ...)? Core modules live in `ansible/modules/`, their
/// action plugins in `ansible/plugins/action/`; a collection's in `plugins/modules/` and
/// `plugins/action/`.
fn has_action_plugin(module: &Path) -> bool {
    let (Some(dir), Some(file)) = (module.parent(), module.file_name()) else {
        return false;
    };
    let Some(up) = dir.parent() else { return false };
    [up.join("plugins/action"), up.join("action")]
        .iter()
        .any(|d| d.join(file).is_file())
}

/// Merge a `module_defaults` value (a mapping of module name to arguments, or a list of such
/// mappings) into `into`; later values win argument by argument, as in Ansible.
pub fn merge_module_defaults(into: &mut Map<String, Value>, v: &Value) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| merge_module_defaults(into, i)),
        Value::Object(m) => {
            for (module, args) in m {
                let entry = into
                    .entry(module.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let (Value::Object(e), Value::Object(a)) = (entry, args) {
                    e.extend(a.clone());
                }
            }
        }
        _ => {}
    }
}

/// Where a module's arguments given as one template expression (`assert: '{{ item }}'`) wait
/// to be rendered into a mapping at run time.
pub const ARGS_SPLAT: &str = "__converge_args_splat";

/// Is `text` exactly one `{{ expression }}`?
fn is_one_expression(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("{{") && t.ends_with("}}") && t.matches("{{").count() == 1
}

/// The first directory of `dirs` holding `rel` (or `rel` itself when absolute).
pub fn find_in(dirs: &[PathBuf], rel: &str) -> Option<PathBuf> {
    let p = Path::new(rel);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    dirs.iter().map(|d| d.join(rel)).find(|c| c.exists())
}

/// Where an `include_tasks`/`import_tasks` file name resolves, as Ansible searches: the
/// including file's directory, then (in a role) the role's `tasks/` (so a role's handlers can
/// include task files), then the playbook's directory. Used at load and at run time.
pub fn task_file_path(origin: &TaskOrigin, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let role_tasks = origin.role_path.as_ref().map(|r| r.join("tasks"));
    let dirs: Vec<&PathBuf> = [
        Some(&origin.file_dir),
        role_tasks.as_ref(),
        Some(&origin.playbook_dir),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(found) = dirs.iter().map(|d| d.join(file)).find(|c| c.is_file()) {
        return found;
    }
    with_yaml_ext(&origin.file_dir, file).unwrap_or_else(|| origin.file_dir.join(file))
}
