//! `sysctl`: kernel parameters, persisted in a sysctl file and optionally set live — Docker hosts
//! need `net.ipv4.ip_forward`, `vm.max_map_count` and friends. `ansible.posix.sysctl`'s options.
//!
//! Inspect is one command: `sysctl -n NAME` (the live value) and the file's content. Plan follows
//! Ansible's decisions: the file is rewritten when its value (the last `NAME = value` line)
//! differs or is missing; with `sysctl_set` the live value is set with `sysctl -w` when it
//! differs; with `reload` (default) a change — or a live value that differs — triggers
//! `sysctl -p FILE`. Values compare word by word (`4096 87380` equals `4096\t87380`). Unlike
//! Ansible, the other lines of the file are kept exactly as they were (Ansible re-spaces every
//! `key = value` line); the first line of the key is replaced in place and later duplicates are
//! dropped, so the file says one thing.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::contract::{Converge, Diff, ModuleError, Plan};
use crate::sysutil::{err_text, q, same_words, sections, sh, SECTION};
use crate::target::{Command, FileAttrs, Target};
use serde_json::Value;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str)
        .required()
        .aliases(&["key"]),
    ArgSpec::new("value", ArgKind::Raw).aliases(&["val"]),
    ArgSpec::new("state", ArgKind::Str).choices(&["present", "absent"]),
    ArgSpec::new("reload", ArgKind::Bool),
    ArgSpec::new("sysctl_file", ArgKind::Str),
    ArgSpec::new("sysctl_set", ArgKind::Bool),
    ArgSpec::new("ignoreerrors", ArgKind::Bool),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlParams {
    pub name: String,
    pub value: Option<String>,
    pub present: bool,
    pub reload: bool,
    pub file: String,
    pub set: bool,
    pub ignoreerrors: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlState {
    /// `sysctl -n NAME`, `None` when the key does not exist.
    pub live: Option<String>,
    /// The file's content, `None` when it does not exist.
    pub file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SysctlAction {
    WriteFile(String),
    SetLive(String),
    Reload,
}

/// The value the file gives `name` (its last assignment), as Ansible reads sysctl files: lines
/// starting with `#` or `;` and lines without `=` are ignored.
pub fn file_value(content: &str, name: &str) -> Option<String> {
    let mut v = None;
    for line in content.lines() {
        if let Some((k, val)) = entry(line) {
            if k == name {
                v = Some(val.to_string());
            }
        }
    }
    v
}

fn entry(line: &str) -> Option<(&str, &str)> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
        return None;
    }
    t.split_once('=').map(|(k, v)| (k.trim(), v.trim()))
}

/// The file with `name` set to `value` (`None`: removed).
pub fn edit_file(content: &str, name: &str, value: Option<&str>) -> String {
    let mut out = String::new();
    let mut done = false;
    for line in content.split_inclusive('\n') {
        match entry(line) {
            Some((k, _)) if k == name => {
                if let (Some(v), false) = (value, done) {
                    out.push_str(&format!("{name}={v}\n"));
                }
                done = true;
            }
            _ => out.push_str(line),
        }
    }
    if let (Some(v), false) = (value, done) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("{name}={v}\n"));
    }
    out
}

/// The `sysctl` module.
pub struct SysctlModule;

impl Converge for SysctlModule {
    type Params = SysctlParams;
    type State = SysctlState;
    type Action = SysctlAction;

