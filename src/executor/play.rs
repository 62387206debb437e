//! Plays: host selection, `serial` batches, fact gathering, the task lists (with blocks,
//! includes and `meta`), handlers, and the per-host counters of the recap.

use super::host::HostState;
use super::task_runner::TaskCtx;
use super::vars::{task_vars, SharedVars};
use super::Executor;
use crate::output::{Event, HostResult, ResultStatus};
use crate::playbook::load::VARS_FILES_ALTERNATIVES;
use crate::playbook::{Action, Play, Serial, Strategy, Task};
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

pub(crate) type Host = Arc<Mutex<HostState>>;

pub(crate) fn lock(h: &Host) -> std::sync::MutexGuard<'_, HostState> {
    h.lock().unwrap_or_else(|p| p.into_inner())
}

/// The play being run, for one batch of hosts.
pub struct PlayRun<'p> {
    pub play: &'p Play,
    pub hosts: Vec<Host>,
    pub magic: Map<String, Value>,
    /// A variable or template of the play reads `hostvars`: every module task gets it (a task
    /// that names it itself gets it anyway).
    pub hostvars_everywhere: bool,
}

impl Executor<'_> {
    pub(crate) fn run_play(&self, play: &Play) {
        let mut names = self.select_hosts(&play.hosts);
        if let Some(limit) = &self.opts.limit {
            match self.inventory.limit(names, limit) {
                Ok(n) => names = n,
                Err(d) => {
                    self.record_error(d.to_string());
                    names = Vec::new();
                }
            }
        }
        self.sink.emit(&Event::PlayStart {
            name: play.name.clone(),
            hosts: names.clone(),
        });
        if names.is_empty() {
            self.sink.emit(&Event::NoHostsMatched {
                pattern: play.hosts.clone(),
            });
            self.sink.emit(&Event::PlayEnd);
            return;
        }
        if let Ok(mut b) = self.current_become.lock() {
            *b = play.r#become.clone();
        }
        let all: Vec<Host> = names
            .iter()
            .map(|n| self.host_state(n, &play.playbook_dir))
            .collect();
        // Hosts that failed in an earlier play stay out, as in Ansible.
        let all: Vec<Host> = all
            .into_iter()
            .filter(|h| {
                let st = lock(h);
                !st.failed && !st.unreachable
            })
            .collect();
        // Reads the play's template files: once per play, not per batch.
        let hostvars_everywhere = play_needs_hostvars(play);
        for (n, batch) in batches(&all, &play.serial).into_iter().enumerate() {
            let batch_names: Vec<String> = batch.iter().map(|h| lock(h).name.clone()).collect();
            if n > 0 {
                self.sink.emit(&Event::BatchStart {
                    name: play.name.clone(),
                    hosts: batch_names.clone(),
                });
            }
            for h in &batch {
                let mut st = lock(h);
                st.ended = false;
                st.notified.clear();
            }
            let mut magic = Map::new();
            let mut groups = self.inventory.groups_var();
            if let Ok(rt) = self.runtime.lock() {
                rt.extend_groups_var(&mut groups);
            }
            magic.insert("groups".into(), Value::Object(groups));
            magic.insert("play_hosts".into(), json!(batch_names));
            magic.insert("ansible_play_hosts".into(), json!(batch_names));
            magic.insert("ansible_play_batch".into(), json!(batch_names));
            magic.insert("ansible_play_hosts_all".into(), json!(names));
            magic.insert("ansible_play_name".into(), json!(play.name));
            magic.insert("playbook_dir".into(), json!(absolute(&play.playbook_dir)));
            magic.insert("ansible_check_mode".into(), json!(self.opts.check));
            magic.insert("ansible_diff_mode".into(), json!(self.opts.diff));
            magic.insert("ansible_verbosity".into(), json!(self.opts.verbosity));
            magic.insert("ansible_forks".into(), json!(self.opts.forks));
            magic.insert(
                "ansible_run_tags".into(),
                json!(if self.opts.tags.only.is_empty() {
                    vec!["all".to_string()]
                } else {
                    self.opts.tags.only.clone()
                }),
            );
            magic.insert("ansible_skip_tags".into(), json!(self.opts.tags.skip));
            magic.insert("ansible_version".into(), json!({"full": "2.19.0", "major": 2, "minor": 19, "revision": 0, "string": "2.19.0 (converge)"}));
            magic.insert("omit".into(), json!(crate::template::OMIT));
            super::magic::add_play_magic(&mut magic, play, self.opts);
            let run = PlayRun {
                play,
                hosts: batch,
                magic,
                hostvars_everywhere,
            };
            self.load_vars_files(&run);
            if play.gather_facts {
                self.gather_all(&run);
            }
            self.prefetch_all(&run);
            match play.strategy {
                Strategy::Linear => {
                    let hosts = run.hosts.clone();
                    self.run_list(&run, &play.pre_tasks, &hosts);
                    self.flush_handlers(&run, &hosts);
                    self.run_list(&run, &play.role_tasks, &hosts);
                    self.run_list(&run, &play.tasks, &hosts);
                    self.flush_handlers(&run, &hosts);
                    self.run_list(&run, &play.post_tasks, &hosts);
                    self.flush_handlers(&run, &hosts);
                }
                Strategy::Free => {
                    // Each host runs through the play at its own pace.
                    super::parallel::map(&run.hosts, self.opts.forks, |h| {
                        let one = vec![Arc::clone(h)];
                        self.run_list(&run, &play.pre_tasks, &one);
                        self.flush_handlers(&run, &one);
                        self.run_list(&run, &play.role_tasks, &one);
                        self.run_list(&run, &play.tasks, &one);
                        self.flush_handlers(&run, &one);
                        self.run_list(&run, &play.post_tasks, &one);
                        self.flush_handlers(&run, &one);
                    });
                }
            }
            if self.stopped.load(Ordering::SeqCst) {
                break;
            }
            if run.hosts.iter().all(|h| lock(h).out_of_play()) {
                // A whole batch lost: the next batches would most likely fail the same way.
                self.stopped.store(true, Ordering::SeqCst);
                break;
            }
        }
        self.sink.emit(&Event::PlayEnd);
    }

    pub(crate) fn shared<'s>(
        &'s self,
        run: &'s PlayRun,
        hostvars: Option<Arc<Value>>,
    ) -> SharedVars<'s> {
        SharedVars {
            play: run.play,
            extra_vars: &self.opts.extra_vars,
            magic: &run.magic,
            hostvars,
        }
    }

    fn load_vars_files(&self, run: &PlayRun) {
        if run.play.vars_files.is_empty() {
            return;
        }
        for h in &run.hosts {
            let mut st = lock(h);
            st.play_vars_files.clear();
            let groups = self.group_names_of(&st.name);
            for vf in &run.play.vars_files {
                let vars = task_vars(&self.shared(run, None), &st, None, &groups);
                let ctx = self.ctx_value(vars);
                let alternatives: Vec<&str> = vf.text.split(VARS_FILES_ALTERNATIVES).collect();
                let mut rendered = Vec::new();
                let mut first_error = None;
                for alt in &alternatives {
                    match self.templater.render(alt, &ctx) {
                        Ok(n) => rendered.push(n),
                        Err(e) => first_error = first_error.or(Some(e)),
                    }
                }
                // A list is "the first that exists"; a single name must render and exist.
                let name = if alternatives.len() > 1 {
                    rendered
                        .iter()
                        .find(|n| run.play.playbook_dir.join(n).is_file())
                        .cloned()
                } else {
                    rendered.first().cloned()
                };
                let Some(name) = name else {
                    match first_error {
                        Some(e) if alternatives.len() == 1 => {
                            self.record_error(format!("{}: vars_files: {e}", vf.span.location()))
                        }
                        _ => self.record_error(format!(
                            "{}: vars_files: none of {} exists",
                            vf.span.location(),
                            rendered.join(", ")
                        )),
                    }
                    continue;
                };
                let path = run.play.playbook_dir.join(&name);
                match crate::yaml::load_path(&path) {
                    Ok(node) => {
                        if let Value::Object(m) = node.to_json() {
                            st.play_vars_files.extend(m);
                        }
                    }
                    Err(d) => self
                        .record_error(format!("{}: vars_files `{name}`: {d}", vf.span.location())),
                }
            }
        }
    }

    fn gather_all(&self, run: &PlayRun) {
        let todo: Vec<Host> = run
            .hosts
            .iter()
            .filter(|h| {
                let st = lock(h);
                st.active() && !st.facts_gathered
            })
            .cloned()
            .collect();
        if todo.is_empty() {
            return;
        }
        self.sink.emit(&Event::TaskStart {
            name: "Gathering Facts".into(),
            role: None,
            handler: false,
            hosts: todo.len(),
        });
        let shared = self.shared(run, None);
        let setup_task = setup_task(run.play);
        super::parallel::map(&todo, self.opts.forks, |h| {
            let mut st = lock(h);
            let groups = self.group_names_of(&st.name);
            let vars = task_vars(&shared, &st, Some(&setup_task), &groups);
            let mut r = self.gather_facts(&setup_task, &mut st, &vars);
            r.data = json!({"changed": false});
            self.account(&mut st, &setup_task, &mut r, false);
            self.sink.emit(&Event::HostResult(r));
        });
        self.sink.emit(&Event::TaskEnd);
    }

    /// One round trip per host that reports every path the play's tasks will inspect.
    fn prefetch_all(&self, run: &PlayRun) {
        let play = run.play;
        let mut tasks = Vec::new();
        for list in [
            &play.pre_tasks,
            &play.role_tasks,
            &play.tasks,
            &play.post_tasks,
            &play.handlers,
        ] {
            collect_module_tasks(list, &mut tasks);
        }
        tasks.retain(|t| !super::prefetch::path_args(t).is_empty() && t.delegate_to.is_none());
        if tasks.is_empty() {
            return;
        }
        let shared = self.shared(run, None);
        let setup = setup_task(play);
        super::parallel::map(&run.hosts, self.opts.forks, |h| {
            let mut st = lock(h);
            if !st.active() {
                return;
            }
            let groups = self.group_names_of(&st.name);
            let base_vars = task_vars(&shared, &st, Some(&setup), &groups);
            let Ok(conn) = self.connection_for(&setup, &mut st, &base_vars) else {
                return;
            };
            if !conn.is_remote() {
                return;
            }
            let mut paths: Vec<String> = Vec::new();
            for t in &tasks {
                let Action::Module { args, .. } = &t.action else {
                    continue;
                };
                let loop_var = &t.loop_control.loop_var;
                let vars = task_vars(&shared, &st, Some(t), &groups);
                let ctx = self.ctx_value(vars);
                for name in super::prefetch::path_args(t) {
                    let Some(Value::String(raw)) = args.get(name) else {
                        continue;
                    };
                    if t.loop_.is_some() && raw.contains(loop_var.as_str()) {
                        continue;
                    }
                    if let Ok(p) = self.templater.render(raw, &ctx) {
                        if p.starts_with('/') && !p.contains('\n') && !paths.contains(&p) {
                            paths.push(p);
                        }
                    }
                }
            }
            if paths.is_empty() {
                return;
            }
            if let Ok(out) = conn.run(&super::prefetch::command(&paths)) {
                if out.success() {
                    st.prefetch.fill(super::prefetch::parse(&out.stdout));
                    st.prefetch_become = Some(self.become_for(&setup, &base_vars));
                }
            }
        });
    }

    /// After each task, Ansible's fleet rules: with `any_errors_fatal` one failed host, or more
    /// than `max_fail_percentage` of the batch failed, ends the play on every host of the batch
    /// and stops the run. Unreachable hosts count as failed, as in Ansible.
    fn stop_after_task(&self, run: &PlayRun) -> bool {
        if self.stopped.load(Ordering::SeqCst) {
            return true;
        }
        let lost = run.hosts.iter().filter(|h| lock(h).out_of_play()).count();
        let why = if run.play.any_errors_fatal && lost > 0 {
            Some("any_errors_fatal: a host failed, the run stops".to_string())
        } else {
            run.play.max_fail_percentage.and_then(|pct| {
                (lost as f64 * 100.0 / run.hosts.len().max(1) as f64 > pct).then(|| {
                    format!(
                        "max_fail_percentage {pct}% exceeded ({lost} of {} hosts): the run stops",
                        run.hosts.len()
                    )
                })
            })
        };
        let Some(why) = why else { return false };
        if !self.stopped.swap(true, Ordering::SeqCst) {
            self.sink.emit(&Event::Warning(why));
        }
        for h in &run.hosts {
            lock(h).ended = true;
        }
        true
    }

    /// Run a task list on the hosts given (those still active).
    pub(crate) fn run_list(&self, run: &PlayRun, tasks: &[Task], hosts: &[Host]) {
        for task in tasks {
            let active: Vec<Host> = hosts.iter().filter(|h| lock(h).active()).cloned().collect();
            if active.is_empty() {
                return;
            }
            match &task.action {
                Action::Block {
                    block,
                    rescue,
                    always,
                } => self.run_block(run, block, rescue, always, &active),
                Action::Meta(m) => self.meta(run, task, m, &active),
                Action::IncludeTasks { file, .. } => self.include_tasks(run, task, file, &active),
                Action::IncludeRole {
                    name, tasks_from, ..
                } => self.include_role(run, task, name, tasks_from.as_deref(), &active),
                Action::Module { .. } => {
                    if self.opts.tags.selects(&task.tags) {
                        self.run_module_task(run, task, &active, false);
                    }
                }
            }
            if self.stop_after_task(run) {
                return;
            }
        }
    }

    fn run_block(
        &self,
        run: &PlayRun,
        block: &[Task],
        rescue: &[Task],
        always: &[Task],
        hosts: &[Host],
    ) {
        let rescuable = !rescue.is_empty();
        if rescuable {
            hosts.iter().for_each(|h| lock(h).rescue_depth += 1);
        }
        self.run_list(run, block, hosts);
        if rescuable {
            hosts.iter().for_each(|h| lock(h).rescue_depth -= 1);
        }
        let failed_here: Vec<Host> = hosts.iter().filter(|h| lock(h).failed).cloned().collect();
        if rescuable && !failed_here.is_empty() {
            for h in &failed_here {
                let mut st = lock(h);
                st.failed = false;
                st.stats.failed = st.stats.failed.saturating_sub(1);
                st.stats.rescued += 1;
            }
            // With any_errors_fatal, Ansible runs the rescue on every host of the block (only the
            // failed ones count as rescued): the failure is treated as everyone's.
            let rescuers: Vec<Host> = if run.play.any_errors_fatal {
                hosts.iter().filter(|h| lock(h).active()).cloned().collect()
            } else {
                failed_here
            };
            self.run_list(run, rescue, &rescuers);
        }
        if !always.is_empty() {
            // `always` runs on hosts that failed in the block or rescue too; they stay failed.
            let was_failed: Vec<bool> = hosts.iter().map(|h| lock(h).failed).collect();
            for h in hosts {
                lock(h).failed = false;
            }
            let reachable: Vec<Host> = hosts
                .iter()
                .filter(|h| !lock(h).unreachable)
                .cloned()
                .collect();
            self.run_list(run, always, &reachable);
            for (h, f) in hosts.iter().zip(was_failed) {
                if f {
                    lock(h).failed = true;
                }
            }
        }
    }

    fn meta(&self, run: &PlayRun, task: &Task, what: &str, hosts: &[Host]) {
        // `when:` picks the hosts a meta task acts for (`end_play` ends the play for all as
        // soon as it holds for one).
        let shared = self.shared(run, None);
        let hosts: Vec<Host> = hosts
            .iter()
            .filter(|h| {
                let st = lock(h);
                let groups = self.group_names_of(&st.name);
                let ctx = self.ctx_value(task_vars(&shared, &st, Some(task), &groups));
                self.conditions_hold(&task.when, &ctx).unwrap_or(false)
            })
            .cloned()
            .collect();
        let hosts = &hosts[..];
        match what {
            "flush_handlers" => self.flush_handlers(run, hosts),
            "end_play" if !hosts.is_empty() => {
                for h in &run.hosts {
                    lock(h).ended = true;
                }
            }
            "end_host" | "end_batch" => {
                for h in hosts {
                    lock(h).ended = true;
                }
            }
            "clear_facts" => {
                for h in hosts {
                    let mut st = lock(h);
                    st.facts.clear();
                    st.facts_gathered = false;
                }
            }
            "clear_host_errors" => {
                for h in &run.hosts {
                    lock(h).failed = false;
                }
            }
            "reset_connection" => {
                for h in hosts {
                    let mut st = lock(h);
                    if let Some(c) = st.connection.take() {
                        c.close();
                    }
                }
            }
            _ => {}
        }
    }

    /// A module task on every host (in parallel), then the counters and notifications.
    fn run_module_task(&self, run: &PlayRun, task: &Task, hosts: &[Host], handler: bool) {
        let name = self.task_title(run, task, hosts);
        self.sink.emit(&Event::TaskStart {
            name,
            role: task.origin.role.clone(),
            handler,
            hosts: hosts.len(),
        });
        let hostvars = if run.hostvars_everywhere || mentions(task, "hostvars") {
            Some(Arc::new(self.hostvars_snapshot(run)))
        } else {
            None
        };
        let tctx = TaskCtx {
            shared: self.shared(run, hostvars),
        };
        let targets: Vec<Host> = if task.run_once {
            hosts.iter().take(1).cloned().collect()
        } else {
            hosts.to_vec()
        };
        let forks = match task.throttle {
            Some(n) if n > 0 => n.min(self.opts.forks),
            _ => self.opts.forks,
        };
        let results = super::parallel::map(&targets, forks, |h| {
            let mut st = lock(h);
            let mut r = self.run_task_on_host(&tctx, task, &mut st);
            let ignore = r.status == ResultStatus::Failed
                && self.flag(&task.ignore_errors, &st, task, &tctx.shared);
            self.account(&mut st, task, &mut r, ignore);
            self.sink.emit(&Event::HostResult(r.clone()));
            r
        });
        // `run_once`: the other hosts get the same result (and registered variable).
        if task.run_once {
            if let Some(first) = results.first() {
                for h in hosts.iter().skip(1) {
                    let mut st = lock(h);
                    if let Some(reg) = &task.register {
                        st.vars.insert(reg.clone(), first.data.clone());
                    }
                    if first.status == ResultStatus::Changed {
                        for n in &task.notify {
                            st.notify(n);
                        }
                    }
                }
            }
        }
        self.sink.emit(&Event::TaskEnd);
    }

    fn task_title(&self, run: &PlayRun, task: &Task, hosts: &[Host]) -> String {
        let name = task.display_name();
        if !crate::template::Templater::is_template(&name) {
            return name;
        }
        // Ansible renders task names with play-level variables only.
        let Some(h) = hosts.first() else { return name };
        let st = lock(h);
        let groups = self.group_names_of(&st.name);
        let ctx = self.ctx_value(task_vars(&self.shared(run, None), &st, Some(task), &groups));
        self.templater.render(&name, &ctx).unwrap_or(name)
    }

    /// Update the recap counters and handler notifications for one result, as Ansible does.
    pub(crate) fn account(
        &self,
        st: &mut HostState,
        task: &Task,
        r: &mut HostResult,
        ignore: bool,
    ) {
        match r.status {
            ResultStatus::Ok => st.stats.ok += 1,
            ResultStatus::Changed => {
                st.stats.ok += 1;
                st.stats.changed += 1;
            }
            ResultStatus::Skipped => st.stats.skipped += 1,
            ResultStatus::Unreachable => {
                if task.ignore_unreachable {
                    st.stats.skipped += 1;
                } else {
                    st.stats.unreachable += 1;
                    st.unreachable = true;
                }
            }
            ResultStatus::Failed => {
                if ignore {
                    r.ignored = true;
                    st.stats.ok += 1;
                    st.stats.ignored += 1;
                    if r.data
                        .get("changed")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                    {
                        st.stats.changed += 1;
                    }
                } else {
                    st.stats.failed += 1;
                    st.failed = true;
                    if st.rescue_depth > 0 {
                        // A block's `rescue:` section will handle it (`run_block` moves the
                        // count from failed to rescued): reports and the history say so.
                        r.rescued = true;
                        // What a `rescue:` section reads about the failure, as in Ansible.
                        st.vars
                            .insert("ansible_failed_result".into(), r.data.clone());
                        st.vars
                            .insert("ansible_failed_task".into(), failed_task(task));
                    }
                }
            }
        }
        if r.status == ResultStatus::Changed {
            for n in &task.notify {
                st.notify(n);
            }
        }
    }

    /// Run the notified handlers, in the order they are defined, once each.
    pub(crate) fn flush_handlers(&self, run: &PlayRun, hosts: &[Host]) {
        loop {
            let mut ran_any = false;
            for handler in &run.play.handlers {
                let name = handler.name.clone().unwrap_or_default();
                let notified: Vec<Host> = hosts
                    .iter()
                    .filter(|h| {
                        let st = lock(h);
                        !st.unreachable
                            && !st.failed
                            && st
                                .notified
                                .iter()
                                .any(|n| *n == name || handler.listen.iter().any(|l| l == n))
                    })
                    .cloned()
                    .collect();
                if notified.is_empty() {
                    continue;
                }
                for h in &notified {
                    let mut st = lock(h);
                    st.notified
                        .retain(|n| *n != name && !handler.listen.iter().any(|l| l == n));
                }
                ran_any = true;
                match &handler.action {
                    Action::IncludeTasks { file, .. } => {
                        self.include_tasks(run, handler, file, &notified)
                    }
                    Action::IncludeRole {
                        name, tasks_from, ..
                    } => self.include_role(run, handler, name, tasks_from.as_deref(), &notified),
                    _ => self.run_module_task(run, handler, &notified, true),
                }
            }
            // Handlers may notify other handlers.
            let pending = hosts.iter().any(|h| {
                let st = lock(h);
                st.active()
                    && st.notified.iter().any(|n| {
                        run.play.handlers.iter().any(|hd| {
                            hd.name.as_deref() == Some(n.as_str())
                                || hd.listen.iter().any(|l| l == n)
                        })
                    })
            });
            if !pending || !ran_any {
                break;
            }
        }
        for h in hosts {
            lock(h).notified.clear();
        }
    }

    fn hostvars_snapshot(&self, run: &PlayRun) -> Value {
        let mut m = Map::new();
        for name in self
            .inventory
            .hosts()
            .map(|h| h.name.clone())
            .collect::<Vec<_>>()
        {
            let h = self.host_state(&name, &run.play.playbook_dir);
            // Hosts of this task are locked by workers only later; this runs before them.
            let st = lock(&h);
            m.insert(name, Value::Object(st.visible_vars()));
        }
        Value::Object(m)
    }
}

