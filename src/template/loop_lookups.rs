//! The lookups behind Ansible's list-shaping `with_*` loops: `dict`, `nested`, `together`,
//! `subelements` and `sequence` (with its printf-style `format=`). `items`, `list` and
//! `indexed_items` are one-liners in `lookups.rs`.

use super::collections::subelements_impl;
use super::convert::{json_to_value, to_list, value_to_json};
use super::filters::err;
use super::lookups::{flatten_terms, term_text};
use minijinja::value::{Kwargs, Value};
use minijinja::Error;
use serde_json::{Map, Value as Json};

/// `lookup('dict', d)`: `[{key, value}, ...]`.
pub(super) fn lookup_dict(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let Json::Object(m) = value_to_json(t)? else {
            return Err(err("with_dict expects a dict"));
        };
        for (k, v) in m {
            let mut item = Map::new();
            item.insert("key".into(), Json::String(k));
            item.insert("value".into(), v);
            out.push(json_to_value(&Json::Object(item)));
        }
    }
    Ok(out)
}

pub(super) fn lookup_nested(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let lists: Vec<Vec<Value>> = flatten_terms(terms, 0)?
        .iter()
        .map(to_list)
        .collect::<Result<_, _>>()?;
    if lists.is_empty() {
        return Err(err(
            "with_nested requires at least one element in the nested list",
        ));
    }
    let mut acc: Vec<Vec<Value>> = vec![Vec::new()];
    for list in &lists {
        let mut next = Vec::new();
        for prefix in &acc {
            for item in list {
                let mut row = prefix.clone();
                row.push(item.clone());
                next.push(row);
            }
        }
        if next.len() > 1_000_000 {
            return Err(err("with_nested: result too large"));
        }
        acc = next;
    }
    Ok(acc.into_iter().map(Value::from).collect())
}

/// `lookup('together', a, b)`: zip, padding with `none`.
pub(super) fn lookup_together(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let lists: Vec<Vec<Value>> = terms.iter().map(to_list).collect::<Result<_, _>>()?;
    let len = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..len)
        .map(|i| {
            Value::from(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or_else(|| Value::from(())))
                    .collect::<Vec<_>>(),
            )
        })
        .collect())
}

pub(super) fn lookup_subelements(terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let (list, key, flags) = match terms {
        [list, key] => (list, key, None),
        [list, key, flags] => (list, key, Some(flags)),
        _ => {
            return Err(err(
                "subelements lookup expects a list, a key and optional flags",
            ))
        }
    };
    let mut skip_missing = kwargs
        .get::<Option<Value>>("skip_missing")?
        .is_some_and(|v| v.is_true());
    if let Some(f) = flags {
        if let Ok(Json::Object(m)) = value_to_json(f) {
            skip_missing |= m
                .get("skip_missing")
                .is_some_and(|v| v.as_bool() == Some(true));
        }
    }
    subelements_impl(list, &term_text(key)?, skip_missing)
}

/// `lookup('sequence', 'start=1 end=10 stride=1 format=%d')` or `'count=5'` / `'1-10/2'`.
pub(super) fn lookup_sequence(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let spec = term_text(t)?;
        let (mut start, mut end, mut stride, mut count, mut format) =
            (1i64, None, 1i64, None, None);
        let num = |s: &str| -> Result<i64, Error> {
            let s = s.trim();
            let parsed = if let Some(h) = s.strip_prefix("0x") {
                i64::from_str_radix(h, 16)
            } else if let Some(o) = s.strip_prefix("0o") {
                i64::from_str_radix(o, 8)
            } else {
                s.parse()
            };
            parsed.map_err(|_| err(format!("sequence: can't parse '{s}' as a number")))
        };
        for word in spec.split_whitespace() {
            if let Some((k, v)) = word.split_once('=') {
                match k {
                    "start" => start = num(v)?,
                    "end" => end = Some(num(v)?),
                    "stride" => stride = num(v)?,
                    "count" => count = Some(num(v)?),
                    "format" => format = Some(v.to_string()),
                    other => return Err(err(format!("sequence: unrecognized argument '{other}'"))),
                }
            } else {
                // shortcut form: [start-]end[/stride][:format]
                let (rest, fmt) = match word.split_once(':') {
                    Some((r, f)) => (r, Some(f.to_string())),
                    None => (word, None),
                };
                let (range, st) = match rest.split_once('/') {
                    Some((r, s)) => (r, Some(num(s)?)),
                    None => (rest, None),
                };
                match range.split_once('-') {
                    Some((a, b)) => {
                        start = num(a)?;
                        end = Some(num(b)?);
                    }
                    None => end = Some(num(range)?),
                }
                if let Some(s) = st {
                    stride = s;
                }
                if fmt.is_some() {
                    format = fmt;
                }
            }
        }
        let end = match (end, count) {
            (Some(_), Some(_)) => return Err(err("sequence: can't specify both count and end")),
            (Some(e), None) => e,
            (None, Some(0)) => continue,
            (None, Some(c)) => start + (c - 1) * stride,
            (None, None) => return Err(err("sequence: must specify count or end")),
        };
        if stride == 0 {
            continue;
        }
        if (stride > 0 && end < start) || (stride < 0 && end > start) {
            return Err(err("sequence: to count backwards make stride negative"));
        }
        let mut i = start;
        while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
            out.push(Value::from(py_format_int(
                format.as_deref().unwrap_or("%d"),
                i,
            )));
            if out.len() > 1_000_000 {
                return Err(err("sequence: too many items"));
            }
            i += stride;
        }
    }
    Ok(out)
}

