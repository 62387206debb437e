//! The `docker_engine` plan: observed state in, ordered actions out. Pure.

use super::daemon_json::{flag_conflicts, validate};
use super::inspect::{Init, Observed};
use crate::contract::{Diff, ModuleError, Plan};
use crate::filesystem::DevKind;
use crate::jsondiff::{diff_texts, key_diff, merge, parse_document, render_changes, to_file_text};
use crate::mount::{fstab_set, live_opts, FstabEntry};
use serde_json::{Map, Value};

/// The options, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineParams {
    pub package: String,
    pub users: Vec<String>,
    /// The declared daemon.json keys (`storage_driver` included as `storage-driver`).
    pub daemon_json: Map<String, Value>,
    pub btrfs_device: Option<String>,
    pub btrfs_size: Option<String>,
    pub allow_data_loss: bool,
    pub service_start: bool,
    pub service_enabled: bool,
    pub config_path: String,
    pub migration_dir: String,
}

/// The files read besides the inspection script's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineState {
    pub observed: Observed,
    /// daemon.json's text; `None` when the file does not exist.
    pub daemon_json_text: Option<String>,
    /// `/etc/default/docker`'s text; `None` when missing.
    pub default_text: Option<String>,
    pub fstab_text: String,
}

/// One step of the convergence, in the order the plan lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The SysV init script's `ulimit` calls clamped to the host's hard limits
    /// (`/etc/default/docker`, see `ULIMIT_BLOCK`).
    ClampInitUlimits {
        content: String,
    },
    InstallPackages(Vec<String>),
    LoadKernelModule(String),
    AddToDockerGroup(Vec<String>),
    EnableService,
    /// Start the daemon with its current configuration, to save its images.
    StartOldDaemon,
    SaveImages {
        images: Vec<String>,
        file: String,
    },
    RemoveContainers(Vec<String>),
    StopDaemon,
    CreateLoopFile {
        path: String,
        size: String,
    },
    MakeBtrfs {
        dev: String,
        force: bool,
    },
    WriteFstab(String),
    MountDataRoot {
        src: String,
        path: String,
        opts: String,
    },
    WriteDaemonJson {
        content: String,
        validate: bool,
    },
    StartDaemon,
    LoadImages {
        file: String,
    },
    Verify {
        driver: Option<String>,
    },
}

impl Action {
    /// A short name, for `actions` in the registered result.
    pub fn name(&self) -> &'static str {
        match self {
            Action::ClampInitUlimits { .. } => "ClampInitUlimits",
            Action::InstallPackages(_) => "InstallPackages",
            Action::LoadKernelModule(_) => "LoadKernelModule",
            Action::AddToDockerGroup(_) => "AddToDockerGroup",
            Action::EnableService => "EnableService",
            Action::StartOldDaemon => "StartOldDaemon",
            Action::SaveImages { .. } => "SaveImages",
            Action::RemoveContainers(_) => "RemoveContainers",
            Action::StopDaemon => "StopDaemon",
            Action::CreateLoopFile { .. } => "CreateLoopFile",
            Action::MakeBtrfs { .. } => "MakeBtrfs",
            Action::WriteFstab(_) => "WriteFstab",
            Action::MountDataRoot { .. } => "MountDataRoot",
            Action::WriteDaemonJson { .. } => "WriteDaemonJson",
            Action::StartDaemon => "StartDaemon",
            Action::LoadImages { .. } => "LoadImages",
            Action::Verify { .. } => "Verify",
        }
    }
}

pub const DEFAULT_FILE: &str = "/etc/default/docker";
pub const FSTAB: &str = "/etc/fstab";
/// What Debian's init script asks for (`ulimit -n 1048576`).
pub const INIT_NOFILE: u64 = 1_048_576;

const BLOCK_BEGIN: &str = "# BEGIN converge docker_engine: init script ulimits";
const BLOCK_END: &str = "# END converge docker_engine";

