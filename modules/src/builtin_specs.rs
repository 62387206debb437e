//! Argument specs of the modules the engine runs itself (`debug`, `set_fact`, `assert`, `fail`,
//! `meta`, `include_*`/`import_*`, `setup`/`gather_facts`), so that the engine validates their
//! arguments with the same [`check_names`](crate::args::check_names) as every other module,
//! before any host is touched.
//!
//! `set_fact` accepts any key: its spec is [`ANY_ARG`] (a single entry named `*`), which
//! `check_names` treats as "every name is valid". Use [`accepts_any`] to test for it.

use crate::args::{ArgKind, ArgSpec, ANY_ARG};

const DEBUG: &[ArgSpec] = &[
    ArgSpec::new("msg", ArgKind::Raw),
    ArgSpec::new("var", ArgKind::Str),
    ArgSpec::new("verbosity", ArgKind::Int),
];

const SET_FACT: &[ArgSpec] = &[ANY_ARG];

const ASSERT: &[ArgSpec] = &[
    ArgSpec::new("that", ArgKind::List).required(),
    ArgSpec::new("fail_msg", ArgKind::Raw).aliases(&["msg"]),
    ArgSpec::new("success_msg", ArgKind::Raw),
    ArgSpec::new("quiet", ArgKind::Bool),
];

const FAIL: &[ArgSpec] = &[ArgSpec::new("msg", ArgKind::Raw)];

const META: &[ArgSpec] = &[ArgSpec::new("free_form", ArgKind::Str).required().choices(&[
    "flush_handlers",
    "refresh_inventory",
    "noop",
    "clear_facts",
    "clear_host_errors",
    "end_play",
    "end_host",
    "end_batch",
    "end_role",
    "reset_connection",
])];

const SETUP: &[ArgSpec] = &[
    ArgSpec::new("gather_subset", ArgKind::List),
    ArgSpec::new("gather_timeout", ArgKind::Int),
    ArgSpec::new("filter", ArgKind::List),
    ArgSpec::new("fact_path", ArgKind::Str),
];

const INCLUDE_TASKS: &[ArgSpec] = &[
    ArgSpec::new("file", ArgKind::Str).aliases(&["_raw_params"]),
    ArgSpec::new("apply", ArgKind::Dict),
];

const IMPORT_TASKS: &[ArgSpec] = &[ArgSpec::new("file", ArgKind::Str).aliases(&["_raw_params"])];

const INCLUDE_ROLE: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str).required(),
    ArgSpec::new("tasks_from", ArgKind::Str),
    ArgSpec::new("vars_from", ArgKind::Str),
    ArgSpec::new("defaults_from", ArgKind::Str),
    ArgSpec::new("handlers_from", ArgKind::Str),
    ArgSpec::new("apply", ArgKind::Dict),
    ArgSpec::new("public", ArgKind::Bool),
    ArgSpec::new("allow_duplicates", ArgKind::Bool),
    ArgSpec::new("rolespec_validate", ArgKind::Bool),
];

const IMPORT_ROLE: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str).required(),
    ArgSpec::new("tasks_from", ArgKind::Str),
    ArgSpec::new("vars_from", ArgKind::Str),
    ArgSpec::new("defaults_from", ArgKind::Str),
    ArgSpec::new("handlers_from", ArgKind::Str),
    ArgSpec::new("allow_duplicates", ArgKind::Bool),
    ArgSpec::new("rolespec_validate", ArgKind::Bool),
];

const INCLUDE_VARS: &[ArgSpec] = &[
    ArgSpec::new("file", ArgKind::Str).aliases(&["_raw_params"]),
    ArgSpec::new("dir", ArgKind::Str),
    ArgSpec::new("name", ArgKind::Str),
    ArgSpec::new("depth", ArgKind::Int),
    ArgSpec::new("files_matching", ArgKind::Str),
    ArgSpec::new("ignore_files", ArgKind::List),
    ArgSpec::new("extensions", ArgKind::List),
    ArgSpec::new("ignore_unknown_extensions", ArgKind::Bool),
    ArgSpec::new("hash_behaviour", ArgKind::Str).choices(&["replace", "merge"]),
];

/// The spec of a module the engine runs itself, and the argument free-form text goes to.
/// Accepts short and `ansible.builtin.` / `ansible.legacy.` names; `None` for other modules.
pub fn engine_module_spec(name: &str) -> Option<(&'static [ArgSpec], Option<&'static str>)> {
    let short = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name);
    Some(match short {
        "debug" => (DEBUG, None),
        "set_fact" => (SET_FACT, None),
        "assert" => (ASSERT, None),
        "fail" => (FAIL, None),
        "meta" => (META, Some("free_form")),
        "setup" | "gather_facts" => (SETUP, None),
        "include_tasks" => (INCLUDE_TASKS, Some("file")),
        "import_tasks" => (IMPORT_TASKS, Some("file")),
        "include_role" => (INCLUDE_ROLE, None),
        "import_role" => (IMPORT_ROLE, None),
        "include_vars" => (INCLUDE_VARS, Some("file")),
        _ => return None,
    })
}

/// Whether a spec accepts any argument name (`set_fact`).
pub fn accepts_any(spec: &[ArgSpec]) -> bool {
    spec.iter().any(|s| s.name == ANY_ARG.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::check_names;
    use serde_json::json;

    #[test]
    fn lookups() {
        assert!(engine_module_spec("ansible.builtin.debug").is_some());
        assert_eq!(engine_module_spec("meta").unwrap().1, Some("free_form"));
        assert!(engine_module_spec("copy").is_none());
        let (spec, _) = engine_module_spec("set_fact").unwrap();
        assert!(accepts_any(spec));
        let args = json!({"anything": 1, "cacheable": true});
        assert!(check_names(spec, args.as_object().unwrap()).is_empty());
        let (spec, _) = engine_module_spec("debug").unwrap();
        assert!(!accepts_any(spec));
        let errs = check_names(spec, json!({"mgs": "x"}).as_object().unwrap());
        assert_eq!(errs[0].1.hint.as_deref(), Some("did you mean `msg`?"));
    }
}
