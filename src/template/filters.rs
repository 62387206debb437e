//! Ansible's general-purpose filters that minijinja lacks or implements differently: `default`
//! with `boolean=`, Ansible's `bool`/`int`/`float` conversions, `ternary`, `mandatory`,
//! `combine`, `dict2items`/`items2dict`, the set filters, `flatten`, `subelements`, `extract`,
//! base64 and path helpers, and `quote`.
//!
//! Filters that minijinja's builtins already do the Jinja2/Ansible way (`length`, `first`,
//! `last`, `sort`, `unique`, `join`, `map`, `select`…, `lower`, `replace`, `trim`, `split`,
//! `min`, `max`, `sum`, `round`, `abs`, `list`, `string`, `items`, `zip`) are kept; the tests in
//! this module pin their behaviour. Regex, JSON/YAML and hashing filters have their own files.

use super::convert::{
    ansible_bool, json_to_value, py_type_name, require_defined, to_list, value_to_json,
};
use base64::Engine;
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};
use serde_json::{Map, Value as Json};
use std::collections::HashSet;

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
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("dict", to_dict);
    env.add_function("dict", dict_function);
    env.add_filter("union", union);
    env.add_filter("intersect", intersect);
    env.add_filter("difference", difference);
    env.add_filter("symmetric_difference", symmetric_difference);
    env.add_filter("flatten", flatten);
    env.add_filter("product", product);
    env.add_filter("subelements", subelements);
    env.add_filter("extract", extract);
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
fn default(
    value: &Value,
    default: Option<Value>,
    boolean: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default = match default {
        Some(d) => d,
        None => kwargs
            .get::<Option<Value>>("default_value")?
            .unwrap_or_else(|| Value::from("")),
    };
    let boolean = match boolean {
        Some(b) => b.is_true(),
        None => kwargs.get::<Option<Value>>("boolean")?.is_some_and(|b| b.is_true()),
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
        Some(p) if digits.len() > 2 && digits[..2].eq_ignore_ascii_case(p) => &digits[2..],
        _ => digits,
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
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
    if !body.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-')) {
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

fn expect_object(v: &Value, filter: &str) -> Result<Map<String, Json>, Error> {
    require_defined(v)?;
    match value_to_json(v)? {
        Json::Object(m) => Ok(m),
        other => Err(err(format!(
            "{filter} expects a dictionary, got {}",
            json_type(&other)
        ))),
    }
}

fn expect_array(v: &Value, filter: &str) -> Result<Vec<Json>, Error> {
    require_defined(v)?;
    match value_to_json(v)? {
        Json::Array(a) => Ok(a),
        other => Err(err(format!("{filter} expects a list, got {}", json_type(&other)))),
    }
}

pub(crate) fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// `combine(*dicts, recursive=False, list_merge='replace')`.
fn combine(value: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<Value>>("recursive")?.is_some_and(|v| v.is_true());
    let list_merge = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".into());
    kwargs.assert_all_used()?;
    if !matches!(
        list_merge.as_str(),
        "replace" | "keep" | "append" | "prepend" | "append_rp" | "prepend_rp"
    ) {
        return Err(err(format!("combine: invalid list_merge value '{list_merge}'")));
    }
    let mut dicts = Vec::new();
    for term in std::iter::once(value).chain(others.iter()) {
        require_defined(term)?;
        match value_to_json(term)? {
            Json::Array(items) => dicts.extend(items),
            other => dicts.push(other),
        }
    }
    let mut acc = Map::new();
    for d in dicts {
        match d {
            Json::Object(m) => acc = merge_hash(acc, m, recursive, &list_merge),
            other => {
                return Err(err(format!(
                    "combine: all arguments must be dictionaries, got {}",
                    json_type(&other)
                )))
            }
        }
    }
    Ok(json_to_value(&Json::Object(acc)))
}

/// Ansible's `merge_hash`.
pub(crate) fn merge_hash(
    mut x: Map<String, Json>,
    y: Map<String, Json>,
    recursive: bool,
    list_merge: &str,
) -> Map<String, Json> {
    for (key, y_value) in y {
        let merged = match (x.remove_entry_keep(&key), y_value) {
            (None, y_value) => y_value,
            (Some(Json::Object(xm)), Json::Object(ym)) if recursive => {
                Json::Object(merge_hash(xm, ym, recursive, list_merge))
            }
            (Some(Json::Array(xa)), Json::Array(ya)) => Json::Array(match list_merge {
                "keep" => xa,
                "append" => xa.into_iter().chain(ya).collect(),
                "prepend" => ya.into_iter().chain(xa).collect(),
                "append_rp" => xa
                    .into_iter()
                    .filter(|z| !ya.contains(z))
                    .chain(ya.iter().cloned())
                    .collect(),
                "prepend_rp" => {
                    let rest: Vec<Json> = xa.into_iter().filter(|z| !ya.contains(z)).collect();
                    ya.into_iter().chain(rest).collect()
                }
                _ => ya,
            }),
            (Some(_), y_value) => y_value,
        };
        x.insert(key, merged);
    }
    x
}

/// Taking a value out of a map without losing the key's position (the caller re-inserts it).
trait TakeKeepingPosition {
    fn remove_entry_keep(&mut self, key: &str) -> Option<Json>;
}

impl TakeKeepingPosition for Map<String, Json> {
    fn remove_entry_keep(&mut self, key: &str) -> Option<Json> {
        self.get_mut(key).map(|slot| std::mem::replace(slot, Json::Null))
    }
}

/// `dict2items(key_name='key', value_name='value')`.
fn dict2items(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name = kwargs.get::<Option<String>>("key_name")?.unwrap_or_else(|| "key".into());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    let m = expect_object(value, "dict2items")?;
    let items: Vec<Json> = m
        .into_iter()
        .map(|(k, v)| {
            let mut item = Map::new();
            item.insert(key_name.clone(), Json::String(k));
            item.insert(value_name.clone(), v);
            Json::Object(item)
        })
        .collect();
    Ok(json_to_value(&Json::Array(items)))
}

/// `items2dict(key_name='key', value_name='value')`.
fn items2dict(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name = kwargs.get::<Option<String>>("key_name")?.unwrap_or_else(|| "key".into());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    let mut out = Map::new();
    for item in expect_array(value, "items2dict")? {
        let Json::Object(mut m) = item else {
            return Err(err("items2dict expects a list of dictionaries"));
        };
        let key = m
            .remove(&key_name)
            .ok_or_else(|| err(format!("items2dict: an item has no '{key_name}' key")))?;
        let val = m
            .remove(&value_name)
            .ok_or_else(|| err(format!("items2dict: an item has no '{value_name}' key")))?;
        out.insert(json_key(&key), val);
    }
    Ok(json_to_value(&Json::Object(out)))
}

fn json_key(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Build a dict from a mapping or from a list of `[key, value]` pairs.
fn pairs_to_dict(value: &Value) -> Result<Map<String, Json>, Error> {
    require_defined(value)?;
    if value.kind() == ValueKind::Map {
        return expect_object(value, "dict");
    }
    let mut out = Map::new();
    for pair in to_list(value)? {
        let items = to_list(&pair)?;
        if items.len() != 2 {
            return Err(err("dict: expected a list of [key, value] pairs"));
        }
        out.insert(json_key(&value_to_json(&items[0])?), value_to_json(&items[1])?);
    }
    Ok(out)
}

fn to_dict(value: &Value) -> Result<Value, Error> {
    Ok(json_to_value(&Json::Object(pairs_to_dict(value)?)))
}

/// The `dict()` global: `dict(mapping_or_pairs, **kwargs)` (Python's `dict`).
fn dict_function(value: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let mut out = match value {
        Some(v) => pairs_to_dict(&v)?,
        None => Map::new(),
    };
    let keys: Vec<String> = kwargs.args().map(str::to_string).collect();
    for key in keys {
        let v: Value = kwargs.get(&key)?;
        out.insert(key, value_to_json(&v)?);
    }
    kwargs.assert_all_used()?;
    Ok(json_to_value(&Json::Object(out)))
}

fn unique_json(items: impl IntoIterator<Item = Json>) -> Vec<Json> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.to_string()))
        .collect()
}

