//! The one place where secrets are taken out of events: every sink (terminal, reports, history)
//! sits behind a [`RedactingSink`], so none of them can print a secret the run knows of.

use super::events::{Event, EventSink, HostResult};
use crate::report::{Redactor, Secrets};

pub struct RedactingSink<S> {
    pub inner: S,
    pub secrets: Secrets,
}

impl<S: EventSink> RedactingSink<S> {
    pub fn emit(&self, event: &Event) {
        let redacted = self.secrets.with(|r| {
            (!r.is_empty()).then(|| {
                let mut e = event.clone();
                redact_event(&mut e, r);
                e
            })
        });
        self.inner.emit(redacted.as_ref().unwrap_or(event));
    }
}

impl<S: EventSink> EventSink for RedactingSink<S> {
    fn emit(&self, event: &Event) {
        RedactingSink::emit(self, event)
    }
}

pub fn redact_event(e: &mut Event, r: &Redactor) {
    match e {
        Event::PlayStart { name, .. }
        | Event::BatchStart { name, .. }
        | Event::TaskStart { name, .. } => r.redact_string(name),
        Event::HostResult(res) => redact_result(res, r),
        Event::Warning(msg) | Event::Verbose { message: msg, .. } => r.redact_string(msg),
        Event::RunStart { .. }
        | Event::NoHostsMatched { .. }
        | Event::TaskEnd
        | Event::PlayEnd
        | Event::RunEnd { .. } => {}
    }
}

pub fn redact_result(res: &mut HostResult, r: &Redactor) {
    r.redact_opt(&mut res.msg);
    r.redact_opt(&mut res.item);
    r.redact_value(&mut res.data);
    res.diffs.iter_mut().for_each(|d| r.redact_diff(d));
    for i in &mut res.items {
        redact_result(i, r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Collector, ResultStatus};
    use converge_modules::Diff;
    use serde_json::json;

    #[test]
    fn a_secret_added_mid_run_is_gone_from_later_events() {
        let secrets = Secrets::default();
        let sink = RedactingSink {
            inner: Collector::default(),
            secrets: secrets.clone(),
        };
        let mut r = HostResult::new("h1", ResultStatus::Changed);
        r.msg = Some("token=abc-123-xyz".into());
        r.data = json!({"stdout": "abc-123-xyz", "env": ["K=abc-123-xyz"]});
        r.diffs.push(Diff::new("/etc/app", "", "k=abc-123-xyz\n"));
        let mut item = r.clone();
        item.item = Some("abc-123-xyz".into());
        r.items.push(item);
        sink.emit(&Event::HostResult(r.clone()));
        secrets.add("abc-123-xyz");
        sink.emit(&Event::HostResult(r));
        sink.emit(&Event::Warning("saw abc-123-xyz".into()));
        let events = sink.inner.events();
        let shown = |e: &Event| format!("{e:?}");
        assert!(shown(&events[0]).contains("abc-123-xyz"), "not yet known");
        for e in &events[1..] {
            assert!(!shown(e).contains("abc-123-xyz"), "{e:?}");
            assert!(shown(e).contains("********"), "{e:?}");
        }
    }
}
