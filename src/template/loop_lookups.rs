//! The lookups behind Ansible's list-shaping `with_*` loops, as the plugins in
//! `ansible/plugins/lookup/` compute them: `items`, `indexed_items`, `dict`, `nested`,
//! `cartesian`, `together`, `subelements`, `random_choice` and `inventory_hostnames`
//! (`sequence` is in `sequence.rs`, `first_found` in `first_found.rs`). Each works on the
//! terms as JSON and returns the list of items.

use super::convert::{json_to_value, value_to_json};
use super::filters::err;
use minijinja::value::{Kwargs, Value};
use minijinja::{Error, State};
use serde_json::{Map, Value as Json};

fn to_json(terms: &[Value]) -> Result<Vec<Json>, Error> {
    terms.iter().map(value_to_json).collect()
}

fn out(items: Vec<Json>) -> Vec<Value> {
    items.iter().map(json_to_value).collect()
}

/// `LookupBase._flatten`: lists are spliced in one level; a string is its characters.
fn flatten_one(term: &Json) -> Vec<Json> {
    match term {
        Json::Array(items) => items
            .iter()
            .flat_map(|t| match t {
                Json::Array(inner) => inner.clone(),
                other => vec![other.clone()],
            })
            .collect(),
        Json::String(s) => s.chars().map(|c| Json::String(c.to_string())).collect(),
        other => vec![other.clone()],
    }
}

/// Python iteration over a term: a list's items, a mapping's keys, a string's characters.
fn iterate(term: &Json, lookup: &str) -> Result<Vec<Json>, Error> {
    match term {
        Json::Array(a) => Ok(a.clone()),
        Json::Object(m) => Ok(m.keys().map(|k| Json::String(k.clone())).collect()),
        Json::String(s) => Ok(s.chars().map(|c| Json::String(c.to_string())).collect()),
        other => Err(err(format!(
            "{lookup}: '{}' object is not iterable",
            python_type(other)
        ))),
    }
}

/// How Ansible's messages show a value (`str()` of it; JSON is close enough).
fn repr(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => super::python_dumps(other, None),
    }
}

fn python_type(v: &Json) -> &'static str {
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

/// `lookup('items', ...)`: the terms, lists flattened one level.
pub(super) fn lookup_items(terms: &[Value]) -> Result<Vec<Value>, Error> {
    Ok(out(flatten_one(&Json::Array(to_json(terms)?))))
}

/// `lookup('indexed_items', ...)`: `[index, item]` pairs of the flattened terms.
pub(super) fn lookup_indexed_items(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let items = flatten_one(&Json::Array(to_json(terms)?));
    Ok(out(items
        .into_iter()
        .enumerate()
        .map(|(i, v)| Json::Array(vec![Json::from(i), v]))
        .collect()))
}

/// `lookup('dict', d)`: `[{key, value}, ...]` for each mapping term.
pub(super) fn lookup_dict(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut items = Vec::new();
    for t in to_json(terms)? {
        let Json::Object(m) = t else {
            return Err(err(format!(
                "the 'dict' lookup plugin expects a dictionary, got '{}' of type <class '{}'>)",
                repr(&t),
                python_type(&t)
            )));
        };
        for (k, v) in m {
            let mut item = Map::new();
            item.insert("key".into(), Json::String(k));
            item.insert("value".into(), v);
            items.push(Json::Object(item));
        }
    }
    Ok(out(items))
}

/// `lookup('nested', a, b, ...)`: the product, each combination flattened as Ansible does.
pub(super) fn lookup_nested(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let lists = to_json(terms)?;
    let Some((first, rest)) = lists.split_first() else {
        return Err(err(
            "with_nested requires at least one element in the nested list",
        ));
    };
    let mut result = iterate(first, "nested")?;
    for list in rest {
        let mut next = Vec::new();
        for x in &result {
            for y in iterate(list, "nested")? {
                next.push(Json::Array(flatten_one(&Json::Array(vec![x.clone(), y]))));
            }
        }
        guard_size(next.len(), "with_nested")?;
        result = next;
    }
    Ok(out(result
        .iter()
        .map(|x| Json::Array(flatten_one(x)))
        .collect()))
}

/// `lookup('cartesian', a, b, ...)`: `itertools.product`, each tuple flattened one level.
pub(super) fn lookup_cartesian(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let lists = to_json(terms)?;
    if lists.is_empty() {
        return Err(err(
            "with_cartesian requires at least one element in each list",
        ));
    }
    let mut rows: Vec<Vec<Json>> = vec![Vec::new()];
    for list in &lists {
        let items = iterate(list, "cartesian")?;
        let mut next = Vec::new();
        for row in &rows {
            for item in &items {
                let mut r = row.clone();
                r.push(item.clone());
                next.push(r);
            }
        }
        guard_size(next.len(), "with_cartesian")?;
        rows = next;
    }
    Ok(out(rows
        .into_iter()
        .map(|r| Json::Array(flatten_one(&Json::Array(r))))
        .collect()))
}