fn two_lists(a: &Value, b: &Value, filter: &str) -> Result<(Vec<Json>, Vec<Json>), Error> {
    let a = to_list(a)?.iter().map(value_to_json).collect::<Result<Vec<_>, _>>()?;
    let b = to_list(b)?.iter().map(value_to_json).collect::<Result<Vec<_>, _>>();
    b.map(|b| (a, b))
        .map_err(|e| err(format!("{filter}: {e}")))
}

fn union(a: &Value, b: &Value) -> Result<Value, Error> {
    let (a, b) = two_lists(a, b, "union")?;
    Ok(json_to_value(&Json::Array(unique_json(a.into_iter().chain(b)))))
}

fn intersect(a: &Value, b: &Value) -> Result<Value, Error> {
    let (a, b) = two_lists(a, b, "intersect")?;
    let set: HashSet<String> = b.iter().map(Json::to_string).collect();
    Ok(json_to_value(&Json::Array(unique_json(
        a.into_iter().filter(|x| set.contains(&x.to_string())),
    ))))
}

fn difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let (a, b) = two_lists(a, b, "difference")?;
    let set: HashSet<String> = b.iter().map(Json::to_string).collect();
    Ok(json_to_value(&Json::Array(unique_json(
        a.into_iter().filter(|x| !set.contains(&x.to_string())),
    ))))
}

