//! `docker_engine`: a Docker host's engine, converged: the package, the `docker` group, the
//! daemon configuration (`/etc/docker/daemon.json`, owned as structured data), the storage
//! driver (overlay2, btrfs, devicemapper, vfs) with what it needs underneath, and a running,
//! enabled daemon that answers with the declared driver.
//!
//! # Options
//!
//! | option | default | meaning |
//! |---|---|---|
//! | `state` | `present` | only `present` |
//! | `package` | `docker.io` | the package with dockerd and the CLI (installed with `apt-get`) |
//! | `users` | `[]` | users added to the `docker` group (never removed) |
//! | `daemon_json` | `{}` | keys merged into daemon.json: a declared key replaces the existing value, `null` removes it, undeclared keys are kept |
//! | `storage_driver` | — | `overlay2`, `btrfs`, `devicemapper` or `vfs` (same as `daemon_json: {storage-driver: ...}`) |
//! | `btrfs_device` | — | block device or loop FILE for the data root (btrfs only); mkfs.btrfs'd when blank, mounted at the data root, in fstab (`loop` for a file) |
//! | `btrfs_size` | — | size of the loop file to create when `btrfs_device` does not exist (`2G`) |
//! | `allow_data_loss` | `false` | allow a driver change although containers (or volumes hidden by a new mount) exist: they are removed; allow reformatting a `btrfs_device` holding another filesystem |
//! | `service_start` | `true` | the daemon must run (and is verified through `docker info`) |
//! | `service_enabled` | `true` | the daemon starts at boot |
//! | `config_path` | `/etc/docker/daemon.json` | |
//! | `migration_dir` | `/var/lib/converge-docker-migration` | where images are saved during a driver change (the tar is kept as a backup) |
//!
//! # How it converges
//!
//! inspect reads daemon.json, `/etc/default/docker` and fstab, and runs ONE shell command that
//! reports the init system, the package, tools, the `docker` group, `docker info` (JSON), the
//! images, containers and volumes, kernel filesystems, the data root's filesystem and mount, the
//! btrfs device, and the images on disk per driver. plan (pure, [`plan::plan_engine`]) turns that
//! into ordered actions, e.g. for overlay2 → btrfs on a loop file:
//! `[SaveImages, StopDaemon, CreateLoopFile, MakeBtrfs, WriteFstab, MountDataRoot,
//! WriteDaemonJson, StartDaemon, LoadImages, Verify]`. Check mode stops there and reports every
//! package, file, mount and service change as diffs; daemon.json's diff is key by key.
//!
//! The daemon is restarted only when daemon.json changed, the driver changes or the data root is
//! (re)mounted; the module does it itself, in the right place of the sequence (a playbook could
//! instead notify a `service: name=docker state=restarted` handler, but then a driver change would
//! not keep the images: saving them must happen before the restart, loading them after).
//!
//! # Hosts without systemd
//!
//! Debian's `/etc/init.d/docker start` runs `ulimit -n 1048576` under `set -e`; where the hard
//! limit is lower and cannot be raised (no CAP_SYS_RESOURCE, e.g. in containers and the test lab)
//! the start aborts. The module then adds a marked block to `/etc/default/docker` (which the init
//! script sources first) defining a `ulimit` function that falls back to the hard limit; see
//! [`plan::ULIMIT_BLOCK`]. The init script itself is not modified, so `service docker restart`
//! keeps working for every tool.

pub mod daemon_json;
pub mod inspect;
pub mod plan;

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::common::{dirname, run_checked, strip_ends};
use crate::contract::{Module, ModuleError, Outcome, RunMode};
use crate::target::{shell_quote, Command, FileAttrs, Target};
use daemon_json::DRIVERS;
use inspect::{parse_docker_info, Init};
use plan::{data_root, plan_engine, Action, EngineParams, EngineState, DEFAULT_FILE, FSTAB};
use serde_json::{Map, Value};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("state", ArgKind::Str).choices(&["present"]),
    ArgSpec::new("package", ArgKind::Str),
    ArgSpec::new("users", ArgKind::List),
    ArgSpec::new("daemon_json", ArgKind::Dict).aliases(&["daemon_config"]),
    ArgSpec::new("storage_driver", ArgKind::Str).choices(DRIVERS),
    ArgSpec::new("btrfs_device", ArgKind::Str),
    ArgSpec::new("btrfs_size", ArgKind::Str),
    ArgSpec::new("allow_data_loss", ArgKind::Bool),
    ArgSpec::new("service_start", ArgKind::Bool),
    ArgSpec::new("service_enabled", ArgKind::Bool),
    ArgSpec::new("config_path", ArgKind::Str),
    ArgSpec::new("migration_dir", ArgKind::Str),
];

