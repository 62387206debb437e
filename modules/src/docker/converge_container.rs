//! Converging one container: observe it (and the declared image), decide the steps (create,
//! recreate, update in place, connect, start, stop, remove), carry them out. Shared by
//! `docker_container` and the services of `docker_services`.

use super::client::Docker;
use super::compare::{self, Difference, Fix, Kind};
use super::spec::ContainerSpec;
use crate::contract::{Diff, ModuleError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The state a container should be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    Started,
    Stopped,
    /// Exists; running or not is left as it is (a new one is created, not started).
    Present,
    Absent,
}

impl Wanted {
    pub fn parse(s: &str) -> Option<Wanted> {
        match s {
            "started" => Some(Wanted::Started),
            "stopped" => Some(Wanted::Stopped),
            "present" => Some(Wanted::Present),
            "absent" => Some(Wanted::Absent),
            _ => None,
        }
    }
}

/// When to pull the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    Always,
    Missing,
    Never,
}

/// How to converge, besides the declaration.
#[derive(Debug, Clone)]
pub struct Policy {
    pub wanted: Wanted,
    pub pull: Pull,
    /// Recreate even when nothing differs.
    pub recreate: bool,
    /// Restart a running container that needs nothing else.
    pub restart: bool,
    pub comparisons: BTreeMap<String, Kind>,
    /// TERM, then KILL after this, when stopping.
    pub stop_grace: Duration,
}

/// What was seen on the host.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub container: Option<Value>,
    /// The declared image as the host has it, `None` when it is not there.
    pub image: Option<Value>,
}

/// One step of change.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Pull(String),
    /// Stop (with grace) and remove the existing container.
    RemoveOld,
    Create,
    Update(Value),
    Connect(super::spec::NetworkSpec),
    Start,
    Stop,
    Restart,
}

/// The decision for one container.
#[derive(Debug, Clone, Default)]
pub struct ContainerPlan {
    pub steps: Vec<Step>,
    pub differences: Vec<Difference>,
    /// Every change as one line: `image: app:1 → app:2 (sha256:3f2…→9ab…)`.
    pub changes: Vec<String>,
    pub diff: Option<Diff>,
    /// `created`, `recreated`, `updated`, `started`, ...
    pub verb: &'static str,
}

impl ContainerPlan {
    pub fn is_noop(&self) -> bool {
        self.steps.is_empty()
    }
    /// The container is replaced (so a service update rolls it).
    pub fn replaces(&self) -> bool {
        self.steps.contains(&Step::RemoveOld) && self.steps.contains(&Step::Create)
    }
}

/// `sha256:3f2a9b…` → `3f2a9b1c0d4e` (Docker's short form).
pub fn short_id(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.chars().take(12).collect()
}

fn status(c: &Value) -> String {
    c.pointer("/State/Status")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string()
}

pub fn is_running(c: &Value) -> bool {
    c.pointer("/State/Running").and_then(Value::as_bool) == Some(true)
}

/// The declaration as `key: value` lines (secrets masked), for the after side of a create.
pub fn summary_lines(spec: &ContainerSpec, image_ref: &str, image_id: Option<&str>) -> Vec<String> {
    let mut l = vec![match image_id {
        Some(id) => format!("image: {image_ref} ({})", short_id(id)),
        None => format!("image: {image_ref}"),
    }];
    if let Some(c) = &spec.command {
        l.push(format!(
            "command: {}",
            serde_json::to_string(c).unwrap_or_default()
        ));
    }
    for (k, v) in spec.env.iter().flatten() {
        let shown = if spec.secret_env.contains(k) || super::spec::is_secret_name(k) {
            "(secret)"
        } else {
            v
        };
        l.push(format!("env.{k}: {shown}"));
    }
    for p in spec.ports.iter().flatten() {
        l.push(format!("published_ports: {}", p.text()));
    }
    for b in spec.binds.iter().flatten() {
        l.push(format!("volumes: {b}"));
    }
    for n in spec.networks.iter().flatten() {
        l.push(format!("networks: {}", n.name));
    }
    if let Some(r) = &spec.restart_policy {
        l.push(format!("restart_policy: {r}"));
    }
    l
}

