//! Magic variables beyond the basic ones `play.rs` sets: `ansible_config_file`,
//! `ansible_playbook_python`, the role lists (`ansible_role_names`, `role_names`,
//! `ansible_play_role_names`), and the connection variables Ansible always defines
//! (`ansible_connection` when the inventory does not set it), which stay overridable.

use super::RunOptions;
use crate::playbook::Play;
use serde_json::{json, Map, Value};

/// Reserved key carrying the default `ansible_connection` from the play to [`apply_defaults`].
const CONNECTION_DEFAULT: &str = "__converge_connection_default";

/// Add the play-wide magic variables.
pub fn add_play_magic(magic: &mut Map<String, Value>, play: &Play, opts: &RunOptions) {
    let config = crate::settings::get()
        .config_file
        .as_ref()
        .map(|p| json!(p.display().to_string()));
    magic.insert("ansible_config_file".into(), config.unwrap_or(Value::Null));
    magic.insert(
        "ansible_playbook_python".into(),
        json!(std::env::var("CONVERGE_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into())),
    );
    let roles = play_roles(play);
    magic.insert("ansible_role_names".into(), json!(roles));
    magic.insert("role_names".into(), json!(roles));
    magic.insert("ansible_play_role_names".into(), json!(roles));
    magic.insert("ansible_dependent_role_names".into(), json!([]));
    let connection = play
        .connection
        .clone()
        .or_else(|| opts.defaults.connection.clone())
        .unwrap_or_else(|| "ssh".into());
    magic.insert(CONNECTION_DEFAULT.into(), json!(connection));
}

/// The roles of the play's `roles:` section (and their dependencies), in order.
fn play_roles(play: &Play) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for t in &play.role_tasks {
        if let Some(r) = &t.origin.role {
            if !names.contains(r) {
                names.push(r.clone());
            }
        }
    }
    names
}

/// Turn the reserved defaults into variables where nothing else set them.
pub fn apply_defaults(vars: &mut Map<String, Value>) {
    if let Some(conn) = vars.remove(CONNECTION_DEFAULT) {
        vars.entry("ansible_connection").or_insert(conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_default_yields_to_inventory() {
        let mut v = Map::new();
        v.insert(CONNECTION_DEFAULT.into(), json!("ssh"));
        apply_defaults(&mut v);
        assert_eq!(v["ansible_connection"], "ssh");
        assert!(!v.contains_key(CONNECTION_DEFAULT));
        let mut v = Map::new();
        v.insert("ansible_connection".into(), json!("local"));
        v.insert(CONNECTION_DEFAULT.into(), json!("ssh"));
        apply_defaults(&mut v);
        assert_eq!(v["ansible_connection"], "local");
    }
}
