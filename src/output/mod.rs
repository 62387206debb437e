//! Output: the events of a run and everything that presents them.

pub mod color;
pub mod diff;
pub mod events;
pub mod printer;
pub mod progress;
pub mod pyjson;
pub mod redacting;

pub use events::{
    Collector, Event, EventSink, Fanout, HostResult, HostStats, Recap, ResultStatus, Silent,
};
