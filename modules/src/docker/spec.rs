//! A declared container: the `docker_container` options (community.docker's names), parsed and
//! normalised into [`ContainerSpec`], and turned into the Engine API's create body.
//!
//! Normalising here (ports as `ip:host:container/proto`, binds without the default `rw`,
//! capabilities without `CAP_`, durations in nanoseconds, sizes in bytes) is what lets
//! `compare.rs` set the declaration beside `docker inspect` without false differences.

use crate::args::{value_to_string, ArgError, Params};
use crate::contract::ModuleError;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The prefix of an env value read from the controller's environment at run time.
pub const ENV_PREFIX: &str = "_env:";

pub use crate::secret::is_secret_name;

/// One published port, normalised.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Port {
    pub host_ip: String,
    /// Empty: Docker picks one.
    pub host_port: String,
    /// `80/tcp`.
    pub container: String,
}

impl Port {
    pub fn text(&self) -> String {
        match (self.host_ip.is_empty(), self.host_port.is_empty()) {
            (true, true) => self.container.clone(),
            (true, false) => format!("{}:{}", self.host_port, self.container),
            (false, _) => format!("{}:{}:{}", self.host_ip, self.host_port, self.container),
        }
    }
}

/// A network the container joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    pub name: String,
    pub aliases: Vec<String>,
}

/// Docker's healthcheck, durations in nanoseconds; `None` fields are not declared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Healthcheck {
    /// `["CMD-SHELL", "curl -f ..."]`, `["CMD", ...]` or `["NONE"]`.
    pub test: Option<Vec<String>>,
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub retries: Option<i64>,
    pub start_period: Option<i64>,
}

/// What a task declares about one container. `None`: not declared, so not compared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    pub image: Option<String>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, String>>,
    /// Env keys whose values are secrets (`_env:` values, secret-looking names).
    pub secret_env: BTreeSet<String>,
    pub ports: Option<BTreeSet<Port>>,
    pub exposed: Option<BTreeSet<String>>,
    /// `src:dst[:opts]` binds (host paths and named volumes).
    pub binds: Option<BTreeSet<String>>,
    /// Anonymous volumes (a container path only).
    pub anonymous_volumes: Option<BTreeSet<String>>,
    /// `type=...,source=...,target=...[,readonly]`.
    pub mounts: Option<BTreeSet<String>>,
    pub networks: Option<Vec<NetworkSpec>>,
    pub network_mode: Option<String>,
    /// `target:alias`.
    pub links: Option<BTreeSet<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub restart_policy: Option<String>,
    pub restart_retries: Option<i64>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub hostname: Option<String>,
    pub healthcheck: Option<Healthcheck>,
    pub log_driver: Option<String>,
    pub log_options: Option<BTreeMap<String, String>>,
    pub memory: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub cap_add: Option<BTreeSet<String>>,
    pub cap_drop: Option<BTreeSet<String>>,
    pub privileged: Option<bool>,
    pub init: Option<bool>,
    pub read_only: Option<bool>,
    pub tty: Option<bool>,
    pub interactive: Option<bool>,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<i64>,
}

fn arg_err(arg: &str, msg: impl Into<String>) -> ModuleError {
    ArgError::new(Some(arg), msg).into()
}

/// A command or entrypoint: a list as given, a string split as a shell would.
pub fn words(arg: &str, v: &Value) -> Result<Vec<String>, ModuleError> {
    match v {
        Value::Array(a) => Ok(a.iter().map(value_to_string).collect()),
        Value::String(s) => {
            crate::shlex::split(s).map_err(|e| arg_err(arg, format!("cannot split `{s}`: {e}")))
        }
        other => Ok(vec![value_to_string(other)]),
    }
}

/// `30s`, `1m30s`, `500ms`, `2h`, `1.5s`, or a number of seconds → nanoseconds.
pub fn duration_ns(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return (secs >= 0.0).then_some((secs * 1e9) as i64);
    }
    let mut total = 0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * scale;
    }
    Some(total as i64)
}

/// `512m`, `1g`, `1.5G`, `1024` (bytes), `64k` → bytes, as `docker run --memory` reads them.
pub fn size_bytes(text: &str) -> Option<i64> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, scale) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 1024f64),
        'm' => (&t[..t.len() - 1], 1024f64 * 1024.0),
        'g' => (&t[..t.len() - 1], 1024f64 * 1024.0 * 1024.0),
        't' => (&t[..t.len() - 1], 1024f64.powi(4)),
        _ => (t, 1.0),
    };
    let n: f64 = num.trim().parse().ok()?;
    (n >= 0.0).then_some((n * scale) as i64)
}

