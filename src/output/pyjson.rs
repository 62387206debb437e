//! JSON as Ansible prints results: Python's `json.dumps(sort_keys=True, ensure_ascii=False)`.
//!
//! serde_json's compact form (`{"a":1}`) differs from Python's (`{"a": 1}`), and its pretty form
//! keeps insertion order; tools that parse `ansible-playbook` output (and people diffing logs)
//! expect Python's spacing and sorted keys, so the printer and the reports use this instead.

use serde_json::Value;

/// `json.dumps(value, sort_keys=True, ensure_ascii=False)` with `indent=None` (one line, `", "`
/// and `": "` separators) or `indent=Some(n)` (one item per line, `","` and `": "`). The one
/// implementation lives with the `to_json` filter, which must match Python too.
pub fn dumps(value: &Value, indent: Option<usize>) -> String {
    crate::template::python_dumps(value, indent)
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