/// Whether `hostvars` may be read other than in a task's own text: in the play's or its roles'
/// variables, or in a template file of the playbook or its roles (`{% for h in groups.web %}
/// {{ hostvars[h].ansible_host }}`).
fn play_needs_hostvars(play: &Play) -> bool {
    let word = "hostvars";
    let in_vars = [
        &play.vars,
        &play.role_exports.defaults,
        &play.role_exports.vars,
    ]
    .iter()
    .any(|m| Value::Object((*m).clone()).to_string().contains(word));
    if in_vars {
        return true;
    }
    let mut tasks = Vec::new();
    for list in [
        &play.pre_tasks,
        &play.role_tasks,
        &play.tasks,
        &play.post_tasks,
        &play.handlers,
    ] {
        collect_module_tasks(list, &mut tasks);
    }
    let mut dirs: Vec<std::path::PathBuf> = vec![play.playbook_dir.join("templates")];
    for t in &tasks {
        if let Some(r) = &t.origin.role_path {
            dirs.push(r.join("templates"));
        }
        if Value::Object(t.origin.role_defaults.clone())
            .to_string()
            .contains(word)
        {
            return true;
        }
    }
    dirs.sort();
    dirs.dedup();
    dirs.iter().any(|d| dir_mentions(d, word, 3))
}

