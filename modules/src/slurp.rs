//! `slurp`: a file's content, base64 encoded (`content`, `encoding: base64`, `source`), for
//! `register` + `b64decode`. Read-only, so it runs the same in check mode.

use crate::args::{ArgKind, ArgSpec, Args, Params};
use crate::common::b64_encode;
use crate::contract::{Module, ModuleError, Outcome, RunMode};
use crate::target::{FileKind, Target};

const SPEC: &[ArgSpec] = &[ArgSpec::new("src", ArgKind::Str)
    .required()
    .aliases(&["path"])];

/// The `slurp` module.
pub struct SlurpModule;

impl Module for SlurpModule {
    fn name(&self) -> &'static str {
        "slurp"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(
        &self,
        target: &dyn Target,
        args: &Args,
        _mode: RunMode,
    ) -> Result<Outcome, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let src = p.req_str("src")?;
        if target
            .stat(&src)?
            .is_some_and(|s| s.kind == FileKind::Directory)
        {
            return Ok(Outcome::failed(format!(
                "source is a directory and must be a file: {src}"
            )));
        }
        match target.read_file(&src) {
            Ok(Some(data)) => Ok(Outcome::ok()
                .with_data("content", b64_encode(&data))
                .with_data("encoding", "base64")
                .with_data("source", src)),
            Ok(None) => Ok(Outcome::failed(format!("file not found: {src}"))),
            Err(crate::target::TargetError::Failed(m)) => Ok(Outcome::failed(m)),
            Err(e) => Err(e.into()),
        }
    }
}
