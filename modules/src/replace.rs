//! `replace`: substitute every match of a regular expression in a file, optionally only in the
//! section between `after` and `before`.
//!
//! As in Ansible, `regexp` is compiled in MULTILINE mode, the section is found with
//! `after(?P<subsection>.*?)before` in DOTALL mode (first match), and `replace` is a Python
//! replacement template (`\1`, `\g<name>`). A section pattern that does not match is not an
//! error: nothing changes and `msg` says so.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::contract::{Converge, ModuleError, Plan};
use crate::filewrite::{apply_write, inspect_dest, DestState, WriteAction, WriteArgs};
use crate::pyre::{self, Template};
use crate::target::Target;
use crate::textedit::{current_text, plan_edit, Edit};
use regex::Regex;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("path", ArgKind::Str)
        .required()
        .aliases(&["dest", "destfile", "name"]),
    ArgSpec::new("regexp", ArgKind::Str).required(),
    ArgSpec::new("replace", ArgKind::Str),
    ArgSpec::new("after", ArgKind::Str),
    ArgSpec::new("before", ArgKind::Str),
    ArgSpec::new("mode", ArgKind::Mode),
    ArgSpec::new("owner", ArgKind::Str),
    ArgSpec::new("group", ArgKind::Str),
    ArgSpec::new("backup", ArgKind::Bool),
    ArgSpec::new("validate", ArgKind::Str),
    ArgSpec::new("encoding", ArgKind::Str).choices(&["utf-8", "utf8", "UTF-8"]),
    ArgSpec::new("unsafe_writes", ArgKind::Bool),
];

#[derive(Debug, Clone)]
pub struct ReplaceSpec {
    pub regexp: Regex,
    pub template: Template,
    /// The section pattern and its text (for the message).
    pub section: Option<(Regex, String)>,
}

#[derive(Debug, Clone)]
pub struct ReplaceParams {
    pub path: String,
    pub spec: ReplaceSpec,
    pub write: WriteArgs,
}

impl ReplaceSpec {
    pub fn from_params(p: &Params<'_>) -> Result<Self, ArgError> {
        let re_text = p.req_str("regexp")?;
        let regexp = pyre::compile("regexp", &re_text, true, false)
            .map_err(|e| ArgError::new(Some("regexp"), e))?;
        let template = Template::parse(&p.str_or("replace", ""), &regexp)
            .map_err(|e| ArgError::new(Some("replace"), e))?;
        let after = p.str("after").filter(|s| !s.is_empty());
        let before = p.str("before").filter(|s| !s.is_empty());
        let pattern = match (after, before) {
            (Some(a), Some(b)) => Some(format!("{a}(?P<subsection>.*?){b}")),
            (Some(a), None) => Some(format!("{a}(?P<subsection>.*)")),
            (None, Some(b)) => Some(format!("(?P<subsection>.*?){b}")),
            (None, None) => None,
        };
        let section = match pattern {
            Some(pat) => Some((
                pyre::compile("after/before", &pat, false, true)
                    .map_err(|e| ArgError::new(Some("after"), e))?,
                pat,
            )),
            None => None,
        };
        Ok(ReplaceSpec {
            regexp,
            template,
            section,
        })
    }
}

/// The transform: new content and message.
pub fn replace_transform(contents: &str, s: &ReplaceSpec) -> (String, String) {
    let (start, end) = match &s.section {
        Some((re, pat)) => match re.captures(contents).and_then(|c| c.name("subsection")) {
            Some(m) => (m.start(), m.end()),
            None => {
                return (
                    contents.to_string(),
                    format!("Pattern for before/after params did not match the given file: {pat}"),
                )
            }
        },
        None => (0, contents.len()),
    };
    let section = &contents[start..end];
    let (new_section, n) = pyre::subn(&s.regexp, &s.template, section);
    if n > 0 && new_section != section {
        let out = format!("{}{}{}", &contents[..start], new_section, &contents[end..]);
        (out, format!("{n} replacements made"))
    } else {
        (contents.to_string(), String::new())
    }
}

/// The `replace` module.
pub struct ReplaceModule;

impl Converge for ReplaceModule {
    type Params = ReplaceParams;
    type State = DestState;
    type Action = WriteAction;

    fn name(&self) -> &'static str {
        "replace"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn params(&self, args: &Args) -> Result<ReplaceParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        Ok(ReplaceParams {
            path: p.req_str("path")?,
            spec: ReplaceSpec::from_params(&p)?,
            write: WriteArgs::from_params(&p)?,
        })
    }
    fn inspect(&self, p: &ReplaceParams, target: &dyn Target) -> Result<DestState, ModuleError> {
        inspect_dest(target, &p.path, true)
    }
    fn plan(&self, p: &ReplaceParams, st: &DestState) -> Result<Plan<WriteAction>, ModuleError> {
        let Some(current) = current_text(st)? else {
            return Err(ModuleError::Failed(format!(
                "Path {} does not exist !",
                p.path
            )));
        };
        let (content, msg) = replace_transform(&current, &p.spec);
        let edit = Edit {
            content: Some(content),
            msg,
            data: Default::default(),
        };
        plan_edit(&p.write, st, edit, "backup_file")
    }
    fn apply(
        &self,
        _p: &ReplaceParams,
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

    fn spec(v: serde_json::Value) -> ReplaceSpec {
        let mut v = v;
        v["path"] = json!("/f");
        let args = v.as_object().cloned().unwrap();
        ReplaceSpec::from_params(&Params::new(SPEC, &args).unwrap()).unwrap()
    }

    #[test]
    fn replaces_all_multiline() {
        let s = spec(json!({"regexp": "^(\\w+) = old$", "replace": "\\1 = new"}));
        let (out, msg) = replace_transform("a = old\nb = old\nc = keep\n", &s);
        assert_eq!(out, "a = new\nb = new\nc = keep\n");
        assert_eq!(msg, "2 replacements made");
        assert_eq!(replace_transform(&out, &s), (out.clone(), String::new()));
    }

    #[test]
    fn sections() {
        let text = "x=1\n[a]\nx=1\n[b]\nx=1\n";
        let s = spec(
            json!({"regexp": "x=1", "replace": "x=2", "after": "\\[a\\]", "before": "\\[b\\]"}),
        );
        assert_eq!(replace_transform(text, &s).0, "x=1\n[a]\nx=2\n[b]\nx=1\n");
        let s = spec(json!({"regexp": "x=1", "replace": "x=2", "after": "\\[a\\]"}));
        assert_eq!(replace_transform(text, &s).0, "x=1\n[a]\nx=2\n[b]\nx=2\n");
        let s = spec(json!({"regexp": "x=1", "replace": "x=2", "before": "\\[a\\]"}));
        assert_eq!(replace_transform(text, &s).0, "x=2\n[a]\nx=1\n[b]\nx=1\n");
        let s = spec(json!({"regexp": "x=1", "replace": "x=2", "after": "nomatch"}));
        let (out, msg) = replace_transform(text, &s);
        assert_eq!(out, text);
        assert!(msg.starts_with("Pattern for before/after params did not match"));
    }

    #[test]
    fn removal_with_empty_replace() {
        let s = spec(json!({"regexp": "^#.*\\n"}));
        assert_eq!(replace_transform("#c\na\n#d\n", &s).0, "a\n");
    }
}
