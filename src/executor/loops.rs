//! `loop:` and the `with_<lookup>:` forms: turning a task's loop into its list of items, as
//! Ansible's `TaskExecutor._get_loop_items` does.

use crate::playbook::{Action, Loop, LoopKind, Task};
use crate::template::{Templater, WithLoop};
use serde_json::Value;

pub fn items(
    templater: &Templater,
    task: &Task,
    l: &Loop,
    ctx: &minijinja::Value,
) -> Result<Vec<Value>, String> {
    match &l.kind {
        LoopKind::List => match templater.render_value(&l.value, ctx) {
            Ok(Value::Array(a)) => Ok(a),
            Ok(Value::Null) => Ok(Vec::new()),
            Ok(other) => Err(format!(
                "The `loop` value must resolve to a 'list', not '{}'.",
                python_type(&other)
            )),
            Err(e) => Err(e.to_string()),
        },
        LoopKind::With(lookup) => {
            let w = WithLoop {
                lookup,
                terms: &l.value,
                action: action_name(task),
                search_dirs: search_dirs(task),
            };
            templater.with_loop_items(&w, ctx).map_err(|e| e.message)
        }
    }
}

fn action_name(task: &Task) -> &str {
    match &task.action {
        Action::Module { module, .. } => module,
        Action::IncludeTasks { .. } => "include_tasks",
        Action::IncludeRole { .. } => "include_role",
        _ => "",
    }
}

/// Ansible's `ansible_search_path`: the role's directory, the task file's, the playbook's.
pub fn search_dirs(task: &Task) -> Vec<String> {
    let o = &task.origin;
    let mut dirs: Vec<String> = Vec::new();
    for d in [
        o.role_path.as_ref(),
        Some(&o.file_dir),
        Some(&o.playbook_dir),
    ]
    .into_iter()
    .flatten()
    {
        let d = d.display().to_string();
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    dirs
}

fn python_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}
