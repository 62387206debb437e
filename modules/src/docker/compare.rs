//! The options table: for every container option, how to read the declared value (with the
//! defaults the image supplies), how to read the same thing from `docker inspect`, how to
//! compare them (`strict`, `allow_more_present`, `ignore`, as community.docker's
//! `comparisons`), and what a difference costs: a recreate, or a live `docker update` /
//! `docker network connect`. Only declared options are compared.

use super::spec::{ContainerSpec, Port};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// How a declared value is compared with the container's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Strict,
    /// The container may have more (list entries, map keys) than declared.
    AllowMorePresent,
    Ignore,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "strict" => Some(Kind::Strict),
            "allow_more_present" => Some(Kind::AllowMorePresent),
            "ignore" => Some(Kind::Ignore),
            _ => None,
        }
    }
}

/// What it takes to change an option on an existing container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    Recreate,
    /// `docker update` changes it on the live container.
    Update,
    /// `docker network connect`.
    Connect,
}

/// A comparable value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Scalar(String),
    List(Vec<String>),
    Set(BTreeSet<String>),
    Map(BTreeMap<String, String>),
}

/// One row of the table.
pub struct Opt {
    /// community.docker's option name.
    pub name: &'static str,
    pub kind: Kind,
    pub fix: Fix,
    pub desired: fn(&ContainerSpec, &Value) -> Option<Field>,
    pub actual: fn(&Value) -> Field,
}

/// A difference found, with the lines that explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub option: &'static str,
    pub fix: Fix,
    /// `env.API_KEY: (secret) changed`, `published_ports: + 8080:80/tcp`.
    pub summary: Vec<String>,
    /// `key: value` lines of the container as it is and as declared, for the unified diff.
    pub before: Vec<String>,
    pub after: Vec<String>,
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(|x| text(Some(x))).collect())
        .unwrap_or_default()
}

fn keys(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), text(Some(v)))).collect())
        .unwrap_or_default()
}

fn env_map(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (e.clone(), String::new()),
        })
        .collect()
}

fn cfg<'a>(c: &'a Value, key: &str) -> Option<&'a Value> {
    c.get("Config").and_then(|x| x.get(key))
}

fn host<'a>(c: &'a Value, key: &str) -> Option<&'a Value> {
    c.get("HostConfig").and_then(|x| x.get(key))
}

fn scalar(s: &Option<String>) -> Option<Field> {
    s.as_ref().map(|v| Field::Scalar(v.clone()))
}

fn boolean(b: Option<bool>) -> Option<Field> {
    b.map(|v| Field::Scalar(v.to_string()))
}

fn actual_bool(v: Option<&Value>) -> Field {
    Field::Scalar(v.and_then(Value::as_bool).unwrap_or(false).to_string())
}

fn actual_int(v: Option<&Value>) -> Field {
    Field::Scalar(v.and_then(Value::as_i64).unwrap_or(0).to_string())
}

/// Ports as `docker inspect` has them, normalised like declared ones.
pub fn actual_ports(c: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(m) = host(c, "PortBindings").and_then(Value::as_object) {
        for (cport, binds) in m {
            for b in binds.as_array().into_iter().flatten() {
                let ip = text(b.get("HostIp"));
                out.insert(
                    Port {
                        host_ip: if ip == "0.0.0.0" { String::new() } else { ip },
                        host_port: text(b.get("HostPort")),
                        container: cport.clone(),
                    }
                    .text(),
                );
            }
        }
    }
    out
}

fn actual_mounts(c: &Value) -> BTreeSet<String> {
    host(c, "Mounts")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|m| {
                    let mut t = format!(
                        "type={},source={},target={}",
                        text(m.get("Type")),
                        text(m.get("Source")),
                        text(m.get("Target"))
                    );
                    if m.get("ReadOnly").and_then(Value::as_bool) == Some(true) {
                        t.push_str(",readonly");
                    }
                    t
                })
                .collect()
        })
        .unwrap_or_default()
}

fn actual_links(c: &Value) -> BTreeSet<String> {
    // Docker keeps `/target:/name/alias`.
    strings(host(c, "Links"))
        .iter()
        .filter_map(|l| {
            let (t, a) = l.split_once(':')?;
            Some(format!(
                "{}:{}",
                t.trim_start_matches('/'),
                a.rsplit('/').next().unwrap_or(a)
            ))
        })
        .collect()
}

