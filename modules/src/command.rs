//! `command`, `shell` and `raw`: run something on the host.
//!
//! These are actions, not states, so they implement [`Module`] directly. `command` never uses a
//! shell (its free-form text is split with [`crate::shlex`]); `shell` runs `/bin/sh -c` (or
//! `executable -c`); `raw` is `shell` without any of the conveniences. `creates`/`removes`
//! make `command`/`shell` idempotent the way Ansible does (ok, `Did not run command since 'X'
//! exists`), and are the only way they can say anything in check mode: otherwise check mode
//! skips them, since their effect cannot be predicted.
//!
//! Registered data: `cmd` (a list for `command`, a string for `shell`), `rc`, `stdout`,
//! `stdout_lines`, `stderr`, `stderr_lines`, `start`, `end`, `delta`, and `msg:
//! non-zero return code` on failure.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::common::{datetime_micro, delta_text, join, output_data};
use crate::contract::{Module, ModuleError, Outcome, RunMode, Status};
use crate::shlex;
use crate::target::{shell_quote, Command, Program, Target};
use serde_json::Value;
use std::time::{Instant, SystemTime};

/// The message of a command skipped in check mode.
pub const CHECK_MODE_MSG: &str = "command would run; cannot predict the outcome in check mode";

const COMMAND_SPEC: &[ArgSpec] = &[
    ArgSpec::new("cmd", ArgKind::Str).aliases(&["_raw_params"]),
    ArgSpec::new("argv", ArgKind::List),
    ArgSpec::new("creates", ArgKind::Str),
    ArgSpec::new("removes", ArgKind::Str),
    ArgSpec::new("chdir", ArgKind::Str),
    ArgSpec::new("stdin", ArgKind::Str),
    ArgSpec::new("stdin_add_newline", ArgKind::Bool),
    ArgSpec::new("strip_empty_ends", ArgKind::Bool),
    // Accepted for compatibility; converge never expands variables in argv words.
    ArgSpec::new("expand_argument_vars", ArgKind::Bool),
];

const SHELL_SPEC: &[ArgSpec] = &[
    ArgSpec::new("cmd", ArgKind::Str).aliases(&["_raw_params"]),
    ArgSpec::new("creates", ArgKind::Str),
    ArgSpec::new("removes", ArgKind::Str),
    ArgSpec::new("chdir", ArgKind::Str),
    ArgSpec::new("executable", ArgKind::Str),
    ArgSpec::new("stdin", ArgKind::Str),
    ArgSpec::new("stdin_add_newline", ArgKind::Bool),
    ArgSpec::new("strip_empty_ends", ArgKind::Bool),
];

const RAW_SPEC: &[ArgSpec] = &[
    ArgSpec::new("free_form", ArgKind::Str)
        .required()
        .aliases(&["_raw_params", "cmd"]),
    ArgSpec::new("executable", ArgKind::Str),
];

/// The `command` module.
pub struct CommandModule;
/// The `shell` module.
pub struct ShellModule;
/// The `raw` module.
pub struct RawModule;

/// What to run, resolved from the arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandParams {
    pub program: Program,
    /// The registered `cmd`: a list for `command`, the script for `shell`.
    pub cmd_value: Value,
    pub creates: Option<String>,
    pub removes: Option<String>,
    pub chdir: Option<String>,
    pub stdin: Option<Vec<u8>>,
    pub strip: bool,
}

