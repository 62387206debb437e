//! The module contract: inspect the current state → plan the difference → apply it.
//!
//! Most modules implement [`Converge`]: `inspect` only reads the target, `plan` is pure (params +
//! observed state → what would change, with its diff) and `apply` is the only step that mutates.
//! Check mode stops after `plan`, so a dry run shows exactly the diff a real run would make; the
//! blanket [`Module`] implementation below does that once for every module.
//!
//! Modules that are actions rather than states (`command`, `debug`, `assert`, `wait_for`, ...)
//! implement [`Module`] directly and say so when they cannot predict their effect in check mode.

use crate::args::{ArgError, ArgSpec, Args};
use crate::target::{Target, TargetError};
use serde_json::{Map, Value};
use std::fmt;

/// Before/after text of one changed object, rendered by the engine as a unified diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub before_header: String,
    pub after_header: String,
    pub before: String,
    pub after: String,
}

impl Diff {
    pub fn new(path: &str, before: impl Into<String>, after: impl Into<String>) -> Self {
        Diff {
            before_header: path.to_string(),
            after_header: path.to_string(),
            before: before.into(),
            after: after.into(),
        }
    }
}

/// How a task ended on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Changed,
    Failed,
    /// Nothing was done: a condition was false, or check mode could not predict the outcome.
    Skipped,
}

/// The result of running a module on one host.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub msg: Option<String>,
    pub diffs: Vec<Diff>,
    /// What `register:` captures besides `changed`/`failed`/`msg` (rc, stdout, stat, ...).
    pub data: Map<String, Value>,
    /// Facts to set on the host (`set_fact`, gathered facts).
    pub facts: Map<String, Value>,
}

impl Outcome {
    pub fn ok() -> Self {
        Outcome {
            status: Status::Ok,
            msg: None,
            diffs: Vec::new(),
            data: Map::new(),
            facts: Map::new(),
        }
    }
    pub fn changed() -> Self {
        Outcome {
            status: Status::Changed,
            ..Outcome::ok()
        }
    }
    pub fn failed(msg: impl Into<String>) -> Self {
        Outcome {
            status: Status::Failed,
            msg: Some(msg.into()),
            ..Outcome::ok()
        }
    }
    pub fn skipped(msg: impl Into<String>) -> Self {
        Outcome {
            status: Status::Skipped,
            msg: Some(msg.into()),
            ..Outcome::ok()
        }
    }
    pub fn with_msg(mut self, msg: impl Into<String>) -> Self {
        self.msg = Some(msg.into());
        self
    }
    pub fn with_data(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_string(), value.into());
        self
    }
    pub fn with_diff(mut self, diff: Diff) -> Self {
        self.diffs.push(diff);
        self
    }
    pub fn is_changed(&self) -> bool {
        self.status == Status::Changed
    }
}

/// Why a module could not run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleError {
    /// Bad arguments (after templating).
    Args(ArgError),
    /// The target could not be talked to.
    Target(TargetError),
    /// The module ran into a state it cannot handle; the message says what and where.
    Failed(String),
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleError::Args(e) => e.fmt(f),
            ModuleError::Target(e) => e.fmt(f),
            ModuleError::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ModuleError {}

impl From<ArgError> for ModuleError {
    fn from(e: ArgError) -> Self {
        ModuleError::Args(e)
    }
}

impl From<TargetError> for ModuleError {
    fn from(e: TargetError) -> Self {
        ModuleError::Target(e)
    }
}

/// Shorthand for a module failure with a message.
pub fn fail<T>(msg: impl Into<String>) -> Result<T, ModuleError> {
    Err(ModuleError::Failed(msg.into()))
}

/// How the engine runs a module.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunMode {
    /// Do not change anything; report what would change.
    pub check: bool,
    /// Produce before/after diffs.
    pub diff: bool,
}

/// What every module offers the engine. Object-safe, so the engine keeps a registry of them.
pub trait Module: Send + Sync {
    fn name(&self) -> &'static str;
    /// The arguments the module accepts.
    fn spec(&self) -> &'static [ArgSpec];
    /// The argument that free-form text (`command: ls -l`) goes to, if the module takes any.
    fn free_form(&self) -> Option<&'static str> {
        None
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError>;

    /// Run with the controller's services at hand (rendering a template the playbook names,
    /// registering secrets). Most modules do not need them.
    fn run_with(
        &self,
        target: &dyn Target,
        args: &Args,
        mode: RunMode,
        controller: &dyn Controller,
    ) -> Result<Outcome, ModuleError> {
        let _ = controller;
        self.run(target, args, mode)
    }

