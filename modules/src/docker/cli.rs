//! The `docker` CLI fallback: the same API bodies the socket path sends, spelled as command-line
//! flags, so there is one description of a container (the API body) and two ways to send it.
//! Environment values never go on a command line: they are written to stdin and read with
//! `--env-file /dev/stdin`.

use crate::args::value_to_string;
use crate::contract::ModuleError;
use serde_json::Value;

fn s(v: &Value) -> String {
    value_to_string(v)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default()
}

/// Seconds of a duration in nanoseconds, as the CLI's `--health-*` flags take them.
fn ns_flag(v: &Value) -> Option<String> {
    let ns = v.as_i64().filter(|n| *n > 0)?;
    Some(format!("{}ms", ns / 1_000_000))
}

/// `docker create` arguments for an API create body, and the env-file text for stdin.
pub fn create_args(name: &str, body: &Value) -> Result<(Vec<String>, String), ModuleError> {
    let c = body.get("Config").unwrap_or(body);
    let h = body.get("HostConfig").cloned().unwrap_or(Value::Null);
    let mut a: Vec<String> = vec!["create".into(), "--name".into(), name.into()];
    let mut push = |k: &str, v: String| {
        a.push(k.to_string());
        a.push(v);
    };
    let env_file: String = strings(c.get("Env"))
        .into_iter()
        .map(|e| format!("{e}\n"))
        .collect();
    if !env_file.is_empty() {
        push("--env-file", "/dev/stdin".into());
    }
    if let Some(labels) = c.get("Labels").and_then(Value::as_object) {
        for (k, v) in labels {
            push("--label", format!("{k}={}", s(v)));
        }
    }
    for (key, flag) in [
        ("User", "--user"),
        ("WorkingDir", "--workdir"),
        ("Hostname", "--hostname"),
        ("StopSignal", "--stop-signal"),
    ] {
        if let Some(v) = c.get(key).filter(|v| !s(v).is_empty()) {
            push(flag, s(v));
        }
    }
    if let Some(t) = c.get("StopTimeout").and_then(Value::as_i64) {
        push("--stop-timeout", t.to_string());
    }
    if let Some(ports) = c.get("ExposedPorts").and_then(Value::as_object) {
        for p in ports.keys() {
            push("--expose", p.clone());
        }
    }
    if let Some(hc) = c.get("Healthcheck").filter(|v| v.is_object()) {
        let test = strings(hc.get("Test"));
        match test.first().map(String::as_str) {
            Some("NONE") => a.push("--no-healthcheck".into()),
            Some("CMD-SHELL") => {
                a.push("--health-cmd".into());
                a.push(test[1..].join(" "));
            }
            Some("CMD") => {
                // The CLI only takes a shell form; quote the words for /bin/sh.
                a.push("--health-cmd".into());
                a.push(
                    test[1..]
                        .iter()
                        .map(|w| crate::target::shell_quote(w))
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
            _ => {}
        }
        for (key, flag) in [
            ("Interval", "--health-interval"),
            ("Timeout", "--health-timeout"),
            ("StartPeriod", "--health-start-period"),
        ] {
            if let Some(v) = hc.get(key).and_then(ns_flag) {
                a.push(flag.into());
                a.push(v);
            }
        }
        if let Some(r) = hc.get("Retries").and_then(Value::as_i64).filter(|r| *r > 0) {
            a.push("--health-retries".into());
            a.push(r.to_string());
        }
    }
    if c.get("Tty").and_then(Value::as_bool) == Some(true) {
        a.push("--tty".into());
    }
    if c.get("OpenStdin").and_then(Value::as_bool) == Some(true) {
        a.push("--interactive".into());
    }
    let endpoints = body
        .pointer("/NetworkingConfig/EndpointsConfig")
        .and_then(Value::as_object);
    let mut h = h;
    // The network named by NetworkMode is the one of EndpointsConfig: say it once.
    if let (Some(eps), Some(m)) = (endpoints, h.get("NetworkMode").map(s)) {
        if eps.contains_key(&m) {
            if let Some(o) = h.as_object_mut() {
                o.remove("NetworkMode");
            }
        }
    }
    host_config_args(&h, &mut a);
    if let Some(eps) = body
        .pointer("/NetworkingConfig/EndpointsConfig")
        .and_then(Value::as_object)
    {
        // create takes one network; the engine connects the others afterwards.
        if let Some((net, ep)) = eps.iter().next() {
            a.push("--network".into());
            a.push(net.clone());
            for alias in strings(ep.get("Aliases")) {
                a.push("--network-alias".into());
                a.push(alias);
            }
        }
    }
    let entrypoint = strings(c.get("Entrypoint"));
    if let Some(first) = entrypoint.first() {
        a.push("--entrypoint".into());
        a.push(first.clone());
    }
    let image = c
        .get("Image")
        .map(s)
        .filter(|i| !i.is_empty())
        .ok_or_else(|| ModuleError::Failed("docker create: no image".into()))?;
    a.push(image);
    // An entrypoint of several words: the rest go before the command (what Docker would run).
    a.extend(entrypoint.into_iter().skip(1));
    a.extend(strings(c.get("Cmd")));
    Ok((a, env_file))
}

fn host_config_args(h: &Value, a: &mut Vec<String>) {
    let mut push = |k: &str, v: String| {
        a.push(k.to_string());
        a.push(v);
    };
    for b in strings(h.get("Binds")) {
        push("--volume", b);
    }
    if let Some(mounts) = h.get("Mounts").and_then(Value::as_array) {
        for m in mounts {
            let mut spec = format!(
                "type={},source={},target={}",
                m.get("Type").map(s).unwrap_or_else(|| "volume".into()),
                m.get("Source").map(s).unwrap_or_default(),
                m.get("Target").map(s).unwrap_or_default()
            );
            if m.get("ReadOnly").and_then(Value::as_bool) == Some(true) {
                spec.push_str(",readonly");
            }
            push("--mount", spec);
        }
    }
    if let Some(ports) = h.get("PortBindings").and_then(Value::as_object) {
        for (cport, binds) in ports {
            for b in binds.as_array().into_iter().flatten() {
                let ip = b.get("HostIp").map(s).unwrap_or_default();
                let hp = b.get("HostPort").map(s).unwrap_or_default();
                let spec = match (ip.is_empty(), hp.is_empty()) {
                    (true, true) => cport.clone(),
                    (true, false) => format!("{hp}:{cport}"),
                    (false, _) => format!("{ip}:{hp}:{cport}"),
                };
                push("--publish", spec);
            }
        }
    }
    if let Some(rp) = h.get("RestartPolicy") {
        let name = rp.get("Name").map(s).unwrap_or_default();
        if !name.is_empty() {
            let n = rp
                .get("MaximumRetryCount")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            push(
                "--restart",
                if name == "on-failure" && n > 0 {
                    format!("on-failure:{n}")
                } else {
                    name
                },
            );
        }
    }
    if let Some(m) = h.get("Memory").and_then(Value::as_i64).filter(|m| *m > 0) {
        push("--memory", m.to_string());
    }
    if let Some(n) = h.get("NanoCpus").and_then(Value::as_i64).filter(|n| *n > 0) {
        push("--cpus", format!("{}", n as f64 / 1e9));
    }
    for c in strings(h.get("CapAdd")) {
        push("--cap-add", c);
    }
    for c in strings(h.get("CapDrop")) {
        push("--cap-drop", c);
    }
    for l in strings(h.get("Links")) {
        push("--link", l);
    }
    if let Some(lc) = h.get("LogConfig") {
        if let Some(t) = lc.get("Type").map(s).filter(|t| !t.is_empty()) {
            push("--log-driver", t);
        }
        if let Some(opts) = lc.get("Config").and_then(Value::as_object) {
            for (k, v) in opts {
                push("--log-opt", format!("{k}={}", s(v)));
            }
        }
    }
    if let Some(m) = h.get("NetworkMode").map(s).filter(|m| !m.is_empty()) {
        push("--network", m);
    }
    for (key, flag) in [
        ("Privileged", "--privileged"),
        ("Init", "--init"),
        ("ReadonlyRootfs", "--read-only"),
        ("AutoRemove", "--rm"),
    ] {
        if h.get(key).and_then(Value::as_bool) == Some(true) {
            a.push(flag.into());
        }
    }
}

/// `docker update` flags for an update body.
pub fn update_args(body: &Value) -> Vec<String> {
    let mut a = Vec::new();
    if let Some(rp) = body.get("RestartPolicy") {
        let name = rp.get("Name").map(s).unwrap_or_else(|| "no".into());
        let n = rp
            .get("MaximumRetryCount")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        a.push("--restart".into());
        a.push(if name == "on-failure" && n > 0 {
            format!("on-failure:{n}")
        } else if name.is_empty() {
            "no".into()
        } else {
            name
        });
    }
    if let Some(m) = body.get("Memory").and_then(Value::as_i64) {
        a.push("--memory".into());
        a.push(m.to_string());
        if let Some(sw) = body.get("MemorySwap").and_then(Value::as_i64) {
            a.push("--memory-swap".into());
            a.push(sw.to_string());
        }
    }
    if let Some(n) = body.get("NanoCpus").and_then(Value::as_i64) {
        a.push("--cpus".into());
        a.push(format!("{}", n as f64 / 1e9));
    }
    a
}

/// `docker network create` arguments for an API body.
pub fn network_create_args(body: &Value) -> Vec<String> {
    let mut a: Vec<String> = vec!["network".into(), "create".into()];
    if let Some(d) = body.get("Driver").map(s).filter(|d| !d.is_empty()) {
        a.push("--driver".into());
        a.push(d);
    }
    if body.get("Internal").and_then(Value::as_bool) == Some(true) {
        a.push("--internal".into());
    }
    for cfg in body
        .pointer("/IPAM/Config")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for (key, flag) in [
            ("Subnet", "--subnet"),
            ("Gateway", "--gateway"),
            ("IPRange", "--ip-range"),
        ] {
            if let Some(v) = cfg.get(key).map(s).filter(|v| !v.is_empty()) {
                a.push(flag.into());
                a.push(v);
            }
        }
    }
    if let Some(labels) = body.get("Labels").and_then(Value::as_object) {
        for (k, v) in labels {
            a.push("--label".into());
            a.push(format!("{k}={}", s(v)));
        }
    }
    if let Some(opts) = body.get("Options").and_then(Value::as_object) {
        for (k, v) in opts {
            a.push("--opt".into());
            a.push(format!("{k}={}", s(v)));
        }
    }
    a.push(body.get("Name").map(s).unwrap_or_default());
    a
}

/// `docker volume create` arguments for an API body.
pub fn volume_create_args(body: &Value) -> Vec<String> {
    let mut a: Vec<String> = vec!["volume".into(), "create".into()];
    if let Some(d) = body.get("Driver").map(s).filter(|d| !d.is_empty()) {
        a.push("--driver".into());
        a.push(d);
    }
    for (key, flag) in [("DriverOpts", "--opt"), ("Labels", "--label")] {
        if let Some(m) = body.get(key).and_then(Value::as_object) {
            for (k, v) in m {
                a.push(flag.into());
                a.push(format!("{k}={}", s(v)));
            }
        }
    }
    a.push(body.get("Name").map(s).unwrap_or_default());
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_body_as_flags_keeps_env_off_the_command_line() {
        let body = json!({
            "Config": {"Image": "app:1", "Cmd": ["serve", "--port", "80"], "Env": ["A=1", "SECRET=s3"],
                        "Labels": {"x": "y"}, "User": "app", "ExposedPorts": {"80/tcp": {}},
                        "Entrypoint": ["/bin/tini", "--"]},
            "HostConfig": {"Binds": ["/srv:/data:ro"], "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
                           "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}, "Memory": 1048576,
                           "NanoCpus": 1500000000i64, "CapAdd": ["NET_ADMIN"], "Privileged": true,
                           "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}}},
            "NetworkingConfig": {"EndpointsConfig": {"web": {"Aliases": ["api"]}}}
        });
        let (args, env) = create_args("c1", &body).unwrap();
        let line = args.join(" ");
        assert_eq!(env, "A=1\nSECRET=s3\n");
        assert!(!line.contains("s3"), "{line}");
        for part in [
            "create --name c1 --env-file /dev/stdin",
            "--label x=y",
            "--user app",
            "--expose 80/tcp",
            "--volume /srv:/data:ro",
            "--publish 8080:80/tcp",
            "--restart on-failure:3",
            "--memory 1048576",
            "--cpus 1.5",
            "--cap-add NET_ADMIN",
            "--log-driver json-file --log-opt max-size=1m",
            "--privileged",
            "--network web --network-alias api",
            "--entrypoint /bin/tini app:1 -- serve --port 80",
        ] {
            assert!(line.contains(part), "`{part}` missing in {line}");
        }
    }

    #[test]
    fn update_and_network_flags() {
        assert_eq!(
            update_args(&json!({"RestartPolicy": {"Name": "always"}, "Memory": 5})).join(" "),
            "--restart always --memory 5"
        );
        assert_eq!(
            network_create_args(&json!({"Name": "n", "Driver": "bridge", "IPAM": {"Config": [{"Subnet": "198.19.150.0/24"}]}}))
                .join(" "),
            "network create --driver bridge --subnet 198.19.150.0/24 n"
        );
    }
}
