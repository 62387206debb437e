//! `copy`: put a file (or a directory tree) on the host, from inline `content`, from a file on
//! the controller, or from another path on the host (`remote_src`). `template` reuses all of it
//! with the text the engine rendered.
//!
//! # Internal arguments (set by the engine, never by playbooks)
//!
//! The module only sees the host, so the engine reads controller-side sources and passes them in:
//!
//! * `_content_b64` (string): base64 of the controller file named by `src`, when `src` is a
//!   file and `remote_src` is false.
//! * `_src_mode` (string, optional): that file's mode as octal (`"0755"`); used only with
//!   `mode: preserve`.
//! * `_files` (list), when `src` is a controller directory: one object per entry below `src`,
//!   paths relative to `src` itself (not including its name), parents before children:
//!   - files: `{"path": "conf.d/a.conf", "content_b64": "...", "mode": "0644"}`
//!   - directories: `{"path": "conf.d", "state": "directory", "mode": "0755"}` (or
//!     `"dir": true` instead of `"state"`)
//!
//!   `mode` is the controller mode, used only with `mode: preserve`. The module applies Ansible's
//!   trailing-slash rule from `src` itself: `src: dir/` copies the *contents* into `dest`,
//!   `src: dir` creates `dest/dir/...`.
//! * `_content` (string): the text `template` rendered (see `template.rs`).
//!
//! # Semantics (Ansible's)
//!
//! * `dest` ending in `/`, or an existing directory, receives `basename(src)`; `dest/` missing
//!   directories are created, otherwise a missing parent directory is an error.
//! * `force: false` never replaces an existing file (attributes are still applied).
//! * `backup` copies the old file to `dest.<pid>.<YYYY-MM-DD@HH:MM:SS>~` and registers
//!   `backup_file`; `validate` runs on a temporary file before the destination is replaced.
//! * Registered: `dest`, `src`, `checksum` (SHA-1), `size`, `mode`, `owner`, `group`, `uid`,
//!   `gid`, `state`, `backup_file`.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::common::{b64_decode, basename, join, run_checked};
use crate::contract::{Converge, ModuleError, Plan};
use crate::fileattrs::{AttrChange, DEFAULT_DIR_MODE};
use crate::filewrite::{apply_write, inspect_dest, plan_write, DestState, WriteAction, WriteArgs};
use crate::mode::ModeSpec;
use crate::target::{Command, FileKind, Stat, Target};
use serde_json::Value;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("dest", ArgKind::Str).required(),
    ArgSpec::new("src", ArgKind::Str),
    ArgSpec::new("content", ArgKind::Raw),
    ArgSpec::new("mode", ArgKind::Mode),
    ArgSpec::new("owner", ArgKind::Str),
    ArgSpec::new("group", ArgKind::Str),
    ArgSpec::new("backup", ArgKind::Bool),
    ArgSpec::new("validate", ArgKind::Str),
    ArgSpec::new("force", ArgKind::Bool).aliases(&["thirsty"]),
    ArgSpec::new("remote_src", ArgKind::Bool),
    ArgSpec::new("directory_mode", ArgKind::Mode),
    ArgSpec::new("follow", ArgKind::Bool),
];

/// Where the bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// One file's content (and its mode on the controller, for `mode: preserve`).
    Bytes { data: Vec<u8>, mode: Option<u32> },
    /// A controller directory, as `_files` describes it.
    Tree(Vec<TreeEntry>),
    /// A path on the host (`remote_src`), file or directory.
    Remote(String),
}

/// One entry of a directory copy, relative to the source directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    pub rel: String,
    pub dir: bool,
    pub data: Vec<u8>,
    pub mode: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyParams {
    pub dest: String,
    pub src: Option<String>,
    pub source: Source,
    /// `content` was given: a directory destination is an error.
    pub inline: bool,
    pub write: WriteArgs,
    /// `mode: preserve`.
    pub preserve_mode: bool,
    pub directory_mode: Option<ModeSpec>,
    pub force: bool,
    pub follow: bool,
}