/// `8080:80`, `127.0.0.1:8080:80/udp`, `80`, `127.0.0.1::80`, `8000-8001:80-81`.
pub fn parse_ports(items: &[String]) -> Result<BTreeSet<Port>, ModuleError> {
    let mut out = BTreeSet::new();
    for item in items {
        let bad = || {
            arg_err("published_ports", format!("cannot read `{item}` (HOST:CONTAINER, IP:HOST:CONTAINER or CONTAINER, with an optional /tcp or /udp)"))
        };
        let (spec, proto) = match item.rsplit_once('/') {
            Some((s, p)) if ["tcp", "udp", "sctp"].contains(&p) => (s, p),
            Some(_) => return Err(bad()),
            None => (item.as_str(), "tcp"),
        };
        // An IPv6 address in brackets may contain colons.
        let parts: Vec<&str> = if let Some(rest) = spec.strip_prefix('[') {
            let (ip, rest) = rest.split_once("]:").ok_or_else(bad)?;
            let mut v = vec![ip];
            v.extend(rest.splitn(2, ':'));
            v
        } else {
            spec.split(':').collect()
        };
        let (ip, host, cont) = match parts.as_slice() {
            [c] => ("", "", *c),
            [h, c] => ("", *h, *c),
            [i, h, c] => (*i, *h, *c),
            _ => return Err(bad()),
        };
        let ip = if ip == "0.0.0.0" { "" } else { ip };
        let range = |r: &str| -> Result<Vec<u32>, ModuleError> {
            match r.split_once('-') {
                Some((a, b)) => {
                    let (a, b): (u32, u32) =
                        (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                    if a > b || b > 65535 {
                        return Err(bad());
                    }
                    Ok((a..=b).collect())
                }
                None => Ok(vec![r
                    .parse()
                    .ok()
                    .filter(|p| *p <= 65535)
                    .ok_or_else(bad)?]),
            }
        };
        let conts = range(cont)?;
        let hosts = if host.is_empty() {
            Vec::new()
        } else {
            range(host)?
        };
        if !hosts.is_empty() && hosts.len() != conts.len() && hosts.len() != 1 {
            return Err(bad());
        }
        for (i, c) in conts.iter().enumerate() {
            let host_port = match hosts.len() {
                0 => String::new(),
                1 if conts.len() > 1 => hosts[0].to_string(),
                _ => hosts[i].to_string(),
            };
            out.insert(Port {
                host_ip: ip.to_string(),
                host_port,
                container: format!("{c}/{proto}"),
            });
        }
    }
    Ok(out)
}

/// A bind as Docker keeps it: `src:dst`, `src:dst:ro` (the default `rw` left out, options
/// sorted).
pub fn normalize_bind(bind: &str) -> String {
    let parts: Vec<&str> = bind.splitn(3, ':').collect();
    match parts.as_slice() {
        [src, dst, opts] => {
            let mut o: Vec<&str> = opts
                .split(',')
                .filter(|o| !o.is_empty() && *o != "rw")
                .collect();
            o.sort_unstable();
            if o.is_empty() {
                format!("{src}:{dst}")
            } else {
                format!("{src}:{dst}:{}", o.join(","))
            }
        }
        _ => bind.to_string(),
    }
}

/// `NET_ADMIN`, `cap_net_admin` → `NET_ADMIN`.
pub fn normalize_cap(c: &str) -> String {
    let u = c.trim().to_ascii_uppercase();
    u.strip_prefix("CAP_").map(str::to_string).unwrap_or(u)
}

/// An env value: `_env:NAME` read from the controller's environment (it is then a secret).
pub fn resolve_env_value(key: &str, v: &Value) -> Result<(String, bool), ModuleError> {
    let text = value_to_string(v);
    if let Some(var) = text.strip_prefix(ENV_PREFIX) {
        return match std::env::var(var) {
            Ok(val) => Ok((val, true)),
            Err(_) => Err(arg_err(
                "env",
                format!("{key}: `{ENV_PREFIX}{var}` names the controller environment variable {var}, which is not set"),
            )),
        };
    }
    Ok((text, is_secret_name(key)))
}

/// `KEY=VALUE` lines of an env file (comments and blank lines skipped).
pub fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect()
}