/// A healthcheck test as one comparable text: `CMD a b` and `CMD-SHELL a b` (what the docker
/// CLI makes of it) are the same check.
fn test_text(words: &[String]) -> String {
    match words.split_first() {
        Some((first, rest)) if first == "CMD" => format!(
            "CMD-SHELL {}",
            rest.iter()
                .map(|w| crate::target::shell_quote(w))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        _ => words.join(" "),
    }
}

fn actual_healthcheck(c: &Value) -> Field {
    let h = cfg(c, "Healthcheck");
    let mut m = BTreeMap::new();
    if let Some(h) = h {
        m.insert("test".into(), test_text(&strings(h.get("Test"))));
        for (k, key) in [
            ("interval", "Interval"),
            ("timeout", "Timeout"),
            ("retries", "Retries"),
            ("start_period", "StartPeriod"),
        ] {
            m.insert(
                k.into(),
                h.get(key).and_then(Value::as_i64).unwrap_or(0).to_string(),
            );
        }
    }
    Field::Map(m)
}

fn network_names(c: &Value) -> BTreeSet<String> {
    keys(c.pointer("/NetworkSettings/Networks"))
}

fn network_aliases(c: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(m) = c
        .pointer("/NetworkSettings/Networks")
        .and_then(Value::as_object)
    {
        for (net, ep) in m {
            for a in strings(ep.get("Aliases")) {
                out.insert(format!("{net}/{a}"));
            }
        }
    }
    out
}

fn merged_env(s: &ContainerSpec, image: &Value) -> Option<Field> {
    let declared = s.env.as_ref()?;
    let mut m = env_map(&strings(cfg(image, "Env")));
    m.extend(declared.iter().map(|(k, v)| (k.clone(), v.clone())));
    Some(Field::Map(m))
}

fn merged_labels(s: &ContainerSpec, image: &Value) -> Option<Field> {
    let declared = s.labels.as_ref()?;
    let mut m = string_map(cfg(image, "Labels"));
    m.extend(declared.iter().map(|(k, v)| (k.clone(), v.clone())));
    Some(Field::Map(m))
}

fn exposed(s: &ContainerSpec, image: &Value) -> Option<Field> {
    let declared = s.exposed.as_ref()?;
    let mut all: BTreeSet<String> = declared.clone();
    all.extend(keys(cfg(image, "ExposedPorts")));
    all.extend(s.ports.iter().flatten().map(|p| p.container.clone()));
    Some(Field::Set(all))
}

fn stop_signal_actual(c: &Value) -> Field {
    let s = text(cfg(c, "StopSignal"));
    Field::Scalar(if s.is_empty() {
        "SIGTERM".into()
    } else {
        super::spec::normalize_signal(&s)
    })
}

fn restart_name(c: &Value) -> Field {
    let n = text(host(c, "RestartPolicy").and_then(|r| r.get("Name")));
    Field::Scalar(if n.is_empty() { "no".into() } else { n })
}

fn declared_healthcheck(s: &ContainerSpec, _: &Value) -> Option<Field> {
    let h = s.healthcheck.as_ref()?;
    let mut m = BTreeMap::new();
    if let Some(t) = &h.test {
        m.insert("test".into(), test_text(t));
    }
    for (k, v) in [
        ("interval", h.interval),
        ("timeout", h.timeout),
        ("retries", h.retries),
        ("start_period", h.start_period),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), v.to_string());
        }
    }
    Some(Field::Map(m))
}

