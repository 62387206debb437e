//! Ansible's general-purpose filters that minijinja lacks or implements differently: `default`
//! with `boolean=`, Ansible's `bool`/`int`/`float` conversions, `ternary`, `mandatory`,
//! `type_debug`, base64 and path helpers, and `quote`.
//!
//! Filters that minijinja's builtins already do the Jinja2/Ansible way (`length`, `first`,
//! `last`, `sort`, `unique`, `join`, `map`, `select`…, `lower`, `replace`, `trim`, `split`,
//! `min`, `max`, `sum`, `round`, `abs`, `list`, `string`, `items`, `zip`) are kept; the tests in
//! this module pin their behaviour. Dict/list, regex, JSON/YAML and hashing filters have their
//! own files.

use super::convert::{ansible_bool, py_type_name, require_defined, to_list};
use base64::Engine;
use minijinja::value::{from_args, Kwargs, Rest, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind};

pub(crate) fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("default", default);
    env.add_filter("d", default);
    env.add_filter("bool", to_bool);
    env.add_filter("int", to_int);
    env.add_filter("float", to_float);
    env.add_filter("ternary", ternary);
    env.add_filter("mandatory", mandatory);
    env.add_filter("type_debug", type_debug);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("basename", basename);
    env.add_filter("dirname", dirname);
    env.add_filter("expanduser", expanduser);
    env.add_filter("splitext", splitext);
    env.add_filter("path_join", path_join);
    env.add_filter("quote", quote);
}

/// `default(value='', boolean=false)`: replace undefined (and, with `boolean`, falsy) values.
/// (Arguments are taken raw: minijinja turns an undefined `Option<Value>` argument into `None`,
/// and `x | default(undefined_var)` must stay undefined, hence an error when printed.)
fn default(value: &Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let values: Vec<Value> = args.0.into_iter().map(ValueOrKwargs::into_value).collect();
    let (positional, kwargs): (&[Value], Kwargs) = from_args(&values)?;
    if positional.len() > 2 {
        return Err(Error::from(ErrorKind::TooManyArguments));
    }
    let default = match positional.first() {
        Some(d) => d.clone(),
        None => match kwargs.peek::<Option<Value>>("default_value")? {
            Some(_) => kwargs.get::<Value>("default_value")?,
            None => Value::from(""),
        },
    };
    let boolean = match positional.get(1) {
        Some(b) => b.is_true(),
        None => kwargs
            .get::<Option<Value>>("boolean")?
            .is_some_and(|b| b.is_true()),
    };
    kwargs.assert_all_used()?;
    if value.is_undefined() || (boolean && !value.is_true()) {
        Ok(default)
    } else {
        Ok(value.clone())
    }
}

/// Ansible's `bool`: yes/on/1/true are true, everything else false.
fn to_bool(value: &Value) -> Result<bool, Error> {
    require_defined(value)?;
    Ok(ansible_bool(value))
}

/// Jinja2's `int(default=0, base=10)`: strings are parsed (Python's rules, falling back to
/// `int(float(s))`), anything unconvertible gives the default instead of an error.
fn to_int(
    value: &Value,
    default: Option<Value>,
    base: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    require_defined(value)?;
    let default = match default {
        Some(d) => d,
        None => kwargs
            .get::<Option<Value>>("default")?
            .unwrap_or_else(|| Value::from(0)),
    };
    let base = match base {
        Some(b) => Some(b),
        None => kwargs.get::<Option<Value>>("base")?,
    };
    kwargs.assert_all_used()?;
    let base = match base {
        Some(b) => u32::try_from(b).map_err(|_| err("int: base must be a number"))?,
        None => 10,
    };
    if !(2..=36).contains(&base) {
        return Err(err("int: base must be between 2 and 36"));
    }
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(i64::from(value.is_true())),
        ValueKind::Number if value.is_integer() => value.clone(),
        ValueKind::Number => match f64::try_from(value.clone()) {
            Ok(f) if f.is_finite() => Value::from(f.trunc() as i128),
            _ => default,
        },
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            match parse_py_int(s, base) {
                Some(i) => Value::from(i),
                None => match parse_py_float(s) {
                    Some(f) if f.is_finite() => Value::from(f.trunc() as i128),
                    _ => default,
                },
            }
        }
        _ => default,
    })
}

/// Python's `int(s, base)`: surrounding whitespace, a sign, `_` between digits and a
/// `0x`/`0o`/`0b` prefix matching the base are allowed.
fn parse_py_int(s: &str, base: u32) -> Option<i128> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let prefix = match base {
        16 => Some("0x"),
        8 => Some("0o"),
        2 => Some("0b"),
        _ => None,
    };
    let digits = match prefix {
        Some(p)
            if digits.len() > 2 && digits.get(..2).is_some_and(|d| d.eq_ignore_ascii_case(p)) =>
        {
            &digits[2..]
        }
        _ => digits,
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let cleaned: String = digits.chars().filter(|c| *c != '_').collect();
    if cleaned.starts_with(['+', '-']) {
        return None;
    }
    let n = i128::from_str_radix(&cleaned, base).ok()?;
    Some(if neg { -n } else { n })
}