fn guard_size(n: usize, what: &str) -> Result<(), Error> {
    if n > 1_000_000 {
        return Err(err(format!("{what}: result too large")));
    }
    Ok(())
}

/// `lookup('together', a, b)`: `zip_longest` padding with `none`, each tuple flattened.
pub(super) fn lookup_together(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let lists: Vec<Vec<Json>> = to_json(terms)?
        .iter()
        .map(|t| iterate(t, "together"))
        .collect::<Result<_, _>>()?;
    if lists.is_empty() {
        return Err(err(
            "with_together requires at least one element in each list",
        ));
    }
    let len = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok(out((0..len)
        .map(|i| {
            let row: Vec<Json> = lists
                .iter()
                .map(|l| l.get(i).cloned().unwrap_or(Json::Null))
                .collect();
            Json::Array(flatten_one(&Json::Array(row)))
        })
        .collect()))
}

/// `lookup('random_choice', a, b, c)`: one of the terms.
pub(super) fn lookup_random_choice(terms: &[Value]) -> Result<Vec<Value>, Error> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let pick = random_index(terms.len());
    Ok(vec![terms[pick].clone()])
}

fn random_index(len: usize) -> usize {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() % len as u64) as usize
}

const SUBELEMENTS_FLAGS: &str = "('skip_missing',)";

fn subelements_terms_error(msg: &str) -> Error {
    err(format!(
        "subelements lookup expects a list of two or three items, {msg}"
    ))
}

/// `lookup('subelements', list_or_dict, 'sub.key', {'skip_missing': True})`: pairs of
/// `(element, subelement)`; the element is given without the sub-list, as Ansible pops it.
pub(super) fn lookup_subelements(terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let kw_skip = kwargs
        .get::<Option<Value>>("skip_missing")?
        .is_some_and(|v| v.is_true());
    let terms = to_json(terms)?;
    if !(2..=3).contains(&terms.len()) {
        return Err(subelements_terms_error(""));
    }
    let Json::String(path) = &terms[1] else {
        return Err(subelements_terms_error(
            "first a dict or a list, second a string pointing to the subkey",
        ));
    };
    let elements = match &terms[0] {
        Json::Object(m) if m.get("skipped").is_some_and(|v| v != &Json::Bool(false)) => {
            return Ok(Vec::new())
        }
        Json::Object(m) => m.values().cloned().collect(),
        Json::Array(a) => a.clone(),
        _ => {
            return Err(subelements_terms_error(
                "first a dict or a list, second a string pointing to the subkey",
            ))
        }
    };
    let skip_missing = match terms.get(2) {
        None => kw_skip,
        Some(Json::Object(flags)) => {
            kw_skip
                || flags
                    .get("skip_missing")
                    .is_some_and(|v| converge_modules::args::to_bool(v).unwrap_or(false))
        }
        Some(_) => {
            return Err(subelements_terms_error(&format!(
                "the optional third item must be a dict with flags {SUBELEMENTS_FLAGS}"
            )))
        }
    };
    let keys: Vec<&str> = path.split('.').collect();
    let mut ret = Vec::new();
    for item0 in elements {
        let Json::Object(mut item0) = item0 else {
            return Err(err(format!(
                "subelements lookup expects a dictionary, got '{}'",
                repr(&item0)
            )));
        };
        if item0
            .get("skipped")
            .is_some_and(|v| v != &Json::Bool(false))
        {
            continue;
        }
        let sublist = take_sublist(&mut item0, &keys, skip_missing)?;
        let item0 = Json::Object(item0);
        for item1 in sublist {
            ret.push(Json::Array(vec![item0.clone(), item1]));
        }
    }
    Ok(out(ret))
}

/// Walk `keys` down from `item`, as Ansible's loop does (a missing key with `skip_missing`
/// moves on to the next key at the same level), and remove the list the last key names.
fn take_sublist(
    item: &mut Map<String, Json>,
    keys: &[&str],
    skip_missing: bool,
) -> Result<Vec<Json>, Error> {
    let Some(last_i) = keys.len().checked_sub(1) else {
        return Ok(Vec::new());
    };
    let mut sub = item;
    for (i, key) in keys.iter().enumerate() {
        let is_last = i == last_i || *key == keys[last_i];
        let Some(value) = sub.get(*key) else {
            if skip_missing {
                continue;
            }
            return Err(err(format!(
                "could not find '{key}' key in iterated item '{}'",
                repr(&Json::Object(sub.clone()))
            )));
        };
        if !is_last {
            if !value.is_object() {
                if skip_missing {
                    continue;
                }
                return Err(err(format!(
                    "the key {key} should point to a dictionary, got '{}'",
                    repr(value)
                )));
            }
            let Some(Json::Object(next)) = sub.get_mut(*key) else {
                return Ok(Vec::new());
            };
            sub = next;
        } else {
            let Json::Array(_) = value else {
                return Err(err(format!(
                    "the key {key} should point to a list, got '{}'",
                    repr(value)
                )));
            };
            if let Some(Json::Array(list)) = sub.remove(*key) {
                return Ok(list);
            }
        }
    }
    Ok(Vec::new())
}

