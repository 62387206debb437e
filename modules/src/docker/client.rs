//! One Docker daemon on the target, reached the exact and fast way when possible.
//!
//! The Docker Engine API (JSON over the daemon's unix socket) is used through
//! [`Target::exchange`], which the SSH connection turns into a `direct-streamlocal` channel on
//! the connection it already has: no tool on the host, one channel per call. Where the socket
//! cannot be reached (sshd forbids stream forwarding, the login user may not open the socket and
//! `become` is in use, a transport without streams), every operation falls back to the `docker`
//! CLI with JSON output (`cli.rs`), run through the same connection (and `become`).
//! [`Docker::describe`] says which one is in use; modules report it in their results.

use super::cli;
use super::http;
use crate::contract::ModuleError;
use crate::target::{Command, Endpoint, Output, Target};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// The default socket of the daemon.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// How the daemon is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Socket(String),
    Cli,
}

/// A Docker daemon on the target.
pub struct Docker<'a> {
    pub target: &'a dyn Target,
    pub backend: Backend,
    /// For quick calls (inspect, create, start, ...).
    pub timeout: Duration,
    /// For calls that move images (pull, load, build).
    pub long_timeout: Duration,
    /// Why the socket was not used, when it was not.
    pub socket_refused: Option<String>,
}

fn failed(msg: impl Into<String>) -> ModuleError {
    ModuleError::Failed(msg.into())
}

/// The error message of an API answer (`{"message": "..."}`), or its text.
fn api_message(resp: &http::Response) -> String {
    serde_json::from_slice::<Value>(&resp.body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| resp.body_str().trim().to_string())
}

/// Path segments and query values from user input are encoded.
fn seg(s: &str) -> String {
    http::encode_query(s)
}

