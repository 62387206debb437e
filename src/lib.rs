//! converge: the engine. Reads inventories and playbooks, renders templates, connects to hosts
//! and runs the modules of the `converge-modules` crate on them.

pub mod ansible_modules;
pub mod cli;
pub mod commands;
pub mod connection;
pub mod diagnostics;
pub mod executor;
pub mod history;
pub mod inventory;
pub mod output;
pub mod playbook;
pub mod report;
pub mod settings;
pub mod source;
pub mod template;
pub mod yaml;