impl CommandParams {
    fn parse(args: &Args, shell: bool) -> Result<Self, ArgError> {
        let spec = if shell { SHELL_SPEC } else { COMMAND_SPEC };
        let p = Params::new(spec, args)?;
        let cmd = p.str("cmd").filter(|c| !c.trim().is_empty());
        let (program, cmd_value) = if shell {
            let script = cmd.ok_or_else(|| ArgError::new(Some("cmd"), "no command given"))?;
            let program = match p.str("executable").filter(|e| !e.is_empty()) {
                Some(exe) => Program::Argv(vec![exe, "-c".into(), script.clone()]),
                None => Program::Shell(script.clone()),
            };
            (program, Value::String(script))
        } else {
            let words = match (cmd, p.list("argv")) {
                (Some(_), Some(_)) => {
                    return Err(ArgError::new(
                        Some("argv"),
                        "only one of cmd (free form) and argv can be given",
                    ))
                }
                (Some(c), None) => shlex::split(&c).map_err(|e| ArgError::new(Some("cmd"), e))?,
                (None, Some(a)) => a,
                (None, None) => Vec::new(),
            };
            if words.is_empty() {
                return Err(ArgError::new(None, "no command given"));
            }
            let value = Value::Array(words.iter().cloned().map(Value::String).collect());
            (Program::Argv(words), value)
        };
        let stdin = p.str("stdin").map(|mut s| {
            if p.bool_or("stdin_add_newline", true) {
                s.push('\n');
            }
            s.into_bytes()
        });
        Ok(CommandParams {
            program,
            cmd_value,
            creates: p.str("creates").filter(|s| !s.is_empty()),
            removes: p.str("removes").filter(|s| !s.is_empty()),
            chdir: p.str("chdir").filter(|s| !s.is_empty()),
            stdin,
            strip: p.bool_or("strip_empty_ends", true),
        })
    }

    fn command(&self) -> Command {
        Command {
            program: self.program.clone(),
            stdin: self.stdin.clone(),
            chdir: self.chdir.clone(),
            env: Vec::new(),
        }
    }
}

/// Start the command in its own session on the host, its output discarded, and return: what
/// `async: N` with `poll: 0` asks (`shell: sleep 2 && reboot`). The result says it started.
fn detach(target: &dyn Target, args: &Args, shell: bool) -> Result<Outcome, ModuleError> {
    let p = CommandParams::parse(args, shell)?;
    let line = p.command().to_shell_string();
    let script = format!(
        "nohup setsid /bin/sh -c {} >/dev/null 2>&1 </dev/null & echo $!",
        shell_quote(&line)
    );
    let out = target.run(&Command::shell(script))?;
    let pid = out.stdout_str().trim().to_string();
    if !out.success() || pid.is_empty() {
        return Err(ModuleError::Failed(format!(
            "could not start the command in the background: {}",
            out.stderr_str().trim()
        )));
    }
    let mut o = Outcome::changed();
    o.data.insert(
        "ansible_job_id".into(),
        Value::String(format!("converge.{pid}")),
    );
    o.data.insert("started".into(), Value::from(1));
    o.data.insert("finished".into(), Value::from(0));
    o.data.insert("cmd".into(), p.cmd_value.clone());
    Ok(o)
}

/// What `creates`/`removes` say: `Some(outcome)` when the command must not run.
pub fn decide(creates: Option<(&str, bool)>, removes: Option<(&str, bool)>) -> Option<Outcome> {
    if let Some((path, true)) = creates {
        return Some(not_run(
            format!("Did not run command since '{path}' exists"),
            format!("skipped, since {path} exists"),
        ));
    }
    if let Some((path, false)) = removes {
        return Some(not_run(
            format!("Did not run command since '{path}' does not exist"),
            format!("skipped, since {path} does not exist"),
        ));
    }
    None
}

fn not_run(msg: String, stdout: String) -> Outcome {
    Outcome::ok()
        .with_msg(msg)
        .with_data("rc", 0)
        .with_data("stdout", stdout.clone())
        .with_data("stdout_lines", vec![Value::String(stdout)])
        .with_data("stderr", "")
        .with_data("stderr_lines", Vec::<Value>::new())
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Quote a glob pattern for the shell, leaving its wildcard characters active.
fn glob_quote(pattern: &str) -> String {
    let mut out = String::new();
    let mut lit = String::new();
    for c in pattern.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '!') {
            if !lit.is_empty() {
                out.push_str(&shell_quote(&std::mem::take(&mut lit)));
            }
            out.push(c);
        } else {
            lit.push(c);
        }
    }
    if !lit.is_empty() {
        out.push_str(&shell_quote(&lit));
    }
    out
}

