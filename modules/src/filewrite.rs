//! The one path by which modules replace a file's content: `copy`, `template`, `lineinfile`,
//! `blockinfile` and `replace` all compute the new bytes, then share this inspect → plan → apply.
//!
//! * inspect: `lstat` the destination (optionally following symlinks), read its content, note
//!   whether its directory exists and the time (for backup names);
//! * plan: content diff (binary files summarised), attribute changes, backup name, registered
//!   data (`checksum` SHA-1, `size`, `mode`, `owner`, ...);
//! * apply: backup (`cp -p`), then — with `validate` — write a temporary file next to the
//!   destination, run the validation command on it and only then write the destination
//!   atomically; the temporary file is removed whatever happens, and a failed validation leaves
//!   the destination untouched.

use crate::args::{ArgError, Params};
use crate::common::{
    backup_name, basename, diff_text, dirname, join, now_secs, run_checked, sha1_hex, strip_ends,
};
use crate::contract::{Diff, ModuleError, Plan};
use crate::fileattrs::{insert_attr_data, state_diff, AttrArgs, AttrChange};
use crate::shlex;
use crate::target::{Command, FileAttrs, FileKind, Stat, Target};
use std::sync::atomic::{AtomicU64, Ordering};

/// The arguments every file-writing module shares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteArgs {
    pub attrs: AttrArgs,
    pub backup: bool,
    /// A command with `%s`, run on the new content before it replaces the destination.
    pub validate: Option<String>,
}

impl WriteArgs {
    pub fn from_params(p: &Params<'_>) -> Result<Self, ArgError> {
        Self::from_params_opts(p, false)
    }

    /// With `allow_preserve`, `mode: preserve` is accepted (and left to the caller).
    pub fn from_params_opts(p: &Params<'_>, allow_preserve: bool) -> Result<Self, ArgError> {
        let validate = p.str("validate").filter(|v| !v.trim().is_empty());
        if let Some(v) = &validate {
            if !v.contains("%s") {
                return Err(ArgError::new(
                    Some("validate"),
                    format!("must contain %s: {v}"),
                ));
            }
            shlex::split(v).map_err(|e| ArgError::new(Some("validate"), e))?;
        }
        Ok(WriteArgs {
            attrs: AttrArgs::from_params_opts(p, "mode", allow_preserve)?,
            backup: p.bool_or("backup", false),
            validate,
        })
    }
}

/// What the destination looks like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestState {
    /// The path that will be written (after following symlinks when asked to).
    pub path: String,
    pub stat: Option<Stat>,
    /// The current content, when the destination is a file.
    pub content: Option<Vec<u8>>,
    /// Whether the directory the destination lives in exists.
    pub parent_exists: bool,
    /// When the inspection happened (backup names).
    pub now: i64,
}

impl DestState {
    pub fn exists(&self) -> bool {
        self.stat.is_some()
    }
    pub fn is_dir(&self) -> bool {
        self.stat
            .as_ref()
            .is_some_and(|s| s.kind == FileKind::Directory)
    }
}

/// Follow a chain of symlinks (at most 40) to the path it ends at, with that path's `lstat`.
pub fn resolve_links(
    target: &dyn Target,
    path: &str,
) -> Result<(String, Option<Stat>), ModuleError> {
    let mut cur = path.to_string();
    for _ in 0..40 {
        let st = target.stat(&cur)?;
        match st {
            Some(Stat {
                kind: FileKind::Symlink,
                link_target: Some(ref to),
                ..
            }) => {
                cur = crate::common::normalize(&join(&dirname(&cur), to));
            }
            other => return Ok((cur, other)),
        }
    }
    Err(ModuleError::Failed(format!(
        "too many levels of symbolic links: {path}"
    )))
}

/// Inspect a destination file.
pub fn inspect_dest(
    target: &dyn Target,
    path: &str,
    follow: bool,
) -> Result<DestState, ModuleError> {
    let (path, stat) = if follow {
        resolve_links(target, path)?
    } else {
        (path.to_string(), target.stat(path)?)
    };
    let content = match &stat {
        Some(s) if s.kind == FileKind::File => target.read_file(&path)?,
        // A symlink that is replaced: its content is what it points to, if anything.
        Some(s) if s.kind == FileKind::Symlink => target.read_file(&path).ok().flatten(),
        _ => None,
    };
    let parent_exists = stat.is_some()
        || target
            .stat(&dirname(&path))?
            .is_some_and(|s| s.kind == FileKind::Directory || s.kind == FileKind::Symlink);
    Ok(DestState {
        path,
        stat,
        content,
        parent_exists,
        now: now_secs(),
    })
}

