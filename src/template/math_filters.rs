//! Ansible's math filters (`log`, `pow`, `root`), byte-size formatting (`human_readable`,
//! `human_to_bytes`), the combinatorial filters Python's itertools gives Ansible
//! (`permutations`, `combinations`, `zip_longest`), `rekey_on_member`, and the math tests
//! (`nan`/`isnan`, the old `issubset`/`issuperset` names).

use super::convert::{require_defined, to_list};
use super::filters::err;
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("log", log);
    env.add_filter("pow", |x: &Value, y: &Value| {
        Ok::<_, Error>(Value::from(number(x, "pow")?.powf(number(y, "pow")?)))
    });
    env.add_filter("root", root);
    env.add_filter("human_readable", human_readable);
    env.add_filter("human_to_bytes", human_to_bytes);
    env.add_filter("permutations", permutations);
    env.add_filter("combinations", combinations);
    env.add_filter("zip_longest", zip_longest);
    env.add_filter("rekey_on_member", rekey_on_member);
    env.add_test("nan", is_nan);
    env.add_test("isnan", is_nan);
}

fn number(v: &Value, filter: &str) -> Result<f64, Error> {
    require_defined(v)?;
    match v.kind() {
        ValueKind::Number | ValueKind::Bool => f64::try_from(v.clone())
            .map_err(|_| err(format!("{filter}() can only be used on numbers"))),
        _ => Err(err(format!("{filter}() can only be used on numbers"))),
    }
}

/// `log(base=e)`.
fn log(x: &Value, base: Option<&Value>) -> Result<Value, Error> {
    let x = number(x, "log")?;
    let r = match base {
        None => x.ln(),
        Some(b) => {
            let b = number(b, "log")?;
            if b == 10.0 {
                x.log10()
            } else {
                x.ln() / b.ln()
            }
        }
    };
    if x <= 0.0 {
        return Err(err("log(): math domain error"));
    }
    Ok(Value::from(r))
}

/// `root(base=2)`: the square root, or the `base`-th root.
fn root(x: &Value, base: Option<&Value>) -> Result<Value, Error> {
    let x = number(x, "root")?;
    let r = match base {
        None => x.sqrt(),
        Some(b) => {
            let b = number(b, "root")?;
            if b == 2.0 {
                x.sqrt()
            } else {
                x.powf(1.0 / b)
            }
        }
    };
    if r.is_nan() {
        return Err(err("root() can only be used on numbers"));
    }
    Ok(Value::from(r))
}

/// Unit letters from the largest down, as Ansible tries them.
const UNITS: [char; 9] = ['Y', 'Z', 'E', 'P', 'T', 'G', 'M', 'K', 'B'];

/// The size of a unit letter (as a float: Y and Z do not fit in 64 bits).
fn unit_size(c: char) -> Option<f64> {
    let pos = UNITS.iter().position(|u| *u == c)?;
    Some(2f64.powi(10 * (8 - pos as i32)))
}

/// Ansible's `bytes_to_human(size, isbits=False, unit=None)`.
pub(crate) fn bytes_to_human(size: f64, isbits: bool, unit: Option<&str>) -> String {
    let wanted = unit
        .and_then(|u| u.chars().next())
        .map(|c| c.to_ascii_uppercase());
    let mut chosen = ('B', 1.0);
    for suffix in UNITS {
        let limit = unit_size(suffix).unwrap_or(1.0);
        chosen = (suffix, limit);
        let hit = match wanted {
            None => size >= limit,
            Some(w) => w == suffix,
        };
        if hit {
            break;
        }
    }
    let base = if isbits { "bits" } else { "Bytes" };
    let suffix = if chosen.1 != 1.0 {
        format!("{}{}", chosen.0, &base[..1])
    } else {
        base.to_string()
    };
    format!("{:.2} {suffix}", size / chosen.1)
}

fn human_readable(size: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let isbits = match args.first() {
        Some(v) => v.is_true(),
        None => kwargs.get::<Option<bool>>("isbits")?.unwrap_or(false),
    };
    let unit: Option<String> = match args.get(1) {
        Some(v) if !v.is_none() => Some(v.to_string()),
        Some(_) => None,
        None => kwargs.get("unit")?,
    };
    kwargs.assert_all_used()?;
    let size =
        number(size, "human_readable").map_err(|_| err("human_readable() failed on bad input"))?;
    Ok(bytes_to_human(size, isbits, unit.as_deref()))
}

const UNIT_NAMES: [(char, &str, &str); 9] = [
    ('B', "byte", "bit"),
    ('K', "kilobyte", "kilobit"),
    ('M', "megabyte", "megabit"),
    ('G', "gigabyte", "gigabit"),
    ('T', "terabyte", "terabit"),
    ('P', "petabyte", "petabit"),
    ('E', "exabyte", "exabit"),
    ('Z', "zetabyte", "zetabit"),
    ('Y', "yottabyte", "yottabit"),
];

