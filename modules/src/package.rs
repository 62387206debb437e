//! `package`: the distribution-neutral package module. Playbooks use it so that one task works on
//! any host; converge finds the host's package manager (`use: auto`) with one `command -v` and
//! hands the task to the matching module. Only apt is implemented: dnf, yum, apk, zypper and
//! pacman are recognised and reported as "not yet supported by converge (found dnf)" rather than
//! failing with an obscure error further down.

use crate::apt::AptModule;
use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::contract::{Module, ModuleError, Outcome, RunMode};
use crate::sysutil::{find_program_snippet, sh};
use crate::target::Target;
use serde_json::Value;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::List)
        .required()
        .aliases(&["pkg"]),
    ArgSpec::new("state", ArgKind::Str),
    ArgSpec::new("use", ArgKind::Str),
    // Passed through to the backend, as Ansible does.
    ArgSpec::new("update_cache", ArgKind::Bool),
    ArgSpec::new("cache_valid_time", ArgKind::Int),
    ArgSpec::new("install_recommends", ArgKind::Bool),
    ArgSpec::new("purge", ArgKind::Bool),
    ArgSpec::new("autoremove", ArgKind::Bool),
    ArgSpec::new("default_release", ArgKind::Str),
    // dnf/yum options that cross-platform roles pass as `x | default(omit, true)`: known names, so a
    // task written for several families loads; a value that reaches apt is refused there.
    ArgSpec::new("enablerepo", ArgKind::List),
    ArgSpec::new("disablerepo", ArgKind::List),
];

/// Package managers `use: auto` recognises, in the order they are probed (the `command -v`
/// name and the manager's name).
pub const MANAGERS: &[(&str, &str)] = &[
    ("apt-get", "apt"),
    ("dnf5", "dnf5"),
    ("dnf", "dnf"),
    ("yum", "yum"),
    ("apk", "apk"),
    ("zypper", "zypper"),
    ("pacman", "pacman"),
];

/// The manager for the first program found (`apt-get` → `apt`).
pub fn manager_for(program: &str) -> Option<&'static str> {
    MANAGERS
        .iter()
        .find(|(p, _)| *p == program)
        .map(|(_, m)| *m)
}

/// The `package` module.
pub struct PackageModule;

impl Module for PackageModule {
    fn name(&self) -> &'static str {
        "package"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let wanted = p.str_or("use", "auto");
        let manager = if wanted == "auto" {
            let programs: Vec<&str> = MANAGERS.iter().map(|(p, _)| *p).collect();
            let script = format!(
                "{} printf '%s' \"$found\"",
                find_program_snippet("found", &programs)
            );
            let out = sh(target, &script)?;
            let found = out.stdout_str().trim().to_string();
            match manager_for(&found) {
                Some(m) => m.to_string(),
                None => {
                    return Err(ModuleError::Failed(
                        "could not detect the host's package manager (none of apt-get, dnf, yum, apk, zypper, pacman found)".into(),
                    ))
                }
            }
        } else {
            wanted
        };
        if manager != "apt" {
            return Err(ModuleError::Failed(format!(
                "package manager `{manager}` is not yet supported by converge (found {manager}); only apt is"
            )));
        }
        let mut apt_args = Args::new();
        for (k, v) in args {
            if k == "use" || k.starts_with('_') {
                continue;
            }
            apt_args.insert(k.clone(), v.clone());
        }
        let state = p.str_or("state", "present");
        if !["present", "absent", "latest", "installed", "removed"].contains(&state.as_str()) {
            return Err(ArgError::new(
                Some("state"),
                format!("value `{state}` is not one of: present, absent, latest"),
            )
            .into());
        }
        let ap = AptModule::parse(&apt_args)?;
        let mut out = AptModule::run_params(&ap, target, mode)?;
        out.data.insert(
            "ansible_facts".into(),
            serde_json::json!({"pkg_mgr": "apt"}),
        );
        out.data.insert("use".into(), Value::String(manager));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers() {
        assert_eq!(manager_for("apt-get"), Some("apt"));
        assert_eq!(manager_for("dnf"), Some("dnf"));
        assert_eq!(manager_for("x"), None);
    }

    #[test]
    fn dnf_repo_options_are_known_names() {
        // geerlingguy.git and .redis: `enablerepo: "{{ x | default(omit, true) }}"`.
        let args: Args = serde_json::from_value(serde_json::json!(
            {"name": "git", "state": "present", "enablerepo": "epel", "disablerepo": ["x"]}
        ))
        .expect("args");
        assert!(crate::args::check_names(SPEC, &args).is_empty());
    }

    #[test]
    fn a_repo_option_that_reaches_apt_is_refused() {
        let args: Args = serde_json::from_value(serde_json::json!(
            {"name": "git", "state": "present", "enablerepo": "epel"}
        ))
        .expect("args");
        assert!(AptModule::parse(&args).is_err());
    }
}
