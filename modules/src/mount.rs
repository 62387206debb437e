//! `mount` (ansible.posix.mount): a filesystem's line in fstab and whether it is mounted now.
//!
//! * inspect: read the fstab file, `findmnt` the mount point (the topmost mount when mounts are
//!   stacked), and for a loop mount the file behind the loop device; `lstat` the mount point.
//! * plan: the fstab edit is a pure text transform ([`fstab_set`], [`fstab_remove`]): the line
//!   whose mount point (2nd field) is `path` is replaced in place, or one line is appended;
//!   comments and every other line are kept byte for byte. Then the live actions:
//!   - `mounted`: fstab entry present, mount point created, mounted (`mount -t fstype -o opts src
//!     path`; a regular file as `src` is mounted through a loop device, `loop` is added to the
//!     live options when missing). Mounted from another source → unmount, mount. Same source but
//!     the fstab entry changed → `mount -o remount`.
//!   - `unmounted`: unmount if mounted; fstab untouched.
//!   - `present`: fstab only.
//!   - `absent`: unmount if mounted, remove the fstab entry and the (empty) mount point.
//!   - `remounted`: `mount -o remount` (always changed).
//! * apply: fstab written atomically, then mount/umount.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::common::{run_checked, strip_ends};
use crate::contract::{Converge, Diff, ModuleError, Plan};
use crate::target::{Command, FileAttrs, FileKind, Target};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("path", ArgKind::Str)
        .required()
        .aliases(&["name"]),
    ArgSpec::new("src", ArgKind::Str),
    ArgSpec::new("fstype", ArgKind::Str),
    ArgSpec::new("opts", ArgKind::Str),
    ArgSpec::new("dump", ArgKind::Str),
    ArgSpec::new("passno", ArgKind::Str),
    ArgSpec::new("state", ArgKind::Str).required().choices(&[
        "mounted",
        "unmounted",
        "present",
        "absent",
        "remounted",
    ]),
    ArgSpec::new("fstab", ArgKind::Str),
    ArgSpec::new("boot", ArgKind::Bool),
    ArgSpec::new("backup", ArgKind::Bool),
];

/// One fstab line's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FstabEntry {
    pub src: String,
    pub path: String,
    pub fstype: String,
    pub opts: String,
    pub dump: String,
    pub passno: String,
}

/// fstab escapes: a space is `\040`, a tab `\011`, a backslash `\134`.
pub fn fstab_escape(s: &str) -> String {
    s.replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('\t', "\\011")
        .replace('\n', "\\012")
}

pub fn fstab_unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

impl FstabEntry {
    pub fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            fstab_escape(&self.src),
            fstab_escape(&self.path),
            self.fstype,
            self.opts,
            self.dump,
            self.passno
        )
    }

    /// Parse a non-comment line (missing dump/passno are `0`, as mount(8) reads them).
    pub fn parse(line: &str) -> Option<FstabEntry> {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            return None;
        }
        let f: Vec<&str> = t.split_whitespace().collect();
        if f.len() < 3 {
            return None;
        }
        Some(FstabEntry {
            src: fstab_unescape(f[0]),
            path: fstab_unescape(f[1]),
            fstype: f[2].to_string(),
            opts: f.get(3).unwrap_or(&"defaults").to_string(),
            dump: f.get(4).unwrap_or(&"0").to_string(),
            passno: f.get(5).unwrap_or(&"0").to_string(),
        })
    }
}

fn split_lines(text: &str) -> Vec<&str> {
    if text.is_empty() {
        Vec::new()
    } else {
        text.strip_suffix('\n')
            .unwrap_or(text)
            .split('\n')
            .collect()
    }
}

fn join_lines(lines: &[String]) -> String {
    let mut s = lines.join("\n");
    if !lines.is_empty() {
        s.push('\n');
    }
    s
}

/// The entry for `path` in an fstab text, if any (the last one wins, as mount(8) does).
pub fn fstab_find(text: &str, path: &str) -> Option<FstabEntry> {
    split_lines(text)
        .iter()
        .filter_map(|l| FstabEntry::parse(l))
        .rfind(|e| e.path == path)
}

/// Make the fstab text hold `entry`: the first line for its mount point is replaced (further
/// duplicates removed), or the line is appended. Returns the new text; equal to `text` when
/// nothing changes.
pub fn fstab_set(text: &str, entry: &FstabEntry) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut done = false;
    for l in split_lines(text) {
        match FstabEntry::parse(l) {
            Some(e) if e.path == entry.path => {
                if !done {
                    // Keep the line as written when its fields already match.
                    out.push(if e == *entry {
                        l.to_string()
                    } else {
                        entry.line()
                    });
                    done = true;
                }
            }
            _ => out.push(l.to_string()),
        }
    }
    if !done {
        out.push(entry.line());
    }
    join_lines(&out)
}