/// Ansible's `human_to_bytes(number, default_unit=None, isbits=False)`.
pub(crate) fn parse_human(
    text: &str,
    default_unit: Option<&str>,
    isbits: bool,
) -> Result<f64, String> {
    let t = text.trim_end();
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, rest) = t.split_at(num_end);
    let unit = rest.trim_start();
    let bad = || format!("human_to_bytes() can't interpret following string: {text}");
    if num.is_empty() || num.ends_with('.') || num.matches('.').count() > 1 {
        return Err(bad());
    }
    if !unit.chars().all(|c| c.is_ascii_alphabetic()) || (unit.is_empty() && rest != unit) {
        return Err(bad());
    }
    let n: f64 = num.parse().map_err(|_| bad())?;
    let unit = if unit.is_empty() {
        default_unit
    } else {
        Some(unit)
    };
    let Some(unit) = unit else {
        return Ok(n.round_ties_even());
    };
    let key = unit
        .chars()
        .next()
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or('B');
    let limit = unit_size(key).ok_or_else(|| {
        format!("human_to_bytes() failed to convert {text} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B")
    })?;
    if unit.chars().count() > 1 {
        let class = if isbits { 'b' } else { 'B' };
        let (_, byte_name, bit_name) = UNIT_NAMES
            .iter()
            .find(|(k, _, _)| *k == key)
            .copied()
            .unwrap_or(('B', "byte", "bit"));
        let name = if isbits { bit_name } else { byte_name };
        let short = if key == 'B' {
            class.to_string()
        } else {
            format!("{key}{class}")
        };
        if unit.to_lowercase() != name && unit != short {
            let expect = if key == 'B' {
                format!("expect {class} or {name}")
            } else {
                format!("expect {key}{class} or {key}")
            };
            return Err(format!(
                "human_to_bytes() failed to convert {text}. Value is not a valid string ({expect})"
            ));
        }
    }
    Ok((n * limit).round_ties_even())
}

fn human_to_bytes(v: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    require_defined(v)?;
    let default_unit: Option<String> = match args.first() {
        Some(u) if !u.is_none() => Some(u.to_string()),
        Some(_) => None,
        None => kwargs.get("default_unit")?,
    };
    let isbits = match args.get(1) {
        Some(b) => b.is_true(),
        None => kwargs.get::<Option<bool>>("isbits")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    let text = match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string(),
    };
    let n = parse_human(&text, default_unit.as_deref(), isbits).map_err(err)?;
    Ok(if n.abs() < 9.0e18 {
        Value::from(n as i64)
    } else {
        Value::from(n)
    })
}

fn list_arg(v: &Value) -> Result<Vec<Value>, Error> {
    require_defined(v)?;
    to_list(v)
}

fn r_arg(r: Option<&Value>, n: usize) -> Result<usize, Error> {
    match r {
        None => Ok(n),
        Some(v) if v.is_none() => Ok(n),
        Some(v) => usize::try_from(v.clone()).map_err(|_| err("r must be a non-negative integer")),
    }
}

/// itertools.permutations(iterable, r=None), in Python's order.
fn permutations(v: &Value, r: Option<&Value>) -> Result<Value, Error> {
    let items = list_arg(v)?;
    let r = r_arg(r, items.len())?;
    let mut out = Vec::new();
    if r <= items.len() {
        let mut used = vec![false; items.len()];
        let mut current = Vec::with_capacity(r);
        permute(&items, r, &mut used, &mut current, &mut out);
    }
    Ok(Value::from(out))
}

fn permute(
    items: &[Value],
    r: usize,
    used: &mut [bool],
    cur: &mut Vec<Value>,
    out: &mut Vec<Value>,
) {
    if cur.len() == r {
        out.push(Value::from(cur.clone()));
        return;
    }
    for i in 0..items.len() {
        if !used[i] {
            used[i] = true;
            cur.push(items[i].clone());
            permute(items, r, used, cur, out);
            cur.pop();
            used[i] = false;
        }
    }
}

/// itertools.combinations(iterable, r).
fn combinations(v: &Value, r: &Value) -> Result<Value, Error> {
    let items = list_arg(v)?;
    let r = r_arg(Some(r), items.len())?;
    let mut out = Vec::new();
    let mut cur = Vec::with_capacity(r);
    combine(&items, 0, r, &mut cur, &mut out);
    Ok(Value::from(out))
}

fn combine(items: &[Value], start: usize, r: usize, cur: &mut Vec<Value>, out: &mut Vec<Value>) {
    if cur.len() == r {
        out.push(Value::from(cur.clone()));
        return;
    }
    for i in start..items.len() {
        cur.push(items[i].clone());
        combine(items, i + 1, r, cur, out);
        cur.pop();
    }
}

