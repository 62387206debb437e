//! The services vocabulary (Cloud 66's `docker_deployment.yml`, docker-compose): what a service
//! declares, checked and put in start order, and the `docker_container` options each of its
//! replicas gets.

use super::signals::{parse_sequence, SeqStep};
use crate::args::{nearest, to_bool, to_int, value_to_string, ArgError};
use crate::docker::spec::{duration_ns, ENV_PREFIX};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Labels converge puts on every container it runs for a project.
pub const LABEL_PROJECT: &str = "converge.project";
pub const LABEL_SERVICE: &str = "converge.service";
pub const LABEL_REPLICA: &str = "converge.replica";
/// The image (`ref@id`) of the container this one replaced: what a rollback goes back to.
pub const LABEL_PREVIOUS: &str = "converge.previous-image";
/// On containers a rollback made: a second rollback leaves them as they are.
pub const LABEL_ROLLED_BACK: &str = "converge.rolled-back";

/// Keys a service may have.
pub const SERVICE_KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "env",
    "env_file",
    "ports",
    "published_ports",
    "exposed_ports",
    "volumes",
    "log_folder",
    "replicas",
    "requires",
    "pre_start_signal",
    "pre_stop_sequence",
    "stop_grace",
    "health",
    "restart",
    "networks",
    "labels",
    "user",
    "working_dir",
    "healthcheck",
    "memory",
    "cpus",
    "capabilities",
    "cap_drop",
    "privileged",
    "init",
    "read_only",
    "stop_signal",
    "log_driver",
    "log_options",
    "hostname",
    "tty",
];

/// One `CONTAINER:HTTP:HTTPS` port: the container's port, served by the host's nginx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPort {
    pub container: u16,
    pub http: Option<u16>,
    pub https: Option<u16>,
}

/// How a new container is judged ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// HTTP GET on the container's address must answer below 400.
    Http { path: String, port: Option<u16> },
    /// Docker's own healthcheck (the image's HEALTHCHECK or `healthcheck:`) must say healthy.
    Docker,
    /// Running, not restarting, for a moment.
    Running,
}

/// A declared service.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    /// The image to run (the build's tag when it is built).
    pub image: String,
    /// Build it first from a directory on the controller.
    pub build: Option<Map<String, Value>>,
    pub http_ports: Vec<HttpPort>,
    pub replicas: u32,
    pub requires: Vec<String>,
    pub log_folder: Option<String>,
    pub pre_start_signal: Option<String>,
    pub pre_stop: Vec<SeqStep>,
    pub stop_grace: Duration,
    pub health: Health,
    pub health_timeout: Duration,
    /// The service's declaration, for the container options.
    pub raw: Map<String, Value>,
}

impl Service {
    /// The container name of replica `i` (1-based).
    pub fn container_name(&self, project: &str, i: u32) -> String {
        format!("{project}-{}-{i}", self.name)
    }
    pub fn is_proxied(&self) -> bool {
        self.http_ports
            .iter()
            .any(|p| p.http.is_some() || p.https.is_some())
    }
}

fn err(service: &str, msg: impl Into<String>) -> ArgError {
    ArgError::new(Some("services"), format!("{service}: {}", msg.into()))
}

fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{") || s.contains("{%"),
        Value::Array(a) => a.iter().any(has_template),
        Value::Object(m) => m.values().any(has_template),
        _ => false,
    }
}

fn duration(service: &str, key: &str, v: &Value) -> Result<Duration, ArgError> {
    let t = value_to_string(v);
    duration_ns(&t)
        .map(|ns| Duration::from_nanos(ns as u64))
        .ok_or_else(|| err(service, format!("{key}: `{t}` is not a duration (30s, 1m)")))
}

/// `9090:80:443`, `9090:80`, `9090` (container, HTTP, HTTPS).
pub fn parse_http_port(service: &str, text: &str) -> Result<HttpPort, ArgError> {
    let bad = || {
        err(
            service,
            format!("ports: `{text}` is not CONTAINER[:HTTP[:HTTPS]] (e.g. 9090:80:443)"),
        )
    };
    let nums: Vec<Option<u16>> = text
        .split(':')
        .map(|p| {
            if p.is_empty() {
                Ok(None)
            } else {
                p.trim().parse().map(Some).map_err(|_| bad())
            }
        })
        .collect::<Result<_, _>>()?;
    match nums.as_slice() {
        [Some(c)] => Ok(HttpPort {
            container: *c,
            http: None,
            https: None,
        }),
        [Some(c), h] => Ok(HttpPort {
            container: *c,
            http: *h,
            https: None,
        }),
        [Some(c), h, s] => Ok(HttpPort {
            container: *c,
            http: *h,
            https: *s,
        }),
        _ => Err(bad()),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().map(value_to_string).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![value_to_string(other)],
    }
}