impl<'a> Docker<'a> {
    /// Find the daemon: the API on `socket` when it answers `/_ping`, else the CLI
    /// (`CONVERGE_DOCKER_API=cli` in the controller's environment skips the socket).
    pub fn connect(target: &'a dyn Target, socket: &str) -> Result<Docker<'a>, ModuleError> {
        let mut d = Docker {
            target,
            backend: Backend::Socket(socket.to_string()),
            timeout: Duration::from_secs(120),
            long_timeout: Duration::from_secs(1800),
            socket_refused: None,
        };
        if std::env::var("CONVERGE_DOCKER_API").as_deref() == Ok("cli") {
            d.socket_refused = Some("CONVERGE_DOCKER_API=cli".to_string());
        } else {
            match d.call("GET", "/_ping", None) {
                Ok(r) if r.is_success() => return Ok(d),
                Ok(r) => d.socket_refused = Some(format!("HTTP {}: {}", r.status, api_message(&r))),
                Err(e) => d.socket_refused = Some(e.to_string()),
            }
        }
        d.backend = Backend::Cli;
        let out = d.cli_raw(&["version", "--format", "{{json .Server}}"], None)?;
        if out.success() && out.stdout_str().trim_start().starts_with('{') {
            return Ok(d);
        }
        Err(failed(format!(
            "the Docker daemon does not answer: its API on {socket}: {}; the docker CLI: {}",
            d.socket_refused.as_deref().unwrap_or("?"),
            first_line(&format!("{}{}", out.stderr_str(), out.stdout_str()))
        )))
    }

    /// What is in use, for `-v` output and results.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Socket(p) => format!("Docker API on unix:{p}"),
            Backend::Cli => format!(
                "docker CLI (the API socket was not reachable: {})",
                self.socket_refused.as_deref().unwrap_or("?")
            ),
        }
    }

    /// One API call on the socket.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<http::Response, ModuleError> {
        self.call_with(method, path, &[], body, self.timeout)
    }

    fn call_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Option<(&str, &[u8])>,
        timeout: Duration,
    ) -> Result<http::Response, ModuleError> {
        let Backend::Socket(sock) = &self.backend else {
            return Err(failed("internal: API call without the socket"));
        };
        let req = http::request(method, "docker", path, headers, body);
        let raw = self
            .target
            .exchange(&Endpoint::Unix(sock.clone()), &req, timeout)?;
        http::parse(&raw).map_err(|e| failed(format!("Docker API {method} {path}: {e}")))
    }

    /// An API call whose answer must be a success; returns the JSON body (`null` when empty).
    fn call_ok(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ModuleError> {
        let bytes = body.map(|b| b.to_string().into_bytes());
        let r = self.call(
            method,
            path,
            bytes.as_deref().map(|b| ("application/json", b)),
        )?;
        if !r.is_success() && r.status != 304 {
            return Err(failed(format!(
                "Docker API {method} {}: HTTP {}: {}",
                path.split('?').next().unwrap_or(path),
                r.status,
                api_message(&r)
            )));
        }
        Ok(serde_json::from_slice(&r.body).unwrap_or(Value::Null))
    }

    /// `GET path`, `None` on 404.
    fn get_opt(&self, path: &str) -> Result<Option<Value>, ModuleError> {
        let r = self.call("GET", path, None)?;
        match r.status {
            404 => Ok(None),
            s if (200..300).contains(&s) => serde_json::from_slice(&r.body)
                .map(Some)
                .map_err(|e| failed(format!("Docker API GET {path}: bad JSON: {e}"))),
            s => Err(failed(format!(
                "Docker API GET {path}: HTTP {s}: {}",
                api_message(&r)
            ))),
        }
    }

    /// Run `docker ARGS...` on the host.
    pub(crate) fn cli_raw(
        &self,
        args: &[&str],
        stdin: Option<Vec<u8>>,
    ) -> Result<Output, ModuleError> {
        let mut argv = vec!["docker".to_string()];
        argv.extend(args.iter().map(|s| s.to_string()));
        let mut cmd = Command::argv(argv);
        cmd.stdin = stdin;
        Ok(self.target.run(&cmd)?)
    }

    /// Run `docker ARGS...`; a non-zero exit is an error naming `what`.
    fn cli_ok(
        &self,
        what: &str,
        args: &[&str],
        stdin: Option<Vec<u8>>,
    ) -> Result<String, ModuleError> {
        let out = self.cli_raw(args, stdin)?;
        if !out.success() {
            return Err(failed(format!(
                "docker {what}: {}",
                first_line(&format!("{}{}", out.stderr_str(), out.stdout_str()))
            )));
        }
        Ok(out.stdout_str())
    }

    /// `docker inspect` of one object through the CLI, `None` when there is no such object.
    fn cli_inspect(&self, kind: &str, name: &str) -> Result<Option<Value>, ModuleError> {
        let out = self.cli_raw(&[kind, "inspect", name], None)?;
        if !out.success() {
            let err = out.stderr_str();
            if err.to_ascii_lowercase().contains("no such") || err.contains("not found") {
                return Ok(None);
            }
            return Err(failed(format!(
                "docker {kind} inspect {name}: {}",
                first_line(&err)
            )));
        }
        let v: Value = serde_json::from_str(&out.stdout_str())
            .map_err(|e| failed(format!("docker {kind} inspect {name}: bad JSON: {e}")))?;
        Ok(v.as_array().and_then(|a| a.first()).cloned())
    }

    // ---- containers ----

    pub fn inspect_container(&self, name: &str) -> Result<Option<Value>, ModuleError> {
        match self.backend {
            Backend::Socket(_) => self.get_opt(&format!("/containers/{}/json", seg(name))),
            Backend::Cli => self.cli_inspect("container", name),
        }
    }

    /// Every container (running or not) carrying all these labels, fully inspected.
    pub fn containers_with_labels(
        &self,
        labels: &[(String, String)],
    ) -> Result<Vec<Value>, ModuleError> {
        let filters: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let ids: Vec<String> = match self.backend {
            Backend::Socket(_) => {
                let f = json!({ "label": filters }).to_string();
                let list = self.call_ok(
                    "GET",
                    &format!("/containers/json?all=1&filters={}", http::encode_query(&f)),
                    None,
                )?;
                list.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|c| c.get("Id").and_then(Value::as_str).map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            }
            Backend::Cli => {
                let mut args = vec!["ps", "-aq", "--no-trunc"];
                let fl: Vec<String> = filters.iter().map(|f| format!("label={f}")).collect();
                for f in &fl {
                    args.push("--filter");
                    args.push(f);
                }
                self.cli_ok("ps", &args, None)?
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            }
        };
        let mut out = Vec::new();
        for id in ids {
            // A container removed between the list and the inspect is simply gone.
            if let Some(c) = self.inspect_container(&id)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Create a container from an API create body; returns its ID.
    pub fn create_container(&self, name: &str, body: &Value) -> Result<String, ModuleError> {
        match self.backend {
            Backend::Socket(_) => {
                let v = self.call_ok(
                    "POST",
                    &format!("/containers/create?name={}", seg(name)),
                    Some(body),
                )?;
                v.get("Id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| failed("Docker API create: no Id in the answer"))
            }
            Backend::Cli => {
                let (args, env_file) = cli::create_args(name, body)?;
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                // The environment goes on stdin (`--env-file /dev/stdin`), never on a command line.
                let out = self.cli_ok("create", &refs, Some(env_file.into_bytes()))?;
                Ok(out.trim().to_string())
            }
        }
    }

    pub fn start(&self, id: &str) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => self
                .call_ok("POST", &format!("/containers/{}/start", seg(id)), None)
                .map(drop),
            Backend::Cli => self.cli_ok("start", &["start", id], None).map(drop),
        }
    }

    /// Stop with the container's stop signal, then KILL after `grace`.
    pub fn stop(&self, id: &str, grace: Duration) -> Result<(), ModuleError> {
        let t = grace.as_secs().to_string();
        match self.backend {
            Backend::Socket(_) => {
                let r = self.call_with(
                    "POST",
                    &format!("/containers/{}/stop?t={t}", seg(id)),
                    &[],
                    None,
                    self.timeout + grace,
                )?;
                if r.is_success() || r.status == 304 {
                    Ok(())
                } else {
                    Err(failed(format!("docker stop {id}: {}", api_message(&r))))
                }
            }
            Backend::Cli => self.cli_ok("stop", &["stop", "-t", &t, id], None).map(drop),
        }
    }

    pub fn restart(&self, id: &str, grace: Duration) -> Result<(), ModuleError> {
        let t = grace.as_secs().to_string();
        match self.backend {
            Backend::Socket(_) => self
                .call_with(
                    "POST",
                    &format!("/containers/{}/restart?t={t}", seg(id)),
                    &[],
                    None,
                    self.timeout + grace,
                )
                .and_then(|r| {
                    if r.is_success() {
                        Ok(())
                    } else {
                        Err(failed(format!("docker restart {id}: {}", api_message(&r))))
                    }
                }),
            Backend::Cli => self
                .cli_ok("restart", &["restart", "-t", &t, id], None)
                .map(drop),
        }
    }

    /// Send a signal (`USR1`, `SIGTERM`, `9`).
    pub fn kill(&self, id: &str, signal: &str) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => self
                .call_ok(
                    "POST",
                    &format!("/containers/{}/kill?signal={}", seg(id), seg(signal)),
                    None,
                )
                .map(drop),
            Backend::Cli => self
                .cli_ok("kill", &["kill", "-s", signal, id], None)
                .map(drop),
        }
    }

    /// Remove a container (forced: a running one is killed), with its anonymous volumes.
    pub fn remove_container(&self, id: &str) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => {
                let r = self.call(
                    "DELETE",
                    &format!("/containers/{}?force=1&v=1", seg(id)),
                    None,
                )?;
                if r.is_success() || r.status == 404 {
                    Ok(())
                } else {
                    Err(failed(format!("docker rm {id}: {}", api_message(&r))))
                }
            }
            Backend::Cli => self.cli_ok("rm", &["rm", "-f", "-v", id], None).map(drop),
        }
    }

    pub fn rename(&self, id: &str, new_name: &str) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => self
                .call_ok(
                    "POST",
                    &format!("/containers/{}/rename?name={}", seg(id), seg(new_name)),
                    None,
                )
                .map(drop),
            Backend::Cli => self
                .cli_ok("rename", &["rename", id, new_name], None)
                .map(drop),
        }
    }

    /// Change what Docker changes on a live container (`RestartPolicy`, `Memory`, `NanoCpus`).
    pub fn update(&self, id: &str, body: &Value) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => self
                .call_ok(
                    "POST",
                    &format!("/containers/{}/update", seg(id)),
                    Some(body),
                )
                .map(drop),
            Backend::Cli => {
                let mut args = vec!["update".to_string()];
                args.extend(cli::update_args(body));
                args.push(id.to_string());
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                self.cli_ok("update", &refs, None).map(drop)
            }
        }
    }

    /// Connect a container to a network with aliases.
    pub fn connect_network(
        &self,
        network: &str,
        id: &str,
        aliases: &[String],
    ) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => self
                .call_ok(
                    "POST",
                    &format!("/networks/{}/connect", seg(network)),
                    Some(&json!({"Container": id, "EndpointConfig": {"Aliases": aliases}})),
                )
                .map(drop),
            Backend::Cli => {
                let mut args = vec!["network".to_string(), "connect".to_string()];
                for a in aliases {
                    args.push("--alias".into());
                    args.push(a.clone());
                }
                args.push(network.to_string());
                args.push(id.to_string());
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                self.cli_ok("network connect", &refs, None).map(drop)
            }
        }
    }

    /// The last lines a container wrote (stdout and stderr).
    pub fn logs_tail(&self, id: &str, lines: u32) -> Result<String, ModuleError> {
        match self.backend {
            Backend::Socket(_) => {
                let r = self.call(
                    "GET",
                    &format!(
                        "/containers/{}/logs?stdout=1&stderr=1&tail={lines}",
                        seg(id)
                    ),
                    None,
                )?;
                if !r.is_success() {
                    return Err(failed(format!("docker logs {id}: {}", api_message(&r))));
                }
                Ok(demux(&r.body))
            }
            Backend::Cli => {
                let n = lines.to_string();
                let out = self.cli_raw(&["logs", "--tail", &n, id], None)?;
                Ok(format!("{}{}", out.stdout_str(), out.stderr_str()))
            }
        }
    }

    /// Disconnect a container from a network (forced: a stopped container too).
    pub fn disconnect_network(&self, network: &str, container: &str) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => self
                .call_ok(
                    "POST",
                    &format!("/networks/{}/disconnect", seg(network)),
                    Some(&json!({"Container": container, "Force": true})),
                )
                .map(drop),
            Backend::Cli => self
                .cli_ok(
                    "network disconnect",
                    &["network", "disconnect", "-f", network, container],
                    None,
                )
                .map(drop),
        }
    }

    // ---- images ----

    pub fn inspect_image(&self, reference: &str) -> Result<Option<Value>, ModuleError> {
        match self.backend {
            Backend::Socket(_) => self.get_opt(&format!("/images/{}/json", seg(reference))),
            Backend::Cli => self.cli_inspect("image", reference),
        }
    }

    /// Pull `reference`; `auth` is the X-Registry-Auth value (base64 JSON), never printed.
    pub fn pull(&self, reference: &str, auth: Option<&str>) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => {
                let (repo, tag) = split_reference(reference);
                let mut headers = Vec::new();
                if let Some(a) = auth {
                    headers.push(("X-Registry-Auth", a.to_string()));
                }
                let r = self.call_with(
                    "POST",
                    &format!("/images/create?fromImage={}&tag={}", seg(&repo), seg(&tag)),
                    &headers,
                    None,
                    self.long_timeout,
                )?;
                stream_result(&format!("pull {reference}"), &r).map(drop)
            }
            Backend::Cli => self
                .cli_ok("pull", &["pull", "-q", reference], None)
                .map(drop),
        }
    }

    /// `docker load` of an image archive; returns what the daemon said it loaded.
    pub fn load(&self, archive: Vec<u8>) -> Result<String, ModuleError> {
        match self.backend {
            Backend::Socket(_) => {
                let r = self.call_with(
                    "POST",
                    "/images/load?quiet=1",
                    &[],
                    Some(("application/x-tar", &archive)),
                    self.long_timeout,
                )?;
                stream_result("load", &r)
            }
            Backend::Cli => self.cli_ok("load", &["load", "-q"], Some(archive)),
        }
    }

    /// `docker import`: an image from a root filesystem tarball, with Dockerfile `changes`
    /// (`CMD ["/bin/sh"]`, `ENV LANG=C.UTF-8`).
    pub fn import(
        &self,
        rootfs: Vec<u8>,
        reference: &str,
        changes: &[String],
    ) -> Result<String, ModuleError> {
        match self.backend {
            Backend::Socket(_) => {
                let (repo, tag) = split_reference(reference);
                let mut q = format!(
                    "/images/create?fromSrc=-&repo={}&tag={}",
                    seg(&repo),
                    seg(&tag)
                );
                for c in changes {
                    q.push_str("&changes=");
                    q.push_str(&seg(c));
                }
                let r = self.call_with(
                    "POST",
                    &q,
                    &[],
                    Some(("application/x-tar", &rootfs)),
                    self.long_timeout,
                )?;
                stream_result(&format!("import {reference}"), &r)
            }
            Backend::Cli => {
                let mut args = vec!["import".to_string()];
                for c in changes {
                    args.push("-c".into());
                    args.push(c.clone());
                }
                args.push("-".into());
                args.push(reference.to_string());
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                self.cli_ok(&format!("import {reference}"), &refs, Some(rootfs))
            }
        }
    }

    /// Build from a context tar; returns the build output.
    pub fn build(&self, context: Vec<u8>, opts: &BuildOptions) -> Result<String, ModuleError> {
        match self.backend {
            Backend::Socket(_) => {
                let mut q = format!(
                    "/build?t={}&dockerfile={}&rm=1&forcerm=1",
                    seg(&opts.tag),
                    seg(&opts.dockerfile)
                );
                if !opts.build_args.is_empty() {
                    q.push_str("&buildargs=");
                    q.push_str(&seg(&Value::Object(opts.build_args.clone()).to_string()));
                }
                if !opts.labels.is_empty() {
                    q.push_str("&labels=");
                    q.push_str(&seg(&Value::Object(opts.labels.clone()).to_string()));
                }
                if opts.nocache {
                    q.push_str("&nocache=1");
                }
                if opts.pull {
                    q.push_str("&pull=1");
                }
                let r = self.call_with(
                    "POST",
                    &q,
                    &[],
                    Some(("application/x-tar", &context)),
                    self.long_timeout,
                )?;
                stream_result(&format!("build {}", opts.tag), &r)
            }
            Backend::Cli => {
                let mut args = vec![
                    "build".to_string(),
                    "-t".into(),
                    opts.tag.clone(),
                    "-f".into(),
                    opts.dockerfile.clone(),
                ];
                for (k, v) in &opts.build_args {
                    args.push("--build-arg".into());
                    args.push(format!("{k}={}", crate::args::value_to_string(v)));
                }
                for (k, v) in &opts.labels {
                    args.push("--label".into());
                    args.push(format!("{k}={}", crate::args::value_to_string(v)));
                }
                if opts.nocache {
                    args.push("--no-cache".into());
                }
                if opts.pull {
                    args.push("--pull".into());
                }
                args.push("-".into());
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                self.cli_ok(&format!("build {}", opts.tag), &refs, Some(context))
            }
        }
    }

    pub fn tag_image(&self, source: &str, target_ref: &str) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => {
                let (repo, tag) = split_reference(target_ref);
                self.call_ok(
                    "POST",
                    &format!(
                        "/images/{}/tag?repo={}&tag={}",
                        seg(source),
                        seg(&repo),
                        seg(&tag)
                    ),
                    None,
                )
                .map(drop)
            }
            Backend::Cli => self
                .cli_ok("tag", &["tag", source, target_ref], None)
                .map(drop),
        }
    }

    pub fn remove_image(&self, reference: &str, force: bool) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => self
                .call_ok(
                    "DELETE",
                    &format!("/images/{}?force={}", seg(reference), u8::from(force)),
                    None,
                )
                .map(drop),
            Backend::Cli => {
                let mut args = vec!["rmi"];
                if force {
                    args.push("-f");
                }
                args.push(reference);
                self.cli_ok("rmi", &args, None).map(drop)
            }
        }
    }

    // ---- registries ----

    /// Check credentials with the registry (the daemon asks it). The password goes in the
    /// request body or on stdin, never on a command line.
    pub fn login(&self, registry: &str, username: &str, password: &str) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => {
                let body =
                    json!({"username": username, "password": password, "serveraddress": registry});
                let r = self.call(
                    "POST",
                    "/auth",
                    Some(("application/json", body.to_string().as_bytes())),
                )?;
                if r.is_success() {
                    Ok(())
                } else {
                    Err(failed(format!(
                        "login to {registry} as {username} refused: {}",
                        redact(&api_message(&r), password)
                    )))
                }
            }
            Backend::Cli => {
                let out = self.cli_raw(
                    &[
                        "login",
                        "--username",
                        username,
                        "--password-stdin",
                        registry,
                    ],
                    Some(password.as_bytes().to_vec()),
                )?;
                if out.success() {
                    Ok(())
                } else {
                    Err(failed(format!(
                        "login to {registry} as {username} refused: {}",
                        redact(&first_line(&out.stderr_str()), password)
                    )))
                }
            }
        }
    }

    // ---- networks and volumes ----

    pub fn inspect_network(&self, name: &str) -> Result<Option<Value>, ModuleError> {
        match self.backend {
            Backend::Socket(_) => self.get_opt(&format!("/networks/{}", seg(name))),
            Backend::Cli => self.cli_inspect("network", name),
        }
    }

    pub fn create_network(&self, body: &Value) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => self
                .call_ok("POST", "/networks/create", Some(body))
                .map(drop),
            Backend::Cli => {
                let args = cli::network_create_args(body);
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                self.cli_ok("network create", &refs, None).map(drop)
            }
        }
    }

    pub fn remove_network(&self, name: &str) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => self
                .call_ok("DELETE", &format!("/networks/{}", seg(name)), None)
                .map(drop),
            Backend::Cli => self
                .cli_ok("network rm", &["network", "rm", name], None)
                .map(drop),
        }
    }

    pub fn inspect_volume(&self, name: &str) -> Result<Option<Value>, ModuleError> {
        match self.backend {
            Backend::Socket(_) => self.get_opt(&format!("/volumes/{}", seg(name))),
            Backend::Cli => self.cli_inspect("volume", name),
        }
    }

    pub fn create_volume(&self, body: &Value) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => self
                .call_ok("POST", "/volumes/create", Some(body))
                .map(drop),
            Backend::Cli => {
                let args = cli::volume_create_args(body);
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                self.cli_ok("volume create", &refs, None).map(drop)
            }
        }
    }

    pub fn remove_volume(&self, name: &str) -> Result<(), ModuleError> {
        match self.backend {
            Backend::Socket(_) => self
                .call_ok("DELETE", &format!("/volumes/{}", seg(name)), None)
                .map(drop),
            Backend::Cli => self
                .cli_ok("volume rm", &["volume", "rm", name], None)
                .map(drop),
        }
    }

    /// One HTTP GET from the host's side (a health check on a container's address).
    pub fn http_get(
        &self,
        host: &str,
        port: u16,
        path: &str,
        timeout: Duration,
    ) -> Result<http::Response, String> {
        let req = http::request("GET", &format!("{host}:{port}"), path, &[], None);
        let raw = self
            .target
            .exchange(
                &Endpoint::Tcp {
                    host: host.to_string(),
                    port,
                },
                &req,
                timeout,
            )
            .map_err(|e| e.to_string())?;
        http::parse(&raw)
    }
}