/// One file of the plan with its source bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileItem {
    pub dest: DestState,
    pub data: Vec<u8>,
    pub src_mode: Option<u32>,
}

/// What inspect saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyState {
    Single {
        item: FileItem,
        /// `dest` ended with `/`: missing directories are created.
        create_parents: bool,
    },
    Tree {
        base: String,
        /// Directories to exist, with what is there now.
        dirs: Vec<(String, Option<Stat>)>,
        files: Vec<FileItem>,
    },
}

/// The `copy` module.
pub struct CopyModule;

fn parse_octal(arg: &str, s: &str) -> Result<u32, ArgError> {
    match ModeSpec::parse(s) {
        Ok(ModeSpec::Octal(m)) => Ok(m),
        _ => Err(ArgError::new(
            Some(arg),
            format!("`{s}` is not an octal mode"),
        )),
    }
}

fn parse_files(v: &Value) -> Result<Vec<TreeEntry>, ArgError> {
    let bad = |m: String| ArgError::new(Some("_files"), m);
    let items = v.as_array().ok_or_else(|| bad("must be a list".into()))?;
    let mut out = Vec::new();
    for it in items {
        let o = it
            .as_object()
            .ok_or_else(|| bad("entries must be objects".into()))?;
        let rel = o
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("entry without path".into()))?
            .trim_matches('/')
            .to_string();
        if rel.is_empty() || rel.split('/').any(|c| c == "..") {
            return Err(bad(format!("invalid entry path `{rel}`")));
        }
        let dir = o.get("state").and_then(Value::as_str) == Some("directory")
            || o.get("dir").and_then(Value::as_bool) == Some(true);
        let data = if dir {
            Vec::new()
        } else {
            let b64 = o
                .get("content_b64")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("{rel}: no content_b64")))?;
            b64_decode(b64).map_err(|e| bad(format!("{rel}: {e}")))?
        };
        let mode = match o.get("mode").and_then(Value::as_str) {
            Some(m) => Some(parse_octal("_files", m)?),
            None => None,
        };
        out.push(TreeEntry {
            rel,
            dir,
            data,
            mode,
        });
    }
    Ok(out)
}

/// Parse the copy-like arguments shared with `template` (`spec` is the caller's).
pub fn parse_common(
    p: &Params<'_>,
    source: Source,
    src: Option<String>,
    inline: bool,
) -> Result<CopyParams, ArgError> {
    let dest = p.req_str("dest")?;
    if dest.is_empty() {
        return Err(ArgError::new(Some("dest"), "must not be empty"));
    }
    let preserve_mode = p.mode("mode").as_deref() == Some("preserve");
    let write = WriteArgs::from_params_opts(p, true)?;
    let directory_mode = match p.mode("directory_mode").filter(|m| !m.is_empty()) {
        Some(m) => Some(ModeSpec::parse(&m).map_err(|e| ArgError::new(Some("directory_mode"), e))?),
        None => None,
    };
    Ok(CopyParams {
        dest,
        src,
        source,
        inline,
        write,
        preserve_mode,
        directory_mode,
        force: p.bool_or("force", true),
        follow: p.bool_or("follow", false),
    })
}

