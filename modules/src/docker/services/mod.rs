//! `docker_services` (also `docker_service`): a project's application services, declared the way
//! operators write Docker stacks (Cloud 66's `docker_deployment.yml`, docker-compose), converged
//! on each host, with zero-downtime updates behind the host's nginx.
//!
//! ```yaml
//! - docker_services:
//!     project: identidock
//!     proxy: {template: identidock-nginx.conf.j2}     # or the built-in template
//!     services:
//!       redis:     {image: "identidock/redis:1"}
//!       dnmonster: {image: "identidock/dnmonster:1"}
//!       web:
//!         image: "identidock/app:{{ version }}"
//!         ports: ["9090:80"]                 # CONTAINER:HTTP[:HTTPS], served by nginx
//!         env: {API_KEY: _env:IDENTIDOCK_KEY} # from the controller's environment; secret
//!         requires: [redis, dnmonster]
//!         replicas: 2
//!         health: {path: /health, timeout: 30s}
//!         pre_stop_sequence: 5s:USR2:2s      # waits and signals before the stop
//!         stop_grace: 10s                    # TERM, then KILL after 10 s
//!         log_folder: /var/log/app           # from /var/log/containers/web on the host
//! ```
//!
//! Or `compose: docker-compose.yml` instead of `services:` (see `compose.rs`). Every container
//! carries the labels `converge.project`, `converge.service`, `converge.replica` and
//! `converge.previous-image`; containers of the project that are not declared (extra replicas,
//! removed services, leftovers of an interrupted update) are removed. `rollback: true` deploys
//! each service's previous image again (one command: `-e rollback=true` in the example).
//! The order of the work and the update procedure are in `rollout.rs`; what is compared, in
//! `plan.rs` and `../compare.rs`.

pub mod drain;
pub mod health;
pub mod model;
pub mod plan;
pub mod proxy;
pub mod rollout;
pub mod signals;

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::contract::{Controller, Diff, Module, ModuleError, NoController, Outcome, RunMode};
use crate::docker::container::docker_for;
use crate::docker::spec::ENV_PREFIX;
use crate::target::Target;
use plan::{label, name_of, Deployment, ImageStep, ProjectPlan};
use proxy::ProxyConfig;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("project", ArgKind::Str)
        .required()
        .aliases(&["project_name"]),
    ArgSpec::new("services", ArgKind::Dict),
    ArgSpec::new("compose", ArgKind::Str).aliases(&["compose_file"]),
    ArgSpec::new("state", ArgKind::Str).choices(&["present", "absent"]),
    ArgSpec::new("proxy", ArgKind::Dict),
    ArgSpec::new("network", ArgKind::Str),
    ArgSpec::new("rollback", ArgKind::Bool),
    ArgSpec::new("docker_host", ArgKind::Str),
    ArgSpec::new("timeout", ArgKind::Int),
    ArgSpec::new("api_version", ArgKind::Str),
];

/// The module, under either name.
pub struct DockerServicesModule {
    pub module_name: &'static str,
}

fn project_name(p: &Params) -> Result<String, ModuleError> {
    let project = p.req_str("project")?;
    let ok = !project.is_empty()
        && project
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && project
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if !ok {
        return Err(ArgError::new(
            Some("project"),
            format!("`{project}`: use letters, digits, - and _ (it names containers and networks)"),
        )
        .into());
    }
    Ok(project)
}

/// The services and extra resources the task declares (directly or through a compose file).
fn deployment(p: &Params, args: &Args) -> Result<Deployment, ModuleError> {
    let project = project_name(p)?;
    let base_dir = PathBuf::from(args.get("_base_dir").and_then(Value::as_str).unwrap_or("."));
    let (services, networks, volumes, default_net) = match (p.dict("services"), args.get("_compose")) {
        (Some(s), None) => (s.clone(), Vec::new(), Vec::new(), project.clone()),
        (None, Some(doc)) => {
            let c = crate::docker::compose::read(doc, &project)
                .map_err(|e| ModuleError::Failed(format!("compose file {}: {e}", p.str("compose").unwrap_or_default())))?;
            (c.services, c.networks, c.volumes, c.default_network)
        }
        (Some(_), Some(_)) => return Err(ArgError::new(Some("compose"), "give `services` or `compose`, not both").into()),
        (None, None) if p.has("compose") => {
            return Err(ModuleError::Failed("docker_services: the compose file was not read on the controller (internal argument _compose)".into()))
        }
        (None, None) => return Err(ArgError::new(Some("services"), "is required (or `compose`)").into()),
    };
    model::check(&services)?;
    let mut list = Vec::new();
    for name in model::order(&services)? {
        list.push(model::parse_service(&project, &name, &services[&name])?);
    }
    Ok(Deployment {
        network: p.str("network").unwrap_or(default_net),
        project,
        services: list,
        base_dir,
        rollback: p.bool_or("rollback", false),
        networks,
        volumes,
    })
}