/// Decide what to do. Pure.
pub fn plan(
    spec: &ContainerSpec,
    image_ref: Option<&str>,
    seen: &Observed,
    policy: &Policy,
) -> ContainerPlan {
    let mut p = ContainerPlan::default();
    let name = &spec.name;
    let header = |side: &str| format!("container {name} ({side})");
    let Some(c) = &seen.container else {
        if policy.wanted == Wanted::Absent {
            return p;
        }
        let image_ref = image_ref.unwrap_or("");
        if seen.image.is_none() {
            p.steps.push(Step::Pull(image_ref.to_string()));
        }
        p.steps.push(Step::Create);
        p.steps
            .extend(extra_networks(spec).into_iter().map(Step::Connect));
        if policy.wanted == Wanted::Started {
            p.steps.push(Step::Start);
        }
        let image_id = seen
            .image
            .as_ref()
            .and_then(|i| i.get("Id"))
            .and_then(Value::as_str);
        let mut after = summary_lines(spec, image_ref, image_id);
        after.push(format!(
            "state: {}",
            if policy.wanted == Wanted::Started {
                "running"
            } else {
                "created"
            }
        ));
        p.changes.push(format!("+ created from {image_ref}"));
        p.diff = Some(Diff {
            before_header: header("absent"),
            after_header: header("declared"),
            before: String::new(),
            after: lines(&after),
        });
        p.verb = "created";
        return p;
    };
    let id = c
        .get("Id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if policy.wanted == Wanted::Absent {
        p.steps.push(Step::RemoveOld);
        p.changes.push(format!("- removed ({})", status(c)));
        p.diff = Some(Diff {
            before_header: header("as it is"),
            after_header: header("absent"),
            before: lines(&[
                format!(
                    "image: {}",
                    c.pointer("/Config/Image")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                ),
                format!("id: {}", short_id(&id)),
                format!("state: {}", status(c)),
            ]),
            after: String::new(),
        });
        p.verb = "removed";
        return p;
    }
    let empty = Value::Null;
    let image = seen.image.as_ref().unwrap_or(&empty);
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut recreate = policy.recreate;
    if policy.recreate {
        p.changes.push("recreate requested".to_string());
    }
    // The image, by ID: a tag that moved to another image is noticed.
    if let Some(want_ref) = image_ref {
        let have_id = c.get("Image").and_then(Value::as_str).unwrap_or("");
        let have_ref = c
            .pointer("/Config/Image")
            .and_then(Value::as_str)
            .unwrap_or("");
        let ignore = policy
            .comparisons
            .get("image")
            .or(policy.comparisons.get("*"))
            == Some(&Kind::Ignore);
        match image.get("Id").and_then(Value::as_str) {
            _ if ignore => {}
            Some(want_id) if want_id != have_id => {
                recreate = true;
                let refs = if have_ref == want_ref {
                    want_ref.to_string()
                } else {
                    format!("{have_ref} → {want_ref}")
                };
                p.changes.push(format!(
                    "image: {refs} ({}→{})",
                    short_id(have_id),
                    short_id(want_id)
                ));
                before.push(format!("image: {have_ref} ({})", short_id(have_id)));
                after.push(format!("image: {want_ref} ({})", short_id(want_id)));
            }
            Some(_) => {}
            None => {
                // Not on the host yet (it is pulled or built first): only then is its ID known.
                p.steps.push(Step::Pull(want_ref.to_string()));
                recreate = true;
                p.changes.push(format!(
                    "image: {have_ref} ({}) → {want_ref} (not on the host yet)",
                    short_id(have_id)
                ));
                before.push(format!("image: {have_ref} ({})", short_id(have_id)));
                after.push(format!("image: {want_ref} (not on the host yet)"));
            }
        }
    }
    // Against an image that is not there yet, what the container inherits from it (env, labels,
    // ports) cannot be compared: the container is recreated anyway.
    let diffs = if seen.image.is_some() || image_ref.is_none() {
        compare::differences(spec, image, c, &policy.comparisons)
    } else {
        Vec::new()
    };
    for d in &diffs {
        p.changes.extend(d.summary.iter().cloned());
        before.extend(d.before.iter().cloned());
        after.extend(d.after.iter().cloned());
        if d.fix == Fix::Recreate {
            recreate = true;
        }
    }
    let running = is_running(c);
    if recreate {
        p.steps.push(Step::RemoveOld);
        p.steps.push(Step::Create);
        p.steps
            .extend(extra_networks(spec).into_iter().map(Step::Connect));
        let start =
            policy.wanted == Wanted::Started || (policy.wanted == Wanted::Present && running);
        if start {
            p.steps.push(Step::Start);
        }
        p.verb = "recreated";
    } else {
        let body = compare::update_body(spec, &diffs);
        if body.as_object().is_some_and(|m| !m.is_empty()) {
            p.steps.push(Step::Update(body));
            p.verb = "updated";
        }
        if diffs.iter().any(|d| d.fix == Fix::Connect) {
            for n in spec.networks.iter().flatten() {
                let on: bool = c
                    .pointer("/NetworkSettings/Networks")
                    .and_then(Value::as_object)
                    .is_some_and(|m| m.contains_key(&n.name));
                if !on {
                    p.steps.push(Step::Connect(n.clone()));
                    p.verb = "updated";
                }
            }
        }
        match (policy.wanted, running) {
            (Wanted::Started, false) => {
                p.steps.push(Step::Start);
                p.changes.push(format!("state: {} → running", status(c)));
                before.push(format!("state: {}", status(c)));
                after.push("state: running".into());
                if p.verb.is_empty() {
                    p.verb = "started";
                }
            }
            (Wanted::Stopped, true) => {
                p.steps.push(Step::Stop);
                p.changes.push("state: running → stopped".into());
                before.push("state: running".into());
                after.push("state: exited".into());
                if p.verb.is_empty() {
                    p.verb = "stopped";
                }
            }
            (Wanted::Started, true) if policy.restart && p.steps.is_empty() => {
                p.steps.push(Step::Restart);
                p.changes.push("restart requested".into());
                p.verb = "restarted";
            }
            _ => {}
        }
    }
    p.differences = diffs;
    if !p.steps.is_empty() {
        p.diff = Some(Diff {
            before_header: header("as it is"),
            after_header: header("declared"),
            before: lines(&before),
            after: lines(&after),
        });
    }
    p
}

