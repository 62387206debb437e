//! The lookups that read the variables of the render: `vars` (values by name, `default=`) and
//! `varnames` (the names matching Python regular expressions).

use super::convert::{py_type_name, require_defined};
use super::filters::err;
use super::regex_filters::{compile, Flags};
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, State};

fn name_of(term: &Value) -> Result<&str, Error> {
    require_defined(term)?;
    term.as_str().ok_or_else(|| {
        err(format!(
            "Variable name must be 'str' not '{}'.",
            py_type_name(term)
        ))
    })
}

/// `lookup('vars', name, ..., default=None)`.
pub(super) fn lookup_vars(
    state: &State,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let default = kwargs
        .get::<Option<Value>>("default")?
        .filter(|d| !d.is_none());
    terms
        .iter()
        .map(|t| {
            let name = name_of(t)?;
            match state.lookup(name) {
                Some(v) if !v.is_undefined() => Ok(v),
                _ => default
                    .clone()
                    .ok_or_else(|| err(format!("No variable named '{name}' was found."))),
            }
        })
        .collect()
}

/// Every variable name the render sees.
fn variable_names(state: &State) -> Result<Vec<String>, Error> {
    let Some(all) = state.lookup("vars").filter(|v| v.kind() == ValueKind::Map) else {
        return Ok(Vec::new());
    };
    Ok(all
        .try_iter()?
        .filter_map(|k| k.as_str().map(str::to_string))
        .filter(|k| !k.starts_with("__converge_"))
        .collect())
}

/// `lookup('varnames', regex, ...)`: the names matching any of the patterns (`re.search`).
pub(super) fn lookup_varnames(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let names = variable_names(state)?;
    let mut out = Vec::new();
    for term in terms {
        require_defined(term)?;
        let Some(pattern) = term.as_str() else {
            return Err(err(format!(
                "Invalid setting identifier, \"{term}\" is not a string, it is a {}",
                py_type_name(term)
            )));
        };
        let re = compile(pattern, Flags::default()).map_err(|e| {
            let why = python_regex_reason(&e.to_string());
            err(format!(
                "Unable to use \"{pattern}\" as a search parameter: {why}"
            ))
        })?;
        out.extend(
            names
                .iter()
                .filter(|n| re.is_match(n))
                .map(|n| Value::from(n.as_str())),
        );
    }
    Ok(out)
}

/// Python's wording for the commonest regex error, so messages match Ansible's.
fn python_regex_reason(msg: &str) -> String {
    if msg.contains("repetition operator missing expression") {
        "nothing to repeat at position 0".into()
    } else {
        msg.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn varnames() {
        let vars = json!({"qz_1": 1, "qz_2": 2, "qa_1": 3, "qz_": 4});
        assert_eq!(
            eval(
                "lookup('varnames', '^qz_.+', wantlist=True) | sort",
                vars.clone()
            ),
            json!(["qz_1", "qz_2"])
        );
        assert_eq!(
            eval(
                "lookup('varnames', '^q.*_\\\\d', '^nothing', wantlist=True) | sort",
                vars.clone()
            ),
            json!(["qa_1", "qz_1", "qz_2"])
        );
        assert_eq!(
            eval("lookup('varnames', '^none', wantlist=True)", vars.clone()),
            json!([])
        );
        let e = eval_err("lookup('varnames', '*')", vars.clone());
        assert!(
            e.message.contains("Unable to use") && e.message.contains("nothing to repeat"),
            "{e}"
        );
        let e = eval_err("lookup('varnames', True)", vars);
        assert!(e.message.contains("Invalid setting identifier"), "{e}");
    }

    #[test]
    fn vars() {
        let vars = json!({"a": 1, "b": "x"});
        assert_eq!(
            eval("query('vars', 'a', 'b')", vars.clone()),
            json!([1, "x"])
        );
        assert_eq!(
            eval("lookup('vars', 'zz', default='d')", vars.clone()),
            json!("d")
        );
        let e = eval_err("lookup('vars', 'zz')", vars.clone());
        assert!(
            e.message.contains("No variable named 'zz' was found"),
            "{e}"
        );
        let e = eval_err("lookup('vars', 42)", vars);
        assert!(
            e.message.contains("Variable name must be 'str' not 'int'"),
            "{e}"
        );
    }
}