/// Remove every line for mount point `path`.
pub fn fstab_remove(text: &str, path: &str) -> String {
    let out: Vec<String> = split_lines(text)
        .into_iter()
        .filter(|l| FstabEntry::parse(l).is_none_or(|e| e.path != path))
        .map(str::to_string)
        .collect();
    join_lines(&out)
}

/// What is mounted at a mount point now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveMount {
    pub source: String,
    pub fstype: String,
    pub options: String,
    /// For a loop device: the file behind it.
    pub backing_file: Option<String>,
}

impl LiveMount {
    /// Whether this mount comes from `src` (a device, or a file through a loop device).
    pub fn is_from(&self, src: &str) -> bool {
        self.source == src || self.backing_file.as_deref() == Some(src)
    }
}

/// Shell lines printing the topmost mount at `$mp` as `SOURCE FSTYPE OPTIONS`, then, for a loop
/// device, `backing FILE`. Used by `mount` and `docker_engine`.
pub fn findmnt_script(mount_point: &str) -> String {
    format!(
        "mp={}\n\
         m=$(findmnt -n -o SOURCE,FSTYPE,OPTIONS --mountpoint \"$mp\" 2>/dev/null | tail -n 1)\n\
         if [ -n \"$m\" ]; then echo \"$m\"; set -- $m; case \"$1\" in /dev/loop*) \
         b=/sys/block/${{1#/dev/}}/loop/backing_file; [ -r \"$b\" ] && echo \"backing $(cat \"$b\")\";; esac; fi\n",
        crate::target::shell_quote(mount_point)
    )
}

