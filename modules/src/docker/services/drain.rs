//! Stopping a service's container the way the service says, wherever a container goes away:
//! the `pre_stop_sequence` (waits and signals, in order), then `docker stop` with the service's
//! `stop_grace` (TERM, KILL after the grace), then removal. Rollouts (an old replica replaced)
//! and `state: absent` (the whole project removed) drain the same way: Cloud 66's
//! `pre_stop_sequence` applies to every stop.

use super::model::Service;
use super::signals::SeqStep;
use crate::contract::ModuleError;
use crate::docker::client::Docker;
use crate::docker::converge_container::is_running;
use serde_json::Value;
use std::time::Duration;

/// The grace of a container that belongs to no declared service.
const DEFAULT_GRACE: Duration = Duration::from_secs(10);

fn id_of(c: &Value) -> &str {
    c.get("Id").and_then(Value::as_str).unwrap_or_default()
}

/// Runs the service's pre-stop sequence against a running container. A container that exits
/// during the sequence needs no more signals: that ends it without an error.
pub fn pre_stop(docker: &Docker, c: &Value, s: &Service) -> Result<(), ModuleError> {
    let id = id_of(c);
    for step in &s.pre_stop {
        match step {
            SeqStep::Wait(d) => std::thread::sleep(*d),
            SeqStep::Signal(sig) => {
                if let Err(e) = docker.kill(id, sig) {
                    if docker
                        .inspect_container(id)?
                        .as_ref()
                        .is_some_and(is_running)
                    {
                        return Err(e);
                    }
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Drains a container (pre-stop sequence, stop with the grace) if it is running, then removes
/// it. `s` is the service it belongs to, when it is still declared.
pub fn retire(docker: &Docker, c: &Value, s: Option<&Service>) -> Result<(), ModuleError> {
    let id = id_of(c);
    let grace = s.map_or(DEFAULT_GRACE, |s| s.stop_grace);
    let running = docker
        .inspect_container(id)?
        .as_ref()
        .is_some_and(is_running);
    if running {
        if let Some(s) = s {
            pre_stop(docker, c, s)?;
        }
        docker.stop(id, grace)?;
    }
    docker.remove_container(id)
}
