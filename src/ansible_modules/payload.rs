//! The payload a host runs: ansible-core's AnsiballZ wrapper (the module and every
//! `module_utils` it imports, zipped), built once per module and interpreter by the helper and
//! then reused; and the internal `_ansible_*` arguments Ansible passes every module.

use super::helper::{self, Hello};
use super::{AnsibleModule, Error, Result};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// A built payload.
#[derive(Debug)]
pub struct Payload {
    /// The Python script to run.
    pub script: String,
    /// The content hash (hex sha256) naming it in a host's cache.
    pub sha256: String,
    /// The script reads its arguments (`{"ANSIBLE_MODULE_ARGS": ...}`) from stdin and can be
    /// cached on hosts; otherwise the arguments are inside it and it is built per task.
    pub args_on_stdin: bool,
}

type Key = (PathBuf, String);
static BUILT: OnceLock<Mutex<HashMap<Key, Arc<Payload>>>> = OnceLock::new();

/// The payload for `module` run by `interpreter` with `args` (Ansible's internal ones included).
pub fn payload(
    module: &AnsibleModule,
    interpreter: &str,
    args: &Map<String, Value>,
) -> Result<Arc<Payload>> {
    let cache = BUILT.get_or_init(Default::default);
    let key = (module.path.clone(), interpreter.to_string());
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(hit);
    }
    let built = Arc::new(build(module, interpreter, args)?);
    if built.args_on_stdin {
        if let Ok(mut c) = cache.lock() {
            c.insert(key, Arc::clone(&built));
        }
    }
    Ok(built)
}

fn build(module: &AnsibleModule, interpreter: &str, args: &Map<String, Value>) -> Result<Payload> {
    let a = helper::request(&json!({
        "op": "build",
        "name": module.name,
        "path": module.path,
        "interpreter": interpreter,
        "args": args,
    }))?;
    let text = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or_default();
    if a.get("supported").and_then(Value::as_bool) != Some(true) {
        return Err(Error::Unsupported {
            name: module.name.clone(),
            style: text("style").to_string(),
        });
    }
    Ok(Payload {
        script: text("script").to_string(),
        sha256: text("sha256").to_string(),
        args_on_stdin: a.get("cacheable").and_then(Value::as_bool) == Some(true),
    })
}

/// How a task runs, for the internal arguments.
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    pub module_name: &'a str,
    pub check: bool,
    pub diff: bool,
    pub no_log: bool,
    pub verbosity: u8,
    /// `ansible_remote_tmp` (default `~/.ansible/tmp`).
    pub remote_tmp: String,
}

/// The task's arguments plus the `_ansible_*` ones ansible-core 2.19 adds
/// (`ActionBase._update_module_args`).
pub fn module_args(
    args: &Map<String, Value>,
    inv: &Invocation,
    hello: &Hello,
) -> Map<String, Value> {
    let mut m = args.clone();
    let internal = json!({
        "_ansible_check_mode": inv.check,
        "_ansible_no_log": inv.no_log,
        "_ansible_debug": false,
        "_ansible_diff": inv.diff,
        "_ansible_verbosity": inv.verbosity,
        "_ansible_version": hello.version,
        "_ansible_module_name": inv.module_name,
        "_ansible_syslog_facility": "LOG_USER",
        "_ansible_selinux_special_fs": hello.selinux_special_fs,
        "_ansible_socket": null,
        "_ansible_shell_executable": "/bin/sh",
        "_ansible_keep_remote_files": false,
        "_ansible_tmpdir": null,
        "_ansible_remote_tmp": inv.remote_tmp,
        "_ansible_ignore_unknown_opts": false,
        "_ansible_target_log_info": null,
        "_ansible_tracebacks_for": [],
    });
    if let Value::Object(internal) = internal {
        m.extend(internal);
    }
    m
}