fn lines(l: &[String]) -> String {
    let mut s = l.join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

/// Networks beyond the first, which `create` cannot join at once.
fn extra_networks(spec: &ContainerSpec) -> Vec<super::spec::NetworkSpec> {
    spec.networks.iter().flatten().skip(1).cloned().collect()
}

/// Observe a container and the declared image.
pub fn observe(
    docker: &Docker,
    name: &str,
    image_ref: Option<&str>,
) -> Result<Observed, ModuleError> {
    Ok(Observed {
        container: docker.inspect_container(name)?,
        image: match image_ref {
            Some(r) => docker.inspect_image(r)?,
            None => None,
        },
    })
}

/// Carry out a plan; returns the container's inspect afterwards (`None` when removed).
/// `create_as` lets a rolling update create the new container under another name.
pub fn apply(
    docker: &Docker,
    spec: &ContainerSpec,
    image_ref: Option<&str>,
    plan: &ContainerPlan,
    seen: &Observed,
    policy: &Policy,
    auth: Option<&str>,
) -> Result<Option<Value>, ModuleError> {
    let mut id = seen
        .container
        .as_ref()
        .and_then(|c| c.get("Id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let image = match image_ref {
        Some(r) => r.to_string(),
        None => seen
            .container
            .as_ref()
            .and_then(|c| c.pointer("/Config/Image"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    };
    for step in &plan.steps {
        match step {
            Step::Pull(r) => docker.pull(r, auth)?,
            Step::RemoveOld => {
                if let Some(old) = id.take() {
                    if seen.container.as_ref().is_some_and(is_running) {
                        docker.stop(&old, policy.stop_grace)?;
                    }
                    docker.remove_container(&old)?;
                }
            }
            Step::Create => {
                id = Some(docker.create_container(&spec.name, &spec.create_body(&image))?);
            }
            Step::Update(body) => docker.update(id.as_deref().unwrap_or(&spec.name), body)?,
            Step::Connect(n) => {
                docker.connect_network(&n.name, id.as_deref().unwrap_or(&spec.name), &n.aliases)?
            }
            Step::Start => docker.start(id.as_deref().unwrap_or(&spec.name))?,
            Step::Stop => docker.stop(id.as_deref().unwrap_or(&spec.name), policy.stop_grace)?,
            Step::Restart => {
                docker.restart(id.as_deref().unwrap_or(&spec.name), policy.stop_grace)?
            }
        }
    }
    match id {
        Some(id) => docker.inspect_container(&id),
        None => Ok(None),
    }
}

/// What `register:` gets of a container: never its environment (it may hold secrets).
pub fn container_data(c: &Value) -> Value {
    json!({
        "Id": c.get("Id"),
        "Name": c.get("Name").and_then(Value::as_str).map(|n| n.trim_start_matches('/')),
        "Image": c.get("Image"),
        "Config": {"Image": c.pointer("/Config/Image"), "Labels": c.pointer("/Config/Labels")},
        "State": {"Status": c.pointer("/State/Status"), "Running": c.pointer("/State/Running"),
                  "Health": c.pointer("/State/Health/Status")},
        "NetworkSettings": {"Networks": c.pointer("/NetworkSettings/Networks").and_then(Value::as_object).map(|m| {
            m.iter().map(|(k, v)| (k.clone(), json!({"IPAddress": v.get("IPAddress")}))).collect::<serde_json::Map<_, _>>()
        })},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(w: Wanted) -> Policy {
        Policy {
            wanted: w,
            pull: Pull::Missing,
            recreate: false,
            restart: false,
            comparisons: BTreeMap::new(),
            stop_grace: Duration::from_secs(10),
        }
    }

    fn running(image_id: &str) -> Value {
        json!({"Id": "c1", "Image": image_id, "Config": {"Image": "app:1", "Env": ["A=1"]},
               "HostConfig": {}, "State": {"Status": "running", "Running": true}})
    }

    fn spec() -> ContainerSpec {
        ContainerSpec {
            name: "web".into(),
            ..ContainerSpec::default()
        }
    }

    #[test]
    fn missing_container_is_created_and_started() {
        let seen = Observed {
            container: None,
            image: Some(json!({"Id": "sha256:aaa"})),
        };
        let p = plan(&spec(), Some("app:1"), &seen, &policy(Wanted::Started));
        assert_eq!(p.steps, [Step::Create, Step::Start]);
        assert_eq!(p.verb, "created");
        let seen = Observed {
            container: None,
            image: None,
        };
        let p = plan(&spec(), Some("app:1"), &seen, &policy(Wanted::Present));
        assert_eq!(p.steps, [Step::Pull("app:1".into()), Step::Create]);
    }

    #[test]
    fn same_image_is_a_noop_and_a_moved_tag_recreates() {
        let img = json!({"Id": "sha256:aaa111222333444"});
        let seen = Observed {
            container: Some(running("sha256:aaa111222333444")),
            image: Some(img),
        };
        assert!(plan(&spec(), Some("app:1"), &seen, &policy(Wanted::Started)).is_noop());
        let seen = Observed {
            container: Some(running("sha256:aaa111222333444")),
            image: Some(json!({"Id": "sha256:bbb999888777666"})),
        };
        let p = plan(&spec(), Some("app:1"), &seen, &policy(Wanted::Started));
        assert!(p.replaces());
        assert_eq!(p.changes, ["image: app:1 (aaa111222333→bbb999888777)"]);
        let p = plan(&spec(), Some("app:2"), &seen, &policy(Wanted::Started));
        assert_eq!(
            p.changes,
            ["image: app:1 → app:2 (aaa111222333→bbb999888777)"]
        );
    }

    #[test]
    fn state_changes_without_recreating() {
        let mut c = running("sha256:a");
        c["State"] = json!({"Status": "exited", "Running": false});
        let seen = Observed {
            container: Some(c),
            image: Some(json!({"Id": "sha256:a"})),
        };
        let p = plan(&spec(), Some("app:1"), &seen, &policy(Wanted::Started));
        assert_eq!(p.steps, [Step::Start]);
        assert_eq!(p.changes, ["state: exited → running"]);
        let seen = Observed {
            container: Some(running("sha256:a")),
            image: Some(json!({"Id": "sha256:a"})),
        };
        assert_eq!(
            plan(&spec(), Some("app:1"), &seen, &policy(Wanted::Stopped)).steps,
            [Step::Stop]
        );
        assert_eq!(
            plan(&spec(), None, &seen, &policy(Wanted::Absent)).steps,
            [Step::RemoveOld]
        );
        let mut pol = policy(Wanted::Started);
        pol.restart = true;
        assert_eq!(
            plan(&spec(), Some("app:1"), &seen, &pol).steps,
            [Step::Restart]
        );
    }

    #[test]
    fn live_options_are_updated_in_place() {
        let seen = Observed {
            container: Some(running("sha256:a")),
            image: Some(json!({"Id": "sha256:a"})),
        };
        let s = ContainerSpec {
            restart_policy: Some("always".into()),
            ..spec()
        };
        let p = plan(&s, Some("app:1"), &seen, &policy(Wanted::Started));
        assert!(
            matches!(p.steps.as_slice(), [Step::Update(_)]),
            "{:?}",
            p.steps
        );
        assert_eq!(p.verb, "updated");
    }
}