/// Values read from the controller's environment are secrets: the engine must redact them.
fn register_secrets(d: &Deployment, ctl: &dyn Controller) {
    for s in &d.services {
        for v in s
            .raw
            .get("env")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
        {
            if let Some(var) = v.as_str().and_then(|t| t.strip_prefix(ENV_PREFIX)) {
                if let Ok(val) = std::env::var(var) {
                    ctl.add_secret(&val);
                }
            }
        }
    }
}

impl Module for DockerServicesModule {
    fn name(&self) -> &'static str {
        self.module_name
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }

    fn validate(&self, args: &Args) -> Result<(), ArgError> {
        if let Some(Value::Object(services)) = args.get("services") {
            model::check(services)?;
        }
        if let Some(Value::Object(proxy)) = args.get("proxy") {
            ProxyConfig::parse("x", Some(proxy))?;
        }
        Ok(())
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
        let d = deployment(&p, args)?;
        register_secrets(&d, ctl);
        let docker = docker_for(&p, target)?;
        let proxied = d.services.iter().any(|s| s.is_proxied());
        let proxy_cfg = if proxied || p.has("proxy") {
            Some(ProxyConfig::parse(&d.project, p.dict("proxy"))?)
        } else {
            None
        };
        if p.str_or("state", "present") == "absent" {
            return absent(&docker, target, &d, proxy_cfg.as_ref(), mode);
        }
        let plan = plan::plan_project(&docker, &d)?;
        let has_history = |c: &Value| {
            label(c, model::LABEL_PREVIOUS).is_some()
                || label(c, model::LABEL_ROLLED_BACK).is_some()
        };
        if d.rollback && !plan.existing.iter().any(has_history) {
            return Err(ModuleError::Failed(format!(
                "rollback: no service of project {} was ever updated by converge on this host, so there is no previous image to go back to",
                d.project
            )));
        }
        let mut out = Outcome::ok().with_data("docker_api", docker.describe());
        let mut changes = describe(&plan, &d);
        if mode.diff {
            out.diffs = diffs(&plan);
        }
        // The proxy: when the containers stay, its config must match them exactly.
        let mut proxy_text = None;
        if let Some(cfg) = &proxy_cfg {
            let current = target
                .read_file(&cfg.dest)?
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            if plan.containers_change() {
                if proxied {
                    changes.push(format!(
                        "proxy {}: re-rendered with the new containers' addresses",
                        cfg.dest
                    ));
                }
            } else {
                let ups = rollout::upstreams_from(&plan.existing, &d);
                let vars = proxy::template_vars(&d.project, &d.services, &ups, cfg);
                let text = proxy::render(ctl, cfg, &vars)?;
                if current.as_deref() != Some(text.as_str()) {
                    changes.push(format!(
                        "proxy {}: {}",
                        cfg.dest,
                        if current.is_some() {
                            "put back as rendered"
                        } else {
                            "+ created"
                        }
                    ));
                    if mode.diff {
                        out.diffs.push(Diff::new(
                            &cfg.dest,
                            current.clone().unwrap_or_default(),
                            text.clone(),
                        ));
                    }
                    proxy_text = Some((current, text));
                }
            }
        }
        out = out.with_data("changes", changes.clone());
        if changes.is_empty() {
            return Ok(out.with_data("services", summary(&plan)));
        }
        out.status = crate::contract::Status::Changed;
        out.msg = Some(changes.join("; "));
        if mode.check {
            return Ok(out.with_data("services", summary(&plan)));
        }
        match (
            &proxy_text,
            plan.containers_change()
                || !plan.missing_networks.is_empty()
                || plan
                    .services
                    .iter()
                    .any(|s| !matches!(s.image_step, ImageStep::Present)),
        ) {
            (Some((current, text)), false) => {
                let cfg = proxy_cfg.as_ref().ok_or_else(|| {
                    ModuleError::Failed("internal: proxy text without config".into())
                })?;
                proxy::switch(target, cfg, current.as_deref(), text)?;
            }
            _ => {
                let mut r = rollout::Rollout {
                    docker: &docker,
                    target,
                    ctl,
                    d: &d,
                    proxy: proxy_cfg.as_ref(),
                    log: Vec::new(),
                };
                let result = r.run(&plan);
                out = out.with_data("actions", r.log.clone());
                result?;
            }
        }
        let after = plan::plan_project(&docker, &d)?;
        Ok(out.with_data("services", summary(&after)))
    }
}