impl CopyModule {
    fn parse(&self, args: &Args) -> Result<CopyParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let src = p.str("src").filter(|s| !s.is_empty());
        let remote = p.bool_or("remote_src", false);
        let content = p.raw("content").filter(|v| !v.is_null());
        let source = if let Some(c) = content {
            if src.is_some() {
                return Err(ArgError::new(
                    Some("content"),
                    "src and content are mutually exclusive",
                )
                .into());
            }
            let text = match c {
                Value::String(s) => s.clone(),
                other => serde_json::to_string(other).unwrap_or_default(),
            };
            Source::Bytes {
                data: text.into_bytes(),
                mode: None,
            }
        } else if let Some(s) = &src {
            if remote {
                Source::Remote(s.clone())
            } else if let Some(files) = args.get("_files") {
                Source::Tree(parse_files(files)?)
            } else if let Some(b64) = args.get("_content_b64").and_then(Value::as_str) {
                let data = b64_decode(b64).map_err(|e| ArgError::new(Some("_content_b64"), e))?;
                let mode = match args.get("_src_mode").and_then(Value::as_str) {
                    Some(m) => Some(parse_octal("_src_mode", m)?),
                    None => None,
                };
                Source::Bytes { data, mode }
            } else {
                return Err(ModuleError::Failed(format!(
                    "copy: the content of src `{s}` was not provided (the engine passes controller files as _content_b64 or _files)"
                )));
            }
        } else {
            return Err(ArgError::new(Some("src"), "one of src or content is required").into());
        };
        Ok(parse_common(&p, source, src, content.is_some())?)
    }
}

/// Inspect shared by `copy` and `template`.
pub fn inspect_copy(p: &CopyParams, target: &dyn Target) -> Result<CopyState, ModuleError> {
    // A remote source is read now, so that plan stays pure.
    let source = match &p.source {
        Source::Remote(path) => read_remote(target, path)?,
        other => other.clone(),
    };
    match source {
        Source::Bytes { data, mode } => {
            let trailing = p.dest.ends_with('/');
            let mut dest = p.dest.clone();
            let into_dir = trailing
                || target
                    .stat(&dest)?
                    .is_some_and(|s| s.kind == FileKind::Directory)
                || (p.follow
                    && crate::filewrite::resolve_links(target, &dest)?
                        .1
                        .is_some_and(|s| s.kind == FileKind::Directory));
            if into_dir {
                if p.inline {
                    return Err(ModuleError::Failed(
                        "can not use content with a dir as dest".into(),
                    ));
                }
                dest = join(&dest, &basename(p.src.as_deref().unwrap_or("")));
            }
            let st = inspect_dest(target, &dest, p.follow)?;
            Ok(CopyState::Single {
                item: FileItem {
                    dest: st,
                    data,
                    src_mode: mode,
                },
                create_parents: trailing,
            })
        }
        Source::Tree(entries) => {
            let src = p.src.clone().unwrap_or_default();
            let base = if src.ends_with('/') {
                p.dest.trim_end_matches('/').to_string()
            } else {
                join(p.dest.trim_end_matches('/'), &basename(&src))
            };
            let base = if base.is_empty() {
                "/".to_string()
            } else {
                base
            };
            let mut dirs = vec![(base.clone(), target.stat(&base)?)];
            let mut files = Vec::new();
            for e in entries {
                let path = join(&base, &e.rel);
                if e.dir {
                    dirs.push((path.clone(), target.stat(&path)?));
                } else {
                    files.push(FileItem {
                        dest: inspect_dest(target, &path, p.follow)?,
                        data: e.data,
                        src_mode: e.mode,
                    });
                }
            }
            Ok(CopyState::Tree { base, dirs, files })
        }
        Source::Remote(_) => Err(ModuleError::Failed(
            "remote source could not be read".into(),
        )),
    }
}

