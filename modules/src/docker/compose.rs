//! A docker-compose file (already read from YAML by the engine) as `docker_services`
//! services, so a team can point converge at the compose file it has.
//!
//! Mapped: `image`, `build`, `command`, `entrypoint`, `environment` (a whole `${VAR}` becomes
//! `_env:VAR`: read from the controller's environment, required, and secret; `${VAR:-x}` and
//! text around a variable are interpolated now), `env_file`, `ports` (published directly, as
//! compose does), `expose`, `volumes` (named volumes get the project prefix; relative bind
//! paths are placed under `/srv/converge/PROJECT/` on the host), `networks` (+`aliases`),
//! `depends_on`, `restart`, `deploy.replicas`, `healthcheck`, `labels`, `user`, `working_dir`,
//! `stop_signal`, `stop_grace_period`, `hostname`, `privileged`, `cap_add`, `cap_drop`,
//! `init`, `read_only`, `tty`, `mem_limit`, `cpus`; and an `x-converge` mapping per service
//! with converge's own options (`ports` through nginx, `health`, `pre_stop_sequence`,
//! `pre_start_signal`, `log_folder`). Anything else is refused by name.

use crate::args::value_to_string;
use serde_json::{json, Map, Value};

/// What a compose file declares, in converge's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Compose {
    pub services: Map<String, Value>,
    /// Project-prefixed names to create.
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
    /// The network every service joins (compose's `default`).
    pub default_network: String,
}

const IGNORED_TOP: &[&str] = &["version", "name", "secrets", "configs"];

/// Interpolate `${VAR}`, `${VAR:-default}`, `$VAR` from the controller's environment. A value
/// that is exactly one `${VAR}` becomes `_env:VAR` instead (so it stays secret).
pub fn interpolate(text: &str) -> Result<String, String> {
    interpolate_with(text, true)
}

fn interpolate_with(text: &str, keep_secret: bool) -> Result<String, String> {
    if let Some(var) = text
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .filter(|_| keep_secret)
    {
        if var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Ok(format!("{}{var}", crate::docker::spec::ENV_PREFIX));
        }
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(r) = rest.strip_prefix('{') {
            let end = r
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in `{text}`"))?;
            let expr = &r[..end];
            rest = &r[end + 1..];
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            match (std::env::var(name), default) {
                (Ok(v), None) => out.push_str(&v),
                (Ok(v), Some(_)) if !v.is_empty() => out.push_str(&v),
                (_, Some(d)) => out.push_str(d),
                (Err(_), None) => {
                    return Err(format!(
                    "`{text}` needs the controller environment variable {name}, which is not set"
                ))
                }
            }
        } else {
            let n = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..n];
            rest = &rest[n..];
            out.push_str(&std::env::var(name).map_err(|_| {
                format!(
                    "`{text}` needs the controller environment variable {name}, which is not set"
                )
            })?);
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn str_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(value_to_string).collect(),
        Value::Null => Vec::new(),
        other => vec![value_to_string(other)],
    }
}

/// `[K=V, ...]` or `{K: V}` → a mapping.
fn kv_map(v: &Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(value_to_string(v))))
            .collect(),
        Value::Array(a) => a
            .iter()
            .map(value_to_string)
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), Value::String(v.to_string())),
                // `- VAR` alone: compose takes it from the shell, converge from the controller.
                None => (
                    e.clone(),
                    Value::String(format!("{}{e}", crate::docker::spec::ENV_PREFIX)),
                ),
            })
            .collect(),
        _ => Map::new(),
    }
}

/// Read a compose document for `project`.
pub fn read(doc: &Value, project: &str) -> Result<Compose, String> {
    let top = doc.as_object().ok_or("a compose file must be a mapping")?;
    for k in top.keys() {
        if !["services", "networks", "volumes"].contains(&k.as_str())
            && !IGNORED_TOP.contains(&k.as_str())
            && !k.starts_with("x-")
        {
            return Err(format!("top-level `{k}` is not supported by converge"));
        }
    }
    let prefix = |n: &str| format!("{project}_{n}");
    let declared_networks: Vec<String> = top
        .get("networks")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let declared_volumes: Vec<String> = top
        .get("volumes")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let default_network = prefix("default");
    let mut services = Map::new();
    let defs = top
        .get("services")
        .and_then(Value::as_object)
        .ok_or("a compose file needs `services`")?;
    for (name, def) in defs {
        let m = def
            .as_object()
            .ok_or_else(|| format!("services.{name} must be a mapping"))?;
        let s =
            service(m, project, &declared_volumes).map_err(|e| format!("services.{name}: {e}"))?;
        services.insert(name.clone(), Value::Object(s));
    }
    Ok(Compose {
        services,
        networks: declared_networks
            .iter()
            .filter(|n| *n != "default")
            .map(|n| prefix(n))
            .collect(),
        volumes: declared_volumes.iter().map(|v| prefix(v)).collect(),
        default_network,
    })
}

