//! `file`: the state of one path — a file's attributes, a directory, a symlink, a hard link,
//! nothing at all — or a `touch`.
//!
//! Follows Ansible's file module: the default state is the path's current one (`file` when it
//! does not exist, `directory` with `recurse`), `state=file` never creates anything, `link`
//! resolves a relative `src` from the link's directory and refuses to replace a file or directory
//! without `force`, `recurse` applies owner/group/mode to everything below a directory, and the
//! diff shows `path`/`state`/changed attributes before and after as text lines.
//!
//! Everything is done with `mkdir`, `ln`, `rm`, `chown`, `chmod` and `touch` on the target, the
//! only tools the [`Target`] interface needs for it.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::common::{dirname, join, kv_text, normalize, run_checked};
use crate::contract::{Converge, Diff, ModuleError, Plan};
use crate::fileattrs::{
    insert_attr_data, kind_state, state_diff, AttrArgs, AttrChange, DEFAULT_DIR_MODE,
};
use crate::filewrite::resolve_links;
use crate::mode::format_mode;
use crate::target::{Command, FileAttrs, FileKind, Stat, Target};
use serde_json::Value;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("path", ArgKind::Str)
        .required()
        .aliases(&["dest", "name"]),
    ArgSpec::new("state", ArgKind::Str).choices(&[
        "absent",
        "directory",
        "file",
        "hard",
        "link",
        "touch",
    ]),
    ArgSpec::new("src", ArgKind::Str),
    ArgSpec::new("mode", ArgKind::Mode),
    ArgSpec::new("owner", ArgKind::Str),
    ArgSpec::new("group", ArgKind::Str),
    ArgSpec::new("recurse", ArgKind::Bool),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("follow", ArgKind::Bool),
    ArgSpec::new("modification_time", ArgKind::Str),
    ArgSpec::new("access_time", ArgKind::Str),
];

/// The wanted state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    File,
    Directory,
    Link,
    Hard,
    Absent,
    Touch,
}

impl FileState {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "file" => FileState::File,
            "directory" => FileState::Directory,
            "link" => FileState::Link,
            "hard" => FileState::Hard,
            "absent" => FileState::Absent,
            "touch" => FileState::Touch,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            FileState::File => "file",
            FileState::Directory => "directory",
            FileState::Link => "link",
            FileState::Hard => "hard",
            FileState::Absent => "absent",
            FileState::Touch => "touch",
        }
    }
}

/// `modification_time` / `access_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeSpec {
    Now,
    Preserve,
    /// `touch -t` format, `YYYYMMDDHHMM.SS`.
    At(String),
}

