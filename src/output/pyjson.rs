//! JSON as Ansible prints results: Python's `json.dumps(sort_keys=True, ensure_ascii=False)`.
//!
//! serde_json's compact form (`{"a":1}`) differs from Python's (`{"a": 1}`), and its pretty form
//! keeps insertion order; tools that parse `ansible-playbook` output (and people diffing logs)
//! expect Python's spacing and sorted keys, so the printer and the reports use this instead.

use serde_json::Value;

/// `json.dumps(value, sort_keys=True, ensure_ascii=False)` with `indent=None` (one line, `", "`
/// and `": "` separators) or `indent=Some(n)` (one item per line, `","` and `": "`).
pub fn dumps(value: &Value, indent: Option<usize>) -> String {
    let mut out = String::new();
    write_value(&mut out, value, indent, 0);
    out
}

fn newline(out: &mut String, indent: Option<usize>, level: usize) {
    if let Some(n) = indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', n * level));
    }
}

fn separator(out: &mut String, indent: Option<usize>) {
    out.push(',');
    if indent.is_none() {
        out.push(' ');
    }
}

fn write_value(out: &mut String, value: &Value, indent: Option<usize>, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    separator(out, indent);
                }
                newline(out, indent, level + 1);
                write_value(out, item, indent, level + 1);
            }
            newline(out, indent, level);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    separator(out, indent);
                }
                newline(out, indent, level + 1);
                write_str(out, k);
                out.push_str(": ");
                write_value(out, v, indent, level + 1);
            }
            newline(out, indent, level);
            out.push('}');
        }
    }
}

/// Python's `py_encode_basestring`: escapes `"`, `\` and control characters only.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_like_python() {
        let v = json!({"msg": "boom", "changed": false, "cmd": ["a", "b"], "rc": 1, "x": {}});
        assert_eq!(
            dumps(&v, None),
            r#"{"changed": false, "cmd": ["a", "b"], "msg": "boom", "rc": 1, "x": {}}"#
        );
    }

    #[test]
    fn indented_like_python() {
        let v = json!({"foo": {"b": 2, "a": "é"}, "l": [1, []]});
        assert_eq!(
            dumps(&v, Some(4)),
            "{\n    \"foo\": {\n        \"a\": \"é\",\n        \"b\": 2\n    },\n    \"l\": [\n        1,\n        []\n    ]\n}"
        );
    }

    #[test]
    fn escapes_like_python() {
        let v = json!("a\"b\\c\nd\u{1b}\u{7f}ü");
        assert_eq!(dumps(&v, None), "\"a\\\"b\\\\c\\nd\\u001b\u{7f}ü\"");
    }
}