/// One line per change, the form the issue's users read: `web-1: image: app:1 → app:2 (…)`.
fn describe(plan: &ProjectPlan, d: &Deployment) -> Vec<String> {
    let mut out = Vec::new();
    for n in &plan.missing_networks {
        out.push(format!("network {n}: + created"));
    }
    for v in &plan.missing_volumes {
        out.push(format!("volume {v}: + created"));
    }
    for sp in &plan.services {
        match &sp.image_step {
            ImageStep::Present => {}
            ImageStep::Pull => out.push(format!("image {}: + pulled", sp.image_ref)),
            ImageStep::Build(_) => out.push(format!(
                "image {}: built (its build context changed)",
                sp.image_ref
            )),
        }
        for r in &sp.replicas {
            for c in &r.plan.changes {
                out.push(format!("{}: {c}", r.spec.name));
            }
            if r.plan.replaces()
                && sp.service.is_proxied()
                && r.seen
                    .container
                    .as_ref()
                    .is_some_and(crate::docker::converge_container::is_running)
            {
                out.push(format!(
                    "{}: rolled (new container, health check, proxy switch, drain, stop)",
                    r.spec.name
                ));
            }
        }
        for c in &sp.extras {
            out.push(format!(
                "{}: - removed (not a replica of {})",
                name_of(c),
                sp.service.name
            ));
        }
    }
    for c in &plan.orphans {
        out.push(format!(
            "{}: - removed (service {} is not declared in project {})",
            name_of(c),
            label(c, model::LABEL_SERVICE).unwrap_or("?"),
            d.project
        ));
    }
    out
}

fn diffs(plan: &ProjectPlan) -> Vec<Diff> {
    let mut out: Vec<Diff> = plan
        .services
        .iter()
        .flat_map(|s| s.replicas.iter())
        .filter_map(|r| r.plan.diff.clone())
        .collect();
    for c in plan
        .services
        .iter()
        .flat_map(|s| s.extras.iter())
        .chain(plan.orphans.iter())
    {
        let name = name_of(c);
        out.push(Diff {
            before_header: format!("container {name} (as it is)"),
            after_header: format!("container {name} (absent)"),
            before: format!(
                "image: {}\nstate: {}\n",
                c.pointer("/Config/Image")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                c.pointer("/State/Status")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
            after: String::new(),
        });
    }
    out
}

/// What `register:` gets: per service, its image and containers (never their environment).
fn summary(plan: &ProjectPlan) -> Value {
    let mut m = Map::new();
    for sp in &plan.services {
        let containers: Vec<Value> = sp
            .replicas
            .iter()
            .filter_map(|r| r.seen.container.as_ref())
            .map(|c| {
                json!({"name": name_of(c), "id": c.get("Id"), "image": c.get("Image"),
                            "status": c.pointer("/State/Status"),
                            "previous_image": label(c, model::LABEL_PREVIOUS)})
            })
            .collect();
        m.insert(sp.service.name.clone(), json!({"image": sp.image_name, "replicas": sp.service.replicas, "containers": containers}));
    }
    Value::Object(m)
}

/// `state: absent`: every container of the project (dependents first, each drained as its
/// service declares: `pre_stop_sequence`, then the stop grace), its network, the proxy config.
fn absent(
    docker: &crate::docker::client::Docker,
    target: &dyn Target,
    d: &Deployment,
    proxy_cfg: Option<&ProxyConfig>,
    mode: RunMode,
) -> Result<Outcome, ModuleError> {
    let existing =
        docker.containers_with_labels(&[(model::LABEL_PROJECT.to_string(), d.project.clone())])?;
    let mut changes: Vec<String> = existing
        .iter()
        .map(|c| format!("{}: - removed", name_of(c)))
        .collect();
    let net = docker.inspect_network(&d.network)?;
    if net.is_some() {
        changes.push(format!("network {}: - removed", d.network));
    }
    let proxy_file = match proxy_cfg {
        Some(cfg) => target.stat(&cfg.dest)?.map(|_| cfg),
        None => None,
    };
    if let Some(cfg) = proxy_file {
        changes.push(format!("proxy {}: - removed", cfg.dest));
    }
    let mut out = if changes.is_empty() {
        Outcome::ok()
    } else {
        Outcome::changed().with_msg(changes.join("; "))
    };
    out = out.with_data("changes", changes);
    if mode.check || out.status != crate::contract::Status::Changed {
        return Ok(out);
    }
    if let Some(cfg) = proxy_file {
        target.run(&crate::target::Command::argv([
            "rm",
            "-f",
            cfg.dest.as_str(),
        ]))?;
        let _ = target.run(&crate::target::Command::shell(cfg.reload.clone()));
    }
    // Dependents first: the reverse of the start order.
    let order: Vec<&str> = d.services.iter().rev().map(|s| s.name.as_str()).collect();
    let mut sorted = existing.clone();
    sorted.sort_by_key(|c| {
        label(c, model::LABEL_SERVICE)
            .and_then(|n| order.iter().position(|o| *o == n))
            .unwrap_or(0)
    });
    for c in &sorted {
        let service =
            label(c, model::LABEL_SERVICE).and_then(|n| d.services.iter().find(|s| s.name == n));
        drain::retire(docker, c, service)?;
    }
    if net.is_some() {
        docker.remove_network(&d.network)?;
    }
    Ok(out)
}