fn string_map(arg: &str, m: &Map<String, Value>) -> BTreeMap<String, String> {
    let _ = arg;
    m.iter()
        .map(|(k, v)| (k.clone(), value_to_string(v)))
        .collect()
}

fn set(items: Vec<String>) -> BTreeSet<String> {
    items.into_iter().collect()
}

impl ContainerSpec {
    /// Read the options of a `docker_container` task (or a service's replica). `env_file` text
    /// is passed in, read from the host by the caller.
    pub fn from_params(p: &Params, env_file: Option<&str>) -> Result<ContainerSpec, ModuleError> {
        let mut s = ContainerSpec {
            name: p.req_str("name")?,
            image: p.str("image").filter(|i| !i.is_empty()),
            ..ContainerSpec::default()
        };
        if let Some(v) = p.raw("command").filter(|v| !v.is_null()) {
            s.command = Some(words("command", v)?);
        }
        if let Some(v) = p.raw("entrypoint").filter(|v| !v.is_null()) {
            s.entrypoint = Some(words("entrypoint", v)?);
        }
        let mut env: Option<BTreeMap<String, String>> = env_file.map(parse_env_file);
        if let Some(file_env) = &env {
            for k in file_env.keys().filter(|k| is_secret_name(k)) {
                s.secret_env.insert(k.clone());
            }
        }
        if let Some(m) = p.dict("env") {
            let e = env.get_or_insert_with(BTreeMap::new);
            for (k, v) in m {
                let (val, secret) = resolve_env_value(k, v)?;
                if secret {
                    s.secret_env.insert(k.clone());
                }
                e.insert(k.clone(), val);
            }
        }
        s.env = env;
        if let Some(items) = p.list("published_ports") {
            s.ports = Some(parse_ports(&items)?);
        }
        if let Some(items) = p.list("exposed_ports") {
            s.exposed = Some(
                items
                    .iter()
                    .map(|e| {
                        if e.contains('/') {
                            e.clone()
                        } else {
                            format!("{e}/tcp")
                        }
                    })
                    .collect(),
            );
        }
        if let Some(items) = p.list("volumes") {
            let (binds, anon): (Vec<String>, Vec<String>) =
                items.into_iter().partition(|v| v.contains(':'));
            s.binds = Some(binds.iter().map(|b| normalize_bind(b)).collect());
            s.anonymous_volumes = Some(set(anon));
        }
        if let Some(v) = p.raw("mounts").filter(|v| !v.is_null()) {
            s.mounts = Some(parse_mounts(v)?);
        }
        if let Some(v) = p.raw("networks").filter(|v| !v.is_null()) {
            s.networks = Some(parse_networks(v)?);
        }
        s.network_mode = p.str("network_mode");
        if let Some(items) = p.list("links") {
            s.links = Some(
                items
                    .iter()
                    .map(|l| match l.split_once(':') {
                        Some((t, a)) => format!("{t}:{a}"),
                        None => format!("{l}:{l}"),
                    })
                    .collect(),
            );
        }
        s.labels = p.dict("labels").map(|m| string_map("labels", m));
        s.restart_policy = p.str("restart_policy");
        s.restart_retries = p.int("restart_retries");
        s.user = p.str("user");
        s.working_dir = p.str("working_dir");
        s.hostname = p.str("hostname");
        if let Some(h) = p.dict("healthcheck") {
            s.healthcheck = Some(parse_healthcheck(h)?);
        }
        s.log_driver = p.str("log_driver");
        s.log_options = p.dict("log_options").map(|m| string_map("log_options", m));
        if let Some(m) = p.str("memory") {
            s.memory = Some(
                size_bytes(&m)
                    .ok_or_else(|| arg_err("memory", format!("`{m}` is not a size (512m, 1g)")))?,
            );
        }
        if let Some(c) = p.float("cpus") {
            s.nano_cpus = Some((c * 1e9).round() as i64);
        }
        s.cap_add = p
            .list("capabilities")
            .map(|l| l.iter().map(|c| normalize_cap(c)).collect());
        s.cap_drop = p
            .list("cap_drop")
            .map(|l| l.iter().map(|c| normalize_cap(c)).collect());
        s.privileged = p.bool("privileged");
        s.init = p.bool("init");
        s.read_only = p.bool("read_only");
        s.tty = p.bool("tty");
        s.interactive = p.bool("interactive");
        s.stop_signal = p.str("stop_signal").map(|sig| normalize_signal(&sig));
        s.stop_timeout = p.int("stop_timeout");
        Ok(s)
    }

