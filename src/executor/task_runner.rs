//! Running one task on one host: conditions, loops, retries, argument templating, the module
//! (engine-side or on the host), `changed_when`/`failed_when`, `register` and `no_log`.

use super::host::HostState;
use super::results::{censor, registered, status_of};
use super::vars::{task_vars, SharedVars};
use super::Executor;
use crate::output::{HostResult, ResultStatus};
use crate::playbook::catalog::{self, ModuleKind};
use crate::playbook::{Action, Expr, Task};
use crate::template::{self, Templater};
use converge_modules::args::to_bool;
use converge_modules::{ModuleError, RunMode, Status, TargetError};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Instant;

/// Per-task data shared by all hosts.
pub struct TaskCtx<'a> {
    pub shared: SharedVars<'a>,
}

impl Executor<'_> {
    pub(crate) fn ctx_value(&self, vars: Map<String, Value>) -> minijinja::Value {
        template::context(&self.templater, Arc::new(vars))
    }

    /// Every `when:` condition holds (they are ANDed).
    pub(crate) fn conditions_hold(
        &self,
        conds: &[Expr],
        ctx: &minijinja::Value,
    ) -> Result<bool, String> {
        for c in conds {
            match self.templater.eval_bool(&c.text, ctx) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(e) => {
                    return Err(format!(
                        "the conditional check '{}' failed: {e} ({})",
                        c.text,
                        c.span.location()
                    ))
                }
            }
        }
        Ok(true)
    }

    pub fn run_task_on_host(
        &self,
        tctx: &TaskCtx,
        task: &Task,
        host: &mut HostState,
    ) -> HostResult {
        let started = Instant::now();
        let groups = self.group_names_of(&host.name);
        let vars = task_vars(&tctx.shared, host, Some(task), &groups);
        self.learn_secret_vars(host, &vars);
        let mut result = match &task.loop_ {
            None => {
                let ctx = self.ctx_value(vars.clone());
                match self.conditions_hold(&task.when, &ctx) {
                    Ok(true) => self.run_with_retries(task, host, vars),
                    Ok(false) => skipped(&host.name, "Conditional result was False"),
                    Err(e) => failed(&host.name, e),
                }
            }
            Some(l) => self.run_loop(task, host, vars, l),
        };
        // As in Ansible, `register` keeps the real result of a `no_log` task; only what is shown
        // is censored, and what it read becomes secret for the rest of the run.
        if let Some(reg) = &task.register {
            host.vars.insert(reg.clone(), result.data.clone());
        }
        if self.flag(&task.no_log, host, task, &tctx.shared) {
            self.learn_no_log_result(&result.data);
            result
                .items
                .iter()
                .for_each(|i| self.learn_no_log_result(&i.data));
            censor(&mut result);
        }
        result.duration = started.elapsed();
        result
    }

    /// A templatable boolean keyword (`no_log`, `ignore_errors`).
    pub(crate) fn flag(
        &self,
        v: &Option<Value>,
        host: &HostState,
        task: &Task,
        shared: &SharedVars,
    ) -> bool {
        match v {
            None => false,
            Some(Value::String(s)) if Templater::is_template(s) => {
                let groups = self.group_names_of(&host.name);
                let ctx = self.ctx_value(task_vars(shared, host, Some(task), &groups));
                self.templater
                    .render(s, &ctx)
                    .ok()
                    .and_then(|r| to_bool(&Value::String(r)))
                    .unwrap_or(false)
            }
            Some(v) => to_bool(v).unwrap_or(false),
        }
    }

    /// One execution of the task's module, then `changed_when` / `failed_when` (which see
    /// `attempts` when the task retries).
    pub(crate) fn run_once(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Map<String, Value>,
        attempt: Option<u32>,
    ) -> HostResult {
        let Action::Module {
            module,
            args,
            arg_spans,
            ansible,
        } = &task.action
        else {
            return failed(&host.name, "internal: not a module task".to_string());
        };
        let ctx = self.ctx_value(vars.clone());
        let rendered = match self
            .templater
            .render_value(&Value::Object(args.clone()), &ctx)
        {
            Ok(Value::Object(m)) => m,
            Ok(_) => Map::new(),
            Err(e) => {
                let at = arg_spans
                    .values()
                    .next()
                    .map(|s| s.location())
                    .unwrap_or_else(|| task.span.location());
                return failed(
                    &host.name,
                    format!("template error while rendering arguments ({at}): {e}"),
                );
            }
        };
        let mut rendered: Map<String, Value> = match splat_args(rendered) {
            Ok(m) => m
                .into_iter()
                .filter(|(_, v)| v.as_str() != Some(template::OMIT))
                .collect(),
            Err(e) => return failed(&host.name, e),
        };
        let check = task.check_mode.unwrap_or(self.opts.check);
        let diff = task.diff.unwrap_or(self.opts.diff);
        // `action: "{{ ansible_facts.pkg_mgr }}"`: the module is known only now.
        let (module, ansible) = match self.resolve_templated_module(task, module, ansible, &ctx) {
            Ok(found) => found,
            Err(e) => return failed(&host.name, e),
        };
        let (module, ansible) = (module.as_str(), &ansible);
        if let Some(m) = ansible {
            let mut r = self.run_ansible_module(m, task, host, vars, &rendered, check, diff);
            if r.status != ResultStatus::Unreachable {
                self.apply_changed_failed_when(task, &mut r, vars);
            }
            return r;
        }
        let Some(info) = catalog::lookup(module) else {
            return failed(&host.name, format!("unknown module `{module}`"));
        };
        let mut r = match info.kind {
            ModuleKind::Engine(kind) => {
                self.engine_module(kind, task, host, &rendered, &ctx, vars, check)
            }
            ModuleKind::Ansible => failed(&host.name, format!("internal: `{module}` unresolved")),
            ModuleKind::Host(m) => {
                if let Err(msg) = self.controller_side(module, task, &mut rendered, &ctx) {
                    return failed(&host.name, msg);
                }
                match self.connection_for(task, host, vars) {
                    Err(e) => unreachable_result(&host.name, e),
                    Ok(conn) => match self.run_module(
                        m,
                        conn.as_ref(),
                        host,
                        task,
                        vars,
                        &rendered,
                        RunMode { check, diff },
                    ) {
                        Ok(outcome) => {
                            let mut r = HostResult::new(&host.name, status_of(&outcome));
                            r.check_mode_unknown = check && outcome.status == Status::Skipped;
                            r.msg = outcome.msg.clone();
                            r.diffs = outcome.diffs.clone();
                            r.data = Value::Object(registered(&outcome));
                            if diff && !outcome.diffs.is_empty() {
                                // As Ansible's modules return it under `--diff` / `diff: yes`.
                                set_key(&mut r.data, "diff", diff_value(&outcome.diffs));
                            }
                            r
                        }
                        Err(ModuleError::Target(TargetError::Unreachable(m))) => {
                            host.connection = None;
                            unreachable_result(&host.name, m)
                        }
                        Err(e) => failed(&host.name, e.to_string()),
                    },
                }
            }
        };
        if r.status == ResultStatus::Unreachable {
            return r;
        }
        if let Some(a) = attempt {
            set_key(&mut r.data, "attempts", json!(a));
        }
        self.apply_changed_failed_when(task, &mut r, vars);
        r
    }

    /// Run a host module, through the prefetched state when it was gathered with the same
    /// privilege escalation as this task's.
    #[allow(clippy::too_many_arguments)]
    fn run_module(
        &self,
        m: &dyn converge_modules::Module,
        conn: &dyn crate::connection::Connection,
        host: &HostState,
        task: &Task,
        vars: &Map<String, Value>,
        args: &Map<String, Value>,
        mode: RunMode,
    ) -> Result<converge_modules::Outcome, ModuleError> {
        let env = self.environment(task, vars).map_err(ModuleError::Failed)?;
        let same_become = host.prefetch_become.as_ref() == Some(&self.become_for(task, vars));
        let cached;
        let target: &dyn converge_modules::Target = if same_become && task.delegate_to.is_none() {
            cached = super::prefetch::CachedTarget {
                inner: conn,
                cache: &host.prefetch,
            };
            &cached
        } else {
            // This task may change what was prefetched.
            host.prefetch.clear();
            conn
        };
        let ctl = super::controller::EngineController {
            exec: self,
            task,
            vars,
        };
        let env_target;
        let target: &dyn converge_modules::Target = if env.is_empty() {
            target
        } else {
            env_target = super::environment::EnvTarget { inner: target, env };
            &env_target
        };
        if !mode.check && self.fire_and_forget(task, vars) {
            return m.run_detached(target, args).unwrap_or_else(|| {
                Err(ModuleError::Failed(format!(
                    "`async` with `poll: 0` is not supported by `{}` in converge (command and \
                     shell can run detached; a poll above 0 runs any module)",
                    m.name()
                )))
            });
        }
        m.run_with(target, args, mode, &ctl)
    }

    /// `async: N` (N > 0) with `poll: 0`: start and do not wait. With a poll above 0, converge
    /// waits for the task as for any other (the outcome is the same as Ansible's polling).
    fn fire_and_forget(&self, task: &Task, vars: &Map<String, Value>) -> bool {
        let num = |v: &Option<Value>| -> Option<f64> {
            let v = v.as_ref()?;
            let ctx = self.ctx_value(vars.clone());
            let r = self.templater.render_value(v, &ctx).ok()?;
            r.as_f64()
                .or_else(|| r.as_str().and_then(|s| s.trim().parse().ok()))
        };
        num(&task.async_secs).is_some_and(|a| a > 0.0) && num(&task.poll) == Some(0.0)
    }

    /// The task's `environment:` (play, block and task levels merged), rendered.
    pub(crate) fn environment(
        &self,
        task: &Task,
        vars: &Map<String, Value>,
    ) -> Result<Vec<(String, String)>, String> {
        let Some(raw) = &task.environment else {
            return Ok(Vec::new());
        };
        let rendered = self
            .templater
            .render_value(raw, &self.ctx_value(vars.clone()))
            .map_err(|e| format!("environment: {e}"))?;
        match rendered {
            Value::Object(m) => Ok(m
                .into_iter()
                .map(|(k, v)| (k, converge_modules::args::value_to_string(&v)))
                .collect()),
            Value::Null => Ok(Vec::new()),
            other => Err(format!("environment must be a mapping, got {other}")),
        }
    }

    fn apply_changed_failed_when(
        &self,
        task: &Task,
        r: &mut HostResult,
        vars: &Map<String, Value>,
    ) {
        if task.changed_when.is_none() && task.failed_when.is_none() {
            return;
        }
        if r.status == ResultStatus::Skipped {
            return;
        }
        let mut v = vars.clone();
        if let Some(reg) = &task.register {
            v.insert(reg.clone(), r.data.clone());
        }
        // Ansible also lets these conditions refer to the result's keys directly.
        if let Value::Object(m) = &r.data {
            for (k, val) in m {
                v.entry(k.clone()).or_insert(val.clone());
            }
        }
        let ctx = self.ctx_value(v);
        if let Some(conds) = &task.changed_when {
            match self.conditions_hold(conds, &ctx) {
                Ok(changed) => {
                    if r.status != ResultStatus::Failed {
                        r.status = if changed {
                            ResultStatus::Changed
                        } else {
                            ResultStatus::Ok
                        };
                    }
                    set_key(&mut r.data, "changed", Value::Bool(changed));
                }
                Err(e) => {
                    r.status = ResultStatus::Failed;
                    set_key(&mut r.data, "failed", Value::Bool(true));
                    set_key(&mut r.data, "msg", Value::String(e.clone()));
                    set_key(&mut r.data, "changed_when_result", Value::String(e.clone()));
                    r.msg = Some(e);
                }
            }
        }
        if let Some(conds) = &task.failed_when {
            match self.conditions_hold(conds, &ctx) {
                Ok(true) => {
                    r.status = ResultStatus::Failed;
                    if r.msg.is_none() {
                        r.msg = Some("failed_when condition was true".into());
                    }
                    set_key(&mut r.data, "failed_when_result", Value::Bool(true));
                }
                Ok(false) => {
                    if r.status == ResultStatus::Failed {
                        let changed = r
                            .data
                            .get("changed")
                            .and_then(Value::as_bool)
                            .unwrap_or(false);
                        r.status = if changed {
                            ResultStatus::Changed
                        } else {
                            ResultStatus::Ok
                        };
                    }
                    set_key(&mut r.data, "failed_when_result", Value::Bool(false));
                }
                Err(e) => {
                    r.status = ResultStatus::Failed;
                    r.msg = Some(e);
                }
            }
            let failed = r.status == ResultStatus::Failed;
            set_key(&mut r.data, "failed", Value::Bool(failed));
        }
    }
}

