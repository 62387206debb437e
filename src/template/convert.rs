//! Conversions between `serde_json::Value` (what the engine, the playbook loader and the modules
//! speak) and `minijinja::Value` (what templates see), plus the Python-flavoured formatting helpers
//! several filters share (Python's float repr, truthiness, type names).
//!
//! minijinja 3 only implements serde support behind its `serde` feature, which this crate does not
//! enable, so the conversion is written out here: it is small, keeps map order, and reports
//! undefined or invalid values as errors instead of silently turning them into `null`.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};
use serde_json::{Map, Number, Value as Json};

/// Deepest nesting converted; deeper values (or cycles built with `namespace()`) are an error.
pub(crate) const MAX_DEPTH: usize = 512;

/// Convert a JSON value into a plain (eager) template value.
pub(crate) fn json_to_value(v: &Json) -> Value {
    match v {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => number_to_value(n),
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::from(items.iter().map(json_to_value).collect::<Vec<_>>()),
        Json::Object(m) => Value::from_pairs(
            m.iter()
                .map(|(k, v)| (Value::from(k.as_str()), json_to_value(v))),
        ),
    }
}

pub(crate) fn number_to_value(n: &Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::from(i)
    } else if let Some(u) = n.as_u64() {
        Value::from(u)
    } else {
        Value::from(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Convert a template value into JSON. Undefined values and invalid values (values that carry an
/// error, e.g. a lazily rendered variable that failed) are errors.
pub(crate) fn value_to_json(v: &Value) -> Result<Json, Error> {
    to_json_depth(v, 0)
}

fn to_json_depth(v: &Value, depth: usize) -> Result<Json, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "value is nested too deeply (or refers to itself)",
        ));
    }
    match v.kind() {
        ValueKind::Undefined => Err(undefined_error(v)),
        ValueKind::None => Ok(Json::Null),
        ValueKind::Bool => Ok(Json::Bool(v.is_true())),
        ValueKind::Number => Ok(number_to_json(v)),
        ValueKind::String => Ok(Json::String(v.as_str().unwrap_or_default().to_string())),
        ValueKind::Bytes => Ok(Json::String(
            String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned(),
        )),
        ValueKind::Seq | ValueKind::Iterable => {
            let mut out = Vec::with_capacity(v.len().unwrap_or(0).min(4096));
            for item in v.try_iter()?.checked() {
                out.push(to_json_depth(&item?, depth + 1)?);
            }
            Ok(Json::Array(out))
        }
        ValueKind::Map => {
            let mut out = Map::new();
            for key in v.try_iter()?.checked() {
                let key = key?;
                let item = v.get_item(&key)?;
                let key = match key.as_str() {
                    Some(s) => s.to_string(),
                    None => key.to_string(),
                };
                out.insert(key, to_json_depth(&item, depth + 1)?);
            }
            Ok(Json::Object(out))
        }
        ValueKind::Invalid => Err(invalid_error(v)),
        _ => Ok(Json::String(v.to_string())),
    }
}

fn number_to_json(v: &Value) -> Json {
    if v.is_integer() {
        if let Ok(i) = i64::try_from(v.clone()) {
            return Json::Number(i.into());
        }
        if let Ok(u) = u64::try_from(v.clone()) {
            return Json::Number(u.into());
        }
    }
    let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
    Number::from_f64(f).map_or(Json::Null, Json::Number)
}

/// The error an undefined value stands for. Created through minijinja itself so that, when this
/// is returned from a filter, the engine can name the expression that was undefined.
pub(crate) fn undefined_error(v: &Value) -> Error {
    match v.get_attr("__converge_undefined__") {
        Err(e) => e,
        Ok(_) => Error::new(ErrorKind::UndefinedError, "undefined value"),
    }
}

/// Fail with the named undefined error when `v` is undefined.
pub(crate) fn require_defined(v: &Value) -> Result<(), Error> {
    if v.is_undefined() {
        Err(undefined_error(v))
    } else {
        Ok(())
    }
}

/// The error carried inside an invalid value (minijinja keeps it private; iterating a one-item
/// list with `checked()` hands it back).
pub(crate) fn invalid_error(v: &Value) -> Error {
    let wrapped = Value::from(vec![v.clone()]);
    if let Ok(iter) = wrapped.try_iter() {
        for item in iter.checked() {
            if let Err(e) = item {
                return e;
            }
        }
    }
    Error::new(ErrorKind::InvalidOperation, "invalid value")
}