/// Interpolate every string of a value (not `environment`, which keeps whole `${VAR}`s secret).
fn interpolate_all(v: &Value) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::String(interpolate_with(s, false)?),
        Value::Array(a) => Value::Array(a.iter().map(interpolate_all).collect::<Result<_, _>>()?),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        if k == "environment" {
                            v.clone()
                        } else {
                            interpolate_all(v)?
                        },
                    ))
                })
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn service(
    m: &Map<String, Value>,
    project: &str,
    volumes: &[String],
) -> Result<Map<String, Value>, String> {
    let mut s = Map::new();
    let m = interpolate_all(&Value::Object(m.clone()))?;
    let m = m.as_object().cloned().unwrap_or_default();
    // Compose restarts nothing unless told to (docker_services' own default is unless-stopped).
    s.insert("restart".into(), json!("no"));
    for (k, v) in &m {
        match k.as_str() {
            "image" | "command" | "entrypoint" | "user" | "working_dir" | "hostname"
            | "privileged" | "init" | "read_only" | "tty" | "stop_signal" | "cpus" | "restart" => {
                let key = if k == "restart" {
                    "restart"
                } else {
                    k.as_str()
                };
                s.insert(key.into(), v.clone());
            }
            "cap_add" => {
                s.insert("capabilities".into(), v.clone());
            }
            "cap_drop" => {
                s.insert("cap_drop".into(), v.clone());
            }
            "mem_limit" => {
                s.insert("memory".into(), Value::String(value_to_string(v)));
            }
            "stop_grace_period" => {
                s.insert("stop_grace".into(), v.clone());
            }
            "labels" => {
                s.insert("labels".into(), Value::Object(kv_map(v)));
            }
            "build" => {
                let b = match v {
                    Value::String(p) => json!({"path": p}),
                    Value::Object(b) => {
                        let mut o = Map::new();
                        o.insert(
                            "path".into(),
                            b.get("context").cloned().unwrap_or(json!(".")),
                        );
                        if let Some(d) = b.get("dockerfile") {
                            o.insert("dockerfile".into(), d.clone());
                        }
                        if let Some(a) = b.get("args") {
                            o.insert("args".into(), Value::Object(kv_map(a)));
                        }
                        Value::Object(o)
                    }
                    _ => return Err("build must be a path or a mapping".into()),
                };
                s.insert("build".into(), b);
            }
            "environment" => {
                let mut env = Map::new();
                for (k, v) in kv_map(v) {
                    env.insert(k, Value::String(interpolate(&value_to_string(&v))?));
                }
                s.insert("env".into(), Value::Object(env));
            }
            "env_file" => {
                s.insert("env_file".into(), json!(str_list(v)));
            }
            "ports" => {
                let mut out = Vec::new();
                for p in v.as_array().into_iter().flatten() {
                    out.push(match p {
                        Value::Object(o) => {
                            let target = o
                                .get("target")
                                .map(value_to_string)
                                .ok_or("a long-syntax port needs `target`")?;
                            let proto = o
                                .get("protocol")
                                .map(value_to_string)
                                .unwrap_or_else(|| "tcp".into());
                            let published =
                                o.get("published").map(value_to_string).unwrap_or_default();
                            match o.get("host_ip").map(value_to_string) {
                                Some(ip) => format!("{ip}:{published}:{target}/{proto}"),
                                None if published.is_empty() => format!("{target}/{proto}"),
                                None => format!("{published}:{target}/{proto}"),
                            }
                        }
                        other => value_to_string(other),
                    });
                }
                s.insert("published_ports".into(), json!(out));
            }
            "expose" => {
                s.insert("exposed_ports".into(), json!(str_list(v)));
            }
            "volumes" => {
                let mut binds = Vec::new();
                for item in v.as_array().into_iter().flatten() {
                    binds.push(match item {
                        Value::Object(o) => {
                            let src = o.get("source").map(value_to_string).unwrap_or_default();
                            let dst = o
                                .get("target")
                                .map(value_to_string)
                                .ok_or("a long-syntax volume needs `target`")?;
                            let ro =
                                o.get("read_only").and_then(crate::args::to_bool) == Some(true);
                            let src = volume_source(&src, project, volumes);
                            if ro {
                                format!("{src}:{dst}:ro")
                            } else {
                                format!("{src}:{dst}")
                            }
                        }
                        other => {
                            let text = value_to_string(other);
                            match text.split_once(':') {
                                Some((src, rest)) => {
                                    format!("{}:{rest}", volume_source(src, project, volumes))
                                }
                                None => text,
                            }
                        }
                    });
                }
                s.insert("volumes".into(), json!(binds));
            }
            "networks" => {
                let names: Vec<String> = match v {
                    Value::Object(n) => n.keys().cloned().collect(),
                    other => str_list(other),
                };
                let nets: Vec<String> = names
                    .iter()
                    .filter(|n| *n != "default")
                    .map(|n| format!("{project}_{n}"))
                    .collect();
                s.insert("networks".into(), json!(nets));
            }
            "depends_on" => {
                let deps: Vec<String> = match v {
                    Value::Object(d) => d.keys().cloned().collect(),
                    other => str_list(other),
                };
                s.insert("requires".into(), json!(deps));
            }
            "deploy" => {
                let d = v.as_object().ok_or("deploy must be a mapping")?;
                for (dk, dv) in d {
                    match dk.as_str() {
                        "replicas" => {
                            s.insert("replicas".into(), dv.clone());
                        }
                        other => {
                            return Err(format!(
                                "deploy.{other} is not supported by converge (deploy.replicas is)"
                            ))
                        }
                    }
                }
            }
            "healthcheck" => {
                let h = v.as_object().ok_or("healthcheck must be a mapping")?;
                if h.get("disable").and_then(crate::args::to_bool) == Some(true) {
                    s.insert("healthcheck".into(), json!({"test": "none"}));
                } else {
                    let mut o = Map::new();
                    for (hk, hv) in h {
                        match hk.as_str() {
                            "test" | "interval" | "timeout" | "retries" | "start_period" => {
                                o.insert(hk.clone(), hv.clone());
                            }
                            other => return Err(format!("healthcheck.{other} is not supported")),
                        }
                    }
                    s.insert("healthcheck".into(), Value::Object(o));
                }
            }
            "x-converge" => {
                let x = v.as_object().ok_or("x-converge must be a mapping")?;
                for (xk, xv) in x {
                    s.insert(xk.clone(), xv.clone());
                }
            }
            "container_name" => {
                return Err(
                    "container_name is not supported: converge names replicas PROJECT-SERVICE-N"
                        .into(),
                );
            }
            other => return Err(format!("`{other}` is not supported by converge")),
        }
    }
    Ok(s)
}

