//! Turning module outcomes into what `register:` stores and what events carry, with `no_log`
//! censoring applied in one place.

use crate::output::{HostResult, ResultStatus};
use converge_modules::{Outcome, Status};
use serde_json::{Map, Value};

pub const CENSORED: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// The registered form of an outcome: `changed`, `failed`, `msg`, `skipped` + module data.
pub fn registered(outcome: &Outcome) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "changed".into(),
        Value::Bool(outcome.status == Status::Changed),
    );
    m.insert(
        "failed".into(),
        Value::Bool(outcome.status == Status::Failed),
    );
    if outcome.status == Status::Skipped {
        m.insert("skipped".into(), Value::Bool(true));
    }
    if let Some(msg) = &outcome.msg {
        m.insert("msg".into(), Value::String(msg.clone()));
    }
    for (k, v) in &outcome.data {
        m.insert(k.clone(), v.clone());
    }
    m
}

pub fn status_of(outcome: &Outcome) -> ResultStatus {
    match outcome.status {
        Status::Ok => ResultStatus::Ok,
        Status::Changed => ResultStatus::Changed,
        Status::Failed => ResultStatus::Failed,
        Status::Skipped => ResultStatus::Skipped,
    }
}

/// Hide everything a `no_log` task produced: data, message and diffs.
pub fn censor(r: &mut HostResult) {
    r.no_log = true;
    r.diffs.clear();
    r.msg = None;
    let mut m = Map::new();
    m.insert("censored".into(), Value::String(CENSORED.into()));
    if let Some(changed) = r.data.get("changed") {
        m.insert("changed".into(), changed.clone());
    }
    r.data = Value::Object(m);
    for item in &mut r.items {
        censor(item);
    }
}