    /// The Engine API create body. `extra_labels` are converge's own (project, service, ...).
    pub fn create_body(&self, image: &str) -> Value {
        let mut config = Map::new();
        config.insert("Image".into(), json!(image));
        if let Some(c) = &self.command {
            config.insert("Cmd".into(), json!(c));
        }
        if let Some(e) = &self.entrypoint {
            config.insert("Entrypoint".into(), json!(e));
        }
        if let Some(env) = &self.env {
            let list: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            config.insert("Env".into(), json!(list));
        }
        if let Some(l) = &self.labels {
            config.insert("Labels".into(), json!(l));
        }
        let mut exposed: Map<String, Value> = Map::new();
        for p in self.exposed.iter().flatten() {
            exposed.insert(p.clone(), json!({}));
        }
        for p in self.ports.iter().flatten() {
            exposed.insert(p.container.clone(), json!({}));
        }
        if !exposed.is_empty() {
            config.insert("ExposedPorts".into(), Value::Object(exposed));
        }
        if let Some(v) = &self.anonymous_volumes {
            let m: Map<String, Value> = v.iter().map(|p| (p.clone(), json!({}))).collect();
            config.insert("Volumes".into(), Value::Object(m));
        }
        for (key, v) in [
            ("User", &self.user),
            ("WorkingDir", &self.working_dir),
            ("Hostname", &self.hostname),
            ("StopSignal", &self.stop_signal),
        ] {
            if let Some(v) = v {
                config.insert(key.into(), json!(v));
            }
        }
        if let Some(t) = self.stop_timeout {
            config.insert("StopTimeout".into(), json!(t));
        }
        if let Some(h) = &self.healthcheck {
            let mut m = Map::new();
            if let Some(t) = &h.test {
                m.insert("Test".into(), json!(t));
            }
            for (k, v) in [
                ("Interval", h.interval),
                ("Timeout", h.timeout),
                ("Retries", h.retries),
                ("StartPeriod", h.start_period),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), json!(v));
                }
            }
            config.insert("Healthcheck".into(), Value::Object(m));
        }
        if let Some(t) = self.tty {
            config.insert("Tty".into(), json!(t));
        }
        if let Some(i) = self.interactive {
            config.insert("OpenStdin".into(), json!(i));
        }

        let mut host = Map::new();
        if let Some(b) = &self.binds {
            host.insert("Binds".into(), json!(b));
        }
        if let Some(m) = &self.mounts {
            host.insert(
                "Mounts".into(),
                Value::Array(m.iter().map(|m| mount_body(m)).collect()),
            );
        }
        if let Some(ports) = &self.ports {
            let mut pb: Map<String, Value> = Map::new();
            for p in ports {
                let entry = pb.entry(p.container.clone()).or_insert_with(|| json!([]));
                if let Value::Array(a) = entry {
                    a.push(json!({"HostIp": p.host_ip, "HostPort": p.host_port}));
                }
            }
            host.insert("PortBindings".into(), Value::Object(pb));
        }
        if let Some(rp) = &self.restart_policy {
            host.insert(
                "RestartPolicy".into(),
                json!({"Name": rp, "MaximumRetryCount": self.restart_retries.unwrap_or(0)}),
            );
        }
        if let Some(m) = self.memory {
            host.insert("Memory".into(), json!(m));
        }
        if let Some(n) = self.nano_cpus {
            host.insert("NanoCpus".into(), json!(n));
        }
        if let Some(c) = &self.cap_add {
            host.insert("CapAdd".into(), json!(c));
        }
        if let Some(c) = &self.cap_drop {
            host.insert("CapDrop".into(), json!(c));
        }
        if let Some(l) = &self.links {
            host.insert("Links".into(), json!(l));
        }
        if self.log_driver.is_some() || self.log_options.is_some() {
            host.insert(
                "LogConfig".into(),
                json!({"Type": self.log_driver.clone().unwrap_or_default(), "Config": self.log_options.clone().unwrap_or_default()}),
            );
        }
        let first_net = self.networks.as_ref().and_then(|n| n.first());
        match (&self.network_mode, first_net) {
            (Some(m), _) => {
                host.insert("NetworkMode".into(), json!(m));
            }
            (None, Some(n)) => {
                host.insert("NetworkMode".into(), json!(n.name));
            }
            _ => {}
        }
        for (key, v) in [
            ("Privileged", self.privileged),
            ("Init", self.init),
            ("ReadonlyRootfs", self.read_only),
        ] {
            if let Some(v) = v {
                host.insert(key.into(), json!(v));
            }
        }
        let mut body = json!({"Config": Value::Object(config), "HostConfig": Value::Object(host)});
        if let Some(n) = first_net {
            body["NetworkingConfig"] =
                json!({"EndpointsConfig": {n.name.clone(): {"Aliases": n.aliases}}});
        }
        // The API takes Config's fields at the top level of the body.
        let mut flat = body["Config"].as_object().cloned().unwrap_or_default();
        flat.insert("HostConfig".into(), body["HostConfig"].take());
        if let Some(nc) = body.get_mut("NetworkingConfig") {
            flat.insert("NetworkingConfig".into(), nc.take());
        }
        Value::Object(flat)
    }
}

