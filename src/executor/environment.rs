//! `environment:` on a play, block or task: variables added to every command the task's module
//! runs on the host, by wrapping the target rather than teaching each module about it.

use converge_modules::{Command, Endpoint, FileAttrs, Output, Stat, Target, TargetError};

pub struct EnvTarget<'a> {
    pub inner: &'a dyn Target,
    pub env: Vec<(String, String)>,
}

impl Target for EnvTarget<'_> {
    fn run(&self, cmd: &Command) -> Result<Output, TargetError> {
        let mut cmd = cmd.clone();
        // The module's own variables win over the task's environment.
        let own: Vec<String> = cmd.env.iter().map(|(k, _)| k.clone()).collect();
        let mut env: Vec<(String, String)> = self
            .env
            .iter()
            .filter(|(k, _)| !own.contains(k))
            .cloned()
            .collect();
        env.append(&mut cmd.env);
        cmd.env = env;
        self.inner.run(&cmd)
    }
    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, TargetError> {
        self.inner.read_file(path)
    }
    fn write_file(&self, path: &str, content: &[u8], attrs: &FileAttrs) -> Result<(), TargetError> {
        self.inner.write_file(path, content, attrs)
    }
    fn stat(&self, path: &str) -> Result<Option<Stat>, TargetError> {
        self.inner.stat(path)
    }
    fn user(&self) -> String {
        self.inner.user()
    }

    fn exchange(
        &self,
        to: &Endpoint,
        request: &[u8],
        timeout: std::time::Duration,
    ) -> Result<Vec<u8>, TargetError> {
        self.inner.exchange(to, request, timeout)
    }
}
