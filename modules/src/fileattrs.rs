//! `mode`, `owner` and `group`: the attributes every file-handling module takes.
//!
//! One place decides what differs between the arguments and what `stat` saw (a symbolic mode is
//! applied to the current mode, a numeric owner matches the uid), how that is shown in a diff
//! (`mode: 0755` → `mode: 0700`, like Ansible's file module) and how it is applied on the target
//! (`chown`/`chgrp`/`chmod`, which work the same through every connection).

use crate::args::{ArgError, Params};
use crate::common::{kv_text, run_checked};
use crate::contract::{Diff, ModuleError};
use crate::mode::{format_mode, ModeSpec};
use crate::target::{Command, FileAttrs, FileKind, Stat, Target};
use serde_json::{Map, Value};

/// The attribute arguments of a task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttrArgs {
    pub mode: Option<ModeSpec>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// Mode of a new file / directory when the task gives none (umask 022 assumed for symbolic modes).
pub const DEFAULT_FILE_MODE: u32 = 0o644;
pub const DEFAULT_DIR_MODE: u32 = 0o755;

impl AttrArgs {
    /// Read `mode`, `owner`, `group` (empty strings count as absent).
    pub fn from_params(p: &Params<'_>) -> Result<Self, ArgError> {
        Self::from_params_opts(p, "mode", false)
    }

    /// Same, with the mode taken from another argument (`directory_mode`); with
    /// `allow_preserve`, `preserve` is accepted and left for the caller (mode `None`).
    pub fn from_params_opts(
        p: &Params<'_>,
        mode_arg: &str,
        allow_preserve: bool,
    ) -> Result<Self, ArgError> {
        let mode = match p
            .mode(mode_arg)
            .filter(|m| !m.trim().is_empty() && (!allow_preserve || m != "preserve"))
        {
            Some(m) => Some(ModeSpec::parse(&m).map_err(|e| ArgError::new(Some(mode_arg), e))?),
            None => None,
        };
        let nonempty = |name: &str| p.str(name).filter(|s| !s.trim().is_empty());
        Ok(AttrArgs {
            mode,
            owner: nonempty("owner"),
            group: nonempty("group"),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.mode.is_none() && self.owner.is_none() && self.group.is_none()
    }

    /// The attributes to give a file written in one go: the mode resolved against the file it
    /// replaces (or the defaults for a new one).
    pub fn file_attrs(&self, current: Option<&Stat>) -> FileAttrs {
        FileAttrs {
            mode: self
                .mode
                .as_ref()
                .map(|m| m.apply(current.map_or(DEFAULT_FILE_MODE, |s| s.mode), false)),
            owner: self.owner.clone(),
            group: self.group.clone(),
        }
    }

    /// What must change on an existing object for it to match.
    pub fn changes(&self, path: &str, st: &Stat) -> AttrChange {
        let is_link = st.kind == FileKind::Symlink;
        let mut c = AttrChange {
            path: path.to_string(),
            no_follow: is_link,
            ..AttrChange::default()
        };
        if let Some(m) = &self.mode {
            let want = m.apply(st.mode, st.kind == FileKind::Directory);
            // The mode of a symlink itself cannot be changed on Linux.
            if want != st.mode && !is_link {
                c.mode = Some((st.mode, want));
            }
        }
        if let Some(o) = &self.owner {
            if !owner_matches(o, &st.owner, st.uid) {
                c.owner = Some((st.owner.clone(), o.clone()));
            }
        }
        if let Some(g) = &self.group {
            if !owner_matches(g, &st.group, st.gid) {
                c.group = Some((st.group.clone(), g.clone()));
            }
        }
        c
    }
}

/// Whether a wanted owner/group (name or numeric id) is the current one.
pub fn owner_matches(want: &str, name: &str, id: u32) -> bool {
    want == name || want.parse::<u32>().is_ok_and(|n| n == id)
}

/// Attribute changes on one existing path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttrChange {
    pub path: String,
    /// (before, after) permission bits.
    pub mode: Option<(u32, u32)>,
    pub owner: Option<(String, String)>,
    pub group: Option<(String, String)>,
    /// The path is a symlink: change the link itself (`chown -h`), never its target.
    pub no_follow: bool,
}

impl AttrChange {
    pub fn is_empty(&self) -> bool {
        self.mode.is_none() && self.owner.is_none() && self.group.is_none()
    }

    /// `(key, before, after)` of each changed attribute.
    pub fn fields(&self) -> Vec<(&'static str, String, String)> {
        let mut v = Vec::new();
        if let Some((b, a)) = &self.owner {
            v.push(("owner", b.clone(), a.clone()));
        }
        if let Some((b, a)) = &self.group {
            v.push(("group", b.clone(), a.clone()));
        }
        if let Some((b, a)) = self.mode {
            v.push(("mode", format_mode(b), format_mode(a)));
        }
        v
    }

