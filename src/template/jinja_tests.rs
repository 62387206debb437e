//! Jinja *tests* (`x is defined`, `result is failed`, `v is version('1.2', '>=')` …) that Ansible
//! adds or defines differently from minijinja: the registered-result tests, regex tests,
//! `truthy`/`falsy`, Jinja2's `sequence`, set tests, path tests and version comparison.
//! minijinja's own `defined`, `undefined`, `none`, `string`, `number`, `mapping`, `iterable`,
//! `in`, `eq`/`equalto`… already match and are kept (pinned by the tests below).

use super::convert::{ansible_bool, require_defined, to_list, value_to_json};
use super::filters::err;
use super::regex_filters::regex_test;
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};
use std::cmp::Ordering;

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_test("match", |v: &Value, p: String, kw: Kwargs| {
        regex_test(v, &p, &kw, "match")
    });
    env.add_test("search", |v: &Value, p: String, kw: Kwargs| {
        regex_test(v, &p, &kw, "search")
    });
    env.add_test("regex", |v: &Value, p: String, kw: Kwargs| {
        regex_test(v, &p, &kw, "search")
    });
    env.add_test("failed", failed);
    env.add_test("failure", failed);
    env.add_test("succeeded", succeeded);
    env.add_test("success", succeeded);
    env.add_test("successful", succeeded);
    env.add_test("changed", changed);
    env.add_test("change", changed);
    env.add_test("skipped", skipped);
    env.add_test("skip", skipped);
    env.add_test("unreachable", |v: &Value| {
        result_flag(v, "unreachable", "unreachable")
    });
    env.add_test("reachable", |v: &Value| {
        result_flag(v, "unreachable", "reachable").map(|b| !b)
    });
    env.add_test("truthy", truthy);
    env.add_test("falsy", |v: &Value, kw: Kwargs| truthy(v, kw).map(|b| !b));
    env.add_test("sequence", is_sequence);
    env.add_test("contains", |seq: &Value, item: &Value| contains(seq, item));
    env.add_test("subset", |a: &Value, b: &Value| subset(a, b));
    env.add_test("superset", |a: &Value, b: &Value| subset(b, a));
    env.add_test("all", |v: &Value| {
        Ok::<_, Error>(to_list(v)?.iter().all(Value::is_true))
    });
    env.add_test("any", |v: &Value| {
        Ok::<_, Error>(to_list(v)?.iter().any(Value::is_true))
    });
    env.add_test("version", version_test);
    env.add_test("version_compare", version_test);
    env.add_filter("version_compare", version_test);
    env.add_test("issubset", |a: &Value, b: &Value| subset(a, b));
    env.add_test("issuperset", |a: &Value, b: &Value| subset(b, a));
    env.add_test("timedout", timedout);
    env.add_test("finished", |v: &Value| async_flag(v, "finished"));
    env.add_test("started", |v: &Value| async_flag(v, "started"));
}

/// Read a boolean key of a registered result (a dict), like Ansible's result tests.
fn result_flag(result: &Value, key: &str, test: &str) -> Result<bool, Error> {
    require_defined(result)?;
    if result.kind() != ValueKind::Map {
        return Err(err(format!("The '{test}' test expects a dictionary")));
    }
    let v = result.get_attr(key)?;
    Ok(!v.is_undefined() && ansible_bool_or_truthy(&v))
}

fn ansible_bool_or_truthy(v: &Value) -> bool {
    match v.kind() {
        ValueKind::String => ansible_bool(v),
        _ => v.is_true(),
    }
}

fn failed(result: &Value) -> Result<bool, Error> {
    result_flag(result, "failed", "failed")
}

fn succeeded(result: &Value) -> Result<bool, Error> {
    result_flag(result, "failed", "succeeded").map(|f| !f)
}

