//! `assemble`: a file made of the fragments in a directory, as Ansible's `assemble` (module and
//! action plugin): the fragments sorted by name, filtered by `regexp` and `ignore_hidden`,
//! joined with an optional `delimiter`, then written to `dest` as `copy` writes a file
//! (`mode`, `owner`, `group`, `backup`, `validate`, diff, idempotence). The fragments are on the
//! host (`remote_src: true`, the default) or on the controller.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::common::b64_encode;
use crate::contract::{Controller, Module, ModuleError, Outcome, RunMode};
use crate::copy::CopyModule;
use crate::target::{Command, Target};
use serde_json::Value;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("src", ArgKind::Str).required(),
    ArgSpec::new("dest", ArgKind::Str).required(),
    ArgSpec::new("delimiter", ArgKind::Str),
    ArgSpec::new("regexp", ArgKind::Str),
    ArgSpec::new("ignore_hidden", ArgKind::Bool),
    ArgSpec::new("remote_src", ArgKind::Bool),
    ArgSpec::new("decrypt", ArgKind::Bool),
    ArgSpec::new("mode", ArgKind::Mode),
    ArgSpec::new("owner", ArgKind::Str),
    ArgSpec::new("group", ArgKind::Str),
    ArgSpec::new("backup", ArgKind::Bool),
    ArgSpec::new("validate", ArgKind::Str),
];

/// The `assemble` module.
pub struct AssembleModule;

impl Module for AssembleModule {
    fn name(&self) -> &'static str {
        "assemble"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        self.run_with(target, args, mode, &crate::contract::NoController)
    }

    fn run_with(
        &self,
        target: &dyn Target,
        args: &Args,
        mode: RunMode,
        ctl: &dyn Controller,
    ) -> Result<Outcome, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let src = p.req_str("src")?;
        let fragments = if p.bool_or("remote_src", true) {
            host_fragments(target, &src)?
        } else {
            ctl.controller_dir(&src).map_err(ModuleError::Failed)?
        };
        let regexp = match p.str("regexp") {
            Some(r) => Some(
                crate::pyre::compile("regexp", &r, false, false)
                    .map_err(|e| ArgError::new(Some("regexp"), e))?,
            ),
            None => None,
        };
        let wanted = fragments.into_iter().filter(|(name, _)| {
            regexp.as_ref().is_none_or(|re| re.is_match(name))
                && !(p.bool_or("ignore_hidden", false) && name.starts_with('.'))
        });
        let delimiter = p.str("delimiter").map(|d| unescape(&d));
        let content = assemble(wanted, delimiter.as_deref());
        let mut copy_args = serde_json::Map::new();
        for k in ["dest", "mode", "owner", "group", "backup", "validate"] {
            if let Some(v) = args.get(k) {
                copy_args.insert(k.into(), v.clone());
            }
        }
        copy_args.insert("src".into(), Value::String(src));
        copy_args.insert("_content_b64".into(), Value::String(b64_encode(&content)));
        CopyModule.run_with(target, &copy_args, mode, ctl)
    }
}

/// The regular files directly in `dir` on the host, by name, with their content.
fn host_fragments(target: &dyn Target, dir: &str) -> Result<Vec<(String, Vec<u8>)>, ModuleError> {
    let out = target.run(&Command::argv([
        "find",
        dir,
        "-mindepth",
        "1",
        "-maxdepth",
        "1",
        "-type",
        "f",
        "-printf",
        "%f\\0",
    ]))?;
    if !out.success() {
        return Err(ModuleError::Failed(format!(
            "Source ({dir}) is not a directory"
        )));
    }
    let mut names: Vec<String> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    names.sort();
    let mut fragments = Vec::new();
    for name in names {
        let path = format!("{}/{name}", dir.trim_end_matches('/'));
        if let Some(data) = target.read_file(&path)? {
            fragments.push((name, data));
        }
    }
    Ok(fragments)
}

/// Ansible's `assemble_from_fragments`: a newline after a fragment that lacks one (before the
/// next), the delimiter between fragments, always followed by a newline.
pub fn assemble(
    fragments: impl Iterator<Item = (String, Vec<u8>)>,
    delimiter: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut first, mut add_newline) = (true, false);
    for (_, content) in fragments {
        if add_newline {
            out.push(b'\n');
        }
        if let (false, Some(d)) = (first, delimiter) {
            out.extend_from_slice(d);
            // Python compares an int with b'\n' there, so the newline always follows.
            out.push(b'\n');
        }
        out.extend_from_slice(&content);
        first = false;
        add_newline = !content.ends_with(b"\n");
    }
    out
}

/// Python's `codecs.escape_decode` for the escapes a delimiter holds (`\n`, `\t`, `\\`, `\xNN`).
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('r') => out.push(b'\r'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some('\'') => out.push(b'\''),
            Some('"') => out.push(b'"'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                match u8::from_str_radix(&hex, 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(format!("\\x{hex}").as_bytes()),
                }
            }
            Some(other) => {
                out.push(b'\\');
                let mut buf = [0u8; 4];
                out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
            None => out.push(b'\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frags(parts: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        parts
            .iter()
            .map(|(n, c)| (n.to_string(), c.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn joins_as_ansible_does() {
        let f = frags(&[("a", "one\n"), ("b", "two"), ("c", "three\n")]);
        assert_eq!(assemble(f.clone().into_iter(), None), b"one\ntwo\nthree\n");
        assert_eq!(
            assemble(f.into_iter(), Some(b"#--")),
            b"one\n#--\ntwo\n#--\nthree\n"
        );
        assert_eq!(unescape("a\\nb\\x41"), b"a\nbA");
    }
}
