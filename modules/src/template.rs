//! `template`: write text the engine rendered on the controller.
//!
//! Rendering (Jinja, `trim_blocks`, `newline_sequence`, the `*_string` delimiters,
//! `output_encoding`) is the engine's job: it passes the result as the internal argument
//! `_content` and leaves the playbook's arguments in place. Everything after that — destination
//! resolution, `force`, `backup`, `validate`, attributes, diff, atomic write — is `copy`'s code
//! (see `copy.rs`), not a second implementation.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::contract::{Converge, ModuleError, Plan};
use crate::copy::{inspect_copy, parse_common, plan_copy, CopyParams, CopyState, Source};
use crate::filewrite::{apply_write, WriteAction};
use crate::target::Target;
use serde_json::Value;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("src", ArgKind::Str).required(),
    ArgSpec::new("dest", ArgKind::Str).required(),
    ArgSpec::new("mode", ArgKind::Mode),
    ArgSpec::new("owner", ArgKind::Str),
    ArgSpec::new("group", ArgKind::Str),
    ArgSpec::new("backup", ArgKind::Bool),
    ArgSpec::new("validate", ArgKind::Str),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("follow", ArgKind::Bool),
    // Rendering options, used by the engine.
    ArgSpec::new("newline_sequence", ArgKind::Str).choices(&["\n", "\r", "\r\n"]),
    ArgSpec::new("trim_blocks", ArgKind::Bool),
    ArgSpec::new("lstrip_blocks", ArgKind::Bool),
    ArgSpec::new("block_start_string", ArgKind::Str),
    ArgSpec::new("block_end_string", ArgKind::Str),
    ArgSpec::new("variable_start_string", ArgKind::Str),
    ArgSpec::new("variable_end_string", ArgKind::Str),
    ArgSpec::new("comment_start_string", ArgKind::Str),
    ArgSpec::new("comment_end_string", ArgKind::Str),
    ArgSpec::new("output_encoding", ArgKind::Str),
];

/// The `template` module.
pub struct TemplateModule;

impl Converge for TemplateModule {
    type Params = CopyParams;
    type State = CopyState;
    type Action = WriteAction;

    fn name(&self) -> &'static str {
        "template"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn params(&self, args: &Args) -> Result<CopyParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let src = p.req_str("src")?;
        let content = match args.get("_content") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(ModuleError::Failed(format!(
                    "template: the rendered content of `{src}` was not provided (internal argument _content)"
                )))
            }
        };
        if p.mode("mode").as_deref() == Some("preserve") {
            return Err(
                ArgError::new(Some("mode"), "`preserve` is not supported by template").into(),
            );
        }
        let source = Source::Bytes {
            data: content.into_bytes(),
            mode: None,
        };
        Ok(parse_common(&p, source, Some(src), false)?)
    }
    fn inspect(&self, p: &CopyParams, target: &dyn Target) -> Result<CopyState, ModuleError> {
        inspect_copy(p, target)
    }
    fn plan(&self, p: &CopyParams, state: &CopyState) -> Result<Plan<WriteAction>, ModuleError> {
        plan_copy(p, state)
    }
    fn apply(
        &self,
        _p: &CopyParams,
        plan: &Plan<WriteAction>,
        target: &dyn Target,
    ) -> Result<(), ModuleError> {
        apply_write(target, &plan.actions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn needs_rendered_content() {
        let args = json!({"src": "t.j2", "dest": "/x"});
        assert!(TemplateModule.params(args.as_object().unwrap()).is_err());
        let args = json!({"src": "t.j2", "dest": "/x", "_content": "hi", "trim_blocks": true});
        let p = TemplateModule.params(args.as_object().unwrap()).unwrap();
        assert_eq!(
            p.source,
            Source::Bytes {
                data: b"hi".to_vec(),
                mode: None
            }
        );
        assert_eq!(p.src.as_deref(), Some("t.j2"));
    }
}
