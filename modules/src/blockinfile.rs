//! `blockinfile`: a block of lines between two marker lines, inserted, updated or removed.
//!
//! A port of Ansible's algorithm: the markers are `marker` with `{mark}` replaced by
//! `marker_begin`/`marker_end`; an existing block (both markers found, compared as whole lines)
//! is replaced in place, otherwise the block goes after the last line matching `insertafter`
//! (or before the last match of `insertbefore`, `BOF`, default `EOF`). An empty `block` or
//! `state: absent` removes it.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::contract::{Converge, ModuleError, Plan};
use crate::filewrite::{apply_write, inspect_dest, DestState, WriteAction, WriteArgs};
use crate::lineinfile::Anchor;
use crate::pyre;
use crate::target::Target;
use crate::textedit::{current_text, plan_edit, Edit};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("path", ArgKind::Str)
        .required()
        .aliases(&["dest", "destfile", "name"]),
    ArgSpec::new("block", ArgKind::Str).aliases(&["content"]),
    ArgSpec::new("marker", ArgKind::Str),
    ArgSpec::new("marker_begin", ArgKind::Str),
    ArgSpec::new("marker_end", ArgKind::Str),
    ArgSpec::new("state", ArgKind::Str).choices(&["absent", "present"]),
    ArgSpec::new("insertafter", ArgKind::Str),
    ArgSpec::new("insertbefore", ArgKind::Str),
    ArgSpec::new("create", ArgKind::Bool),
    ArgSpec::new("append_newline", ArgKind::Bool),
    ArgSpec::new("prepend_newline", ArgKind::Bool),
    ArgSpec::new("mode", ArgKind::Mode),
    ArgSpec::new("owner", ArgKind::Str),
    ArgSpec::new("group", ArgKind::Str),
    ArgSpec::new("backup", ArgKind::Bool),
    ArgSpec::new("validate", ArgKind::Str),
    ArgSpec::new("unsafe_writes", ArgKind::Bool),
];

/// The transform's parameters.
#[derive(Debug, Clone)]
pub struct BlockSpec {
    pub block: String,
    pub marker_begin: String,
    pub marker_end: String,
    pub present: bool,
    /// `(anchor, after)`: where a new block goes.
    pub anchor: Anchor,
    pub after: bool,
    pub create: bool,
    pub append_newline: bool,
    pub prepend_newline: bool,
}

#[derive(Debug, Clone)]
pub struct BlockParams {
    pub path: String,
    pub spec: BlockSpec,
    pub write: WriteArgs,
}

impl BlockSpec {
    pub fn from_params(p: &Params<'_>) -> Result<Self, ArgError> {
        if p.has("insertafter") && p.has("insertbefore") {
            return Err(ArgError::new(
                Some("insertafter"),
                "insertafter and insertbefore are mutually exclusive",
            ));
        }
        let marker = p.str_or("marker", "# {mark} ANSIBLE MANAGED BLOCK");
        let begin = p.str_or("marker_begin", "BEGIN");
        let end = p.str_or("marker_end", "END");
        let compile = |name: &str, s: &str| {
            pyre::compile(name, s, false, false).map_err(|e| ArgError::new(Some(name), e))
        };
        let (anchor, after) = match (p.str("insertafter"), p.str("insertbefore")) {
            (_, Some(b)) if b == "BOF" => (Anchor::Bof, false),
            (_, Some(b)) => (Anchor::Re(compile("insertbefore", &b)?), false),
            (Some(a), None) if a == "EOF" => (Anchor::Eof, true),
            (Some(a), None) => (Anchor::Re(compile("insertafter", &a)?), true),
            (None, None) => (Anchor::Eof, true),
        };
        Ok(BlockSpec {
            block: p.str_or("block", ""),
            marker_begin: marker.replace("{mark}", &begin),
            marker_end: marker.replace("{mark}", &end),
            present: p.str_or("state", "present") == "present",
            anchor,
            after,
            create: p.bool_or("create", false),
            append_newline: p.bool_or("append_newline", false),
            prepend_newline: p.bool_or("prepend_newline", false),
        })
    }
}