/// A file below `dir` (at most `depth` levels) contains `word`.
fn dir_mentions(dir: &std::path::Path, word: &str, depth: usize) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            depth > 0 && dir_mentions(&p, word, depth - 1)
        } else {
            std::fs::read_to_string(&p).is_ok_and(|t| t.contains(word))
        }
    })
}

/// Whether a task's text mentions a variable name (cheap test before building costly vars).
fn mentions(task: &Task, word: &str) -> bool {
    let in_args = match &task.action {
        Action::Module { args, .. } => Value::Object(args.clone()).to_string().contains(word),
        _ => false,
    };
    in_args
        || task.when.iter().any(|w| w.text.contains(word))
        || task.name.as_deref().is_some_and(|n| n.contains(word))
        || task
            .loop_
            .as_ref()
            .is_some_and(|l| l.value.to_string().contains(word))
        || task.vars.values().any(|v| v.to_string().contains(word))
}

/// Module tasks of a list, blocks included.
fn collect_module_tasks<'t>(tasks: &'t [Task], out: &mut Vec<&'t Task>) {
    for t in tasks {
        match &t.action {
            Action::Block {
                block,
                rescue,
                always,
            } => {
                collect_module_tasks(block, out);
                collect_module_tasks(rescue, out);
                collect_module_tasks(always, out);
            }
            Action::Module { .. } => out.push(t),
            _ => {}
        }
    }
}