/// Apply a printf-style format with one integer (`%d`, `%02d`, `%x`, `%o`, `%s`).
fn py_format_int(format: &str, n: i64) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || d == '-' {
                spec.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let zero = spec.starts_with('0');
        let left = spec.starts_with('-');
        let width: usize = spec.trim_start_matches(['0', '-']).parse().unwrap_or(0);
        let body = match chars.next() {
            Some('d') | Some('i') | Some('s') | Some('u') => n.to_string(),
            Some('x') => format!("{n:x}"),
            Some('X') => format!("{n:X}"),
            Some('o') => format!("{n:o}"),
            Some('%') => {
                out.push('%');
                continue;
            }
            Some(other) => {
                out.push('%');
                out.push_str(&spec);
                out.push(other);
                continue;
            }
            None => {
                out.push('%');
                continue;
            }
        };
        let pad = width.saturating_sub(body.chars().count());
        if left {
            out.push_str(&body);
            out.extend(std::iter::repeat_n(' ', pad));
        } else if zero {
            out.extend(std::iter::repeat_n('0', pad));
            out.push_str(&body);
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&body);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::template::tests::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn list_lookups() {
        let c = json!({"d": {"a": 1, "b": 2}, "x": 5,
                       "users": [{"name": "u", "keys": ["k1", "k2"]}]});
        let e = |s: &str| eval(s, c.clone());
        assert_eq!(e("lookup('vars', 'x')"), json!(5));
        assert_eq!(e("lookup('vars', 'nope', default=0)"), json!(0));
        assert!(eval_err("lookup('vars', 'nope')", c.clone())
            .message
            .contains("No variable found"));
        assert_eq!(e("query('items', [1, [2, 3]], 4)"), json!([1, [2, 3], 4]));
        assert_eq!(e("query('items', 1, [2, [3]])"), json!([1, 2, [3]]));
        assert_eq!(e("query('list', [1, 2])"), json!([[1, 2]]));
        assert_eq!(
            e("query('dict', d)"),
            json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])
        );
        assert_eq!(
            e("query('indexed_items', ['a', 'b'])"),
            json!([[0, "a"], [1, "b"]])
        );
        assert_eq!(
            e("query('nested', [1, 2], ['a'])"),
            json!([[1, "a"], [2, "a"]])
        );
        assert_eq!(
            e("query('together', [1, 2], ['a'])"),
            json!([[1, "a"], [2, null]])
        );
        assert_eq!(
            e("query('subelements', users, 'keys') | map('last') | list"),
            json!(["k1", "k2"])
        );
        assert_eq!(
            e("query('sequence', 'start=1 end=3')"),
            json!(["1", "2", "3"])
        );
        assert_eq!(
            e("query('sequence', 'count=3 start=0 stride=2 format=host%02d')"),
            json!(["host00", "host02", "host04"])
        );
        assert_eq!(e("query('sequence', '4-6/2')"), json!(["4", "6"]));
        assert!(eval_err("lookup('nope', 1)", c)
            .message
            .contains("lookup plugin 'nope' not found"));
    }
}
