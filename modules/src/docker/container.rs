//! `docker_container`, with community.docker's option names so existing playbooks run.
//!
//! inspect: the container and the declared image (API or CLI, see `client.rs`); plan: the options
//! table of `compare.rs` decides between nothing, a live update (restart policy, memory, cpus,
//! networks), a recreate, or a state change, and names every field that differs; apply: only
//! then does anything change. Check mode stops after the plan, with the same diff.

use super::client::{Docker, DEFAULT_SOCKET};
use super::compare::{self, Kind};
use super::converge_container::{self as cc, Policy, Pull, Wanted};
use super::spec::ContainerSpec;
use crate::args::{to_bool, value_to_string, ArgError, ArgKind, ArgSpec, Args, Params};
use crate::contract::{Module, ModuleError, Outcome, RunMode};
use crate::target::Target;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

pub const SPEC: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str).required(),
    ArgSpec::new("image", ArgKind::Str),
    ArgSpec::new("command", ArgKind::Raw),
    ArgSpec::new("entrypoint", ArgKind::Raw),
    ArgSpec::new("env", ArgKind::Dict),
    ArgSpec::new("env_file", ArgKind::Str),
    ArgSpec::new("published_ports", ArgKind::List).aliases(&["ports"]),
    ArgSpec::new("exposed_ports", ArgKind::List).aliases(&["exposed", "expose"]),
    ArgSpec::new("volumes", ArgKind::List),
    ArgSpec::new("mounts", ArgKind::Raw),
    ArgSpec::new("networks", ArgKind::Raw),
    ArgSpec::new("network_mode", ArgKind::Str),
    ArgSpec::new("links", ArgKind::List),
    ArgSpec::new("labels", ArgKind::Dict),
    ArgSpec::new("restart_policy", ArgKind::Str).choices(&[
        "no",
        "on-failure",
        "always",
        "unless-stopped",
    ]),
    ArgSpec::new("restart_retries", ArgKind::Int),
    ArgSpec::new("user", ArgKind::Str),
    ArgSpec::new("working_dir", ArgKind::Str),
    ArgSpec::new("hostname", ArgKind::Str),
    ArgSpec::new("healthcheck", ArgKind::Dict),
    ArgSpec::new("log_driver", ArgKind::Str),
    ArgSpec::new("log_options", ArgKind::Dict).aliases(&["log_opt"]),
    ArgSpec::new("memory", ArgKind::Str),
    ArgSpec::new("cpus", ArgKind::Float),
    ArgSpec::new("capabilities", ArgKind::List).aliases(&["cap_add"]),
    ArgSpec::new("cap_drop", ArgKind::List),
    ArgSpec::new("privileged", ArgKind::Bool),
    ArgSpec::new("init", ArgKind::Bool),
    ArgSpec::new("read_only", ArgKind::Bool),
    ArgSpec::new("tty", ArgKind::Bool),
    ArgSpec::new("interactive", ArgKind::Bool),
    ArgSpec::new("stop_signal", ArgKind::Str),
    ArgSpec::new("stop_timeout", ArgKind::Int),
    ArgSpec::new("state", ArgKind::Str).choices(&["started", "stopped", "present", "absent"]),
    ArgSpec::new("recreate", ArgKind::Bool),
    ArgSpec::new("restart", ArgKind::Bool),
    ArgSpec::new("pull", ArgKind::Raw),
    ArgSpec::new("comparisons", ArgKind::Dict),
    ArgSpec::new("docker_host", ArgKind::Str),
    ArgSpec::new("timeout", ArgKind::Int),
    ArgSpec::new("api_version", ArgKind::Str),
    // Accepted for compatibility; converge behaves as their documented defaults.
    ArgSpec::new("detach", ArgKind::Bool),
    ArgSpec::new("cleanup", ArgKind::Bool),
    ArgSpec::new("keep_volumes", ArgKind::Bool),
    ArgSpec::new("container_default_behavior", ArgKind::Str),
    ArgSpec::new("networks_cli_compatible", ArgKind::Bool),
    ArgSpec::new("image_name_mismatch", ArgKind::Str),
];

/// The socket from `docker_host: unix:///path` (only unix sockets are supported).
pub fn socket_of(p: &Params) -> Result<String, ModuleError> {
    match p.str("docker_host") {
        None => Ok(DEFAULT_SOCKET.to_string()),
        Some(h) => h
            .strip_prefix("unix://")
            .map(str::to_string)
            .ok_or_else(|| ArgError::new(Some("docker_host"), format!("`{h}`: only unix:///path sockets are supported (converge reaches the host over SSH)")).into()),
    }
}

/// Connect to the daemon named by the common options.
pub fn docker_for<'a>(p: &Params, target: &'a dyn Target) -> Result<Docker<'a>, ModuleError> {
    let mut d = Docker::connect(target, &socket_of(p)?)?;
    if let Some(t) = p.int("timeout").filter(|t| *t > 0) {
        d.timeout = Duration::from_secs(t as u64);
    }
    Ok(d)
}

/// `pull: always|missing|never` (and the older `true`/`false`).
pub fn parse_pull(v: Option<&Value>) -> Result<Pull, ModuleError> {
    match v {
        None | Some(Value::Null) => Ok(Pull::Missing),
        Some(v) => match value_to_string(v).as_str() {
            "always" => Ok(Pull::Always),
            "missing" => Ok(Pull::Missing),
            "never" => Ok(Pull::Never),
            _ => match to_bool(v) {
                Some(true) => Ok(Pull::Always),
                Some(false) => Ok(Pull::Missing),
                None => Err(ArgError::new(Some("pull"), "must be always, missing or never").into()),
            },
        },
    }
}

