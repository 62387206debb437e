//! Python methods on strings, dicts and lists (`name.startswith('web')`, `d.items()`,
//! `d.get('k', 0)`, `s.split(',')`…): Ansible templates are Jinja2 in Python and call them all
//! the time; minijinja has none built in, so they are provided through its unknown-method hook.

use super::convert::{json_to_value, to_list, value_to_json};
use super::filters::err;
use minijinja::value::{from_args, Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.set_unknown_method_callback(call_method);
}

fn unknown() -> Error {
    Error::from(ErrorKind::UnknownMethod)
}

fn call_method(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    match value.kind() {
        ValueKind::String => string_method(value.as_str().unwrap_or_default(), method, args),
        ValueKind::Map => map_method(state, value, method, args),
        ValueKind::Seq => seq_method(value, method, args),
        _ => Err(unknown()),
    }
}

fn chars_arg(chars: Option<&Value>) -> Option<Vec<char>> {
    chars.and_then(|c| c.as_str()).map(|c| c.chars().collect())
}

fn strip<'a>(s: &'a str, chars: Option<&Value>, left: bool, right: bool) -> &'a str {
    let set = chars_arg(chars);
    let matches = |c: char| match &set {
        Some(set) => set.contains(&c),
        None => c.is_whitespace(),
    };
    let mut out = s;
    if left {
        out = out.trim_start_matches(matches);
    }
    if right {
        out = out.trim_end_matches(matches);
    }
    out
}

/// Python's `str.split(sep=None, maxsplit=-1)`.
pub(crate) fn py_split(s: &str, sep: Option<&str>, maxsplit: i64) -> Result<Vec<String>, Error> {
    let limit = usize::try_from(maxsplit).ok();
    match sep {
        Some("") => Err(err("empty separator")),
        Some(sep) => Ok(match limit {
            Some(n) => s.splitn(n + 1, sep).map(String::from).collect(),
            None => s.split(sep).map(String::from).collect(),
        }),
        None => {
            let mut out = Vec::new();
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if limit.is_some_and(|n| out.len() >= n) {
                    out.push(rest.to_string());
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                out.push(rest[..end].to_string());
                rest = rest[end..].trim_start();
            }
            Ok(out)
        }
    }
}

/// Python's `str.rsplit(sep=None, maxsplit=-1)`.
fn py_rsplit(s: &str, sep: Option<&str>, maxsplit: i64) -> Result<Vec<String>, Error> {
    let Ok(n) = usize::try_from(maxsplit) else {
        return py_split(s, sep, -1);
    };
    match sep {
        Some("") => Err(err("empty separator")),
        Some(sep) => {
            let mut v: Vec<String> = s.rsplitn(n + 1, sep).map(String::from).collect();
            v.reverse();
            Ok(v)
        }
        None => {
            let mut out = Vec::new();
            let mut rest = s.trim_end();
            while !rest.is_empty() {
                if out.len() >= n {
                    out.push(rest.to_string());
                    break;
                }
                let start = rest.rfind(char::is_whitespace).map_or(0, |i| i + 1);
                out.push(rest[start..].to_string());
                rest = rest[..start].trim_end();
            }
            out.reverse();
            Ok(out)
        }
    }
}

fn str_list(v: Vec<String>) -> Value {
    Value::from(v.into_iter().map(Value::from).collect::<Vec<_>>())
}

