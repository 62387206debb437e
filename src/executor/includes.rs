//! Dynamic includes while a play runs: `include_tasks` and `include_role`, with or without a
//! loop. Each host resolves the file (or role) per iteration; hosts that include the same file
//! with the same item run it together, so a fleet stays in step as in Ansible's linear strategy.

use super::play::{absolute, add_vars_deep, inherit_into, lock, Host, PlayRun};
use super::task_runner::{failed, skipped};
use super::vars::task_vars;
use super::Executor;
use crate::output::{Event, HostResult, ResultStatus};
use crate::playbook::load::{load_role_at_runtime, load_task_file_at_runtime};
use crate::playbook::task::task_file_path;
use crate::playbook::Task;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// Per host: its includes, or why it has none.
type Planned<T> = Vec<(Host, Result<Vec<Included<T>>, String>)>;

/// One iteration of an include on one host: what it includes and the loop variables its
/// tasks see.
#[derive(Clone, PartialEq)]
struct Included<T: PartialEq> {
    what: T,
    loop_vars: Map<String, Value>,
}

impl Executor<'_> {
    /// The loop variables of each iteration of an include: one empty set without a loop.
    fn include_iterations(
        &self,
        task: &Task,
        vars: &Map<String, Value>,
    ) -> Result<Vec<Map<String, Value>>, String> {
        let Some(l) = &task.loop_ else {
            return Ok(vec![Map::new()]);
        };
        let ctx = self.ctx_value(vars.clone());
        let items = super::loops::items(&self.templater, task, l, &ctx)
            .map_err(|e| format!("loop at {}: {e}", l.span.location()))?;
        let loop_var = self.loop_var(task, &ctx)?;
        // The loop variables as a looped module task gets them (`loop_runner::ItemVars`).
        Ok((0..items.len())
            .map(|index| {
                let mut m = Map::new();
                let iv = super::loop_runner::ItemVars {
                    loop_var: &loop_var,
                    index,
                    items: &items,
                };
                iv.apply(task, &mut m);
                m
            })
            .collect())
    }

    /// What each host includes, iteration by iteration: `resolve` turns the variables of one
    /// iteration into the thing included (a file path, a role name). An empty list: the host
    /// skips the include (`when:` false for every iteration); an error: its `when:` or name
    /// failed, and it includes nothing.
    fn plan_includes<T: PartialEq + Clone>(
        &self,
        run: &PlayRun,
        task: &Task,
        hosts: &[Host],
        resolve: impl Fn(&minijinja::Value) -> Result<T, String>,
    ) -> Planned<T> {
        let shared = self.shared(run, None);
        let mut plan = Vec::new();
        for h in hosts {
            let st = lock(h);
            let groups = self.group_names_of(&st.name);
            let vars = task_vars(&shared, &st, Some(task), &groups);
            let outcome = self.include_iterations(task, &vars).and_then(|iters| {
                let mut todo = Vec::new();
                for loop_vars in iters {
                    let mut v = vars.clone();
                    v.extend(loop_vars.clone());
                    let ctx = self.ctx_value(v);
                    if self.conditions_hold(&task.when, &ctx)? {
                        todo.push(Included {
                            what: resolve(&ctx)?,
                            loop_vars,
                        });
                    }
                }
                Ok(todo)
            });
            plan.push((Arc::clone(h), outcome));
        }
        plan
    }

    /// The include's task line and a result per host, counted in the recap as Ansible does:
    /// `included: FILE for HOST` (when `show` names what was included), `skipping:` or the
    /// failure. Returns the hosts' includes, the failed hosts left out.
    fn announce_includes<T: PartialEq + Clone>(
        &self,
        task: &Task,
        plan: Planned<T>,
        show: impl Fn(&T) -> Option<String>,
    ) -> Vec<(Host, Vec<Included<T>>)> {
        let shows_anything = plan.iter().any(|(_, o)| match o {
            Ok(todo) => todo.is_empty() || todo.iter().any(|i| show(&i.what).is_some()),
            Err(_) => true,
        });
        if shows_anything {
            self.sink.emit(&Event::TaskStart {
                name: task.display_name(),
                role: task.origin.role.clone(),
                handler: false,
                hosts: plan.len(),
            });
        }
        let mut todo_by_host = Vec::new();
        for (h, outcome) in plan {
            let mut st = lock(&h);
            let mut results = Vec::new();
            match &outcome {
                Err(e) => results.push(failed(&st.name, e.clone())),
                Ok(todo) if todo.is_empty() => {
                    results.push(skipped(&st.name, "Conditional result was False"))
                }
                Ok(todo) => {
                    for what in todo.iter().filter_map(|i| show(&i.what)) {
                        let mut r = HostResult::new(&st.name, ResultStatus::Ok);
                        r.data = json!({"changed": false, "_included": what});
                        results.push(r);
                    }
                }
            }
            for mut r in results {
                self.account(&mut st, task, &mut r, false);
                self.sink.emit(&Event::HostResult(r));
            }
            drop(st);
            if let Ok(todo) = outcome {
                todo_by_host.push((h, todo));
            }
        }
        if shows_anything {
            self.sink.emit(&Event::TaskEnd);
        }
        todo_by_host
    }

    /// Run the planned includes position by position; at each position, hosts that include the
    /// same thing with the same item run together.
    fn run_planned<T: PartialEq + Clone>(
        &self,
        plan: &[(Host, Vec<Included<T>>)],
        mut run_group: impl FnMut(&Included<T>, &[Host]),
    ) {
        let longest = plan.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
        for i in 0..longest {
            let mut groups: Vec<(Included<T>, Vec<Host>)> = Vec::new();
            for (h, todo) in plan {
                let Some(inc) = todo.get(i) else { continue };
                match groups.iter_mut().find(|(g, _)| g == inc) {
                    Some((_, hs)) => hs.push(Arc::clone(h)),
                    None => groups.push((inc.clone(), vec![Arc::clone(h)])),
                }
            }
            for (inc, hs) in &groups {
                run_group(inc, hs);
            }
        }
    }

    pub(crate) fn include_tasks(&self, run: &PlayRun, task: &Task, file: &str, hosts: &[Host]) {
        if !self.opts.tags.selects(&task.tags) && !task.tags.is_empty() {
            return;
        }
        let plan = self.plan_includes(run, task, hosts, |ctx| {
            let name = self
                .templater
                .render(file, ctx)
                .map_err(|e| format!("include_tasks file name: {e}"))?;
            Ok(task_file_path(&task.origin, &name))
        });
        let plan = self.announce_includes(task, plan, |p: &PathBuf| Some(absolute(p)));
        self.run_planned(
            &plan,
            |inc: &Included<PathBuf>, hs| match load_task_file_at_runtime(
                &inc.what,
                &task.origin,
                &self.templater,
            ) {
                Ok(tasks) => self.run_included(run, task, tasks, &inc.loop_vars, hs),
                Err(d) => self.fail_hosts(
                    task,
                    hs,
                    &format!("could not include {}:\n{d}", inc.what.display()),
                ),
            },
        );
    }

    /// The included tasks, with the include's keywords and its loop variables, on `hosts`.
    fn run_included(
        &self,
        run: &PlayRun,
        include: &Task,
        mut tasks: Vec<Task>,
        loop_vars: &Map<String, Value>,
        hosts: &[Host],
    ) {
        for t in &mut tasks {
            inherit_into(t, include);
            add_vars_deep(t, loop_vars);
        }
        self.run_list(run, &tasks, hosts);
    }

    fn fail_hosts(&self, task: &Task, hosts: &[Host], msg: &str) {
        for h in hosts {
            let mut st = lock(h);
            let mut r = failed(&st.name, msg.to_string());
            self.account(&mut st, task, &mut r, false);
            self.sink.emit(&Event::HostResult(r));
        }
    }

    pub(crate) fn include_role(
        &self,
        run: &PlayRun,
        task: &Task,
        name: &str,
        tasks_from: Option<&str>,
        hosts: &[Host],
    ) {
        let plan = self.plan_includes(run, task, hosts, |ctx| {
            self.templater
                .render(name, ctx)
                .map_err(|e| format!("include_role name: {e}"))
        });
        let plan = self.announce_includes(task, plan, |_: &String| None);
        self.run_planned(
            &plan,
            |inc: &Included<String>, hs| match load_role_at_runtime(
                &inc.what,
                tasks_from,
                task.vars.clone(),
                &run.play.playbook_dir,
                &self.templater,
            ) {
                Ok((tasks, _handlers)) => self.run_included(run, task, tasks, &inc.loop_vars, hs),
                Err(d) => self.fail_hosts(
                    task,
                    hs,
                    &format!("could not include role `{}`:\n{d}", inc.what),
                ),
            },
        );
    }
}
