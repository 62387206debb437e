//! Helpers for running modules against the local machine in a temporary directory.

#![allow(dead_code)]

use converge_modules::registry;
use converge_modules::{Args, LocalTarget, ModuleError, Outcome, RunMode, Status};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub fn args(v: Value) -> Args {
    v.as_object().cloned().expect("test args must be an object")
}

pub fn run(module: &str, a: &Value, check: bool) -> Result<Outcome, ModuleError> {
    let m = registry::find(module).expect("module exists");
    m.run(
        &LocalTarget,
        &args(a.clone()),
        RunMode { check, diff: true },
    )
}

pub fn ok(module: &str, a: &Value, check: bool) -> Outcome {
    match run(module, a, check) {
        Ok(o) => o,
        Err(e) => panic!("{module} {a}: {e}"),
    }
}

/// Every path below `dir` with its kind, mode, and content (or link target).
pub fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let m = fs::symlink_metadata(&p).unwrap();
        let desc = if m.file_type().is_symlink() {
            format!("link -> {}", fs::read_link(&p).unwrap().display())
        } else if m.is_dir() {
            walk(root, &p, out);
            format!("dir {:o}", m.mode() & 0o7777)
        } else {
            format!(
                "file {:o} ino-links {} {:?}",
                m.mode() & 0o7777,
                m.nlink(),
                String::from_utf8_lossy(&fs::read(&p).unwrap())
            )
        };
        out.insert(rel, desc);
    }
}

/// The full contract on one task: check mode changes nothing and predicts the real run's status
/// and diff; the real run reports `expect`; a second run (and a second check) is ok.
pub fn cycle(module: &str, a: &Value, dir: &Path, expect: Status) -> Outcome {
    let before = snapshot(dir);
    let checked = ok(module, a, true);
    assert_eq!(
        snapshot(dir),
        before,
        "{module}: check mode changed the tree"
    );
    let real = ok(module, a, false);
    assert_eq!(real.status, expect, "{module} {a}: {:?}", real.msg);
    assert_eq!(
        checked.status, real.status,
        "{module}: check mode predicted another status"
    );
    assert_eq!(
        checked.diffs, real.diffs,
        "{module}: check mode predicted another diff"
    );
    // Commands say "would have run" in check mode; state modules predict their message.
    if !matches!(module, "command" | "shell") {
        assert_eq!(
            checked.msg, real.msg,
            "{module}: check mode predicted another msg"
        );
    }
    if expect == Status::Changed {
        assert_ne!(
            snapshot(dir),
            before,
            "{module}: changed but the tree is the same"
        );
    }
    let after = snapshot(dir);
    let again = ok(module, a, false);
    assert_eq!(
        again.status,
        Status::Ok,
        "{module}: second run not idempotent: {:?} {:?}",
        again.msg,
        again.diffs
    );
    assert!(again.diffs.is_empty(), "{module}: second run has a diff");
    assert_eq!(
        snapshot(dir),
        after,
        "{module}: second run changed the tree"
    );
    assert_eq!(ok(module, a, true).status, Status::Ok);
    real
}

pub fn p(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}