/// Whether a path (or glob) exists on the target, relative paths taken from `chdir`.
pub fn path_exists(
    target: &dyn Target,
    path: &str,
    chdir: Option<&str>,
) -> Result<bool, ModuleError> {
    if has_glob(path) {
        let script = format!(
            "for f in {}; do if [ -e \"$f\" ] || [ -L \"$f\" ]; then exit 0; fi; done; exit 1",
            glob_quote(path)
        );
        let mut cmd = Command::shell(script);
        cmd.chdir = chdir.map(str::to_string);
        return Ok(target.run(&cmd)?.success());
    }
    let full = match chdir {
        Some(d) => join(d, path),
        None => path.to_string(),
    };
    Ok(target.stat(&full)?.is_some())
}

fn run_command(
    target: &dyn Target,
    p: &CommandParams,
    mode: RunMode,
) -> Result<Outcome, ModuleError> {
    let creates = match &p.creates {
        Some(c) => Some((c.as_str(), path_exists(target, c, p.chdir.as_deref())?)),
        None => None,
    };
    let removes = match &p.removes {
        Some(r) => Some((r.as_str(), path_exists(target, r, p.chdir.as_deref())?)),
        None => None,
    };
    if let Some(mut o) = decide(creates, removes) {
        o.data.insert("cmd".into(), p.cmd_value.clone());
        return Ok(o);
    }
    if mode.check {
        let mut o = if creates.is_some() || removes.is_some() {
            // creates/removes say it would run: a change, as Ansible reports it.
            Outcome::changed().with_msg("Command would have run if not in check mode")
        } else {
            Outcome::skipped(CHECK_MODE_MSG)
        };
        o.data.insert("cmd".into(), p.cmd_value.clone());
        // What Ansible registers for a command check mode did not run, so that later tasks
        // reading `result.rc` / `result.stdout` behave the same in a dry run.
        o.data.insert("rc".into(), 0.into());
        for k in ["stdout", "stderr"] {
            o.data.insert(k.into(), "".into());
            o.data
                .insert(format!("{k}_lines"), Value::Array(Vec::new()));
        }
        return Ok(o);
    }
    let start = SystemTime::now();
    let clock = Instant::now();
    let out = target.run(&p.command())?;
    let end = SystemTime::now();
    let mut o = Outcome::changed();
    o.data.insert("cmd".into(), p.cmd_value.clone());
    o.data.extend(output_data(&out, p.strip));
    o.data.insert("start".into(), datetime_micro(start).into());
    o.data.insert("end".into(), datetime_micro(end).into());
    o.data
        .insert("delta".into(), delta_text(clock.elapsed()).into());
    if !out.success() {
        o.status = Status::Failed;
        o.msg = Some("non-zero return code".into());
        // The command ran: Ansible reports it changed even when it failed, which is what
        // `ignore_errors` and `failed_when: false` then count.
        o.data.insert("changed".into(), Value::Bool(true));
    }
    Ok(o)
}

impl Module for CommandModule {
    fn name(&self) -> &'static str {
        "command"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        COMMAND_SPEC
    }
    fn free_form(&self) -> Option<&'static str> {
        Some("cmd")
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = CommandParams::parse(args, false)?;
        run_command(target, &p, mode)
    }

    fn run_detached(
        &self,
        target: &dyn Target,
        args: &Args,
    ) -> Option<Result<Outcome, ModuleError>> {
        Some(detach(target, args, false))
    }
}

impl Module for ShellModule {
    fn name(&self) -> &'static str {
        "shell"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SHELL_SPEC
    }
    fn free_form(&self) -> Option<&'static str> {
        Some("cmd")
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = CommandParams::parse(args, true)?;
        run_command(target, &p, mode)
    }

    fn run_detached(
        &self,
        target: &dyn Target,
        args: &Args,
    ) -> Option<Result<Outcome, ModuleError>> {
        Some(detach(target, args, true))
    }
}

