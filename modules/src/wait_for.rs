//! `wait_for`: poll the host until a TCP port opens or closes, or a file appears (optionally
//! containing `search_regex`) or disappears.
//!
//! Ports are probed from the host itself with bash's `/dev/tcp` (under `timeout` when present),
//! falling back to `nc -z` on hosts without bash; a host with neither fails with a clear
//! message. Without `port` or `path` it just waits `timeout` seconds, as Ansible does. Read-only:
//! it runs in check mode too. `drained` and `search_regex` on ports are not supported.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::contract::{Module, ModuleError, Outcome, RunMode};
use crate::pyre;
use crate::target::{shell_quote, Command, Target};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("host", ArgKind::Str),
    ArgSpec::new("port", ArgKind::Int),
    ArgSpec::new("path", ArgKind::Str),
    ArgSpec::new("state", ArgKind::Str).choices(&["started", "stopped", "present", "absent"]),
    ArgSpec::new("timeout", ArgKind::Float),
    ArgSpec::new("delay", ArgKind::Float),
    ArgSpec::new("sleep", ArgKind::Float),
    ArgSpec::new("connect_timeout", ArgKind::Float),
    ArgSpec::new("search_regex", ArgKind::Str),
    ArgSpec::new("msg", ArgKind::Str),
];

/// rc of the probe script when the host has neither bash nor nc.
const NO_TOOL: i32 = 99;

/// The `wait_for` module.
pub struct WaitForModule;

/// The shell script that exits 0 when `host:port` accepts a connection.
pub fn port_probe_script(host: &str, port: u16, connect_timeout: u64) -> String {
    let h = shell_quote(host);
    let t = connect_timeout.max(1);
    format!(
        "if command -v bash >/dev/null 2>&1; then \
           if command -v timeout >/dev/null 2>&1; then \
             exec timeout {t} bash -c 'exec 3<>\"/dev/tcp/$0/$1\"' {h} {port} 2>/dev/null; \
           fi; \
           exec bash -c 'exec 3<>\"/dev/tcp/$0/$1\"' {h} {port} 2>/dev/null; \
         elif command -v nc >/dev/null 2>&1; then \
           exec nc -z -w {t} {h} {port} 2>/dev/null; \
         else exit {NO_TOOL}; fi"
    )
}

enum Condition {
    Sleep,
    Port {
        host: String,
        port: u16,
        open: bool,
        connect_timeout: u64,
    },
    Path {
        path: String,
        present: bool,
        regex: Option<regex::Regex>,
    },
}