fn affix_matches(arg: &Value, f: impl Fn(&str) -> bool) -> Result<bool, Error> {
    if let Some(s) = arg.as_str() {
        return Ok(f(s));
    }
    for item in to_list(arg)? {
        if item.as_str().is_some_and(&f) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn string_method(s: &str, method: &str, args: &[Value]) -> Result<Value, Error> {
    let no_args = |args: &[Value]| from_args::<()>(args);
    Ok(match method {
        "lower" => {
            no_args(args)?;
            Value::from(s.to_lowercase())
        }
        "upper" => {
            no_args(args)?;
            Value::from(s.to_uppercase())
        }
        "strip" | "lstrip" | "rstrip" => {
            let (chars,): (Option<Value>,) = from_args(args)?;
            let chars = chars.filter(|c| !c.is_none());
            let out = strip(s, chars.as_ref(), method != "rstrip", method != "lstrip");
            Value::from(out)
        }
        "startswith" | "endswith" => {
            let (prefix,): (Value,) = from_args(args)?;
            let ok = if method == "startswith" {
                affix_matches(&prefix, |p| s.starts_with(p))?
            } else {
                affix_matches(&prefix, |p| s.ends_with(p))?
            };
            Value::from(ok)
        }
        "split" | "rsplit" => {
            let (sep, maxsplit, kwargs): (Option<Value>, Option<i64>, Kwargs) = from_args(args)?;
            let sep = match sep {
                Some(v) => Some(v),
                None => kwargs.get::<Option<Value>>("sep")?,
            };
            let maxsplit = match maxsplit {
                Some(m) => m,
                None => kwargs.get::<Option<i64>>("maxsplit")?.unwrap_or(-1),
            };
            kwargs.assert_all_used()?;
            let sep = sep.filter(|v| !v.is_none());
            let sep = sep.as_ref().and_then(|v| v.as_str());
            str_list(if method == "split" {
                py_split(s, sep, maxsplit)?
            } else {
                py_rsplit(s, sep, maxsplit)?
            })
        }
        "splitlines" => {
            let (keepends,): (Option<bool>,) = from_args(args)?;
            if keepends.unwrap_or(false) {
                str_list(s.split_inclusive('\n').map(String::from).collect())
            } else {
                str_list(s.lines().map(String::from).collect())
            }
        }
        "replace" => {
            let (old, new, count): (String, String, Option<i64>) = from_args(args)?;
            match count.and_then(|c| usize::try_from(c).ok()) {
                Some(n) => Value::from(s.replacen(&old, &new, n)),
                None => Value::from(s.replace(&old, &new)),
            }
        }
        "join" => {
            let (items,): (Value,) = from_args(args)?;
            let parts: Vec<String> = to_list(&items)?
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), String::from))
                .collect();
            Value::from(parts.join(s))
        }
        "find" | "rfind" | "index" | "rindex" => {
            let (sub,): (String,) = from_args(args)?;
            let pos = if method.starts_with('r') {
                s.rfind(&sub)
            } else {
                s.find(&sub)
            };
            match pos {
                Some(byte) => Value::from(s[..byte].chars().count() as i64),
                None if method.ends_with("index") => return Err(err("substring not found")),
                None => Value::from(-1),
            }
        }
        "count" => {
            let (sub,): (String,) = from_args(args)?;
            Value::from(if sub.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(&sub).count()
            })
        }
        "isdigit" | "isnumeric" | "isdecimal" => {
            no_args(args)?;
            Value::from(!s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c.is_numeric()))
        }
        "isalpha" => {
            no_args(args)?;
            Value::from(!s.is_empty() && s.chars().all(char::is_alphabetic))
        }
        "isalnum" => {
            no_args(args)?;
            Value::from(!s.is_empty() && s.chars().all(char::is_alphanumeric))
        }
        "isspace" => {
            no_args(args)?;
            Value::from(!s.is_empty() && s.chars().all(char::is_whitespace))
        }
        "islower" => {
            no_args(args)?;
            Value::from(s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase))
        }
        "isupper" => {
            no_args(args)?;
            Value::from(s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase))
        }
        "capitalize" => {
            no_args(args)?;
            let mut chars = s.chars();
            Value::from(match chars.next() {
                Some(f) => f
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect::<String>(),
                None => String::new(),
            })
        }
        "title" => {
            no_args(args)?;
            let mut out = String::with_capacity(s.len());
            let mut prev_alpha = false;
            for c in s.chars() {
                if prev_alpha {
                    out.extend(c.to_lowercase());
                } else {
                    out.extend(c.to_uppercase());
                }
                prev_alpha = c.is_alphabetic();
            }
            Value::from(out)
        }
        "zfill" => {
            let (width,): (usize,) = from_args(args)?;
            let len = s.chars().count();
            if len >= width {
                Value::from(s)
            } else {
                let (sign, digits) = match s.strip_prefix(['-', '+']) {
                    Some(rest) => (&s[..1], rest),
                    None => ("", s),
                };
                Value::from(format!("{sign}{}{digits}", "0".repeat(width - len)))
            }
        }
        "ljust" | "rjust" | "center" => {
            let (width, fill): (usize, Option<String>) = from_args(args)?;
            let fill = fill.and_then(|f| f.chars().next()).unwrap_or(' ');
            let len = s.chars().count();
            let pad = width.saturating_sub(len);
            let (left, right) = match method {
                "ljust" => (0, pad),
                "rjust" => (pad, 0),
                _ => {
                    // CPython: left = pad/2 + (pad & width & 1)
                    let left = pad / 2 + (pad & width & 1);
                    (left, pad - left)
                }
            };
            let f = |n: usize| std::iter::repeat_n(fill, n).collect::<String>();
            Value::from(format!("{}{s}{}", f(left), f(right)))
        }
        "format" => {
            let (positional, kwargs): (&[Value], Kwargs) = from_args(args)?;
            Value::from(py_str_format(s, positional, &kwargs)?)
        }
        _ => return Err(unknown()),
    })
}