impl Module for RawModule {
    fn name(&self) -> &'static str {
        "raw"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        RAW_SPEC
    }
    fn free_form(&self) -> Option<&'static str> {
        Some("free_form")
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = Params::new(RAW_SPEC, args)?;
        let script = p.req_str("free_form")?;
        if mode.check {
            return Ok(Outcome::skipped("check mode is not supported for raw"));
        }
        let program = match p.str("executable").filter(|e| !e.is_empty()) {
            Some(exe) => Program::Argv(vec![exe, "-c".into(), script]),
            None => Program::Shell(script),
        };
        let out = target.run(&Command {
            program,
            stdin: None,
            chdir: None,
            env: Vec::new(),
        })?;
        let mut o = Outcome::changed();
        o.data.extend(output_data(&out, false));
        if !out.success() {
            o.status = Status::Failed;
            o.msg = Some("non-zero return code".into());
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Args {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn command_splits_free_form_without_shell() {
        let p = CommandParams::parse(&args(json!({"cmd": "echo 'a b' ; ls"})), false).unwrap();
        assert_eq!(
            p.program,
            Program::Argv(vec!["echo".into(), "a b".into(), ";".into(), "ls".into()])
        );
        assert_eq!(p.cmd_value, json!(["echo", "a b", ";", "ls"]));
        let p = CommandParams::parse(&args(json!({"argv": ["ls", "-l"], "stdin": "x"})), false)
            .unwrap();
        assert_eq!(p.program, Program::Argv(vec!["ls".into(), "-l".into()]));
        assert_eq!(p.stdin.as_deref(), Some(&b"x\n"[..]));
        let p = CommandParams::parse(
            &args(json!({"argv": ["cat"], "stdin": "x", "stdin_add_newline": false})),
            false,
        )
        .unwrap();
        assert_eq!(p.stdin.as_deref(), Some(&b"x"[..]));
    }

    #[test]
    fn command_arg_errors() {
        assert!(CommandParams::parse(&args(json!({})), false).is_err());
        assert!(CommandParams::parse(&args(json!({"cmd": "  "})), false).is_err());
        assert!(CommandParams::parse(&args(json!({"cmd": "echo 'x"})), false).is_err());
        assert!(CommandParams::parse(&args(json!({"cmd": "a", "argv": ["b"]})), false).is_err());
        assert!(
            CommandParams::parse(&args(json!({"cmd": "a", "executable": "/bin/bash"})), false)
                .is_err()
        );
    }

    #[test]
    fn shell_program() {
        let p = CommandParams::parse(&args(json!({"cmd": "echo $HOME | wc"})), true).unwrap();
        assert_eq!(p.program, Program::Shell("echo $HOME | wc".into()));
        assert_eq!(p.cmd_value, json!("echo $HOME | wc"));
        let p = CommandParams::parse(
            &args(json!({"_raw_params": "echo", "executable": "/bin/bash"})),
            true,
        )
        .unwrap();
        assert_eq!(
            p.program,
            Program::Argv(vec!["/bin/bash".into(), "-c".into(), "echo".into()])
        );
    }

    #[test]
    fn creates_removes_decisions() {
        assert!(decide(None, None).is_none());
        assert!(decide(Some(("/x", false)), None).is_none());
        let o = decide(Some(("/x", true)), None).unwrap();
        assert_eq!(o.status, Status::Ok);
        assert_eq!(
            o.msg.as_deref(),
            Some("Did not run command since '/x' exists")
        );
        assert_eq!(o.data["stdout"], "skipped, since /x exists");
        assert!(decide(None, Some(("/y", true))).is_none());
        let o = decide(None, Some(("/y", false))).unwrap();
        assert_eq!(
            o.msg.as_deref(),
            Some("Did not run command since '/y' does not exist")
        );
    }

    #[test]
    fn glob_quoting() {
        assert_eq!(glob_quote("/tmp/my dir/*.txt"), "'/tmp/my dir/'*.txt");
        assert!(has_glob("/a/*"));
        assert!(!has_glob("/a/b"));
    }
}