/// Sourced by Debian's `/etc/init.d/docker` before it runs `ulimit -n 1048576` and
/// `ulimit -p unlimited` under `set -e`. Where the hard limits are lower and cannot be raised
/// (no CAP_SYS_RESOURCE: containers, the lab), those lines abort the start. `ulimit` is a
/// regular built-in, so a function of that name takes precedence in the init script's shell:
/// it tries the requested limit and falls back to the hard limit. The package's init script
/// stays untouched (it is a conffile), and `service docker start|stop|restart` keeps working
/// for every tool. Only written on hosts without systemd whose hard limit is too low.
pub const ULIMIT_BLOCK: &str = "# BEGIN converge docker_engine: init script ulimits
# /etc/init.d/docker runs `ulimit -n 1048576` and `ulimit -p unlimited` under `set -e`;
# this host's hard limits are lower and cannot be raised, so the start would abort.
# Try the requested limit, else use the hard limit (the init script itself is unchanged).
ulimit() {
\tcommand ulimit \"$@\" 2>/dev/null && return 0
\t[ $# -eq 2 ] || return 1
\tcommand ulimit \"$1\" \"$(command ulimit -H \"$1\")\"
}
# END converge docker_engine
";

/// `/etc/default/docker` with the ulimit block (replacing an older copy of it).
pub fn with_ulimit_block(text: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for l in text.lines() {
        if l == BLOCK_BEGIN {
            skipping = true;
            continue;
        }
        if skipping {
            if l == BLOCK_END {
                skipping = false;
            }
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(ULIMIT_BLOCK);
    out
}

const DATA_ROOT: &str = "/var/lib/docker";

/// The data root the configuration names.
pub fn data_root(doc: &Value) -> String {
    doc.get("data-root")
        .or_else(|| doc.get("graph"))
        .and_then(Value::as_str)
        .unwrap_or(DATA_ROOT)
        .trim_end_matches('/')
        .to_string()
}

fn failed(msg: String) -> ModuleError {
    ModuleError::Failed(msg)
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

fn lines_of(items: &[String]) -> String {
    items.iter().map(|i| format!("{i}\n")).collect()
}

/// The plan. Pure: `p` and `st` in, actions, diffs and registered data out.
pub fn plan_engine(p: &EngineParams, st: &EngineState) -> Result<Plan<Action>, ModuleError> {
    let o = &st.observed;
    let mut plan: Plan<Action> = Plan::nothing();
    let mut notes: Vec<String> = Vec::new();
    let installed = o.package_installed;

    // --- daemon.json: merge, validate -------------------------------------------------------
    let existing = match &st.daemon_json_text {
        Some(t) => parse_document(t).map_err(|e| {
            failed(format!(
                "{} is {e}; fix or remove it (converge merges the declared keys into it and will not guess at a broken file)",
                p.config_path
            ))
        })?,
        None => Value::Object(Map::new()),
    };
    let merged = merge(&existing, &p.daemon_json);
    let mut problems = validate(&merged, !o.dockerd_validate);
    let default_text = st.default_text.clone().unwrap_or_default();
    for k in flag_conflicts(&merged, &default_text) {
        problems.push(format!(
            "\"{k}\" is set both in daemon.json and as a flag in {DEFAULT_FILE}'s DOCKER_OPTS: dockerd refuses to start so; remove one"
        ));
    }
    let json_changed =
        merged != existing || (st.daemon_json_text.is_none() && !p.daemon_json.is_empty());
    let changes = key_diff(&existing, &merged);
    let desired = merged
        .get("storage-driver")
        .and_then(Value::as_str)
        .map(str::to_string);
    let root = data_root(&merged);

    // --- what runs now --------------------------------------------------------------------------
    let daemon_up = o.info.is_some();
    let running_driver = o.info.as_ref().map(|i| i.driver.clone());
    let old_driver = running_driver.clone().or_else(|| {
        existing
            .get("storage-driver")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let driver_change =
        installed && desired.is_some() && old_driver.is_some() && old_driver != desired;

    // --- packages -------------------------------------------------------------------------------
    let mut packages = Vec::new();
    if !installed {
        packages.push(p.package.clone());
    }

    // --- btrfs data root --------------------------------------------------------------------------
    let mut btrfs_steps: Vec<Action> = Vec::new();
    let mut mount_needed = false;
    let mut new_fstab = st.fstab_text.clone();
    let wants_btrfs = desired.as_deref() == Some("btrfs");
    if let (true, Some(dev)) = (wants_btrfs, &p.btrfs_device) {
        let devst = o.btrfs_dev.clone().unwrap_or(crate::filesystem::FsState {
            kind: DevKind::Missing,
            current: String::new(),
            mkfs_found: false,
        });
        let is_file = match devst.kind {
            DevKind::Missing => {
                let size = p.btrfs_size.clone().ok_or_else(|| {
                    failed(format!(
                        "btrfs_device {dev} does not exist: give btrfs_size (e.g. 2G) to create it as a loop file, or name an existing block device"
                    ))
                })?;
                if dev.starts_with("/dev/") {
                    return Err(failed(format!(
                        "btrfs_device {dev} does not exist (a loop file is never created under /dev)"
                    )));
                }
                btrfs_steps.push(Action::CreateLoopFile {
                    path: dev.clone(),
                    size,
                });
                btrfs_steps.push(Action::MakeBtrfs {
                    dev: dev.clone(),
                    force: false,
                });
                plan.diffs.push(Diff::new(
                    dev,
                    "(absent)\n",
                    format!(
                        "loop file of {}, fstype: btrfs\n",
                        p.btrfs_size.as_deref().unwrap_or("")
                    ),
                ));
                true
            }
            DevKind::Other => {
                return Err(failed(format!(
                    "btrfs_device {dev} is neither a block device nor a regular file"
                )))
            }
            kind => {
                match devst.current.as_str() {
                    "btrfs" => {}
                    "" => btrfs_steps.push(Action::MakeBtrfs {
                        dev: dev.clone(),
                        force: false,
                    }),
                    other if p.allow_data_loss => {
                        notes.push(format!("{dev} held {other}: reformatted as btrfs"));
                        btrfs_steps.push(Action::MakeBtrfs {
                            dev: dev.clone(),
                            force: true,
                        })
                    }
                    other => {
                        return Err(failed(format!(
                            "btrfs_device {dev} already holds a {other} filesystem; refusing to reformat it (set allow_data_loss: true to allow it)"
                        )))
                    }
                }
                if devst.current != "btrfs" {
                    plan.diffs.push(Diff::new(
                        dev,
                        if devst.current.is_empty() {
                            "(no filesystem)\n".to_string()
                        } else {
                            format!("fstype: {}\n", devst.current)
                        },
                        "fstype: btrfs\n",
                    ));
                }
                kind == DevKind::File
            }
        };
        if btrfs_steps
            .iter()
            .any(|a| matches!(a, Action::MakeBtrfs { .. }))
            && !o.has_tool("mkfs.btrfs")
        {
            packages.push("btrfs-progs".into());
        }
        let opts = if is_file { "loop,defaults" } else { "defaults" };
        let entry = FstabEntry {
            src: dev.clone(),
            path: root.clone(),
            fstype: "btrfs".into(),
            opts: opts.into(),
            dump: "0".into(),
            passno: "0".into(),
        };
        new_fstab = fstab_set(&st.fstab_text, &entry);
        let mounted = o.data_mount.as_ref().is_some_and(|m| m.is_from(dev));
        if !mounted {
            mount_needed = true;
            btrfs_steps.push(Action::MountDataRoot {
                src: dev.clone(),
                path: root.clone(),
                opts: live_opts(opts, is_file),
            });
            plan.diffs.push(Diff::new(
                &format!("{root} (mount)"),
                match &o.data_mount {
                    Some(m) => format!("{} ({})\n", m.source, m.fstype),
                    None => format!("on the {} filesystem of its parent\n", o.data_fs),
                },
                format!("{dev} (btrfs)\n"),
            ));
        }
    }
    let fstab_changed = new_fstab != st.fstab_text;
    if fstab_changed {
        plan.diffs
            .push(Diff::new(FSTAB, st.fstab_text.clone(), new_fstab.clone()));
    }

    // --- prerequisites of the driver --------------------------------------------------------------
    let mut modules: Vec<String> = Vec::new();
    let kernel_has = |fs: &str| o.kernel_fs.iter().any(|k| k == fs);
    let fs_after = if mount_needed || o.data_mount.as_ref().is_some_and(|m| m.fstype == "btrfs") {
        "btrfs".to_string()
    } else {
        o.data_fs.clone()
    };
    match desired.as_deref() {
        Some("overlay2") => {
            if !kernel_has("overlay") {
                if o.has_tool("modprobe") {
                    modules.push("overlay".into());
                } else {
                    problems.push(
                        "storage driver overlay2 needs the kernel's overlay filesystem: it is not in /proc/filesystems and there is no modprobe to load it".into(),
                    );
                }
            }
            if matches!(
                fs_after.as_str(),
                "overlayfs" | "aufs" | "ecryptfs" | "zfs" | "nfs"
            ) {
                problems.push(format!(
                    "storage driver overlay2 cannot run with {root} on {fs_after}: give {root} its own filesystem (ext4, xfs with ftype=1, btrfs)"
                ));
            }
        }
        Some("btrfs") => {
            if !kernel_has("btrfs") {
                if o.has_tool("modprobe") {
                    modules.push("btrfs".into());
                } else {
                    problems.push(
                        "storage driver btrfs needs btrfs in the kernel: it is not in /proc/filesystems and there is no modprobe to load it".into(),
                    );
                }
            }
            if fs_after != "btrfs" {
                problems.push(format!(
                    "storage driver btrfs needs {root} on a btrfs filesystem, it is on {}: give btrfs_device (a block device, or a loop file with btrfs_size)",
                    if o.data_fs.is_empty() { "an unknown filesystem" } else { &o.data_fs }
                ));
            }
        }
        Some("devicemapper") => {
            if !o.dm_control {
                if o.has_tool("modprobe") {
                    modules.push("dm_mod".into());
                } else {
                    problems.push(
                        "storage driver devicemapper needs device-mapper (/dev/mapper/control is missing and there is no modprobe to load dm_mod)".into(),
                    );
                }
            }
            notes.push(
                "devicemapper is deprecated since Docker 20.10 (loop-lvm is for testing only)"
                    .into(),
            );
        }
        _ => {}
    }
    if !problems.is_empty() {
        return Err(failed(format!(
            "docker_engine cannot converge: {}",
            problems.join("; ")
        )));
    }

    // --- data kept across a driver change -------------------------------------------------------
    let switching = driver_change || (installed && mount_needed);
    let mut to_save: Vec<String> = Vec::new();
    let mut start_old = false;
    let mut remove: Vec<String> = Vec::new();
    if switching {
        if daemon_up {
            to_save = o.images.clone();
            if o.untagged_images > 0 {
                notes.push(format!(
                    "{} untagged image(s) cannot be saved by name and are not kept",
                    o.untagged_images
                ));
            }
        } else if let Some(old) = &old_driver {
            to_save = o.disk_images.get(old).cloned().unwrap_or_default();
            start_old = !to_save.is_empty();
        }
        let mut lost = Vec::new();
        if !o.containers.is_empty() {
            lost.push(format!(
                "containers {} (their writable layers stay with the old {} storage)",
                list(&o.containers),
                old_driver.as_deref().unwrap_or("driver's")
            ));
        }
        if mount_needed && !o.volumes.is_empty() {
            lost.push(format!(
                "volumes {} (hidden under the new filesystem mounted at {root})",
                list(&o.volumes)
            ));
        }
        if !lost.is_empty() {
            if !p.allow_data_loss {
                return Err(failed(format!(
                    "refusing to switch the storage driver {} → {}: it would lose the data of {}. \
                     Remove or export them first, or set allow_data_loss: true (containers are then removed)",
                    old_driver.as_deref().unwrap_or("?"),
                    desired.as_deref().unwrap_or("?"),
                    lost.join(" and ")
                )));
            }
            remove = o.containers.clone();
            notes.push(format!("data loss allowed: {}", lost.join(" and ")));
        }
    }

    // --- the ordered actions ------------------------------------------------------------------
    let mut a: Vec<Action> = Vec::new();
    // Before the package: the postinst starts the daemon through the init script.
    if o.init == Init::SysV && o.nofile_hard.is_some_and(|n| n < INIT_NOFILE) {
        let new = with_ulimit_block(&default_text);
        if new != default_text {
            plan.diffs
                .push(Diff::new(DEFAULT_FILE, default_text.clone(), new.clone()));
            a.push(Action::ClampInitUlimits { content: new });
        }
    }
    if !packages.is_empty() {
        plan.diffs.push(Diff::new(
            "packages",
            String::new(),
            lines_of(
                &packages
                    .iter()
                    .map(|p| format!("{p} (installed)"))
                    .collect::<Vec<_>>(),
            ),
        ));
        a.push(Action::InstallPackages(packages.clone()));
    }
    for m in &modules {
        a.push(Action::LoadKernelModule(m.clone()));
    }
    let members = o.docker_group.clone().unwrap_or_default();
    let add: Vec<String> = p
        .users
        .iter()
        .filter(|u| !members.contains(u))
        .cloned()
        .collect();
    if !add.is_empty() {
        plan.diffs.push(Diff::new(
            "group docker",
            lines_of(&members),
            lines_of(
                &members
                    .iter()
                    .chain(add.iter())
                    .cloned()
                    .collect::<Vec<_>>(),
            ),
        ));
        a.push(Action::AddToDockerGroup(add));
    }
    if p.service_enabled && (!installed || !o.enabled) {
        a.push(Action::EnableService);
        plan.diffs.push(Diff::new(
            "service docker (boot)",
            "disabled\n",
            "enabled\n",
        ));
    }
    let restart = json_changed || switching || mount_needed || !installed;
    if restart {
        let file = format!(
            "{}/images-{}-to-{}.tar",
            p.migration_dir.trim_end_matches('/'),
            old_driver.as_deref().unwrap_or("unknown"),
            desired.as_deref().unwrap_or("unknown")
        );
        if start_old {
            a.push(Action::StartOldDaemon);
        }
        if !to_save.is_empty() {
            a.push(Action::SaveImages {
                images: to_save.clone(),
                file: file.clone(),
            });
            let on = |d: &Option<String>| {
                let d = d.as_deref().unwrap_or("?");
                to_save
                    .iter()
                    .map(|i| format!("{i} ({d})\n"))
                    .collect::<String>()
            };
            plan.diffs.push(Diff::new(
                &format!("images (saved to {file}, loaded back)"),
                on(&old_driver),
                on(&desired),
            ));
        }
        if !remove.is_empty() {
            plan.diffs
                .push(Diff::new("containers", lines_of(&remove), String::new()));
            a.push(Action::RemoveContainers(remove));
        }
        if daemon_up || start_old || !installed {
            a.push(Action::StopDaemon);
        }
        // The fstab line goes in before the mount it describes.
        for step in btrfs_steps {
            if matches!(step, Action::MountDataRoot { .. }) && fstab_changed {
                a.push(Action::WriteFstab(new_fstab.clone()));
            }
            a.push(step);
        }
        if fstab_changed && !a.iter().any(|x| matches!(x, Action::WriteFstab(_))) {
            a.push(Action::WriteFstab(new_fstab));
        }
        if json_changed {
            a.push(Action::WriteDaemonJson {
                content: to_file_text(&merged),
                validate: o.dockerd_validate,
            });
        }
        if p.service_start || daemon_up {
            a.push(Action::StartDaemon);
            if !to_save.is_empty() {
                a.push(Action::LoadImages { file });
            }
        }
    } else {
        if fstab_changed {
            a.push(Action::WriteFstab(new_fstab));
        }
        if p.service_start && !daemon_up {
            a.push(Action::StartDaemon);
        }
    }
    if a.contains(&Action::StartDaemon) && !daemon_up {
        plan.diffs
            .push(Diff::new("service docker", "stopped\n", "running\n"));
    } else if daemon_up && a.contains(&Action::StopDaemon) {
        plan.diffs
            .push(Diff::new("service docker", "running\n", "restarted\n"));
    }
    if json_changed {
        let (before, after) = diff_texts(&changes);
        let mut d = Diff::new(&p.config_path, before, after);
        d.before_header = format!("{} (keys, before)", p.config_path);
        d.after_header = format!("{} (keys, after)", p.config_path);
        plan.diffs.insert(0, d);
    }
    if !a.is_empty() && p.service_start {
        a.push(Action::Verify {
            driver: desired.clone(),
        });
    }

    // --- registered data and message --------------------------------------------------------------
    let d = &mut plan.data;
    d.insert(
        "storage_driver".into(),
        desired.clone().map_or(Value::Null, Value::from),
    );
    d.insert(
        "previous_storage_driver".into(),
        old_driver.clone().map_or(Value::Null, Value::from),
    );
    d.insert("data_root".into(), root.clone().into());
    d.insert(
        "daemon_json_changes".into(),
        Value::Array(changes.iter().map(|c| Value::from(c.render())).collect()),
    );
    d.insert("daemon_json".into(), merged.clone());
    d.insert("images_kept".into(), Value::from(to_save.clone()));
    d.insert(
        "actions".into(),
        Value::Array(a.iter().map(|x| Value::from(x.name())).collect()),
    );
    let mut msg = Vec::new();
    if !packages.is_empty() {
        msg.push(format!("install {}", list(&packages)));
    }
    if driver_change {
        msg.push(format!(
            "storage driver {} → {} ({} image(s) kept)",
            old_driver.as_deref().unwrap_or("?"),
            desired.as_deref().unwrap_or("?"),
            to_save.len()
        ));
    }
    if json_changed {
        msg.push(format!(
            "{}:\n{}",
            p.config_path,
            render_changes(&changes).trim_end()
        ));
    }
    msg.extend(notes);
    if !msg.is_empty() {
        plan.msg = Some(msg.join("; "));
    }
    plan.actions = a;
    Ok(plan)
}
