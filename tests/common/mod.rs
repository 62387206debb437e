//! Helpers shared by the integration tests: run the `converge` binary, read the recap, hash a
//! directory tree.

#![allow(dead_code)]

pub mod lab;
pub mod yardstick;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// `host -> {ok, changed, unreachable, failed, skipped, rescued, ignored}` from PLAY RECAP.
    pub fn recap(&self) -> BTreeMap<String, BTreeMap<String, u32>> {
        recap(&self.stdout)
    }

    pub fn changed(&self, host: &str) -> u32 {
        self.recap()
            .get(host)
            .and_then(|m| m.get("changed"))
            .copied()
            .unwrap_or(u32::MAX)
    }
}

pub fn recap(out: &str) -> BTreeMap<String, BTreeMap<String, u32>> {
    let mut result = BTreeMap::new();
    let Some(pos) = out.find("PLAY RECAP") else {
        return result;
    };
    for line in out[pos..].lines().skip(1) {
        let Some((host, counters)) = line.split_once(" : ") else {
            continue;
        };
        let mut m = BTreeMap::new();
        for kv in counters.split_whitespace() {
            if let Some((k, v)) = kv.split_once('=') {
                m.insert(k.to_string(), v.parse().unwrap_or(0));
            }
        }
        result.insert(host.trim().to_string(), m);
    }
    result
}

pub fn converge_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_converge"))
}

/// The virtualenv with the peers (Ansible, pyinfra) that `tests/setup.sh` makes.
pub fn peers_venv() -> PathBuf {
    PathBuf::from(
        std::env::var("CONVERGE_PEERS_VENV")
            .unwrap_or_else(|_| "/var/cache/converge-lab/peers-venv".into()),
    )
}

/// `--format F --output DIR/STEM.EXT` for every report format: the files, and the arguments.
pub fn every_report(dir: &Path, stem: &str) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut args = Vec::new();
    for (format, ext) in [
        ("markdown", "md"),
        ("json", "json"),
        ("junit", "xml"),
        ("html", "html"),
    ] {
        let f = dir.join(format!("{stem}.{ext}"));
        args.extend([
            "--format".to_string(),
            format.to_string(),
            "--output".to_string(),
        ]);
        args.push(f.display().to_string());
        files.push(f);
    }
    (files, args)
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn converge(args: &[&str], cwd: &Path) -> Run {
    let out = Command::new(converge_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env(
            "CONVERGE_HISTORY",
            std::env::temp_dir().join("converge-tests-history.db"),
        )
        .output()
        .expect("run converge");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A stable fingerprint of a directory tree: paths, kinds, modes, link targets and contents.
pub fn tree_hash(root: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let mut entries = Vec::new();
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut items: Vec<_> = rd.filter_map(Result::ok).collect();
        items.sort_by_key(|e| e.file_name());
        for e in items {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let mode = meta.mode() & 0o7777;
            if meta.file_type().is_symlink() {
                let t = std::fs::read_link(&p)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                out.push(format!("L {rel} -> {t}"));
            } else if meta.is_dir() {
                out.push(format!("D {rel} {mode:o}"));
                walk(&p, root, out);
            } else {
                let content = std::fs::read(&p).unwrap_or_default();
                out.push(format!("F {rel} {mode:o} {}", fnv(&content)));
            }
        }
    }
    walk(root, root, &mut entries);
    entries.join("\n")
}

fn fnv(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}
