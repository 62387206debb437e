//! The small interface a module sees of the host it manages.
//!
//! Modules never know whether the host is the local machine or a server behind SSH, nor whether
//! commands run through `sudo`: the engine's connections implement [`Target`] and take care of
//! that. Keeping the interface this narrow is what lets a new transport slot in without touching
//! a single module.

use std::fmt;

/// What to run on the target. `argv` commands are never passed through a shell; `Shell` commands
/// are run by `/bin/sh -c` on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    Argv(Vec<String>),
    Shell(String),
}

/// A command to run on the target, with its optional stdin, working directory and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub program: Program,
    pub stdin: Option<Vec<u8>>,
    pub chdir: Option<String>,
    pub env: Vec<(String, String)>,
}

impl Command {
    pub fn argv<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Command {
            program: Program::Argv(args.into_iter().map(Into::into).collect()),
            stdin: None,
            chdir: None,
            env: Vec::new(),
        }
    }

    pub fn shell(script: impl Into<String>) -> Self {
        Command {
            program: Program::Shell(script.into()),
            stdin: None,
            chdir: None,
            env: Vec::new(),
        }
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    pub fn chdir(mut self, dir: impl Into<String>) -> Self {
        self.chdir = Some(dir.into());
        self
    }

    /// The command as one POSIX shell string, every argv word quoted.
    pub fn to_shell_string(&self) -> String {
        let body = match &self.program {
            Program::Argv(words) => words
                .iter()
                .map(|w| shell_quote(w))
                .collect::<Vec<_>>()
                .join(" "),
            Program::Shell(script) => format!("/bin/sh -c {}", shell_quote(script)),
        };
        let mut prefix = String::new();
        if let Some(dir) = &self.chdir {
            prefix.push_str(&format!("cd {} && ", shell_quote(dir)));
        }
        if !self.env.is_empty() {
            prefix.push_str("env ");
            for (k, v) in &self.env {
                prefix.push_str(&shell_quote(&format!("{k}={v}")));
                prefix.push(' ');
            }
        }
        format!("{prefix}{body}")
    }
}

/// Quote a word for a POSIX shell; plain words are left as they are for readable logs.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// What a command produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.rc == 0
    }
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// The kind of a filesystem object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Directory,
    Symlink,
    Other,
}

/// What `stat` knows about a path (symlinks are not followed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub kind: FileKind,
    /// Permission bits, e.g. `0o644`.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub owner: String,
    pub group: String,
    pub size: u64,
    pub mtime: i64,
    /// Link count, for hard links.
    pub nlink: u64,
    pub inode: u64,
    /// Where a symlink points.
    pub link_target: Option<String>,
}

/// Ownership and permissions a write should leave on the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileAttrs {
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// A failure to talk to the target at all (as opposed to a command that ran and failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// The host cannot be reached any more: the run marks it unreachable.
    Unreachable(String),
    /// Anything else: an I/O error on the target, a timeout, a refused file transfer.
    Failed(String),
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Unreachable(m) => write!(f, "host unreachable: {m}"),
            TargetError::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for TargetError {}

/// The far end of a byte stream opened from the target's side: what the host itself would reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix socket on the host, e.g. `/var/run/docker.sock`.
    Unix(String),
    /// A TCP address as the host sees it (a container's address on a bridge, `127.0.0.1`).
    Tcp { host: String, port: u16 },
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix:{path}"),
            Endpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// The host a module manages. Implemented by the engine's connections.
pub trait Target: Send + Sync {
    /// Run a command and wait for it.
    fn run(&self, cmd: &Command) -> Result<Output, TargetError>;

    /// Read a whole file; `Ok(None)` when it does not exist.
    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, TargetError>;

    /// Write a file atomically: a temporary file in the same directory, then a rename, so that
    /// readers see the old content or the new one, never a partial file. `attrs` are applied to
    /// the temporary file before the rename; attributes left `None` keep those of the file being
    /// replaced (or the defaults for a new file).
    fn write_file(&self, path: &str, content: &[u8], attrs: &FileAttrs) -> Result<(), TargetError>;

    /// `lstat` a path; `Ok(None)` when it does not exist.
    fn stat(&self, path: &str) -> Result<Option<Stat>, TargetError>;

    /// The user commands run as (after privilege escalation), for defaults such as `~`.
    fn user(&self) -> String {
        "root".to_string()
    }

    /// Open a stream to `to` from the host's side, send `request`, and read until the far end
    /// closes: one HTTP/1.1 exchange with `Connection: close` (the Docker API on its socket, a
    /// health check on a container's port). Over SSH this is a `direct-streamlocal` or
    /// `direct-tcpip` channel, so nothing needs installing on the host. The input side is left
    /// open (a half-close makes Go's HTTP server cancel the request). Transports that cannot do
    /// this say so with an error; callers fall back to commands.
    fn exchange(
        &self,
        to: &Endpoint,
        request: &[u8],
        timeout: std::time::Duration,
    ) -> Result<Vec<u8>, TargetError> {
        let _ = (request, timeout);
        Err(TargetError::Failed(format!(
            "this connection cannot open a stream to {to}"
        )))
    }
}
