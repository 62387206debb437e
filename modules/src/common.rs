//! Small helpers every module needs: checksums and base64 as Ansible registers them, command
//! output turned into `rc`/`stdout_lines`/..., path arithmetic on target paths (always POSIX,
//! whatever the controller is), backup file names, and running a helper command on the target
//! with a clear failure message.

use crate::contract::ModuleError;
use crate::target::{Command, Output, Target};
use base64::Engine as _;
use serde_json::{Map, Value};
use sha1::Digest as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Hex SHA-1, the `checksum` Ansible registers.
pub fn sha1_hex(data: &[u8]) -> String {
    hex(&sha1::Sha1::digest(data))
}

/// Hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&sha2::Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn b64_encode(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decode base64, tolerating whitespace and missing padding.
pub fn b64_decode(text: &str) -> Result<Vec<u8>, String> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean.trim_end_matches('='))
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(clean.trim_end_matches('='))
        })
        .map_err(|e| format!("invalid base64: {e}"))
}

/// Lines as Python's `str.splitlines()` gives them (no line endings).
pub fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| Value::String(l.strip_suffix('\r').unwrap_or(l).to_string()))
        .collect()
}

/// Strip trailing newlines, as Ansible's `strip_empty_ends` does.
pub fn strip_ends(text: &str) -> String {
    text.trim_end_matches(['\r', '\n']).to_string()
}

/// `rc`, `stdout`, `stdout_lines`, `stderr`, `stderr_lines` of a command.
pub fn output_data(out: &Output, strip: bool) -> Map<String, Value> {
    let (stdout, stderr) = if strip {
        (strip_ends(&out.stdout_str()), strip_ends(&out.stderr_str()))
    } else {
        (out.stdout_str(), out.stderr_str())
    };
    let mut m = Map::new();
    m.insert("rc".into(), out.rc.into());
    m.insert("stdout_lines".into(), Value::Array(lines(&stdout)));
    m.insert("stdout".into(), stdout.into());
    m.insert("stderr_lines".into(), Value::Array(lines(&stderr)));
    m.insert("stderr".into(), stderr.into());
    m
}

/// Whether content looks binary (a NUL byte or invalid UTF-8), so diffs show a summary instead.
pub fn is_binary(data: &[u8]) -> bool {
    data.contains(&0) || std::str::from_utf8(data).is_err()
}

/// Content as diff text: the text itself, or `(binary file, N bytes)`.
pub fn diff_text(data: &[u8]) -> String {
    if is_binary(data) {
        format!("(binary file, {} bytes)", data.len())
    } else {
        String::from_utf8_lossy(data).into_owned()
    }
}

/// The directory part of a target path (`/a/b` → `/a`, `b` → `.`, `/b` → `/`).
pub fn dirname(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => trimmed[..i].to_string(),
        None if path.starts_with('/') => "/".to_string(),
        None => ".".to_string(),
    }
}

