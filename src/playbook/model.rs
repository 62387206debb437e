//! The validated form of a playbook: what the executor runs. Raw YAML never reaches it; every
//! piece keeps the [`Span`] it came from so that runtime errors can still point at the source.

use crate::source::Span;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// A string that is a Jinja expression (`when:`, `failed_when:`...), with its position.
#[derive(Debug, Clone)]
pub struct Expr {
    pub text: String,
    pub span: Span,
}

/// Privilege escalation as written on a play, block or task (unset fields are inherited).
#[derive(Debug, Clone, Default)]
pub struct BecomeOpts {
    pub enabled: Option<bool>,
    pub user: Option<String>,
    pub method: Option<String>,
}

impl BecomeOpts {
    /// Fields set here win over `parent`'s.
    pub fn over(&self, parent: &BecomeOpts) -> BecomeOpts {
        BecomeOpts {
            enabled: self.enabled.or(parent.enabled),
            user: self.user.clone().or_else(|| parent.user.clone()),
            method: self.method.clone().or_else(|| parent.method.clone()),
        }
    }
}

/// Where a task comes from: the role (if any) and the directories relative paths resolve in.
#[derive(Debug, Default)]
pub struct TaskOrigin {
    pub role: Option<String>,
    /// The role's directory (`roles/NAME`), for `role_path` and file/template lookups.
    pub role_path: Option<PathBuf>,
    pub role_defaults: Map<String, Value>,
    pub role_vars: Map<String, Value>,
    /// Parameters given where the role was used (`roles: [{role: x, port: 80}]`).
    pub role_params: Map<String, Value>,
    /// The directory of the playbook (for `playbook_dir`, `files/`, `templates/`).
    pub playbook_dir: PathBuf,
    /// The directory of the file the task was written in (relative `include_tasks`).
    pub file_dir: PathBuf,
}

impl TaskOrigin {
    /// Directories searched, in order, for a `src:` of `copy` (`subdir` = "files") or
    /// `template` (`subdir` = "templates") and for lookups.
    pub fn search_path(&self, subdir: &str) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(role) = &self.role_path {
            dirs.push(role.join(subdir));
            dirs.push(role.clone());
            dirs.push(role.join("tasks"));
        }
        dirs.push(self.file_dir.join(subdir));
        dirs.push(self.file_dir.clone());
        dirs.push(self.playbook_dir.join(subdir));
        dirs.push(self.playbook_dir.clone());
        dirs.dedup();
        dirs
    }
}

#[derive(Debug, Clone)]
pub struct LoopControl {
    /// May be a template (`loop_var: "{{ name }}"`), rendered before the loop runs.
    pub loop_var: String,
    pub index_var: Option<String>,
    pub label: Option<String>,
    pub pause: Option<f64>,
    pub extended: bool,
    /// `extended_allitems: false` leaves `ansible_loop.allitems` out.
    pub extended_allitems: bool,
    /// `break_when`: checked after each item; the loop stops once they all hold.
    pub break_when: Vec<Expr>,
}

impl Default for LoopControl {
    fn default() -> Self {
        LoopControl {
            loop_var: "item".to_string(),
            index_var: None,
            label: None,
            pause: None,
            extended: false,
            extended_allitems: true,
            break_when: Vec::new(),
        }
    }
}

/// `loop:` or a `with_<lookup>:` loop.
#[derive(Debug, Clone, PartialEq)]
pub enum LoopKind {
    /// `loop:` as written (a list or a template yielding one).
    List,
    /// `with_<name>`: the items are what the lookup plugin `name` returns for the terms
    /// (`with_items` → `items`, `with_sequence` → `sequence`, ...).
    With(String),
}

#[derive(Debug, Clone)]
pub struct Loop {
    pub kind: LoopKind,
    pub value: Value,
    pub span: Span,
}

