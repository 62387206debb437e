//! Carrying out a project plan on one host, service by service in `requires` order.
//!
//! A service behind the proxy whose running containers must be replaced is rolled without
//! dropping a request: start the new containers beside the old ones → wait until they are
//! ready → re-render the proxy config with the new upstreams, `nginx -t`, reload → wait for the
//! old nginx workers to finish their requests → `pre_stop_sequence` → stop with grace → remove →
//! the new containers take the old names. If a new container never becomes ready, the new ones
//! are removed, the old ones keep serving, the proxy is not touched, and the host fails with
//! the check's output. Other services are replaced in place (pre-stop sequence, stop, create,
//! start, wait until ready) before the services that require them are touched.

use super::drain;
use super::health::{address, wait_ready};
use super::model::{Service, LABEL_PREVIOUS, LABEL_SERVICE};
use super::plan::{label, name_of, Deployment, ImageStep, ProjectPlan, ReplicaPlan, ServicePlan};
use super::proxy::{self, ProxyConfig, Upstream};
use crate::contract::{Controller, ModuleError};
use crate::docker::client::Docker;
use crate::docker::converge_container::{self as cc, is_running};
use crate::docker::registry_auth;
use crate::docker::spec::ContainerSpec;
use crate::target::Target;
use serde_json::{json, Value};

fn fail(msg: impl Into<String>) -> ModuleError {
    ModuleError::Failed(msg.into())
}

/// Everything the rollout needs.
pub struct Rollout<'a> {
    pub docker: &'a Docker<'a>,
    pub target: &'a dyn Target,
    pub ctl: &'a dyn Controller,
    pub d: &'a Deployment,
    pub proxy: Option<&'a ProxyConfig>,
    /// What was done, for the task's result.
    pub log: Vec<String>,
}