/// Options of an image build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub tag: String,
    pub dockerfile: String,
    pub build_args: Map<String, Value>,
    pub labels: Map<String, Value>,
    pub nocache: bool,
    pub pull: bool,
}

/// `repo:tag` → (`repo`, `tag`), minding registry ports (`host:5000/app:1`) and digests.
pub fn split_reference(reference: &str) -> (String, String) {
    if let Some((repo, digest)) = reference.split_once('@') {
        return (repo.to_string(), digest.to_string());
    }
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
        _ => (reference.to_string(), "latest".to_string()),
    }
}

/// The messages of a streamed answer (pull, load, build): an `error` anywhere is a failure;
/// otherwise the `stream`/`status` texts, joined.
pub fn stream_result(what: &str, r: &http::Response) -> Result<String, ModuleError> {
    if !r.is_success() {
        return Err(failed(format!(
            "docker {what}: HTTP {}: {}",
            r.status,
            api_message(r)
        )));
    }
    let mut text = String::new();
    for v in serde_json::Deserializer::from_slice(&r.body).into_iter::<Value>() {
        let Ok(v) = v else { break };
        if let Some(e) = v.get("error").and_then(Value::as_str) {
            return Err(failed(format!("docker {what}: {}", e.trim())));
        }
        for key in ["stream", "status"] {
            if let Some(s) = v.get(key).and_then(Value::as_str) {
                text.push_str(s);
                if !s.ends_with('\n') {
                    text.push('\n');
                }
            }
        }
        if let Some(id) = v.pointer("/aux/ID").and_then(Value::as_str) {
            text.push_str(&format!("image {id}\n"));
        }
    }
    Ok(text)
}