/// What a task does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Run a module (host-side from the modules crate, or engine-side like `debug`).
    Module {
        module: String,
        args: Map<String, Value>,
        /// Where each argument was written, for errors found after templating.
        arg_spans: HashMap<String, Span>,
        /// Set for a module converge has no native version of: Ansible's own, found at load
        /// time (`src/ansible_modules/`).
        ansible: Option<Arc<crate::ansible_modules::AnsibleModule>>,
    },
    Block {
        block: Vec<Task>,
        rescue: Vec<Task>,
        always: Vec<Task>,
    },
    /// `include_tasks` (dynamic: the file name may be a template, loaded per host at run time).
    IncludeTasks {
        file: String,
        vars: Map<String, Value>,
    },
    /// `include_role` (dynamic).
    IncludeRole {
        name: String,
        tasks_from: Option<String>,
        vars: Map<String, Value>,
    },
    /// `meta: flush_handlers` and friends.
    Meta(String),
}

/// One task, with the keywords inherited from enclosing blocks and imports already folded in.
#[derive(Debug, Clone)]
pub struct Task {
    pub name: Option<String>,
    pub span: Span,
    pub action: Action,
    pub when: Vec<Expr>,
    pub loop_: Option<Loop>,
    pub loop_control: LoopControl,
    pub register: Option<String>,
    pub notify: Vec<String>,
    /// Handler topics (`listen:`).
    pub listen: Vec<String>,
    pub changed_when: Option<Vec<Expr>>,
    pub failed_when: Option<Vec<Expr>>,
    pub until: Option<Expr>,
    pub retries: Option<Value>,
    pub delay: Option<Value>,
    pub ignore_errors: Option<Value>,
    pub ignore_unreachable: bool,
    pub tags: Vec<String>,
    pub check_mode: Option<bool>,
    pub diff: Option<bool>,
    pub no_log: Option<Value>,
    pub run_once: bool,
    pub vars: Map<String, Value>,
    pub environment: Option<Value>,
    pub r#become: BecomeOpts,
    pub delegate_to: Option<String>,
    /// `throttle`: at most this many hosts run the task at once (0 or unset: `forks`).
    pub throttle: Option<usize>,
    /// `async` and `poll` as written (templatable).
    pub async_secs: Option<Value>,
    pub poll: Option<Value>,
    pub origin: Arc<TaskOrigin>,
}

impl Task {
    /// The name printed in `TASK [...]`: the task's name, or the module's.
    pub fn display_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        match &self.action {
            Action::Module { module, .. } => module.clone(),
            Action::Block { .. } => "block".to_string(),
            Action::IncludeTasks { file, .. } => format!("include_tasks {file}"),
            Action::IncludeRole { name, .. } => format!("include_role {name}"),
            Action::Meta(m) => format!("meta {m}"),
        }
    }
}

/// How many hosts a play changes at once (`serial:`).
#[derive(Debug, Clone, PartialEq)]
pub enum Serial {
    Count(usize),
    Percent(f64),
}

#[derive(Debug, Clone)]
pub struct Play {
    pub name: String,
    pub hosts: String,
    pub span: Span,
    pub vars: Map<String, Value>,
    pub vars_files: Vec<Expr>,
    pub gather_facts: bool,
    pub r#become: BecomeOpts,
    pub serial: Vec<Serial>,
    pub strategy: Strategy,
    pub max_fail_percentage: Option<f64>,
    pub any_errors_fatal: bool,
    pub check_mode: Option<bool>,
    pub connection: Option<String>,
    pub remote_user: Option<String>,
    pub environment: Option<Value>,
    pub tags: Vec<String>,
    pub pre_tasks: Vec<Task>,
    /// The roles of `roles:`, expanded into their tasks.
    pub role_tasks: Vec<Task>,
    pub tasks: Vec<Task>,
    pub post_tasks: Vec<Task>,
    pub handlers: Vec<Task>,
    pub playbook_dir: PathBuf,
    /// The defaults and vars of every role the play loads (`roles:`, their dependencies,
    /// `import_role`), merged in load order: Ansible shows them to every task of the play,
    /// not only the role's own (unless `private_role_vars`).
    pub role_exports: RoleExports,
}

#[derive(Debug, Clone, Default)]
pub struct RoleExports {
    pub defaults: Map<String, Value>,
    pub vars: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Linear,
    Free,
}

#[derive(Debug, Clone)]
pub struct Playbook {
    pub path: PathBuf,
    pub plays: Vec<Play>,
}
