//! JSON documents owned as structured data: merging declared keys into an existing document and
//! describing the difference key by key (`"storage-driver": "overlay2" → "btrfs"`), for modules
//! that manage a JSON configuration file (`docker_engine`'s `/etc/docker/daemon.json`).
//!
//! Merge rule: every declared top-level key replaces the existing value wholesale (a declared
//! mapping is not deep-merged into an existing one, so what is declared is exactly what the file
//! holds for that key); a declared `null` removes the key; undeclared keys are kept, in their
//! order. Comparison is semantic (`Value` equality), so a file that only differs in formatting is
//! not rewritten.

use serde_json::{Map, Value};

/// Merge `declared` into `base` (an object; anything else is treated as empty).
pub fn merge(base: &Value, declared: &Map<String, Value>) -> Value {
    let mut out = base.as_object().cloned().unwrap_or_default();
    for (k, v) in declared {
        if v.is_null() {
            out.shift_remove(k);
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// One key-level change. `path` is the key, with nested object keys joined as `"a"."b"`.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyChange {
    Added {
        path: String,
        new: Value,
    },
    Removed {
        path: String,
        old: Value,
    },
    Changed {
        path: String,
        old: Value,
        new: Value,
    },
}

fn quote_key(k: &str) -> String {
    serde_json::to_string(k).unwrap_or_else(|_| format!("\"{k}\""))
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

impl KeyChange {
    pub fn path(&self) -> &str {
        match self {
            KeyChange::Added { path, .. }
            | KeyChange::Removed { path, .. }
            | KeyChange::Changed { path, .. } => path,
        }
    }

    /// One line: `+ "bip": "198.19.200.1/24"`, `- "mtu": 1500`,
    /// `~ "storage-driver": "overlay2" → "btrfs"`.
    pub fn render(&self) -> String {
        match self {
            KeyChange::Added { path, new } => format!("+ {path}: {}", compact(new)),
            KeyChange::Removed { path, old } => format!("- {path}: {}", compact(old)),
            KeyChange::Changed { path, old, new } => {
                format!("~ {path}: {} → {}", compact(old), compact(new))
            }
        }
    }
}

/// The key-level difference from `before` to `after`. Objects on both sides are compared key by
/// key (recursively); any other difference is one change of the whole value.
pub fn key_diff(before: &Value, after: &Value) -> Vec<KeyChange> {
    let mut out = Vec::new();
    diff_into("", before, after, &mut out);
    out
}

fn diff_into(prefix: &str, before: &Value, after: &Value, out: &mut Vec<KeyChange>) {
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        if before != after {
            out.push(KeyChange::Changed {
                path: prefix.to_string(),
                old: before.clone(),
                new: after.clone(),
            });
        }
        return;
    };
    let join = |k: &str| {
        if prefix.is_empty() {
            quote_key(k)
        } else {
            format!("{prefix}.{}", quote_key(k))
        }
    };
    // Keys in the order of `after` (new keys where they will be), then the removed ones.
    for (k, av) in a {
        match b.get(k) {
            None => out.push(KeyChange::Added {
                path: join(k),
                new: av.clone(),
            }),
            Some(bv) => diff_into(&join(k), bv, av, out),
        }
    }
    for (k, bv) in b {
        if !a.contains_key(k) {
            out.push(KeyChange::Removed {
                path: join(k),
                old: bv.clone(),
            });
        }
    }
}

/// The changes as lines, one per key.
pub fn render_changes(changes: &[KeyChange]) -> String {
    let mut s = String::new();
    for c in changes {
        s.push_str(&c.render());
        s.push('\n');
    }
    s
}

/// Before/after texts for a unified diff that shows only the changed keys:
/// `-"storage-driver": "overlay2"` / `+"storage-driver": "btrfs"`.
pub fn diff_texts(changes: &[KeyChange]) -> (String, String) {
    let (mut before, mut after) = (String::new(), String::new());
    for c in changes {
        match c {
            KeyChange::Added { path, new } => {
                after.push_str(&format!("{path}: {}\n", compact(new)));
            }
            KeyChange::Removed { path, old } => {
                before.push_str(&format!("{path}: {}\n", compact(old)));
            }
            KeyChange::Changed { path, old, new } => {
                before.push_str(&format!("{path}: {}\n", compact(old)));
                after.push_str(&format!("{path}: {}\n", compact(new)));
            }
        }
    }
    (before, after)
}

/// The document as the file is written: pretty JSON with a final newline.
pub fn to_file_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// Parse a JSON document's text; empty (or whitespace only) text is an empty object.
pub fn parse_document(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_str::<Value>(text).map_err(|e| format!("not valid JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn merge_replaces_declared_keeps_others_and_removes_nulls() {
        let base = json!({"mtu": 1500, "storage-driver": "overlay2", "log-opts": {"max-file": "3"}, "debug": true});
        let declared = obj(json!({
            "storage-driver": "btrfs",
            "bip": "198.19.200.1/24",
            "log-opts": {"max-size": "10m"},
            "debug": null
        }));
        let m = merge(&base, &declared);
        assert_eq!(
            m,
            json!({"mtu": 1500, "storage-driver": "btrfs", "log-opts": {"max-size": "10m"}, "bip": "198.19.200.1/24"})
        );
        // Order: existing keys keep their place, new keys are appended.
        let keys: Vec<&String> = m.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["mtu", "storage-driver", "log-opts", "bip"]);
        // Idempotent.
        assert_eq!(merge(&m, &declared), m);
        // A non-object base is an empty document.
        assert_eq!(merge(&json!([1]), &obj(json!({"a": 1}))), json!({"a": 1}));
    }

    #[test]
    fn key_level_diff_renders_readably() {
        let before =
            json!({"storage-driver": "overlay2", "mtu": 1500, "log-opts": {"max-file": "3"}});
        let after = json!({"storage-driver": "btrfs", "log-opts": {"max-file": "5"}, "bip": "198.19.200.1/24"});
        let d = key_diff(&before, &after);
        assert_eq!(
            render_changes(&d),
            "~ \"storage-driver\": \"overlay2\" → \"btrfs\"\n\
             ~ \"log-opts\".\"max-file\": \"3\" → \"5\"\n\
             + \"bip\": \"198.19.200.1/24\"\n\
             - \"mtu\": 1500\n"
        );
        let (b, a) = diff_texts(&d);
        assert_eq!(
            b,
            "\"storage-driver\": \"overlay2\"\n\"log-opts\".\"max-file\": \"3\"\n\"mtu\": 1500\n"
        );
        assert_eq!(
            a,
            "\"storage-driver\": \"btrfs\"\n\"log-opts\".\"max-file\": \"5\"\n\"bip\": \"198.19.200.1/24\"\n"
        );
        assert!(key_diff(&after, &after.clone()).is_empty());
        // Arrays change as a whole.
        let d = key_diff(&json!({"a": [1, 2]}), &json!({"a": [1]}));
        assert_eq!(d[0].render(), "~ \"a\": [1,2] → [1]");
    }

    #[test]
    fn documents_parse_and_print() {
        assert_eq!(parse_document("  \n").unwrap(), json!({}));
        assert!(parse_document("{\"a\": }")
            .unwrap_err()
            .contains("not valid JSON"));
        assert_eq!(to_file_text(&json!({"a": 1})), "{\n  \"a\": 1\n}\n");
    }
}