    fn name(&self) -> &'static str {
        "sysctl"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn params(&self, args: &Args) -> Result<SysctlParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let name = p.req_str("name")?.trim().to_string();
        if name.is_empty() || name.starts_with('-') || name.contains(char::is_whitespace) {
            return Err(ArgError::new(Some("name"), format!("invalid key `{name}`")).into());
        }
        let value = p.raw("value").filter(|v| !v.is_null()).map(|v| match v {
            Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
            Value::String(s) => s.trim().to_string(),
            other => other.to_string(),
        });
        let present = p.str_or("state", "present") == "present";
        if present && value.is_none() {
            return Err(ArgError::new(Some("value"), "is required with state=present").into());
        }
        Ok(SysctlParams {
            name,
            value,
            present,
            reload: p.bool_or("reload", true),
            file: p.str_or("sysctl_file", "/etc/sysctl.conf"),
            set: p.bool_or("sysctl_set", false),
            ignoreerrors: p.bool_or("ignoreerrors", false),
        })
    }
    fn inspect(&self, p: &SysctlParams, target: &dyn Target) -> Result<SysctlState, ModuleError> {
        let f = q(&p.file);
        let script = format!(
            "if v=$(sysctl -n {} 2>/dev/null); then printf 'live=%s\\n' \"$v\"; else echo nolive; fi; echo {SECTION}; \
             if [ -f {f} ]; then echo exists; cat -- {f}; else echo missing; fi",
            q(&p.name)
        );
        let out = sh(target, &script)?;
        let text = out.stdout_str();
        let secs = sections(&text);
        let head = secs.first().cloned().unwrap_or_default();
        let live = head
            .strip_prefix("live=")
            .map(|v| v.trim_end_matches('\n').to_string());
        let body = secs.get(1).cloned().unwrap_or_default();
        let file = body.strip_prefix("exists\n").map(str::to_string);
        if file.is_none() && !body.starts_with("missing") {
            return Err(ModuleError::Failed(format!(
                "cannot read {}: {}",
                p.file,
                err_text(&out)
            )));
        }
        Ok(SysctlState { live, file })
    }
    fn plan(&self, p: &SysctlParams, st: &SysctlState) -> Result<Plan<SysctlAction>, ModuleError> {
        let mut plan = Plan::nothing();
        let current = st.file.as_deref().unwrap_or("");
        let fv = file_value(current, &p.name);
        let want = p.value.as_deref();
        let mut changed = false;
        let write = if p.present {
            fv.as_deref()
                .is_none_or(|v| !same_words(v, want.unwrap_or("")))
        } else {
            fv.is_some()
        };
        if write {
            let new = edit_file(current, &p.name, if p.present { want } else { None });
            if new != current || st.file.is_none() {
                plan.diffs.push(Diff::new(&p.file, current, new.clone()));
                plan.actions.push(SysctlAction::WriteFile(new));
            }
            changed = true;
        }
        let live_differs = p.present
            && st
                .live
                .as_deref()
                .is_none_or(|l| !same_words(l, want.unwrap_or("")));
        if p.set && live_differs {
            plan.actions
                .push(SysctlAction::SetLive(want.unwrap_or("").to_string()));
            changed = true;
        }
        if p.reload && (changed || live_differs) {
            if live_differs {
                plan.diffs.push(Diff::new(
                    &format!("sysctl {}", p.name),
                    st.live
                        .clone()
                        .map(|l| format!("{l}\n"))
                        .unwrap_or_default(),
                    format!("{}\n", want.unwrap_or("")),
                ));
            }
            plan.actions.push(SysctlAction::Reload);
        } else if p.set && live_differs {
            plan.diffs.push(Diff::new(
                &format!("sysctl {}", p.name),
                st.live
                    .clone()
                    .map(|l| format!("{l}\n"))
                    .unwrap_or_default(),
                format!("{}\n", want.unwrap_or("")),
            ));
        }
        plan.data.insert("name".into(), p.name.clone().into());
        if let Some(v) = want {
            plan.data.insert("value".into(), v.into());
        }
        plan.data
            .insert("sysctl_file".into(), p.file.clone().into());
        Ok(plan)
    }
    fn apply(
        &self,
        p: &SysctlParams,
        plan: &Plan<SysctlAction>,
        target: &dyn Target,
    ) -> Result<(), ModuleError> {
        for a in &plan.actions {
            match a {
                SysctlAction::WriteFile(content) => {
                    let attrs = FileAttrs {
                        mode: if target.stat(&p.file)?.is_none() {
                            Some(0o644)
                        } else {
                            None
                        },
                        ..FileAttrs::default()
                    };
                    target.write_file(&p.file, content.as_bytes(), &attrs)?;
                }
                SysctlAction::SetLive(v) => {
                    let out = target.run(&Command::argv([
                        "sysctl".to_string(),
                        "-w".into(),
                        format!("{}={v}", p.name),
                    ]))?;
                    if !out.success() {
                        return Err(ModuleError::Failed(format!(
                            "setting {}={v} failed: {}",
                            p.name,
                            err_text(&out)
                        )));
                    }
                }
                SysctlAction::Reload => {
                    let mut argv = vec!["sysctl".to_string()];
                    if p.ignoreerrors {
                        argv.push("-e".into());
                    }
                    argv.extend(["-p".to_string(), p.file.clone()]);
                    let out = target.run(&Command::argv(argv))?;
                    // sysctl -p exits non-zero when any key of the file fails; Ansible fails
                    // only when stderr says so and ignoreerrors is off.
                    if !out.success() && !p.ignoreerrors {
                        return Err(ModuleError::Failed(format!(
                            "Failed to reload sysctl: {}",
                            err_text(&out)
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> SysctlParams {
        SysctlModule.params(v.as_object().unwrap()).unwrap()
    }

    const CONF: &str =
        "# comment\nvm.swappiness = 10\n; other\nnet.ipv4.ip_forward=0\nvm.swappiness=20\n";

    #[test]
    fn reads_and_edits_files() {
        assert_eq!(file_value(CONF, "vm.swappiness").as_deref(), Some("20"));
        assert_eq!(
            file_value(CONF, "net.ipv4.ip_forward").as_deref(),
            Some("0")
        );
        assert_eq!(file_value("# vm.x=1\n", "vm.x"), None);
        assert_eq!(
            edit_file(CONF, "vm.swappiness", Some("5")),
            "# comment\nvm.swappiness=5\n; other\nnet.ipv4.ip_forward=0\n"
        );
        assert_eq!(edit_file("a=1", "b", Some("2")), "a=1\nb=2\n");
        assert_eq!(edit_file("", "b", Some("2")), "b=2\n");
        assert_eq!(
            edit_file(CONF, "vm.swappiness", None),
            "# comment\n; other\nnet.ipv4.ip_forward=0\n"
        );
    }

    #[test]
    fn plans() {
        let st = SysctlState {
            live: Some("0".into()),
            file: Some(CONF.into()),
        };
        let p = params(
            json!({"name": "net.ipv4.ip_forward", "value": true, "sysctl_set": true, "reload": false}),
        );
        let plan = SysctlModule.plan(&p, &st).unwrap();
        assert!(
            matches!(&plan.actions[..], [SysctlAction::WriteFile(_), SysctlAction::SetLive(v)] if v == "1")
        );
        let st2 = SysctlState {
            live: Some("1".into()),
            file: Some(edit_file(CONF, "net.ipv4.ip_forward", Some("1"))),
        };
        assert!(SysctlModule.plan(&p, &st2).unwrap().is_noop());
        // reload with a stale live value is a change even when the file is right.
        let p = params(json!({"name": "net.ipv4.ip_forward", "value": "1"}));
        let st3 = SysctlState {
            live: Some("0".into()),
            file: st2.file.clone(),
        };
        assert_eq!(
            SysctlModule.plan(&p, &st3).unwrap().actions,
            vec![SysctlAction::Reload]
        );
        // Whitespace in values.
        let p = params(
            json!({"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456", "reload": false}),
        );
        let st4 = SysctlState {
            live: None,
            file: Some("net.ipv4.tcp_rmem = 4096\t87380 6291456\n".into()),
        };
        assert!(SysctlModule.plan(&p, &st4).unwrap().is_noop());
        // Absent.
        let p = params(json!({"name": "vm.swappiness", "state": "absent", "reload": false}));
        assert_eq!(SysctlModule.plan(&p, &st).unwrap().actions.len(), 1);
        assert!(SysctlModule
            .params(json!({"name": "x"}).as_object().unwrap())
            .is_err());
    }
}