/// A subset of Python's `str.format`: `{}`, `{0}`, `{name}`, `{{`/`}}` (format specs ignored).
fn py_str_format(fmt: &str, positional: &[Value], kwargs: &Kwargs) -> Result<String, Error> {
    let mut out = String::new();
    let mut auto = 0usize;
    let mut chars = fmt.chars().peekable();
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), String::from);
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                    field.push(d);
                }
                let name = field.split([':', '!']).next().unwrap_or("").trim();
                let v = if name.is_empty() {
                    auto += 1;
                    positional.get(auto - 1).cloned()
                } else if let Ok(i) = name.parse::<usize>() {
                    positional.get(i).cloned()
                } else {
                    kwargs.get::<Option<Value>>(name)?
                };
                let v =
                    v.ok_or_else(|| err(format!("format: no value for field '{{{field}}}'")))?;
                out.push_str(&text(&v));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn map_method(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    match method {
        "items" => {
            from_args::<()>(args)?;
            state.apply_filter("items", std::slice::from_ref(value))
        }
        "keys" => {
            from_args::<()>(args)?;
            Ok(Value::from(
                value.try_iter()?.checked().collect::<Result<Vec<_>, _>>()?,
            ))
        }
        "values" => {
            from_args::<()>(args)?;
            let mut out = Vec::new();
            for k in value.try_iter()?.checked() {
                out.push(value.get_item(&k?)?);
            }
            Ok(Value::from(out))
        }
        "get" => {
            let (key, default): (Value, Option<Value>) = from_args(args)?;
            let v = value.get_item(&key)?;
            Ok(if v.is_undefined() {
                default.unwrap_or_else(|| Value::from(()))
            } else {
                v
            })
        }
        "copy" => {
            from_args::<()>(args)?;
            Ok(json_to_value(&value_to_json(value)?))
        }
        "__contains__" | "has_key" => {
            let (key,): (Value,) = from_args(args)?;
            Ok(Value::from(!value.get_item(&key)?.is_undefined()))
        }
        _ => Err(unknown()),
    }
}

fn seq_method(value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    match method {
        "index" => {
            let (needle,): (Value,) = from_args(args)?;
            to_list(value)?
                .iter()
                .position(|x| *x == needle)
                .map(|i| Value::from(i as i64))
                .ok_or_else(|| err(format!("{needle} is not in list")))
        }
        "count" => {
            let (needle,): (Value,) = from_args(args)?;
            Ok(Value::from(
                to_list(value)?.iter().filter(|x| **x == needle).count(),
            ))
        }
        "copy" => {
            from_args::<()>(args)?;
            Ok(json_to_value(&value_to_json(value)?))
        }
        _ => Err(unknown()),
    }
}

