//! What each `converge` command does; `cli.rs` only parses the command line and dispatches here.

pub mod history;
pub mod inventory;
pub mod modules;
pub mod playbook;