/// Every option converge compares. The image is compared separately (by ID, see
/// `container.rs`).
pub static OPTIONS: &[Opt] = &[
    Opt {
        name: "command",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| s.command.clone().map(Field::List),
        actual: |c| Field::List(strings(cfg(c, "Cmd"))),
    },
    Opt {
        name: "entrypoint",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| s.entrypoint.clone().map(Field::List),
        actual: |c| Field::List(strings(cfg(c, "Entrypoint"))),
    },
    Opt {
        name: "env",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: merged_env,
        actual: |c| Field::Map(env_map(&strings(cfg(c, "Env")))),
    },
    Opt {
        name: "published_ports",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| {
            s.ports
                .as_ref()
                .map(|p| Field::Set(p.iter().map(Port::text).collect()))
        },
        actual: |c| Field::Set(actual_ports(c)),
    },
    Opt {
        name: "exposed_ports",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: exposed,
        actual: |c| Field::Set(keys(cfg(c, "ExposedPorts"))),
    },
    Opt {
        name: "volumes",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| s.binds.clone().map(Field::Set),
        actual: |c| {
            Field::Set(
                strings(host(c, "Binds"))
                    .iter()
                    .map(|b| super::spec::normalize_bind(b))
                    .collect(),
            )
        },
    },
    Opt {
        name: "anonymous_volumes",
        kind: Kind::AllowMorePresent,
        fix: Fix::Recreate,
        desired: |s, _| {
            s.anonymous_volumes
                .clone()
                .filter(|v| !v.is_empty())
                .map(Field::Set)
        },
        actual: |c| Field::Set(keys(cfg(c, "Volumes"))),
    },
    Opt {
        name: "mounts",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| s.mounts.clone().map(Field::Set),
        actual: |c| Field::Set(actual_mounts(c)),
    },
    Opt {
        name: "networks",
        kind: Kind::AllowMorePresent,
        fix: Fix::Connect,
        desired: |s, _| {
            s.networks
                .as_ref()
                .map(|n| Field::Set(n.iter().map(|n| n.name.clone()).collect()))
        },
        actual: |c| Field::Set(network_names(c)),
    },
    Opt {
        name: "network_aliases",
        kind: Kind::AllowMorePresent,
        fix: Fix::Recreate,
        desired: |s, _| {
            s.networks
                .as_ref()
                .map(|n| {
                    Field::Set(
                        n.iter()
                            .flat_map(|n| n.aliases.iter().map(move |a| format!("{}/{a}", n.name)))
                            .collect(),
                    )
                })
                .filter(|f| f != &Field::Set(BTreeSet::new()))
        },
        actual: |c| Field::Set(network_aliases(c)),
    },
    Opt {
        name: "network_mode",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| {
            s.network_mode.as_ref().map(|m| {
                Field::Scalar(if m == "default" {
                    "bridge".into()
                } else {
                    m.clone()
                })
            })
        },
        actual: |c| {
            let m = text(host(c, "NetworkMode"));
            Field::Scalar(if m == "default" { "bridge".into() } else { m })
        },
    },
    Opt {
        name: "links",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| s.links.clone().map(Field::Set),
        actual: |c| Field::Set(actual_links(c)),
    },
    Opt {
        name: "labels",
        kind: Kind::AllowMorePresent,
        fix: Fix::Recreate,
        desired: merged_labels,
        actual: |c| Field::Map(string_map(cfg(c, "Labels"))),
    },
    Opt {
        name: "restart_policy",
        kind: Kind::Strict,
        fix: Fix::Update,
        desired: |s, _| scalar(&s.restart_policy),
        actual: restart_name,
    },
    Opt {
        name: "restart_retries",
        kind: Kind::Strict,
        fix: Fix::Update,
        desired: |s, _| s.restart_retries.map(|r| Field::Scalar(r.to_string())),
        actual: |c| actual_int(host(c, "RestartPolicy").and_then(|r| r.get("MaximumRetryCount"))),
    },
    Opt {
        name: "user",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| scalar(&s.user),
        actual: |c| Field::Scalar(text(cfg(c, "User"))),
    },
    Opt {
        name: "working_dir",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| scalar(&s.working_dir),
        actual: |c| Field::Scalar(text(cfg(c, "WorkingDir"))),
    },
    Opt {
        name: "hostname",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| scalar(&s.hostname),
        actual: |c| Field::Scalar(text(cfg(c, "Hostname"))),
    },
    Opt {
        name: "healthcheck",
        kind: Kind::AllowMorePresent,
        fix: Fix::Recreate,
        desired: declared_healthcheck,
        actual: actual_healthcheck,
    },
    Opt {
        name: "log_driver",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| scalar(&s.log_driver),
        actual: |c| Field::Scalar(text(host(c, "LogConfig").and_then(|l| l.get("Type")))),
    },
    Opt {
        name: "log_options",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| s.log_options.clone().map(Field::Map),
        actual: |c| {
            Field::Map(string_map(
                host(c, "LogConfig").and_then(|l| l.get("Config")),
            ))
        },
    },
    Opt {
        name: "memory",
        kind: Kind::Strict,
        fix: Fix::Update,
        desired: |s, _| s.memory.map(|m| Field::Scalar(m.to_string())),
        actual: |c| actual_int(host(c, "Memory")),
    },
    Opt {
        name: "cpus",
        kind: Kind::Strict,
        fix: Fix::Update,
        desired: |s, _| s.nano_cpus.map(|n| Field::Scalar(n.to_string())),
        actual: |c| actual_int(host(c, "NanoCpus")),
    },
    Opt {
        name: "capabilities",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| s.cap_add.clone().map(Field::Set),
        actual: |c| {
            Field::Set(
                strings(host(c, "CapAdd"))
                    .iter()
                    .map(|x| super::spec::normalize_cap(x))
                    .collect(),
            )
        },
    },
    Opt {
        name: "cap_drop",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| s.cap_drop.clone().map(Field::Set),
        actual: |c| {
            Field::Set(
                strings(host(c, "CapDrop"))
                    .iter()
                    .map(|x| super::spec::normalize_cap(x))
                    .collect(),
            )
        },
    },
    Opt {
        name: "privileged",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| boolean(s.privileged),
        actual: |c| actual_bool(host(c, "Privileged")),
    },
    Opt {
        name: "init",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| boolean(s.init),
        actual: |c| actual_bool(host(c, "Init")),
    },
    Opt {
        name: "read_only",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| boolean(s.read_only),
        actual: |c| actual_bool(host(c, "ReadonlyRootfs")),
    },
    Opt {
        name: "tty",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| boolean(s.tty),
        actual: |c| actual_bool(cfg(c, "Tty")),
    },
    Opt {
        name: "interactive",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| boolean(s.interactive),
        actual: |c| actual_bool(cfg(c, "OpenStdin")),
    },
    Opt {
        name: "stop_signal",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| scalar(&s.stop_signal),
        actual: stop_signal_actual,
    },
    Opt {
        name: "stop_timeout",
        kind: Kind::Strict,
        fix: Fix::Recreate,
        desired: |s, _| s.stop_timeout.map(|t| Field::Scalar(t.to_string())),
        actual: |c| actual_int(cfg(c, "StopTimeout")),
    },
];