    /// `async` with `poll: 0`: start the work on the host and return at once, leaving it
    /// running there. `None`: this module cannot run detached.
    fn run_detached(
        &self,
        target: &dyn Target,
        args: &Args,
    ) -> Option<Result<Outcome, ModuleError>> {
        let _ = (target, args);
        None
    }

    /// Check what can be checked before any host is touched (the engine calls this while
    /// loading the playbook, with arguments that may still hold `{{ templates }}`).
    fn validate(&self, args: &Args) -> Result<(), ArgError> {
        let _ = args;
        Ok(())
    }
}

/// What the engine offers a module on the controller's side.
pub trait Controller: Sync {
    /// Render a template file the task names (found like `template`'s `src`; `None`: the
    /// module's built-in one, `builtin`) with the host's variables plus `vars`.
    fn render(&self, template: Option<&str>, builtin: &str, vars: &Value)
        -> Result<String, String>;
    /// A value that must never be shown: the engine redacts it from every output.
    fn add_secret(&self, value: &str);
    /// The content of a file on the controller that the task names (found like `copy`'s
    /// `src`: the role's `files/`, then beside the task and the playbook).
    fn controller_file(&self, path: &str) -> Result<Vec<u8>, String> {
        Err(format!(
            "cannot read `{path}`: no controller here (the engine provides one)"
        ))
    }
    /// The regular files directly in a controller directory the task names (found like
    /// `controller_file`), sorted by name, with their content.
    fn controller_dir(&self, path: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        Err(format!(
            "cannot read `{path}`: no controller here (the engine provides one)"
        ))
    }
}

/// For runs without an engine (module tests): templates are rendered by nobody.
pub struct NoController;

impl Controller for NoController {
    fn render(&self, _: Option<&str>, _: &str, _: &Value) -> Result<String, String> {
        Err("no template renderer here (the engine provides one)".to_string())
    }
    fn add_secret(&self, _: &str) {}
}

/// What a state-converging module decided to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<A> {
    /// The actions to take, empty when the target already matches.
    pub actions: Vec<A>,
    pub diffs: Vec<Diff>,
    /// Data to register whatever happens (e.g. the path, the checksum).
    pub data: Map<String, Value>,
    /// The task's `msg` (`line added`, `2 replacements made`), check mode or not.
    pub msg: Option<String>,
}

impl<A> Plan<A> {
    pub fn nothing() -> Self {
        Plan {
            actions: Vec::new(),
            diffs: Vec::new(),
            data: Map::new(),
            msg: None,
        }
    }
    pub fn is_noop(&self) -> bool {
        self.actions.is_empty()
    }
}

/// A module that converges a piece of state: inspect → plan → apply.
pub trait Converge: Send + Sync {
    /// Parsed, validated arguments.
    type Params;
    /// What `inspect` observed.
    type State;
    /// One step of change; an enum, so what changed is named, not a string.
    type Action: fmt::Debug;

    fn name(&self) -> &'static str;
    fn spec(&self) -> &'static [ArgSpec];
    fn free_form(&self) -> Option<&'static str> {
        None
    }
    fn params(&self, args: &Args) -> Result<Self::Params, ModuleError>;
    /// Read the current state. Must not change the target.
    fn inspect(&self, p: &Self::Params, target: &dyn Target) -> Result<Self::State, ModuleError>;
    /// Decide what to change. Pure: no access to the target.
    fn plan(
        &self,
        p: &Self::Params,
        state: &Self::State,
    ) -> Result<Plan<Self::Action>, ModuleError>;
    /// Carry out the plan. The only step that mutates the target.
    fn apply(
        &self,
        p: &Self::Params,
        plan: &Plan<Self::Action>,
        target: &dyn Target,
    ) -> Result<(), ModuleError>;
}

impl<C: Converge> Module for C {
    fn name(&self) -> &'static str {
        Converge::name(self)
    }
    fn spec(&self) -> &'static [ArgSpec] {
        Converge::spec(self)
    }
    fn free_form(&self) -> Option<&'static str> {
        Converge::free_form(self)
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let params = self.params(args)?;
        let state = self.inspect(&params, target)?;
        let plan = self.plan(&params, &state)?;
        let mut outcome = if plan.is_noop() {
            Outcome::ok()
        } else {
            Outcome::changed()
        };
        outcome.data = plan.data.clone();
        outcome.msg = plan.msg.clone();
        if mode.diff {
            outcome.diffs = plan.diffs.clone();
        }
        // Check mode ends here: the diff above is the one a real run would produce.
        if !mode.check && !plan.is_noop() {
            self.apply(&params, &plan, target)?;
        }
        Ok(outcome)
    }
}