/// One step of a file write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteAction {
    /// `mkdir -p` the directory a new file goes to.
    MakeDirs(String),
    /// The directory must exist when the write happens. Checked at apply time, not at plan
    /// time, so that a dry run of a playbook whose earlier task creates the directory shows the
    /// file it would write instead of failing.
    RequireDir(String),
    /// Copy the current file aside before changing it.
    Backup { from: String, to: String },
    /// Replace the content (validated first when `validate` is set).
    Write {
        path: String,
        content: Vec<u8>,
        attrs: FileAttrs,
        /// The mode the validated temporary file gets when `attrs` has none.
        tmp_mode: Option<u32>,
        validate: Option<String>,
    },
    /// Only ownership / permissions change.
    Attrs(AttrChange),
}

/// What [`plan_write`] decided, besides the actions it pushed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WritePlan {
    pub content_changed: bool,
    pub attrs_changed: bool,
    pub backup_file: Option<String>,
}

/// Plan making the destination hold `new` with the wanted attributes. Pushes actions and diffs
/// onto `plan` and registers `checksum`, `size`, `state`, `mode`, `owner`, `group`, `uid`, `gid`
/// (and `backup_file`; callers that name it differently rename it).
pub fn plan_write(
    args: &WriteArgs,
    st: &DestState,
    new: &[u8],
    plan: &mut Plan<WriteAction>,
) -> Result<WritePlan, ModuleError> {
    if st.is_dir() {
        return Err(ModuleError::Failed(format!("{} is a directory", st.path)));
    }
    let mut wp = WritePlan::default();
    let is_link = st
        .stat
        .as_ref()
        .is_some_and(|s| s.kind == FileKind::Symlink);
    // A symlink being replaced counts as a new file for attributes.
    let current = st.stat.as_ref().filter(|_| !is_link);
    wp.content_changed = st.content.as_deref() != Some(new) || is_link;
    let change = match current {
        Some(s) if !wp.content_changed => args.attrs.changes(&st.path, s),
        _ => AttrChange::default(),
    };
    let attrs = args.attrs.file_attrs(current);
    if wp.content_changed {
        if st.stat.is_none() && !st.parent_exists {
            plan.actions.push(WriteAction::MakeDirs(dirname(&st.path)));
        }
        if args.backup && current.is_some() {
            let to = backup_name(&st.path, st.now);
            plan.actions.push(WriteAction::Backup {
                from: st.path.clone(),
                to: to.clone(),
            });
            wp.backup_file = Some(to);
        }
        plan.actions.push(WriteAction::Write {
            path: st.path.clone(),
            content: new.to_vec(),
            attrs: attrs.clone(),
            tmp_mode: current.map(|s| s.mode),
            validate: args.validate.clone(),
        });
        let before = st.content.as_deref().map(diff_text).unwrap_or_default();
        plan.diffs.push(Diff::new(&st.path, before, diff_text(new)));
        // Attribute changes that come with the new content.
        if let Some(s) = current {
            let c = args.attrs.changes(&st.path, s);
            if !c.is_empty() {
                plan.diffs.push(state_diff(&st.path, ("file", "file"), &c));
            }
        }
    } else if !change.is_empty() {
        wp.attrs_changed = true;
        plan.diffs
            .push(state_diff(&st.path, ("file", "file"), &change));
        plan.actions.push(WriteAction::Attrs(change.clone()));
    }
    let d = &mut plan.data;
    d.insert("checksum".into(), sha1_hex(new).into());
    d.insert("size".into(), (new.len() as u64).into());
    d.insert("state".into(), "file".into());
    let new_attrs = if wp.content_changed {
        Some(&attrs)
    } else {
        None
    };
    insert_attr_data(d, current, &change, new_attrs);
    if let Some(b) = &wp.backup_file {
        d.insert("backup_file".into(), b.clone().into());
    }
    Ok(wp)
}

static VALIDATE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Run `validate` (with `%s` replaced by `path`) without a shell, as Ansible does.
pub fn run_validate(target: &dyn Target, validate: &str, path: &str) -> Result<(), ModuleError> {
    let words =
        shlex::split(validate).map_err(|e| ModuleError::Failed(format!("validate: {e}")))?;
    let argv: Vec<String> = words
        .iter()
        .map(|w| {
            w.replace("%%", "\u{0}")
                .replace("%s", path)
                .replace('\u{0}', "%")
        })
        .collect();
    let out = target.run(&Command::argv(argv))?;
    if out.success() {
        return Ok(());
    }
    let mut msg = format!("failed to validate (rc {})", out.rc);
    for text in [strip_ends(&out.stderr_str()), strip_ends(&out.stdout_str())] {
        if !text.is_empty() {
            msg.push_str(": ");
            msg.push_str(&text);
        }
    }
    Err(ModuleError::Failed(msg))
}

fn remove(target: &dyn Target, path: &str) {
    let _ = target.run(&Command::argv(["rm", "-f", "--", path]));
}

