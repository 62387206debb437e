//! `pause`: wait a number of `seconds` or `minutes`.
//!
//! converge runs unattended, so interactive prompts are not supported: a `prompt` without a
//! duration (or no duration at all, which waits for Enter in Ansible) is an error that says so.
//! With a duration, `prompt` is only shown as the message. The engine decides whether the pause
//! happens once per play (Ansible runs it once, on the first host).

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::contract::{Module, ModuleError, Outcome, RunMode};
use crate::target::Target;
use std::time::{Duration, Instant};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("seconds", ArgKind::Float),
    ArgSpec::new("minutes", ArgKind::Float),
    ArgSpec::new("prompt", ArgKind::Str),
    ArgSpec::new("echo", ArgKind::Bool),
];

/// The `pause` module.
pub struct PauseModule;

/// How long to pause, from the arguments.
pub fn duration(args: &Args) -> Result<Duration, ArgError> {
    let p = Params::new(SPEC, args)?;
    let secs = match (p.float("seconds"), p.float("minutes")) {
        (Some(_), Some(_)) => {
            return Err(ArgError::new(
                Some("seconds"),
                "seconds and minutes are mutually exclusive",
            ))
        }
        (Some(s), None) => s,
        (None, Some(m)) => m * 60.0,
        (None, None) => {
            let what = if p.has("prompt") {
                "`prompt` without seconds or minutes"
            } else {
                "pause without seconds or minutes"
            };
            return Err(ArgError::new(
                None,
                format!("{what} waits for keyboard input, which converge does not support; give seconds or minutes"),
            ));
        }
    };
    if !(0.0..=1e7).contains(&secs) {
        return Err(ArgError::new(Some("seconds"), "must be a positive number"));
    }
    Ok(Duration::from_secs_f64(secs))
}

impl Module for PauseModule {
    fn name(&self) -> &'static str {
        "pause"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(
        &self,
        _target: &dyn Target,
        args: &Args,
        _mode: RunMode,
    ) -> Result<Outcome, ModuleError> {
        let d = duration(args)?;
        let echo = Params::new(SPEC, args)?.bool_or("echo", true);
        let start = Instant::now();
        std::thread::sleep(d);
        let secs = start.elapsed().as_secs();
        Ok(Outcome::ok()
            .with_msg(format!("Paused for {} seconds", d.as_secs_f64()))
            .with_data("delta", secs)
            .with_data("echo", echo)
            .with_data("user_input", "")
            .with_data("stdout", format!("Paused for {} seconds", d.as_secs_f64())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        let a = |v: serde_json::Value| duration(v.as_object().unwrap());
        assert_eq!(a(json!({"seconds": 2})).unwrap(), Duration::from_secs(2));
        assert_eq!(a(json!({"minutes": "1"})).unwrap(), Duration::from_secs(60));
        assert!(a(json!({"prompt": "Continue?"}))
            .unwrap_err()
            .message
            .contains("converge does not support"));
        assert!(a(json!({})).is_err());
        assert!(a(json!({"seconds": 1, "minutes": 1})).is_err());
        assert!(a(json!({"seconds": -1})).is_err());
    }
}
