//! Modules the engine runs itself, because they work on variables or the controller rather
//! than on the host: `debug`, `set_fact`, `assert`, `fail`, `include_vars`, `setup`; and the
//! controller-side half of `template` and `copy` (reading and rendering local files).

use super::host::HostState;
use super::task_runner::failed;
use super::Executor;
use crate::output::{HostResult, ResultStatus};
use crate::playbook::catalog::EngineModule;
use crate::playbook::task::find_in;
use crate::playbook::Task;
use crate::source::SourceFile;
use base64::Engine as _;
use converge_modules::args::to_bool;
use serde_json::{json, Map, Value};

impl Executor<'_> {
    /// `set_fact`'s variables: a templated name (`"{{ item }}=moo"`) is rendered now, as
    /// Ansible does, and every name must be a valid identifier.
    fn set_fact_pairs(
        &self,
        args: &Map<String, Value>,
        ctx: &minijinja::Value,
    ) -> Result<Map<String, Value>, String> {
        let mut facts = Map::new();
        for (k, v) in args {
            if k == "cacheable" {
                continue;
            }
            let key = if crate::template::Templater::is_template(k) {
                self.templater
                    .render(k, ctx)
                    .map_err(|e| format!("set_fact: variable name {k}: {e}"))?
            } else {
                k.clone()
            };
            let valid = key
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "The variable name '{key}' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores."
                ));
            }
            facts.insert(key, v.clone());
        }
        if facts.is_empty() {
            return Err(
                "No key/value pairs provided, at least one is required for this action to succeed"
                    .into(),
            );
        }
        Ok(facts)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn engine_module(
        &self,
        kind: EngineModule,
        task: &Task,
        host: &mut HostState,
        args: &Map<String, Value>,
        ctx: &minijinja::Value,
        vars: &Map<String, Value>,
        check: bool,
    ) -> HostResult {
        let name = host.name.clone();
        match kind {
            EngineModule::Debug => {
                let mut r = HostResult::new(&name, ResultStatus::Ok);
                let verbosity = args.get("verbosity").and_then(Value::as_u64).unwrap_or(0);
                if verbosity > u64::from(self.opts.verbosity) {
                    return super::task_runner::skipped(&name, "verbosity threshold not met");
                }
                let data = if let Some(var) = args.get("var").and_then(Value::as_str) {
                    let value = match self.templater.eval_var(var, ctx) {
                        Ok(Some(v)) => v,
                        Ok(None) => Value::String("VARIABLE IS NOT DEFINED!".into()),
                        Err(e) => {
                            let msg = format!("Error while resolving `var` expression: {e}");
                            return failed(&name, msg);
                        }
                    };
                    json!({ var: value, "changed": false, "_show": true })
                } else {
                    let msg = args
                        .get("msg")
                        .cloned()
                        .unwrap_or(Value::String("Hello world!".into()));
                    json!({"msg": msg, "changed": false, "_show": true})
                };
                r.data = data;
                r
            }
            EngineModule::SetFact => {
                let facts = match self.set_fact_pairs(args, ctx) {
                    Ok(f) => f,
                    Err(e) => return failed(&name, e),
                };
                for (k, v) in &facts {
                    host.vars.insert(k.clone(), v.clone());
                }
                let mut r = HostResult::new(&name, ResultStatus::Ok);
                r.data = json!({"changed": false, "ansible_facts": facts});
                r
            }
            EngineModule::Assert => {
                let that: Vec<String> = match args.get("that") {
                    Some(Value::Array(a)) => a
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string())
                        })
                        .collect(),
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(Value::Bool(b)) => vec![if *b { "True".into() } else { "False".into() }],
                    _ => Vec::new(),
                };
                for cond in &that {
                    match self.templater.eval_bool(cond, ctx) {
                        Ok(true) => {}
                        Ok(false) => {
                            let msg = args
                                .get("fail_msg")
                                .or_else(|| args.get("msg"))
                                .map(text)
                                .unwrap_or_else(|| "Assertion failed".into());
                            let mut r = failed(&name, msg);
                            if let Value::Object(m) = &mut r.data {
                                m.insert("assertion".into(), Value::String(cond.clone()));
                                m.insert("evaluated_to".into(), Value::Bool(false));
                            }
                            return r;
                        }
                        Err(e) => {
                            return failed(
                                &name,
                                format!("the conditional check '{cond}' failed: {e}"),
                            )
                        }
                    }
                }
                let mut r = HostResult::new(&name, ResultStatus::Ok);
                let msg = args
                    .get("success_msg")
                    .map(text)
                    .unwrap_or_else(|| "All assertions passed".into());
                let quiet = args.get("quiet").and_then(to_bool).unwrap_or(false);
                r.data = if quiet {
                    json!({"changed": false, "msg": msg})
                } else {
                    json!({"changed": false, "msg": msg, "_show": "all"})
                };
                r
            }
            EngineModule::Fail => failed(
                &name,
                args.get("msg")
                    .map(text)
                    .unwrap_or_else(|| "Failed as requested from task".into()),
            ),
            EngineModule::IncludeVars => {
                let file = args.get("file").and_then(Value::as_str).unwrap_or_default();
                let Some(path) = find_in(&task.origin.search_path("vars"), file) else {
                    return failed(&name, format!("could not find vars file `{file}`"));
                };
                match crate::yaml::load_path(&path) {
                    Ok(node) => {
                        let loaded = match node.to_json() {
                            Value::Object(m) => m,
                            Value::Null => Map::new(),
                            _ => {
                                return failed(
                                    &name,
                                    format!("{} must hold a mapping", path.display()),
                                )
                            }
                        };
                        match args.get("name").and_then(Value::as_str) {
                            Some(n) => {
                                host.vars
                                    .insert(n.to_string(), Value::Object(loaded.clone()));
                            }
                            None => host.vars.extend(loaded.clone()),
                        }
                        let mut r = HostResult::new(&name, ResultStatus::Ok);
                        r.data = json!({"changed": false, "ansible_facts": loaded, "ansible_included_var_files": [path.display().to_string()]});
                        r
                    }
                    Err(d) => failed(&name, d.to_string()),
                }
            }
            EngineModule::Setup => self.gather_facts(task, host, vars),
            EngineModule::GroupBy => self.group_by(host, args),
            EngineModule::AddHost => self.add_host(host, args),
            EngineModule::Meta
            | EngineModule::IncludeTasks
            | EngineModule::ImportTasks
            | EngineModule::IncludeRole
            | EngineModule::ImportRole => {
                let _ = check;
                failed(
                    &name,
                    "internal: control module reached the module runner".into(),
                )
            }
        }
    }

    /// Gather facts in one command on the host.
    pub(crate) fn gather_facts(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Map<String, Value>,
    ) -> HostResult {
        let name = host.name.clone();
        let conn = match self.connection_for(task, host, vars) {
            Ok(c) => c,
            Err(e) => return super::task_runner::unreachable_result(&name, e),
        };
        match conn.run(&converge_modules::Command::shell(
            super::facts::GATHER_SCRIPT,
        )) {
            Ok(out) if out.success() => {
                let facts = super::facts::parse(&out.stdout_str());
                host.facts = facts.clone();
                host.facts_gathered = true;
                let mut r = HostResult::new(&name, ResultStatus::Ok);
                let facts = super::facts::prefixed(&facts);
                r.data = json!({"changed": false, "ansible_facts": facts});
                r
            }
            Ok(out) => failed(
                &name,
                format!(
                    "gathering facts failed (rc={}): {}",
                    out.rc,
                    out.stderr_str().trim()
                ),
            ),
            Err(converge_modules::TargetError::Unreachable(m)) => {
                host.connection = None;
                super::task_runner::unreachable_result(&name, m)
            }
            Err(e) => failed(&name, e.to_string()),
        }
    }

    /// The controller-side half of `template` and `copy`: read (and render) local files and pass
    /// their content to the host module through its internal arguments.
    pub(crate) fn controller_side(
        &self,
        module: &str,
        task: &Task,
        args: &mut Map<String, Value>,
        ctx: &minijinja::Value,
    ) -> Result<(), String> {
        match module {
            "template" => {
                let src = args
                    .get("src")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or("template needs `src`")?;
                let path = find_in(&task.origin.search_path("templates"), &src)
                    .ok_or_else(|| format!("could not find template `{src}`"))?;
                let file = SourceFile::read(&path)?;
                let template = crate::template::TemplateFile {
                    path: src.clone(),
                    fullpath: path.clone(),
                    dest: args.get("dest").and_then(Value::as_str).map(str::to_string),
                    search_dirs: task.origin.search_path("templates"),
                    syntax: crate::template::SyntaxOverrides::default(),
                };
                let rendered = self
                    .templater
                    .render_file(&file.text, ctx, &template)
                    .map_err(|e| {
                        let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
                        format!("{}{line}: {}", path.display(), e.message)
                    })?;
                args.insert("_content".into(), Value::String(rendered));
                Ok(())
            }
            "copy" => {
                if args.get("remote_src").and_then(to_bool).unwrap_or(false)
                    || args.contains_key("content")
                {
                    return Ok(());
                }
                let Some(src) = args.get("src").and_then(Value::as_str).map(str::to_string) else {
                    return Ok(());
                };
                let path = find_in(&task.origin.search_path("files"), &src)
                    .ok_or_else(|| format!("could not find `{src}` for copy"))?;
                let b64 = base64::engine::general_purpose::STANDARD;
                if path.is_dir() {
                    let mut files = Vec::new();
                    collect_dir(&path, &path, &mut files, &b64)?;
                    args.insert("_files".into(), Value::Array(files));
                    args.insert("_src_is_dir".into(), Value::Bool(true));
                } else {
                    let bytes = std::fs::read(&path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    args.insert("_content_b64".into(), Value::String(b64.encode(bytes)));
                }
                Ok(())
            }
            "docker_image" => docker_image_paths(task, args),
            "docker_services" | "docker_service" => docker_services_paths(task, args),
            _ => Ok(()),
        }
    }
}

