//! The serialisation filters: `to_json`/`to_nice_json` (byte-compatible with Python's
//! `json.dumps` as Ansible calls it: `", "` separators, `ensure_ascii`, sorted keys and 4-space
//! indent for the nice form), `from_json`, `to_yaml`/`to_nice_yaml` (a small YAML emitter that
//! mirrors PyYAML's layout — sorted keys, flow style for leaf collections in `to_yaml`,
//! indentless sequences — and quotes every string a YAML 1.1 loader would read as something
//! else), and `from_yaml`/`from_yaml_all` (parsed by converge's own YAML loader, so the
//! resolution rules are the ones playbooks get).

use super::convert::{json_to_value, py_float_repr, require_defined, value_to_json};
use super::filters::err;
use crate::source::SourceFile;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};
use regex::Regex;
use serde_json::{Map, Value as Json};
use std::sync::OnceLock;

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_nice_yaml);
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("from_yaml_all", from_yaml_all);
}

// ---------------------------------------------------------------------------------------------
// JSON, the way Python's json.dumps writes it

pub(crate) struct JsonStyle {
    pub indent: Option<String>,
    pub sort_keys: bool,
    pub ensure_ascii: bool,
    pub item_sep: String,
    pub key_sep: String,
}

fn json_style(kwargs: &Kwargs, nice: bool) -> Result<JsonStyle, Error> {
    let indent = match kwargs.get::<Option<Value>>("indent")? {
        Some(v) if v.is_none() => None,
        Some(v) => Some(match v.as_str() {
            Some(s) => s.to_string(),
            None => " ".repeat(usize::try_from(v).map_err(|_| err("indent must be a number"))?),
        }),
        None if nice => Some("    ".into()),
        None => None,
    };
    let sort_keys = kwargs
        .get::<Option<Value>>("sort_keys")?
        .map_or(nice, |v| v.is_true());
    let ensure_ascii = kwargs
        .get::<Option<Value>>("ensure_ascii")?
        .is_none_or(|v| v.is_true());
    let (item_sep, key_sep) = match kwargs.get::<Option<Vec<String>>>("separators")? {
        Some(seps) if seps.len() == 2 => (seps[0].clone(), seps[1].clone()),
        Some(_) => return Err(err("separators must be a list of two strings")),
        None if indent.is_some() => (",".into(), ": ".into()),
        None => (", ".into(), ": ".into()),
    };
    // accepted for compatibility, no effect
    let _ = kwargs.get::<Option<Value>>("vault_to_text")?;
    let _ = kwargs.get::<Option<Value>>("preprocess_unsafe")?;
    kwargs.assert_all_used()?;
    Ok(JsonStyle {
        indent,
        sort_keys,
        ensure_ascii,
        item_sep,
        key_sep,
    })
}

/// Python's `json.dumps(value, sort_keys=True, ensure_ascii=False)`, one line (`indent: None`,
/// `", "` and `": "` separators) or indented: what Ansible prints results with.
pub fn python_dumps(v: &Json, indent: Option<usize>) -> String {
    let style = JsonStyle {
        indent: indent.map(|n| " ".repeat(n)),
        sort_keys: true,
        ensure_ascii: false,
        item_sep: if indent.is_some() {
            ",".into()
        } else {
            ", ".into()
        },
        key_sep: ": ".into(),
    };
    dump_json(v, &style)
}

pub(crate) fn dump_json(v: &Json, style: &JsonStyle) -> String {
    let mut out = String::new();
    write_json(&mut out, v, style, 0);
    out
}

