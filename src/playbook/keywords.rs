//! The keywords Ansible accepts on plays, blocks and tasks. Anything else is either a module
//! name (on tasks) or an error with the nearest valid keyword as a hint.

pub const PLAY: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "vars_prompt",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "serial",
    "strategy",
    "max_fail_percentage",
    "any_errors_fatal",
    "check_mode",
    "diff",
    "connection",
    "remote_user",
    "environment",
    "tags",
    "pre_tasks",
    "roles",
    "tasks",
    "post_tasks",
    "handlers",
    "ignore_errors",
    "ignore_unreachable",
    "order",
    "force_handlers",
    "collections",
    "module_defaults",
    "no_log",
    "run_once",
    "port",
    "timeout",
    "throttle",
    "fact_path",
    "debugger",
];

/// Keywords valid on tasks and blocks alike.
pub const COMMON: &[&str] = &[
    "name",
    "when",
    "tags",
    "vars",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "ignore_errors",
    "ignore_unreachable",
    "environment",
    "no_log",
    "check_mode",
    "diff",
    "any_errors_fatal",
    "delegate_to",
    "delegate_facts",
    "run_once",
    "connection",
    "remote_user",
    "port",
    "timeout",
    "throttle",
    "collections",
    "module_defaults",
    "debugger",
    "notify",
];

pub const TASK_ONLY: &[&str] = &[
    "action",
    "local_action",
    "args",
    "loop",
    "loop_control",
    "register",
    "listen",
    "changed_when",
    "failed_when",
    "until",
    "retries",
    "delay",
    "async",
    "poll",
];

pub const BLOCK_ONLY: &[&str] = &["block", "rescue", "always"];

/// Keywords converge parses but does not act on yet; using them prints a warning.
pub const ACCEPTED_NOT_IMPLEMENTED: &[&str] = &[
    "vars_prompt",
    "gather_subset",
    "gather_timeout",
    "order",
    "force_handlers",
    "collections",
    "port",
    "timeout",
    "fact_path",
    "debugger",
    "delegate_facts",
    "become_flags",
    "connection",
    "remote_user",
];

/// `with_<lookup>` loops: Ansible's builtin lookup plugins (the loop's items are what the
/// lookup returns; a lookup converge lacks fails when the task runs, naming it).
pub const WITH_LOOPS: &[&str] = &[
    "with_items",
    "with_list",
    "with_dict",
    "with_fileglob",
    "with_indexed_items",
    "with_flattened",
    "with_first_found",
    "with_together",
    "with_sequence",
    "with_subelements",
    "with_nested",
    "with_lines",
    "with_random_choice",
    "with_cartesian",
    "with_inventory_hostnames",
    "with_file",
    "with_env",
    "with_pipe",
    "with_template",
    "with_vars",
    "with_varnames",
    "with_csvfile",
    "with_ini",
    "with_password",
    "with_url",
    "with_config",
    "with_unvault",
];

/// The lookup behind a `with_<name>` keyword (`with_flattened` reads like `with_items`).
pub fn with_lookup(keyword: &str) -> Option<&str> {
    if !WITH_LOOPS.contains(&keyword) {
        return None;
    }
    match keyword {
        "with_flattened" => Some("items"),
        k => k.strip_prefix("with_"),
    }
}

pub fn is_task_keyword(k: &str) -> bool {
    COMMON.contains(&k) || TASK_ONLY.contains(&k) || WITH_LOOPS.contains(&k)
}

pub fn is_block_keyword(k: &str) -> bool {
    COMMON.contains(&k) || BLOCK_ONLY.contains(&k)
}
