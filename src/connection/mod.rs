//! Connections: how the engine reaches a host. Every connection is a [`Target`] for the modules,
//! so a new transport slots in without touching a single module.

pub mod auth;
pub mod become_wrap;
pub mod known_hosts;
pub mod local;
pub mod passphrase;
pub mod runtime;
pub mod shell_ops;
pub mod ssh;
pub mod ssh_config;

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
    /// Every call is a network round trip (worth batching inspections, see
    /// `executor/prefetch.rs`).
    fn is_remote(&self) -> bool {
        false
    }
    /// Commands run on the host so far (network round trips), when the transport counts them.
    fn round_trips(&self) -> Option<u64> {
        None
    }
}

/// Run-wide connection settings from the command line.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `--host-key-checking strict|accept-new|off`; the inventory variable wins for its host.
    pub host_key_checking: Option<String>,
    pub connect_timeout: std::time::Duration,
    pub command_timeout: Option<std::time::Duration>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            host_key_checking: None,
            connect_timeout: std::time::Duration::from_secs(10),
            command_timeout: None,
        }
    }
}

/// Open a connection of the kind the spec names.
pub fn open(
    spec: &ConnectionSpec,
    opts: &ConnectOptions,
) -> Result<Box<dyn Connection>, converge_modules::TargetError> {
    match spec.kind.as_str() {
        "local" => Ok(Box::new(local::LocalConnection::new(spec))),
        "ssh" => open_ssh(spec, opts),
        other => Err(converge_modules::TargetError::Unreachable(format!(
            "connection type `{other}` is not supported (use `ssh` or `local`)"
        ))),
    }
}

/// The SSH transport (`ssh.rs`).
fn open_ssh(
    spec: &ConnectionSpec,
    opts: &ConnectOptions,
) -> Result<Box<dyn Connection>, converge_modules::TargetError> {
    Ok(Box::new(ssh::SshConnection::connect(spec, opts)?))
}