/// Check the keys of every service (and, where they are not templates yet, the values), the
/// `requires` graph included. Used at load time and at run time.
pub fn check(services: &Map<String, Value>) -> Result<(), ArgError> {
    for (name, def) in services {
        let Some(m) = def.as_object() else {
            if has_template(def) {
                continue;
            }
            return Err(err(name, "must be a mapping of service options"));
        };
        for k in m.keys() {
            if !SERVICE_KEYS.contains(&k.as_str()) {
                let mut e = err(name, format!("unknown option `{k}`"));
                e.hint = nearest(k, SERVICE_KEYS.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"));
                return Err(e);
            }
        }
        for r in strings(m.get("requires")) {
            if !has_template(&Value::String(r.clone())) && !services.contains_key(&r) {
                let mut e = err(name, format!("requires `{r}`, which is not a service here"));
                e.hint = nearest(&r, services.keys().map(String::as_str))
                    .map(|n| format!("did you mean `{n}`?"));
                return Err(e);
            }
        }
        if let Some(seq) = m.get("pre_stop_sequence").filter(|v| !has_template(v)) {
            parse_sequence(&value_to_string(seq))
                .map_err(|e| err(name, format!("pre_stop_sequence: {e}")))?;
        }
        for p in strings(m.get("ports")) {
            if !has_template(&Value::String(p.clone())) {
                parse_http_port(name, &p)?;
            }
        }
        if let Some(env) = m.get("env").and_then(Value::as_object) {
            for (k, v) in env {
                if let Some(var) = v.as_str().and_then(|s| s.strip_prefix(ENV_PREFIX)) {
                    if std::env::var_os(var).is_none() {
                        return Err(err(name, format!("env.{k}: `{ENV_PREFIX}{var}` names the controller environment variable {var}, which is not set")));
                    }
                }
            }
        }
    }
    order(services).map(|_| ())
}

/// Services in start order: every service after those it `requires`. A cycle is an error that
/// names it.
pub fn order(services: &Map<String, Value>) -> Result<Vec<String>, ArgError> {
    let deps: BTreeMap<&str, Vec<String>> = services
        .iter()
        .map(|(n, d)| {
            (
                n.as_str(),
                strings(d.get("requires"))
                    .into_iter()
                    .filter(|r| services.contains_key(r))
                    .collect(),
            )
        })
        .collect();
    let mut done: Vec<String> = Vec::new();
    let mut state: BTreeMap<&str, u8> = BTreeMap::new(); // 1 visiting, 2 done
    fn visit<'a>(
        n: &'a str,
        deps: &'a BTreeMap<&'a str, Vec<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
        done: &mut Vec<String>,
    ) -> Result<(), ArgError> {
        match state.get(n) {
            Some(2) => return Ok(()),
            Some(1) => {
                let start = path.iter().position(|p| *p == n).unwrap_or(0);
                let mut cycle: Vec<&str> = path[start..].to_vec();
                cycle.push(n);
                return Err(ArgError::new(
                    Some("services"),
                    format!("`requires` makes a cycle: {}", cycle.join(" → ")),
                ));
            }
            _ => {}
        }
        state.insert(n, 1);
        path.push(n);
        for d in deps.get(n).into_iter().flatten() {
            if let Some((k, _)) = deps.get_key_value(d.as_str()) {
                visit(k, deps, state, path, done)?;
            }
        }
        path.pop();
        state.insert(n, 2);
        done.push(n.to_string());
        Ok(())
    }
    for n in deps.keys() {
        visit(n, &deps, &mut state, &mut Vec::new(), &mut done)?;
    }
    Ok(done)
}