/// The last component of a target path (`/a/b/` → `b`).
pub fn basename(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Join target paths; an absolute `rel` wins.
pub fn join(base: &str, rel: &str) -> String {
    if rel.starts_with('/') || base.is_empty() {
        rel.to_string()
    } else if base.ends_with('/') {
        format!("{base}{rel}")
    } else {
        format!("{base}/{rel}")
    }
}

/// Remove `.` and `..` components lexically.
pub fn normalize(path: &str) -> String {
    let abs = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let body = parts.join("/");
    if abs {
        format!("/{body}")
    } else if body.is_empty() {
        ".".to_string()
    } else {
        body
    }
}

/// Seconds since the epoch.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `YYYY-MM-DD@HH:MM:SS` in local time, as in Ansible's backup names.
pub fn local_timestamp(secs: i64) -> String {
    // SAFETY: localtime_r only writes into the struct we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let t: libc::time_t = secs as libc::time_t;
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return secs.to_string();
    }
    format!(
        "{:04}-{:02}-{:02}@{:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` local time, as Ansible's `start`/`end` of a command.
pub fn datetime_micro(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let stamp = local_timestamp(d.as_secs() as i64).replacen('@', " ", 1);
    format!("{stamp}.{:06}", d.subsec_micros())
}

/// `H:MM:SS.ffffff`, as Ansible's `delta`.
pub fn delta_text(d: std::time::Duration) -> String {
    let s = d.as_secs();
    format!(
        "{}:{:02}:{:02}.{:06}",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        d.subsec_micros()
    )
}

/// The name Ansible gives a backup: `dest.<pid>.<YYYY-MM-DD@HH:MM:SS>~`.
pub fn backup_name(dest: &str, now: i64) -> String {
    format!("{dest}.{}.{}~", std::process::id(), local_timestamp(now))
}

/// Run a helper command (`chmod`, `mkdir`, ...) on the target; a non-zero exit is a failure
/// whose message names what was being done and carries the command's stderr.
pub fn run_checked(target: &dyn Target, cmd: &Command, what: &str) -> Result<Output, ModuleError> {
    let out = target.run(cmd)?;
    if !out.success() {
        let err = strip_ends(&out.stderr_str());
        let err = if err.is_empty() {
            strip_ends(&out.stdout_str())
        } else {
            err
        };
        return Err(ModuleError::Failed(format!(
            "{what} failed (rc {}): {}{}",
            out.rc,
            cmd.to_shell_string(),
            if err.is_empty() {
                String::new()
            } else {
                format!(": {err}")
            }
        )));
    }
    Ok(out)
}

/// Render `key: value` lines, the text form of Ansible's dict diffs.
pub fn kv_text(pairs: &[(&str, String)]) -> String {
    let mut s = String::new();
    for (k, v) in pairs {
        s.push_str(k);
        s.push_str(": ");
        s.push_str(v);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(dirname("/a/b"), "/a");
        assert_eq!(dirname("/a/b/"), "/a");
        assert_eq!(dirname("/b"), "/");
        assert_eq!(dirname("b"), ".");
        assert_eq!(basename("/a/b/"), "b");
        assert_eq!(basename("b"), "b");
        assert_eq!(join("/a", "b"), "/a/b");
        assert_eq!(join("/a/", "b"), "/a/b");
        assert_eq!(join("/a", "/b"), "/b");
        assert_eq!(normalize("/a/./b/../c//d"), "/a/c/d");
        assert_eq!(normalize("../a/.."), "..");
        assert_eq!(normalize("/.."), "/");
    }

    #[test]
    fn checksums_and_base64() {
        assert_eq!(
            sha1_hex(b"hello\n"),
            "f572d396fae9206628714fb2ce00f72e94f2258f"
        );
        assert_eq!(b64_encode(b"hi\n"), "aGkK");
        assert_eq!(b64_decode("aGkK").unwrap(), b"hi\n");
        assert_eq!(b64_decode("aG\nkK").unwrap(), b"hi\n");
        assert_eq!(b64_decode("aGk=").unwrap(), b"hi");
        assert!(b64_decode("!!").is_err());
    }

    #[test]
    fn output_lines() {
        let out = Output {
            rc: 1,
            stdout: b"a\nb\r\n\n".to_vec(),
            stderr: Vec::new(),
        };
        let d = output_data(&out, true);
        assert_eq!(d["stdout"], "a\nb");
        assert_eq!(d["stdout_lines"], serde_json::json!(["a", "b"]));
        assert_eq!(d["stderr_lines"], serde_json::json!([]));
    }

    #[test]
    fn binary_detection() {
        assert!(is_binary(b"a\0b"));
        assert!(is_binary(&[0xff, 0xfe]));
        assert!(!is_binary("héllo".as_bytes()));
        assert_eq!(diff_text(&[0, 1, 2]), "(binary file, 3 bytes)");
    }
}