impl Rollout<'_> {
    pub fn run(&mut self, plan: &ProjectPlan) -> Result<(), ModuleError> {
        for n in &plan.missing_networks {
            self.docker.create_network(
                &json!({"Name": n, "Driver": "bridge", "CheckDuplicate": true,
                "Labels": {super::model::LABEL_PROJECT: self.d.project}}),
            )?;
            self.log.push(format!("network {n} created"));
        }
        for v in &plan.missing_volumes {
            self.docker.create_volume(
                &json!({"Name": v, "Labels": {super::model::LABEL_PROJECT: self.d.project}}),
            )?;
            self.log.push(format!("volume {v} created"));
        }
        for sp in &plan.services {
            self.service(sp)
                .map_err(|e| fail(format!("service {}: {e}", sp.service.name)))?;
        }
        // What no longer belongs goes last, after its replacements are up.
        for c in plan
            .services
            .iter()
            .flat_map(|s| s.extras.iter())
            .chain(plan.orphans.iter())
        {
            let svc =
                label(c, LABEL_SERVICE).and_then(|n| self.d.services.iter().find(|s| s.name == n));
            self.retire(c, svc)?;
            self.log.push(format!("container {} removed", name_of(c)));
        }
        if self.proxy.is_some() {
            let live = self.docker.containers_with_labels(&[(
                super::model::LABEL_PROJECT.to_string(),
                self.d.project.clone(),
            )])?;
            let ups = upstreams_from(&live, self.d);
            self.update_proxy(&ups)?;
        }
        Ok(())
    }

    fn service(&mut self, sp: &ServicePlan) -> Result<(), ModuleError> {
        let s = &sp.service;
        match &sp.image_step {
            ImageStep::Present => {}
            ImageStep::Pull => {
                let auth = registry_auth(self.target, &sp.image_ref)?;
                self.docker.pull(&sp.image_ref, auth.as_deref())?;
                self.log.push(format!("image {} pulled", sp.image_ref));
            }
            ImageStep::Build(b) => {
                self.docker.build(b.context.clone(), &b.opts)?;
                self.log.push(format!("image {} built", sp.image_ref));
            }
        }
        if s.log_folder.is_some() {
            self.log_folder(s)?;
        }
        let rolling: Vec<&ReplicaPlan> = sp
            .replicas
            .iter()
            .filter(|r| r.plan.replaces() && r.seen.container.as_ref().is_some_and(is_running))
            .collect();
        if s.is_proxied() && self.proxy.is_some() && !rolling.is_empty() {
            for r in sp
                .replicas
                .iter()
                .filter(|r| !rolling.iter().any(|x| x.index == r.index))
            {
                self.in_place(sp, r)?;
            }
            self.roll(sp, &rolling)
        } else {
            for r in &sp.replicas {
                self.in_place(sp, r)?;
            }
            Ok(())
        }
    }

    /// `/var/log/containers/SERVICE`, writable by the image's user when it is numeric.
    fn log_folder(&mut self, s: &Service) -> Result<(), ModuleError> {
        let dir = super::model::log_dir(&s.name);
        let user = self
            .docker
            .inspect_image(&s.image)?
            .and_then(|i| {
                i.pointer("/Config/User")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let owner = user.split(':').next().unwrap_or("");
        let chown = if !owner.is_empty() && owner.chars().all(|c| c.is_ascii_digit()) {
            format!(" && chown {owner} {}", crate::target::shell_quote(&dir))
        } else {
            String::new()
        };
        let script = format!(
            "mkdir -p {d} && chmod 0755 {d}{chown}",
            d = crate::target::shell_quote(&dir)
        );
        let out = self.target.run(&crate::target::Command::shell(script))?;
        if !out.success() {
            return Err(fail(format!(
                "log folder {dir}: {}",
                out.stderr_str().trim()
            )));
        }
        Ok(())
    }

    /// The replica's spec with the labels that record history: the image it replaces, and
    /// whether a rollback made it.
    fn spec_with_history(&self, r: &ReplicaPlan) -> ContainerSpec {
        let mut spec = r.spec.clone();
        let labels = spec.labels.get_or_insert_with(Default::default);
        if let Some(p) = &r.previous {
            labels.insert(LABEL_PREVIOUS.into(), p.clone());
        }
        if self.d.rollback {
            labels.insert(super::model::LABEL_ROLLED_BACK.into(), "true".into());
        }
        spec
    }

    /// Converge one replica where it stands, waiting until a new or restarted one is ready.
    fn in_place(&mut self, sp: &ServicePlan, r: &ReplicaPlan) -> Result<(), ModuleError> {
        if r.plan.is_noop() {
            return Ok(());
        }
        let s = &sp.service;
        if r.plan.replaces() {
            if let Some(old) = r.seen.container.as_ref().filter(|c| is_running(c)) {
                self.pre_stop(old, s)?;
            }
        }
        let spec = self.spec_with_history(r);
        let policy = super::plan::policy_for(s);
        let after = cc::apply(
            self.docker,
            &spec,
            Some(&sp.image_ref),
            &r.plan,
            &r.seen,
            &policy,
            None,
        )?;
        self.log
            .push(format!("container {} {}", spec.name, r.plan.verb));
        let started = r
            .plan
            .steps
            .iter()
            .any(|st| matches!(st, cc::Step::Start | cc::Step::Restart));
        if let (true, Some(c)) = (started, after) {
            let id = c
                .get("Id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            self.after_start(&id, s)?;
        }
        Ok(())
    }

    fn after_start(&mut self, id: &str, s: &Service) -> Result<(), ModuleError> {
        if let Some(sig) = &s.pre_start_signal {
            self.docker.kill(id, sig)?;
        }
        let port = s.http_ports.first().map(|p| p.container);
        wait_ready(
            self.docker,
            id,
            &self.d.network,
            &s.health,
            port,
            s.health_timeout,
        )
        .map_err(|e| fail(format!("{} is not ready: {e}", s.name)))
    }

    /// Blue/green for the replicas that must be replaced while they serve.
    fn roll(&mut self, sp: &ServicePlan, rolling: &[&ReplicaPlan]) -> Result<(), ModuleError> {
        let s = &sp.service;
        let mut fresh: Vec<(u32, String, String)> = Vec::new(); // (replica, temporary name, id)
        let cleanup = |docker: &Docker, fresh: &[(u32, String, String)]| {
            for (_, _, id) in fresh {
                let _ = docker.remove_container(id);
            }
        };
        for r in rolling {
            let mut spec = self.spec_with_history(r);
            let next = format!("{}-next", spec.name);
            if let Some(stale) = self.docker.inspect_container(&next)? {
                self.docker
                    .remove_container(stale.get("Id").and_then(Value::as_str).unwrap_or(&next))?;
            }
            spec.name = next.clone();
            let id = match self.start_new(&spec, &sp.image_ref) {
                Ok(id) => id,
                Err(e) => {
                    cleanup(self.docker, &fresh);
                    return Err(e);
                }
            };
            fresh.push((r.index, next, id));
        }
        for (_, name, id) in &fresh {
            if let Err(e) = self.after_start(id, s) {
                cleanup(self.docker, &fresh);
                return Err(fail(format!(
                    "the new container {name} ({}) never became ready, so it was removed; the old containers keep serving and the proxy is unchanged: {e}",
                    sp.image_name
                )));
            }
        }
        // The proxy: the new containers in place of the old ones, the rest as they are.
        let live = self.docker.containers_with_labels(&[(
            super::model::LABEL_PROJECT.to_string(),
            self.d.project.clone(),
        )])?;
        let mut ups: Vec<Upstream> = upstreams_from(&live, self.d)
            .into_iter()
            .filter(|u| {
                !(u.service == s.name && rolling.iter().any(|r| r.spec.name == u.container))
            })
            .collect();
        for (index, _, id) in &fresh {
            let c = self
                .docker
                .inspect_container(id)?
                .ok_or_else(|| fail("a new container disappeared"))?;
            let addr = address(&c, &self.d.network)
                .ok_or_else(|| fail("a new container has no address"))?;
            ups.push(Upstream {
                service: s.name.clone(),
                container: s.container_name(&self.d.project, *index),
                address: addr,
            });
        }
        if let Err(e) = self.update_proxy(&ups) {
            cleanup(self.docker, &fresh);
            return Err(e);
        }
        for r in rolling {
            if let Some(old) = &r.seen.container {
                self.retire(old, Some(s))?;
            }
        }
        for (index, _, id) in &fresh {
            let final_name = s.container_name(&self.d.project, *index);
            self.docker.rename(id, &final_name)?;
            self.log.push(format!(
                "container {final_name} rolled to {} (old one drained and stopped)",
                sp.image_name
            ));
        }
        Ok(())
    }

    /// Create, connect and start a container; returns its ID.
    fn start_new(&mut self, spec: &ContainerSpec, image: &str) -> Result<String, ModuleError> {
        let id = self
            .docker
            .create_container(&spec.name, &spec.create_body(image))?;
        for n in spec.networks.iter().flatten().skip(1) {
            self.docker.connect_network(&n.name, &id, &n.aliases)?;
        }
        self.docker.start(&id)?;
        Ok(id)
    }

    /// Stop a container the way its service says (pre-stop sequence, then TERM and KILL after
    /// the grace), then remove it.
    fn retire(&mut self, c: &Value, s: Option<&Service>) -> Result<(), ModuleError> {
        drain::retire(self.docker, c, s)
    }

    fn pre_stop(&mut self, c: &Value, s: &Service) -> Result<(), ModuleError> {
        drain::pre_stop(self.docker, c, s)
    }

    /// Render the proxy config for these upstreams and switch to it when it differs.
    fn update_proxy(&mut self, ups: &[Upstream]) -> Result<(), ModuleError> {
        let Some(cfg) = self.proxy else { return Ok(()) };
        let vars = proxy::template_vars(&self.d.project, &self.d.services, ups, cfg);
        let text = proxy::render(self.ctl, cfg, &vars)?;
        let current = self
            .target
            .read_file(&cfg.dest)?
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        if current.as_deref() == Some(text.as_str()) {
            return Ok(());
        }
        proxy::switch(self.target, cfg, current.as_deref(), &text)?;
        self.log
            .push(format!("proxy {} updated and nginx reloaded", cfg.dest));
        Ok(())
    }
}

/// The running containers that serve a proxied service (its replicas, under their names).
pub fn upstreams_from(containers: &[Value], d: &Deployment) -> Vec<Upstream> {
    let mut out = Vec::new();
    for s in d.services.iter().filter(|s| s.is_proxied()) {
        for i in 1..=s.replicas {
            let name = s.container_name(&d.project, i);
            if let Some(c) = containers
                .iter()
                .find(|c| name_of(c) == name && is_running(c))
            {
                if let Some(addr) = address(c, &d.network) {
                    out.push(Upstream {
                        service: s.name.clone(),
                        container: name,
                        address: addr,
                    });
                }
            }
        }
    }
    out
}
