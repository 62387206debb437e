//! `docker_network` and `docker_volume` (community.docker's names and options): present with
//! the declared driver, subnets, options and labels, or absent.
//!
//! Docker cannot change a network or a volume in place: a difference means remove and create
//! again. A network with containers attached is not recreated (they would lose their
//! connection); the task fails and names them, unless `force: true`, which disconnects them
//! first as community.docker does. A volume with other options is kept unless `recreate:
//! options-changed` (its data would be lost).

use super::container::docker_for;
use crate::args::{value_to_string, ArgError, ArgKind, ArgSpec, Args, Params};
use crate::contract::{Diff, Module, ModuleError, Outcome, RunMode, Status};
use crate::target::Target;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const NETWORK_SPEC: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str)
        .required()
        .aliases(&["network_name"]),
    ArgSpec::new("driver", ArgKind::Str),
    ArgSpec::new("driver_options", ArgKind::Dict),
    ArgSpec::new("ipam_config", ArgKind::Raw),
    ArgSpec::new("internal", ArgKind::Bool),
    ArgSpec::new("labels", ArgKind::Dict),
    ArgSpec::new("state", ArgKind::Str).choices(&["present", "absent"]),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("docker_host", ArgKind::Str),
    ArgSpec::new("timeout", ArgKind::Int),
    ArgSpec::new("api_version", ArgKind::Str),
];

const VOLUME_SPEC: &[ArgSpec] = &[
    ArgSpec::new("volume_name", ArgKind::Str)
        .required()
        .aliases(&["name"]),
    ArgSpec::new("driver", ArgKind::Str),
    ArgSpec::new("driver_options", ArgKind::Dict),
    ArgSpec::new("labels", ArgKind::Dict),
    ArgSpec::new("state", ArgKind::Str).choices(&["present", "absent"]),
    ArgSpec::new("recreate", ArgKind::Str).choices(&["never", "always", "options-changed"]),
    ArgSpec::new("docker_host", ArgKind::Str),
    ArgSpec::new("timeout", ArgKind::Int),
    ArgSpec::new("api_version", ArgKind::Str),
];

fn strings_map(m: Option<&Map<String, Value>>) -> BTreeMap<String, String> {
    m.map(|m| {
        m.iter()
            .map(|(k, v)| (k.clone(), value_to_string(v)))
            .collect()
    })
    .unwrap_or_default()
}

/// Compared fields, `key → value`.
type Fields = BTreeMap<String, String>;

/// `key: value` lines of what is compared, for the diff.
fn lines(fields: &BTreeMap<String, String>) -> String {
    fields.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
}