/// Read one service (rendered).
pub fn parse_service(project: &str, name: &str, def: &Value) -> Result<Service, ArgError> {
    let m = def
        .as_object()
        .ok_or_else(|| err(name, "must be a mapping of service options"))?
        .clone();
    let build = m.get("build").and_then(Value::as_object).cloned();
    let image = match m
        .get("image")
        .map(value_to_string)
        .filter(|i| !i.is_empty())
    {
        Some(i) => i,
        None if build.is_some() => format!("{project}-{name}:latest"),
        None => return Err(err(name, "needs an `image` (or a `build`)")),
    };
    let http_ports = strings(m.get("ports"))
        .iter()
        .map(|p| parse_http_port(name, p))
        .collect::<Result<Vec<_>, _>>()?;
    let replicas = match m.get("replicas") {
        None | Some(Value::Null) => 1,
        Some(v) => to_int(v)
            .filter(|n| (0..=100).contains(n))
            .ok_or_else(|| err(name, "replicas must be a number from 0 to 100"))?
            as u32,
    };
    let pre_stop = match m.get("pre_stop_sequence") {
        Some(v) if !v.is_null() => parse_sequence(&value_to_string(v))
            .map_err(|e| err(name, format!("pre_stop_sequence: {e}")))?,
        _ => Vec::new(),
    };
    let stop_grace = match m.get("stop_grace") {
        Some(v) if !v.is_null() => duration(name, "stop_grace", v)?,
        _ => Duration::from_secs(10),
    };
    let (health, health_timeout) = parse_health(
        name,
        m.get("health"),
        &http_ports,
        m.contains_key("healthcheck"),
    )?;
    Ok(Service {
        name: name.to_string(),
        image,
        build,
        replicas,
        requires: strings(m.get("requires")),
        log_folder: m
            .get("log_folder")
            .map(value_to_string)
            .filter(|s| !s.is_empty()),
        pre_start_signal: m
            .get("pre_start_signal")
            .map(value_to_string)
            .filter(|s| !s.is_empty()),
        pre_stop,
        stop_grace,
        health,
        health_timeout,
        http_ports,
        raw: m,
    })
}

fn parse_health(
    name: &str,
    v: Option<&Value>,
    ports: &[HttpPort],
    has_healthcheck: bool,
) -> Result<(Health, Duration), ArgError> {
    let default_timeout = Duration::from_secs(60);
    let default = if has_healthcheck {
        Health::Docker
    } else if !ports.is_empty() {
        Health::Http {
            path: "/".into(),
            port: None,
        }
    } else {
        Health::Running
    };
    match v {
        None | Some(Value::Null) => Ok((default, default_timeout)),
        Some(Value::String(s)) => match s.as_str() {
            "docker" => Ok((Health::Docker, default_timeout)),
            "none" | "running" => Ok((Health::Running, default_timeout)),
            p if p.starts_with('/') => Ok((
                Health::Http {
                    path: p.to_string(),
                    port: None,
                },
                default_timeout,
            )),
            other => Err(err(
                name,
                format!("health: `{other}` is not a path (/health), docker or none"),
            )),
        },
        Some(Value::Object(m)) => {
            let timeout = match m.get("timeout") {
                Some(t) => duration(name, "health.timeout", t)?,
                None => default_timeout,
            };
            let h = match (m.get("path"), m.get("type").map(value_to_string).as_deref()) {
                (_, Some("docker")) => Health::Docker,
                (_, Some("none")) | (_, Some("running")) => Health::Running,
                (Some(p), _) => Health::Http {
                    path: value_to_string(p),
                    port: m.get("port").and_then(to_int).map(|p| p as u16),
                },
                (None, _) => default,
            };
            Ok((h, timeout))
        }
        Some(other) => Err(err(
            name,
            format!("health: `{other}` is not a path or a mapping"),
        )),
    }
}

/// The `docker_container` options of replica `i` of a service.
pub fn container_args(
    project: &str,
    network: &str,
    s: &Service,
    i: u32,
    image: &str,
    previous: Option<&str>,
) -> Map<String, Value> {
    let mut a = Map::new();
    for key in [
        "command",
        "entrypoint",
        "env",
        "published_ports",
        "exposed_ports",
        "user",
        "working_dir",
        "healthcheck",
        "memory",
        "cpus",
        "capabilities",
        "cap_drop",
        "privileged",
        "init",
        "read_only",
        "stop_signal",
        "log_driver",
        "log_options",
        "hostname",
        "tty",
    ] {
        if let Some(v) = s.raw.get(key).filter(|v| !v.is_null()) {
            a.insert(key.into(), v.clone());
        }
    }
    // A service owns its containers' whole environment: an undeclared env is an empty one,
    // so a variable added by hand is found.
    a.entry("env").or_insert_with(|| json!({}));
    a.insert("name".into(), json!(s.container_name(project, i)));
    a.insert("image".into(), json!(image));
    let mut labels: Map<String, Value> = s
        .raw
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.insert(LABEL_PROJECT.into(), json!(project));
    labels.insert(LABEL_SERVICE.into(), json!(s.name));
    labels.insert(LABEL_REPLICA.into(), json!(i.to_string()));
    if let Some(p) = previous {
        labels.insert(LABEL_PREVIOUS.into(), json!(p));
    }
    a.insert("labels".into(), Value::Object(labels));
    let mut volumes = strings(s.raw.get("volumes"));
    if let Some(dir) = &s.log_folder {
        volumes.push(format!("{}:{dir}", log_dir(&s.name)));
    }
    if !volumes.is_empty() {
        a.insert("volumes".into(), json!(volumes));
    }
    let mut nets = vec![json!({"name": network, "aliases": [s.name]})];
    nets.extend(
        strings(s.raw.get("networks"))
            .into_iter()
            .filter(|n| n != network)
            .map(|n| json!({"name": n})),
    );
    a.insert("networks".into(), Value::Array(nets));
    let restart = s
        .raw
        .get("restart")
        .map(value_to_string)
        .unwrap_or_else(|| "unless-stopped".into());
    a.insert("restart_policy".into(), json!(restart));
    // Docker's own stop timeout is the grace, so a `docker stop` by hand is graceful too.
    a.insert("stop_timeout".into(), json!(s.stop_grace.as_secs()));
    if !s.raw.get("tty").and_then(to_bool).unwrap_or(false) {
        a.remove("tty");
    }
    a
}