/// `comparisons: {env: allow_more_present, '*': ignore}`.
pub fn parse_comparisons(
    m: Option<&serde_json::Map<String, Value>>,
) -> Result<BTreeMap<String, Kind>, ModuleError> {
    let mut out = BTreeMap::new();
    for (k, v) in m.into_iter().flatten() {
        let text = value_to_string(v);
        let kind = Kind::parse(&text).ok_or_else(|| {
            ArgError::new(
                Some("comparisons"),
                format!("{k}: `{text}` is not strict, allow_more_present or ignore"),
            )
        })?;
        if k != "*" && !compare::option_names().any(|n| n == k) {
            let mut e = ArgError::new(
                Some("comparisons"),
                format!("`{k}` is not an option converge compares"),
            );
            e.hint = crate::args::nearest(k, compare::option_names())
                .map(|n| format!("did you mean `{n}`?"));
            return Err(e.into());
        }
        out.insert(k.clone(), kind);
    }
    Ok(out)
}

/// The `docker_container` module.
pub struct DockerContainerModule;

struct Task {
    spec: ContainerSpec,
    image: Option<String>,
    policy: Policy,
}

fn task(p: &Params, env_file: Option<&str>) -> Result<Task, ModuleError> {
    let spec = ContainerSpec::from_params(p, env_file)?;
    let wanted = Wanted::parse(&p.str_or("state", "started")).unwrap_or(Wanted::Started);
    let grace = p.int("stop_timeout").unwrap_or(10).max(0) as u64;
    Ok(Task {
        image: spec.image.clone(),
        policy: Policy {
            wanted,
            pull: parse_pull(p.raw("pull"))?,
            recreate: p.bool_or("recreate", false),
            restart: p.bool_or("restart", false),
            comparisons: parse_comparisons(p.dict("comparisons"))?,
            stop_grace: Duration::from_secs(grace),
        },
        spec,
    })
}

impl Module for DockerContainerModule {
    fn name(&self) -> &'static str {
        "docker_container"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let env_file = match p.str("env_file") {
            Some(path) => Some(
                target
                    .read_file(&path)?
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .ok_or_else(|| {
                        ArgError::new(
                            Some("env_file"),
                            format!("{path} does not exist on the host"),
                        )
                    })?,
            ),
            None => None,
        };
        let t = task(&p, env_file.as_deref())?;
        let docker = docker_for(&p, target)?;
        if t.policy.pull == Pull::Always && !mode.check {
            if let Some(img) = &t.image {
                docker.pull(img, None)?;
            }
        }
        let seen = cc::observe(&docker, &t.spec.name, t.image.as_deref())?;
        if seen.container.is_none() && t.image.is_none() && t.policy.wanted != Wanted::Absent {
            return Err(ArgError::new(
                Some("image"),
                format!("is required to create container {}", t.spec.name),
            )
            .into());
        }
        if seen.image.is_none() && t.policy.pull == Pull::Never && t.policy.wanted != Wanted::Absent
        {
            if let Some(img) = &t.image {
                return Err(ModuleError::Failed(format!(
                    "image {img} is not on the host and pull is never"
                )));
            }
        }
        let plan = cc::plan(&t.spec, t.image.as_deref(), &seen, &t.policy);
        let mut out = if plan.is_noop() {
            Outcome::ok()
        } else {
            Outcome::changed()
        };
        out = out.with_data("docker_api", docker.describe());
        out = out.with_data("changes", plan.changes.clone());
        if !plan.is_noop() {
            out.msg = Some(format!(
                "{} {}: {}",
                plan.verb,
                t.spec.name,
                plan.changes.join("; ")
            ));
        }
        if mode.diff {
            if let Some(d) = &plan.diff {
                out.diffs.push(d.clone());
            }
        }
        let after = if mode.check || plan.is_noop() {
            seen.container.clone()
        } else {
            cc::apply(
                &docker,
                &t.spec,
                t.image.as_deref(),
                &plan,
                &seen,
                &t.policy,
                None,
            )?
        };
        if let Some(c) = after.filter(|_| t.policy.wanted != Wanted::Absent || mode.check) {
            out = out.with_data("container", cc::container_data(&c));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_are_read() {
        let args: Args =
            json!({"name": "web", "image": "app:1", "pull": "never", "state": "stopped",
                                 "comparisons": {"env": "allow_more_present"}})
            .as_object()
            .cloned()
            .unwrap();
        let p = Params::new(SPEC, &args).unwrap();
        let t = task(&p, None).unwrap();
        assert_eq!(t.policy.pull, Pull::Never);
        assert_eq!(t.policy.wanted, Wanted::Stopped);
        assert_eq!(
            t.policy.comparisons.get("env"),
            Some(&Kind::AllowMorePresent)
        );
    }

    #[test]
    fn bad_comparisons_and_hosts_are_named() {
        let m = json!({"enviroment": "strict"});
        let e = parse_comparisons(m.as_object()).unwrap_err().to_string();
        assert!(e.contains("`enviroment` is not an option"), "{e}");
        let m = json!({"env": "loose"});
        assert!(parse_comparisons(m.as_object())
            .unwrap_err()
            .to_string()
            .contains("`loose`"));
        let args: Args = json!({"name": "x", "docker_host": "tcp://1.2.3.4:2375"})
            .as_object()
            .cloned()
            .unwrap();
        let p = Params::new(SPEC, &args).unwrap();
        assert!(socket_of(&p)
            .unwrap_err()
            .to_string()
            .contains("only unix://"));
    }
}