fn symmetric_difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let (a, b) = two_lists(a, b, "symmetric_difference")?;
    let sa: HashSet<String> = a.iter().map(Json::to_string).collect();
    let sb: HashSet<String> = b.iter().map(Json::to_string).collect();
    Ok(json_to_value(&Json::Array(unique_json(
        a.into_iter()
            .filter(|x| !sb.contains(&x.to_string()))
            .chain(b.into_iter().filter(|x| !sa.contains(&x.to_string()))),
    ))))
}

/// `flatten(levels=None, skip_nulls=True)`.
fn flatten(value: &Value, levels: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = match levels {
        Some(l) => Some(l),
        None => kwargs.get::<Option<Value>>("levels")?,
    };
    let skip_nulls = kwargs
        .get::<Option<Value>>("skip_nulls")?
        .is_none_or(|v| v.is_true());
    kwargs.assert_all_used()?;
    let levels = match levels {
        Some(l) if !l.is_none() => {
            Some(i64::try_from(l).map_err(|_| err("flatten: levels must be a number"))?)
        }
        _ => None,
    };
    let items = expect_array(value, "flatten")?;
    let mut out = Vec::new();
    flatten_into(items, levels, skip_nulls, &mut out, 0)?;
    Ok(json_to_value(&Json::Array(out)))
}

fn flatten_into(
    items: Vec<Json>,
    levels: Option<i64>,
    skip_nulls: bool,
    out: &mut Vec<Json>,
    depth: usize,
) -> Result<(), Error> {
    if depth > super::convert::MAX_DEPTH {
        return Err(err("flatten: list nested too deeply"));
    }
    for item in items {
        if skip_nulls && matches!(&item, Json::Null) {
            continue;
        }
        if skip_nulls && matches!(&item, Json::String(s) if s == "None" || s == "null") {
            continue;
        }
        match item {
            Json::Array(inner) if levels.is_none_or(|l| l >= 1) => {
                flatten_into(inner, levels.map(|l| l - 1), skip_nulls, out, depth + 1)?
            }
            other => out.push(other),
        }
    }
    Ok(())
}

/// `product(*lists)`: the cartesian product (itertools.product), as a list of lists.
fn product(value: &Value, others: Rest<Value>) -> Result<Value, Error> {
    let mut lists = vec![to_list(value)?];
    for o in others.iter() {
        lists.push(to_list(o)?);
    }
    let mut acc: Vec<Vec<Value>> = vec![Vec::new()];
    for list in &lists {
        let mut next = Vec::with_capacity(acc.len() * list.len());
        for prefix in &acc {
            for item in list {
                let mut row = prefix.clone();
                row.push(item.clone());
                next.push(row);
            }
        }
        if next.len() > 1_000_000 {
            return Err(err("product: result too large"));
        }
        acc = next;
    }
    Ok(Value::from(acc.into_iter().map(Value::from).collect::<Vec<_>>()))
}