impl Executor<'_> {
    /// The module of a task whose module name is a template, rendered for this host and found
    /// among converge's modules, then Ansible's; other tasks' modules as they were loaded.
    fn resolve_templated_module(
        &self,
        task: &Task,
        module: &str,
        ansible: &Option<Arc<crate::ansible_modules::AnsibleModule>>,
        ctx: &minijinja::Value,
    ) -> Result<(String, Option<Arc<crate::ansible_modules::AnsibleModule>>), String> {
        if !Templater::is_template(module) {
            return Ok((module.to_string(), ansible.clone()));
        }
        let name = self
            .templater
            .render(module, ctx)
            .map_err(|e| format!("module name `{module}`: {e}"))?;
        if catalog::lookup(&name).is_some() {
            return Ok((name, None));
        }
        let o = &task.origin;
        let library =
            crate::ansible_modules::locate::library_dirs(o.role_path.as_deref(), &o.playbook_dir);
        match crate::ansible_modules::locate::resolve(&name, &library) {
            Ok(m) => Ok((name, Some(m))),
            Err(e) => Err(format!(
                "unknown module `{name}` (from `{module}`): {}",
                crate::ansible_modules::locate::not_found_hint(&name, &e, &library)
            )),
        }
    }
}

/// Arguments given as one template expression (`assert: '{{ item }}'`) merged with the
/// others (`args:`), which win, as in Ansible.
fn splat_args(mut rendered: Map<String, Value>) -> Result<Map<String, Value>, String> {
    match rendered.remove(crate::playbook::task::ARGS_SPLAT) {
        None => Ok(rendered),
        Some(Value::Object(mut m)) => {
            m.extend(rendered);
            Ok(m)
        }
        Some(other) => Err(format!(
            "the module's arguments must be a mapping, got {}",
            crate::output::pyjson::dumps(&other, None)
        )),
    }
}

