//! Finding Ansible on the controller and a module in it: the Python that has Ansible, the
//! `library/` folders a task sees, and the module itself (through Ansible's own plugin loader,
//! so routing, `meta/runtime.yml` redirects and collections resolve exactly as in Ansible).

use super::{helper, AnsibleModule, Error, Refusal, Result};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

/// The test lab's virtualenv (`tests/setup.sh`), the last place a Python with Ansible is looked
/// for.
const PEERS_VENV: &str = "/var/cache/converge-lab/peers-venv";

/// The Python that runs the helper: `CONVERGE_ANSIBLE_PYTHON`, else a `python3` on PATH that
/// can `import ansible`, else the test virtualenv's.
pub fn ansible_python() -> Result<String> {
    let candidates = python_candidates();
    for python in &candidates {
        if imports_ansible(python) {
            return Ok(python.clone());
        }
    }
    Err(Error::NoAnsible {
        tried: candidates.join(", "),
    })
}

fn python_candidates() -> Vec<String> {
    if let Some(p) = std::env::var_os("CONVERGE_ANSIBLE_PYTHON").filter(|p| !p.is_empty()) {
        return vec![p.to_string_lossy().into_owned()];
    }
    let venv = std::env::var("CONVERGE_PEERS_VENV").unwrap_or_else(|_| PEERS_VENV.to_string());
    vec![
        "python3".to_string(),
        Path::new(&venv).join("bin/python").display().to_string(),
    ]
}

fn imports_ansible(python: &str) -> bool {
    Command::new(python)
        .args(["-c", "import ansible.executor.module_common"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The `library/` folders a task's modules may come from: its role's, the playbook's, and
/// those of every role beside the playbook or on `ANSIBLE_ROLES_PATH` (Ansible adds a role's
/// `library/` once the role is loaded; converge does not track load order and adds them all).
pub fn library_dirs(role_path: Option<&Path>, playbook_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(role) = role_path {
        dirs.push(role.join("library"));
    }
    dirs.push(playbook_dir.join("library"));
    let mut role_roots = vec![playbook_dir.join("roles")];
    if let Ok(paths) = std::env::var("ANSIBLE_ROLES_PATH") {
        role_roots.extend(
            paths
                .split(':')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
        );
    }
    for root in role_roots {
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("library"))
            .filter(|p| p.is_dir())
            .collect();
        found.sort();
        dirs.extend(found);
    }
    let mut seen = std::collections::HashSet::new();
    dirs.into_iter()
        .filter_map(|d| d.canonicalize().ok())
        .filter(|d| d.is_dir() && seen.insert(d.clone()))
        .collect()
}

type Key = (String, Vec<PathBuf>);
static RESOLVED: OnceLock<Mutex<HashMap<Key, Result<Arc<AnsibleModule>>>>> = OnceLock::new();

/// Find a module by the name a task uses, as Ansible would (answers are cached for the run).
pub fn resolve(name: &str, library: &[PathBuf]) -> Result<Arc<AnsibleModule>> {
    let cache = RESOLVED.get_or_init(Default::default);
    let key = (name.to_string(), library.to_vec());
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return hit;
    }
    let answer = ask_helper(name, library);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, answer.clone());
    }
    answer
}

fn ask_helper(name: &str, library: &[PathBuf]) -> Result<Arc<AnsibleModule>> {
    let dirs: Vec<String> = library.iter().map(|d| d.display().to_string()).collect();
    let a = helper::request(&json!({"op": "resolve", "name": name, "library": dirs}))?;
    let strings = |key: &str| -> Vec<String> {
        a.get(key)
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let path = a.get("path").and_then(Value::as_str);
    match (a.get("found").and_then(Value::as_bool), path) {
        (Some(true), Some(path)) => Ok(Arc::new(AnsibleModule {
            name: name.to_string(),
            path: PathBuf::from(path),
            collection: a
                .get("collection")
                .and_then(Value::as_str)
                .map(String::from),
            action_plugin: a.get("action_plugin").and_then(Value::as_bool) == Some(true),
            refuse: a.get("refuse").and_then(refusal),
        })),
        _ => {
            let mut searched = strings("searched");
            searched.extend(
                strings("collection_paths")
                    .into_iter()
                    .map(|p| format!("{p}/ansible_collections")),
            );
            Err(Error::NotFound {
                name: name.to_string(),
                searched,
            })
        }
    }
}

fn refusal(v: &Value) -> Option<Refusal> {
    let msg = v.get("msg")?.as_str()?.to_string();
    let when = match v.get("when").and_then(Value::as_array).map(Vec::as_slice) {
        Some([arg, value, default]) => {
            Some((arg.as_str()?.to_string(), value.clone(), default.clone()))
        }
        _ => None,
    };
    Some(Refusal { when, msg })
}

/// The `help:` of a load error for a module converge could not find: where it looked and how
/// to get the module.
pub fn not_found_hint(name: &str, e: &Error, library: &[PathBuf]) -> String {
    let install = match name.split('.').collect::<Vec<_>>().as_slice() {
        [ns, coll, _] if *ns != "ansible" || *coll != "builtin" => format!(
            "install the collection (`ansible-galaxy collection install {ns}.{coll}`, or \
             `pip install ansible` for the usual ones)"
        ),
        _ => "`pip install ansible` (or set CONVERGE_ANSIBLE_PYTHON to a Python that has it)"
            .to_string(),
    };
    match e {
        Error::NotFound { searched, .. } => {
            let mut places: Vec<String> = library.iter().map(|d| d.display().to_string()).collect();
            for p in searched {
                if !places.contains(p) && !p.ends_with("__pycache__") {
                    places.push(p.clone());
                }
            }
            format!(
                "converge has no native `{name}` and Ansible's modules do not have it either; \
                 looked in {}; {install}",
                places.join(", ")
            )
        }
        other => format!("converge has no native `{name}`, and Ansible's modules could not be searched: {other}; {install}"),
    }
}