    /// Carry the change out: ownership first (chown may clear setuid bits), then the mode.
    pub fn apply(&self, target: &dyn Target) -> Result<(), ModuleError> {
        let h: &[&str] = if self.no_follow { &["-h"] } else { &[] };
        if let Some((_, o)) = &self.owner {
            let spec = match &self.group {
                Some((_, g)) => format!("{o}:{g}"),
                None => o.clone(),
            };
            let mut argv = vec!["chown".to_string()];
            argv.extend(h.iter().map(|s| s.to_string()));
            argv.extend(["--".to_string(), spec, self.path.clone()]);
            run_checked(
                target,
                &Command::argv(argv),
                &format!("changing the owner of {}", self.path),
            )?;
        } else if let Some((_, g)) = &self.group {
            let mut argv = vec!["chgrp".to_string()];
            argv.extend(h.iter().map(|s| s.to_string()));
            argv.extend(["--".to_string(), g.clone(), self.path.clone()]);
            run_checked(
                target,
                &Command::argv(argv),
                &format!("changing the group of {}", self.path),
            )?;
        }
        if let Some((_, m)) = self.mode {
            let cmd = Command::argv(["chmod", "--", &format!("{:04o}", m), &self.path]);
            run_checked(target, &cmd, &format!("changing the mode of {}", self.path))?;
        }
        Ok(())
    }
}

/// The state of one path as diff text (`path: ...`, `state: ...`, changed attributes), the way
/// Ansible's file module shows it. `state` is `(before, after)` and shown only when it differs.
pub fn state_diff(path: &str, state: (&str, &str), change: &AttrChange) -> Diff {
    let mut before = vec![("path", path.to_string())];
    let mut after = vec![("path", path.to_string())];
    if state.0 != state.1 {
        before.push(("state", state.0.to_string()));
        after.push(("state", state.1.to_string()));
    }
    for (k, b, a) in change.fields() {
        before.push((k, b));
        after.push((k, a));
    }
    Diff::new(path, kv_text(&before), kv_text(&after))
}

/// Register `mode`, `owner`, `group`, `uid`, `gid` as they will be once the change is applied
/// (values that cannot be known without applying it are left out).
pub fn insert_attr_data(
    data: &mut Map<String, Value>,
    st: Option<&Stat>,
    change: &AttrChange,
    new: Option<&FileAttrs>,
) {
    let mode = change
        .mode
        .map(|(_, a)| a)
        .or_else(|| new.and_then(|n| n.mode))
        .or_else(|| st.map(|s| s.mode));
    if let Some(m) = mode {
        data.insert("mode".into(), format_mode(m).into());
    }
    let pick = |changed: &Option<(String, String)>,
                new: Option<&String>,
                name: Option<&String>,
                id: Option<u32>| {
        match changed.as_ref().map(|(_, a)| a).or(new) {
            Some(want) => (Some(want.clone()), want.parse::<u32>().ok()),
            None => (name.cloned(), id),
        }
    };
    let (owner, uid) = pick(
        &change.owner,
        new.and_then(|n| n.owner.as_ref()),
        st.map(|s| &s.owner),
        st.map(|s| s.uid),
    );
    let (group, gid) = pick(
        &change.group,
        new.and_then(|n| n.group.as_ref()),
        st.map(|s| &s.group),
        st.map(|s| s.gid),
    );
    if let Some(o) = owner {
        data.insert("owner".into(), o.into());
    }
    if let Some(u) = uid {
        data.insert("uid".into(), u.into());
    }
    if let Some(g) = group {
        data.insert("group".into(), g.into());
    }
    if let Some(g) = gid {
        data.insert("gid".into(), g.into());
    }
}

/// The name of a kind as Ansible's file module says it.
pub fn kind_state(kind: Option<FileKind>) -> &'static str {
    match kind {
        None => "absent",
        Some(FileKind::File) => "file",
        Some(FileKind::Directory) => "directory",
        Some(FileKind::Symlink) => "link",
        Some(FileKind::Other) => "file",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(kind: FileKind, mode: u32) -> Stat {
        Stat {
            kind,
            mode,
            uid: 1000,
            gid: 1000,
            owner: "alice".into(),
            group: "staff".into(),
            size: 0,
            mtime: 0,
            nlink: 1,
            inode: 1,
            link_target: None,
        }
    }

    #[test]
    fn changes_detected() {
        let a = AttrArgs {
            mode: Some(ModeSpec::parse("u+x").unwrap()),
            owner: Some("1000".into()),
            group: Some("wheel".into()),
        };
        let c = a.changes("/f", &stat(FileKind::File, 0o644));
        assert_eq!(c.mode, Some((0o644, 0o744)));
        assert_eq!(c.owner, None);
        assert_eq!(c.group, Some(("staff".into(), "wheel".into())));
        let d = state_diff("/f", ("file", "file"), &c);
        assert_eq!(d.before, "path: /f\ngroup: staff\nmode: 0644\n");
        assert_eq!(d.after, "path: /f\ngroup: wheel\nmode: 0744\n");
        let none = a.changes("/f", &stat(FileKind::File, 0o744));
        assert!(AttrChange {
            group: None,
            ..none
        }
        .is_empty());
    }

    #[test]
    fn symlink_mode_ignored() {
        let a = AttrArgs {
            mode: Some(ModeSpec::Octal(0o600)),
            ..Default::default()
        };
        let c = a.changes("/l", &stat(FileKind::Symlink, 0o777));
        assert!(c.is_empty());
        assert!(c.no_follow);
    }
}
