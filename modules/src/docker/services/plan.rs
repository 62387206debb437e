//! What a project needs on one host: per service, its image (built, pulled, or rolled back to),
//! and per replica the container plan of `converge_container.rs`; the containers that no longer
//! belong (extra replicas, services no longer declared, leftovers of an interrupted update); the
//! network. Nothing here changes the host.

use super::model::{container_args, Service, LABEL_PREVIOUS, LABEL_SERVICE};
use crate::args::{Args, Params};
use crate::contract::ModuleError;
use crate::docker::client::Docker;
use crate::docker::container::SPEC as CONTAINER_SPEC;
use crate::docker::converge_container::{
    self as cc, ContainerPlan, Observed, Policy, Pull, Wanted,
};
use crate::docker::image::{is_current, prepare_build, Build};
use crate::docker::spec::ContainerSpec;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A project as the task declares it.
pub struct Deployment {
    pub project: String,
    pub network: String,
    /// In start order.
    pub services: Vec<Service>,
    /// Where relative paths (build contexts, env files) start, on the controller.
    pub base_dir: PathBuf,
    pub rollback: bool,
    /// Extra networks and volumes (from a compose file), project-prefixed.
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

/// One replica of a service.
pub struct ReplicaPlan {
    pub index: u32,
    pub spec: ContainerSpec,
    pub seen: Observed,
    pub plan: ContainerPlan,
    /// The label the new container gets: the image of the one it replaces.
    pub previous: Option<String>,
}

/// How a service's image gets onto the host.
pub enum ImageStep {
    Present,
    Build(Box<Build>),
    Pull,
}

/// One service.
pub struct ServicePlan {
    pub service: Service,
    /// What containers are created from: the service's image, or for a rollback the previous
    /// image's ID.
    pub image_ref: String,
    /// For messages: the reference a human wrote (`app:1`).
    pub image_name: String,
    pub image_step: ImageStep,
    pub replicas: Vec<ReplicaPlan>,
    /// Containers of this service beyond its replicas.
    pub extras: Vec<Value>,
}

/// The whole project on one host.
pub struct ProjectPlan {
    pub services: Vec<ServicePlan>,
    /// Containers of services no longer declared.
    pub orphans: Vec<Value>,
    pub missing_networks: Vec<String>,
    pub missing_volumes: Vec<String>,
    /// Every container of the project as found.
    pub existing: Vec<Value>,
}

impl ProjectPlan {
    /// Does anything change (the proxy aside)?
    pub fn containers_change(&self) -> bool {
        !self.orphans.is_empty()
            || self
                .services
                .iter()
                .any(|s| !s.extras.is_empty() || s.replicas.iter().any(|r| !r.plan.is_noop()))
    }
}

pub fn label<'a>(c: &'a Value, key: &str) -> Option<&'a str> {
    c.pointer("/Config/Labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

pub fn name_of(c: &Value) -> String {
    c.get("Name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim_start_matches('/')
        .to_string()
}

/// `app:1@sha256:…` for the previous-image label.
fn image_label(c: &Value) -> Option<String> {
    let r = c.pointer("/Config/Image").and_then(Value::as_str)?;
    let id = c.get("Image").and_then(Value::as_str)?;
    let r = r.split('@').next().unwrap_or(r);
    Some(format!("{r}@{id}"))
}

fn service_error(s: &str, e: ModuleError) -> ModuleError {
    ModuleError::Failed(format!("service {s}: {e}"))
}

/// Plan a project against what the host has.
pub fn plan_project(docker: &Docker, d: &Deployment) -> Result<ProjectPlan, ModuleError> {
    let existing = docker
        .containers_with_labels(&[(super::model::LABEL_PROJECT.to_string(), d.project.clone())])?;
    let mut services = Vec::new();
    for s in &d.services {
        services
            .push(plan_service(docker, d, s, &existing).map_err(|e| service_error(&s.name, e))?);
    }
    let orphans = existing
        .iter()
        .filter(|c| {
            !d.services
                .iter()
                .any(|s| Some(s.name.as_str()) == label(c, LABEL_SERVICE))
        })
        .cloned()
        .collect();
    let mut missing_networks = Vec::new();
    for n in std::iter::once(&d.network).chain(d.networks.iter()) {
        if docker.inspect_network(n)?.is_none() {
            missing_networks.push(n.clone());
        }
    }
    let mut missing_volumes = Vec::new();
    for v in &d.volumes {
        if docker.inspect_volume(v)?.is_none() {
            missing_volumes.push(v.clone());
        }
    }
    Ok(ProjectPlan {
        services,
        orphans,
        missing_networks,
        missing_volumes,
        existing,
    })
}

fn plan_service(
    docker: &Docker,
    d: &Deployment,
    s: &Service,
    existing: &[Value],
) -> Result<ServicePlan, ModuleError> {
    let mine: Vec<&Value> = existing
        .iter()
        .filter(|c| label(c, LABEL_SERVICE) == Some(s.name.as_str()))
        .collect();
    let rolled_back = mine
        .iter()
        .any(|c| label(c, super::model::LABEL_ROLLED_BACK).is_some());
    let recorded = mine
        .iter()
        .find_map(|c| label(c, LABEL_PREVIOUS))
        .filter(|_| !rolled_back);
    let running_image = mine.iter().find_map(|c| image_label(c));
    let (image_ref, image_name) = match (d.rollback, recorded, running_image) {
        (true, Some(prev), _) => {
            let (name, id) = prev.rsplit_once('@').unwrap_or((prev, prev));
            (id.to_string(), name.to_string())
        }
        // Never updated by converge here, or rolled back already: it stays on what it runs.
        (true, None, Some(cur)) => {
            let (name, id) = cur.rsplit_once('@').unwrap_or((&cur, &cur));
            (id.to_string(), name.to_string())
        }
        _ => (s.image.clone(), s.image.clone()),
    };
    let image = docker.inspect_image(&image_ref)?;
    let image_step = match (&s.build, d.rollback) {
        (Some(b), false) => {
            let dir_text = b
                .get("path")
                .or(b.get("context"))
                .map(crate::args::value_to_string)
                .unwrap_or_else(|| ".".into());
            let dir = d.base_dir.join(dir_text);
            let build = prepare_build(b, &dir, &image_ref)?;
            if is_current(image.as_ref(), &build) {
                ImageStep::Present
            } else {
                ImageStep::Build(Box::new(build))
            }
        }
        _ if image.is_none() && d.rollback => {
            return Err(ModuleError::Failed(format!(
                "rollback: the previous image {image_name} ({image_ref}) is no longer on the host"
            )));
        }
        _ if image.is_none() => ImageStep::Pull,
        _ => ImageStep::Present,
    };
    // A build that will happen makes the current image's ID stale: compare against "unknown".
    let image_for_plan = match image_step {
        ImageStep::Present => image.clone(),
        _ => None,
    };
    let env_file = match s.raw.get("env_file") {
        Some(v) if !v.is_null() => {
            let files: Vec<String> = match v {
                Value::Array(a) => a.iter().map(crate::args::value_to_string).collect(),
                other => vec![crate::args::value_to_string(other)],
            };
            let mut text = String::new();
            for f in files {
                let path = d.base_dir.join(&f);
                text.push_str(&std::fs::read_to_string(&path).map_err(|e| {
                    ModuleError::Failed(format!(
                        "env_file {} (on the controller): {e}",
                        path.display()
                    ))
                })?);
                text.push('\n');
            }
            Some(text)
        }
        _ => None,
    };
    let mut replicas = Vec::new();
    let desired: Vec<String> = (1..=s.replicas)
        .map(|i| s.container_name(&d.project, i))
        .collect();
    for i in 1..=s.replicas {
        let args: Args = container_args(&d.project, &d.network, s, i, &image_ref, None);
        let p = Params::new(CONTAINER_SPEC, &args)?;
        let spec = ContainerSpec::from_params(&p, env_file.as_deref())?;
        let current = mine
            .iter()
            .find(|c| name_of(c) == spec.name)
            .map(|c| (*c).clone());
        let seen = Observed {
            container: current,
            image: image_for_plan.clone(),
        };
        let policy = policy_for(s);
        let mut plan = cc::plan(&spec, Some(&image_ref), &seen, &policy);
        // Pulling is the image step's business, not each replica's.
        plan.steps.retain(|st| !matches!(st, cc::Step::Pull(_)));
        let previous = seen.container.as_ref().and_then(image_label);
        replicas.push(ReplicaPlan {
            index: i,
            spec,
            seen,
            plan,
            previous,
        });
    }
    let extras = mine
        .iter()
        .filter(|c| !desired.contains(&name_of(c)))
        .map(|c| (*c).clone())
        .collect();
    Ok(ServicePlan {
        service: s.clone(),
        image_ref,
        image_name,
        image_step,
        replicas,
        extras,
    })
}

/// How a service's containers are converged.
pub fn policy_for(s: &Service) -> Policy {
    Policy {
        wanted: Wanted::Started,
        pull: Pull::Missing,
        recreate: false,
        restart: false,
        comparisons: BTreeMap::new(),
        stop_grace: s.stop_grace,
    }
}
