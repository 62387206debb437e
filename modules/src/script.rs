//! `script`: copy a script from the controller to the host and run it there, as Ansible's
//! `script` does (`script: files/setup.sh --flag`). An action, not a state: it always reports a
//! change, unless `creates`/`removes` say it has nothing to do, which is also the only way it
//! can answer in check mode (otherwise check mode skips it, as in Ansible).
//!
//! Registered data: `rc`, `stdout`, `stdout_lines`, `stderr`, `stderr_lines` (through the
//! `shell` module, which runs the uploaded copy), and `msg: non-zero return code` on failure.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::command::ShellModule;
use crate::contract::{Controller, Module, ModuleError, Outcome, RunMode, Status};
use crate::shlex;
use crate::target::{shell_quote, Command, FileAttrs, Target};
use serde_json::{Map, Value};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("cmd", ArgKind::Str).aliases(&["_raw_params", "free_form"]),
    ArgSpec::new("creates", ArgKind::Str),
    ArgSpec::new("removes", ArgKind::Str),
    ArgSpec::new("chdir", ArgKind::Str),
    ArgSpec::new("executable", ArgKind::Str),
    ArgSpec::new("decrypt", ArgKind::Bool),
];

/// The `script` module.
pub struct ScriptModule;

impl Module for ScriptModule {
    fn name(&self) -> &'static str {
        "script"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn free_form(&self) -> Option<&'static str> {
        Some("cmd")
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        self.run_with(target, args, mode, &crate::contract::NoController)
    }

    fn run_with(
        &self,
        target: &dyn Target,
        args: &Args,
        mode: RunMode,
        ctl: &dyn Controller,
    ) -> Result<Outcome, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let line = p
            .str("cmd")
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| ArgError::new(Some("cmd"), "a script to run is required"))?;
        let words = shlex::split(&line).map_err(|e| ArgError::new(Some("cmd"), e))?;
        let Some((script, rest)) = words.split_first() else {
            return Err(ArgError::new(Some("cmd"), "a script to run is required").into());
        };
        if let Some(skip) = self.nothing_to_do(target, &p)? {
            return Ok(skip);
        }
        if mode.check {
            let mut o = Outcome::ok();
            o.status = Status::Skipped;
            o.msg = Some("check mode is not supported for this task".into());
            return Ok(o);
        }
        let content = ctl.controller_file(script).map_err(ModuleError::Failed)?;
        let remote = upload(target, &content)?;
        let mut cmd = p
            .str("executable")
            .map(|e| shell_quote(&e))
            .unwrap_or_default();
        cmd.push_str(&format!(" {}", shell_quote(&remote)));
        for w in rest {
            cmd.push_str(&format!(" {}", shell_quote(w)));
        }
        let mut shell_args = Map::new();
        shell_args.insert("cmd".into(), Value::String(cmd.trim().to_string()));
        if let Some(dir) = p.str("chdir") {
            shell_args.insert("chdir".into(), Value::String(dir));
        }
        let result = ShellModule.run(target, &shell_args, mode);
        let _ = target.run(&Command::shell(format!("rm -f {}", shell_quote(&remote))));
        let mut o = result?;
        o.data.remove("cmd");
        Ok(o)
    }
}

impl ScriptModule {
    /// `creates` exists or `removes` does not: ok, nothing run (as in Ansible, a skip).
    fn nothing_to_do(
        &self,
        target: &dyn Target,
        p: &Params,
    ) -> Result<Option<Outcome>, ModuleError> {
        let exists = |path: &str| -> Result<bool, ModuleError> { Ok(target.stat(path)?.is_some()) };
        let reason = match (p.str("creates"), p.str("removes")) {
            (Some(c), _) if exists(&c)? => format!("{c} exists, matching creates option"),
            (_, Some(r)) if !exists(&r)? => format!("{r} does not exist, matching removes option"),
            _ => return Ok(None),
        };
        let mut o = Outcome::ok();
        o.status = Status::Skipped;
        o.msg = Some(reason);
        Ok(Some(o))
    }
}

/// Write the script to a fresh private file in the host's temporary directory.
fn upload(target: &dyn Target, content: &[u8]) -> Result<String, ModuleError> {
    let out = target.run(&Command::shell(
        "mktemp \"${TMPDIR:-/tmp}/converge-script.XXXXXXXX\"",
    ))?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.rc != 0 || path.is_empty() {
        return Err(ModuleError::Failed(format!(
            "could not make a temporary file on the host: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let attrs = FileAttrs {
        mode: Some(0o700),
        owner: None,
        group: None,
    };
    target.write_file(&path, content, &attrs)?;
    Ok(path)
}