/// Python's `float(s)`.
fn parse_py_float(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.starts_with('_') || s.ends_with('_') || s.contains("__") {
        return None;
    }
    let cleaned: String = s.chars().filter(|c| *c != '_').collect();
    let lower = cleaned.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if matches!(body, "inf" | "infinity" | "nan") {
        return cleaned.parse().ok();
    }
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-'))
    {
        return None;
    }
    cleaned.parse().ok()
}

/// Jinja2's `float(default=0.0)`.
fn to_float(value: &Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    require_defined(value)?;
    let default = match default {
        Some(d) => d,
        None => kwargs
            .get::<Option<Value>>("default")?
            .unwrap_or_else(|| Value::from(0.0)),
    };
    kwargs.assert_all_used()?;
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(value.clone()).map_or(default, Value::from),
        ValueKind::String => {
            parse_py_float(value.as_str().unwrap_or_default()).map_or(default, Value::from)
        }
        _ => default,
    })
}

/// `ternary(true_val, false_val, none_val=None)`.
fn ternary(
    value: &Value,
    true_val: Value,
    false_val: Value,
    none_val: Option<Value>,
) -> Result<Value, Error> {
    require_defined(value)?;
    if value.is_none() {
        if let Some(n) = none_val {
            if !n.is_none() {
                return Ok(n);
            }
        }
    }
    Ok(if value.is_true() { true_val } else { false_val })
}

/// `mandatory(msg=None)`: an undefined value is an error ("Mandatory variable 'x' not defined.").
fn mandatory(value: &Value, msg: Option<String>, kwargs: Kwargs) -> Result<Value, Error> {
    let msg = match msg {
        Some(m) => Some(m),
        None => kwargs.get::<Option<String>>("msg")?,
    };
    kwargs.assert_all_used()?;
    if value.is_undefined() {
        return Err(match msg {
            Some(m) => err(m),
            // named by the engine; the message is reworded when converted (see `describe`)
            None => super::convert::undefined_error(value),
        });
    }
    Ok(value.clone())
}

fn type_debug(value: &Value) -> &'static str {
    py_type_name(value)
}

fn string_arg(value: &Value) -> Result<String, Error> {
    require_defined(value)?;
    Ok(match value.as_str() {
        Some(s) => s.to_string(),
        None => value.to_string(),
    })
}

fn b64encode(value: &Value) -> Result<String, Error> {
    Ok(base64::engine::general_purpose::STANDARD.encode(string_arg(value)?.as_bytes()))
}