/// The option names a `comparisons:` mapping may use (plus `image` and `*`).
pub fn option_names() -> impl Iterator<Item = &'static str> {
    std::iter::once("image").chain(OPTIONS.iter().map(|o| o.name))
}

/// Compare a declaration with a container (`image` is the declared image's inspect, or null).
/// `overrides` are the task's `comparisons`, `secret` says which env keys to mask.
pub fn differences(
    spec: &ContainerSpec,
    image: &Value,
    container: &Value,
    overrides: &BTreeMap<String, Kind>,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let wildcard = overrides.get("*").copied();
    for opt in OPTIONS {
        let kind = overrides
            .get(opt.name)
            .copied()
            .or(wildcard)
            .unwrap_or(opt.kind);
        if kind == Kind::Ignore {
            continue;
        }
        let Some(want) = (opt.desired)(spec, image) else {
            continue;
        };
        let have = (opt.actual)(container);
        if let Some(d) = compare(opt, kind, &want, &have, &spec.secret_env) {
            out.push(d);
        }
    }
    out
}

fn mask(option: &str, key: &str, value: &str, secret: &BTreeSet<String>) -> String {
    if option == "env" && (secret.contains(key) || super::spec::is_secret_name(key)) {
        "(secret)".to_string()
    } else {
        value.to_string()
    }
}

fn list_text(l: &[String]) -> String {
    serde_json::to_string(l).unwrap_or_default()
}