fn write_json(out: &mut String, v: &Json, style: &JsonStyle, level: usize) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(f64::NAN);
                out.push_str(&match py_float_repr(f).as_str() {
                    "nan" => "NaN".to_string(),
                    "inf" => "Infinity".to_string(),
                    "-inf" => "-Infinity".to_string(),
                    other => other.to_string(),
                });
            } else {
                out.push_str(&n.to_string());
            }
        }
        Json::String(s) => write_json_str(out, s, style.ensure_ascii),
        Json::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&style.item_sep);
                }
                newline_indent(out, style, level + 1);
                write_json(out, item, style, level + 1);
            }
            newline_indent(out, style, level);
            out.push(']');
        }
        Json::Object(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(&String, &Json)> = m.iter().collect();
            if style.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(&style.item_sep);
                }
                newline_indent(out, style, level + 1);
                write_json_str(out, k, style.ensure_ascii);
                out.push_str(&style.key_sep);
                write_json(out, item, style, level + 1);
            }
            newline_indent(out, style, level);
            out.push('}');
        }
    }
}

fn newline_indent(out: &mut String, style: &JsonStyle, level: usize) {
    if let Some(indent) = &style.indent {
        out.push('\n');
        for _ in 0..level {
            out.push_str(indent);
        }
    }
}

fn write_json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ensure_ascii && !c.is_ascii() => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn to_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    require_defined(value)?;
    let style = json_style(&kwargs, false)?;
    Ok(dump_json(&value_to_json(value)?, &style))
}

fn to_nice_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    require_defined(value)?;
    let style = json_style(&kwargs, true)?;
    Ok(dump_json(&value_to_json(value)?, &style))
}

fn from_json(value: &Value) -> Result<Value, Error> {
    require_defined(value)?;
    let Some(text) = value.as_str() else {
        return Ok(value.clone());
    };
    let parsed: Json = serde_json::from_str(text)
        .map_err(|e| err(format!("from_json: the value is not valid JSON: {e}")))?;
    Ok(json_to_value(&parsed))
}

// ---------------------------------------------------------------------------------------------
// YAML

pub(crate) struct YamlStyle {
    pub indent: usize,
    /// PyYAML's `default_flow_style`: `None` (flow for collections of scalars only), `true`
    /// (everything flow) or `false` (everything block).
    pub flow: Option<bool>,
    pub sort_keys: bool,
}

fn yaml_style(kwargs: &Kwargs, nice: bool) -> Result<YamlStyle, Error> {
    let indent = match kwargs.get::<Option<Value>>("indent")? {
        Some(v) => usize::try_from(v).map_err(|_| err("indent must be a number"))?,
        None if nice => 4,
        None => 2,
    };
    let flow = match kwargs.get::<Option<Value>>("default_flow_style")? {
        Some(v) if v.is_none() => None,
        Some(v) => Some(v.is_true()),
        None if nice => Some(false),
        None => None,
    };
    let sort_keys = kwargs
        .get::<Option<Value>>("sort_keys")?
        .is_none_or(|v| v.is_true());
    // accepted for compatibility, no effect
    let _ = kwargs.get::<Option<Value>>("width")?;
    let _ = kwargs.get::<Option<Value>>("allow_unicode")?;
    let _ = kwargs.get::<Option<Value>>("explicit_start")?;
    kwargs.assert_all_used()?;
    Ok(YamlStyle {
        indent: indent.clamp(2, 9),
        flow,
        sort_keys,
    })
}

/// Serialise like PyYAML's `yaml.dump`.
pub(crate) fn dump_yaml(v: &Json, style: &YamlStyle) -> String {
    let mut out = String::new();
    match v {
        Json::Array(a) if !a.is_empty() && !use_flow(v, style) => {
            block_seq(&mut out, a, 0, style, 0)
        }
        Json::Object(m) if !m.is_empty() && !use_flow(v, style) => {
            block_map(&mut out, m, 0, style, 0)
        }
        Json::Array(_) | Json::Object(_) => {
            flow(&mut out, v, style, 0);
            out.push('\n');
        }
        scalar => {
            let (text, plain) = yaml_scalar(scalar, false);
            out.push_str(&text);
            out.push('\n');
            if plain {
                out.push_str("...\n");
            }
        }
    }
    out
}

fn is_collection(v: &Json) -> bool {
    matches!(v, Json::Array(_) | Json::Object(_))
}

