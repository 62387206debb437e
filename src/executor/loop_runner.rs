//! Loops and retries around one task on one host, as Ansible's `TaskExecutor._run_loop` and
//! `_execute` do them: the loop variables (`loop_var`, `index_var`, `ansible_loop` with
//! `extended`), `label`, `pause` between items, `break_when`, the registered variable updated
//! after each item; and `until`/`retries`/`delay` around each execution (or each item), with
//! `attempts` in the result.

use super::host::HostState;
use super::task_runner::{failed, skipped};
use super::Executor;
use crate::output::{Event, HostResult, ResultStatus};
use crate::playbook::{Loop, Task};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// The variables one loop item adds.
pub(crate) struct ItemVars<'a> {
    pub loop_var: &'a str,
    pub index: usize,
    pub items: &'a [Value],
}

impl ItemVars<'_> {
    /// Insert the loop variables for this item into `v` (and return `ansible_loop` if extended).
    pub fn apply(&self, task: &Task, v: &mut Map<String, Value>) -> Option<Value> {
        let lc = &task.loop_control;
        let i = self.index;
        v.insert(self.loop_var.to_string(), self.items[i].clone());
        v.insert("ansible_loop_var".into(), json!(self.loop_var));
        if let Some(iv) = &lc.index_var {
            v.insert(iv.clone(), json!(i));
            v.insert("ansible_index_var".into(), json!(iv));
        }
        if !lc.extended {
            return None;
        }
        let len = self.items.len();
        let mut l = Map::new();
        l.insert("index".into(), json!(i + 1));
        l.insert("index0".into(), json!(i));
        l.insert("first".into(), json!(i == 0));
        l.insert("last".into(), json!(i + 1 == len));
        l.insert("length".into(), json!(len));
        l.insert("revindex".into(), json!(len - i));
        l.insert("revindex0".into(), json!(len - i - 1));
        if lc.extended_allitems {
            l.insert("allitems".into(), Value::Array(self.items.to_vec()));
        }
        if let Some(next) = self.items.get(i + 1) {
            l.insert("nextitem".into(), next.clone());
        }
        if i > 0 {
            l.insert("previtem".into(), self.items[i - 1].clone());
        }
        let l = Value::Object(l);
        v.insert("ansible_loop".into(), l.clone());
        Some(l)
    }
}