/// `SIGTERM`, `term`, `15` → `SIGTERM` (numbers kept).
pub fn normalize_signal(sig: &str) -> String {
    let s = sig.trim().to_ascii_uppercase();
    if s.chars().all(|c| c.is_ascii_digit()) || s.starts_with("SIG") {
        s
    } else {
        format!("SIG{s}")
    }
}

fn parse_mounts(v: &Value) -> Result<BTreeSet<String>, ModuleError> {
    let items = v.as_array().ok_or_else(|| {
        arg_err(
            "mounts",
            "must be a list of {source, target, type, read_only}",
        )
    })?;
    let mut out = BTreeSet::new();
    for m in items {
        let get = |k: &str| m.get(k).map(value_to_string).unwrap_or_default();
        let target = get("target");
        if target.is_empty() {
            return Err(arg_err("mounts", "every mount needs a `target`"));
        }
        let kind = m
            .get("type")
            .map(value_to_string)
            .unwrap_or_else(|| "volume".into());
        let mut text = format!("type={kind},source={},target={target}", get("source"));
        if m.get("read_only").and_then(crate::args::to_bool) == Some(true) {
            text.push_str(",readonly");
        }
        out.insert(text);
    }
    Ok(out)
}

/// The API body of a normalised mount text.
fn mount_body(text: &str) -> Value {
    let mut m = Map::new();
    for part in text.split(',') {
        match part.split_once('=') {
            Some(("type", v)) => m.insert("Type".into(), json!(v)),
            Some(("source", v)) => m.insert("Source".into(), json!(v)),
            Some(("target", v)) => m.insert("Target".into(), json!(v)),
            None if part == "readonly" => m.insert("ReadOnly".into(), json!(true)),
            _ => None,
        };
    }
    Value::Object(m)
}

fn parse_networks(v: &Value) -> Result<Vec<NetworkSpec>, ModuleError> {
    let items: Vec<Value> = match v {
        Value::Array(a) => a.clone(),
        Value::String(_) => vec![v.clone()],
        _ => {
            return Err(arg_err(
                "networks",
                "must be a list of network names or {name, aliases}",
            ))
        }
    };
    items
        .iter()
        .map(|n| match n {
            Value::String(name) => Ok(NetworkSpec {
                name: name.clone(),
                aliases: Vec::new(),
            }),
            Value::Object(m) => {
                let name = m
                    .get("name")
                    .map(value_to_string)
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| arg_err("networks", "every network needs a `name`"))?;
                let aliases = match m.get("aliases") {
                    Some(Value::Array(a)) => a.iter().map(value_to_string).collect(),
                    Some(Value::String(s)) => vec![s.clone()],
                    _ => Vec::new(),
                };
                Ok(NetworkSpec { name, aliases })
            }
            _ => Err(arg_err(
                "networks",
                "must be a list of network names or {name, aliases}",
            )),
        })
        .collect()
}

