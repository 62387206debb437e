//! converge's modules and the contract they follow.
//!
//! This crate knows nothing of playbooks, templates or SSH. A module receives rendered arguments
//! (JSON), a [`Target`] to read and change the host through, and the run mode (check, diff); it
//! returns an [`Outcome`]. See [`contract`] for the inspect → plan → apply shape.

pub mod apt;
pub mod apt_key;
pub mod apt_repository;
pub mod args;
pub mod assemble;
pub mod blockinfile;
pub mod command;
pub mod common;
pub mod contract;
pub mod copy;
pub mod docker;
pub mod docker_engine;
pub mod file;
pub mod fileattrs;
pub mod filesystem;
pub mod filewrite;
pub mod get_url;
pub mod group;
pub mod jsondiff;
pub mod lineinfile;
pub mod local;
pub mod mode;
pub mod modprobe;
pub mod mount;
pub mod package;
pub mod pause;
pub mod pyre;
pub mod registry;
pub mod replace;
pub mod script;
pub mod secret;
pub mod service;
pub mod shlex;
pub mod slurp;
pub mod stat;
pub mod sysctl;
pub mod sysutil;
pub mod target;
pub mod template;
pub mod textedit;
pub mod unarchive;
pub mod user;
pub mod wait_for;

pub use args::{ArgError, ArgKind, ArgSpec, Args, Params};
pub use contract::{
    Controller, Converge, Diff, Module, ModuleError, NoController, Outcome, Plan, RunMode, Status,
};
pub use local::LocalTarget;
pub use target::{
    Command, Endpoint, FileAttrs, FileKind, Output, Program, Stat, Target, TargetError,
};