/// `subelements('key.path', skip_missing=False)`: pairs `[item, subitem]`.
pub(crate) fn subelements_impl(
    value: &Value,
    path: &str,
    skip_missing: bool,
) -> Result<Vec<Value>, Error> {
    require_defined(value)?;
    let items = if value.kind() == ValueKind::Map {
        let mut vals = Vec::new();
        for key in value.try_iter()?.checked() {
            vals.push(value.get_item(&key?)?);
        }
        vals
    } else {
        to_list(value)?
    };
    let mut out = Vec::new();
    for item in items {
        let mut sub = item.clone();
        let mut missing = false;
        for part in path.split('.') {
            let next = sub.get_item(&Value::from(part)).unwrap_or(Value::UNDEFINED);
            if next.is_undefined() {
                missing = true;
                break;
            }
            sub = next;
        }
        if missing {
            if skip_missing {
                continue;
            }
            return Err(err(format!(
                "subelements: could not find '{path}' key in iterated item"
            )));
        }
        if sub.kind() != ValueKind::Seq {
            return Err(err(format!("subelements: the key '{path}' should point to a list")));
        }
        for subitem in sub.try_iter()?.checked() {
            out.push(Value::from(vec![item.clone(), subitem?]));
        }
    }
    Ok(out)
}

fn subelements(
    value: &Value,
    path: String,
    skip_missing: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let skip_missing = match skip_missing {
        Some(s) => s.is_true(),
        None => kwargs
            .get::<Option<Value>>("skip_missing")?
            .is_some_and(|v| v.is_true()),
    };
    kwargs.assert_all_used()?;
    Ok(Value::from(subelements_impl(value, &path, skip_missing)?))
}

