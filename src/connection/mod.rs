//! Connections: how the engine reaches a host. Every connection is a [`Target`] for the modules,
//! so a new transport slots in without touching a single module.

// pub mod local; (waits for converge_modules::local)

use converge_modules::Target;

/// Privilege escalation for commands and file writes (`become: true`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Become {
    pub enabled: bool,
    /// `sudo` (default) or `su`.
    pub method: String,
    /// Defaults to root.
    pub user: Option<String>,
    /// From `ansible_become_password` / `ansible_become_pass`; never printed.
    pub password: Option<String>,
}

/// Everything needed to open a connection to one host, taken from its inventory variables.
#[derive(Debug, Clone, Default)]
pub struct ConnectionSpec {
    /// The inventory name.
    pub name: String,
    /// `local` or `ssh`.
    pub kind: String,
    /// `ansible_host`, defaulting to the inventory name.
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub private_key_file: Option<String>,
    /// `ansible_password`; never printed.
    pub password: Option<String>,
    /// `strict`, `accept-new` or `off`.
    pub host_key_checking: Option<String>,
    pub connect_timeout_secs: Option<u64>,
    pub r#become: Become,
}

/// An open connection to one host.
pub trait Connection: Target {
    /// A short description for `-v` output (`ssh root@198.18.0.2:22`, `local`).
    fn describe(&self) -> String;
    /// The same connection with other privilege escalation settings (a task's `become`).
    /// Connections share the underlying transport with the clones.
    fn with_become(&self, become_: &Become) -> Box<dyn Connection>;
    /// Close the transport; further calls fail as unreachable.
    fn close(&self) {}
}