/// Where a service's log folder lives on the host.
pub fn log_dir(service: &str) -> String {
    format!("/var/log/containers/{service}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn start_order_follows_requires() {
        let s = services(
            json!({"web": {"image": "w", "requires": ["dnmonster", "redis"]}, "redis": {"image": "r"}, "dnmonster": {"image": "d"}}),
        );
        let o = order(&s).unwrap();
        let pos = |n: &str| o.iter().position(|x| x == n).unwrap();
        assert!(
            pos("web") > pos("redis") && pos("web") > pos("dnmonster"),
            "{o:?}"
        );
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn a_cycle_is_named() {
        let s = services(
            json!({"a": {"image": "x", "requires": ["b"]}, "b": {"image": "x", "requires": ["c"]}, "c": {"image": "x", "requires": ["a"]}}),
        );
        let e = check(&s).unwrap_err().to_string();
        assert!(e.contains("cycle: a → b → c → a"), "{e}");
    }

    #[test]
    fn typos_are_caught_with_hints() {
        let s = services(json!({"web": {"image": "x", "replica": 2}}));
        let e = check(&s).unwrap_err();
        assert!(
            e.message.contains("unknown option `replica`")
                && e.hint.as_deref() == Some("did you mean `replicas`?"),
            "{e}"
        );
        let s = services(
            json!({"web": {"image": "x", "requires": ["redsi"]}, "redis": {"image": "r"}}),
        );
        let e = check(&s).unwrap_err();
        assert!(
            e.to_string().contains("requires `redsi`")
                && e.hint.as_deref() == Some("did you mean `redis`?")
        );
        let s =
            services(json!({"web": {"image": "x", "env": {"K": "_env:CONVERGE_SURELY_UNSET_1"}}}));
        assert!(check(&s)
            .unwrap_err()
            .to_string()
            .contains("CONVERGE_SURELY_UNSET_1, which is not set"));
        let s = services(json!({"web": {"image": "x", "pre_stop_sequence": "1m:USR2:soon"}}));
        assert!(check(&s)
            .unwrap_err()
            .to_string()
            .contains("pre_stop_sequence"));
    }

    #[test]
    fn a_service_becomes_replica_options() {
        let s = parse_service("id", "web", &json!({"image": "app:1", "ports": ["9090:80:443"], "replicas": 2,
            "log_folder": "/var/log/app", "env": {"A": "1"}, "stop_grace": "20s", "health": {"path": "/health", "timeout": "5s"}})).unwrap();
        assert_eq!(
            s.http_ports,
            [HttpPort {
                container: 9090,
                http: Some(80),
                https: Some(443)
            }]
        );
        assert!(s.is_proxied());
        assert_eq!(
            s.health,
            Health::Http {
                path: "/health".into(),
                port: None
            }
        );
        assert_eq!(s.health_timeout, Duration::from_secs(5));
        let a = container_args("id", "id", &s, 2, "app:1", Some("app:0@sha256:1"));
        assert_eq!(a["name"], "id-web-2");
        assert_eq!(
            a["volumes"],
            json!(["/var/log/containers/web:/var/log/app"])
        );
        assert_eq!(a["labels"][LABEL_REPLICA], "2");
        assert_eq!(a["labels"][LABEL_PREVIOUS], "app:0@sha256:1");
        assert_eq!(a["networks"], json!([{"name": "id", "aliases": ["web"]}]));
        assert_eq!(a["stop_timeout"], 20);
        assert_eq!(a["restart_policy"], "unless-stopped");
    }
}
