//! Playbooks: loading YAML into validated plays and tasks, before any host is touched.

pub mod catalog;
pub mod keywords;
pub mod kv;
pub mod load;
pub mod model;
mod play_templates;
pub mod task;

pub use load::{load_playbooks, load_playbooks_with_extra_vars};
pub use model::*;
