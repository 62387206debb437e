//! `stat`: what a path is, registered as `stat: {exists, isdir, isreg, islnk, mode, uid, gid,
//! pw_name, gr_name, size, mtime, checksum, lnk_source, ...}` like Ansible's module.
//!
//! Read-only, so it runs the same in check mode. `follow` resolves symlinks through the target;
//! `checksum` is SHA-1 by default (`checksum_algorithm: sha256` too), computed from the content
//! read through the target, for regular files only.

use crate::args::{ArgKind, ArgSpec, Args, Params};
use crate::common::{dirname, join, normalize, sha1_hex, sha256_hex};
use crate::contract::{Module, ModuleError, Outcome, RunMode};
use crate::filewrite::resolve_links;
use crate::mode::format_mode;
use crate::target::{FileKind, Stat, Target};
use serde_json::{Map, Value};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("path", ArgKind::Str)
        .required()
        .aliases(&["dest", "name"]),
    ArgSpec::new("follow", ArgKind::Bool),
    ArgSpec::new("get_checksum", ArgKind::Bool),
    ArgSpec::new("checksum_algorithm", ArgKind::Str)
        .aliases(&["checksum", "checksum_algo"])
        .choices(&["sha1", "sha256"]),
    // Accepted for compatibility; converge does not report MIME types or attributes.
    ArgSpec::new("get_mime", ArgKind::Bool).aliases(&["mime", "mime_type", "mime-type"]),
    ArgSpec::new("get_attributes", ArgKind::Bool).aliases(&["attr", "attributes"]),
];

/// The `stat` module.
pub struct StatModule;

/// The registered `stat` dictionary for an existing path.
pub fn stat_dict(path: &str, st: &Stat) -> Map<String, Value> {
    let mut m = Map::new();
    let mode = st.mode;
    m.insert("exists".into(), true.into());
    m.insert("path".into(), path.into());
    m.insert("mode".into(), format_mode(mode).into());
    m.insert("isdir".into(), (st.kind == FileKind::Directory).into());
    m.insert("isreg".into(), (st.kind == FileKind::File).into());
    m.insert("islnk".into(), (st.kind == FileKind::Symlink).into());
    m.insert("uid".into(), st.uid.into());
    m.insert("gid".into(), st.gid.into());
    m.insert("pw_name".into(), st.owner.clone().into());
    m.insert("gr_name".into(), st.group.clone().into());
    m.insert("size".into(), st.size.into());
    m.insert("mtime".into(), st.mtime.into());
    m.insert("inode".into(), st.inode.into());
    m.insert("nlink".into(), st.nlink.into());
    for (name, bit) in [
        ("rusr", 0o400),
        ("wusr", 0o200),
        ("xusr", 0o100),
        ("rgrp", 0o040),
        ("wgrp", 0o020),
        ("xgrp", 0o010),
        ("roth", 0o004),
        ("woth", 0o002),
        ("xoth", 0o001),
        ("isuid", 0o4000),
        ("isgid", 0o2000),
    ] {
        m.insert(name.into(), (mode & bit != 0).into());
    }
    m
}

impl Module for StatModule {
    fn name(&self) -> &'static str {
        "stat"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(
        &self,
        target: &dyn Target,
        args: &Args,
        _mode: RunMode,
    ) -> Result<Outcome, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let path = p.req_str("path")?;
        let follow = p.bool_or("follow", false);
        let (real, st) = if follow {
            resolve_links(target, &path)?
        } else {
            (path.clone(), target.stat(&path)?)
        };
        let Some(st) = st else {
            let mut m = Map::new();
            m.insert("exists".into(), false.into());
            return Ok(Outcome::ok().with_data("stat", Value::Object(m)));
        };
        let mut m = stat_dict(&path, &st);
        if st.kind == FileKind::Symlink {
            if let Some(t) = &st.link_target {
                m.insert("lnk_target".into(), t.clone().into());
                let source = normalize(&join(&dirname(&path), t));
                let (resolved, _) = resolve_links(target, &source).unwrap_or((source, None));
                m.insert("lnk_source".into(), resolved.into());
            }
        }
        if st.kind == FileKind::File && p.bool_or("get_checksum", true) {
            // An unreadable file has no checksum, as in Ansible.
            if let Ok(Some(data)) = target.read_file(&real) {
                let sum = match p.str_or("checksum_algorithm", "sha1").as_str() {
                    "sha256" => sha256_hex(&data),
                    _ => sha1_hex(&data),
                };
                m.insert("checksum".into(), sum.into());
            }
        }
        Ok(Outcome::ok().with_data("stat", Value::Object(m)))
    }
}
