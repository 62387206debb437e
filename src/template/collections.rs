//! Ansible's filters on dicts and lists: `combine` (recursive, `list_merge`), `dict2items` /
//! `items2dict`, `dict` (filter and Python's `dict()` global), the set filters (`union`,
//! `intersect`, `difference`, `symmetric_difference`), `flatten`, `product`, `subelements` and
//! `extract`. They work on the JSON form of their arguments, which keeps key order and gives
//! Python's equality on nested values.

use super::convert::{json_to_value, require_defined, to_list, value_to_json};
use super::filters::err;
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};
use serde_json::{Map, Value as Json};
use std::collections::HashSet;

pub(crate) fn register(env: &mut Environment<'static>) {
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
        other => Err(err(format!(
            "{filter} expects a list, got {}",
            json_type(&other)
        ))),
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
    let recursive = kwargs
        .get::<Option<Value>>("recursive")?
        .is_some_and(|v| v.is_true());
    let list_merge = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".into());
    kwargs.assert_all_used()?;
    if !matches!(
        list_merge.as_str(),
        "replace" | "keep" | "append" | "prepend" | "append_rp" | "prepend_rp"
    ) {
        return Err(err(format!(
            "combine: invalid list_merge value '{list_merge}'"
        )));
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
        self.get_mut(key)
            .map(|slot| std::mem::replace(slot, Json::Null))
    }
}

/// `dict2items(key_name='key', value_name='value')`.
fn dict2items(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
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
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
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
        out.insert(
            json_key(&value_to_json(&items[0])?),
            value_to_json(&items[1])?,
        );
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
    let a = to_list(a)?
        .iter()
        .map(value_to_json)
        .collect::<Result<Vec<_>, _>>()?;
    let b = to_list(b)?
        .iter()
        .map(value_to_json)
        .collect::<Result<Vec<_>, _>>();
    b.map(|b| (a, b)).map_err(|e| err(format!("{filter}: {e}")))
}

fn union(a: &Value, b: &Value) -> Result<Value, Error> {
    let (a, b) = two_lists(a, b, "union")?;
    Ok(json_to_value(&Json::Array(unique_json(
        a.into_iter().chain(b),
    ))))
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
    Ok(Value::from(
        acc.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
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
            return Err(err(format!(
                "subelements: the key '{path}' should point to a list"
            )));
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
        let keys = if more.kind() == ValueKind::Seq {
            to_list(&more)?
        } else {
            vec![more]
        };
        for key in keys {
            require_defined(&value)?;
            value = value.get_item(&key)?;
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn combine_filter() {
        let c = json!({
            "a": {"x": 1, "l": [1, 2], "n": {"p": 1, "q": 2}},
            "b": {"y": 2, "l": [2, 3], "n": {"q": 3}},
        });
        let out = |src: &str| crate::template::tests::eval(src, c.clone());
        assert_eq!(
            out("a | combine(b)"),
            json!({"x": 1, "l": [2, 3], "n": {"q": 3}, "y": 2})
        );
        assert_eq!(
            out("a | combine(b, recursive=True)"),
            json!({"x": 1, "l": [2, 3], "n": {"p": 1, "q": 3}, "y": 2})
        );
        assert_eq!(
            out("a | combine(b, list_merge='append')")["l"],
            json!([1, 2, 2, 3])
        );
        assert_eq!(
            out("a | combine(b, list_merge='prepend')")["l"],
            json!([2, 3, 1, 2])
        );
        assert_eq!(
            out("a | combine(b, list_merge='append_rp')")["l"],
            json!([1, 2, 3])
        );
        assert_eq!(out("a | combine(b, list_merge='keep')")["l"], json!([1, 2]));
        assert_eq!(out("[a, b] | combine")["y"], json!(2));
        assert_eq!(out("{} | combine(a, b, {'z': 1})")["z"], json!(1));
        // key order: existing keys keep their place, new ones are appended
        let keys: Vec<String> = out("a | combine(b)")
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, vec!["x", "l", "n", "y"]);
        let e = crate::template::tests::eval_err("a | combine(1)", c);
        assert!(e.message.contains("dictionaries"), "{}", e.message);
    }

    #[test]
    fn dict_items_conversions() {
        let c =
            json!({"d": {"a": 1, "b": 2}, "l": [{"key": "a", "value": 1}, {"name": "b", "v": 2}]});
        let e = |s: &str| crate::template::tests::eval(s, c.clone());
        assert_eq!(
            e("d | dict2items"),
            json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])
        );
        assert_eq!(
            e("d | dict2items(key_name='k', value_name='v')"),
            json!([{"k": "a", "v": 1}, {"k": "b", "v": 2}])
        );
        assert_eq!(e("l[:1] | items2dict"), json!({"a": 1}));
        assert_eq!(
            e("l[1:] | items2dict(key_name='name', value_name='v')"),
            json!({"b": 2})
        );
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
        assert_eq!(
            e("[1, 2, 3] | symmetric_difference([3, 4])"),
            json!([1, 2, 4])
        );
        assert_eq!(e("[{'a': 1}, {'a': 1}] | union([])"), json!([{"a": 1}]));
        assert_eq!(e("['a', 'A', 'b', 'a'] | unique | list"), json!(["a", "b"]));
    }

    #[test]
    fn flatten_product_subelements_extract() {
        let e = |s: &str| crate::template::tests::eval(s, json!({"h": {"x": {"ip": "1.2.3.4"}}}));
        assert_eq!(
            e("[1, [2, [3, [4]]], none, 'None'] | flatten"),
            json!([1, 2, 3, 4])
        );
        assert_eq!(
            e("[1, [2, [3, [4]]]] | flatten(1)"),
            json!([1, 2, [3, [4]]])
        );
        assert_eq!(e("[1, [2, [3]]] | flatten(levels=0)"), json!([1, [2, [3]]]));
        assert_eq!(e("[1, none] | flatten(skip_nulls=false)"), json!([1, null]));
        assert_eq!(
            e("[1, 2] | product(['a', 'b'])"),
            json!([[1, "a"], [1, "b"], [2, "a"], [2, "b"]])
        );
        assert_eq!(
            e("[{'n': 'u1', 'k': ['a', 'b']}, {'n': 'u2', 'k': ['c']}] | subelements('k') | map('last') | list"),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            e("[{'n': 1}] | subelements('k', skip_missing=True)"),
            json!([])
        );
        assert_eq!(
            e("['x'] | map('extract', h) | list"),
            json!([{"ip": "1.2.3.4"}])
        );
        assert_eq!(
            e("['x'] | map('extract', h, 'ip') | list"),
            json!(["1.2.3.4"])
        );
    }
}