impl TimeSpec {
    fn parse(arg: &str, v: Option<String>, default: TimeSpec) -> Result<Self, ArgError> {
        Ok(match v.as_deref() {
            None | Some("") => default,
            Some("now") => TimeSpec::Now,
            Some("preserve") => TimeSpec::Preserve,
            Some(t) => {
                let ok = t.len() == 15
                    && t.as_bytes()[12] == b'.'
                    && t.bytes()
                        .enumerate()
                        .all(|(i, b)| i == 12 || b.is_ascii_digit());
                if !ok {
                    return Err(ArgError::new(
                        Some(arg),
                        format!("`{t}` is not now, preserve or a time as YYYYMMDDHHMM.SS"),
                    ));
                }
                TimeSpec::At(t.to_string())
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileParams {
    pub path: String,
    pub state: Option<FileState>,
    pub src: Option<String>,
    pub attrs: AttrArgs,
    pub recurse: bool,
    pub force: bool,
    pub follow: bool,
    pub mtime: Option<String>,
    pub atime: Option<String>,
}

/// What inspect saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileObserved {
    /// The path acted on (the symlink's target when following one).
    pub path: String,
    pub stat: Option<Stat>,
    /// For links: `src` as it will be resolved, and what is there.
    pub src_path: Option<String>,
    pub src_stat: Option<Stat>,
    /// For directories: the missing directories, top-down, and the first existing ancestor.
    pub missing: Vec<String>,
    pub ancestor: Option<(String, Stat)>,
    /// Everything below the directory, for `recurse`.
    pub tree: Vec<(String, Stat)>,
    /// Whether an existing directory is empty (replacing it with a link).
    pub dir_empty: bool,
}

/// What replacing an existing object takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    Nothing,
    /// An existing link or file: `ln -f`.
    Overwrite,
    /// An empty directory: `rmdir` first.
    EmptyDir,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAction {
    Remove(String),
    MakeDirs {
        dirs: Vec<String>,
        attrs: AttrArgs,
    },
    Create {
        path: String,
        attrs: FileAttrs,
    },
    Touch {
        path: String,
        mtime: TimeSpec,
        atime: TimeSpec,
    },
    Symlink {
        src: String,
        path: String,
        replace: Replace,
    },
    Hardlink {
        src: String,
        path: String,
        replace: Replace,
    },
    Attrs(AttrChange),
    RecurseAttrs(Vec<AttrChange>),
}

/// The `file` module.
pub struct FileModule;

fn args_err(arg: &str, msg: impl Into<String>) -> ModuleError {
    ModuleError::Args(ArgError::new(Some(arg), msg))
}

impl Converge for FileModule {
    type Params = FileParams;
    type State = FileObserved;
    type Action = FileAction;

    fn name(&self) -> &'static str {
        "file"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }

    fn params(&self, args: &Args) -> Result<FileParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let path = p.req_str("path")?;
        if path.is_empty() {
            return Err(args_err("path", "must not be empty"));
        }
        let state = p.str("state").and_then(|s| FileState::parse(&s));
        let src = p.str("src").filter(|s| !s.is_empty());
        if src.is_some() && !matches!(state, Some(FileState::Link | FileState::Hard) | None) {
            return Err(args_err(
                "src",
                "src option requires state to be 'link' or 'hard'",
            ));
        }
        if matches!(state, Some(FileState::Link | FileState::Hard)) && src.is_none() {
            return Err(args_err(
                "src",
                format!("is required for state={}", state.map_or("", |s| s.name())),
            ));
        }
        let recurse = p.bool_or("recurse", false);
        if recurse && !matches!(state, Some(FileState::Directory) | None) {
            return Err(args_err(
                "recurse",
                "recurse option requires state to be 'directory'",
            ));
        }
        Ok(FileParams {
            path: match path.trim_end_matches('/') {
                "" => "/".to_string(),
                t => t.to_string(),
            },
            state,
            src,
            attrs: AttrArgs::from_params(&p)?,
            recurse,
            force: p.bool_or("force", false),
            follow: p.bool_or("follow", true),
            mtime: p.str("modification_time"),
            atime: p.str("access_time"),
        })
    }

    fn inspect(&self, p: &FileParams, target: &dyn Target) -> Result<FileObserved, ModuleError> {
        let mut path = p.path.clone();
        let mut stat = target.stat(&path)?;
        let linkish = matches!(
            p.state,
            Some(FileState::Link | FileState::Hard | FileState::Absent)
        );
        if p.follow && !linkish && stat.as_ref().is_some_and(|s| s.kind == FileKind::Symlink) {
            let (real, real_stat) = resolve_links(target, &path)?;
            if real_stat.is_some() {
                path = real;
                stat = real_stat;
            }
        }
        let mut obs = FileObserved {
            path: path.clone(),
            stat: stat.clone(),
            src_path: None,
            src_stat: None,
            missing: Vec::new(),
            ancestor: None,
            tree: Vec::new(),
            dir_empty: false,
        };
        if let Some(src) = &p.src {
            let resolved = if p.state == Some(FileState::Link) && !src.starts_with('/') {
                normalize(&join(&dirname(&path), src))
            } else {
                src.clone()
            };
            obs.src_stat = target.stat(&resolved)?;
            if p.state == Some(FileState::Hard)
                && obs
                    .src_stat
                    .as_ref()
                    .is_some_and(|s| s.kind == FileKind::Symlink)
            {
                obs.src_stat = resolve_links(target, &resolved)?.1;
            }
            obs.src_path = Some(resolved);
        }
        match &stat {
            None => {
                // Missing directories up to the first existing ancestor.
                let mut cur = path.clone();
                loop {
                    obs.missing.insert(0, cur.clone());
                    let parent = dirname(&cur);
                    if parent == cur || parent == "." {
                        break;
                    }
                    if let Some(s) = target.stat(&parent)? {
                        obs.ancestor = Some((parent, s));
                        break;
                    }
                    cur = parent;
                }
            }
            Some(s) if s.kind == FileKind::Directory => {
                let wants_listing = p.recurse
                    || (matches!(p.state, Some(FileState::Link | FileState::Hard)) && p.force);
                if wants_listing {
                    let out = run_checked(
                        target,
                        &Command::argv(["find", &path, "-mindepth", "1", "-print0"]),
                        &format!("listing {path}"),
                    )?;
                    let mut entries: Vec<String> = out
                        .stdout
                        .split(|b| *b == 0)
                        .filter(|e| !e.is_empty())
                        .map(|e| String::from_utf8_lossy(e).into_owned())
                        .collect();
                    entries.sort();
                    obs.dir_empty = entries.is_empty();
                    if p.recurse {
                        for e in entries {
                            if let Some(st) = target.stat(&e)? {
                                obs.tree.push((e, st));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(obs)
    }

    fn plan(&self, p: &FileParams, o: &FileObserved) -> Result<Plan<FileAction>, ModuleError> {
        let mut plan = Plan::nothing();
        let prev_kind = o.stat.as_ref().map(|s| s.kind);
        let prev = kind_state(prev_kind);
        let state = match p.state {
            Some(s) => s,
            None if o.stat.is_some() => match prev_kind {
                Some(FileKind::Directory) => FileState::Directory,
                Some(FileKind::Symlink) => FileState::Link,
                _ => FileState::File,
            },
            None if p.recurse => FileState::Directory,
            None => FileState::File,
        };
        let path = o.path.clone();
        let fail = |msg: String| -> Result<Plan<FileAction>, ModuleError> {
            Err(ModuleError::Failed(msg))
        };
        plan.data.insert(
            if matches!(state, FileState::Link | FileState::Hard) {
                "dest"
            } else {
                "path"
            }
            .into(),
            path.clone().into(),
        );
        plan.data.insert("state".into(), state.name().into());
        let mut change = AttrChange::default();
        match state {
            FileState::Absent => {
                plan.data.insert("state".into(), "absent".into());
                if o.stat.is_some() {
                    plan.actions.push(FileAction::Remove(path.clone()));
                    plan.diffs
                        .push(state_diff(&path, (prev, "absent"), &change));
                }
                return Ok(plan);
            }
            FileState::File => {
                match prev_kind {
                    None => return fail(format!("file ({path}) is absent, cannot continue")),
                    Some(FileKind::File | FileKind::Other) => {}
                    Some(_) => return fail(format!("file ({path}) is {prev}, cannot continue")),
                }
                change = p.attrs.changes(
                    &path,
                    o.stat
                        .as_ref()
                        .ok_or_else(|| ModuleError::Failed("no stat".into()))?,
                );
            }
            FileState::Directory => match &o.stat {
                Some(s) if s.kind == FileKind::Directory => {
                    change = p.attrs.changes(&path, s);
                    if p.recurse {
                        let changes: Vec<AttrChange> = o
                            .tree
                            .iter()
                            .map(|(e, st)| p.attrs.changes(e, st))
                            .filter(|c| !c.is_empty())
                            .collect();
                        if !changes.is_empty() {
                            let n = changes.len();
                            plan.actions.push(FileAction::RecurseAttrs(changes));
                            plan.diffs.push(Diff::new(
                                &path,
                                String::new(),
                                format!("recurse: owner/group/mode of {n} path(s) below {path} change\n"),
                            ));
                        }
                    }
                }
                Some(_) => return fail(format!("{path} already exists as a {prev}")),
                None => {
                    if let Some((anc, st)) = &o.ancestor {
                        if st.kind != FileKind::Directory && st.kind != FileKind::Symlink {
                            return fail(format!(
                                "{anc} exists but is not a directory, cannot create {path}"
                            ));
                        }
                    }
                    plan.actions.push(FileAction::MakeDirs {
                        dirs: o.missing.clone(),
                        attrs: p.attrs.clone(),
                    });
                    let mut after =
                        vec![("path", path.clone()), ("state", "directory".to_string())];
                    if let Some(m) = &p.attrs.mode {
                        after.push(("mode", format_mode(m.apply(DEFAULT_DIR_MODE, true))));
                    }
                    plan.diffs.push(Diff::new(
                        &path,
                        kv_text(&[("path", path.clone()), ("state", "absent".to_string())]),
                        kv_text(&after),
                    ));
                    let new = FileAttrs {
                        mode: Some(
                            p.attrs
                                .mode
                                .as_ref()
                                .map_or(DEFAULT_DIR_MODE, |m| m.apply(DEFAULT_DIR_MODE, true)),
                        ),
                        owner: p.attrs.owner.clone(),
                        group: p.attrs.group.clone(),
                    };
                    insert_attr_data(&mut plan.data, None, &change, Some(&new));
                    return Ok(plan);
                }
            },
            FileState::Touch => {
                let mtime = TimeSpec::parse("modification_time", p.mtime.clone(), TimeSpec::Now)?;
                let atime = TimeSpec::parse("access_time", p.atime.clone(), TimeSpec::Now)?;
                match &o.stat {
                    None => {
                        let attrs = p.attrs.file_attrs(None);
                        plan.actions.push(FileAction::Create {
                            path: path.clone(),
                            attrs: attrs.clone(),
                        });
                        plan.diffs
                            .push(state_diff(&path, ("absent", "touch"), &change));
                        insert_attr_data(&mut plan.data, None, &change, Some(&attrs));
                        return Ok(plan);
                    }
                    Some(s) => {
                        change = p.attrs.changes(&path, s);
                        if mtime != TimeSpec::Preserve || atime != TimeSpec::Preserve {
                            plan.actions.push(FileAction::Touch {
                                path: path.clone(),
                                mtime,
                                atime,
                            });
                            plan.diffs.push(state_diff(&path, (prev, "touch"), &change));
                        }
                    }
                }
            }
            FileState::Link | FileState::Hard => {
                let src = p.src.clone().unwrap_or_default();
                let hard = state == FileState::Hard;
                plan.data.insert("src".into(), src.clone().into());
                if o.src_stat.is_none() && (hard || !p.force) {
                    return fail(if hard {
                        format!("src does not exist: {src}")
                    } else {
                        format!("src file does not exist, use \"force=yes\" if you really want to create the link: {}", o.src_path.as_deref().unwrap_or(&src))
                    });
                }
                if hard
                    && o.src_stat
                        .as_ref()
                        .is_some_and(|s| s.kind == FileKind::Directory)
                {
                    return fail(format!("cannot create a hard link to a directory: {src}"));
                }
                let s = o.stat.as_ref();
                let up_to_date = match s {
                    None => false,
                    Some(st) if hard => {
                        st.kind != FileKind::Symlink
                            && o.src_stat
                                .as_ref()
                                .is_some_and(|ss| ss.inode == st.inode && ss.kind == st.kind)
                    }
                    Some(st) => {
                        st.kind == FileKind::Symlink
                            && st.link_target.as_deref() == Some(src.as_str())
                    }
                };
                if !up_to_date {
                    let replace = match s.map(|st| st.kind) {
                        None => Replace::Nothing,
                        Some(FileKind::Symlink) => Replace::Overwrite,
                        Some(FileKind::Directory) => {
                            if !p.force {
                                return fail(format!(
                                    "refusing to convert from directory to {} for {path}",
                                    state.name()
                                ));
                            }
                            if !o.dir_empty {
                                return fail(format!(
                                    "the directory {path} is not empty, refusing to convert it"
                                ));
                            }
                            Replace::EmptyDir
                        }
                        Some(_) => {
                            let hard_already = s.is_some_and(|st| st.nlink > 1);
                            if !p.force && (!hard || !hard_already) {
                                return fail(if hard {
                                    format!("Cannot link, file exists at destination: {path}")
                                } else {
                                    format!("refusing to convert from file to symlink for {path}")
                                });
                            }
                            Replace::Overwrite
                        }
                    };
                    let before_state = match s {
                        Some(st) if st.kind == FileKind::File && st.nlink > 1 => "hard",
                        _ => prev,
                    };
                    let mut before =
                        vec![("path", path.clone()), ("state", before_state.to_string())];
                    if let Some(old) = s.and_then(|st| st.link_target.clone()) {
                        before.push(("src", old));
                    }
                    let after = vec![
                        ("path", path.clone()),
                        ("state", state.name().to_string()),
                        ("src", src.clone()),
                    ];
                    plan.diffs
                        .push(Diff::new(&path, kv_text(&before), kv_text(&after)));
                    plan.actions.push(if hard {
                        FileAction::Hardlink {
                            src: src.clone(),
                            path: path.clone(),
                            replace,
                        }
                    } else {
                        FileAction::Symlink {
                            src: src.clone(),
                            path: path.clone(),
                            replace,
                        }
                    });
                    // Ownership of a new link is set after it exists.
                    let new = FileAttrs {
                        mode: None,
                        owner: p.attrs.owner.clone(),
                        group: p.attrs.group.clone(),
                    };
                    if new.owner.is_some() || new.group.is_some() {
                        let mut c = AttrChange {
                            path: path.clone(),
                            no_follow: !hard,
                            ..AttrChange::default()
                        };
                        c.owner = new.owner.clone().map(|o| (String::new(), o));
                        c.group = new.group.clone().map(|g| (String::new(), g));
                        plan.actions.push(FileAction::Attrs(c));
                    }
                    insert_attr_data(&mut plan.data, None, &AttrChange::default(), Some(&new));
                    return Ok(plan);
                }
                let st = s.ok_or_else(|| ModuleError::Failed("no stat".into()))?;
                change = p.attrs.changes(&path, st);
            }
        }
        if !change.is_empty() {
            if !matches!(plan.actions.first(), Some(FileAction::Touch { .. })) {
                plan.diffs.push(state_diff(&path, (prev, prev), &change));
            }
            plan.actions.push(FileAction::Attrs(change.clone()));
        }
        insert_attr_data(&mut plan.data, o.stat.as_ref(), &change, None);
        if let Some(s) = &o.stat {
            if s.kind == FileKind::File {
                plan.data.insert("size".into(), Value::from(s.size));
            }
        }
        Ok(plan)
    }

    fn apply(
        &self,
        _p: &FileParams,
        plan: &Plan<FileAction>,
        target: &dyn Target,
    ) -> Result<(), ModuleError> {
        for a in &plan.actions {
            match a {
                FileAction::Remove(path) => {
                    run_checked(
                        target,
                        &Command::argv(["rm", "-rf", "--", path]),
                        &format!("removing {path}"),
                    )?;
                }
                FileAction::MakeDirs { dirs, attrs } => {
                    for d in dirs {
                        run_checked(
                            target,
                            &Command::argv(["mkdir", "--", d]),
                            &format!("creating directory {d}"),
                        )?;
                        if !attrs.is_empty() {
                            if let Some(st) = target.stat(d)? {
                                attrs.changes(d, &st).apply(target)?;
                            }
                        }
                    }
                }
                FileAction::Create { path, attrs } => {
                    target.write_file(path, b"", attrs)?;
                }
                FileAction::Touch { path, mtime, atime } => {
                    let mut groups: Vec<(Vec<&str>, &TimeSpec)> = Vec::new();
                    if mtime == atime {
                        groups.push((vec![], mtime));
                    } else {
                        groups.push((vec!["-m"], mtime));
                        groups.push((vec!["-a"], atime));
                    }
                    for (flags, when) in groups {
                        let mut argv: Vec<String> = vec!["touch".into()];
                        argv.extend(flags.iter().map(|s| s.to_string()));
                        match when {
                            TimeSpec::Preserve => continue,
                            TimeSpec::Now => {}
                            TimeSpec::At(t) => argv.extend(["-t".to_string(), t.clone()]),
                        }
                        argv.extend(["--".to_string(), path.clone()]);
                        run_checked(target, &Command::argv(argv), &format!("touching {path}"))?;
                    }
                }
                FileAction::Symlink { src, path, replace }
                | FileAction::Hardlink { src, path, replace } => {
                    let hard = matches!(a, FileAction::Hardlink { .. });
                    if *replace == Replace::EmptyDir {
                        run_checked(
                            target,
                            &Command::argv(["rmdir", "--", path]),
                            &format!("removing directory {path}"),
                        )?;
                    }
                    let mut argv = vec!["ln"];
                    if !hard {
                        argv.push("-s");
                    }
                    if *replace == Replace::Overwrite {
                        argv.extend(["-f", "-n"]);
                    }
                    argv.extend(["--", src, path]);
                    run_checked(
                        target,
                        &Command::argv(argv),
                        &format!("linking {path} to {src}"),
                    )?;
                }
                FileAction::Attrs(c) => c.apply(target)?,
                FileAction::RecurseAttrs(changes) => apply_batched(target, changes)?,
            }
        }
        Ok(())
    }
}

/// Apply many attribute changes with few commands: one `chown -h` per owner:group, one `chmod`
/// per resulting mode, 200 paths at a time.
fn apply_batched(target: &dyn Target, changes: &[AttrChange]) -> Result<(), ModuleError> {
    use std::collections::BTreeMap;
    let mut owners: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut modes: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for c in changes {
        if c.owner.is_some() || c.group.is_some() {
            let o = c.owner.as_ref().map(|x| x.1.clone()).unwrap_or_default();
            let g = c.group.as_ref().map(|x| x.1.clone()).unwrap_or_default();
            owners.entry((o, g)).or_default().push(c.path.clone());
        }
        if let Some((_, m)) = c.mode {
            modes.entry(m).or_default().push(c.path.clone());
        }
    }
    for ((o, g), paths) in owners {
        let (tool, spec) = match (o.is_empty(), g.is_empty()) {
            (false, false) => ("chown", format!("{o}:{g}")),
            (false, true) => ("chown", o),
            _ => ("chgrp", g),
        };
        for chunk in paths.chunks(200) {
            let mut argv = vec![tool.to_string(), "-h".into(), "--".into(), spec.clone()];
            argv.extend(chunk.iter().cloned());
            run_checked(
                target,
                &Command::argv(argv),
                "changing ownership recursively",
            )?;
        }
    }
    for (m, paths) in modes {
        for chunk in paths.chunks(200) {
            let mut argv = vec!["chmod".to_string(), "--".into(), format!("{m:04o}")];
            argv.extend(chunk.iter().cloned());
            run_checked(target, &Command::argv(argv), "changing modes recursively")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mode::ModeSpec;

    fn st(kind: FileKind, mode: u32) -> Stat {
        Stat {
            kind,
            mode,
            uid: 0,
            gid: 0,
            owner: "root".into(),
            group: "root".into(),
            size: 3,
            mtime: 0,
            nlink: 1,
            inode: 7,
            link_target: None,
        }
    }

    fn params(state: Option<FileState>) -> FileParams {
        FileParams {
            path: "/x".into(),
            state,
            src: None,
            attrs: AttrArgs::default(),
            recurse: false,
            force: false,
            follow: true,
            mtime: None,
            atime: None,
        }
    }

    fn obs(stat: Option<Stat>) -> FileObserved {
        FileObserved {
            path: "/x".into(),
            stat,
            src_path: None,
            src_stat: None,
            missing: vec!["/x".into()],
            ancestor: Some(("/".into(), st(FileKind::Directory, 0o755))),
            tree: vec![],
            dir_empty: false,
        }
    }

    #[test]
    fn file_state_requires_existing() {
        assert!(FileModule
            .plan(&params(Some(FileState::File)), &obs(None))
            .is_err());
        let p = FileModule
            .plan(
                &params(Some(FileState::File)),
                &obs(Some(st(FileKind::File, 0o644))),
            )
            .unwrap();
        assert!(p.is_noop());
        assert_eq!(p.data["mode"], "0644");
    }

    #[test]
    fn directory_mode_change_diff() {
        let mut pp = params(Some(FileState::Directory));
        pp.attrs.mode = Some(ModeSpec::Octal(0o700));
        let p = FileModule
            .plan(&pp, &obs(Some(st(FileKind::Directory, 0o755))))
            .unwrap();
        assert_eq!(p.diffs[0].before, "path: /x\nmode: 0755\n");
        assert_eq!(p.diffs[0].after, "path: /x\nmode: 0700\n");
        let p = FileModule.plan(&pp, &obs(None)).unwrap();
        assert!(
            matches!(&p.actions[0], FileAction::MakeDirs { dirs, .. } if dirs == &vec!["/x".to_string()])
        );
        assert_eq!(p.diffs[0].after, "path: /x\nstate: directory\nmode: 0700\n");
        assert!(FileModule
            .plan(&pp, &obs(Some(st(FileKind::File, 0o644))))
            .is_err());
    }

    #[test]
    fn links_need_force_over_files() {
        let mut pp = params(Some(FileState::Link));
        pp.src = Some("/etc/hosts".into());
        let mut o = obs(Some(st(FileKind::File, 0o644)));
        o.src_stat = Some(st(FileKind::File, 0o644));
        assert!(FileModule.plan(&pp, &o).is_err());
        pp.force = true;
        let p = FileModule.plan(&pp, &o).unwrap();
        assert!(matches!(
            p.actions[0],
            FileAction::Symlink {
                replace: Replace::Overwrite,
                ..
            }
        ));
        let mut l = st(FileKind::Symlink, 0o777);
        l.link_target = Some("/etc/hosts".into());
        o.stat = Some(l);
        assert!(FileModule.plan(&pp, &o).unwrap().is_noop());
    }

    #[test]
    fn absent_and_default_state() {
        let p = FileModule
            .plan(&params(Some(FileState::Absent)), &obs(None))
            .unwrap();
        assert!(p.is_noop());
        let p = FileModule
            .plan(
                &params(Some(FileState::Absent)),
                &obs(Some(st(FileKind::Directory, 0o755))),
            )
            .unwrap();
        assert_eq!(p.actions, vec![FileAction::Remove("/x".into())]);
        assert_eq!(p.diffs[0].after, "path: /x\nstate: absent\n");
        let p = FileModule
            .plan(&params(None), &obs(Some(st(FileKind::Directory, 0o755))))
            .unwrap();
        assert_eq!(p.data["state"], "directory");
    }
}