/// What an `include_tasks` task passes to the tasks it includes.
/// `ansible_failed_task`: the task that failed, as `rescue:` sees it.
fn failed_task(task: &Task) -> Value {
    let action = match &task.action {
        Action::Module { module, .. } => module.clone(),
        _ => String::new(),
    };
    json!({"name": task.display_name(), "action": action})
}

/// An included task (and, inside a block, every task of it) takes the include's vars under its
/// own, and its tags.
pub(crate) fn inherit_into(t: &mut Task, include: &Task) {
    let mut vars = include.vars.clone();
    vars.extend(std::mem::take(&mut t.vars));
    t.vars = vars;
    for tag in &include.tags {
        if !t.tags.contains(tag) {
            t.tags.push(tag.clone());
        }
    }
    for_children(t, |c| inherit_into(c, include));
}

/// Variables that win over an included task's own (an include's loop variables), down into
/// its blocks.
pub(crate) fn add_vars_deep(t: &mut Task, vars: &Map<String, Value>) {
    t.vars.extend(vars.clone());
    for_children(t, |c| add_vars_deep(c, vars));
}

fn for_children(t: &mut Task, mut f: impl FnMut(&mut Task)) {
    if let Action::Block {
        block,
        rescue,
        always,
    } = &mut t.action
    {
        block
            .iter_mut()
            .chain(rescue.iter_mut())
            .chain(always.iter_mut())
            .for_each(&mut f);
    }
}

