//! The local connection (`ansible_connection=local`, the implicit `localhost`): modules act on
//! the machine converge runs on, through the modules crate's `LocalTarget`.

use super::{Become, Connection, ConnectionSpec};
use converge_modules::local::LocalTarget;
use converge_modules::{Command, Endpoint, FileAttrs, Output, Stat, Target, TargetError};

pub struct LocalConnection {
    target: LocalTarget,
    /// Privilege escalation to another user: commands go through sudo.
    become_user: Option<String>,
}

impl LocalConnection {
    pub fn new(_spec: &ConnectionSpec) -> Self {
        LocalConnection {
            target: LocalTarget::new(),
            become_user: None,
        }
    }

    fn current_user() -> String {
        LocalTarget::new().user()
    }

    fn refuse_become(&self) -> Result<(), TargetError> {
        match &self.become_user {
            Some(u) => Err(TargetError::Failed(format!(
                "become to `{u}` on the local connection needs sudo, which converge's local connection does not use yet; run converge as `{u}` instead"
            ))),
            None => Ok(()),
        }
    }
}

impl Target for LocalConnection {
    fn run(&self, cmd: &Command) -> Result<Output, TargetError> {
        self.refuse_become()?;
        self.target.run(cmd)
    }
    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, TargetError> {
        self.refuse_become()?;
        self.target.read_file(path)
    }
    fn write_file(&self, path: &str, content: &[u8], attrs: &FileAttrs) -> Result<(), TargetError> {
        self.refuse_become()?;
        self.target.write_file(path, content, attrs)
    }
    fn stat(&self, path: &str) -> Result<Option<Stat>, TargetError> {
        self.refuse_become()?;
        self.target.stat(path)
    }
    fn user(&self) -> String {
        self.become_user.clone().unwrap_or_else(Self::current_user)
    }
    fn exchange(
        &self,
        to: &Endpoint,
        request: &[u8],
        timeout: std::time::Duration,
    ) -> Result<Vec<u8>, TargetError> {
        // The socket is opened as the user converge runs as; with become to another user the
        // caller falls back to commands (which refuse become the same way).
        self.refuse_become()?;
        self.target.exchange(to, request, timeout)
    }
}

impl Connection for LocalConnection {
    fn describe(&self) -> String {
        "local".to_string()
    }

    fn with_become(&self, b: &Become) -> Box<dyn Connection> {
        let wanted = if b.enabled {
            b.user.clone().unwrap_or_else(|| "root".to_string())
        } else {
            Self::current_user()
        };
        let become_user = (wanted != Self::current_user()).then_some(wanted);
        Box::new(LocalConnection {
            target: LocalTarget::new(),
            become_user,
        })
    }
}