impl Executor<'_> {
    /// `loop_control.loop_var`, rendered when it is a template.
    pub(crate) fn loop_var(&self, task: &Task, ctx: &minijinja::Value) -> Result<String, String> {
        let raw = &task.loop_control.loop_var;
        if !crate::template::Templater::is_template(raw) {
            return Ok(raw.clone());
        }
        self.templater
            .render(raw, ctx)
            .map_err(|e| format!("loop_control.loop_var: {e}"))
    }

    /// The loop's items; when they cannot be computed, a false `when:` still skips the task
    /// (Ansible checks the condition before reporting the loop's error).
    pub(crate) fn loop_items(
        &self,
        task: &Task,
        host: &str,
        vars: &Map<String, Value>,
        l: &Loop,
    ) -> Result<Vec<Value>, Box<HostResult>> {
        let ctx = self.ctx_value(vars.clone());
        match super::loops::items(&self.templater, task, l, &ctx) {
            Ok(items) => Ok(items),
            Err(e) => Err(Box::new(match self.conditions_hold(&task.when, &ctx) {
                Ok(false) => skipped(host, "Conditional result was False"),
                _ => failed(host, e),
            })),
        }
    }

    pub(crate) fn run_loop(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: Map<String, Value>,
        l: &Loop,
    ) -> HostResult {
        let items = match self.loop_items(task, &host.name, &vars, l) {
            Ok(i) => i,
            Err(r) => return *r,
        };
        let loop_var = match self.loop_var(task, &self.ctx_value(vars.clone())) {
            Ok(v) => v,
            Err(e) => return failed(&host.name, e),
        };
        let lc = &task.loop_control;
        let mut results = Vec::new();
        let mut item_results = Vec::new();
        let mut registered: Option<Value> = None;
        for i in 0..items.len() {
            if i > 0 {
                if let Some(p) = lc.pause {
                    std::thread::sleep(Duration::from_secs_f64(p.max(0.0)));
                }
            }
            let mut v = vars.clone();
            // set_fact/register in earlier iterations are visible to later ones.
            v.extend(host.vars.clone());
            if let (Some(reg), Some(prev)) = (&task.register, &registered) {
                v.insert(reg.clone(), prev.clone());
            }
            let iv = ItemVars {
                loop_var: &loop_var,
                index: i,
                items: &items,
            };
            let ansible_loop = iv.apply(task, &mut v);
            let ictx = self.ctx_value(v.clone());
            let mut r = match self.conditions_hold(&task.when, &ictx) {
                Ok(true) => self.run_with_retries(task, host, v.clone()),
                Ok(false) => skipped(&host.name, "Conditional result was False"),
                Err(e) => failed(&host.name, e),
            };
            let mut data = match std::mem::take(&mut r.data) {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            data.insert(loop_var.clone(), items[i].clone());
            data.insert("ansible_loop_var".into(), json!(loop_var));
            if let Some(ix) = &lc.index_var {
                data.insert(ix.clone(), json!(i));
                data.insert("ansible_index_var".into(), json!(ix));
            }
            if let Some(al) = ansible_loop {
                data.insert("ansible_loop".into(), al);
            }
            if let Some(reg) = &task.register {
                v.insert(reg.clone(), Value::Object(data.clone()));
            }
            let after = self.ctx_value(v);
            r.item = Some(self.item_label(task, &items[i], &after, &mut r, &mut data));
            let stop = !lc.break_when.is_empty()
                && self
                    .conditions_hold(&lc.break_when, &after)
                    .unwrap_or(false);
            r.data = Value::Object(data.clone());
            registered = Some(Value::Object(data.clone()));
            results.push(Value::Object(data));
            let unreachable = r.status == ResultStatus::Unreachable;
            item_results.push(r);
            if unreachable || stop {
                break;
            }
        }
        loop_result(&host.name, results, item_results)
    }

    /// The item's label: `loop_control.label` rendered after the item ran (a failure to render
    /// fails the item, as in Ansible), else the item itself.
    fn item_label(
        &self,
        task: &Task,
        item: &Value,
        ctx: &minijinja::Value,
        r: &mut HostResult,
        data: &mut Map<String, Value>,
    ) -> String {
        let Some(label) = &task.loop_control.label else {
            return match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
        };
        match self.templater.render(label, ctx) {
            Ok(s) => s,
            Err(e) => {
                let msg = format!(
                    "Failed to template loop_control.label: {}",
                    self.attribute_error(&e.message, ctx)
                );
                data.insert("failed".into(), Value::Bool(true));
                data.insert("msg".into(), Value::String(msg.clone()));
                r.status = ResultStatus::Failed;
                r.msg = Some(msg);
                label.clone()
            }
        }
    }

    /// `'r.stdout' is undefined` said as Ansible does when `r` is a mapping: "object of type
    /// 'dict' has no attribute 'stdout'".
    fn attribute_error(&self, msg: &str, ctx: &minijinja::Value) -> String {
        let parsed = msg
            .strip_prefix('\'')
            .and_then(|m| m.split_once("' is undefined"))
            .and_then(|(expr, _)| expr.rsplit_once('.'));
        let Some((base, attr)) = parsed else {
            return msg.to_string();
        };
        match self.templater.eval_expr(base, ctx) {
            Ok(Value::Object(_)) => format!("object of type 'dict' has no attribute '{attr}'"),
            _ => msg.to_string(),
        }
    }

    /// `until:` / `retries:` / `delay:` around one execution. With `retries` or `until` the
    /// task runs up to `1 + retries` times (3 retries by default with `until`), until the
    /// condition holds (without `until`: until the task succeeds); `attempts` counts the runs.
    pub(crate) fn run_with_retries(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: Map<String, Value>,
    ) -> HostResult {
        let ctx = self.ctx_value(vars.clone());
        let num = |v: &Option<Value>| -> Option<f64> {
            v.as_ref()
                .and_then(|v| self.templater.render_value(v, &ctx).ok())
                .and_then(|v| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                })
        };
        let total = match (num(&task.retries), &task.until) {
            (Some(r), _) => 1 + r.max(0.0) as u32,
            (None, Some(_)) => 4,
            (None, None) => 1,
        };
        if total <= 1 {
            return self.run_once(task, host, &vars, None);
        }
        let delay = match num(&task.delay).unwrap_or(5.0) {
            d if d < 0.0 => 1.0,
            d => d,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut r = self.run_once(task, host, &vars, Some(attempt));
            if r.status == ResultStatus::Unreachable {
                return r;
            }
            if self.attempt_done(task, &vars, &r) {
                return r;
            }
            if attempt >= total {
                mark_out_of_attempts(&mut r, total - 1);
                return r;
            }
            self.sink.emit(&Event::Verbose {
                level: 0,
                host: Some(host.name.clone()),
                message: format!(
                    "FAILED - RETRYING: [{}]: {} ({} retries left).",
                    host.name,
                    task.display_name(),
                    total - attempt
                ),
            });
            std::thread::sleep(Duration::from_secs_f64(delay));
        }
    }

    /// `until:` holds for this attempt's result (without `until`: the attempt succeeded).
    fn attempt_done(&self, task: &Task, vars: &Map<String, Value>, r: &HostResult) -> bool {
        let Some(until) = &task.until else {
            return r.status != ResultStatus::Failed;
        };
        let mut v = vars.clone();
        if let Some(reg) = &task.register {
            v.insert(reg.clone(), r.data.clone());
        }
        self.conditions_hold(std::slice::from_ref(until), &self.ctx_value(v))
            .unwrap_or(false)
    }
}

/// Out of attempts: `failed` is set, but (as Ansible's `TaskResult.is_failed`) a
/// `failed_when_result` still decides whether the task failed.
fn mark_out_of_attempts(r: &mut HostResult, attempts: u32) {
    if let Value::Object(m) = &mut r.data {
        m.insert("attempts".into(), json!(attempts));
        m.insert("failed".into(), Value::Bool(true));
        if m.get("failed_when_result") == Some(&Value::Bool(false)) {
            return;
        }
    }
    r.status = ResultStatus::Failed;
    if r.msg.is_none() {
        r.msg = Some(format!("the task did not succeed after {attempts} retries"));
    }
}

/// The task's result from its items' results (`results`, `changed`, `failed`, `skipped`).
fn loop_result(host: &str, results: Vec<Value>, item_results: Vec<HostResult>) -> HostResult {
    let has = |s: ResultStatus| item_results.iter().any(|r| r.status == s);
    let any_changed = has(ResultStatus::Changed);
    let any_failed = has(ResultStatus::Failed);
    let all_skipped = item_results
        .iter()
        .all(|r| r.status == ResultStatus::Skipped);
    let status = if has(ResultStatus::Unreachable) {
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
    let mut r = HostResult::new(host, status);
    let mut data = Map::new();
    data.insert("changed".into(), Value::Bool(any_changed));
    let empty = results.is_empty();
    data.insert("results".into(), Value::Array(results));
    if empty {
        data.insert("skipped".into(), Value::Bool(true));
        data.insert(
            "skipped_reason".into(),
            Value::String("No items in the list".into()),
        );
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