fn secs(p: &Params<'_>, name: &str, default: f64) -> Result<Duration, ArgError> {
    let v = p.float(name).unwrap_or(default);
    if !(0.0..=1e7).contains(&v) {
        return Err(ArgError::new(
            Some(name),
            "must be a positive number of seconds",
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// One check. `Ok(true)` when the condition holds, with `match_groups` data for regexes.
fn check(
    target: &dyn Target,
    c: &Condition,
    data: &mut Map<String, Value>,
) -> Result<bool, ModuleError> {
    match c {
        Condition::Sleep => Ok(false),
        Condition::Port {
            host,
            port,
            open,
            connect_timeout,
        } => {
            let out = target.run(&Command::shell(port_probe_script(
                host,
                *port,
                *connect_timeout,
            )))?;
            if out.rc == NO_TOOL {
                return Err(ModuleError::Failed(
                    "wait_for: the host has neither bash nor nc to probe ports with".into(),
                ));
            }
            Ok(out.success() == *open)
        }
        Condition::Path {
            path,
            present,
            regex,
        } => {
            let exists = target.stat(path)?.is_some();
            if !*present {
                return Ok(!exists);
            }
            if !exists {
                return Ok(false);
            }
            let Some(re) = regex else { return Ok(true) };
            let Ok(Some(bytes)) = target.read_file(path) else {
                return Ok(false);
            };
            let text = String::from_utf8_lossy(&bytes);
            let Some(caps) = re.captures(&text) else {
                return Ok(false);
            };
            let groups: Vec<Value> = caps
                .iter()
                .skip(1)
                .map(|g| g.map_or(Value::Null, |m| Value::String(m.as_str().to_string())))
                .collect();
            let mut named = Map::new();
            for name in re.capture_names().flatten() {
                if let Some(m) = caps.name(name) {
                    named.insert(name.to_string(), m.as_str().into());
                }
            }
            data.insert("match_groups".into(), Value::Array(groups));
            data.insert("match_groupdict".into(), Value::Object(named));
            Ok(true)
        }
    }
}

impl Module for WaitForModule {
    fn name(&self) -> &'static str {
        "wait_for"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(
        &self,
        target: &dyn Target,
        args: &Args,
        _mode: RunMode,
    ) -> Result<Outcome, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let timeout = secs(&p, "timeout", 300.0)?;
        let delay = secs(&p, "delay", 0.0)?;
        let sleep = secs(&p, "sleep", 1.0)?.max(Duration::from_millis(50));
        let state = p.str_or("state", "started");
        let present = matches!(state.as_str(), "started" | "present");
        let host = p.str_or("host", "127.0.0.1");
        let cond = match (p.int("port"), p.str("path")) {
            (Some(_), Some(_)) => {
                return Err(
                    ArgError::new(Some("port"), "port and path are mutually exclusive").into(),
                )
            }
            (Some(port), None) => {
                let port = u16::try_from(port)
                    .map_err(|_| ArgError::new(Some("port"), "must be between 0 and 65535"))?;
                if p.has("search_regex") {
                    return Err(ArgError::new(
                        Some("search_regex"),
                        "is only supported with path in converge",
                    )
                    .into());
                }
                Condition::Port {
                    host: host.clone(),
                    port,
                    open: present,
                    connect_timeout: secs(&p, "connect_timeout", 5.0)?.as_secs(),
                }
            }
            (None, Some(path)) => {
                let regex = match p.str("search_regex") {
                    Some(r) => Some(
                        pyre::compile("search_regex", &r, true, false)
                            .map_err(|e| ArgError::new(Some("search_regex"), e))?,
                    ),
                    None => None,
                };
                Condition::Path {
                    path,
                    present,
                    regex,
                }
            }
            (None, None) => Condition::Sleep,
        };
        let start = Instant::now();
        std::thread::sleep(delay);
        let mut data = Map::new();
        if let Condition::Sleep = cond {
            std::thread::sleep(timeout);
            let mut o = Outcome::ok().with_data("elapsed", start.elapsed().as_secs());
            o.data.insert("state".into(), state.into());
            return Ok(o);
        }
        let deadline = Instant::now() + timeout;
        loop {
            if check(target, &cond, &mut data)? {
                let mut o = Outcome::ok();
                o.data = data;
                o.data
                    .insert("elapsed".into(), start.elapsed().as_secs().into());
                o.data.insert("state".into(), state.into());
                // Every key Ansible's wait_for returns, null or empty when not used.
                o.data
                    .insert("search_regex".into(), p.str("search_regex").into());
                o.data.insert("port".into(), Value::Null);
                o.data.insert("path".into(), Value::Null);
                o.data
                    .entry("match_groups")
                    .or_insert_with(|| Value::Array(Vec::new()));
                o.data
                    .entry("match_groupdict")
                    .or_insert_with(|| Value::Object(Map::new()));
                match &cond {
                    Condition::Port { port, .. } => {
                        o.data.insert("port".into(), (*port).into());
                    }
                    Condition::Path { path, .. } => {
                        o.data.insert("path".into(), path.clone().into());
                    }
                    Condition::Sleep => {}
                }
                return Ok(o);
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::sleep(sleep.min(deadline - now));
        }
        let default = match &cond {
            Condition::Port {
                host,
                port,
                open: true,
                ..
            } => format!("Timeout when waiting for {host}:{port}"),
            Condition::Port { host, port, .. } => {
                format!("Timeout when waiting for {host}:{port} to stop.")
            }
            Condition::Path {
                path,
                present: true,
                regex: Some(r),
            } => {
                format!(
                    "Timeout when waiting for search string {} in {path}",
                    r.as_str()
                )
            }
            Condition::Path {
                path,
                present: true,
                ..
            } => format!("Timeout when waiting for file {path}"),
            Condition::Path { path, .. } => {
                format!("Timeout when waiting for {path} to be absent.")
            }
            Condition::Sleep => String::new(),
        };
        let msg = p.str("msg").unwrap_or(default);
        Ok(Outcome::failed(msg).with_data("elapsed", start.elapsed().as_secs()))
    }
}