/// A result's `diff`, as Ansible's modules return it: `{before, after, before_header,
/// after_header}`, or a list of them when the task changed several files.
fn diff_value(diffs: &[converge_modules::Diff]) -> Value {
    let mut all: Vec<Value> = diffs
        .iter()
        .map(|d| {
            json!({"before": d.before, "after": d.after,
                   "before_header": d.before_header, "after_header": d.after_header})
        })
        .collect();
    if all.len() == 1 {
        all.remove(0)
    } else {
        Value::Array(all)
    }
}

fn set_key(data: &mut Value, k: &str, v: Value) {
    if let Value::Object(m) = data {
        m.insert(k.to_string(), v);
    }
}

pub(crate) fn failed(host: &str, msg: String) -> HostResult {
    let mut r = HostResult::new(host, ResultStatus::Failed);
    r.data = json!({"changed": false, "failed": true, "msg": msg});
    r.msg = Some(msg);
    r
}

pub(crate) fn skipped(host: &str, reason: &str) -> HostResult {
    let mut r = HostResult::new(host, ResultStatus::Skipped);
    r.data = json!({"changed": false, "skipped": true, "skip_reason": reason});
    r
}

pub(crate) fn unreachable_result(host: &str, e: impl std::fmt::Display) -> HostResult {
    let msg = e.to_string();
    let mut r = HostResult::new(host, ResultStatus::Unreachable);
    r.data = json!({"changed": false, "unreachable": true, "msg": msg});
    r.msg = Some(msg);
    r
}