fn setup_task(play: &Play) -> Task {
    Task {
        name: Some("Gathering Facts".into()),
        span: play.span.clone(),
        action: Action::Meta("noop".into()),
        when: Vec::new(),
        loop_: None,
        loop_control: Default::default(),
        register: None,
        notify: Vec::new(),
        listen: Vec::new(),
        changed_when: None,
        failed_when: None,
        until: None,
        retries: None,
        delay: None,
        ignore_errors: None,
        ignore_unreachable: false,
        tags: vec!["always".into()],
        check_mode: Some(false),
        diff: None,
        no_log: None,
        run_once: false,
        vars: Map::new(),
        environment: None,
        r#become: play.r#become.clone(),
        delegate_to: None,
        throttle: None,
        async_secs: None,
        poll: None,
        origin: Arc::new(crate::playbook::TaskOrigin {
            playbook_dir: play.playbook_dir.clone(),
            file_dir: play.playbook_dir.clone(),
            ..Default::default()
        }),
    }
}

pub(crate) fn absolute(p: &std::path::Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// Split hosts into `serial` batches (the last size repeats).
pub fn batches(hosts: &[Host], serial: &[Serial]) -> Vec<Vec<Host>> {
    if serial.is_empty() {
        return vec![hosts.to_vec()];
    }
    let total = hosts.len();
    let mut out = Vec::new();
    let mut i = 0;
    let mut k = 0;
    while i < total {
        let s = &serial[k.min(serial.len() - 1)];
        let n = match s {
            Serial::Count(n) => *n,
            Serial::Percent(p) => ((total as f64) * p / 100.0).floor() as usize,
        }
        .max(1);
        out.push(hosts[i..(i + n).min(total)].to_vec());
        i += n;
        k += 1;
    }
    out
}