/// Docker's multiplexed log stream (8-byte frame headers) as text; a TTY container's stream
/// has no headers and is returned as it is.
pub fn demux(body: &[u8]) -> String {
    let framed = body.len() >= 8 && body[0] <= 2 && body[1..4] == [0, 0, 0];
    if !framed {
        return String::from_utf8_lossy(body).into_owned();
    }
    let mut out = Vec::new();
    let mut rest = body;
    while rest.len() >= 8 {
        let n = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let end = (8 + n).min(rest.len());
        out.extend_from_slice(&rest[8..end]);
        rest = &rest[end..];
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(no output)")
        .to_string()
}

fn redact(s: &str, secret: &str) -> String {
    if secret.is_empty() {
        s.to_string()
    } else {
        s.replace(secret, "********")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_at_the_tag() {
        assert_eq!(split_reference("app:1"), ("app".into(), "1".into()));
        assert_eq!(split_reference("app"), ("app".into(), "latest".into()));
        assert_eq!(
            split_reference("reg:5000/team/app"),
            ("reg:5000/team/app".into(), "latest".into())
        );
        assert_eq!(
            split_reference("reg:5000/app:2.1"),
            ("reg:5000/app".into(), "2.1".into())
        );
        assert_eq!(
            split_reference("app@sha256:abc"),
            ("app".into(), "sha256:abc".into())
        );
    }

    #[test]
    fn log_frames_are_joined() {
        let mut b = vec![1, 0, 0, 0, 0, 0, 0, 3];
        b.extend_from_slice(b"ab\n");
        b.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 2]);
        b.extend_from_slice(b"e\n");
        assert_eq!(demux(&b), "ab\ne\n");
        assert_eq!(demux(b"plain tty output"), "plain tty output");
    }

    #[test]
    fn streamed_errors_fail() {
        let ok = http::parse(
            b"HTTP/1.1 200 OK\r\n\r\n{\"stream\":\"Step 1/2\"}\r\n{\"aux\":{\"ID\":\"sha256:1\"}}",
        )
        .unwrap();
        assert_eq!(
            stream_result("build", &ok).unwrap(),
            "Step 1/2\nimage sha256:1\n"
        );
        let bad = http::parse(b"HTTP/1.1 200 OK\r\n\r\n{\"status\":\"x\"}{\"errorDetail\":{},\"error\":\"manifest unknown\"}").unwrap();
        assert!(stream_result("pull a", &bad)
            .unwrap_err()
            .to_string()
            .contains("manifest unknown"));
    }
}
