//! `service`, `systemd` and `systemd_service`: make a service running/stopped/restarted/reloaded
//! and enabled at boot or not, on hosts with systemd and on hosts with SysV init scripts only
//! (containers, minimal images, converge's test lab). One inspect command detects the manager —
//! systemd when `/run/systemd/system` exists and `systemctl` is there — and reports everything:
//! `systemctl show -p LoadState,ActiveState,SubState,UnitFileState` and `is-enabled`, or the
//! init script's `status` exit code (0 = running, as LSB says), the process table when `pattern`
//! is given, and the `S??NAME` start links in `rc[2-5].d`.
//!
//! Semantics are Ansible's: `started` on a running service is ok, `restarted` is always a change,
//! `reloaded` starts a stopped service. `systemd` on a host without systemd falls back to the init
//! script (Ansible would fail; converge's lab has no init system), registering `manager: sysv`.
//!
//! # Internal arguments (tests only)
//!
//! * `_initd_dir` (string): where init scripts live instead of `/etc/init.d`.
//! * `_rc_dir` (string): the directory holding `rc0.d` ... `rc6.d` instead of `/etc`. With
//!   either set, SysV is used even when systemd runs, and enabling makes the links itself instead
//!   of calling `update-rc.d`.

use crate::args::{ArgKind, ArgSpec, Args, Params};
use crate::common::kv_text;
use crate::contract::{Diff, Module, ModuleError, Outcome, Plan, RunMode};
use crate::sysutil::{err_text, finish, kv_lines, q, sh};
use crate::target::Target;
use serde_json::{Map, Value};

const SERVICE_SPEC: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str).required(),
    ArgSpec::new("state", ArgKind::Str).choices(&["started", "stopped", "restarted", "reloaded"]),
    ArgSpec::new("enabled", ArgKind::Bool),
    ArgSpec::new("pattern", ArgKind::Str),
    ArgSpec::new("sleep", ArgKind::Int),
    ArgSpec::new("arguments", ArgKind::Str).aliases(&["args"]),
    ArgSpec::new("runlevel", ArgKind::Str),
    ArgSpec::new("use", ArgKind::Str),
];

const SYSTEMD_SPEC: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str).aliases(&["service", "unit"]),
    ArgSpec::new("state", ArgKind::Str).choices(&["started", "stopped", "restarted", "reloaded"]),
    ArgSpec::new("enabled", ArgKind::Bool),
    ArgSpec::new("masked", ArgKind::Bool),
    ArgSpec::new("daemon_reload", ArgKind::Bool).aliases(&["daemon-reload"]),
    ArgSpec::new("daemon_reexec", ArgKind::Bool).aliases(&["daemon-reexec"]),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("no_block", ArgKind::Bool),
    ArgSpec::new("scope", ArgKind::Str).choices(&["system", "user", "global"]),
];

/// The wanted run state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Started,
    Stopped,
    Restarted,
    Reloaded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceParams {
    pub name: Option<String>,
    pub state: Option<RunState>,
    pub enabled: Option<bool>,
    pub masked: Option<bool>,
    pub pattern: Option<String>,
    pub sleep: Option<i64>,
    pub arguments: Option<String>,
    pub daemon_reload: bool,
    pub daemon_reexec: bool,
    pub force: bool,
    pub no_block: bool,
    pub scope: String,
    /// `use: sysv` / internal directories: never systemd.
    pub force_sysv: bool,
    pub initd_dir: String,
    pub rc_dir: String,
    pub custom_dirs: bool,
}

/// Which service manager inspect found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manager {
    Systemd,
    Sysv,
}

/// What inspect saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    pub manager: Manager,
    /// systemd: `LoadState`, `ActiveState`, `SubState`, `UnitFileState`.
    pub props: std::collections::BTreeMap<String, String>,
    /// systemd: `is-enabled` exit code and output.
    pub is_enabled_rc: Option<i32>,
    /// SysV: the init script exists.
    pub script: bool,
    /// SysV: `status` exit code.
    pub status_rc: Option<i32>,
    /// `pattern` given: whether a process matched it.
    pub pattern_found: Option<bool>,
    /// SysV: `S??NAME` links in rc2..5.
    pub start_links: Vec<String>,
}