/// Python's `splitlines(True)` (`\n`, `\r\n` and `\r` end a line).
fn splitlines_keep(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        cur.push(c);
        if c == '\n' || (c == '\r' && chars.peek() != Some(&'\n')) {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The new content for `original` (`None`: the file does not exist), and the message.
pub fn block_transform(original: Option<&str>, s: &BlockSpec) -> (String, &'static str) {
    let mut lines = splitlines_keep(original.unwrap_or(""));
    let marker0 = format!("{}\n", s.marker_begin);
    let marker1 = format!("{}\n", s.marker_end);
    let blocklines: Vec<String> = if s.present && !s.block.is_empty() {
        let mut block = s.block.clone();
        if !block.ends_with('\n') {
            block.push('\n');
        }
        let mut v = vec![marker0.clone()];
        v.extend(splitlines_keep(&block));
        v.push(marker1.clone());
        v
    } else {
        Vec::new()
    };
    let mut n0 = None;
    let mut n1 = None;
    for (i, l) in lines.iter().enumerate() {
        if *l == marker0 {
            n0 = Some(i);
        }
        if *l == marker1 {
            n1 = Some(i);
        }
    }
    let at = match (n0, n1) {
        (Some(a), Some(b)) => {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            lines.drain(lo..=hi);
            lo
        }
        _ => match &s.anchor {
            Anchor::Re(re) => {
                let mut found = None;
                for (i, l) in lines.iter().enumerate() {
                    if re.is_match(l.strip_suffix('\n').unwrap_or(l)) {
                        found = Some(i);
                    }
                }
                match found {
                    None => lines.len(),
                    Some(i) if s.after => i + 1,
                    Some(i) => i,
                }
            }
            Anchor::Bof => 0,
            Anchor::Eof => lines.len(),
        },
    };
    // A line separator before the block.
    if at > 0 && !lines[at - 1].ends_with('\n') {
        lines[at - 1].push('\n');
    }
    let mut block = blocklines.clone();
    if !block.is_empty() {
        if s.prepend_newline && at > 0 && lines[at - 1].trim() != "" {
            block.insert(0, "\n".to_string());
        }
        if s.append_newline && at < lines.len() && lines[at].trim() != "" {
            block.push("\n".to_string());
        }
    }
    lines.splice(at..at, block);
    let result = lines.concat();
    let msg = if original == Some(result.as_str()) {
        ""
    } else if original.is_none() {
        "File created"
    } else if blocklines.is_empty() {
        "Block removed"
    } else {
        "Block inserted"
    };
    (result, msg)
}

/// The `blockinfile` module.
pub struct BlockinfileModule;

impl Converge for BlockinfileModule {
    type Params = BlockParams;
    type State = DestState;
    type Action = WriteAction;

    fn name(&self) -> &'static str {
        "blockinfile"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn params(&self, args: &Args) -> Result<BlockParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        Ok(BlockParams {
            path: p.req_str("path")?,
            spec: BlockSpec::from_params(&p)?,
            write: WriteArgs::from_params(&p)?,
        })
    }
    fn inspect(&self, p: &BlockParams, target: &dyn Target) -> Result<DestState, ModuleError> {
        inspect_dest(target, &p.path, true)
    }
    fn plan(&self, p: &BlockParams, st: &DestState) -> Result<Plan<WriteAction>, ModuleError> {
        let current = current_text(st)?;
        if current.is_none() && !p.spec.create {
            return Err(ModuleError::Failed(format!(
                "Path {} does not exist !",
                p.path
            )));
        }
        let (content, msg) = block_transform(current.as_deref(), &p.spec);
        let edit = Edit {
            content: Some(content),
            msg: msg.to_string(),
            data: Default::default(),
        };
        plan_edit(&p.write, st, edit, "backup_file")
    }
    fn apply(
        &self,
        _p: &BlockParams,
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

    fn spec(v: serde_json::Value) -> BlockSpec {
        let mut v = v;
        v["path"] = json!("/f");
        let args = v.as_object().cloned().unwrap();
        BlockSpec::from_params(&Params::new(SPEC, &args).unwrap()).unwrap()
    }

    const B: &str = "# BEGIN ANSIBLE MANAGED BLOCK\n";
    const E: &str = "# END ANSIBLE MANAGED BLOCK\n";

    #[test]
    fn insert_update_remove() {
        let s = spec(json!({"block": "a=1\nb=2"}));
        let (out, msg) = block_transform(Some("x\ny"), &s);
        assert_eq!(out, format!("x\ny\n{B}a=1\nb=2\n{E}"));
        assert_eq!(msg, "Block inserted");
        assert_eq!(block_transform(Some(&out), &s), (out.clone(), ""));
        let s2 = spec(json!({"block": "a=3"}));
        assert_eq!(
            block_transform(Some(&out), &s2).0,
            format!("x\ny\n{B}a=3\n{E}")
        );
        let gone = spec(json!({"state": "absent"}));
        assert_eq!(
            block_transform(Some(&out), &gone),
            ("x\ny\n".to_string(), "Block removed")
        );
        assert_eq!(block_transform(Some("x\n"), &gone), ("x\n".to_string(), ""));
    }

    #[test]
    fn anchors_and_markers() {
        let s = spec(
            json!({"block": "k", "insertbefore": "BOF", "marker": "<!-- {mark} -->", "marker_begin": "start"}),
        );
        assert_eq!(
            block_transform(Some("x\n"), &s).0,
            "<!-- start -->\nk\n<!-- END -->\nx\n"
        );
        let s = spec(json!({"block": "k", "insertafter": "^\\[main\\]"}));
        assert_eq!(
            block_transform(Some("[main]\na\n"), &s).0,
            format!("[main]\n{B}k\n{E}a\n")
        );
        let s = spec(json!({"block": "k", "insertbefore": "^a"}));
        assert_eq!(
            block_transform(Some("[main]\na\n"), &s).0,
            format!("[main]\n{B}k\n{E}a\n")
        );
        let s = spec(json!({"block": "k", "insertafter": "nomatch"}));
        assert_eq!(block_transform(Some("a\n"), &s).0, format!("a\n{B}k\n{E}"));
        let s = spec(
            json!({"block": "k", "prepend_newline": true, "append_newline": true, "insertbefore": "^b"}),
        );
        assert_eq!(
            block_transform(Some("a\nb\n"), &s).0,
            format!("a\n\n{B}k\n{E}\nb\n")
        );
        assert_eq!(
            block_transform(None, &spec(json!({"block": "k"}))),
            (format!("{B}k\n{E}"), "File created")
        );
    }
}