/// `key: old → new` of every field that differs.
fn differences(want: &Fields, got: &Fields) -> String {
    want.iter()
        .filter(|(k, v)| got.get(*k) != Some(v))
        .map(|(k, v)| {
            format!(
                "{k}: {} → {v}",
                got.get(k).map(String::as_str).unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A create or recreate, with its diff.
fn mark_change(
    out: &mut Outcome,
    mode: RunMode,
    what: &str,
    name: &str,
    existed: bool,
    got: &Fields,
    want: &Fields,
) {
    out.status = Status::Changed;
    let verb = if existed { "recreated" } else { "created" };
    out.msg = Some(format!("{what} {name} {verb}"));
    if mode.diff {
        let before = if existed { lines(got) } else { String::new() };
        out.diffs
            .push(Diff::new(&format!("{what} {name}"), before, lines(want)));
    }
}

/// The declared fields of a network and the same fields of an inspected one. Labels and
/// options added by others are allowed: only declared keys are compared.
fn network_fields(
    p: &Params,
    have: Option<&Value>,
) -> Result<(Fields, Fields, Value), ModuleError> {
    let mut want = BTreeMap::new();
    let mut got = BTreeMap::new();
    let driver = p.str_or("driver", "bridge");
    want.insert("driver".to_string(), driver.clone());
    got.insert(
        "driver".to_string(),
        have.and_then(|h| h.get("Driver"))
            .map(value_to_string)
            .unwrap_or_default(),
    );
    let internal = p.bool_or("internal", false);
    want.insert("internal".to_string(), internal.to_string());
    got.insert(
        "internal".to_string(),
        have.and_then(|h| h.get("Internal"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string(),
    );
    let mut ipam = Vec::new();
    if let Some(cfg) = p.raw("ipam_config").filter(|v| !v.is_null()) {
        let items = cfg.as_array().ok_or_else(|| {
            ArgError::new(
                Some("ipam_config"),
                "must be a list of {subnet, gateway, iprange}",
            )
        })?;
        for (i, c) in items.iter().enumerate() {
            let mut entry = Map::new();
            for (key, api) in [
                ("subnet", "Subnet"),
                ("gateway", "Gateway"),
                ("iprange", "IPRange"),
            ] {
                if let Some(v) = c.get(key).map(value_to_string) {
                    want.insert(format!("ipam[{i}].{key}"), v.clone());
                    let have_v = have
                        .and_then(|h| h.pointer(&format!("/IPAM/Config/{i}/{api}")))
                        .map(value_to_string)
                        .unwrap_or_default();
                    got.insert(format!("ipam[{i}].{key}"), have_v);
                    entry.insert(api.into(), Value::String(v));
                }
            }
            ipam.push(Value::Object(entry));
        }
    }
    for (field, api, arg) in [
        ("options", "Options", "driver_options"),
        ("labels", "Labels", "labels"),
    ] {
        for (k, v) in strings_map(p.dict(arg)) {
            let have_v = have
                .and_then(|h| h.get(api))
                .and_then(|m| m.get(&k))
                .map(value_to_string)
                .unwrap_or_else(|| "(none)".into());
            want.insert(format!("{field}.{k}"), v);
            got.insert(format!("{field}.{k}"), have_v);
        }
    }
    let mut body = json!({"Name": p.req_str("name")?, "Driver": driver, "Internal": internal, "CheckDuplicate": true,
                          "Options": p.dict("driver_options").cloned().unwrap_or_default(),
                          "Labels": p.dict("labels").cloned().unwrap_or_default()});
    if !ipam.is_empty() {
        body["IPAM"] = json!({"Driver": "default", "Config": ipam});
    }
    Ok((want, got, body))
}

/// The `docker_network` module.
pub struct DockerNetworkModule;

impl Module for DockerNetworkModule {
    fn name(&self) -> &'static str {
        "docker_network"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        NETWORK_SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = Params::new(NETWORK_SPEC, args)?;
        let name = p.req_str("name")?;
        let docker = docker_for(&p, target)?;
        let have = docker.inspect_network(&name)?;
        let mut out = Outcome::ok().with_data("docker_api", docker.describe());
        let header = format!("network {name}");
        let attached: Vec<String> = have
            .as_ref()
            .and_then(|h| h.get("Containers"))
            .and_then(Value::as_object)
            .map(|m| {
                m.values()
                    .filter_map(|c| c.get("Name").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let force = p.bool_or("force", false);
        if p.str_or("state", "present") == "absent" {
            if have.is_some() {
                if !attached.is_empty() && !force {
                    return Err(ModuleError::Failed(format!("network {name} still has containers attached ({}); remove them or set force: true", attached.join(", "))));
                }
                out.status = Status::Changed;
                out.msg = Some(format!("network {name} removed"));
                if mode.diff {
                    out.diffs.push(Diff::new(&header, format!("{name}\n"), ""));
                }
                if !mode.check {
                    for c in &attached {
                        docker.disconnect_network(&name, c)?;
                    }
                    docker.remove_network(&name)?;
                }
            }
            return Ok(out);
        }
        let (want, got, body) = network_fields(&p, have.as_ref())?;
        if have.is_some() && want == got {
            return Ok(out.with_data("network", network_data(have.as_ref())));
        }
        if have.is_some() && !attached.is_empty() && !force {
            return Err(ModuleError::Failed(format!(
                "network {name} differs ({}) and must be recreated, but containers are attached ({}); set force: true to disconnect them",
                differences(&want, &got),
                attached.join(", ")
            )));
        }
        mark_change(
            &mut out,
            mode,
            "network",
            &name,
            have.is_some(),
            &got,
            &want,
        );
        if mode.check {
            return Ok(out);
        }
        if have.is_some() {
            for c in &attached {
                docker.disconnect_network(&name, c)?;
            }
            docker.remove_network(&name)?;
        }
        docker.create_network(&body)?;
        for c in &attached {
            docker.connect_network(&name, c, &[])?;
        }
        let after = docker.inspect_network(&name)?;
        Ok(out.with_data("network", network_data(after.as_ref())))
    }
}

fn network_data(n: Option<&Value>) -> Value {
    n.map(|n| json!({"Id": n.get("Id"), "Name": n.get("Name"), "Driver": n.get("Driver"), "IPAM": n.get("IPAM")}))
        .unwrap_or(Value::Null)
}

/// The `docker_volume` module.
pub struct DockerVolumeModule;

impl Module for DockerVolumeModule {
    fn name(&self) -> &'static str {
        "docker_volume"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        VOLUME_SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = Params::new(VOLUME_SPEC, args)?;
        let name = p.req_str("volume_name")?;
        let docker = docker_for(&p, target)?;
        let have = docker.inspect_volume(&name)?;
        let mut out = Outcome::ok().with_data("docker_api", docker.describe());
        let header = format!("volume {name}");
        if p.str_or("state", "present") == "absent" {
            if have.is_some() {
                out.status = Status::Changed;
                out.msg = Some(format!("volume {name} removed"));
                if mode.diff {
                    out.diffs.push(Diff::new(&header, format!("{name}\n"), ""));
                }
                if !mode.check {
                    docker.remove_volume(&name)?;
                }
            }
            return Ok(out);
        }
        let mut want = BTreeMap::new();
        let mut got = BTreeMap::new();
        let driver = p.str_or("driver", "local");
        want.insert("driver".to_string(), driver.clone());
        got.insert(
            "driver".to_string(),
            have.as_ref()
                .and_then(|h| h.get("Driver"))
                .map(value_to_string)
                .unwrap_or_default(),
        );
        for (field, api, arg) in [
            ("options", "Options", "driver_options"),
            ("labels", "Labels", "labels"),
        ] {
            for (k, v) in strings_map(p.dict(arg)) {
                let have_v = have
                    .as_ref()
                    .and_then(|h| h.get(api))
                    .and_then(|m| m.get(&k))
                    .map(value_to_string)
                    .unwrap_or_else(|| "(none)".into());
                want.insert(format!("{field}.{k}"), v);
                got.insert(format!("{field}.{k}"), have_v);
            }
        }
        let recreate = p.str_or("recreate", "never");
        let differs = have.is_some() && want != got;
        let needed =
            have.is_none() || recreate == "always" || (differs && recreate == "options-changed");
        if !needed {
            if differs {
                out.msg = Some(format!(
                    "volume {name} differs from the declaration but is kept (recreate: never; its data would be lost): {}",
                    differences(&want, &got)
                ));
            }
            return Ok(out.with_data("volume", have.unwrap_or(Value::Null)));
        }
        mark_change(&mut out, mode, "volume", &name, have.is_some(), &got, &want);
        if mode.check {
            return Ok(out);
        }
        if have.is_some() {
            docker.remove_volume(&name)?;
        }
        docker.create_volume(&json!({"Name": name, "Driver": driver,
            "DriverOpts": p.dict("driver_options").cloned().unwrap_or_default(),
            "Labels": p.dict("labels").cloned().unwrap_or_default()}))?;
        Ok(out.with_data(
            "volume",
            docker.inspect_volume(&name)?.unwrap_or(Value::Null),
        ))
    }
}
