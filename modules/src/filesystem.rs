//! `filesystem` (community.general.filesystem): make a filesystem on a block device or a regular
//! file (a loop image).
//!
//! Never reformats: a device that already carries a filesystem of another type is an error
//! unless `force: true`; one with the wanted type is always left alone (unlike Ansible, where
//! `force: true` re-creates even a filesystem of the same type on every run: not idempotent).
//! The device must exist, as in Ansible (make a loop file first, e.g. with
//! `command: truncate -s 2G FILE` and `creates:`).
//! `state: absent` wipes the signatures (`wipefs -a`).
//!
//! * inspect (one command): what `dev` is (block device, file, missing), its current type
//!   (`blkid -o value -s TYPE`), and whether `mkfs.<fstype>` exists.
//! * plan: nothing / mkfs / wipefs, with a `fstype: a → b` diff.
//! * apply: `mkfs.<fstype> [-f|-F] [opts...] dev`.
//!
//! `resizefs` is accepted; growing an existing filesystem is not implemented yet: with
//! `resizefs: true` the result's `msg` says that no resize was attempted.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::common::run_checked;
use crate::contract::{fail, Converge, Diff, ModuleError, Plan};
use crate::shlex;
use crate::target::{shell_quote, Command, Target};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("fstype", ArgKind::Str).aliases(&["type"]),
    ArgSpec::new("dev", ArgKind::Str)
        .required()
        .aliases(&["device", "src"]),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("opts", ArgKind::Str),
    ArgSpec::new("resizefs", ArgKind::Bool),
    ArgSpec::new("state", ArgKind::Str).choices(&["present", "absent"]),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsParams {
    pub fstype: Option<String>,
    pub dev: String,
    pub force: bool,
    pub opts: Vec<String>,
    pub resizefs: bool,
    pub present: bool,
}