fn parse_healthcheck(h: &Map<String, Value>) -> Result<Healthcheck, ModuleError> {
    let mut hc = Healthcheck::default();
    if let Some(t) = h.get("test") {
        hc.test = Some(match t {
            Value::String(s) if s.eq_ignore_ascii_case("none") => vec!["NONE".to_string()],
            Value::String(s) => vec!["CMD-SHELL".to_string(), s.clone()],
            Value::Array(a) => {
                let w: Vec<String> = a.iter().map(value_to_string).collect();
                match w.first().map(String::as_str) {
                    Some("CMD") | Some("CMD-SHELL") | Some("NONE") => w,
                    _ => std::iter::once("CMD".to_string()).chain(w).collect(),
                }
            }
            _ => return Err(arg_err("healthcheck", "`test` must be a string or a list")),
        });
    }
    let dur = |k: &str| -> Result<Option<i64>, ModuleError> {
        h.get(k)
            .map(|v| {
                let t = value_to_string(v);
                duration_ns(&t).ok_or_else(|| {
                    arg_err(
                        "healthcheck",
                        format!("{k}: `{t}` is not a duration (30s, 1m30s)"),
                    )
                })
            })
            .transpose()
    };
    hc.interval = dur("interval")?;
    hc.timeout = dur("timeout")?;
    hc.start_period = dur("start_period")?;
    hc.retries = h.get("retries").and_then(crate::args::to_int);
    Ok(hc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(duration_ns("30s"), Some(30_000_000_000));
        assert_eq!(duration_ns("1m30s"), Some(90_000_000_000));
        assert_eq!(duration_ns("500ms"), Some(500_000_000));
        assert_eq!(duration_ns("2"), Some(2_000_000_000));
        assert_eq!(duration_ns("5 parsecs"), None);
        assert_eq!(size_bytes("512m"), Some(512 * 1024 * 1024));
        assert_eq!(size_bytes("1g"), Some(1 << 30));
        assert_eq!(size_bytes("1GB"), Some(1 << 30));
        assert_eq!(size_bytes("4096"), Some(4096));
        assert_eq!(size_bytes("lots"), None);
    }

    #[test]
    fn ports_are_normalised() {
        let p = parse_ports(&[
            "8080:80".into(),
            "0.0.0.0:53:53/udp".into(),
            "127.0.0.1::9000".into(),
            "443".into(),
            "7000-7001:8000-8001".into(),
        ])
        .unwrap();
        let texts: Vec<String> = p.iter().map(Port::text).collect();
        assert_eq!(
            texts,
            [
                "443/tcp",
                "53:53/udp",
                "7000:8000/tcp",
                "7001:8001/tcp",
                "8080:80/tcp",
                "127.0.0.1::9000/tcp"
            ]
        );
        assert!(parse_ports(&["80:http".into()]).is_err());
        assert!(parse_ports(&["1:2:3:4".into()]).is_err());
    }

    #[test]
    fn binds_caps_signals() {
        assert_eq!(normalize_bind("/a:/b:rw"), "/a:/b");
        assert_eq!(normalize_bind("/a:/b:z,ro"), "/a:/b:ro,z");
        assert_eq!(normalize_cap("cap_net_admin"), "NET_ADMIN");
        assert_eq!(normalize_signal("usr1"), "SIGUSR1");
        assert_eq!(normalize_signal("SIGTERM"), "SIGTERM");
    }

    #[test]
    fn env_from_the_controller_is_secret_and_must_exist() {
        std::env::set_var("CONVERGE_SPEC_TEST_KEY", "s3cr3t");
        assert_eq!(
            resolve_env_value("API", &json!("_env:CONVERGE_SPEC_TEST_KEY")).unwrap(),
            ("s3cr3t".into(), true)
        );
        assert_eq!(
            resolve_env_value("DB_PASSWORD", &json!("x")).unwrap(),
            ("x".into(), true)
        );
        assert_eq!(
            resolve_env_value("MODE", &json!(1)).unwrap(),
            ("1".into(), false)
        );
        let e = resolve_env_value("API", &json!("_env:CONVERGE_SPEC_UNSET_VAR")).unwrap_err();
        assert!(
            e.to_string()
                .contains("CONVERGE_SPEC_UNSET_VAR, which is not set"),
            "{e}"
        );
    }

    #[test]
    fn create_body_is_flat_with_host_config() {
        let s = ContainerSpec {
            name: "c".into(),
            command: Some(vec!["run".into()]),
            ports: Some(parse_ports(&["8080:80".into()]).unwrap()),
            networks: Some(vec![NetworkSpec {
                name: "n".into(),
                aliases: vec!["a".into()],
            }]),
            restart_policy: Some("always".into()),
            ..ContainerSpec::default()
        };
        let b = s.create_body("app:1");
        assert_eq!(b["Image"], "app:1");
        assert_eq!(b["Cmd"], json!(["run"]));
        assert_eq!(b["ExposedPorts"], json!({"80/tcp": {}}));
        assert_eq!(
            b["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"],
            "8080"
        );
        assert_eq!(b["HostConfig"]["NetworkMode"], "n");
        assert_eq!(
            b["NetworkingConfig"]["EndpointsConfig"]["n"]["Aliases"],
            json!(["a"])
        );
    }
}