impl ServiceState {
    pub fn running(&self) -> bool {
        if let Some(f) = self.pattern_found {
            return f;
        }
        match self.manager {
            Manager::Systemd => matches!(
                self.props.get("ActiveState").map(String::as_str),
                Some("active" | "activating" | "reloading")
            ),
            Manager::Sysv => self.status_rc == Some(0),
        }
    }
    pub fn enabled(&self) -> bool {
        match self.manager {
            Manager::Systemd => self.is_enabled_rc == Some(0),
            Manager::Sysv => !self.start_links.is_empty(),
        }
    }
    pub fn masked(&self) -> bool {
        self.props.get("UnitFileState").map(String::as_str) == Some("masked")
            || self.props.get("LoadState").map(String::as_str) == Some("masked")
    }
    pub fn found(&self) -> bool {
        match self.manager {
            Manager::Systemd => {
                self.props.get("LoadState").map(String::as_str) != Some("not-found")
                    || self.masked()
            }
            Manager::Sysv => self.script,
        }
    }
}

/// One step of change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceAction {
    Unmask,
    Mask,
    Enable,
    Disable,
    Start,
    Stop,
    Restart,
    Reload,
}

/// Parse `systemctl show -p ...` output plus the script's own `key=value` lines.
pub fn parse_inspect(text: &str) -> ServiceState {
    let kv = kv_lines(text);
    let manager = if kv.get("manager").map(String::as_str) == Some("systemd") {
        Manager::Systemd
    } else {
        Manager::Sysv
    };
    let props = ["LoadState", "ActiveState", "SubState", "UnitFileState"]
        .iter()
        .filter_map(|k| kv.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    let start_links = text
        .lines()
        .filter_map(|l| l.strip_prefix("start_link="))
        .map(str::to_string)
        .collect();
    ServiceState {
        manager,
        props,
        is_enabled_rc: kv.get("is_enabled_rc").and_then(|v| v.parse().ok()),
        script: kv.get("script").map(String::as_str) == Some("yes"),
        status_rc: kv.get("status_rc").and_then(|v| v.parse().ok()),
        pattern_found: if kv.contains_key("pattern") {
            Some(true)
        } else {
            kv.get("pattern_checked").map(|_| false)
        },
        start_links,
    }
}

/// A word quoted so that the quoted text never contains the word itself: the inspecting shell's
/// own command line must not match `pattern`.
fn split_quote(word: &str) -> String {
    let esc = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let mid = word
        .char_indices()
        .nth(word.chars().count() / 2)
        .map_or(0, |(i, _)| i);
    if mid == 0 {
        return esc(word);
    }
    format!("{}{}", esc(&word[..mid]), esc(&word[mid..]))
}

/// The service modules.
pub struct ServiceModule {
    pub module_name: &'static str,
    pub systemd: bool,
}

impl ServiceModule {
    pub fn parse(&self, args: &Args) -> Result<ServiceParams, ModuleError> {
        let spec = if self.systemd {
            SYSTEMD_SPEC
        } else {
            SERVICE_SPEC
        };
        let p = Params::new(spec, args)?;
        let state = p.str("state").map(|s| match s.as_str() {
            "stopped" => RunState::Stopped,
            "restarted" => RunState::Restarted,
            "reloaded" => RunState::Reloaded,
            _ => RunState::Started,
        });
        let initd = args.get("_initd_dir").and_then(Value::as_str);
        let rc = args.get("_rc_dir").and_then(Value::as_str);
        let custom_dirs = initd.is_some() || rc.is_some();
        let use_ = p.str("use").unwrap_or_else(|| "auto".into());
        let sp = ServiceParams {
            name: p.str("name").filter(|n| !n.is_empty()),
            state,
            enabled: p.bool("enabled"),
            masked: p.bool("masked"),
            pattern: p.str("pattern").filter(|s| !s.is_empty()),
            sleep: p.int("sleep"),
            arguments: p.str("arguments").filter(|s| !s.is_empty()),
            daemon_reload: p.bool_or("daemon_reload", false),
            daemon_reexec: p.bool_or("daemon_reexec", false),
            force: p.bool_or("force", false),
            no_block: p.bool_or("no_block", false),
            scope: p.str_or("scope", "system"),
            force_sysv: custom_dirs || matches!(use_.as_str(), "sysv" | "service"),
            initd_dir: initd
                .unwrap_or("/etc/init.d")
                .trim_end_matches('/')
                .to_string(),
            rc_dir: rc.unwrap_or("/etc").trim_end_matches('/').to_string(),
            custom_dirs,
        };
        if sp.name.is_none() {
            if sp.state.is_some() || sp.enabled.is_some() || sp.masked.is_some() {
                return Err(crate::args::ArgError::new(Some("name"), "is required").into());
            }
            if !sp.daemon_reload && !sp.daemon_reexec {
                return Err(crate::args::ArgError::new(
                    None,
                    "one of name, daemon_reload, daemon_reexec is required",
                )
                .into());
            }
        }
        Ok(sp)
    }

    fn systemctl(p: &ServiceParams) -> String {
        let mut s = "systemctl".to_string();
        match p.scope.as_str() {
            "user" => s.push_str(" --user"),
            "global" => s.push_str(" --global"),
            _ => {}
        }
        s
    }

    /// The one inspection script.
    pub fn inspect_script(p: &ServiceParams) -> String {
        let name = p.name.clone().unwrap_or_default();
        let n = q(&name);
        let sc = Self::systemctl(p);
        let mut s = String::new();
        let sysv = format!(
            "echo manager=sysv; s={script}; if [ -f \"$s\" ]; then echo script=yes; \
             \"$s\" status >/dev/null 2>&1 </dev/null; echo status_rc=$?; else echo script=no; fi; \
             for f in {rc}/rc2.d/S[0-9][0-9]{n} {rc}/rc3.d/S[0-9][0-9]{n} {rc}/rc4.d/S[0-9][0-9]{n} {rc}/rc5.d/S[0-9][0-9]{n}; do \
             if [ -e \"$f\" ] || [ -L \"$f\" ]; then echo \"start_link=$f\"; fi; done; ",
            script = q(&format!("{}/{}", p.initd_dir, name)),
            rc = q(&p.rc_dir),
        );
        if p.force_sysv {
            s.push_str(&sysv);
        } else {
            s.push_str(
                "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo manager=systemd; ",
            );
            if !name.is_empty() {
                s.push_str(&format!(
                    "{sc} show -p LoadState -p ActiveState -p SubState -p UnitFileState -- {n} 2>/dev/null; \
                     {sc} is-enabled -- {n} >/dev/null 2>&1; echo is_enabled_rc=$?; "
                ));
            }
            s.push_str(&format!("else {sysv}fi; "));
        }
        if let Some(pat) = &p.pattern {
            s.push_str(&format!(
                "pat={}; for d in /proc/[0-9]*; do [ \"${{d#/proc/}}\" = \"$$\" ] && continue; \
                 c=$(tr '\\0' ' ' < \"$d/cmdline\" 2>/dev/null) || continue; \
                 case \"$c\" in *\"$pat\"*) echo pattern=found; break;; esac; done; echo pattern_checked=yes; ",
                split_quote(pat)
            ));
        }
        s.push_str("exit 0");
        s
    }

    pub fn plan(p: &ServiceParams, st: &ServiceState) -> Result<Plan<ServiceAction>, ModuleError> {
        let mut plan = Plan::nothing();
        let Some(name) = &p.name else {
            return Ok(plan);
        };
        if !st.found() {
            return Err(ModuleError::Failed(match st.manager {
                Manager::Systemd => format!("Could not find the requested service {name}: host"),
                Manager::Sysv => format!(
                    "Could not find the requested service {name}: no init script {}/{name} (and no systemd on the host)",
                    p.initd_dir
                ),
            }));
        }
        if p.masked.is_some() && st.manager == Manager::Sysv {
            return Err(ModuleError::Failed(
                "masked needs systemd, which this host does not run".into(),
            ));
        }
        let running = st.running();
        let enabled = st.enabled();
        let masked = st.masked();
        if p.masked == Some(false) && masked {
            plan.actions.push(ServiceAction::Unmask);
        }
        if p.masked == Some(true) && !masked {
            plan.actions.push(ServiceAction::Mask);
        }
        match p.enabled {
            Some(true) if !enabled => plan.actions.push(ServiceAction::Enable),
            Some(false) if enabled => plan.actions.push(ServiceAction::Disable),
            _ => {}
        }
        let state_word = |r: bool| if r { "started" } else { "stopped" };
        let mut after_state = state_word(running);
        match p.state {
            Some(RunState::Started) if !running => {
                plan.actions.push(ServiceAction::Start);
                after_state = "started";
            }
            Some(RunState::Stopped) if running => {
                plan.actions.push(ServiceAction::Stop);
                after_state = "stopped";
            }
            Some(RunState::Restarted) => {
                plan.actions.push(ServiceAction::Restart);
                after_state = "restarted";
            }
            Some(RunState::Reloaded) => {
                plan.actions.push(if running {
                    ServiceAction::Reload
                } else {
                    ServiceAction::Start
                });
                after_state = if running { "reloaded" } else { "started" };
            }
            _ => {}
        }
        let new_enabled = p.enabled.unwrap_or(enabled);
        if !plan.is_noop() {
            let mut before = vec![
                ("name", name.clone()),
                ("state", state_word(running).to_string()),
                ("enabled", enabled.to_string()),
            ];
            let mut after = vec![
                ("name", name.clone()),
                ("state", after_state.to_string()),
                ("enabled", new_enabled.to_string()),
            ];
            if p.masked.is_some() {
                before.push(("masked", masked.to_string()));
                after.push(("masked", p.masked.unwrap_or(masked).to_string()));
            }
            plan.diffs.push(Diff::new(
                &format!("service {name}"),
                kv_text(&before),
                kv_text(&after),
            ));
        }
        let d = &mut plan.data;
        d.insert("name".into(), name.clone().into());
        if let Some(s) = p.state {
            d.insert(
                "state".into(),
                match s {
                    RunState::Stopped => "stopped",
                    _ => "started",
                }
                .into(),
            );
        }
        if p.enabled.is_some() {
            d.insert("enabled".into(), new_enabled.into());
        }
        d.insert(
            "manager".into(),
            match st.manager {
                Manager::Systemd => "systemd",
                Manager::Sysv => "sysv",
            }
            .into(),
        );
        let mut status = Map::new();
        for (k, v) in &st.props {
            status.insert(k.clone(), v.clone().into());
        }
        if let Some(rc) = st.status_rc {
            status.insert("status_rc".into(), rc.into());
        }
        d.insert("status".into(), Value::Object(status));
        Ok(plan)
    }

    /// Run an init script action without letting a daemon hold the connection's output open.
    fn sysv_cmd(p: &ServiceParams, action: &str) -> String {
        let name = p.name.clone().unwrap_or_default();
        let script = q(&format!("{}/{}", p.initd_dir, name));
        let args = p.arguments.clone().unwrap_or_default();
        format!(
            "out=$(mktemp) || exit 1; {script} {action} {args} </dev/null >\"$out\" 2>&1; rc=$?; cat \"$out\"; rm -f \"$out\"; exit $rc"
        )
    }

    fn links_script(p: &ServiceParams, enable: bool) -> String {
        let name = p.name.clone().unwrap_or_default();
        let n = q(&name);
        let rc = q(&p.rc_dir);
        let rel = if p.custom_dirs {
            q(&format!("{}/{}", p.initd_dir, name))
        } else {
            q(&format!("../init.d/{name}"))
        };
        if !p.custom_dirs {
            let verb = if enable { "enable" } else { "disable" };
            let pre = if enable {
                format!("update-rc.d {n} defaults >/dev/null && ")
            } else {
                String::new()
            };
            return format!(
                "if command -v update-rc.d >/dev/null 2>&1; then {pre}update-rc.d {n} {verb}; exit $?; fi; {}",
                Self::manual_links(&rc, &n, &rel, enable)
            );
        }
        Self::manual_links(&rc, &n, &rel, enable)
    }

    /// Make (or switch) the rc links by hand: `S01NAME` in rc2..5 to enable, `K01NAME` to disable.
    fn manual_links(rc: &str, n: &str, rel: &str, enable: bool) -> String {
        let (from, to) = if enable { ("K", "S") } else { ("S", "K") };
        format!(
            "set -e; for l in 2 3 4 5; do d={rc}/rc$l.d; mkdir -p \"$d\"; found=; \
             for f in \"$d\"/{from}[0-9][0-9]{n}; do [ -e \"$f\" ] || [ -L \"$f\" ] || continue; \
             b=$(basename \"$f\"); mv -f \"$f\" \"$d/{to}${{b#?}}\"; found=1; done; \
             if [ -z \"$found\" ] && ! ls \"$d\"/{to}[0-9][0-9]{n} >/dev/null 2>&1; then ln -s {rel} \"$d/{to}01\"{n}; fi; done"
        )
    }

    fn apply(
        p: &ServiceParams,
        st: &ServiceState,
        plan: &Plan<ServiceAction>,
        target: &dyn Target,
    ) -> Result<Map<String, Value>, ModuleError> {
        let name = p.name.clone().unwrap_or_default();
        let mut data = Map::new();
        let mut outputs = String::new();
        for a in &plan.actions {
            let script = match st.manager {
                Manager::Systemd => {
                    let verb = match a {
                        ServiceAction::Unmask => "unmask",
                        ServiceAction::Mask => "mask",
                        ServiceAction::Enable => "enable",
                        ServiceAction::Disable => "disable",
                        ServiceAction::Start => "start",
                        ServiceAction::Stop => "stop",
                        ServiceAction::Restart => "restart",
                        ServiceAction::Reload => "reload",
                    };
                    let mut flags = String::new();
                    if p.no_block {
                        flags.push_str(" --no-block");
                    }
                    if p.force && matches!(a, ServiceAction::Enable | ServiceAction::Mask) {
                        flags.push_str(" --force");
                    }
                    format!("{}{flags} {verb} -- {}", Self::systemctl(p), q(&name))
                }
                Manager::Sysv => match a {
                    ServiceAction::Enable => Self::links_script(p, true),
                    ServiceAction::Disable => Self::links_script(p, false),
                    ServiceAction::Start => Self::sysv_cmd(p, "start"),
                    ServiceAction::Stop => Self::sysv_cmd(p, "stop"),
                    ServiceAction::Reload => Self::sysv_cmd(p, "reload"),
                    ServiceAction::Restart => match p.sleep {
                        Some(secs) => format!(
                            "( {} ); sleep {secs}; {}",
                            Self::sysv_cmd(p, "stop"),
                            Self::sysv_cmd(p, "start")
                        ),
                        None => Self::sysv_cmd(p, "restart"),
                    },
                    ServiceAction::Mask | ServiceAction::Unmask => {
                        return Err(ModuleError::Failed("masked needs systemd".into()))
                    }
                },
            };
            let out = sh(target, &script)?;
            outputs.push_str(&out.stdout_str());
            if !out.success() {
                return Err(ModuleError::Failed(format!(
                    "Unable to {} service {name} (rc {}): {}",
                    format!("{a:?}").to_lowercase(),
                    out.rc,
                    err_text(&out)
                )));
            }
        }
        if !outputs.is_empty() {
            data.insert("stdout".into(), outputs.into());
        }
        Ok(data)
    }
}

impl Module for ServiceModule {
    fn name(&self) -> &'static str {
        self.module_name
    }
    fn spec(&self) -> &'static [ArgSpec] {
        if self.systemd {
            SYSTEMD_SPEC
        } else {
            SERVICE_SPEC
        }
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = self.parse(args)?;
        let out = sh(target, &Self::inspect_script(&p))?;
        let st = parse_inspect(&out.stdout_str());
        if st.manager == Manager::Systemd && !mode.check {
            // Reloading unit files is not a change of state (as in Ansible) and must happen
            // before the unit is looked at again.
            let sc = Self::systemctl(&p);
            for (wanted, verb) in [
                (p.daemon_reexec, "daemon-reexec"),
                (p.daemon_reload, "daemon-reload"),
            ] {
                if wanted {
                    let o = sh(target, &format!("{sc} {verb}"))?;
                    if !o.success() {
                        return Err(ModuleError::Failed(format!(
                            "{verb} failed: {}",
                            err_text(&o)
                        )));
                    }
                }
            }
        }
        let st = if st.manager == Manager::Systemd
            && (p.daemon_reload || p.daemon_reexec)
            && !mode.check
        {
            parse_inspect(&sh(target, &Self::inspect_script(&p))?.stdout_str())
        } else {
            st
        };
        if mode.check && !st.found() {
            if let Some(name) = &p.name {
                // Often an earlier task of the same run installs it: a dry run cannot know.
                return Ok(Outcome::skipped(format!(
                    "service {name} is not installed (yet): check mode cannot tell what starting it would do"
                )));
            }
        }
        let plan = Self::plan(&p, &st)?;
        finish(plan, mode, |plan| Self::apply(&p, &st, plan, target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(systemd: bool, v: Value) -> ServiceParams {
        ServiceModule {
            module_name: "x",
            systemd,
        }
        .parse(v.as_object().unwrap())
        .unwrap()
    }

    #[test]
    fn parses_systemd_inspect() {
        let st = parse_inspect(
            "manager=systemd\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nis_enabled_rc=0\n",
        );
        assert_eq!(st.manager, Manager::Systemd);
        assert!(st.running() && st.enabled() && st.found() && !st.masked());
        let st = parse_inspect(
            "manager=systemd\nLoadState=not-found\nActiveState=inactive\nis_enabled_rc=1\n",
        );
        assert!(!st.found());
        let st = parse_inspect("manager=systemd\nLoadState=masked\nActiveState=inactive\nUnitFileState=masked\nis_enabled_rc=1\n");
        assert!(st.found() && st.masked());
    }

    #[test]
    fn parses_sysv_inspect() {
        let st =
            parse_inspect("manager=sysv\nscript=yes\nstatus_rc=3\nstart_link=/etc/rc2.d/S01ssh\n");
        assert_eq!(st.manager, Manager::Sysv);
        assert!(!st.running());
        assert!(st.enabled());
        let st = parse_inspect("manager=sysv\nscript=yes\nstatus_rc=0\npattern_checked=yes\n");
        assert_eq!(st.pattern_found, Some(false));
        assert!(!st.running());
    }

    #[test]
    fn plans() {
        let running = parse_inspect("manager=sysv\nscript=yes\nstatus_rc=0\n");
        let stopped = parse_inspect("manager=sysv\nscript=yes\nstatus_rc=3\n");
        let p = params(false, json!({"name": "ssh", "state": "started"}));
        assert!(ServiceModule::plan(&p, &running).unwrap().is_noop());
        assert_eq!(
            ServiceModule::plan(&p, &stopped).unwrap().actions,
            vec![ServiceAction::Start]
        );
        let p = params(false, json!({"name": "ssh", "state": "restarted"}));
        assert_eq!(
            ServiceModule::plan(&p, &running).unwrap().actions,
            vec![ServiceAction::Restart]
        );
        let p = params(false, json!({"name": "ssh", "state": "reloaded"}));
        assert_eq!(
            ServiceModule::plan(&p, &stopped).unwrap().actions,
            vec![ServiceAction::Start]
        );
        assert_eq!(
            ServiceModule::plan(&p, &running).unwrap().actions,
            vec![ServiceAction::Reload]
        );
        let p = params(
            false,
            json!({"name": "ssh", "state": "stopped", "enabled": true}),
        );
        let plan = ServiceModule::plan(&p, &running).unwrap();
        assert_eq!(
            plan.actions,
            vec![ServiceAction::Enable, ServiceAction::Stop]
        );
        assert_eq!(
            plan.diffs[0].before,
            "name: ssh\nstate: started\nenabled: false\n"
        );
        assert_eq!(
            plan.diffs[0].after,
            "name: ssh\nstate: stopped\nenabled: true\n"
        );
        let missing = parse_inspect("manager=sysv\nscript=no\n");
        assert!(ServiceModule::plan(&p, &missing).is_err());
        let p = params(true, json!({"name": "ssh", "masked": true}));
        assert!(ServiceModule::plan(&p, &running).is_err());
    }

    #[test]
    fn args() {
        let m = ServiceModule {
            module_name: "systemd",
            systemd: true,
        };
        assert!(m
            .parse(json!({"daemon_reload": true}).as_object().unwrap())
            .is_ok());
        assert!(m
            .parse(json!({"state": "started"}).as_object().unwrap())
            .is_err());
        let s = ServiceModule {
            module_name: "service",
            systemd: false,
        };
        assert!(s
            .parse(json!({"state": "started"}).as_object().unwrap())
            .is_err());
        let p = params(false, json!({"name": "x", "_initd_dir": "/tmp/i"}));
        assert!(p.force_sysv && p.custom_dirs);
        assert_eq!(p.initd_dir, "/tmp/i");
    }

    #[test]
    fn pattern_quote_never_contains_the_pattern() {
        let s = split_quote("nginx: master");
        assert!(!s.contains("nginx: master"));
        assert_eq!(s, "'nginx:'' master'");
        assert_eq!(split_quote("a"), "'a'");
    }
}