/// `2G`, `512M`, `1073741824`, `1.5G`: what `fallocate -l` / `truncate -s` accept.
pub fn valid_size(s: &str) -> bool {
    let s = s.trim();
    let body = s
        .strip_suffix(|c: char| "KMGTPkmgtp".contains(c))
        .or_else(|| {
            s.strip_suffix("iB")
                .and_then(|b| b.strip_suffix(|c: char| "KMGTP".contains(c)))
        })
        .unwrap_or(s);
    !body.is_empty() && body.parse::<f64>().is_ok_and(|n| n > 0.0)
}

/// Parse and cross-check the options.
pub fn parse_params(args: &Args) -> Result<EngineParams, ModuleError> {
    let p = Params::new(SPEC, args)?;
    let mut daemon_json: Map<String, Value> = p.dict("daemon_json").cloned().unwrap_or_default();
    if let Some(d) = p.str("storage_driver") {
        match daemon_json.get("storage-driver") {
            Some(v) if v.as_str() != Some(d.as_str()) => {
                return Err(ArgError::new(
                    Some("storage_driver"),
                    format!("is {d} but daemon_json says \"storage-driver\": {v}"),
                )
                .into())
            }
            _ => {
                daemon_json.insert("storage-driver".into(), Value::String(d));
            }
        }
    }
    let btrfs_device = p.str("btrfs_device").filter(|s| !s.is_empty());
    let driver = daemon_json.get("storage-driver").and_then(Value::as_str);
    if let Some(dev) = &btrfs_device {
        if driver != Some("btrfs") {
            return Err(ArgError::new(
                Some("btrfs_device"),
                "is only used with storage_driver: btrfs",
            )
            .into());
        }
        if !dev.starts_with('/') {
            return Err(ArgError::new(Some("btrfs_device"), "must be an absolute path").into());
        }
    }
    let btrfs_size = p.str("btrfs_size").filter(|s| !s.is_empty());
    if let Some(s) = &btrfs_size {
        if !valid_size(s) {
            return Err(ArgError::new(
                Some("btrfs_size"),
                format!("`{s}` is not a size (e.g. 2G, 512M)"),
            )
            .into());
        }
        if btrfs_device.is_none() {
            return Err(ArgError::new(Some("btrfs_size"), "needs btrfs_device").into());
        }
    }
    Ok(EngineParams {
        package: p.str_or("package", "docker.io"),
        users: p.list("users").unwrap_or_default(),
        daemon_json,
        btrfs_device,
        btrfs_size,
        allow_data_loss: p.bool_or("allow_data_loss", false),
        service_start: p.bool_or("service_start", true),
        service_enabled: p.bool_or("service_enabled", true),
        config_path: p.str_or("config_path", "/etc/docker/daemon.json"),
        migration_dir: p.str_or("migration_dir", "/var/lib/converge-docker-migration"),
    })
}

