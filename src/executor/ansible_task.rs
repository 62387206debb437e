//! A task running one of Ansible's own modules (`src/ansible_modules/`): the payload built on
//! the controller, run on the host through the task's connection (become, environment), and
//! the module's JSON result turned into a normal result: status, message, diffs, facts and
//! everything the module returned for `register:`.

use super::environment::EnvTarget;
use super::host::HostState;
use super::task_runner::{failed, unreachable_result};
use super::Executor;
use crate::ansible_modules::payload::{self, Invocation};
use crate::ansible_modules::run::{self, RunError, Trips};
use crate::ansible_modules::{helper, AnsibleModule};
use crate::output::{Event, HostResult, ResultStatus};
use crate::playbook::Task;
use crate::template::Templater;
use converge_modules::args::to_bool;
use converge_modules::{Diff, Target, TargetError};
use serde_json::{Map, Value};

const DEFAULT_PYTHON: &str = "/usr/bin/python3";

impl Executor<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_ansible_module(
        &self,
        m: &AnsibleModule,
        task: &Task,
        host: &mut HostState,
        vars: &Map<String, Value>,
        args: &Map<String, Value>,
        check: bool,
        diff: bool,
    ) -> HostResult {
        if let Some(msg) = m.refused(args) {
            return failed(&host.name, format!("module `{}`: {msg}", m.name));
        }
        let interpreter = self.host_var(vars, "ansible_python_interpreter", DEFAULT_PYTHON);
        let hello = match helper::hello() {
            Ok(h) => h,
            Err(e) => return failed(&host.name, format!("module `{}`: {e}", m.name)),
        };
        let inv = Invocation {
            module_name: &m.name,
            check,
            diff,
            no_log: self.no_log(task, vars),
            verbosity: self.opts.verbosity,
            remote_tmp: self.host_var(vars, "ansible_remote_tmp", "~/.ansible/tmp"),
        };
        let args = payload::module_args(args, &inv, &hello);
        let built = match payload::payload(m, &interpreter, &args) {
            Ok(p) => p,
            Err(e) => return failed(&host.name, format!("module `{}`: {e}", m.name)),
        };
        let env = match self.environment(task, vars) {
            Ok(env) => env,
            Err(e) => return failed(&host.name, e),
        };
        let conn = match self.connection_for(task, host, vars) {
            Ok(c) => c,
            Err(e) => return unreachable_result(&host.name, e),
        };
        // The module may change what was prefetched.
        host.prefetch.clear();
        let env_target;
        let target: &dyn Target = if env.is_empty() {
            conn.as_ref()
        } else {
            env_target = EnvTarget {
                inner: conn.as_ref(),
                env,
            };
            &env_target
        };
        match run::run(target, &interpreter, &built, &args) {
            Ok((result, trips)) => {
                self.say_path(m, &host.name, &built.sha256, trips);
                into_host_result(result, host, diff)
            }
            Err(RunError::Target(TargetError::Unreachable(e))) => {
                host.connection = None;
                unreachable_result(&host.name, e)
            }
            Err(e @ RunError::NoPython { .. }) => failed(
                &host.name,
                format!("module `{}` cannot run on {}: {e}", m.name, host.name),
            ),
            Err(e) => module_failure(&host.name, &m.name, e),
        }
    }

    /// A host variable that may be a template (`ansible_python_interpreter`), rendered.
    fn host_var(&self, vars: &Map<String, Value>, name: &str, default: &str) -> String {
        let Some(v) = vars.get(name).and_then(Value::as_str) else {
            return default.to_string();
        };
        if !Templater::is_template(v) {
            return v.to_string();
        }
        self.templater
            .render(v, &self.ctx_value(vars.clone()))
            .unwrap_or_else(|_| v.to_string())
    }

    fn no_log(&self, task: &Task, vars: &Map<String, Value>) -> bool {
        match &task.no_log {
            None => false,
            Some(Value::String(s)) if Templater::is_template(s) => self
                .templater
                .render(s, &self.ctx_value(vars.clone()))
                .ok()
                .and_then(|r| to_bool(&Value::String(r)))
                .unwrap_or(false),
            Some(v) => to_bool(v).unwrap_or(false),
        }
    }

    /// `-v`: which path the task took.
    fn say_path(&self, m: &AnsibleModule, host: &str, sha: &str, trips: Trips) {
        let short = sha.get(..12).unwrap_or(sha);
        let upload = if trips.uploaded { ", payload sent" } else { "" };
        self.sink.emit(&Event::Verbose {
            level: 1,
            host: Some(host.to_string()),
            message: format!(
                "Ansible module {} (AnsiballZ {short}, {} round trip(s){upload})",
                m.describe(),
                trips.round_trips
            ),
        });
    }
}

