//! Ansible's configuration, for the settings converge has: the first `ansible.cfg` found where
//! Ansible looks (`ANSIBLE_CONFIG`, `./ansible.cfg`, `~/.ansible.cfg`,
//! `/etc/ansible/ansible.cfg`), then the `ANSIBLE_*` environment variables, which win. Users
//! arrive with these files; a project whose `ansible.cfg` sets `roles_path` or `inventory`
//! should run under converge as it does under `ansible-playbook`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// The file the settings came from, if any (`ansible_config_file`).
    pub config_file: Option<PathBuf>,
    pub inventory: Vec<String>,
    pub roles_path: Vec<PathBuf>,
    pub remote_user: Option<String>,
    pub private_key_file: Option<String>,
    pub host_key_checking: Option<bool>,
    pub forks: Option<usize>,
    pub timeout: Option<u64>,
    pub r#become: Option<bool>,
    pub become_method: Option<String>,
    pub become_user: Option<String>,
    pub private_role_vars: bool,
}

/// The settings of this process, read once.
pub fn get() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let file = config_file(&env);
        let text = file.as_ref().and_then(|f| std::fs::read_to_string(f).ok());
        read(file, text.as_deref().unwrap_or(""), &env)
    })
}

/// `private_role_vars`: a role's vars stay with its own tasks (Ansible's default is to export).
pub fn private_role_vars() -> bool {
    get().private_role_vars
}

/// Where roles are looked for after the playbook's own `roles/`: `roles_path`, then Ansible's
/// default places.
pub fn role_dirs() -> Vec<PathBuf> {
    let mut dirs = get().roles_path.clone();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".ansible/roles"));
    }
    dirs.push(PathBuf::from("/usr/share/ansible/roles"));
    dirs.push(PathBuf::from("/etc/ansible/roles"));
    dirs
}

fn config_file(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(p) = env("ANSIBLE_CONFIG") {
        let p = PathBuf::from(p);
        candidates.push(if p.is_dir() { p.join("ansible.cfg") } else { p });
    }
    candidates.push(PathBuf::from("ansible.cfg"));
    if let Some(home) = env("HOME") {
        candidates.push(Path::new(&home).join(".ansible.cfg"));
    }
    candidates.push(PathBuf::from("/etc/ansible/ansible.cfg"));
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .map(|p| std::path::absolute(&p).unwrap_or(p))
}

/// The settings from a config file's text and the environment (which wins).
pub fn read(file: Option<PathBuf>, text: &str, env: &dyn Fn(&str) -> Option<String>) -> Settings {
    let base = file
        .as_ref()
        .and_then(|f| f.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let ini = parse_ini(text);
    // (section, key, environment variable)
    let get = |section: &str, key: &str, var: &str| -> Option<String> {
        env(var).or_else(|| {
            ini.iter()
                .find(|(s, k, _)| s == section && k == key)
                .map(|(_, _, v)| v.clone())
        })
    };
    let path_list = |v: String, sep: char| -> Vec<PathBuf> {
        v.split(sep)
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| expand_path(p, &base))
            .collect()
    };
    Settings {
        inventory: get("defaults", "inventory", "ANSIBLE_INVENTORY")
            .or_else(|| get("defaults", "hostfile", "ANSIBLE_HOSTS"))
            .map(|v| {
                path_list(v, ',')
                    .into_iter()
                    .map(|p| p.display().to_string())
                    .collect()
            })
            .unwrap_or_default(),
        roles_path: get("defaults", "roles_path", "ANSIBLE_ROLES_PATH")
            .map(|v| path_list(v, ':'))
            .unwrap_or_default(),
        remote_user: get("defaults", "remote_user", "ANSIBLE_REMOTE_USER"),
        private_key_file: get("defaults", "private_key_file", "ANSIBLE_PRIVATE_KEY_FILE")
            .map(|p| expand_path(&p, &base).display().to_string()),
        host_key_checking: get("defaults", "host_key_checking", "ANSIBLE_HOST_KEY_CHECKING")
            .and_then(|v| boolean(&v)),
        forks: get("defaults", "forks", "ANSIBLE_FORKS").and_then(|v| v.trim().parse().ok()),
        timeout: get("defaults", "timeout", "ANSIBLE_TIMEOUT").and_then(|v| v.trim().parse().ok()),
        r#become: get("privilege_escalation", "become", "ANSIBLE_BECOME").and_then(|v| boolean(&v)),
        become_method: get(
            "privilege_escalation",
            "become_method",
            "ANSIBLE_BECOME_METHOD",
        ),
        become_user: get("privilege_escalation", "become_user", "ANSIBLE_BECOME_USER"),
        private_role_vars: get("defaults", "private_role_vars", "ANSIBLE_PRIVATE_ROLE_VARS")
            .and_then(|v| boolean(&v))
            .unwrap_or(false),
        config_file: file,
    }
}

/// `[section]` / `key = value` lines; `#` and `;` start comments.
fn parse_ini(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.trim().to_string();
        } else if let Some((k, v)) = line.split_once('=').or_else(|| line.split_once(':')) {
            let v = v
                .split(" #")
                .next()
                .unwrap_or(v)
                .split(" ;")
                .next()
                .unwrap_or(v);
            out.push((section.clone(), k.trim().to_string(), unquote(v.trim())));
        }
    }
    out
}

fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    v.to_string()
}

/// Ansible's truthy spellings; an empty value says nothing.
fn boolean(v: &str) -> Option<bool> {
    if v.trim().is_empty() {
        return None;
    }
    converge_modules::args::to_bool(&serde_json::Value::String(v.to_string()))
}

/// `~` is the home directory; a relative path is relative to the config file's directory.
fn expand_path(p: &str, base: &Path) -> PathBuf {
    let p = match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(p),
    };
    if p.is_absolute() || base.as_os_str().is_empty() {
        p
    } else {
        base.join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn reads_the_settings_converge_has() {
        let cfg = "[defaults]\ninventory = hosts.ini\nroles_path = roles:/opt/roles\n\
                   remote_user = deploy\nhost_key_checking = False\nforks = 7 # fast\n\
                   private_role_vars = yes\n\n[privilege_escalation]\nbecome = True\nbecome_user = admin\n";
        let s = read(Some(PathBuf::from("/proj/ansible.cfg")), cfg, &no_env);
        assert_eq!(s.inventory, ["/proj/hosts.ini"]);
        assert_eq!(
            s.roles_path,
            [PathBuf::from("/proj/roles"), PathBuf::from("/opt/roles")]
        );
        assert_eq!(s.remote_user.as_deref(), Some("deploy"));
        assert_eq!(s.host_key_checking, Some(false));
        assert_eq!(s.forks, Some(7));
        assert!(s.private_role_vars);
        assert_eq!(s.r#become, Some(true));
        assert_eq!(s.become_user.as_deref(), Some("admin"));
    }

    #[test]
    fn environment_wins_over_the_file() {
        let env = |k: &str| match k {
            "ANSIBLE_REMOTE_USER" => Some("ops".to_string()),
            "ANSIBLE_ROLES_PATH" => Some("/a:/b".to_string()),
            _ => None,
        };
        let s = read(None, "[defaults]\nremote_user = deploy\n", &env);
        assert_eq!(s.remote_user.as_deref(), Some("ops"));
        assert_eq!(s.roles_path, [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert!(!s.private_role_vars);
    }
}