fn compare(
    opt: &Opt,
    kind: Kind,
    want: &Field,
    have: &Field,
    secret: &BTreeSet<String>,
) -> Option<Difference> {
    let name = opt.name;
    let mut d = Difference {
        option: name,
        fix: opt.fix,
        summary: Vec::new(),
        before: Vec::new(),
        after: Vec::new(),
    };
    match (want, have) {
        (Field::Scalar(w), Field::Scalar(h)) if w != h => {
            d.summary.push(format!("{name}: {h} → {w}", h = show(h)));
            d.before.push(format!("{name}: {}", show(h)));
            d.after.push(format!("{name}: {w}"));
        }
        (Field::List(w), Field::List(h)) if w != h => {
            d.summary
                .push(format!("{name}: {} → {}", list_text(h), list_text(w)));
            d.before.push(format!("{name}: {}", list_text(h)));
            d.after.push(format!("{name}: {}", list_text(w)));
        }
        (Field::Set(w), Field::Set(h)) => {
            let missing: Vec<&String> = w.difference(h).collect();
            let extra: Vec<&String> = if kind == Kind::Strict {
                h.difference(w).collect()
            } else {
                Vec::new()
            };
            for m in &missing {
                d.summary.push(format!("{name}: + {m}"));
            }
            for e in &extra {
                d.summary.push(format!("{name}: - {e}"));
            }
            if !missing.is_empty() || !extra.is_empty() {
                let shown: BTreeSet<&String> = if kind == Kind::Strict {
                    h.iter().collect()
                } else {
                    h.intersection(w).collect()
                };
                d.before
                    .extend(shown.iter().map(|v| format!("{name}: {v}")));
                d.after.extend(w.iter().map(|v| format!("{name}: {v}")));
            }
        }
        (Field::Map(w), Field::Map(h)) => {
            let mut keys: BTreeSet<&String> = w.keys().collect();
            if kind == Kind::Strict {
                keys.extend(h.keys());
            }
            for k in keys {
                let (wv, hv) = (w.get(k), h.get(k));
                if wv == hv {
                    continue;
                }
                let is_secret =
                    name == "env" && (secret.contains(k) || super::spec::is_secret_name(k));
                let line = match (hv, wv, is_secret) {
                    (Some(_), Some(_), true) => format!("{name}.{k}: (secret) changed"),
                    (None, Some(_), true) => format!("{name}.{k}: (secret) added"),
                    (Some(_), None, true) => format!("{name}.{k}: (secret) removed"),
                    (Some(h), Some(w), false) => format!("{name}.{k}: {} → {w}", show(h)),
                    (None, Some(w), false) => format!("{name}.{k}: + {w}"),
                    (Some(h), None, false) => format!("{name}.{k}: - {h}"),
                    (None, None, _) => continue,
                };
                d.summary.push(line);
                if let Some(h) = hv {
                    d.before
                        .push(format!("{name}.{k}: {}", mask(name, k, h, secret)));
                }
                if let Some(w) = wv {
                    let shown = mask(name, k, w, secret);
                    // Two secrets that differ must still show as a changed line.
                    let shown = if is_secret && hv.is_some() {
                        "(secret, changed)".to_string()
                    } else {
                        shown
                    };
                    d.after.push(format!("{name}.{k}: {shown}"));
                }
            }
        }
        _ => {}
    }
    (!d.summary.is_empty()).then_some(d)
}

fn show(v: &str) -> String {
    if v.is_empty() {
        "(none)".to_string()
    } else {
        v.to_string()
    }
}