/// Read a `remote_src` source: one file, or a directory as a tree.
fn read_remote(target: &dyn Target, path: &str) -> Result<Source, ModuleError> {
    let (real, st) = crate::filewrite::resolve_links(target, path.trim_end_matches('/'))?;
    let st = st.ok_or_else(|| ModuleError::Failed(format!("Source {path} not found")))?;
    if st.kind != FileKind::Directory {
        let data = target
            .read_file(&real)?
            .ok_or_else(|| ModuleError::Failed(format!("Source {path} not found")))?;
        return Ok(Source::Bytes {
            data,
            mode: Some(st.mode),
        });
    }
    let out = run_checked(
        target,
        &Command::argv(["find", &real, "-mindepth", "1", "-print0"]),
        &format!("listing {path}"),
    )?;
    let mut names: Vec<String> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    names.sort();
    let prefix = format!("{}/", real.trim_end_matches('/'));
    let mut entries = Vec::new();
    for n in names {
        let Some(rel) = n.strip_prefix(&prefix) else {
            continue;
        };
        let Some(s) = target.stat(&n)? else { continue };
        match s.kind {
            FileKind::Directory => entries.push(TreeEntry {
                rel: rel.to_string(),
                dir: true,
                data: Vec::new(),
                mode: Some(s.mode),
            }),
            FileKind::File | FileKind::Symlink => {
                if let Some(data) = target.read_file(&n)? {
                    entries.push(TreeEntry {
                        rel: rel.to_string(),
                        dir: false,
                        data,
                        mode: Some(s.mode),
                    });
                }
            }
            FileKind::Other => {}
        }
    }
    Ok(Source::Tree(entries))
}

fn write_args_for(p: &CopyParams, src_mode: Option<u32>) -> WriteArgs {
    let mut w = p.write.clone();
    if p.preserve_mode {
        w.attrs.mode = src_mode.map(ModeSpec::Octal);
    }
    w
}

fn plan_item(
    p: &CopyParams,
    item: &FileItem,
    plan: &mut Plan<WriteAction>,
) -> Result<(), ModuleError> {
    let w = write_args_for(p, item.src_mode);
    // force=false: an existing file keeps its content (its attributes are still managed).
    let data = match &item.dest.content {
        Some(current) if !p.force && item.dest.exists() => current.clone(),
        _ => item.data.clone(),
    };
    plan_write(&w, &item.dest, &data, plan)?;
    Ok(())
}

/// Plan shared by `copy` and `template`.
pub fn plan_copy(p: &CopyParams, state: &CopyState) -> Result<Plan<WriteAction>, ModuleError> {
    let mut plan = Plan::nothing();
    match state {
        CopyState::Single {
            item,
            create_parents,
        } => {
            if !item.dest.exists() && !item.dest.parent_exists && !create_parents {
                plan.actions
                    .push(WriteAction::RequireDir(crate::common::dirname(
                        &item.dest.path,
                    )));
            }
            if item.dest.is_dir() {
                return Err(ModuleError::Failed(format!(
                    "{} is a directory",
                    item.dest.path
                )));
            }
            plan_item(p, item, &mut plan)?;
            plan.data
                .insert("dest".into(), item.dest.path.clone().into());
        }
        CopyState::Tree { base, dirs, files } => {
            let mut data = serde_json::Map::new();
            for (dir, st) in dirs {
                match st {
                    Some(s) if s.kind == FileKind::Directory => {}
                    Some(_) => {
                        return Err(ModuleError::Failed(format!(
                            "{dir} exists and is not a directory"
                        )))
                    }
                    None => {
                        plan.actions.push(WriteAction::MakeDirs(dir.clone()));
                        if let Some(m) = &p.directory_mode {
                            plan.actions.push(WriteAction::Attrs(AttrChange {
                                path: dir.clone(),
                                mode: Some((DEFAULT_DIR_MODE, m.apply(DEFAULT_DIR_MODE, true))),
                                ..AttrChange::default()
                            }));
                        }
                        plan.diffs
                            .push(crate::contract::Diff::new(dir, "", "(directory)\n"));
                    }
                }
            }
            for item in files {
                let mut sub = Plan::nothing();
                if item.dest.is_dir() {
                    return Err(ModuleError::Failed(format!(
                        "{} is a directory",
                        item.dest.path
                    )));
                }
                plan_item(p, item, &mut sub)?;
                plan.actions.extend(sub.actions);
                plan.diffs.extend(sub.diffs);
                if let Some(b) = sub.data.get("backup_file") {
                    data.insert(item.dest.path.clone(), b.clone());
                }
            }
            plan.data.insert("dest".into(), base.clone().into());
            plan.data.insert("state".into(), "directory".into());
            if !data.is_empty() {
                plan.data.insert("backup_files".into(), Value::Object(data));
            }
        }
    }
    if let Some(src) = &p.src {
        plan.data.insert("src".into(), src.clone().into());
    }
    Ok(plan)
}

