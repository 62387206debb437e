//! Running one task on one host: conditions, loops, retries, argument templating, the module
//! (engine-side or on the host), `changed_when`/`failed_when`, `register` and `no_log`.

use super::host::HostState;
use super::results::{censor, registered, status_of};
use super::vars::{task_vars, SharedVars};
use super::Executor;
use crate::output::{Event, HostResult, ResultStatus};
use crate::playbook::catalog::{self, ModuleKind};
use crate::playbook::{Action, Expr, Task};
use crate::template::{self, Templater};
use converge_modules::args::to_bool;
use converge_modules::{ModuleError, RunMode, Status, TargetError};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
        let groups = self.inventory.group_names(&host.name);
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
                let groups = self.inventory.group_names(&host.name);
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

    fn run_loop(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: Map<String, Value>,
        l: &crate::playbook::Loop,
    ) -> HostResult {
        let ctx = self.ctx_value(vars.clone());
        let items = match self.templater.render_value(&l.value, &ctx) {
            Ok(v) => super::loops::items(l, v),
            Err(e) => Err(format!("{e}")),
        };
        let items = match items {
            Ok(i) => i,
            Err(e) => return failed(&host.name, format!("loop at {}: {e}", l.span.location())),
        };
        let lc = &task.loop_control;
        let mut results = Vec::new();
        let mut item_results = Vec::new();
        let mut any_changed = false;
        let mut any_failed = false;
        let mut all_skipped = !items.is_empty();
        for (i, item) in items.iter().enumerate() {
            let mut v = vars.clone();
            // set_fact/register in earlier iterations are visible to later ones.
            v.extend(host.vars.clone());
            v.insert(lc.loop_var.clone(), item.clone());
            if let Some(iv) = &lc.index_var {
                v.insert(iv.clone(), json!(i));
            }
            if lc.extended {
                v.insert("ansible_loop".into(), json!({"index": i + 1, "index0": i, "first": i == 0, "last": i + 1 == items.len(), "length": items.len()}));
            }
            let ictx = self.ctx_value(v.clone());
            let label = match &lc.label {
                Some(l) => self
                    .templater
                    .render(l, &ictx)
                    .unwrap_or_else(|_| l.clone()),
                None => label_of(item),
            };
            let mut r = match self.conditions_hold(&task.when, &ictx) {
                Ok(true) => self.run_with_retries(task, host, v),
                Ok(false) => skipped(&host.name, "Conditional result was False"),
                Err(e) => failed(&host.name, e),
            };
            r.item = Some(label);
            let mut data = match r.data.clone() {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            data.insert(lc.loop_var.clone(), item.clone());
            data.insert(
                "ansible_loop_var".into(),
                Value::String(lc.loop_var.clone()),
            );
            results.push(Value::Object(data));
            any_changed |= r.status == ResultStatus::Changed;
            any_failed |= r.status == ResultStatus::Failed;
            all_skipped &= r.status == ResultStatus::Skipped;
            let unreachable = r.status == ResultStatus::Unreachable;
            item_results.push(r);
            if unreachable {
                break;
            }
            if let Some(p) = lc.pause {
                std::thread::sleep(Duration::from_secs_f64(p.max(0.0)));
            }
        }
        let status = if item_results
            .iter()
            .any(|r| r.status == ResultStatus::Unreachable)
        {
            ResultStatus::Unreachable
        } else if any_failed {
            ResultStatus::Failed
        } else if all_skipped {
            ResultStatus::Skipped
        } else if any_changed {
            ResultStatus::Changed
        } else {
            ResultStatus::Ok
        };
        let mut r = HostResult::new(&host.name, status);
        let mut data = Map::new();
        data.insert("changed".into(), Value::Bool(any_changed));
        data.insert("results".into(), Value::Array(results));
        if items.is_empty() {
            data.insert("skipped".into(), Value::Bool(true));
            data.insert(
                "skipped_reason".into(),
                Value::String("No items in the list".into()),
            );
            r.status = ResultStatus::Skipped;
        } else if any_failed {
            data.insert("failed".into(), Value::Bool(true));
            data.insert(
                "msg".into(),
                Value::String("One or more items failed".into()),
            );
            r.msg = Some("One or more items failed".into());
        } else {
            data.insert("msg".into(), Value::String("All items completed".into()));
        }
        if all_skipped {
            data.insert("skipped".into(), Value::Bool(true));
        }
        r.data = Value::Object(data);
        r.items = item_results;
        r
    }

    /// `until:` / `retries:` / `delay:` around one execution.
    fn run_with_retries(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: Map<String, Value>,
    ) -> HostResult {
        let Some(until) = &task.until else {
            return self.run_once(task, host, &vars);
        };
        let ctx = self.ctx_value(vars.clone());
        let num = |v: &Option<Value>, d: f64| -> f64 {
            v.as_ref()
                .and_then(|v| self.templater.render_value(v, &ctx).ok())
                .and_then(|v| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .unwrap_or(d)
        };
        let retries = num(&task.retries, 3.0).max(0.0) as u32;
        let delay = num(&task.delay, 5.0).max(0.0);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut r = self.run_once(task, host, &vars);
            if r.status == ResultStatus::Unreachable {
                return r;
            }
            let mut v = vars.clone();
            if let Some(reg) = &task.register {
                v.insert(reg.clone(), r.data.clone());
            }
            let done = self
                .conditions_hold(std::slice::from_ref(until), &self.ctx_value(v))
                .unwrap_or(false);
            if let Value::Object(m) = &mut r.data {
                m.insert("attempts".into(), json!(attempt));
            }
            if done {
                if r.status == ResultStatus::Failed && task.failed_when.is_none() {
                    // A condition that was met turns a failed attempt into the final answer.
                    return r;
                }
                return r;
            }
            if attempt > retries {
                r.status = ResultStatus::Failed;
                r.msg = Some(format!(
                    "Retried {retries} times; `until: {}` never held",
                    until.text
                ));
                if let Value::Object(m) = &mut r.data {
                    m.insert("failed".into(), Value::Bool(true));
                    m.insert(
                        "msg".into(),
                        Value::String(r.msg.clone().unwrap_or_default()),
                    );
                }
                return r;
            }
            self.sink.emit(&Event::Verbose {
                level: 0,
                host: Some(host.name.clone()),
                message: format!(
                    "FAILED - RETRYING: [{}]: {} ({} retries left).",
                    host.name,
                    task.display_name(),
                    retries + 1 - attempt
                ),
            });
            std::thread::sleep(Duration::from_secs_f64(delay));
        }
    }

    /// One execution of the task's module, then `changed_when` / `failed_when`.
    fn run_once(&self, task: &Task, host: &mut HostState, vars: &Map<String, Value>) -> HostResult {
        let Action::Module {
            module,
            args,
            arg_spans,
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
        let mut rendered: Map<String, Value> = rendered
            .into_iter()
            .filter(|(_, v)| v.as_str() != Some(template::OMIT))
            .collect();
        let check = task.check_mode.unwrap_or(self.opts.check);
        let diff = task.diff.unwrap_or(self.opts.diff);
        let Some(info) = catalog::lookup(module) else {
            return failed(&host.name, format!("unknown module `{module}`"));
        };
        let mut r = match info.kind {
            ModuleKind::Engine(kind) => {
                self.engine_module(kind, task, host, &rendered, &ctx, vars, check)
            }
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
        if env.is_empty() {
            m.run_with(target, args, mode, &ctl)
        } else {
            m.run_with(
                &super::environment::EnvTarget { inner: target, env },
                args,
                mode,
                &ctl,
            )
        }
    }

    /// The task's `environment:` (play, block and task levels merged), rendered.
    fn environment(
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

fn label_of(item: &Value) -> String {
    match item {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