/// Carry out the write actions in order.
pub fn apply_write(target: &dyn Target, actions: &[WriteAction]) -> Result<(), ModuleError> {
    for a in actions {
        match a {
            WriteAction::RequireDir(dir) => {
                let is_dir = matches!(target.stat(dir)?, Some(st) if st.kind == crate::target::FileKind::Directory);
                if !is_dir {
                    return Err(ModuleError::Failed(format!(
                        "Destination directory {dir} does not exist"
                    )));
                }
            }
            WriteAction::MakeDirs(dir) => {
                run_checked(
                    target,
                    &Command::argv(["mkdir", "-p", "--", dir]),
                    &format!("creating {dir}"),
                )?;
            }
            WriteAction::Backup { from, to } => {
                run_checked(
                    target,
                    &Command::argv(["cp", "-p", "--", from, to]),
                    &format!("backing up {from}"),
                )?;
            }
            WriteAction::Write {
                path,
                content,
                attrs,
                tmp_mode,
                validate,
            } => {
                if let Some(v) = validate {
                    let n = VALIDATE_COUNTER.fetch_add(1, Ordering::Relaxed);
                    let tmp = join(
                        &dirname(path),
                        &format!(
                            ".converge-tmp-{}-v{n}-{}",
                            std::process::id(),
                            basename(path)
                        ),
                    );
                    let tmp_attrs = FileAttrs {
                        mode: attrs.mode.or(*tmp_mode),
                        ..FileAttrs::default()
                    };
                    let checked = target
                        .write_file(&tmp, content, &tmp_attrs)
                        .map_err(ModuleError::from)
                        .and_then(|()| run_validate(target, v, &tmp));
                    remove(target, &tmp);
                    checked?;
                }
                target.write_file(path, content, attrs)?;
            }
            WriteAction::Attrs(c) => c.apply(target)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(content: Option<&str>) -> DestState {
        DestState {
            path: "/etc/x".into(),
            stat: content.map(|c| Stat {
                kind: FileKind::File,
                mode: 0o644,
                uid: 0,
                gid: 0,
                owner: "root".into(),
                group: "root".into(),
                size: c.len() as u64,
                mtime: 0,
                nlink: 1,
                inode: 1,
                link_target: None,
            }),
            content: content.map(|c| c.as_bytes().to_vec()),
            parent_exists: true,
            now: 0,
        }
    }

    #[test]
    fn same_content_is_noop() {
        let mut plan = Plan::nothing();
        let wp = plan_write(&WriteArgs::default(), &dest(Some("a\n")), b"a\n", &mut plan).unwrap();
        assert!(plan.is_noop());
        assert!(!wp.content_changed);
        assert_eq!(plan.data["checksum"], sha1_hex(b"a\n"));
        assert_eq!(plan.data["mode"], "0644");
    }

    #[test]
    fn new_content_with_backup_and_mode() {
        let args = WriteArgs {
            attrs: AttrArgs {
                mode: Some(crate::mode::ModeSpec::Octal(0o600)),
                ..Default::default()
            },
            backup: true,
            validate: None,
        };
        let mut plan = Plan::nothing();
        let wp = plan_write(&args, &dest(Some("a\n")), b"b\n", &mut plan).unwrap();
        assert!(wp
            .backup_file
            .as_deref()
            .is_some_and(|b| b.starts_with("/etc/x.") && b.ends_with('~')));
        assert!(matches!(plan.actions[0], WriteAction::Backup { .. }));
        assert!(
            matches!(&plan.actions[1], WriteAction::Write { attrs, .. } if attrs.mode == Some(0o600))
        );
        assert_eq!(plan.diffs[0], Diff::new("/etc/x", "a\n", "b\n"));
        assert_eq!(plan.diffs[1].after, "path: /etc/x\nmode: 0600\n");
        assert_eq!(plan.data["mode"], "0600");
    }

    #[test]
    fn attrs_only() {
        let args = WriteArgs {
            attrs: AttrArgs {
                owner: Some("bob".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut plan = Plan::nothing();
        plan_write(&args, &dest(Some("a")), b"a", &mut plan).unwrap();
        assert!(
            matches!(&plan.actions[..], [WriteAction::Attrs(c)] if c.owner == Some(("root".into(), "bob".into())))
        );
        assert_eq!(plan.data["owner"], "bob");
        assert!(plan.data.get("uid").is_none());
    }

    #[test]
    fn new_file_diff_and_dirs() {
        let mut st = dest(None);
        st.parent_exists = false;
        let mut plan = Plan::nothing();
        plan_write(&WriteArgs::default(), &st, b"\x00\x01", &mut plan).unwrap();
        assert_eq!(plan.actions[0], WriteAction::MakeDirs("/etc".into()));
        assert_eq!(
            plan.diffs[0],
            Diff::new("/etc/x", "", "(binary file, 2 bytes)")
        );
    }
}
