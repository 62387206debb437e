//! What a module may ask of the controller while it runs on a host (see
//! `converge_modules::Controller`): rendering a template the task names, with the host's
//! variables and the module's own on top (the proxy config of `docker_services`, rendered once
//! the new containers have addresses), and registering secret values for redaction.

use super::Executor;
use crate::playbook::task::find_in;
use crate::playbook::Task;
use crate::source::SourceFile;
use serde_json::{Map, Value};

pub struct EngineController<'e, 'a> {
    pub exec: &'e Executor<'a>,
    pub task: &'e Task,
    pub vars: &'e Map<String, Value>,
}

impl converge_modules::Controller for EngineController<'_, '_> {
    fn render(
        &self,
        template: Option<&str>,
        builtin: &str,
        extra: &Value,
    ) -> Result<String, String> {
        let (text, origin) = match template {
            Some(src) => {
                let path = find_in(&self.task.origin.search_path("templates"), src)
                    .ok_or_else(|| format!("could not find template `{src}`"))?;
                (
                    SourceFile::read(&path)?.text.clone(),
                    path.display().to_string(),
                )
            }
            None => (builtin.to_string(), "the built-in template".to_string()),
        };
        let mut vars = self.vars.clone();
        if let Value::Object(m) = extra {
            for (k, v) in m {
                vars.insert(k.clone(), v.clone());
            }
        }
        let ctx = self.exec.ctx_value(vars);
        self.exec.templater.render(&text, &ctx).map_err(|e| {
            let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
            format!("{origin}{line}: {}", e.message)
        })
    }

    fn add_secret(&self, value: &str) {
        self.exec.add_secret(value);
    }

    fn controller_dir(&self, path: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        let dirs = self.task.origin.search_path("files");
        let found = find_in(&dirs, path)
            .filter(|p| p.is_dir())
            .ok_or_else(|| format!("Source ({path}) is not a directory on the controller"))?;
        let entries = std::fs::read_dir(&found)
            .map_err(|e| format!("cannot read {}: {e}", found.display()))?;
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_file() {
                let data =
                    std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                files.push((entry.file_name().to_string_lossy().into_owned(), data));
            }
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(files)
    }

    fn controller_file(&self, path: &str) -> Result<Vec<u8>, String> {
        let dirs = self.task.origin.search_path("files");
        let found = find_in(&dirs, path).ok_or_else(|| {
            let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            format!(
                "could not find `{path}` on the controller (looked in {})",
                looked.join(", ")
            )
        })?;
        std::fs::read(&found).map_err(|e| format!("cannot read {}: {e}", found.display()))
    }
}