/// `extract(container, morekeys=None)`: `container[item]`, then each of `morekeys`.
fn extract(item: &Value, container: &Value, morekeys: Option<Value>) -> Result<Value, Error> {
    require_defined(item)?;
    require_defined(container)?;
    let mut value = container.get_item(item)?;
    if let Some(more) = morekeys {
        let keys = if more.kind() == ValueKind::Seq { to_list(&more)? } else { vec![more] };
        for key in keys {
            require_defined(&value)?;
            value = value.get_item(&key)?;
        }
    }
    Ok(value)
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
    let s: String = string_arg(value)?.chars().filter(|c| !c.is_whitespace()).collect();
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
    let parts = if value.kind() == ValueKind::String { vec![value.clone()] } else { to_list(value)? };
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
    if s
        .chars()
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
        assert_eq!(render("{{ z | default('x', boolean=true) }}", c.clone()), "x");
        assert_eq!(render("{{ n | default('x') }}", c.clone()), "None");
        assert_eq!(render("{{ foo | default }}", c.clone()), "");
        assert_eq!(render("{{ x.a | default(5) }}", c), "1");
    }

    #[test]
    fn bool_int_float() {
        assert_eq!(r("{{ 'yes' | bool }} {{ 'no' | bool }} {{ 'on' | bool }} {{ 'OFF' | bool }}"), "True False True False");
        assert_eq!(r("{{ '1' | bool }} {{ 0 | bool }} {{ 'true' | bool }} {{ none | bool }}"), "True False True False");
        assert_eq!(r("{{ 'abc' | int }} {{ ' 42 ' | int }} {{ '3.7' | int }} {{ 3.9 | int }}"), "0 42 3 3");
        assert_eq!(r("{{ 'x' | int(7) }} {{ 'x' | int(default=8) }} {{ '0x1f' | int(base=16) }} {{ '1_000' | int }}"), "7 8 31 1000");
        assert_eq!(r("{{ true | int }} {{ '-5' | int }} {{ none | int }}"), "1 -5 0");
        assert_eq!(r("{{ '1.5' | float }} {{ 'x' | float }} {{ 2 | float }} {{ 'x' | float(1.5) }}"), "1.5 0.0 2.0 1.5");
        assert_eq!(render("{{ v | int + 1 }}", json!({"v": "41"})), "42");
    }

    #[test]
    fn ternary_mandatory_type_debug() {
        assert_eq!(r("{{ true | ternary('a', 'b') }} {{ 0 | ternary('a', 'b') }}"), "a b");
        assert_eq!(r("{{ none | ternary('a', 'b', 'n') }} {{ none | ternary('a', 'b') }}"), "n b");
        assert_eq!(render("{{ x | mandatory }}", json!({"x": 3})), "3");
        let e = crate::template::tests::render_err("{{ x | mandatory }}", json!({}));
        assert_eq!(e.message, "Mandatory variable 'x' not defined.");
        let e = crate::template::tests::render_err("{{ x | mandatory('set x!') }}", json!({}));
        assert_eq!(e.message, "set x!");
        assert_eq!(r("{{ 1 | type_debug }} {{ 'a' | type_debug }} {{ {} | type_debug }} {{ [] | type_debug }} {{ none | type_debug }}"), "int str dict list NoneType");
    }

    #[test]
    fn combine_filter() {
        let c = json!({
            "a": {"x": 1, "l": [1, 2], "n": {"p": 1, "q": 2}},
            "b": {"y": 2, "l": [2, 3], "n": {"q": 3}},
        });
        let out = |src: &str| crate::template::tests::eval(src, c.clone());
        assert_eq!(out("a | combine(b)"), json!({"x": 1, "l": [2, 3], "n": {"q": 3}, "y": 2}));
        assert_eq!(
            out("a | combine(b, recursive=True)"),
            json!({"x": 1, "l": [2, 3], "n": {"p": 1, "q": 3}, "y": 2})
        );
        assert_eq!(out("a | combine(b, list_merge='append')")["l"], json!([1, 2, 2, 3]));
        assert_eq!(out("a | combine(b, list_merge='prepend')")["l"], json!([2, 3, 1, 2]));
        assert_eq!(out("a | combine(b, list_merge='append_rp')")["l"], json!([1, 2, 3]));
        assert_eq!(out("a | combine(b, list_merge='keep')")["l"], json!([1, 2]));
        assert_eq!(out("[a, b] | combine")["y"], json!(2));
        assert_eq!(out("{} | combine(a, b, {'z': 1})")["z"], json!(1));
        // key order: existing keys keep their place, new ones are appended
        let keys: Vec<String> = out("a | combine(b)").as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, vec!["x", "l", "n", "y"]);
        let e = crate::template::tests::eval_err("a | combine(1)", c);
        assert!(e.message.contains("dictionaries"), "{}", e.message);
    }

    #[test]
    fn dict_items_conversions() {
        let c = json!({"d": {"a": 1, "b": 2}, "l": [{"key": "a", "value": 1}, {"name": "b", "v": 2}]});
        let e = |s: &str| crate::template::tests::eval(s, c.clone());
        assert_eq!(e("d | dict2items"), json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}]));
        assert_eq!(
            e("d | dict2items(key_name='k', value_name='v')"),
            json!([{"k": "a", "v": 1}, {"k": "b", "v": 2}])
        );
        assert_eq!(e("l[:1] | items2dict"), json!({"a": 1}));
        assert_eq!(e("l[1:] | items2dict(key_name='name', value_name='v')"), json!({"b": 2}));
        assert_eq!(e("[['a', 1], ['b', 2]] | dict"), json!({"a": 1, "b": 2}));
        assert_eq!(e("dict(['a', 'b'] | zip([1, 2]))"), json!({"a": 1, "b": 2}));
        assert_eq!(e("dict(d, c=3)"), json!({"a": 1, "b": 2, "c": 3}));
        assert_eq!(e("d | items | list"), json!([["a", 1], ["b", 2]]));
    }

    #[test]
    fn set_filters() {
        let e = |s: &str| crate::template::tests::eval(s, json!({}));
        assert_eq!(e("[1, 2, 2, 3] | union([3, 4])"), json!([1, 2, 3, 4]));
        assert_eq!(e("[1, 2, 2, 3] | intersect([3, 2, 9])"), json!([2, 3]));
        assert_eq!(e("[1, 2, 2, 3] | difference([2])"), json!([1, 3]));
        assert_eq!(e("[1, 2, 3] | symmetric_difference([3, 4])"), json!([1, 2, 4]));
        assert_eq!(e("[{'a': 1}, {'a': 1}] | union([])"), json!([{"a": 1}]));
        assert_eq!(e("['a', 'A', 'b', 'a'] | unique | list"), json!(["a", "b"]));
    }

    #[test]
    fn flatten_product_subelements_extract() {
        let e = |s: &str| crate::template::tests::eval(s, json!({"h": {"x": {"ip": "1.2.3.4"}}}));
        assert_eq!(e("[1, [2, [3, [4]]], none, 'None'] | flatten"), json!([1, 2, 3, 4]));
        assert_eq!(e("[1, [2, [3, [4]]]] | flatten(1)"), json!([1, 2, [3, [4]]]));
        assert_eq!(e("[1, [2, [3]]] | flatten(levels=0)"), json!([1, [2, [3]]]));
        assert_eq!(e("[1, none] | flatten(skip_nulls=false)"), json!([1, null]));
        assert_eq!(e("[1, 2] | product(['a', 'b'])"), json!([[1, "a"], [1, "b"], [2, "a"], [2, "b"]]));
        assert_eq!(
            e("[{'n': 'u1', 'k': ['a', 'b']}, {'n': 'u2', 'k': ['c']}] | subelements('k') | map('last') | list"),
            json!(["a", "b", "c"])
        );
        assert_eq!(e("[{'n': 1}] | subelements('k', skip_missing=True)"), json!([]));
        assert_eq!(e("['x'] | map('extract', h) | list"), json!([{"ip": "1.2.3.4"}]));
        assert_eq!(e("['x'] | map('extract', h, 'ip') | list"), json!(["1.2.3.4"]));
    }

    #[test]
    fn base64_paths_quote() {
        assert_eq!(r("{{ 'hello' | b64encode }}"), "aGVsbG8=");
        assert_eq!(r("{{ 'aGVsbG8=' | b64decode }} {{ 'aGVsbG8' | b64decode }}"), "hello hello");
        assert_eq!(r("{{ '/etc/ssh/sshd_config' | basename }} {{ '/etc/ssh/sshd_config' | dirname }}"), "sshd_config /etc/ssh");
        assert_eq!(r("{{ '/a/b/' | basename }}|{{ 'file' | dirname }}|{{ '/x' | dirname }}"), "||/");
        assert_eq!(r("{{ 'a/b.tar.gz' | splitext | last }} {{ '.bashrc' | splitext | last }}|"), ".gz |");
        assert_eq!(r("{{ ['/etc', 'ssh', 'x'] | path_join }} {{ ['a', '/b'] | path_join }}"), "/etc/ssh/x /b");
        assert_eq!(r("{{ 'simple' | quote }} {{ \"it's here\" | quote }} {{ '' | quote }}"), "simple 'it'\"'\"'s here' ''");
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
        assert_eq!(e("users | map(attribute='n') | list"), json!(["a", "b", "c"]));
        assert_eq!(e("users | selectattr('on', 'defined') | map(attribute='n') | list"), json!(["a", "b"]));
        assert_eq!(e("users | selectattr('on') | map(attribute='n') | list"), json!(["a"]));
        assert_eq!(e("users | rejectattr('on') | map(attribute='n') | list"), json!(["b", "c"]));
        assert_eq!(e("users | selectattr('n', 'equalto', 'b') | map(attribute='n') | list"), json!(["b"]));
        assert_eq!(e("users | selectattr('n', 'match', '[ab]') | map(attribute='n') | list"), json!(["a", "b"]));
        assert_eq!(e("users | selectattr('n', 'search', 'c') | map(attribute='n') | list"), json!(["c"]));
        assert_eq!(e("['a1', 'b2', 'a3'] | select('match', 'a') | list"), json!(["a1", "a3"]));
        assert_eq!(e("['a1', 'b2', 'a3'] | reject('search', '1') | list"), json!(["b2", "a3"]));
        assert_eq!(e("[1, 0, 2] | select | list"), json!([1, 2]));
        assert_eq!(e("['1', '2'] | map('int') | list"), json!([1, 2]));
        assert_eq!(e("[1, 2] | map('string') | list"), json!(["1", "2"]));
        assert_eq!(e("range(3) | list"), json!([0, 1, 2]));
    }
}
