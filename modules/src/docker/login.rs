//! `docker_login`: credentials for a private registry, checked with the registry (through the
//! daemon) and stored where the docker CLI and converge's pulls look for them
//! (`~/.docker/config.json` of the login user on the host, mode 0600).
//!
//! The password comes from a variable or, written `_env:NAME`, from the controller's
//! environment; it is registered as a secret and never appears in output, diffs or errors. The
//! diff names the registry and the user only.

use super::container::docker_for;
use super::{config_path, DOCKER_HUB};
use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::common::{b64_decode, b64_encode};
use crate::contract::{
    Controller, Diff, Module, ModuleError, NoController, Outcome, RunMode, Status,
};
use crate::docker::spec::ENV_PREFIX;
use crate::target::{FileAttrs, Target};
use serde_json::{json, Map, Value};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("registry_url", ArgKind::Str).aliases(&["registry", "url"]),
    ArgSpec::new("username", ArgKind::Str),
    ArgSpec::new("password", ArgKind::Str),
    ArgSpec::new("reauthorize", ArgKind::Bool).aliases(&["reauth"]),
    ArgSpec::new("config_path", ArgKind::Str).aliases(&["dockercfg_path"]),
    ArgSpec::new("state", ArgKind::Str).choices(&["present", "absent"]),
    ArgSpec::new("docker_host", ArgKind::Str),
    ArgSpec::new("timeout", ArgKind::Int),
    ArgSpec::new("api_version", ArgKind::Str),
];

/// The `docker_login` module.
pub struct DockerLoginModule;

/// The password, resolved (`_env:NAME` from the controller's environment).
fn password(p: &Params) -> Result<String, ModuleError> {
    let raw = p.req_str("password")?;
    match raw.strip_prefix(ENV_PREFIX) {
        Some(var) => std::env::var(var).map_err(|_| {
            ArgError::new(Some("password"), format!("`{ENV_PREFIX}{var}` names the controller environment variable {var}, which is not set")).into()
        }),
        None => Ok(raw),
    }
}

/// The user stored for a registry, if the stored credentials are exactly these.
fn stored(config: &Value, registry: &str) -> Option<(String, String)> {
    let auth = config
        .pointer("/auths")?
        .get(registry)?
        .get("auth")?
        .as_str()?;
    let decoded = b64_decode(auth).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

impl Module for DockerLoginModule {
    fn name(&self) -> &'static str {
        "docker_login"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        self.run_with(target, args, mode, &NoController)
    }
    fn run_with(
        &self,
        target: &dyn Target,
        args: &Args,
        mode: RunMode,
        ctl: &dyn Controller,
    ) -> Result<Outcome, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let registry = p
            .str("registry_url")
            .unwrap_or_else(|| DOCKER_HUB.to_string());
        let path = p.str("config_path").unwrap_or_else(|| config_path(target));
        let current = target.read_file(&path)?;
        let mut config: Value = match &current {
            Some(b) => serde_json::from_slice(b)
                .map_err(|e| ModuleError::Failed(format!("{path} is not valid JSON: {e}")))?,
            None => json!({}),
        };
        let had = stored(&config, &registry);
        let header = format!("{path}: auths.{registry}");
        let mut out = Outcome::ok();
        if p.str_or("state", "present") == "absent" {
            if let Some((user, _)) = had {
                out.status = Status::Changed;
                out.msg = Some(format!("logged out of {registry}"));
                if mode.diff {
                    out.diffs.push(Diff::new(
                        &header,
                        format!("{registry}: credentials of {user}\n"),
                        "",
                    ));
                }
                if let Some(a) = config.get_mut("auths").and_then(Value::as_object_mut) {
                    a.remove(&registry);
                }
                if !mode.check {
                    write(target, &path, &config)?;
                }
            }
            return Ok(out);
        }
        let username = p.req_str("username")?;
        let password = password(&p)?;
        ctl.add_secret(&password);
        let same = had
            .as_ref()
            .is_some_and(|(u, pw)| *u == username && *pw == password);
        if same && !p.bool_or("reauthorize", false) {
            return Ok(out.with_msg(format!("already logged in to {registry} as {username}")));
        }
        // The registry says whether the credentials are good, check mode or not: it changes nothing.
        let docker = docker_for(&p, target)?;
        docker.login(&registry, &username, &password)?;
        if same {
            return Ok(out.with_msg(format!("credentials for {registry} checked again")));
        }
        out.status = Status::Changed;
        out.msg = Some(format!("logged in to {registry} as {username}"));
        if mode.diff {
            let before = had
                .map(|(u, _)| format!("{registry}: credentials of {u}\n"))
                .unwrap_or_default();
            let note = if before.is_empty() {
                ""
            } else {
                " (new password)"
            };
            out.diffs.push(Diff::new(
                &header,
                before,
                format!("{registry}: credentials of {username}{note}\n"),
            ));
        }
        if !mode.check {
            let auths = config
                .as_object_mut()
                .ok_or_else(|| ModuleError::Failed(format!("{path} is not a JSON object")))?
                .entry("auths")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(a) = auths.as_object_mut() {
                a.insert(
                    registry.clone(),
                    json!({"auth": b64_encode(format!("{username}:{password}").as_bytes())}),
                );
            }
            write(target, &path, &config)?;
        }
        Ok(out)
    }
}

fn write(target: &dyn Target, path: &str, config: &Value) -> Result<(), ModuleError> {
    let dir = crate::common::dirname(path);
    target.run(&crate::target::Command::argv([
        "mkdir",
        "-p",
        "-m",
        "0700",
        dir.as_str(),
    ]))?;
    let text = serde_json::to_string_pretty(config).unwrap_or_default() + "\n";
    target.write_file(
        path,
        text.as_bytes(),
        &FileAttrs {
            mode: Some(0o600),
            ..FileAttrs::default()
        },
    )?;
    Ok(())
}
