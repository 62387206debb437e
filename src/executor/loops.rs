//! `loop:` and the `with_*` forms: turning the rendered loop value into the list of items.

use crate::playbook::{Loop, LoopKind};
use serde_json::{json, Value};

pub fn items(l: &Loop, rendered: Value) -> Result<Vec<Value>, String> {
    let as_list = |v: Value| -> Result<Vec<Value>, String> {
        match v {
            Value::Array(a) => Ok(a),
            Value::Null => Ok(Vec::new()),
            Value::String(s) if matches!(l.kind, LoopKind::Items | LoopKind::Plain) => {
                Ok(vec![Value::String(s)])
            }
            other => Err(format!(
                "the loop value must be a list, got {}",
                kind(&other)
            )),
        }
    };
    match l.kind {
        LoopKind::List | LoopKind::Plain => as_list(rendered),
        LoopKind::Items => {
            let mut out = Vec::new();
            for i in as_list(rendered)? {
                match i {
                    Value::Array(inner) => out.extend(inner),
                    other => out.push(other),
                }
            }
            Ok(out)
        }
        LoopKind::Indexed => Ok(as_list(rendered)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| json!([i, v]))
            .collect()),
        LoopKind::Dict => match rendered {
            Value::Object(m) => Ok(m
                .into_iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect()),
            other => Err(format!("with_dict needs a mapping, got {}", kind(&other))),
        },
        LoopKind::Fileglob => {
            let patterns = as_list(rendered)?;
            let mut out = Vec::new();
            for p in patterns {
                if let Some(p) = p.as_str() {
                    out.extend(glob(p).into_iter().map(Value::String));
                }
            }
            Ok(out)
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// A controller-side glob over one directory level (`files/*.conf`).
fn glob(pattern: &str) -> Vec<String> {
    let path = std::path::Path::new(pattern);
    let (dir, file_pat) = match (path.parent(), path.file_name()) {
        (Some(d), Some(f)) => (d.to_path_buf(), f.to_string_lossy().to_string()),
        _ => return Vec::new(),
    };
    let Ok(rd) = std::fs::read_dir(if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        &dir
    }) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter(|e| {
            converge_modules::sysutil::glob_match(&file_pat, &e.file_name().to_string_lossy())
        })
        .map(|e| e.path().display().to_string())
        .collect();
    out.sort();
    out
}
