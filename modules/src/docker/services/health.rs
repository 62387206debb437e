//! Is a new container ready for traffic? An HTTP check on its address (through the connection's
//! TCP forwarding, or `curl`/`wget` on the host where forwarding is not allowed), Docker's own
//! healthcheck, or simply running steadily. A failure carries the check's last answer and the
//! container's last log lines.

use super::model::Health;
use crate::docker::client::Docker;
use crate::target::Command;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The address of a container on a network.
pub fn address(c: &Value, network: &str) -> Option<String> {
    c.pointer(&format!(
        "/NetworkSettings/Networks/{}/IPAddress",
        network.replace('~', "~0").replace('/', "~1")
    ))
    .and_then(Value::as_str)
    .filter(|a| !a.is_empty())
    .map(str::to_string)
}

/// Wait until the container passes its check or `timeout` runs out.
pub fn wait_ready(
    docker: &Docker,
    id: &str,
    network: &str,
    health: &Health,
    default_port: Option<u16>,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut last: String;
    let mut via_shell = false;
    let started = Instant::now();
    loop {
        let c = docker
            .inspect_container(id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the container disappeared".to_string())?;
        if c.pointer("/State/Running").and_then(Value::as_bool) != Some(true) {
            let code = c
                .pointer("/State/ExitCode")
                .and_then(Value::as_i64)
                .unwrap_or(-1);
            return Err(format!(
                "the container exited (code {code}){}",
                logs(docker, id)
            ));
        }
        match health {
            Health::Running => {
                if started.elapsed() >= Duration::from_secs(2) {
                    return Ok(());
                }
                last = "running".into();
            }
            Health::Docker => match c.pointer("/State/Health/Status").and_then(Value::as_str) {
                Some("healthy") => return Ok(()),
                Some("unhealthy") => {
                    return Err(format!("Docker's healthcheck says unhealthy: {}{}", health_log(&c), logs(docker, id)));
                }
                Some(s) => last = format!("health {s}: {}", health_log(&c)),
                None => return Err("health: docker, but the container has no healthcheck (add `healthcheck:` or a HEALTHCHECK to the image)".into()),
            },
            Health::Http { path, port } => {
                let port = port.or(default_port).ok_or("health: an HTTP check needs a port (ports: or health.port)")?;
                let addr = address(&c, network).ok_or_else(|| format!("the container has no address on network {network}"))?;
                let result = if via_shell {
                    shell_get(docker, &addr, port, path)
                } else {
                    match docker.http_get(&addr, port, path, Duration::from_secs(3)) {
                        Ok(r) => Ok((r.status, r.body_str())),
                        Err(e) if e.contains("cannot open a stream") || e.to_ascii_lowercase().contains("prohibited") => {
                            via_shell = true;
                            shell_get(docker, &addr, port, path)
                        }
                        Err(e) => Err(e),
                    }
                };
                match result {
                    Ok((status, _)) if status < 400 => return Ok(()),
                    Ok((status, body)) => last = format!("GET http://{addr}:{port}{path} → HTTP {status}: {}", body.trim().chars().take(300).collect::<String>()),
                    Err(e) => last = format!("GET http://{addr}:{port}{path}: {e}"),
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "not ready after {} s; last check: {last}{}",
                timeout.as_secs(),
                logs(docker, id)
            ));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// An HTTP GET run on the host itself.
fn shell_get(docker: &Docker, addr: &str, port: u16, path: &str) -> Result<(u16, String), String> {
    let url = format!("http://{addr}:{port}{path}");
    let script = "if command -v curl >/dev/null; then curl -s -o /dev/null -m 3 -w '%{http_code}' \"$1\"; \
                  elif command -v wget >/dev/null; then wget -q -T 3 -O /dev/null \"$1\" && echo 200 || echo 599; \
                  else echo 'neither curl nor wget on the host' >&2; exit 3; fi";
    let cmd = Command::argv(["/bin/sh", "-c", script, "health", &url]);
    let out = docker.target.run(&cmd).map_err(|e| e.to_string())?;
    if out.rc == 3 {
        return Err(out.stderr_str().trim().to_string());
    }
    let code: u16 = out.stdout_str().trim().parse().unwrap_or(599);
    if code == 0 {
        return Err("connection failed".into());
    }
    Ok((code, String::new()))
}

fn health_log(c: &Value) -> String {
    c.pointer("/State/Health/Log")
        .and_then(Value::as_array)
        .and_then(|l| l.last())
        .and_then(|e| e.get("Output"))
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn logs(docker: &Docker, id: &str) -> String {
    match docker.logs_tail(id, 8) {
        Ok(l) if !l.trim().is_empty() => format!("\nlast log lines:\n{}", l.trim_end()),
        _ => String::new(),
    }
}