/// The module's JSON result as a task result, as Ansible reads it: `failed` (or a non-zero `rc`
/// without `failed`), `skipped`, `changed`, `msg`, `diff`, `ansible_facts`; every key registered.
fn into_host_result(
    mut result: Map<String, Value>,
    host: &mut HostState,
    diff: bool,
) -> HostResult {
    result.retain(|k, _| !k.starts_with("_ansible_"));
    let flag = |k: &str| result.get(k).and_then(to_bool).unwrap_or(false);
    let rc_failed = result
        .get("rc")
        .and_then(Value::as_i64)
        .is_some_and(|rc| rc != 0);
    let is_failed = match result.get("failed") {
        Some(v) => to_bool(v).unwrap_or(false),
        None => rc_failed,
    };
    let changed = flag("changed");
    let status = if is_failed {
        ResultStatus::Failed
    } else if flag("skipped") {
        ResultStatus::Skipped
    } else if changed {
        ResultStatus::Changed
    } else {
        ResultStatus::Ok
    };
    result.insert("changed".into(), Value::Bool(changed));
    result.insert("failed".into(), Value::Bool(is_failed));
    let mut r = HostResult::new(&host.name, status);
    r.msg = result.get("msg").map(|m| match m {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    if is_failed && r.msg.is_none() {
        let msg = match exception_text(result.get("exception")) {
            Some(e) => format!("MODULE FAILURE: {e}"),
            None => "MODULE FAILURE".to_string(),
        };
        r.msg = Some(msg.clone());
        result.insert("msg".into(), Value::String(msg));
    }
    if diff {
        r.diffs = result.get("diff").map(diffs_of).unwrap_or_default();
    }
    if let Some(Value::Object(facts)) = result.get("ansible_facts") {
        merge_facts(host, facts);
    }
    r.data = Value::Object(result);
    r
}

/// The messages of an exception a 2.19 module reports (`{"__ansible_type": "ErrorSummary",
/// "event": {"msg", "chain": {"event": ...}}}`), or an older module's traceback text.
fn exception_text(e: Option<&Value>) -> Option<String> {
    match e? {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Object(summary) => {
            let mut msgs = Vec::new();
            let mut event = summary.get("event");
            while let Some(ev) = event {
                if let Some(m) = ev.get("msg").and_then(Value::as_str) {
                    msgs.push(m.to_string());
                }
                event = ev.get("chain").and_then(|c| c.get("event"));
            }
            (!msgs.is_empty()).then(|| msgs.join(": "))
        }
        _ => None,
    }
}

/// A module's `diff`: one `{before, after, before_header, after_header}` or `{prepared}`, or a
/// list of them. Structured before/after are shown as JSON.
fn diffs_of(v: &Value) -> Vec<Diff> {
    let one = |d: &Value| -> Option<Diff> {
        let text = |k: &str| -> String {
            match d.get(k) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => ansible_json(other),
            }
        };
        if let Some(p) = d.get("prepared").and_then(Value::as_str) {
            return Some(Diff {
                before_header: String::new(),
                after_header: String::new(),
                before: String::new(),
                after: p.to_string(),
            });
        }
        if d.get("before").is_none() && d.get("after").is_none() {
            return None;
        }
        Some(Diff {
            before_header: text("before_header"),
            after_header: text("after_header"),
            before: text("before"),
            after: text("after"),
        })
    };
    match v {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

/// Structured before/after as Ansible's callback shows them: JSON, keys sorted, indent 4.
fn ansible_json(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    let _ = serde::Serialize::serialize(&sorted(v), &mut ser);
    String::from_utf8_lossy(&out).into_owned() + "\n"
}

/// Facts a module returns: in `ansible_facts`, and (as Ansible injects them) as variables by
/// their own name; `ansible_x` keys are stored as fact `x`.
fn merge_facts(host: &mut HostState, facts: &Map<String, Value>) {
    for (k, v) in facts {
        match k.strip_prefix("ansible_") {
            Some(short) => {
                host.facts.insert(short.to_string(), v.clone());
            }
            None => {
                host.facts.insert(k.clone(), v.clone());
                host.vars.insert(k.clone(), v.clone());
            }
        }
    }
}

/// A module that crashed or printed no JSON, as Ansible reports it.
fn module_failure(host: &str, module: &str, e: RunError) -> HostResult {
    let mut r = failed(host, format!("MODULE FAILURE: `{module}`: {e}"));
    if let (RunError::NotJson { rc, stdout, stderr }, Value::Object(m)) = (&e, &mut r.data) {
        m.insert("rc".into(), Value::from(*rc));
        m.insert("module_stdout".into(), Value::String(stdout.clone()));
        m.insert("module_stderr".into(), Value::String(stderr.clone()));
    }
    r
}