/// A named volume declared at the top gets the project prefix; a relative host path is placed
/// under `/srv/converge/PROJECT/`; absolute paths stay.
fn volume_source(src: &str, project: &str, volumes: &[String]) -> String {
    if volumes.iter().any(|v| v == src) {
        format!("{project}_{src}")
    } else if let Some(rel) = src.strip_prefix("./") {
        format!("/srv/converge/{project}/{rel}")
    } else if src.starts_with("../") {
        format!("/srv/converge/{project}/{}", src.trim_start_matches("../"))
    } else {
        src.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compose_file_becomes_services() {
        std::env::set_var("CONVERGE_COMPOSE_TEST_TAG", "7");
        let doc = json!({
            "version": "3.8",
            "services": {
                "web": {"build": {"context": "./app", "args": ["V=1"]}, "image": "app:${CONVERGE_COMPOSE_TEST_TAG}",
                        "ports": ["8080:9090"], "depends_on": ["redis"], "restart": "always",
                        "environment": {"KEY": "${CONVERGE_COMPOSE_SECRET}", "MODE": "${MODE_UNSET_X:-prod}"},
                        "volumes": ["data:/data", "./static:/static:ro"], "deploy": {"replicas": 2},
                        "x-converge": {"ports": ["9090:80"], "health": "/health"}},
                "redis": {"image": "redis:7", "healthcheck": {"test": ["CMD", "redis-cli", "ping"], "interval": "1s"}}
            },
            "volumes": {"data": {}}
        });
        let c = read(&doc, "shop").unwrap();
        let web = &c.services["web"];
        assert_eq!(web["image"], "app:7");
        assert_eq!(web["build"], json!({"path": "./app", "args": {"V": "1"}}));
        assert_eq!(web["published_ports"], json!(["8080:9090"]));
        assert_eq!(web["requires"], json!(["redis"]));
        assert_eq!(web["env"]["KEY"], "_env:CONVERGE_COMPOSE_SECRET");
        assert_eq!(web["env"]["MODE"], "prod");
        assert_eq!(
            web["volumes"],
            json!(["shop_data:/data", "/srv/converge/shop/static:/static:ro"])
        );
        assert_eq!(web["replicas"], 2);
        assert_eq!(web["ports"], json!(["9090:80"]));
        assert_eq!(c.volumes, ["shop_data"]);
        assert_eq!(c.default_network, "shop_default");
        assert_eq!(c.services["redis"]["healthcheck"]["interval"], "1s");
    }

    #[test]
    fn unsupported_keys_are_named() {
        let e = read(
            &json!({"services": {"w": {"image": "x", "pid": "host"}}}),
            "p",
        )
        .unwrap_err();
        assert!(e.contains("services.w: `pid` is not supported"), "{e}");
        let e = read(
            &json!({"services": {"w": {"image": "x", "deploy": {"mode": "global"}}}}),
            "p",
        )
        .unwrap_err();
        assert!(e.contains("deploy.mode"), "{e}");
    }

    #[test]
    fn interpolation() {
        std::env::set_var("CONVERGE_INTERP_A", "a");
        assert_eq!(
            interpolate("x-${CONVERGE_INTERP_A}-$CONVERGE_INTERP_A-$$").unwrap(),
            "x-a-a-$"
        );
        assert_eq!(interpolate("${CONVERGE_INTERP_NOPE:-d}").unwrap(), "d");
        assert!(interpolate("a${CONVERGE_INTERP_NOPE}")
            .unwrap_err()
            .contains("not set"));
    }
}