fn b64decode(value: &Value) -> Result<String, Error> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let s: String = string_arg(value)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(s.as_bytes()).ok())
        .ok_or_else(|| err("b64decode: the value is not valid base64"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Python's `os.path.basename`.
fn basename(value: &Value) -> Result<String, Error> {
    let p = string_arg(value)?;
    Ok(match p.rfind('/') {
        Some(i) => p[i + 1..].to_string(),
        None => p,
    })
}

/// Python's `os.path.dirname`.
fn dirname(value: &Value) -> Result<String, Error> {
    let p = string_arg(value)?;
    let head = match p.rfind('/') {
        Some(i) => &p[..i + 1],
        None => "",
    };
    if !head.is_empty() && !head.chars().all(|c| c == '/') {
        Ok(head.trim_end_matches('/').to_string())
    } else {
        Ok(head.to_string())
    }
}

fn expanduser(value: &Value) -> Result<String, Error> {
    let p = string_arg(value)?;
    let home = std::env::var("HOME").unwrap_or_default();
    if p == "~" {
        return Ok(home);
    }
    Ok(match p.strip_prefix("~/") {
        Some(rest) if !home.is_empty() => format!("{}/{rest}", home.trim_end_matches('/')),
        _ => p,
    })
}

/// Python's `os.path.splitext`, as a two-item list.
fn splitext(value: &Value) -> Result<Value, Error> {
    let p = string_arg(value)?;
    let base_start = p.rfind('/').map_or(0, |i| i + 1);
    let base = &p[base_start..];
    let leading_dots = base.len() - base.trim_start_matches('.').len();
    let (root, ext) = match base[leading_dots..].rfind('.') {
        Some(i) => {
            let cut = base_start + leading_dots + i;
            (p[..cut].to_string(), p[cut..].to_string())
        }
        None => (p.clone(), String::new()),
    };
    Ok(Value::from(vec![Value::from(root), Value::from(ext)]))
}

/// Python's `os.path.join(*parts)`.
fn path_join(value: &Value) -> Result<String, Error> {
    let parts = if value.kind() == ValueKind::String {
        vec![value.clone()]
    } else {
        to_list(value)?
    };
    let mut out = String::new();
    for part in parts {
        let part = string_arg(&part)?;
        if part.starts_with('/') || out.is_empty() {
            out = part;
        } else {
            if !out.ends_with('/') {
                out.push('/');
            }
            out.push_str(&part);
        }
    }
    Ok(out)
}

/// Python's `shlex.quote`.
pub(crate) fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

fn quote(value: &Value) -> Result<String, Error> {
    if value.is_none() {
        return Ok("''".into());
    }
    Ok(shell_quote(&string_arg(value)?))
}

#[cfg(test)]
mod tests {
    use crate::template::tests::render;
    use serde_json::json;

    fn r(src: &str) -> String {
        render(src, json!({}))
    }

    #[test]
    fn default_filter() {
        let c = json!({"x": {"a": 1}, "e": "", "z": 0, "n": null});
        assert_eq!(render("{{ foo | default('dflt') }}", c.clone()), "dflt");
        assert_eq!(render("{{ foo | d('dflt') }}", c.clone()), "dflt");
        assert_eq!(render("{{ x.missing | default(1) }}", c.clone()), "1");
        assert_eq!(render("{{ e | default('x') }}", c.clone()), "");
        assert_eq!(render("{{ e | default('x', true) }}", c.clone()), "x");
        assert_eq!(
            render("{{ z | default('x', boolean=true) }}", c.clone()),
            "x"
        );
        assert_eq!(render("{{ n | default('x') }}", c.clone()), "None");
        assert_eq!(render("{{ foo | default }}", c.clone()), "");
        assert_eq!(render("{{ x.a | default(5) }}", c.clone()), "1");
        assert_eq!(
            render("{{ foo | default(default_value=3) }}", c.clone()),
            "3"
        );
        let e = crate::template::tests::render_err("{{ foo | default(bar) }}", c);
        assert_eq!(e.message, "'bar' is undefined");
    }

    #[test]
    fn bool_int_float() {
        assert_eq!(
            r("{{ 'yes' | bool }} {{ 'no' | bool }} {{ 'on' | bool }} {{ 'OFF' | bool }}"),
            "True False True False"
        );
        assert_eq!(
            r("{{ '1' | bool }} {{ 0 | bool }} {{ 'true' | bool }} {{ none | bool }}"),
            "True False True False"
        );
        assert_eq!(
            r("{{ 'abc' | int }} {{ ' 42 ' | int }} {{ '3.7' | int }} {{ 3.9 | int }}"),
            "0 42 3 3"
        );
        assert_eq!(r("{{ 'x' | int(7) }} {{ 'x' | int(default=8) }} {{ '0x1f' | int(base=16) }} {{ '1_000' | int }}"), "7 8 31 1000");
        assert_eq!(
            r("{{ true | int }} {{ '-5' | int }} {{ none | int }}"),
            "1 -5 0"
        );
        assert_eq!(
            r("{{ 'é1' | int(base=16) }} {{ '0xé' | int(base=16) }}"),
            "0 0"
        );
        assert_eq!(
            r("{{ '1.5' | float }} {{ 'x' | float }} {{ 2 | float }} {{ 'x' | float(1.5) }}"),
            "1.5 0.0 2.0 1.5"
        );
        assert_eq!(render("{{ v | int + 1 }}", json!({"v": "41"})), "42");
    }

    #[test]
    fn ternary_mandatory_type_debug() {
        assert_eq!(
            r("{{ true | ternary('a', 'b') }} {{ 0 | ternary('a', 'b') }}"),
            "a b"
        );
        assert_eq!(
            r("{{ none | ternary('a', 'b', 'n') }} {{ none | ternary('a', 'b') }}"),
            "n b"
        );
        assert_eq!(render("{{ x | mandatory }}", json!({"x": 3})), "3");
        let e = crate::template::tests::render_err("{{ x | mandatory }}", json!({}));
        assert_eq!(e.message, "Mandatory variable 'x' not defined.");
        let e = crate::template::tests::render_err("{{ x | mandatory('set x!') }}", json!({}));
        assert_eq!(e.message, "set x!");
        assert_eq!(r("{{ 1 | type_debug }} {{ 'a' | type_debug }} {{ {} | type_debug }} {{ [] | type_debug }} {{ none | type_debug }}"), "int str dict list NoneType");
    }

    #[test]
    fn expanduser_and_omit() {
        let home = std::env::var("HOME").unwrap_or_default();
        assert_eq!(
            r("{{ '~/x' | expanduser }}"),
            format!("{}/x", home.trim_end_matches('/'))
        );
        assert_eq!(r("{{ '/abs/~' | expanduser }}"), "/abs/~");
        assert_eq!(r("{{ nope | default(omit) }}"), crate::template::OMIT);
    }

    #[test]
    fn base64_paths_quote() {
        assert_eq!(r("{{ 'hello' | b64encode }}"), "aGVsbG8=");
        assert_eq!(
            r("{{ 'aGVsbG8=' | b64decode }} {{ 'aGVsbG8' | b64decode }}"),
            "hello hello"
        );
        assert_eq!(
            r("{{ '/etc/ssh/sshd_config' | basename }} {{ '/etc/ssh/sshd_config' | dirname }}"),
            "sshd_config /etc/ssh"
        );
        assert_eq!(
            r("{{ '/a/b/' | basename }}|{{ 'file' | dirname }}|{{ '/x' | dirname }}"),
            "||/"
        );
        assert_eq!(
            r("{{ 'a/b.tar.gz' | splitext | last }} {{ '.bashrc' | splitext | last }}|"),
            ".gz |"
        );
        assert_eq!(
            r("{{ ['/etc', 'ssh', 'x'] | path_join }} {{ ['a', '/b'] | path_join }}"),
            "/etc/ssh/x /b"
        );
        assert_eq!(
            r("{{ 'simple' | quote }} {{ \"it's here\" | quote }} {{ '' | quote }}"),
            "simple 'it'\"'\"'s here' ''"
        );
    }

    #[test]
    fn builtin_filters_behave_like_jinja2() {
        let c = json!({"l": [3, 1, 2], "s": "  Hi There  ", "users": [{"n": "a", "on": true}, {"n": "b", "on": false}, {"n": "c"}]});
        let e = |s: &str| crate::template::tests::eval(s, c.clone());
        assert_eq!(e("l | length"), json!(3));
        assert_eq!(e("l | first"), json!(3));
        assert_eq!(e("l | last"), json!(2));
        assert_eq!(e("l | sort | list"), json!([1, 2, 3]));
        assert_eq!(e("l | sort(reverse=true) | list"), json!([3, 2, 1]));
        assert_eq!(e("l | min"), json!(1));
        assert_eq!(e("l | max"), json!(3));
        assert_eq!(e("l | sum"), json!(6));
        assert_eq!(e("-3 | abs"), json!(3));
        assert_eq!(e("2.567 | round(1)"), json!(2.6));
        assert_eq!(e("s | trim"), json!("Hi There"));
        assert_eq!(e("s | lower | trim"), json!("hi there"));
        assert_eq!(e("s | upper | trim"), json!("HI THERE"));
        assert_eq!(e("s | replace('Hi', 'Bye') | trim"), json!("Bye There"));
        assert_eq!(e("s | split"), json!(["Hi", "There"]));
        assert_eq!(e("'a,b,c' | split(',')"), json!(["a", "b", "c"]));
        assert_eq!(e("l | join('-')"), json!("3-1-2"));
        assert_eq!(e("'ab' | list"), json!(["a", "b"]));
        assert_eq!(e("5 | string"), json!("5"));
        assert_eq!(
            e("users | map(attribute='n') | list"),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            e("users | selectattr('on', 'defined') | map(attribute='n') | list"),
            json!(["a", "b"])
        );
        assert_eq!(
            e("users | selectattr('on') | map(attribute='n') | list"),
            json!(["a"])
        );
        assert_eq!(
            e("users | rejectattr('on') | map(attribute='n') | list"),
            json!(["b", "c"])
        );
        assert_eq!(
            e("users | selectattr('n', 'equalto', 'b') | map(attribute='n') | list"),
            json!(["b"])
        );
        assert_eq!(
            e("users | selectattr('n', 'match', '[ab]') | map(attribute='n') | list"),
            json!(["a", "b"])
        );
        assert_eq!(
            e("users | selectattr('n', 'search', 'c') | map(attribute='n') | list"),
            json!(["c"])
        );
        assert_eq!(
            e("['a1', 'b2', 'a3'] | select('match', 'a') | list"),
            json!(["a1", "a3"])
        );
        assert_eq!(
            e("['a1', 'b2', 'a3'] | reject('search', '1') | list"),
            json!(["b2", "a3"])
        );
        assert_eq!(e("[1, 0, 2] | select | list"), json!([1, 2]));
        assert_eq!(e("['1', '2'] | map('int') | list"), json!([1, 2]));
        assert_eq!(e("[1, 2] | map('string') | list"), json!(["1", "2"]));
        assert_eq!(e("range(3) | list"), json!([0, 1, 2]));
    }
}
