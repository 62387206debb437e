//! Output: the events of a run and everything that presents them.

pub mod events;

pub use events::{Collector, Event, EventSink, Fanout, HostResult, HostStats, Recap, ResultStatus};