/// Parse what [`findmnt_script`] printed.
pub fn parse_findmnt(out: &str) -> Option<LiveMount> {
    let mut lines = out.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next()?;
    let f: Vec<&str> = first.split_whitespace().collect();
    if f.len() < 2 {
        return None;
    }
    let backing_file = lines
        .find_map(|l| l.strip_prefix("backing "))
        .map(|b| b.trim().trim_end_matches(" (deleted)").to_string());
    Some(LiveMount {
        source: f[0].to_string(),
        fstype: f[1].to_string(),
        options: f.get(2).unwrap_or(&"").to_string(),
        backing_file,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountParams {
    pub path: String,
    pub src: Option<String>,
    pub fstype: Option<String>,
    pub opts: String,
    pub dump: String,
    pub passno: String,
    pub state: String,
    pub fstab: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountState {
    pub fstab_text: String,
    pub live: Option<LiveMount>,
    pub path_exists: bool,
    /// `src` is a regular file (mounted through a loop device).
    pub src_is_file: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountAction {
    WriteFstab(String),
    MakeMountPoint(String),
    Mount {
        src: String,
        path: String,
        fstype: String,
        opts: String,
    },
    Unmount(String),
    Remount {
        path: String,
        opts: Option<String>,
    },
    RemoveMountPoint(String),
}

/// Live mount options: fstab-only options dropped, `loop` added for a file.
pub fn live_opts(opts: &str, src_is_file: bool) -> String {
    let mut v: Vec<&str> = opts
        .split(',')
        .filter(|o| !o.is_empty() && !matches!(*o, "noauto" | "auto" | "nofail" | "_netdev"))
        .collect();
    if src_is_file && !v.contains(&"loop") {
        v.push("loop");
    }
    if v.is_empty() {
        "defaults".into()
    } else {
        v.join(",")
    }
}

/// The plan of `mount`. Pure.
pub fn plan_mount(p: &MountParams, st: &MountState) -> Result<Plan<MountAction>, ModuleError> {
    let mut plan = Plan::nothing();
    let needs_entry = matches!(p.state.as_str(), "mounted" | "present");
    let entry = if needs_entry {
        let src = p.src.clone().ok_or_else(|| {
            ModuleError::Args(ArgError::new(
                Some("src"),
                format!("is required with state={}", p.state),
            ))
        })?;
        let fstype = p.fstype.clone().ok_or_else(|| {
            ModuleError::Args(ArgError::new(
                Some("fstype"),
                format!("is required with state={}", p.state),
            ))
        })?;
        Some(FstabEntry {
            src,
            path: p.path.clone(),
            fstype,
            opts: p.opts.clone(),
            dump: p.dump.clone(),
            passno: p.passno.clone(),
        })
    } else {
        None
    };
    let new_fstab = match (&entry, p.state.as_str()) {
        (Some(e), _) => fstab_set(&st.fstab_text, e),
        (None, "absent") => fstab_remove(&st.fstab_text, &p.path),
        _ => st.fstab_text.clone(),
    };
    let fstab_changed = new_fstab != st.fstab_text;
    if fstab_changed {
        plan.diffs.push(Diff::new(
            &p.fstab,
            st.fstab_text.clone(),
            new_fstab.clone(),
        ));
        plan.actions.push(MountAction::WriteFstab(new_fstab));
    }
    let mounted = st.live.is_some();
    let live_text = |m: bool| if m { "mounted\n" } else { "not mounted\n" };
    match p.state.as_str() {
        "mounted" => {
            let e = entry.expect("entry for mounted");
            let opts = live_opts(&e.opts, st.src_is_file);
            let mount = MountAction::Mount {
                src: e.src.clone(),
                path: p.path.clone(),
                fstype: e.fstype.clone(),
                opts: opts.clone(),
            };
            match &st.live {
                None => {
                    if !st.path_exists {
                        plan.actions
                            .push(MountAction::MakeMountPoint(p.path.clone()));
                    }
                    plan.actions.push(mount);
                    plan.diffs.push(Diff::new(
                        &format!("{} (live)", p.path),
                        live_text(false),
                        format!("mounted from {}\n", e.src),
                    ));
                }
                Some(live) if !live.is_from(&e.src) => {
                    plan.actions.push(MountAction::Unmount(p.path.clone()));
                    plan.actions.push(mount);
                    plan.diffs.push(Diff::new(
                        &format!("{} (live)", p.path),
                        format!("mounted from {}\n", live.source),
                        format!("mounted from {}\n", e.src),
                    ));
                }
                Some(_) if fstab_changed => plan.actions.push(MountAction::Remount {
                    path: p.path.clone(),
                    opts: Some(opts),
                }),
                Some(_) => {}
            }
        }
        "unmounted" | "absent" => {
            if mounted {
                plan.actions.push(MountAction::Unmount(p.path.clone()));
                plan.diffs.push(Diff::new(
                    &format!("{} (live)", p.path),
                    live_text(true),
                    live_text(false),
                ));
            }
            if p.state == "absent" && st.path_exists {
                plan.actions
                    .push(MountAction::RemoveMountPoint(p.path.clone()));
            }
        }
        "remounted" => plan.actions.push(MountAction::Remount {
            path: p.path.clone(),
            opts: None,
        }),
        _ => {}
    }
    plan.data.insert("name".into(), p.path.clone().into());
    plan.data.insert("path".into(), p.path.clone().into());
    if let Some(s) = &p.src {
        plan.data.insert("src".into(), s.clone().into());
    }
    if let Some(f) = &p.fstype {
        plan.data.insert("fstype".into(), f.clone().into());
    }
    plan.data.insert("opts".into(), p.opts.clone().into());
    plan.data.insert("fstab".into(), p.fstab.clone().into());
    Ok(plan)
}

/// Carry out mount actions.
pub fn apply_mount(
    target: &dyn Target,
    fstab: &str,
    actions: &[MountAction],
) -> Result<(), ModuleError> {
    for a in actions {
        match a {
            MountAction::WriteFstab(text) => {
                target.write_file(
                    fstab,
                    text.as_bytes(),
                    &FileAttrs {
                        mode: None,
                        owner: None,
                        group: None,
                    },
                )?;
            }
            MountAction::MakeMountPoint(p) => {
                run_checked(
                    target,
                    &Command::argv(["mkdir", "-p", "--", p]),
                    &format!("creating mount point {p}"),
                )?;
            }
            MountAction::Mount {
                src,
                path,
                fstype,
                opts,
            } => {
                run_checked(
                    target,
                    &Command::argv(["mount", "-t", fstype, "-o", opts, "--", src, path]),
                    &format!("mounting {src} at {path}"),
                )?;
            }
            MountAction::Unmount(p) => {
                run_checked(
                    target,
                    &Command::argv(["umount", "--", p]),
                    &format!("unmounting {p}"),
                )?;
            }
            MountAction::Remount { path, opts } => {
                let o = match opts {
                    Some(o) => format!("remount,{o}"),
                    None => "remount".into(),
                };
                // `loop` cannot be given on a remount.
                let o = o
                    .split(',')
                    .filter(|x| *x != "loop")
                    .collect::<Vec<_>>()
                    .join(",");
                run_checked(
                    target,
                    &Command::argv(["mount", "-o", &o, "--", path]),
                    &format!("remounting {path}"),
                )?;
            }
            MountAction::RemoveMountPoint(p) => {
                // Only an empty directory goes; anything else stays.
                let _ = target.run(&Command::argv(["rmdir", "--", p]));
            }
        }
    }
    Ok(())
}

/// Inspect a mount point: fstab text, the live mount, whether `src` is a regular file.
pub fn inspect_mount(
    target: &dyn Target,
    fstab: &str,
    path: &str,
    src: Option<&str>,
) -> Result<MountState, ModuleError> {
    let fstab_text = target
        .read_file(fstab)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let out = target.run(&Command::shell(findmnt_script(path)))?;
    let live = parse_findmnt(&strip_ends(&out.stdout_str()));
    let path_exists = target.stat(path)?.is_some();
    let src_is_file = match src {
        Some(s) if s.starts_with('/') => crate::filewrite::resolve_links(target, s)?
            .1
            .is_some_and(|st| st.kind == FileKind::File),
        _ => false,
    };
    Ok(MountState {
        fstab_text,
        live,
        path_exists,
        src_is_file,
    })
}

/// The `mount` module.
pub struct MountModule;

impl Converge for MountModule {
    type Params = MountParams;
    type State = MountState;
    type Action = MountAction;

    fn name(&self) -> &'static str {
        "mount"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn params(&self, args: &Args) -> Result<MountParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let path = p.req_str("path")?;
        if !path.starts_with('/') {
            return Err(ArgError::new(Some("path"), "must be an absolute path").into());
        }
        let path = if path.len() > 1 {
            path.trim_end_matches('/').to_string()
        } else {
            path
        };
        let mut opts = p
            .str("opts")
            .filter(|o| !o.is_empty())
            .unwrap_or_else(|| "defaults".into());
        if !p.bool_or("boot", true) && !opts.split(',').any(|o| o == "noauto") {
            opts = if opts == "defaults" {
                "noauto".into()
            } else {
                format!("{opts},noauto")
            };
        }
        Ok(MountParams {
            path,
            src: p.str("src").filter(|s| !s.is_empty()),
            fstype: p.str("fstype").filter(|s| !s.is_empty()),
            opts,
            dump: p.str_or("dump", "0"),
            passno: p.str_or("passno", "0"),
            state: p.req_str("state")?,
            fstab: p.str_or("fstab", "/etc/fstab"),
        })
    }
    fn inspect(&self, p: &MountParams, target: &dyn Target) -> Result<MountState, ModuleError> {
        inspect_mount(target, &p.fstab, &p.path, p.src.as_deref())
    }
    fn plan(&self, p: &MountParams, st: &MountState) -> Result<Plan<MountAction>, ModuleError> {
        plan_mount(p, st)
    }
    fn apply(
        &self,
        p: &MountParams,
        plan: &Plan<MountAction>,
        target: &dyn Target,
    ) -> Result<(), ModuleError> {
        apply_mount(target, &p.fstab, &plan.actions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FSTAB: &str = "# /etc/fstab: static file system information.\n\
UUID=abc / ext4 errors=remount-ro 0 1\n\
\n\
/dev/sdb1 /srv/data xfs defaults 0 0\n";

    fn entry(src: &str, path: &str, opts: &str) -> FstabEntry {
        FstabEntry {
            src: src.into(),
            path: path.into(),
            fstype: "btrfs".into(),
            opts: opts.into(),
            dump: "0".into(),
            passno: "0".into(),
        }
    }

    #[test]
    fn fstab_append_replace_remove() {
        let e = entry("/var/lib/docker.img", "/var/lib/docker", "loop,defaults");
        let t = fstab_set(FSTAB, &e);
        assert_eq!(
            t,
            format!("{FSTAB}/var/lib/docker.img /var/lib/docker btrfs loop,defaults 0 0\n")
        );
        // Idempotent.
        assert_eq!(fstab_set(&t, &e), t);
        // Replaced in place, other lines untouched.
        let e2 = entry("/dev/sdc", "/srv/data", "defaults");
        let t2 = fstab_set(&t, &e2);
        assert!(t2.contains("\n/dev/sdc /srv/data btrfs defaults 0 0\n/var/lib/docker.img"));
        assert!(t2.starts_with("# /etc/fstab"));
        // Removal.
        assert_eq!(fstab_remove(&t, "/var/lib/docker"), FSTAB);
        assert_eq!(fstab_remove(FSTAB, "/nope"), FSTAB);
        // Empty file, no final newline, tabs, duplicates.
        assert_eq!(fstab_set("", &e), format!("{}\n", e.line()));
        let dup = "/a /var/lib/docker ext4 defaults 0 0\nx y z\n/b\t/var/lib/docker\text4";
        assert_eq!(fstab_set(dup, &e), format!("{}\nx y z\n", e.line()));
        // A matching line written differently (tabs) is left alone.
        let tabs = "/var/lib/docker.img\t/var/lib/docker\tbtrfs\tloop,defaults\t0\t0\n";
        assert_eq!(fstab_set(tabs, &e), tabs);
        assert_eq!(fstab_find(&t, "/var/lib/docker"), Some(e));
    }

    #[test]
    fn fstab_escapes_spaces() {
        let e = entry("/srv/my disk.img", "/mnt/my dir", "defaults");
        assert_eq!(
            e.line(),
            "/srv/my\\040disk.img /mnt/my\\040dir btrfs defaults 0 0"
        );
        assert_eq!(FstabEntry::parse(&e.line()), Some(e));
    }

    #[test]
    fn findmnt_output() {
        let m = parse_findmnt("/dev/loop3 btrfs rw,relatime,space_cache=v2\nbacking /srv/d.img\n")
            .unwrap();
        assert!(m.is_from("/srv/d.img") && m.is_from("/dev/loop3") && !m.is_from("/x"));
        assert_eq!(m.fstype, "btrfs");
        assert_eq!(parse_findmnt(""), None);
    }

    fn params(state: &str) -> MountParams {
        MountParams {
            path: "/mnt/d".into(),
            src: Some("/srv/d.img".into()),
            fstype: Some("btrfs".into()),
            opts: "defaults".into(),
            dump: "0".into(),
            passno: "0".into(),
            state: state.into(),
            fstab: "/etc/fstab".into(),
        }
    }

    fn state(fstab: &str, live: Option<&str>) -> MountState {
        MountState {
            fstab_text: fstab.into(),
            live: live.map(|src| LiveMount {
                source: "/dev/loop0".into(),
                fstype: "btrfs".into(),
                options: "rw".into(),
                backing_file: Some(src.into()),
            }),
            path_exists: true,
            src_is_file: true,
        }
    }

    #[test]
    fn plans() {
        let line = "/srv/d.img /mnt/d btrfs defaults 0 0\n";
        // Nothing there: fstab + mount with loop.
        let p = plan_mount(&params("mounted"), &state("", None)).unwrap();
        assert_eq!(
            p.actions,
            vec![
                MountAction::WriteFstab(line.into()),
                MountAction::Mount {
                    src: "/srv/d.img".into(),
                    path: "/mnt/d".into(),
                    fstype: "btrfs".into(),
                    opts: "defaults,loop".into()
                }
            ]
        );
        // Converged.
        assert!(
            plan_mount(&params("mounted"), &state(line, Some("/srv/d.img")))
                .unwrap()
                .is_noop()
        );
        // Mounted from elsewhere.
        let p = plan_mount(&params("mounted"), &state(line, Some("/other.img"))).unwrap();
        assert!(matches!(
            &p.actions[..],
            [MountAction::Unmount(_), MountAction::Mount { .. }]
        ));
        // present: fstab only, never mounts.
        let p = plan_mount(&params("present"), &state("", None)).unwrap();
        assert_eq!(p.actions.len(), 1);
        // absent: unmount, fstab line removed, mount point removed.
        let p = plan_mount(&params("absent"), &state(line, Some("/srv/d.img"))).unwrap();
        assert_eq!(
            p.actions,
            vec![
                MountAction::WriteFstab(String::new()),
                MountAction::Unmount("/mnt/d".into()),
                MountAction::RemoveMountPoint("/mnt/d".into())
            ]
        );
        // unmounted leaves fstab.
        let p = plan_mount(&params("unmounted"), &state(line, Some("/srv/d.img"))).unwrap();
        assert_eq!(p.actions, vec![MountAction::Unmount("/mnt/d".into())]);
        assert!(plan_mount(&params("unmounted"), &state(line, None))
            .unwrap()
            .is_noop());
        // Missing fstype.
        let mut bad = params("mounted");
        bad.fstype = None;
        assert!(plan_mount(&bad, &state("", None)).is_err());
        assert_eq!(live_opts("noauto,ro", false), "ro");
    }
}