#[cfg(test)]
mod tests {
    use crate::template::tests::{eval, eval_err};
    use serde_json::json;

    fn e(expr: &str) -> serde_json::Value {
        eval(
            expr,
            json!({"s": "  Hello World  ", "d": {"a": 1, "b": {"c": 2}}, "l": [1, 2, 2], "h": "web01.example.com"}),
        )
    }

    #[test]
    fn string_methods() {
        assert_eq!(e("s.strip()"), json!("Hello World"));
        assert_eq!(e("s.lstrip()"), json!("Hello World  "));
        assert_eq!(e("'xxhixx'.strip('x')"), json!("hi"));
        assert_eq!(e("s.lower().strip()"), json!("hello world"));
        assert_eq!(e("s.upper().strip()"), json!("HELLO WORLD"));
        assert_eq!(e("h.startswith('web')"), json!(true));
        assert_eq!(e("h.startswith(('db', 'web'))"), json!(true));
        assert_eq!(e("h.endswith('.org')"), json!(false));
        assert_eq!(e("h.split('.')"), json!(["web01", "example", "com"]));
        assert_eq!(e("h.split('.', 1)"), json!(["web01", "example.com"]));
        assert_eq!(e("h.rsplit('.', 1)"), json!(["web01.example", "com"]));
        assert_eq!(e("s.split()"), json!(["Hello", "World"]));
        assert_eq!(e("' a  b c '.split(None, 1)"), json!(["a", "b c "]));
        assert_eq!(e("' a  b c '.rsplit(maxsplit=1)"), json!([" a  b", "c"]));
        assert_eq!(e("'a\\nb'.splitlines()"), json!(["a", "b"]));
        assert_eq!(e("h.replace('example', 'test')"), json!("web01.test.com"));
        assert_eq!(e("'-'.join(['a', 'b'])"), json!("a-b"));
        assert_eq!(e("h.find('example')"), json!(6));
        assert_eq!(e("h.find('zzz')"), json!(-1));
        assert_eq!(e("h.count('e')"), json!(3));
        assert_eq!(e("'123'.isdigit()"), json!(true));
        assert_eq!(e("'abc'.isalpha()"), json!(true));
        assert_eq!(e("'hello world'.capitalize()"), json!("Hello world"));
        assert_eq!(e("'hello world'.title()"), json!("Hello World"));
        assert_eq!(e("'42'.zfill(5)"), json!("00042"));
        assert_eq!(e("'ab'.center(6, '*')"), json!("**ab**"));
        assert_eq!(e("'ab'.ljust(4) ~ '|'"), json!("ab  |"));
        assert_eq!(e("'{} and {}'.format(1, 'two')"), json!("1 and two"));
        assert_eq!(e("'{name}:{0}'.format(5, name='x')"), json!("x:5"));
        assert!(eval_err("h.nosuchmethod()", json!({"h": "x"}))
            .message
            .contains("unknown method"));
    }

    #[test]
    fn dict_and_list_methods() {
        assert_eq!(e("d.keys() | list"), json!(["a", "b"]));
        assert_eq!(e("d.values() | list"), json!([1, {"c": 2}]));
        assert_eq!(e("d.items() | list"), json!([["a", 1], ["b", {"c": 2}]]));
        assert_eq!(e("d.get('a')"), json!(1));
        assert_eq!(e("d.get('zz', 7)"), json!(7));
        assert_eq!(e("d.get('zz')"), json!(null));
        assert_eq!(e("d.b.get('c')"), json!(2));
        assert_eq!(e("d.copy()"), json!({"a": 1, "b": {"c": 2}}));
        assert_eq!(e("l.index(2)"), json!(1));
        assert_eq!(e("l.count(2)"), json!(2));
        let out = crate::template::tests::render(
            "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
            json!({"d": {"a": 1}}),
        );
        assert_eq!(out, "a=1;");
    }
}
