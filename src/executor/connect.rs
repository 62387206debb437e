//! Opening a host's connection from its variables (Ansible's connection variables, honoured as
//! written) and applying the task's privilege escalation.

use super::host::HostState;
use super::Executor;
use crate::connection::{self, Become, Connection, ConnectionSpec};
use crate::playbook::Task;
use converge_modules::args::to_bool;
use serde_json::{Map, Value};

fn var_str(vars: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match vars.get(*n) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

impl Executor<'_> {
    /// The connection spec of a host, from its (rendered) variables.
    pub fn connection_spec(&self, host: &str, vars: &Map<String, Value>) -> ConnectionSpec {
        let ctx = self.ctx_value(vars.clone());
        let render = |names: &[&str]| -> Option<String> {
            var_str(vars, names).map(|s| self.templater.render(&s, &ctx).unwrap_or(s))
        };
        let implicit_local = self.inventory.host(host).is_none()
            && matches!(host, "localhost" | "127.0.0.1" | "::1");
        let d = &self.opts.defaults;
        let kind = render(&["ansible_connection"])
            .or_else(|| d.connection.clone())
            .unwrap_or_else(|| {
                if implicit_local {
                    "local".into()
                } else {
                    "ssh".into()
                }
            });
        let kind = match kind.as_str() {
            "paramiko" | "smart" | "ssh" => "ssh".to_string(),
            other => other.to_string(),
        };
        ConnectionSpec {
            name: host.to_string(),
            kind,
            address: render(&["ansible_host", "ansible_ssh_host"])
                .unwrap_or_else(|| host.to_string()),
            port: render(&["ansible_port", "ansible_ssh_port"]).and_then(|p| p.parse().ok()),
            user: render(&["ansible_user", "ansible_ssh_user"]).or_else(|| d.remote_user.clone()),
            private_key_file: render(&["ansible_ssh_private_key_file", "ansible_private_key_file"])
                .or_else(|| d.private_key.clone()),
            password: render(&[
                "ansible_password",
                "ansible_ssh_pass",
                "ansible_ssh_password",
            ]),
            host_key_checking: render(&[
                "ansible_host_key_checking",
                "ansible_ssh_host_key_checking",
            ])
            .map(|v| match to_bool(&Value::String(v.clone())) {
                Some(false) => "off".to_string(),
                Some(true) => "strict".to_string(),
                None => v,
            }),
            connect_timeout_secs: render(&["ansible_timeout", "ansible_ssh_timeout"])
                .and_then(|t| t.parse().ok()),
            r#become: Become::default(),
        }
    }

    /// Privilege escalation for a task: variables (`ansible_become*`) win over keywords, as in
    /// Ansible.
    pub(crate) fn become_for(&self, task: &Task, vars: &Map<String, Value>) -> Become {
        let cli = crate::playbook::BecomeOpts {
            enabled: self.opts.defaults.r#become.then_some(true),
            user: self.opts.defaults.become_user.clone(),
            method: None,
        };
        let mut kw = task.r#become.over(&self.play_become()).over(&cli);
        // Keywords may be templates (`become_user: "{{ app_user }}"`), rendered per host.
        for field in [&mut kw.user, &mut kw.method] {
            if let Some(text) = field
                .as_ref()
                .filter(|t| crate::template::Templater::is_template(t))
            {
                let ctx = self.ctx_value(vars.clone());
                *field = self.templater.render(text, &ctx).ok();
            }
        }
        let enabled = vars
            .get("ansible_become")
            .and_then(to_bool)
            .or(kw.enabled)
            .unwrap_or(false);
        Become {
            enabled,
            method: var_str(vars, &["ansible_become_method"])
                .or(kw.method)
                // None named: sudo, or su on hosts without sudo (see become_wrap).
                .unwrap_or_default(),
            user: var_str(vars, &["ansible_become_user"]).or(kw.user),
            password: var_str(
                vars,
                &[
                    "ansible_become_password",
                    "ansible_become_pass",
                    "ansible_sudo_pass",
                ],
            ),
        }
    }

    /// The host's connection (opened on first use and kept for the run), with the task's become.
    pub(crate) fn connection_for(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Map<String, Value>,
    ) -> Result<Box<dyn Connection>, String> {
        if let Some(d) = &task.delegate_to {
            let d = self
                .templater
                .render(d, &self.ctx_value(vars.clone()))
                .unwrap_or_else(|_| d.clone());
            if d != host.name {
                let dvars = self
                    .inventory
                    .host_vars(&d, None)
                    .map_err(|e| e.to_string())?;
                let spec = self.connection_spec(&d, &dvars);
                let conn =
                    connection::open(&spec, &self.opts.connect).map_err(|e| e.to_string())?;
                return Ok(conn.with_become(&self.become_for(task, vars)));
            }
        }
        if host.connection.is_none() {
            let spec = self.connection_spec(&host.name, vars);
            let conn = connection::open(&spec, &self.opts.connect).map_err(|e| e.to_string())?;
            self.sink.emit(&crate::output::Event::Verbose {
                level: 1,
                host: Some(host.name.clone()),
                message: format!("connected: {}", conn.describe()),
            });
            host.connection = Some(conn);
        }
        let b = self.become_for(task, vars);
        match &host.connection {
            Some(c) => Ok(c.with_become(&b)),
            None => Err("no connection".into()),
        }
    }
}