fn read_text(target: &dyn Target, path: &str) -> Result<Option<String>, ModuleError> {
    Ok(target
        .read_file(path)?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// Read the host: three files and one command.
pub fn inspect_engine(p: &EngineParams, target: &dyn Target) -> Result<EngineState, ModuleError> {
    let daemon_json_text = read_text(target, &p.config_path)?;
    let existing = daemon_json_text
        .as_deref()
        .and_then(|t| crate::jsondiff::parse_document(t).ok())
        .unwrap_or(Value::Object(Map::new()));
    let root = data_root(&crate::jsondiff::merge(&existing, &p.daemon_json));
    let default_text = read_text(target, DEFAULT_FILE)?;
    let fstab_text = read_text(target, FSTAB)?.unwrap_or_default();
    let out = target.run(&Command::shell(inspect::script(
        &p.package,
        &root,
        p.btrfs_device.as_deref(),
    )))?;
    Ok(EngineState {
        observed: inspect::parse(&out.stdout_str()),
        daemon_json_text,
        default_text,
        fstab_text,
    })
}

/// Start the daemon (systemd or the SysV script) and wait until it answers; on failure the
/// message carries the end of its log.
const START: &str = r#"docker info >/dev/null 2>&1 && exit 0
if [ -d /run/systemd/system ]; then systemctl start docker; else /etc/init.d/docker start; fi
i=0
while [ $i -lt 60 ]; do docker info >/dev/null 2>&1 && exit 0; sleep 1; i=$((i+1)); done
echo "dockerd did not answer within 60 s; the end of its log:" >&2
if [ -d /run/systemd/system ]; then journalctl -u docker -n 25 --no-pager >&2; else tail -n 25 /var/log/docker.log >&2; fi
exit 1
"#;

/// Stop the daemon however it was started (init script, systemd, or by hand), and wait for it.
const STOP: &str = r#"if [ -d /run/systemd/system ]; then systemctl stop docker.socket docker 2>/dev/null
elif [ -x /etc/init.d/docker ]; then /etc/init.d/docker stop >/dev/null 2>&1 || true; fi
pid=$(cat /var/run/docker.pid 2>/dev/null)
[ -z "$pid" ] && pid=$(pidof dockerd 2>/dev/null)
[ -n "$pid" ] && kill $pid 2>/dev/null
i=0
while [ -n "$pid" ] && kill -0 $pid 2>/dev/null; do
  [ $i -ge 60 ] && { echo "dockerd ($pid) did not stop within 60 s" >&2; exit 1; }
  sleep 1; i=$((i+1))
done
rm -f /var/run/docker-ssd.pid
exit 0
"#;

fn apt_install(target: &dyn Target, pkgs: &[String]) -> Result<(), ModuleError> {
    let mut argv: Vec<String> = [
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "-o",
        "Dpkg::Options::=--force-confdef",
        "-o",
        "Dpkg::Options::=--force-confold",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    argv.extend(pkgs.iter().cloned());
    let cmd = Command::argv(argv);
    let out = target.run(&cmd)?;
    if out.success() {
        return Ok(());
    }
    // Stale or missing package lists: update once and retry.
    run_checked(
        target,
        &Command::argv(["apt-get", "update", "-q"]),
        "apt-get update",
    )?;
    run_checked(target, &cmd, &format!("installing {}", pkgs.join(" ")))?;
    Ok(())
}

/// Carry out the plan; returns what the daemon said at the end (`Verify`).
pub fn apply_engine(
    p: &EngineParams,
    st: &EngineState,
    actions: &[Action],
    target: &dyn Target,
) -> Result<Option<Value>, ModuleError> {
    let mut verified = None;
    for a in actions {
        match a {
            Action::ClampInitUlimits { content } => {
                target.write_file(DEFAULT_FILE, content.as_bytes(), &FileAttrs::default())?;
            }
            Action::InstallPackages(pkgs) => apt_install(target, pkgs)?,
            Action::LoadKernelModule(m) => {
                run_checked(
                    target,
                    &Command::argv(["modprobe", m]),
                    &format!("loading the kernel module {m}"),
                )?;
            }
            Action::AddToDockerGroup(users) => {
                for u in users {
                    run_checked(
                        target,
                        &Command::argv(["usermod", "-aG", "docker", u]),
                        &format!("adding {u} to the docker group"),
                    )?;
                }
            }
            Action::EnableService => {
                let script = if st.observed.init == Init::Systemd {
                    "systemctl enable docker"
                } else {
                    "update-rc.d docker defaults >/dev/null && update-rc.d docker enable"
                };
                run_checked(target, &Command::shell(script), "enabling docker at boot")?;
            }
            Action::StartOldDaemon | Action::StartDaemon => {
                run_checked(target, &Command::shell(START), "starting dockerd")?;
            }
            Action::SaveImages { images, file } => {
                let mut script = format!(
                    "set -e\nmkdir -p {dir}\ndocker save -o {tmp}",
                    dir = shell_quote(&dirname(file)),
                    tmp = shell_quote(&format!("{file}.part"))
                );
                for i in images {
                    script.push(' ');
                    script.push_str(&shell_quote(i));
                }
                script.push_str(&format!(
                    "\nmv -f {} {}\n",
                    shell_quote(&format!("{file}.part")),
                    shell_quote(file)
                ));
                run_checked(
                    target,
                    &Command::shell(script),
                    &format!("saving {} image(s) to {file}", images.len()),
                )?;
            }
            Action::RemoveContainers(names) => {
                let mut argv = vec!["docker".to_string(), "rm".into(), "-f".into()];
                argv.extend(names.iter().cloned());
                run_checked(target, &Command::argv(argv), "removing containers")?;
            }
            Action::StopDaemon => {
                run_checked(target, &Command::shell(STOP), "stopping dockerd")?;
            }
            Action::CreateLoopFile { path, size } => {
                let script = format!(
                    "set -e\nmkdir -p {dir}\nfallocate -l {size} {f} 2>/dev/null || truncate -s {size} {f}\n",
                    dir = shell_quote(&dirname(path)),
                    size = shell_quote(size),
                    f = shell_quote(path)
                );
                run_checked(
                    target,
                    &Command::shell(script),
                    &format!("creating the loop file {path}"),
                )?;
            }
            Action::MakeBtrfs { dev, force } => {
                let mut argv = vec!["mkfs.btrfs".to_string()];
                if *force {
                    argv.push("-f".into());
                }
                argv.extend(["-L".to_string(), "docker".into(), dev.clone()]);
                run_checked(
                    target,
                    &Command::argv(argv),
                    &format!("making a btrfs filesystem on {dev}"),
                )?;
            }
            Action::WriteFstab(text) => {
                target.write_file(FSTAB, text.as_bytes(), &FileAttrs::default())?;
            }
            Action::MountDataRoot { src, path, opts } => {
                run_checked(
                    target,
                    &Command::argv(["mkdir", "-p", "--", path]),
                    &format!("creating {path}"),
                )?;
                run_checked(
                    target,
                    &Command::argv(["mount", "-t", "btrfs", "-o", opts, "--", src, path]),
                    &format!("mounting {src} at {path}"),
                )?;
            }
            Action::WriteDaemonJson { content, validate } => {
                let dir = dirname(&p.config_path);
                run_checked(
                    target,
                    &Command::argv(["mkdir", "-p", "--", &dir]),
                    &format!("creating {dir}"),
                )?;
                if *validate {
                    let tmp = format!("{dir}/.daemon.json.converge-check");
                    target.write_file(&tmp, content.as_bytes(), &FileAttrs::default())?;
                    let out = target.run(&Command::argv([
                        "dockerd",
                        "--validate",
                        "--config-file",
                        &tmp,
                    ]))?;
                    let _ = target.run(&Command::argv(["rm", "-f", "--", &tmp]));
                    if !out.success() {
                        return Err(ModuleError::Failed(format!(
                            "dockerd --validate rejects the new {}: {}",
                            p.config_path,
                            strip_ends(&format!("{}{}", out.stderr_str(), out.stdout_str()))
                        )));
                    }
                }
                target.write_file(&p.config_path, content.as_bytes(), &FileAttrs::default())?;
            }
            Action::LoadImages { file } => {
                run_checked(
                    target,
                    &Command::argv(["docker", "load", "-q", "-i", file]),
                    &format!("loading the images saved in {file}"),
                )?;
            }
            Action::Verify { driver } => {
                let out = target.run(&Command::shell(
                    "timeout 30 docker info --format '{{json .}}' 2>&1",
                ))?;
                let text = out.stdout_str();
                let info = parse_docker_info(&text).ok_or_else(|| {
                    ModuleError::Failed(format!(
                        "dockerd does not answer after the change: {}",
                        strip_ends(&text)
                    ))
                })?;
                if let Some(d) = driver {
                    if &info.driver != d {
                        return Err(ModuleError::Failed(format!(
                            "dockerd runs the {} storage driver, not the declared {d} (is \"storage-driver\" overridden elsewhere, e.g. DOCKER_OPTS?)",
                            info.driver
                        )));
                    }
                }
                let mut m = Map::new();
                m.insert("driver".into(), info.driver.into());
                m.insert("server_version".into(), info.server_version.into());
                m.insert("docker_root_dir".into(), info.root_dir.into());
                m.insert("images".into(), info.images.into());
                m.insert("containers".into(), info.containers.into());
                verified = Some(Value::Object(m));
            }
        }
    }
    Ok(verified)
}

/// The `docker_engine` module.
pub struct DockerEngineModule;

impl Module for DockerEngineModule {
    fn name(&self) -> &'static str {
        "docker_engine"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = parse_params(args)?;
        let st = inspect_engine(&p, target)?;
        let plan = plan_engine(&p, &st)?;
        let mut outcome = if plan.is_noop() {
            Outcome::ok()
        } else {
            Outcome::changed()
        };
        outcome.data = plan.data.clone();
        outcome.msg = plan.msg.clone();
        if mode.diff {
            outcome.diffs = plan.diffs.clone();
        }
        if let Some(i) = &st.observed.info {
            outcome.data.insert(
                "docker_info".into(),
                serde_json::json!({"driver": i.driver, "server_version": i.server_version,
                    "docker_root_dir": i.root_dir, "images": i.images, "containers": i.containers}),
            );
        }
        if mode.check || plan.is_noop() {
            return Ok(outcome);
        }
        if let Some(v) = apply_engine(&p, &st, &plan.actions, target)? {
            outcome.data.insert("docker_info".into(), v);
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests;
