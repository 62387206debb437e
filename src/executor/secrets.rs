//! Finding the run's secret values as the run goes: variables whose names look secret, once
//! their templates are rendered (a password from `lookup('env')`, `vars_files`, `set_fact` or a
//! role default), and what a `no_log` task registered. They join the run's [`Secrets`], so
//! every later event, report and history record has them masked.
//!
//! [`Secrets`]: crate::report::Secrets

use super::host::HostState;
use super::Executor;
use crate::report::is_secret_key;
use crate::template::Templater;
use serde_json::{Map, Value};

/// Keys of a registered result that carry what the task read or produced.
const OUTPUT_KEYS: &[&str] = &[
    "stdout",
    "stderr",
    "stdout_lines",
    "stderr_lines",
    "content",
    "msg",
];

impl Executor<'_> {
    /// Registers the values of the secret-named variables a task sees.
    pub(crate) fn learn_secret_vars(&self, host: &mut HostState, vars: &Map<String, Value>) {
        let mut ctx = None;
        for (name, value) in vars.iter().filter(|(k, _)| is_secret_key(k)) {
            let key = format!("{name}\0{value}");
            if host.secrets_learned.contains(&key) {
                continue;
            }
            host.secrets_learned.insert(key);
            match value {
                Value::String(s) if Templater::is_template(s) => {
                    let ctx = ctx.get_or_insert_with(|| self.ctx_value(vars.clone()));
                    if let Ok(v) = self.templater.render(s, ctx) {
                        self.opts.secrets.add(&v);
                    }
                }
                v => self.opts.secrets.add_value(v),
            }
        }
    }

    /// A `no_log` task's output is secret wherever it turns up later (`debug: var=reg.stdout`).
    pub(crate) fn learn_no_log_result(&self, data: &Value) {
        if let Value::Object(m) = data {
            for (k, v) in m {
                if OUTPUT_KEYS.contains(&k.as_str()) || is_secret_key(k) {
                    self.opts.secrets.add_value(v);
                }
            }
        }
    }
}
