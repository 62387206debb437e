//! Play keywords written as templates (`strategy: "{{ test_strategy | default('linear') }}"`,
//! `serial: "{{ n | default(omit) }}"`). Ansible renders them before the play starts, with the
//! extra vars and the play's own `vars`; converge does the same at load time, so the loader can
//! still check the value it gets. A template that needs more (host or inventory variables) is
//! left as written, and the loader reports it as before.

use crate::template::{Templater, OMIT};
use crate::yaml::{Node, Yaml};
use serde_json::{Map, Value};

/// The play keywords rendered here: those whose value decides how the play runs.
pub(crate) const RENDERED: &[&str] = &[
    "strategy",
    "serial",
    "gather_facts",
    "any_errors_fatal",
    "check_mode",
    "become",
    "max_fail_percentage",
];

/// What a templated play keyword renders to.
pub(crate) enum Rendered {
    /// Not a template, or one that cannot be rendered yet: use the node as written.
    AsWritten,
    /// Rendered to `omit`: as if the keyword were absent.
    Omitted,
    /// Rendered: use this node (same span) instead.
    Value(Node),
}

/// Render `v` with the extra vars over the play's literal `vars`.
pub(crate) fn render(
    templater: &Templater,
    v: &Node,
    extra_vars: &Map<String, Value>,
    play_vars: &Map<String, Value>,
) -> Rendered {
    let Yaml::Str(text) = &v.value else {
        return Rendered::AsWritten;
    };
    if !Templater::is_template(text) {
        return Rendered::AsWritten;
    }
    let mut vars = play_vars.clone();
    vars.extend(extra_vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    let ctx = crate::template::convert::json_to_value(&Value::Object(vars));
    let Ok(value) = templater.render_value(&Value::String(text.clone()), &ctx) else {
        return Rendered::AsWritten;
    };
    let yaml = match value {
        Value::String(s) if s == OMIT => return Rendered::Omitted,
        Value::String(s) => Yaml::Str(s),
        Value::Bool(b) => Yaml::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Int(i),
            None => Yaml::Float(n.as_f64().unwrap_or_default()),
        },
        Value::Null => return Rendered::Omitted,
        _ => return Rendered::AsWritten,
    };
    Rendered::Value(Node {
        value: yaml,
        span: v.span.clone(),
    })
}