/// `docker_image`: the build directory and `load_src` are on the controller, found like
/// `copy`'s `src` (role `files/`, the playbook's directory).
fn docker_image_paths(task: &Task, args: &mut Map<String, Value>) -> Result<(), String> {
    let dirs = task.origin.search_path("files");
    if let Some(path) = args
        .get("build")
        .and_then(|b| b.get("path"))
        .and_then(Value::as_str)
    {
        let dir = find_in(&dirs, path).filter(|p| p.is_dir()).ok_or_else(|| {
            format!("docker_image: build directory `{path}` not found on the controller")
        })?;
        args.insert(
            "_context_dir".into(),
            Value::String(dir.display().to_string()),
        );
    }
    for (key, internal) in [("load_src", "_load_src"), ("import_src", "_import_src")] {
        if let Some(src) = args.get(key).and_then(Value::as_str) {
            let file = find_in(&dirs, src).ok_or_else(|| {
                format!("docker_image: {key} `{src}` not found on the controller")
            })?;
            args.insert(internal.into(), Value::String(file.display().to_string()));
        }
    }
    Ok(())
}

/// `docker_services`: relative paths (build contexts, env files) start at the playbook's
/// directory, or at the compose file's, which is read here.
fn docker_services_paths(task: &Task, args: &mut Map<String, Value>) -> Result<(), String> {
    let base = task
        .origin
        .role_path
        .clone()
        .map(|r| r.join("files"))
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| task.origin.playbook_dir.clone());
    match args
        .get("compose")
        .or(args.get("compose_file"))
        .and_then(Value::as_str)
    {
        Some(file) => {
            let path = find_in(&task.origin.search_path("files"), file).ok_or_else(|| {
                format!("docker_services: compose file `{file}` not found on the controller")
            })?;
            let doc = crate::yaml::load_path(&path).map_err(|d| d.to_string())?;
            args.insert("_compose".into(), doc.to_json());
            let dir = path
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or(base);
            args.insert("_base_dir".into(), Value::String(dir.display().to_string()));
        }
        None => {
            args.insert(
                "_base_dir".into(),
                Value::String(base.display().to_string()),
            );
        }
    }
    Ok(())
}

fn collect_dir(
    root: &std::path::Path,
    dir: &std::path::Path,
    out: &mut Vec<Value>,
    b64: &base64::engine::GeneralPurpose,
) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
        let meta =
            std::fs::metadata(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        if meta.is_dir() {
            out.push(json!({"path": rel, "dir": true, "mode": format!("0{:o}", meta.permissions().mode() & 0o7777)}));
            collect_dir(root, &p, out, b64)?;
        } else {
            let bytes =
                std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            out.push(json!({"path": rel, "content_b64": b64.encode(bytes), "mode": format!("0{:o}", meta.permissions().mode() & 0o7777)}));
        }
    }
    Ok(())
}

/// A value as text: strings as they are, anything else as JSON.
pub(super) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
