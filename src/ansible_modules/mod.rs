//! Ansible's own modules, for every module converge has no native version of (`find`, `cron`,
//! `community.general.ini_file`, a role's `library/` module...). Resolved when the playbook is
//! loaded, so a module found nowhere is a setup error; run on the host as Ansible runs it: an
//! AnsiballZ payload built by ansible-core itself on the controller (a helper process speaking
//! JSON lines, `helper.py`), executed by the host's Python, its JSON result read back.
//!
//! `locate`: which Python has Ansible, where a module is. `helper`: the controller-side process.
//! `payload`: built payloads and the arguments Ansible adds. `run`: running one on a host.
//! See `docs/ansible-modules.md`.

pub mod helper;
pub mod locate;
pub mod payload;
pub mod run;

use std::path::PathBuf;

/// A module found in Ansible's module paths, a collection or a `library/` folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsibleModule {
    /// The name as the task wrote it (`ini_file`, `community.general.ini_file`).
    pub name: String,
    /// The module's source file on the controller.
    pub path: PathBuf,
    /// The collection it came from (`community.general`, `ansible.builtin`); `None` for a
    /// `library/` module.
    pub collection: Option<String>,
    /// Ansible pairs it with an action plugin (controller-side code converge does not run).
    pub action_plugin: bool,
    /// When that plugin's work cannot be done on the host alone: converge refuses the task.
    pub refuse: Option<Refusal>,
}

/// A module converge cannot run as Ansible would, because its action plugin does controller-side
/// work: always, or when an argument has a given value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `None`: always refused; `Some((arg, value, default))`: when `arg` (or its default) is
    /// `value`.
    pub when: Option<(String, serde_json::Value, serde_json::Value)>,
    pub msg: String,
}

impl AnsibleModule {
    /// Load-time notes: an error when the module can never run as Ansible would, a warning when
    /// it has an action plugin converge does not run.
    pub fn load_notes(&self) -> (Option<String>, Option<String>) {
        match &self.refuse {
            Some(r) if r.when.is_none() => (Some(r.msg.clone()), None),
            _ if self.action_plugin => (
                None,
                Some(format!(
                    "`{}` has an Ansible action plugin (controller-side code) that converge does \
                     not run: the module runs alone on the host (docs/ansible-modules.md)",
                    self.name
                )),
            ),
            _ => (None, None),
        }
    }

    /// The refusal for these (rendered) arguments, if any.
    pub fn refused(&self, args: &serde_json::Map<String, serde_json::Value>) -> Option<&str> {
        let r = self.refuse.as_ref()?;
        let Some((arg, value, default)) = &r.when else {
            return Some(&r.msg);
        };
        let given = args.get(arg).unwrap_or(default);
        let same = match (converge_modules::args::to_bool(given), value.as_bool()) {
            (Some(a), Some(b)) => a == b,
            _ => given == value,
        };
        same.then_some(r.msg.as_str())
    }
}

impl AnsibleModule {
    /// The name Ansible resolved it to (`community.general.ini_file` for `ini_file`); the name
    /// as written for a `library/` module.
    pub fn fqcn(&self) -> String {
        let leaf = self.path.file_stem().map(|s| s.to_string_lossy());
        match (&self.collection, leaf) {
            (Some(c), Some(leaf)) => format!("{c}.{leaf}"),
            _ => self.name.clone(),
        }
    }

    /// `community.general.ini_file (…/ini_file.py)`, for `-v` output and `converge modules`.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.fqcn(), self.path.display())
    }
}

/// Why an Ansible module could not be found, built or run.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// No Python that can `import ansible` on the controller.
    #[error("no Python with Ansible found on the controller (tried {tried})")]
    NoAnsible { tried: String },
    /// The helper process failed to start or died.
    #[error("the Ansible helper ({python}) failed: {message}")]
    Helper { python: String, message: String },
    /// The helper answered with an error (an exception in ansible-core).
    #[error("ansible-core: {0}")]
    Ansible(String),
    /// The module is in none of the places searched.
    #[error("module `{name}` not found")]
    NotFound { name: String, searched: Vec<String> },
    /// A module style converge does not run (PowerShell, binary, old-style key=value).
    #[error("module `{name}` is a {style} module; converge runs Ansible's Python modules only")]
    Unsupported { name: String, style: String },
}

pub type Result<T> = std::result::Result<T, Error>;