/// `lookup('inventory_hostnames', 'pattern')`: the hosts a pattern selects, from `groups`.
pub(super) fn lookup_inventory_hostnames(
    state: &State,
    terms: &[Value],
) -> Result<Vec<Value>, Error> {
    let groups = match state.lookup("groups").map(|g| value_to_json(&g)) {
        Some(Ok(Json::Object(m))) => m,
        _ => Map::new(),
    };
    let mut patterns = Vec::new();
    for t in to_json(terms)? {
        match t {
            Json::Array(items) => {
                patterns.extend(items.iter().filter_map(|i| i.as_str().map(String::from)))
            }
            Json::String(s) => patterns.push(s),
            _ => {}
        }
    }
    let inventory = crate::inventory::Inventory::from_groups(&groups);
    Ok(inventory
        .select(&patterns.join(","))
        .into_iter()
        .map(Value::from)
        .collect())
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
            e("query('nested', ['a', 'b'], ['c', 'd'])"),
            json!([["a", "c"], ["a", "d"], ["b", "c"], ["b", "d"]])
        );
        assert_eq!(e("query('nested', [[1, 2]], ['a'])"), json!([[1, 2, "a"]]));
        assert_eq!(
            e("query('cartesian', [1, 2], ['a'])"),
            json!([[1, "a"], [2, "a"]])
        );
        assert_eq!(
            e("query('together', [1, 2], ['a'])"),
            json!([[1, "a"], [2, null]])
        );
        assert_eq!(
            e("query('together', [[1, 2]], ['a'])"),
            json!([[1, 2, "a"]])
        );
        assert!(eval_err("lookup('together')", c.clone())
            .message
            .contains("with_together requires at least one element in each list"));
        assert!(eval_err("lookup('dict', 1)", c.clone())
            .message
            .contains("lookup plugin expects a dictionary"));
        let one = e("lookup('random_choice', 'a', 'b', 'c')");
        assert!(["a", "b", "c"].contains(&one.as_str().unwrap()), "{one}");
        assert_eq!(e("query('random_choice')"), json!([]));
    }

    #[test]
    fn subelements_as_ansible() {
        let c = json!({
            "users": [
                {"name": "alice", "mysql": {"hosts": ["h1", "h2"], "password": "p"}},
                {"name": "carol", "skipped": true, "mysql": {"hosts": ["h9"]}},
                {"name": "dave"}
            ]
        });
        let e = |s: &str| eval(s, c.clone());
        assert_eq!(
            e("query('subelements', users[:1], 'mysql.hosts')"),
            json!([
                [{"name": "alice", "mysql": {"password": "p"}}, "h1"],
                [{"name": "alice", "mysql": {"password": "p"}}, "h2"]
            ])
        );
        assert_eq!(
            e("query('subelements', users, 'mysql.hosts', {'skip_missing': True}) | length"),
            json!(2)
        );
        let m = |s: &str| eval_err(s, c.clone()).message;
        assert!(
            m("query('subelements', users, 'mysql.hosts')").contains("could not find 'mysql' key")
        );
        assert!(m("query('subelements', 9001, 'groups')").contains("first a dict or a list"));
        assert!(m("query('subelements', users[:1], 'mysql.password')")
            .contains("should point to a list"));
        assert!(m("query('subelements', users[:1], 'mysql.hosts.x')")
            .contains("should point to a dictionary"));
        assert!(m("query('subelements', users, 'mysql.hosts', 'wolves')")
            .contains("the optional third item must be a dict"));
        assert!(m("query('subelements', users, true)").contains("second a string"));
        assert!(
            m("query('subelements', users, 'a', {}, 1)").contains("expects a list of two or three")
        );
        assert_eq!(
            e("query('subelements', {'skipped': true}, 'mysql.hosts')"),
            json!([])
        );
    }

    #[test]
    fn inventory_hostnames() {
        let c = json!({"groups": {"all": ["a", "b", "c"], "web": ["a", "b"], "db": ["c"], "ungrouped": []}});
        let e = |s: &str| eval(s, c.clone());
        assert_eq!(
            e("query('inventory_hostnames', 'all')"),
            json!(["a", "b", "c"])
        );
        assert_eq!(e("query('inventory_hostnames', 'web:!a')"), json!(["b"]));
        assert_eq!(
            e("query('inventory_hostnames', 'web:&all')"),
            json!(["a", "b"])
        );
        assert_eq!(e("query('inventory_hostnames', 'db,a')"), json!(["c", "a"]));
        assert_eq!(e("query('inventory_hostnames', 'w*')"), json!(["a", "b"]));
        assert_eq!(e("query('inventory_hostnames', 'nope')"), json!([]));
    }
}