/// The body of a `docker update` for the live-updatable differences.
pub fn update_body(spec: &ContainerSpec, diffs: &[Difference]) -> Value {
    let mut m = Map::new();
    for d in diffs.iter().filter(|d| d.fix == Fix::Update) {
        match d.option {
            "restart_policy" | "restart_retries" => {
                m.insert(
                    "RestartPolicy".into(),
                    serde_json::json!({
                        "Name": spec.restart_policy.clone().unwrap_or_else(|| "no".into()),
                        "MaximumRetryCount": spec.restart_retries.unwrap_or(0)
                    }),
                );
            }
            "memory" => {
                m.insert("Memory".into(), spec.memory.unwrap_or(0).into());
                // Without this Docker refuses a memory limit above the old swap limit.
                m.insert("MemorySwap".into(), (-1).into());
            }
            "cpus" => {
                m.insert("NanoCpus".into(), spec.nano_cpus.unwrap_or(0).into());
            }
            _ => {}
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::spec::parse_ports;
    use serde_json::json;

    fn inspect() -> Value {
        json!({
            "Image": "sha256:1",
            "Config": {"Image": "app:1", "Cmd": ["serve"], "Env": ["PATH=/usr/bin", "MODE=prod", "API_KEY=old"],
                       "Labels": {"maintainer": "x", "converge.project": "p"}, "ExposedPorts": {"80/tcp": {}}, "User": ""},
            "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]},
                           "RestartPolicy": {"Name": "", "MaximumRetryCount": 0}, "Memory": 0, "Binds": ["/srv:/data:rw"]},
            "NetworkSettings": {"Networks": {"bridge": {"Aliases": null}}}
        })
    }

    fn image() -> Value {
        json!({"Id": "sha256:1", "Config": {"Env": ["PATH=/usr/bin"], "Labels": {"maintainer": "x"}, "Cmd": ["serve"]}})
    }

    #[test]
    fn a_matching_declaration_has_no_differences() {
        let mut env = BTreeMap::new();
        env.insert("MODE".to_string(), "prod".to_string());
        env.insert("API_KEY".to_string(), "old".to_string());
        let s = ContainerSpec {
            name: "c".into(),
            command: Some(vec!["serve".into()]),
            env: Some(env),
            ports: Some(parse_ports(&["8080:80".into()]).unwrap()),
            binds: Some(["/srv:/data".to_string()].into_iter().collect()),
            labels: Some(BTreeMap::new()),
            restart_policy: Some("no".into()),
            ..ContainerSpec::default()
        };
        assert_eq!(
            differences(&s, &image(), &inspect(), &BTreeMap::new()),
            vec![]
        );
    }

    #[test]
    fn differences_name_each_field_and_hide_secrets() {
        let mut env = BTreeMap::new();
        env.insert("MODE".to_string(), "dev".to_string());
        env.insert("API_KEY".to_string(), "new".to_string());
        let s = ContainerSpec {
            name: "c".into(),
            env: Some(env),
            secret_env: ["API_KEY".to_string()].into_iter().collect(),
            ports: Some(parse_ports(&["8080:80".into(), "8443:443".into()]).unwrap()),
            restart_policy: Some("always".into()),
            memory: Some(1024),
            ..ContainerSpec::default()
        };
        let d = differences(&s, &image(), &inspect(), &BTreeMap::new());
        let lines: Vec<String> = d.iter().flat_map(|d| d.summary.clone()).collect();
        assert_eq!(
            lines,
            [
                "env.API_KEY: (secret) changed",
                "env.MODE: prod → dev",
                "published_ports: + 8443:443/tcp",
                "restart_policy: no → always",
                "memory: 0 → 1024",
            ]
        );
        let all = format!("{d:?}");
        assert!(!all.contains("old") && !all.contains("new"), "{all}");
        assert_eq!(
            d.iter().map(|d| d.fix).collect::<Vec<_>>(),
            [Fix::Recreate, Fix::Recreate, Fix::Update, Fix::Update]
        );
        let body = update_body(&s, &d);
        assert_eq!(body["RestartPolicy"]["Name"], "always");
        assert_eq!(body["Memory"], 1024);
    }

    #[test]
    fn comparisons_override_the_defaults() {
        let mut env = BTreeMap::new();
        env.insert("MODE".to_string(), "prod".to_string());
        let s = ContainerSpec {
            name: "c".into(),
            env: Some(env),
            ..ContainerSpec::default()
        };
        // Strict: API_KEY is in the container but not declared.
        let d = differences(&s, &image(), &inspect(), &BTreeMap::new());
        assert_eq!(d[0].summary, ["env.API_KEY: (secret) removed"]);
        let mut o = BTreeMap::new();
        o.insert("env".to_string(), Kind::AllowMorePresent);
        assert!(differences(&s, &image(), &inspect(), &o).is_empty());
        o.insert("env".to_string(), Kind::Ignore);
        assert!(differences(&s, &image(), &inspect(), &o).is_empty());
    }

    #[test]
    fn labels_added_by_others_are_allowed() {
        let mut l = BTreeMap::new();
        l.insert("converge.project".to_string(), "p".to_string());
        let s = ContainerSpec {
            name: "c".into(),
            labels: Some(l),
            ..ContainerSpec::default()
        };
        assert!(differences(&s, &image(), &inspect(), &BTreeMap::new()).is_empty());
    }
}
