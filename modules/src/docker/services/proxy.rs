//! The host's nginx in front of a project's HTTP services: its config rendered (by the engine,
//! from the playbook's template or the built-in one) with the upstream containers, written
//! atomically, checked with `nginx -t`, reloaded; then the old workers are waited for, so that
//! requests already in flight finish before their containers are stopped.

use super::model::Service;
use crate::args::{value_to_string, ArgError};
use crate::contract::{Controller, ModuleError};
use crate::docker::spec::duration_ns;
use crate::target::{Command, FileAttrs, Target};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// The built-in nginx template (minijinja); `proxy.template` replaces it.
pub const BUILTIN_TEMPLATE: &str = include_str!("nginx.conf.j2");

/// The `proxy:` options.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub template: Option<String>,
    pub dest: String,
    pub validate: String,
    pub reload: String,
    pub drain_timeout: Duration,
    /// Extra variables for the template (`proxy.vars`).
    pub vars: Map<String, Value>,
}

impl ProxyConfig {
    pub fn parse(project: &str, m: Option<&Map<String, Value>>) -> Result<ProxyConfig, ArgError> {
        let empty = Map::new();
        let m = m.unwrap_or(&empty);
        const KEYS: &[&str] = &[
            "template",
            "dest",
            "validate",
            "reload",
            "drain_timeout",
            "vars",
        ];
        if let Some(k) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
            let mut e = ArgError::new(Some("proxy"), format!("unknown option `{k}`"));
            e.hint = crate::args::nearest(k, KEYS.iter().copied())
                .map(|n| format!("did you mean `{n}`?"));
            return Err(e);
        }
        let s = |k: &str| m.get(k).map(value_to_string).filter(|v| !v.is_empty());
        let drain_timeout = match s("drain_timeout") {
            Some(t) => Duration::from_nanos(duration_ns(&t).ok_or_else(|| {
                ArgError::new(
                    Some("proxy"),
                    format!("drain_timeout: `{t}` is not a duration"),
                )
            })? as u64),
            None => Duration::from_secs(30),
        };
        Ok(ProxyConfig {
            template: s("template"),
            dest: s("dest").unwrap_or_else(|| format!("/etc/nginx/conf.d/{project}.conf")),
            validate: s("validate").unwrap_or_else(|| "nginx -t".into()),
            reload: s("reload").unwrap_or_else(|| "nginx -s reload".into()),
            drain_timeout,
            vars: m
                .get("vars")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        })
    }
}

/// One upstream container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub service: String,
    pub container: String,
    pub address: String,
}

/// The variables a proxy template sees: `project`, `services` (one entry per HTTP port of a
/// service: `name`, `container_port`, `http_port`, `https_port`, `upstreams` of
/// `{name, address, port}`), `upstreams` (by service name) and `vars`.
pub fn template_vars(
    project: &str,
    services: &[Service],
    upstreams: &[Upstream],
    cfg: &ProxyConfig,
) -> Value {
    let mut list = Vec::new();
    let mut by_service = Map::new();
    for s in services.iter().filter(|s| s.is_proxied()) {
        let mine: Vec<&Upstream> = upstreams.iter().filter(|u| u.service == s.name).collect();
        for p in &s.http_ports {
            let ups: Vec<Value> = mine
                .iter()
                .map(|u| json!({"name": u.container, "address": u.address, "port": p.container}))
                .collect();
            by_service.insert(s.name.clone(), Value::Array(ups.clone()));
            list.push(
                json!({"name": s.name, "container_port": p.container, "http_port": p.http,
                             "https_port": p.https, "upstreams": ups}),
            );
        }
    }
    json!({"project": project, "services": list, "upstreams": by_service, "vars": cfg.vars})
}

/// Render the config.
pub fn render(
    ctl: &dyn Controller,
    cfg: &ProxyConfig,
    vars: &Value,
) -> Result<String, ModuleError> {
    ctl.render(cfg.template.as_deref(), BUILTIN_TEMPLATE, vars)
        .map_err(|e| ModuleError::Failed(format!("proxy template: {e}")))
}

fn sh(target: &dyn Target, script: &str) -> Result<(bool, String), ModuleError> {
    let out = target.run(&Command::shell(script))?;
    Ok((
        out.success(),
        format!("{}{}", out.stdout_str(), out.stderr_str())
            .trim()
            .to_string(),
    ))
}

/// The PIDs of nginx's current workers (to wait for after a reload).
fn worker_pids(target: &dyn Target) -> Result<Vec<String>, ModuleError> {
    let (_, out) = sh(
        target,
        "ps -eo pid=,args= 2>/dev/null | awk '/nginx: worker process/ && !/awk/ {print $1}'",
    )?;
    Ok(out.split_whitespace().map(str::to_string).collect())
}

/// Write the new config, check it, reload nginx, and wait for the old workers to finish their
/// requests. On a failed check or reload the previous file is put back and nginx is left as it
/// was; the error carries nginx's words.
pub fn switch(
    target: &dyn Target,
    cfg: &ProxyConfig,
    old: Option<&str>,
    new: &str,
) -> Result<(), ModuleError> {
    let attrs = FileAttrs {
        mode: Some(0o644),
        ..FileAttrs::default()
    };
    let dir = crate::common::dirname(&cfg.dest);
    sh(
        target,
        &format!("mkdir -p {}", crate::target::shell_quote(&dir)),
    )?;
    target.write_file(&cfg.dest, new.as_bytes(), &attrs)?;
    let restore = |why: String| -> ModuleError {
        let _ = match old {
            Some(text) => target.write_file(&cfg.dest, text.as_bytes(), &attrs),
            None => target
                .run(&Command::argv(["rm", "-f", cfg.dest.as_str()]))
                .map(drop),
        };
        ModuleError::Failed(why)
    };
    let (ok, out) = sh(target, &cfg.validate)?;
    if !ok {
        return Err(restore(format!(
            "the new proxy config {} fails `{}`; the old one is kept:\n{out}",
            cfg.dest, cfg.validate
        )));
    }
    let before = worker_pids(target)?;
    let (ok, out) = sh(target, &cfg.reload)?;
    if !ok {
        let e = restore(format!(
            "`{}` failed; the old proxy config is put back:\n{out}",
            cfg.reload
        ));
        let _ = sh(target, &cfg.reload);
        return Err(e);
    }
    drain(target, &before, cfg.drain_timeout)
}

/// Wait until the workers that ran before the reload have exited (nginx lets them finish the
/// requests they have), at most `timeout`.
fn drain(target: &dyn Target, workers: &[String], timeout: Duration) -> Result<(), ModuleError> {
    if workers.is_empty() {
        return Ok(());
    }
    let deadline = Instant::now() + timeout;
    let probe = format!(
        "for p in {}; do kill -0 $p 2>/dev/null && echo $p; done; true",
        workers.join(" ")
    );
    loop {
        let (_, alive) = sh(target, &probe)?;
        if alive.is_empty() || Instant::now() >= deadline {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