/// What `dev` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevKind {
    Block,
    File,
    Missing,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsState {
    pub kind: DevKind,
    /// The filesystem type `blkid` sees, empty when none.
    pub current: String,
    pub mkfs_found: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsAction {
    Mkfs(Vec<String>),
    Wipe(String),
}

/// The script printing `kind`, `type` and `mkfs` lines for `dev` (shared with `docker_engine`).
pub fn probe_script(dev: &str, fstype: &str) -> String {
    format!(
        "d={}; t={}\n\
         if [ -b \"$d\" ]; then echo kind=block; elif [ -f \"$d\" ]; then echo kind=file; \
         elif [ -e \"$d\" ]; then echo kind=other; else echo kind=missing; fi\n\
         if [ -e \"$d\" ]; then echo \"type=$(blkid -o value -s TYPE \"$d\" 2>/dev/null)\"; fi\n\
         if [ -n \"$t\" ] && command -v \"mkfs.$t\" >/dev/null 2>&1; then echo mkfs=yes; fi\n",
        shell_quote(dev),
        shell_quote(fstype)
    )
}

/// Parse what [`probe_script`] printed.
pub fn parse_probe(out: &str) -> FsState {
    let mut st = FsState {
        kind: DevKind::Missing,
        current: String::new(),
        mkfs_found: false,
    };
    for l in out.lines() {
        if let Some(k) = l.strip_prefix("kind=") {
            st.kind = match k.trim() {
                "block" => DevKind::Block,
                "file" => DevKind::File,
                "other" => DevKind::Other,
                _ => DevKind::Missing,
            };
        } else if let Some(t) = l.strip_prefix("type=") {
            st.current = t.trim().to_string();
        } else if l.trim() == "mkfs=yes" {
            st.mkfs_found = true;
        }
    }
    st
}

/// The mkfs command line for a filesystem type (the force flag each mkfs understands).
pub fn mkfs_argv(fstype: &str, dev: &str, force: bool, opts: &[String]) -> Vec<String> {
    let mut argv = if fstype == "swap" {
        vec!["mkswap".to_string()]
    } else {
        vec![format!("mkfs.{fstype}")]
    };
    if force {
        match fstype {
            "ext2" | "ext3" | "ext4" | "ext4dev" => argv.push("-F".into()),
            "xfs" | "btrfs" | "swap" | "f2fs" | "reiserfs" => argv.push("-f".into()),
            _ => {}
        }
    }
    argv.extend(opts.iter().cloned());
    argv.push(dev.to_string());
    argv
}

/// The `filesystem` plan. Pure.
pub fn plan_fs(p: &FsParams, st: &FsState) -> Result<Plan<FsAction>, ModuleError> {
    let mut plan = Plan::nothing();
    if st.kind == DevKind::Missing {
        return fail(format!("Device {} not found.", p.dev));
    }
    if st.kind == DevKind::Other {
        return fail(format!(
            "{} is neither a block device nor a regular file",
            p.dev
        ));
    }
    let shown = |t: &str| {
        if t.is_empty() {
            "(no filesystem)\n".to_string()
        } else {
            format!("fstype: {t}\n")
        }
    };
    if !p.present {
        if !st.current.is_empty() {
            plan.actions.push(FsAction::Wipe(p.dev.clone()));
            plan.diffs
                .push(Diff::new(&p.dev, shown(&st.current), shown("")));
        }
        return Ok(plan);
    }
    let fstype = p
        .fstype
        .clone()
        .ok_or_else(|| ArgError::new(Some("fstype"), "is required with state=present"))?;
    if st.current == fstype {
        if p.resizefs {
            plan.msg = Some(format!(
                "{} already has a {fstype} filesystem; resizefs is not implemented: no resize was attempted",
                p.dev
            ));
        }
        return Ok(plan);
    }
    if !st.current.is_empty() && !p.force {
        return fail(format!(
            "'{}' is already used as {}, use force=true to overwrite",
            p.dev, st.current
        ));
    }
    plan.actions.push(FsAction::Mkfs(mkfs_argv(
        &fstype,
        &p.dev,
        p.force || !st.current.is_empty(),
        &p.opts,
    )));
    plan.diffs
        .push(Diff::new(&p.dev, shown(&st.current), shown(&fstype)));
    if !st.mkfs_found {
        plan.msg = Some(format!(
            "mkfs.{fstype} is not installed on the host (install its package first, e.g. btrfs-progs, xfsprogs)"
        ));
    }
    Ok(plan)
}

pub struct FilesystemModule;

impl Converge for FilesystemModule {
    type Params = FsParams;
    type State = FsState;
    type Action = FsAction;

    fn name(&self) -> &'static str {
        "filesystem"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn params(&self, args: &Args) -> Result<FsParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let opts = match p.str("opts") {
            Some(o) => shlex::split(&o).map_err(|e| ArgError::new(Some("opts"), e))?,
            None => Vec::new(),
        };
        let present = p.str_or("state", "present") == "present";
        if present && !p.has("fstype") {
            return Err(ArgError::new(Some("fstype"), "is required with state=present").into());
        }
        Ok(FsParams {
            fstype: p.str("fstype"),
            dev: p.req_str("dev")?,
            force: p.bool_or("force", false),
            opts,
            resizefs: p.bool_or("resizefs", false),
            present,
        })
    }
    fn inspect(&self, p: &FsParams, target: &dyn Target) -> Result<FsState, ModuleError> {
        let out = target.run(&Command::shell(probe_script(
            &p.dev,
            p.fstype.as_deref().unwrap_or(""),
        )))?;
        Ok(parse_probe(&out.stdout_str()))
    }
    fn plan(&self, p: &FsParams, st: &FsState) -> Result<Plan<FsAction>, ModuleError> {
        plan_fs(p, st)
    }
    fn apply(
        &self,
        p: &FsParams,
        plan: &Plan<FsAction>,
        target: &dyn Target,
    ) -> Result<(), ModuleError> {
        for a in &plan.actions {
            match a {
                FsAction::Mkfs(argv) => {
                    let probe = format!("command -v {}", shell_quote(&argv[0]));
                    if !target.run(&Command::shell(probe))?.success() {
                        return fail(format!(
                            "{} is not installed on the host: install its package first (btrfs-progs, xfsprogs, e2fsprogs, dosfstools)",
                            argv[0]
                        ));
                    }
                    run_checked(
                        target,
                        &Command::argv(argv.clone()),
                        &format!("creating the filesystem on {}", p.dev),
                    )?;
                }
                FsAction::Wipe(dev) => {
                    run_checked(
                        target,
                        &Command::argv(["wipefs", "-a", "--", dev]),
                        &format!("wiping {dev}"),
                    )?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(force: bool) -> FsParams {
        FsParams {
            fstype: Some("btrfs".into()),
            dev: "/srv/d.img".into(),
            force,
            opts: vec!["-L".into(), "docker".into()],
            resizefs: false,
            present: true,
        }
    }

    #[test]
    fn probe_parsing() {
        let st = parse_probe("kind=file\ntype=ext4\nmkfs=yes\n");
        assert_eq!(
            st,
            FsState {
                kind: DevKind::File,
                current: "ext4".into(),
                mkfs_found: true
            }
        );
        assert_eq!(parse_probe("kind=missing\n").kind, DevKind::Missing);
    }

    #[test]
    fn never_reformats_without_force() {
        let st = |t: &str| FsState {
            kind: DevKind::File,
            current: t.into(),
            mkfs_found: true,
        };
        // Blank: mkfs.
        let p = plan_fs(&params(false), &st("")).unwrap();
        assert_eq!(
            p.actions,
            vec![FsAction::Mkfs(vec![
                "mkfs.btrfs".into(),
                "-L".into(),
                "docker".into(),
                "/srv/d.img".into()
            ])]
        );
        assert_eq!(p.diffs[0].after, "fstype: btrfs\n");
        // Same type: nothing, even with force.
        assert!(plan_fs(&params(false), &st("btrfs")).unwrap().is_noop());
        assert!(plan_fs(&params(true), &st("btrfs")).unwrap().is_noop());
        // Another type: refused, unless force.
        let e = plan_fs(&params(false), &st("ext4")).unwrap_err();
        assert!(e.to_string().contains("already used as ext4"));
        let p = plan_fs(&params(true), &st("ext4")).unwrap();
        assert!(matches!(&p.actions[0], FsAction::Mkfs(a) if a[1] == "-f"));
        // Missing device.
        let missing = FsState {
            kind: DevKind::Missing,
            current: String::new(),
            mkfs_found: true,
        };
        assert!(plan_fs(&params(false), &missing).is_err());
    }

    #[test]
    fn mkfs_flags() {
        assert_eq!(
            mkfs_argv("ext4", "/dev/x", true, &[]),
            ["mkfs.ext4", "-F", "/dev/x"]
        );
        assert_eq!(
            mkfs_argv("swap", "/dev/x", false, &[]),
            ["mkswap", "/dev/x"]
        );
    }
}