fn use_flow(v: &Json, style: &YamlStyle) -> bool {
    match style.flow {
        Some(f) => f,
        None => match v {
            Json::Array(a) => !a.iter().any(is_collection),
            Json::Object(m) => !m.values().any(is_collection),
            _ => true,
        },
    }
}

fn sorted_entries<'a>(m: &'a Map<String, Json>, style: &YamlStyle) -> Vec<(&'a String, &'a Json)> {
    let mut entries: Vec<_> = m.iter().collect();
    if style.sort_keys {
        entries.sort_by(|a, b| a.0.cmp(b.0));
    }
    entries
}

const MAX_YAML_DEPTH: usize = 256;

fn block_map(out: &mut String, m: &Map<String, Json>, col: usize, style: &YamlStyle, depth: usize) {
    for (k, v) in sorted_entries(m, style) {
        push_spaces(out, col);
        out.push_str(&yaml_scalar(&Json::String(k.clone()), false).0);
        out.push(':');
        block_value(out, v, col, style, depth, true);
    }
}

fn block_seq(out: &mut String, a: &[Json], col: usize, style: &YamlStyle, depth: usize) {
    for v in a {
        push_spaces(out, col);
        out.push('-');
        block_value(out, v, col, style, depth, false);
    }
}

/// Write what follows `key:` or `-`.
fn block_value(
    out: &mut String,
    v: &Json,
    col: usize,
    style: &YamlStyle,
    depth: usize,
    in_map: bool,
) {
    let nested_block = match v {
        Json::Array(a) => !a.is_empty() && !use_flow(v, style),
        Json::Object(m) => !m.is_empty() && !use_flow(v, style),
        _ => false,
    };
    if !nested_block || depth >= MAX_YAML_DEPTH {
        out.push(' ');
        if is_collection(v) {
            flow(out, v, style, depth);
        } else {
            out.push_str(&yaml_scalar(v, false).0);
        }
        out.push('\n');
        return;
    }
    if in_map {
        out.push('\n');
        match v {
            // sequences inside mappings are not indented (PyYAML's "indentless" sequences)
            Json::Array(a) => block_seq(out, a, col, style, depth + 1),
            Json::Object(m) => block_map(out, m, col + style.indent, style, depth + 1),
            _ => {}
        }
    } else {
        // the first line goes right after the dash, padded to the indent
        let child_col = col + style.indent;
        let mut child = String::new();
        match v {
            Json::Array(a) => block_seq(&mut child, a, child_col, style, depth + 1),
            Json::Object(m) => block_map(&mut child, m, child_col, style, depth + 1),
            _ => {}
        }
        push_spaces(out, style.indent - 1);
        out.push_str(child.get(child_col..).unwrap_or(&child));
    }
}

fn flow(out: &mut String, v: &Json, style: &YamlStyle, depth: usize) {
    match v {
        Json::Array(a) => {
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow_item(out, item, style, depth);
            }
            out.push(']');
        }
        Json::Object(m) => {
            out.push('{');
            for (i, (k, item)) in sorted_entries(m, style).into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&yaml_scalar(&Json::String(k.clone()), true).0);
                out.push_str(": ");
                flow_item(out, item, style, depth);
            }
            out.push('}');
        }
        scalar => out.push_str(&yaml_scalar(scalar, true).0),
    }
}

fn flow_item(out: &mut String, v: &Json, style: &YamlStyle, depth: usize) {
    if depth >= MAX_YAML_DEPTH && is_collection(v) {
        out.push_str("null");
    } else {
        flow(out, v, style, depth + 1);
    }
}

fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// A scalar as YAML text, and whether it was written plain (unquoted).
fn yaml_scalar(v: &Json, in_flow: bool) -> (String, bool) {
    match v {
        Json::Null => ("null".into(), true),
        Json::Bool(b) => ((if *b { "true" } else { "false" }).into(), true),
        Json::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            let text = if f.is_nan() {
                ".nan".to_string()
            } else if f.is_infinite() {
                (if f > 0.0 { ".inf" } else { "-.inf" }).to_string()
            } else {
                let r = py_float_repr(f);
                if !r.contains('.') && r.contains('e') {
                    r.replacen('e', ".0e", 1)
                } else {
                    r
                }
            };
            (text, true)
        }
        Json::Number(n) => (n.to_string(), true),
        Json::String(s) => yaml_string(s, in_flow),
        other => (other.to_string(), false),
    }
}

fn yaml_string(s: &str, in_flow: bool) -> (String, bool) {
    if needs_double_quotes(s) {
        return (double_quoted(s), false);
    }
    if plain_allowed(s, in_flow) {
        return (s.to_string(), true);
    }
    (format!("'{}'", s.replace('\'', "''")), false)
}

fn needs_double_quotes(s: &str) -> bool {
    s.chars().any(|c| {
        c == '\n'
            || c == '\r'
            || c == '\u{85}'
            || c == '\u{2028}'
            || c == '\u{2029}'
            || c == '\u{feff}'
            || (c.is_control() && c != '\t')
    })
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if c.is_control() || c == '\u{feff}' => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02X}"));
                } else {
                    out.push_str(&format!("\\u{n:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// YAML 1.1 implicit types (PyYAML's resolvers) plus anything Rust reads as a float.
fn resolves_to_non_string(s: &str) -> bool {
    static RESOLVERS: OnceLock<Vec<Regex>> = OnceLock::new();
    let resolvers = RESOLVERS.get_or_init(|| {
        [
            r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
            r"^(?:<<|=|~|null|Null|NULL)$",
            r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)?)$",
        ]
        .iter()
        .filter_map(|r| Regex::new(r).ok())
        .collect()
    });
    resolvers.iter().any(|re| re.is_match(s)) || s.parse::<f64>().is_ok()
}

fn plain_allowed(s: &str, in_flow: bool) -> bool {
    if s.is_empty() || resolves_to_non_string(s) {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    let last = s.chars().last().unwrap_or(' ');
    if first.is_whitespace() || last.is_whitespace() {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.contains('\t') || last == ':' {
        return false;
    }
    if in_flow && s.chars().any(|c| ",[]{}".contains(c)) {
        return false;
    }
    true
}

fn to_yaml(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    require_defined(value)?;
    let style = yaml_style(&kwargs, false)?;
    Ok(dump_yaml(&value_to_json(value)?, &style))
}

fn to_nice_yaml(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    require_defined(value)?;
    let style = yaml_style(&kwargs, true)?;
    Ok(dump_yaml(&value_to_json(value)?, &style))
}

fn from_yaml(value: &Value) -> Result<Value, Error> {
    require_defined(value)?;
    let Some(text) = value.as_str() else {
        return Ok(value.clone());
    };
    let file = SourceFile::new("<from_yaml>", text);
    let node = crate::yaml::load(&file).map_err(|d| {
        err(format!(
            "from_yaml: the value is not valid YAML: {}",
            d.message
        ))
    })?;
    Ok(json_to_value(&node.to_json()))
}

fn from_yaml_all(value: &Value) -> Result<Value, Error> {
    require_defined(value)?;
    let Some(text) = value.as_str() else {
        return Ok(value.clone());
    };
    let file = SourceFile::new("<from_yaml_all>", text);
    let docs = crate::yaml::load_all(&file).map_err(|d| {
        err(format!(
            "from_yaml_all: the value is not valid YAML: {}",
            d.message
        ))
    })?;
    Ok(json_to_value(&Json::Array(
        docs.iter().map(|d| d.to_json()).collect(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::tests::{eval, eval_err, render};
    use serde_json::json;

    fn sample() -> Json {
        json!({"b": {"c": 1, "d": [1, "two", {"x": null}]}, "a": [1, 2], "s": "yes", "e": "",
               "n": "1.0", "m": "multi\nline", "q": "it's", "u": "héllo", "t": true, "f": 1.5,
               "k": "a: b", "l": [], "o": {}})
    }

    #[test]
    fn to_json_matches_python() {
        // python3 -c 'import json; print(json.dumps(d))'
        let c = json!({"d": sample()});
        assert_eq!(
            render("{{ d | to_json }}", c.clone()),
            r#"{"b": {"c": 1, "d": [1, "two", {"x": null}]}, "a": [1, 2], "s": "yes", "e": "", "n": "1.0", "m": "multi\nline", "q": "it's", "u": "h\u00e9llo", "t": true, "f": 1.5, "k": "a: b", "l": [], "o": {}}"#
        );
        assert_eq!(
            render("{{ d.u | to_json(ensure_ascii=false) }}", c.clone()),
            "\"héllo\""
        );
        assert_eq!(
            render("{{ d.a | to_json(indent=2) }}", c.clone()),
            "[\n  1,\n  2\n]"
        );
        assert_eq!(
            render("{{ {'b': 1, 'a': 2} | to_json(sort_keys=true) }}", c),
            r#"{"a": 2, "b": 1}"#
        );
    }

    #[test]
    fn to_nice_json_matches_python() {
        // python3 -c 'import json; print(json.dumps(d, indent=4, sort_keys=True, separators=(",", ": ")))'
        let expected = "{\n    \"a\": [\n        1,\n        2\n    ],\n    \"b\": {\n        \"c\": 1,\n        \"d\": [\n            1,\n            \"two\",\n            {\n                \"x\": null\n            }\n        ]\n    },\n    \"e\": \"\",\n    \"f\": 1.5,\n    \"k\": \"a: b\",\n    \"l\": [],\n    \"m\": \"multi\\nline\",\n    \"n\": \"1.0\",\n    \"o\": {},\n    \"q\": \"it's\",\n    \"s\": \"yes\",\n    \"t\": true,\n    \"u\": \"h\\u00e9llo\"\n}";
        assert_eq!(
            render("{{ d | to_nice_json }}", json!({"d": sample()})),
            expected
        );
        assert_eq!(
            render("{{ [1] | to_nice_json(indent=2) }}", json!({})),
            "[\n  1\n]"
        );
    }

    #[test]
    fn from_json_filter() {
        assert_eq!(
            eval(r#"'{"a": [1, 2.5, null]}' | from_json"#, json!({})),
            json!({"a": [1, 2.5, null]})
        );
        assert_eq!(eval(r#"('{"a": 1}' | from_json).a"#, json!({})), json!(1));
        let e = eval_err("'{bad' | from_json", json!({}));
        assert!(e.message.contains("not valid JSON"), "{}", e.message);
    }

    #[test]
    fn to_yaml_matches_pyyaml() {
        // python3 -c 'import yaml; print(yaml.dump(d, allow_unicode=True, default_flow_style=None))'
        let expected = "a: [1, 2]\nb:\n  c: 1\n  d:\n  - 1\n  - two\n  - {x: null}\ne: ''\nf: 1.5\nk: 'a: b'\nl: []\nm: \"multi\\nline\"\nn: '1.0'\no: {}\nq: it's\ns: 'yes'\nt: true\nu: héllo\n";
        assert_eq!(
            dump_yaml(
                &sample(),
                &YamlStyle {
                    indent: 2,
                    flow: None,
                    sort_keys: true
                }
            ),
            expected
        );
        assert_eq!(
            render("{{ d | to_yaml }}", json!({"d": sample()})),
            expected
        );
        assert_eq!(render("{{ 'hello' | to_yaml }}", json!({})), "hello\n...\n");
        assert_eq!(render("{{ [1, 2] | to_yaml }}", json!({})), "[1, 2]\n");
        assert_eq!(
            render("{{ [[1, 2], {'a': 1}] | to_yaml }}", json!({})),
            "- [1, 2]\n- {a: 1}\n"
        );
        assert_eq!(
            render(
                "{{ {'a': [1]} | to_yaml(default_flow_style=true) }}",
                json!({})
            ),
            "{a: [1]}\n"
        );
    }

    #[test]
    fn to_nice_yaml_matches_pyyaml() {
        // python3 -c 'import yaml; print(yaml.dump(d, indent=4, allow_unicode=True, default_flow_style=False))'
        let expected = "a:\n- 1\n- 2\nb:\n    c: 1\n    d:\n    - 1\n    - two\n    -   x: null\ne: ''\nf: 1.5\nk: 'a: b'\nl: []\nm: \"multi\\nline\"\nn: '1.0'\no: {}\nq: it's\ns: 'yes'\nt: true\nu: héllo\n";
        assert_eq!(
            render("{{ d | to_nice_yaml }}", json!({"d": sample()})),
            expected
        );
        assert_eq!(
            render(
                "{{ [{'a': 1, 'b': [1, 2]}, [3, 4]] | to_nice_yaml(indent=2) }}",
                json!({})
            ),
            "- a: 1\n  b:\n  - 1\n  - 2\n- - 3\n  - 4\n"
        );
        assert_eq!(
            render(
                "{{ {'z': 1, 'a': 2} | to_nice_yaml(sort_keys=false) }}",
                json!({})
            ),
            "z: 1\na: 2\n"
        );
    }

    #[test]
    fn yaml_quoting_round_trips() {
        let tricky = [
            "yes",
            "No",
            "on",
            "null",
            "~",
            "",
            "1.0",
            "0x1f",
            "0644",
            "1e3",
            "2024-01-01",
            "-x",
            "- x",
            "a: b",
            "a #b",
            "#c",
            "x:",
            "[a]",
            "{a}",
            "*ref",
            "&a",
            "!tag",
            "%p",
            "@at",
            "`b`",
            " lead",
            "trail ",
            "tab\there",
            "new\nline",
            "quote'd",
            "dq\"",
            "back\\slash",
            "plain text",
            "héllo",
            "=",
            "<<",
            ".inf",
            "1:20",
            "y",
            "n",
        ];
        for s in tricky {
            let doc = json!({ "k": s, "l": [s] });
            for style in [
                YamlStyle {
                    indent: 2,
                    flow: None,
                    sort_keys: true,
                },
                YamlStyle {
                    indent: 4,
                    flow: Some(false),
                    sort_keys: true,
                },
            ] {
                let text = dump_yaml(&doc, &style);
                let file = SourceFile::new("<test>", text.as_str());
                let back = crate::yaml::load(&file).map(|n| n.to_json());
                assert_eq!(back.ok(), Some(doc.clone()), "{s:?} as {text:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn yaml_strings_round_trip(s in r#"[a-zA-Z0-9 :#'"\\\-?,\[\]{}&*!|>%@`~.=<\n\té]{0,12}"#) {
            let doc = json!({ "k": s.clone(), "l": [s.clone(), {"n": s.clone()}] });
            for style in [
                YamlStyle { indent: 2, flow: None, sort_keys: true },
                YamlStyle { indent: 4, flow: Some(false), sort_keys: true },
                YamlStyle { indent: 2, flow: Some(true), sort_keys: false },
            ] {
                let text = dump_yaml(&doc, &style);
                let file = SourceFile::new("<test>", text.as_str());
                let back = crate::yaml::load(&file).map(|n| n.to_json());
                proptest::prop_assert_eq!(back.ok(), Some(doc.clone()), "{:?}", text);
            }
        }
    }

    #[test]
    fn from_yaml_filters() {
        let c = json!({"y": "a: 1\nb: [yes, '2']\n", "multi": "a: 1\n---\nb: 2\n"});
        assert_eq!(
            eval("y | from_yaml", c.clone()),
            json!({"a": 1, "b": [true, "2"]})
        );
        assert_eq!(
            eval("multi | from_yaml_all", c.clone()),
            json!([{"a": 1}, {"b": 2}])
        );
        let e = eval_err("'a: [' | from_yaml", c);
        assert!(e.message.contains("not valid YAML"), "{}", e.message);
    }
}