impl Converge for CopyModule {
    type Params = CopyParams;
    type State = CopyState;
    type Action = WriteAction;

    fn name(&self) -> &'static str {
        "copy"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn params(&self, args: &Args) -> Result<CopyParams, ModuleError> {
        self.parse(args)
    }
    fn inspect(&self, p: &CopyParams, target: &dyn Target) -> Result<CopyState, ModuleError> {
        inspect_copy(p, target)
    }
    fn plan(&self, p: &CopyParams, state: &CopyState) -> Result<Plan<WriteAction>, ModuleError> {
        plan_copy(p, state)
    }
    fn apply(
        &self,
        _p: &CopyParams,
        plan: &Plan<WriteAction>,
        target: &dyn Target,
    ) -> Result<(), ModuleError> {
        apply_write(target, &plan.actions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<CopyParams, ModuleError> {
        CopyModule.parse(v.as_object().unwrap())
    }

    #[test]
    fn sources() {
        let p = parse(json!({"dest": "/x", "content": "hi"})).unwrap();
        assert_eq!(
            p.source,
            Source::Bytes {
                data: b"hi".to_vec(),
                mode: None
            }
        );
        let p = parse(json!({"dest": "/x", "content": {"a": 1}})).unwrap();
        assert_eq!(
            p.source,
            Source::Bytes {
                data: br#"{"a":1}"#.to_vec(),
                mode: None
            }
        );
        let p = parse(json!({"dest": "/x", "src": "f", "_content_b64": "aGkK", "_src_mode": "0755", "mode": "preserve"})).unwrap();
        assert_eq!(
            p.source,
            Source::Bytes {
                data: b"hi\n".to_vec(),
                mode: Some(0o755)
            }
        );
        assert!(p.preserve_mode);
        let p = parse(json!({"dest": "/x", "src": "d/", "_files": [
            {"path": "sub", "dir": true},
            {"path": "sub/a", "content_b64": "aGkK", "mode": "0600"}]}))
        .unwrap();
        assert!(
            matches!(&p.source, Source::Tree(e) if e.len() == 2 && e[0].dir && e[1].mode == Some(0o600))
        );
        assert!(parse(json!({"dest": "/x", "src": "f"})).is_err());
        assert!(parse(json!({"dest": "/x"})).is_err());
        assert!(parse(json!({"dest": "/x", "src": "f", "content": "x"})).is_err());
        assert!(parse(
            json!({"dest": "/x", "src": "d", "_files": [{"path": "../a", "content_b64": ""}]})
        )
        .is_err());
        assert!(parse(json!({"dest": "/x", "content": "x", "validate": "true"})).is_err());
        assert!(parse(json!({"dest": "/x", "content": "x", "mode": "u=rwz"})).is_err());
    }

    #[test]
    fn missing_parent_is_checked_when_applying() {
        let p = parse(json!({"dest": "/nope/x", "content": "hi"})).unwrap();
        let state = CopyState::Single {
            item: FileItem {
                dest: DestState {
                    path: "/nope/x".into(),
                    stat: None,
                    content: None,
                    parent_exists: false,
                    now: 0,
                },
                data: b"hi".to_vec(),
                src_mode: None,
            },
            create_parents: false,
        };
        // A dry run shows the write (an earlier task may create the directory); the apply
        // checks the directory first and fails there if it is still missing.
        let plan = plan_copy(&p, &state).unwrap();
        assert_eq!(
            plan.actions.first(),
            Some(&WriteAction::RequireDir("/nope".into()))
        );
        assert!(plan.actions.len() > 1);
    }
}