/// itertools.zip_longest(*iterables, fillvalue=None).
fn zip_longest(v: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let fill: Value = kwargs
        .get::<Option<Value>>("fillvalue")?
        .unwrap_or(Value::from(()));
    kwargs.assert_all_used()?;
    let mut lists = vec![list_arg(v)?];
    for o in others.iter() {
        lists.push(list_arg(o)?);
    }
    let len = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok(Value::from(
        (0..len)
            .map(|i| {
                Value::from(
                    lists
                        .iter()
                        .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>(),
    ))
}

/// `rekey_on_member(key, duplicates='error')`: a dict of the items keyed on one of their members.
fn rekey_on_member(data: &Value, key: &Value, duplicates: Option<String>) -> Result<Value, Error> {
    require_defined(data)?;
    let duplicates = duplicates.unwrap_or_else(|| "error".into());
    if duplicates != "error" && duplicates != "overwrite" {
        return Err(err(format!(
            "duplicates parameter to rekey_on_member has unknown value '{duplicates}'"
        )));
    }
    let items: Vec<Value> = match data.kind() {
        ValueKind::Map => data
            .try_iter()?
            .map(|k| data.get_item(&k))
            .collect::<Result<_, _>>()?,
        ValueKind::Seq | ValueKind::Iterable => to_list(data)?,
        _ => return Err(err("Type is not a valid list, set, or dict")),
    };
    let mut out: Vec<(Value, Value)> = Vec::new();
    for item in items {
        if item.kind() != ValueKind::Map {
            return Err(err("List item is not a valid dict"));
        }
        let k = item.get_item(key)?;
        if k.is_undefined() {
            return Err(err(format!("Key '{key}' was not found.")));
        }
        match out.iter_mut().find(|(existing, _)| *existing == k) {
            Some(_) if duplicates == "error" => {
                return Err(err(format!(
                    "Key '{k}' is not unique, cannot convert to dict."
                )))
            }
            Some(slot) => slot.1 = item,
            None => out.push((k, item)),
        }
    }
    Ok(Value::from_pairs(out))
}

/// `nan`: a float that is NaN (anything else is simply not NaN).
fn is_nan(v: &Value) -> bool {
    v.kind() == ValueKind::Number && f64::try_from(v.clone()).is_ok_and(f64::is_nan)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{eval, eval_err};
    use serde_json::json;

    fn e(expr: &str) -> serde_json::Value {
        eval(expr, json!({}))
    }

    #[test]
    fn math() {
        assert_eq!(e("8 | log(2)"), json!(3.0));
        assert_eq!(e("100 | log(10)"), json!(2.0));
        assert_eq!(e("2 | pow(3)"), json!(8.0));
        assert_eq!(e("9 | root"), json!(3.0));
        assert_eq!(e("27 | root(3)"), json!(3.0));
        assert!(eval_err("'a' | log", json!({}))
            .message
            .contains("only be used on numbers"));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(e("0 | human_readable"), json!("0.00 Bytes"));
        assert_eq!(e("1 | human_readable"), json!("1.00 Bytes"));
        assert_eq!(e("1024 | human_readable"), json!("1.00 KB"));
        assert_eq!(e("1048576 | human_readable(unit='K')"), json!("1024.00 KB"));
        assert_eq!(e("1048576 | human_readable(isbits=true)"), json!("1.00 Mb"));
        assert_eq!(e("'1K' | human_to_bytes"), json!(1024));
        assert_eq!(e("'1.5 MB' | human_to_bytes"), json!(1572864));
        assert_eq!(e("'1Mb' | human_to_bytes(isbits=True)"), json!(1048576));
        assert_eq!(e("'10' | human_to_bytes('M')"), json!(10485760));
        assert_eq!(e("'2' | human_to_bytes"), json!(2));
        assert!(eval_err("'1Mb' | human_to_bytes", json!({}))
            .message
            .contains("expect MB or M"));
        assert!(eval_err("'x' | human_to_bytes", json!({}))
            .message
            .contains("can't interpret"));
    }

    #[test]
    fn itertools() {
        assert_eq!(
            e("[1,2,3] | permutations(2) | list"),
            json!([[1, 2], [1, 3], [2, 1], [2, 3], [3, 1], [3, 2]])
        );
        assert_eq!(
            e("[1,2,3] | combinations(2) | list"),
            json!([[1, 2], [1, 3], [2, 3]])
        );
        assert_eq!(
            e("[1,2] | zip_longest([3], fillvalue='x') | list"),
            json!([[1, 3], [2, "x"]])
        );
        assert_eq!(e("[1,2] | zip([3]) | list"), json!([[1, 3]]));
    }

    #[test]
    fn rekey() {
        assert_eq!(
            e("[{'n': 'a', 'v': 1}, {'n': 'b', 'v': 2}] | rekey_on_member('n')"),
            json!({"a": {"n": "a", "v": 1}, "b": {"n": "b", "v": 2}})
        );
        assert!(
            eval_err("[{'n': 'a'}, {'n': 'a'}] | rekey_on_member('n')", json!({}))
                .message
                .contains("not unique")
        );
    }

    #[test]
    fn math_tests() {
        assert_eq!(e("'nan' | float is nan"), json!(true));
        assert_eq!(e("'bad' is not nan"), json!(true));
        assert_eq!(e("1.1 | float is isnan"), json!(false));
        assert_eq!(e("[1] is issubset([1, 2])"), json!(true));
        assert_eq!(e("[1, 2] is issuperset([1])"), json!(true));
        assert_eq!(e("[2] is not superset([1])"), json!(true));
        assert_eq!(e("[1] is contains(1)"), json!(true));
    }
}
