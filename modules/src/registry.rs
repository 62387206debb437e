//! Every module the engine can call, by name (short and `ansible.builtin.` / FQCN forms).

use crate::contract::Module;

/// All modules of this crate.
pub fn all() -> Vec<&'static dyn Module> {
    vec![]
}

/// Find a module by the name a playbook uses. Accepts `copy`, `ansible.builtin.copy`,
/// `ansible.legacy.copy` and `community.docker.docker_container` style names.
pub fn find(name: &str) -> Option<&'static dyn Module> {
    let short = name.rsplit('.').next().unwrap_or(name);
    all().into_iter().find(|m| m.name() == short)
}