/// `changed`: the result's `changed`, or for a loop result, whether any item changed.
fn changed(result: &Value) -> Result<bool, Error> {
    require_defined(result)?;
    if result.kind() != ValueKind::Map {
        return Err(err("The 'changed' test expects a dictionary"));
    }
    let c = result.get_attr("changed")?;
    if !c.is_undefined() {
        return Ok(ansible_bool_or_truthy(&c));
    }
    let results = result.get_attr("results")?;
    if results.kind() == ValueKind::Seq {
        for item in results.try_iter()?.checked() {
            let item = item?;
            if item.kind() == ValueKind::Map {
                let c = item.get_attr("changed")?;
                if !c.is_undefined() && ansible_bool_or_truthy(&c) {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

fn skipped(result: &Value) -> Result<bool, Error> {
    result_flag(result, "skipped", "skipped")
}

/// `truthy(convert_bool=False)`.
fn truthy(value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    let convert = kwargs
        .get::<Option<Value>>("convert_bool")?
        .is_some_and(|v| v.is_true());
    kwargs.assert_all_used()?;
    require_defined(value)?;
    if convert
        && matches!(
            value.kind(),
            ValueKind::String | ValueKind::Bool | ValueKind::Number
        )
    {
        let s = value.to_string().to_ascii_lowercase();
        if matches!(
            s.as_str(),
            "yes" | "on" | "1" | "true" | "no" | "off" | "0" | "false"
        ) {
            return Ok(matches!(s.as_str(), "yes" | "on" | "1" | "true"));
        }
    }
    Ok(value.is_true())
}

/// Jinja2's `sequence`: anything with a length and item access (strings, lists, dicts).
fn is_sequence(value: &Value) -> Result<bool, Error> {
    require_defined(value)?;
    Ok(matches!(
        value.kind(),
        ValueKind::String | ValueKind::Seq | ValueKind::Map | ValueKind::Bytes
    ))
}

fn contains(seq: &Value, item: &Value) -> Result<bool, Error> {
    require_defined(seq)?;
    require_defined(item)?;
    if let (Some(s), Some(sub)) = (seq.as_str(), item.as_str()) {
        return Ok(s.contains(sub));
    }
    Ok(to_list(seq)?.iter().any(|x| x == item))
}

fn subset(a: &Value, b: &Value) -> Result<bool, Error> {
    let b = to_list(b)?;
    Ok(to_list(a)?.iter().all(|x| b.contains(x)))
}

/// `timedout`: the result has a `timedout` dict with a `period`.
fn timedout(result: &Value) -> Result<bool, Error> {
    result_flag(result, "timedout", "timedout")?;
    let t = result.get_attr("timedout")?;
    Ok(t.is_true() && t.get_attr("period").is_ok_and(|p| p.is_true()))
}

/// `finished` / `started`: the async result's flag; true for a result without one.
fn async_flag(result: &Value, key: &str) -> Result<bool, Error> {
    result_flag(result, key, key)?;
    let v = result.get_attr(key)?;
    Ok(v.is_undefined() || ansible_bool_or_truthy(&v))
}

/// One component of a loose version (Python's `LooseVersion`).
#[derive(Debug, PartialEq, Eq)]
enum Part {
    Num(u128),
    Str(String),
}

impl PartialOrd for Part {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Part {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Part::Num(a), Part::Num(b)) => a.cmp(b),
            (Part::Str(a), Part::Str(b)) => a.cmp(b),
            // LooseVersion cannot compare these in Python 3; numbers sort first here
            (Part::Num(_), Part::Str(_)) => Ordering::Less,
            (Part::Str(_), Part::Num(_)) => Ordering::Greater,
        }
    }
}

fn loose_parts(v: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut cur_num = false;
    let flush = |cur: &mut String, num: bool, parts: &mut Vec<Part>| {
        if !cur.is_empty() {
            parts.push(if num {
                cur.parse::<u128>()
                    .map_or_else(|_| Part::Str(cur.clone()), Part::Num)
            } else {
                Part::Str(cur.clone())
            });
            cur.clear();
        }
    };
    for c in v.chars() {
        if c.is_ascii_digit() {
            if !cur_num {
                flush(&mut cur, false, &mut parts);
            }
            cur_num = true;
            cur.push(c);
        } else if c == '.' {
            flush(&mut cur, cur_num, &mut parts);
        } else {
            if cur_num {
                flush(&mut cur, true, &mut parts);
            }
            cur_num = false;
            cur.push(c);
        }
    }
    flush(&mut cur, cur_num, &mut parts);
    parts
}

pub(crate) fn compare_versions(a: &str, b: &str) -> Ordering {
    loose_parts(a.trim()).cmp(&loose_parts(b.trim()))
}

/// `version(other, operator='eq', strict=False, version_type=None)`.
fn version_test(
    value: &Value,
    other: &Value,
    operator: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let operator = match operator {
        Some(o) => o,
        None => kwargs
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".into()),
    };
    let _ = kwargs.get::<Option<Value>>("strict")?;
    let _ = kwargs.get::<Option<Value>>("version_type")?;
    kwargs.assert_all_used()?;
    require_defined(value)?;
    require_defined(other)?;
    let text = |v: &Value| match value_to_json(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => v.to_string(),
    };
    let ord = compare_versions(&text(value), &text(other));
    Ok(match operator.as_str() {
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        other => return Err(err(format!("version: invalid operator '{other}'"))),
    })
}

#[cfg(test)]
mod tests {
    use crate::template::tests::{eval, eval_err};
    use serde_json::json;

    fn t(expr: &str) -> bool {
        let c = json!({
            "ok": {"changed": false, "failed": false},
            "bad": {"failed": true, "changed": false},
            "chg": {"changed": true},
            "skp": {"skipped": true, "changed": false},
            "loop": {"results": [{"changed": false}, {"changed": true}]},
            "d": {"a": 1}, "s": "str", "l": [1, 2], "n": null, "z": 0, "e": "",
        });
        match eval(expr, c) {
            serde_json::Value::Bool(b) => b,
            other => panic!("{expr} gave {other}"),
        }
    }

    #[test]
    fn builtin_tests_kept() {
        assert!(t("d is defined") && t("missing is undefined") && t("d.x is undefined"));
        assert!(t("not (missing is defined)") && t("d.a is defined"));
        assert!(t("n is none") && t("s is string") && t("1 is number") && t("d is mapping"));
        assert!(t("l is iterable") && t("s is iterable") && t("2 is in l") && t("'a' in d"));
        assert!(t("1 is eq 1") && t("l | select('equalto', 2) | list == [2]"));
    }

    #[test]
    fn result_tests() {
        assert!(t("ok is succeeded") && t("ok is success") && t("ok is not failed"));
        assert!(t("bad is failed") && t("bad is not succeeded"));
        assert!(t("chg is changed") && t("ok is not changed") && t("loop is changed"));
        assert!(t("skp is skipped") && t("ok is not skipped"));
        assert!(t("d is not failed") && t("d is reachable") && t("ok is successful"));
        assert!(t("bad is failure") && t("chg is change") && t("skp is skip"));
        assert!(t("{'unreachable': true} is unreachable"));
        let e = eval_err("s is failed", json!({"s": "x"}));
        assert!(e.message.contains("expects a dictionary"), "{}", e.message);
    }

    #[test]
    fn regex_tests() {
        assert!(t("s is match('st')") && t("s is not match('tr')"));
        assert!(t("s is search('tr')") && t("s is regex('^s.r$')"));
        assert!(t("s is match('ST', ignorecase=true)"));
        assert!(t("s is regex('tr', match_type='match') == false"));
        assert!(t("s is regex('str', match_type='fullmatch')"));
    }

    #[test]
    fn truthy_falsy_sequence_contains() {
        assert!(t("s is truthy") && t("z is falsy") && t("e is falsy") && t("l is truthy"));
        assert!(t("'no' is truthy") && t("'no' is falsy(convert_bool=true)"));
        assert!(
            t("s is sequence")
                && t("l is sequence")
                && t("d is sequence")
                && t("not (1 is sequence)")
        );
        assert!(t("l is contains(2)") && t("s is contains('tr')") && t("not (l is contains(5))"));
        assert!(
            t("[1] is subset(l)") && t("l is superset([2])") && t("l is all") && t("[0, 1] is any")
        );
    }

    #[test]
    fn version_tests() {
        assert!(t("'1.2.10' is version('1.2.9', '>')"));
        assert!(t("'1.2' is version('1.2', '==')") && t("'1.2' is version('1.2')"));
        assert!(t("'2.0' is version('10.0', 'lt')") && t("'1.0' is version_compare('1.0', '>=')"));
        assert!(t("'1.2.3' is version('1.2.3-rc1', operator='lt')"));
        assert!(t("'5.15.0-91-generic' is version('5.4', '>=')"));
        assert!(t("'1.0' | version_compare('0.9', 'gt')"));
        let e = eval_err("'1' is version('2', 'bigger')", json!({}));
        assert!(e.message.contains("invalid operator"), "{}", e.message);
    }

    #[test]
    fn async_and_timeout_tests() {
        assert!(t("{} is finished") && t("{'finished': 0} is not finished"));
        assert!(t("{'started': 1} is started"));
        assert!(t("{'timedout': {'period': 5}} is timedout") && t("{} is not timedout"));
    }
}
