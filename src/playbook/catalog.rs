//! Every module name a playbook may use: the host modules of the `converge-modules` crate and
//! the modules the engine itself implements (they need variables, the controller or the play:
//! `debug`, `set_fact`, `include_tasks`, ...).

use converge_modules::{ArgKind, ArgSpec, Module};

/// Modules handled by the engine rather than on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineModule {
    Debug,
    SetFact,
    Assert,
    Fail,
    Meta,
    Setup,
    IncludeTasks,
    ImportTasks,
    IncludeRole,
    ImportRole,
    IncludeVars,
    GroupBy,
    AddHost,
}

#[derive(Clone, Copy)]
pub enum ModuleKind {
    Host(&'static dyn Module),
    Engine(EngineModule),
    /// One of Ansible's own modules, run on the host through ansible-core's payload
    /// (`src/ansible_modules/`); found at load time, its arguments checked by the module itself.
    Ansible,
}

#[derive(Clone, Copy)]
pub struct ModuleInfo {
    /// The short name (`copy` for `ansible.builtin.copy`).
    pub name: &'static str,
    /// `None`: any argument is accepted (`set_fact`).
    pub spec: Option<&'static [ArgSpec]>,
    /// The argument free-form text goes to.
    pub free_form: Option<&'static str>,
    pub kind: ModuleKind,
}

const DEBUG: &[ArgSpec] = &[
    ArgSpec::new("msg", ArgKind::Raw),
    ArgSpec::new("var", ArgKind::Str),
    ArgSpec::new("verbosity", ArgKind::Int),
];
const ASSERT: &[ArgSpec] = &[
    ArgSpec::new("that", ArgKind::Raw).required(),
    ArgSpec::new("fail_msg", ArgKind::Raw).aliases(&["msg"]),
    ArgSpec::new("success_msg", ArgKind::Raw),
    ArgSpec::new("quiet", ArgKind::Bool),
];
const FAIL: &[ArgSpec] = &[ArgSpec::new("msg", ArgKind::Raw)];
const META: &[ArgSpec] = &[ArgSpec::new("_raw_params", ArgKind::Str).choices(&[
    "flush_handlers",
    "noop",
    "end_play",
    "end_host",
    "end_batch",
    "clear_facts",
    "clear_host_errors",
    "refresh_inventory",
    "reset_connection",
])];
const SETUP: &[ArgSpec] = &[
    ArgSpec::new("gather_subset", ArgKind::List),
    ArgSpec::new("filter", ArgKind::Raw),
    ArgSpec::new("gather_timeout", ArgKind::Int),
];
const INCLUDE_TASKS: &[ArgSpec] = &[
    ArgSpec::new("file", ArgKind::Str).aliases(&["_raw_params"]),
    ArgSpec::new("apply", ArgKind::Dict),
];
const INCLUDE_ROLE: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str).required(),
    ArgSpec::new("tasks_from", ArgKind::Str),
    ArgSpec::new("vars_from", ArgKind::Str),
    ArgSpec::new("defaults_from", ArgKind::Str),
    ArgSpec::new("handlers_from", ArgKind::Str),
    ArgSpec::new("apply", ArgKind::Dict),
    ArgSpec::new("public", ArgKind::Bool),
    ArgSpec::new("allow_duplicates", ArgKind::Bool),
];
const GROUP_BY: &[ArgSpec] = &[
    ArgSpec::new("key", ArgKind::Str).required(),
    ArgSpec::new("parents", ArgKind::Raw),
];
const INCLUDE_VARS: &[ArgSpec] = &[
    ArgSpec::new("file", ArgKind::Str).aliases(&["_raw_params"]),
    ArgSpec::new("name", ArgKind::Str),
];

fn engine(name: &str) -> Option<ModuleInfo> {
    use EngineModule::*;
    let (name, spec, free, m): (
        &'static str,
        Option<&'static [ArgSpec]>,
        Option<&'static str>,
        EngineModule,
    ) = match name {
        "debug" => ("debug", Some(DEBUG), None, Debug),
        "set_fact" => ("set_fact", None, None, SetFact),
        "assert" => ("assert", Some(ASSERT), None, Assert),
        "fail" => ("fail", Some(FAIL), None, Fail),
        "meta" => ("meta", Some(META), Some("_raw_params"), Meta),
        "setup" => ("setup", Some(SETUP), None, Setup),
        "gather_facts" => ("gather_facts", Some(SETUP), None, Setup),
        "include_tasks" => (
            "include_tasks",
            Some(INCLUDE_TASKS),
            Some("file"),
            IncludeTasks,
        ),
        "import_tasks" => (
            "import_tasks",
            Some(INCLUDE_TASKS),
            Some("file"),
            ImportTasks,
        ),
        "include" => (
            "include_tasks",
            Some(INCLUDE_TASKS),
            Some("file"),
            IncludeTasks,
        ),
        "include_role" => ("include_role", Some(INCLUDE_ROLE), None, IncludeRole),
        "import_role" => ("import_role", Some(INCLUDE_ROLE), None, ImportRole),
        "group_by" => ("group_by", Some(GROUP_BY), None, GroupBy),
        "add_host" => ("add_host", None, None, AddHost),
        "include_vars" => (
            "include_vars",
            Some(INCLUDE_VARS),
            Some("file"),
            IncludeVars,
        ),
        _ => return None,
    };
    Some(ModuleInfo {
        name,
        spec,
        free_form: free,
        kind: ModuleKind::Engine(m),
    })
}

/// The short name of `ansible.builtin.copy`, `community.docker.docker_container`, ...
pub fn short_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

pub fn lookup(name: &str) -> Option<ModuleInfo> {
    let short = short_name(name);
    if let Some(info) = engine(short) {
        return Some(info);
    }
    converge_modules::registry::find(short).map(|m| ModuleInfo {
        name: m.name(),
        spec: Some(m.spec()),
        free_form: m.free_form(),
        kind: ModuleKind::Host(m),
    })
}

/// The catalog entry of an Ansible module named `name` (any argument accepted: the module
/// checks its own).
pub fn ansible(name: &str) -> ModuleInfo {
    ModuleInfo {
        name: intern(name),
        spec: None,
        free_form: None,
        kind: ModuleKind::Ansible,
    }
}

/// A module name kept for the run (Ansible module names are few and live as long as the run).
fn intern(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(n) = names.get(name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(n);
    n
}

/// Every module name, for "did you mean" hints.
pub fn all_names() -> Vec<&'static str> {
    let mut names = vec![
        "debug",
        "set_fact",
        "assert",
        "fail",
        "meta",
        "setup",
        "gather_facts",
        "include_tasks",
        "import_tasks",
        "include_role",
        "import_role",
        "include_vars",
    ];
    names.extend(converge_modules::registry::all().iter().map(|m| m.name()));
    names
}