/// Python's `bool(x)`.
pub(crate) fn py_truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(m) => !m.is_empty(),
    }
}

/// Ansible's `bool` filter: `yes/on/1/true` (any case) and the number 1 are true, all else false.
pub(crate) fn ansible_bool(v: &Value) -> bool {
    match v.kind() {
        ValueKind::Bool => v.is_true(),
        ValueKind::None | ValueKind::Undefined => false,
        ValueKind::String => matches!(
            v.as_str()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
                .as_str(),
            "yes" | "on" | "1" | "true"
        ),
        ValueKind::Number => f64::try_from(v.clone()).is_ok_and(|f| f == 1.0),
        _ => false,
    }
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form outside 1e-4..1e16.
pub(crate) fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => (sci.clone(), 0),
    };
    if f == 0.0 || (-4..16).contains(&exp) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Python's name for the type of a value (the `type_debug` filter).
pub(crate) fn py_type_name(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number => {
            if v.is_integer() {
                "int"
            } else {
                "float"
            }
        }
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq => {
            if v.is_tuple() {
                "tuple"
            } else {
                "list"
            }
        }
        ValueKind::Map => "dict",
        ValueKind::Iterable => "generator",
        _ => "object",
    }
}

/// Turn a value into a list of values (strings are a single item, maps give their keys).
pub(crate) fn to_list(v: &Value) -> Result<Vec<Value>, Error> {
    require_defined(v)?;
    match v.kind() {
        ValueKind::String | ValueKind::Number | ValueKind::Bool | ValueKind::None => {
            Ok(vec![v.clone()])
        }
        _ => v.try_iter()?.checked().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_roundtrip_keeps_order_and_types() {
        let j =
            json!({"z": 1, "a": [true, null, 1.5, "s", {"k": -3}], "m": 18446744073709551615u64});
        let v = json_to_value(&j);
        assert_eq!(value_to_json(&v).unwrap(), j);
        let keys: Vec<_> = value_to_json(&v)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, vec!["z", "a", "m"]);
    }

    #[test]
    fn undefined_and_invalid_are_errors() {
        assert!(value_to_json(&Value::UNDEFINED).is_err());
        let bad = Value::from(Error::new(ErrorKind::InvalidOperation, "boom"));
        let e = value_to_json(&Value::from(vec![bad])).unwrap_err();
        assert!(e.to_string().contains("boom"), "{e}");
    }

    #[test]
    fn python_float_repr() {
        assert_eq!(py_float_repr(1.0), "1.0");
        assert_eq!(py_float_repr(0.1), "0.1");
        assert_eq!(py_float_repr(1e16), "1e+16");
        assert_eq!(py_float_repr(1.5e-5), "1.5e-05");
        assert_eq!(py_float_repr(1e15), "1000000000000000.0");
        assert_eq!(py_float_repr(-2.5), "-2.5");
        assert_eq!(py_float_repr(0.0001), "0.0001");
        assert_eq!(py_float_repr(f64::INFINITY), "inf");
    }

    #[test]
    fn truthiness_and_bool() {
        assert!(!py_truthy(&json!("")));
        assert!(py_truthy(&json!("false")));
        assert!(!py_truthy(&json!([])));
        assert!(!py_truthy(&json!(0.0)));
        for s in ["yes", "On", "1", "TRUE", " true "] {
            assert!(ansible_bool(&Value::from(s)), "{s}");
        }
        for s in ["no", "off", "0", "false", "", "y"] {
            assert!(!ansible_bool(&Value::from(s)), "{s}");
        }
        assert!(ansible_bool(&Value::from(1)));
        assert!(!ansible_bool(&Value::from(2)));
    }

    #[test]
    fn type_names() {
        assert_eq!(py_type_name(&Value::from(1)), "int");
        assert_eq!(py_type_name(&Value::from(1.5)), "float");
        assert_eq!(py_type_name(&Value::from("x")), "str");
        assert_eq!(py_type_name(&json_to_value(&json!({}))), "dict");
        assert_eq!(py_type_name(&json_to_value(&json!([]))), "list");
        assert_eq!(py_type_name(&Value::from(())), "NoneType");
    }
}
