//! `modprobe`: load or unload a kernel module and make it persistent (`community.general.modprobe`)
//! — Docker hosts need `overlay` and `br_netfilter` before the daemon starts.
//!
//! Inspect is one command: `/proc/modules` (is it loaded? names compare with `-` and `_` as the
//! same), `modules.builtin` of the running kernel (built-in modules are always "present"), and
//! the two files converge manages for persistence: `/etc/modules-load.d/NAME.conf` (the module
//! name, loaded at boot) and `/etc/modprobe.d/NAME.conf` (`options NAME params`).
//! `persistent: present` writes them, `absent` removes them, `disabled` (default) leaves them.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::contract::{Converge, Diff, ModuleError, Plan};
use crate::sysutil::{err_text, q, sections, sh, SECTION};
use crate::target::{Command, FileAttrs, Target};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str).required(),
    ArgSpec::new("state", ArgKind::Str).choices(&["present", "absent"]),
    ArgSpec::new("params", ArgKind::Str),
    ArgSpec::new("persistent", ArgKind::Str).choices(&["present", "absent", "disabled"]),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModprobeParams {
    pub name: String,
    pub present: bool,
    pub params: String,
    pub persistent: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModprobeState {
    pub loaded: bool,
    pub builtin: bool,
    pub load_conf: Option<String>,
    pub options_conf: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModprobeAction {
    Load,
    Unload,
    Write { path: String, content: String },
    Remove(String),
}

/// Whether `/proc/modules` lists the module (`-` and `_` are the same in module names).
pub fn is_loaded(proc_modules: &str, name: &str) -> bool {
    let norm = |s: &str| s.replace('-', "_");
    let want = norm(name);
    proc_modules
        .lines()
        .any(|l| l.split_whitespace().next().is_some_and(|m| norm(m) == want))
}

/// Whether `modules.builtin` (paths such as `kernel/fs/overlayfs/overlay.ko`) lists the module.
pub fn is_builtin(modules_builtin: &str, name: &str) -> bool {
    let norm = |s: &str| s.replace('-', "_");
    let want = norm(name);
    modules_builtin.lines().any(|l| {
        let base = l.rsplit('/').next().unwrap_or(l);
        let stem = base.split(".ko").next().unwrap_or(base);
        norm(stem) == want
    })
}

fn load_path(name: &str) -> String {
    format!("/etc/modules-load.d/{name}.conf")
}
fn options_path(name: &str) -> String {
    format!("/etc/modprobe.d/{name}.conf")
}

/// The `modprobe` module.
pub struct ModprobeModule;

impl Converge for ModprobeModule {
    type Params = ModprobeParams;
    type State = ModprobeState;
    type Action = ModprobeAction;

    fn name(&self) -> &'static str {
        "modprobe"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn params(&self, args: &Args) -> Result<ModprobeParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let name = p.req_str("name")?;
        if name.is_empty() || name.contains(['/', ' ']) || name.starts_with('-') {
            return Err(
                ArgError::new(Some("name"), format!("invalid module name `{name}`")).into(),
            );
        }
        Ok(ModprobeParams {
            name,
            present: p.str_or("state", "present") == "present",
            params: p.str_or("params", "").trim().to_string(),
            persistent: p.str_or("persistent", "disabled"),
        })
    }
    fn inspect(
        &self,
        p: &ModprobeParams,
        target: &dyn Target,
    ) -> Result<ModprobeState, ModuleError> {
        let script = format!(
            "cat /proc/modules 2>/dev/null; echo {SECTION}; cat \"/lib/modules/$(uname -r)/modules.builtin\" 2>/dev/null; echo {SECTION}; \
             if [ -f {l} ]; then echo exists; cat {l}; fi; echo {SECTION}; if [ -f {o} ]; then echo exists; cat {o}; fi; exit 0",
            l = q(&load_path(&p.name)),
            o = q(&options_path(&p.name)),
        );
        let out = sh(target, &script)?;
        let secs = sections(&out.stdout_str());
        let get = |i: usize| secs.get(i).cloned().unwrap_or_default();
        let file = |s: String| s.strip_prefix("exists\n").map(str::to_string);
        Ok(ModprobeState {
            loaded: is_loaded(&get(0), &p.name),
            builtin: is_builtin(&get(1), &p.name),
            load_conf: file(get(2)),
            options_conf: file(get(3)),
        })
    }
    fn plan(
        &self,
        p: &ModprobeParams,
        st: &ModprobeState,
    ) -> Result<Plan<ModprobeAction>, ModuleError> {
        let mut plan = Plan::nothing();
        let name = &p.name;
        if p.present && !st.loaded && !st.builtin {
            plan.actions.push(ModprobeAction::Load);
            plan.diffs.push(Diff::new(
                &format!("kernel module {name}"),
                "state: absent\n",
                "state: present\n",
            ));
        }
        if !p.present && st.loaded {
            plan.actions.push(ModprobeAction::Unload);
            plan.diffs.push(Diff::new(
                &format!("kernel module {name}"),
                "state: present\n",
                "state: absent\n",
            ));
        }
        if !p.present && st.builtin {
            return Err(ModuleError::Failed(format!(
                "module {name} is built into the kernel and cannot be unloaded"
            )));
        }
        match p.persistent.as_str() {
            "present" => {
                let want = format!("{name}\n");
                if st.load_conf.as_deref() != Some(want.as_str()) {
                    let path = load_path(name);
                    plan.diffs.push(Diff::new(
                        &path,
                        st.load_conf.clone().unwrap_or_default(),
                        want.clone(),
                    ));
                    plan.actions.push(ModprobeAction::Write {
                        path,
                        content: want,
                    });
                }
                if !p.params.is_empty() {
                    let want = format!("options {name} {}\n", p.params);
                    if st.options_conf.as_deref() != Some(want.as_str()) {
                        let path = options_path(name);
                        plan.diffs.push(Diff::new(
                            &path,
                            st.options_conf.clone().unwrap_or_default(),
                            want.clone(),
                        ));
                        plan.actions.push(ModprobeAction::Write {
                            path,
                            content: want,
                        });
                    }
                }
            }
            "absent" => {
                for (path, cur) in [
                    (load_path(name), &st.load_conf),
                    (options_path(name), &st.options_conf),
                ] {
                    if let Some(c) = cur {
                        plan.diffs.push(Diff::new(&path, c.clone(), ""));
                        plan.actions.push(ModprobeAction::Remove(path));
                    }
                }
            }
            _ => {}
        }
        plan.data.insert("name".into(), name.clone().into());
        plan.data.insert("params".into(), p.params.clone().into());
        plan.data.insert(
            "state".into(),
            if p.present { "present" } else { "absent" }.into(),
        );
        Ok(plan)
    }
    fn apply(
        &self,
        p: &ModprobeParams,
        plan: &Plan<ModprobeAction>,
        target: &dyn Target,
    ) -> Result<(), ModuleError> {
        for a in &plan.actions {
            match a {
                ModprobeAction::Load | ModprobeAction::Unload => {
                    let mut argv = vec!["modprobe".to_string()];
                    if *a == ModprobeAction::Unload {
                        argv.push("-r".into());
                    }
                    argv.push(p.name.clone());
                    if *a == ModprobeAction::Load {
                        argv.extend(p.params.split_whitespace().map(str::to_string));
                    }
                    let out = target.run(&Command::argv(argv))?;
                    if !out.success() {
                        return Err(ModuleError::Failed(format!(
                            "modprobe {} failed: {}",
                            p.name,
                            err_text(&out)
                        )));
                    }
                }
                ModprobeAction::Write { path, content } => {
                    let dir = crate::common::dirname(path);
                    crate::common::run_checked(
                        target,
                        &Command::argv(["mkdir", "-p", "--", &dir]),
                        &format!("creating {dir}"),
                    )?;
                    target.write_file(
                        path,
                        content.as_bytes(),
                        &FileAttrs {
                            mode: Some(0o644),
                            ..FileAttrs::default()
                        },
                    )?;
                }
                ModprobeAction::Remove(path) => {
                    crate::common::run_checked(
                        target,
                        &Command::argv(["rm", "-f", "--", path]),
                        &format!("removing {path}"),
                    )?;
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

    #[test]
    fn parses_proc_modules() {
        let pm = "br_netfilter 32768 0 - Live 0x0000000000000000\noverlay 151552 2 - Live 0x0\n";
        assert!(is_loaded(pm, "br_netfilter"));
        assert!(is_loaded(pm, "br-netfilter"));
        assert!(!is_loaded(pm, "nf_nat"));
        assert!(is_builtin(
            "kernel/fs/overlayfs/overlay.ko\nkernel/net/bridge/br-netfilter.ko\n",
            "br_netfilter"
        ));
        assert!(!is_builtin("kernel/fs/ext4/ext4.ko\n", "overlay"));
    }

    #[test]
    fn plans() {
        let p = ModprobeModule
            .params(
                json!({"name": "br_netfilter", "persistent": "present", "params": "x=1"})
                    .as_object()
                    .unwrap(),
            )
            .unwrap();
        let st = ModprobeState {
            loaded: false,
            builtin: false,
            load_conf: None,
            options_conf: None,
        };
        let plan = ModprobeModule.plan(&p, &st).unwrap();
        assert_eq!(plan.actions.len(), 3);
        let st = ModprobeState {
            loaded: true,
            builtin: false,
            load_conf: Some("br_netfilter\n".into()),
            options_conf: Some("options br_netfilter x=1\n".into()),
        };
        assert!(ModprobeModule.plan(&p, &st).unwrap().is_noop());
        let p = ModprobeModule
            .params(
                json!({"name": "br_netfilter", "state": "absent", "persistent": "absent"})
                    .as_object()
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(ModprobeModule.plan(&p, &st).unwrap().actions.len(), 3);
        let builtin = ModprobeState {
            loaded: false,
            builtin: true,
            load_conf: None,
            options_conf: None,
        };
        let p = ModprobeModule
            .params(json!({"name": "overlay"}).as_object().unwrap())
            .unwrap();
        assert!(ModprobeModule.plan(&p, &builtin).unwrap().is_noop());
    }
}
