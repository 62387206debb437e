//! `lineinfile`: make sure one line is in a file (or that matching lines are not).
//!
//! The transform is a line-by-line port of Ansible's `present()`/`absent()`, because playbooks
//! rely on its exact rules: the LAST line matching `regexp` (or containing `search_string`) is
//! replaced (the first with `firstmatch`); otherwise, if the exact line is already anywhere, it
//! is left alone; otherwise it goes after the last match of `insertafter` / before the last match
//! of `insertbefore` (EOF when they match nothing, `BOF`/`EOF` literally), and with `backrefs`
//! nothing is added when `regexp` does not match. Patterns are matched against each line without
//! its `\n`, which is where Python's `$` matches too.

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
    ArgSpec::new("line", ArgKind::Str).aliases(&["value"]),
    ArgSpec::new("regexp", ArgKind::Str).aliases(&["regex"]),
    ArgSpec::new("search_string", ArgKind::Str),
    ArgSpec::new("state", ArgKind::Str).choices(&["absent", "present"]),
    ArgSpec::new("insertafter", ArgKind::Str),
    ArgSpec::new("insertbefore", ArgKind::Str),
    ArgSpec::new("create", ArgKind::Bool),
    ArgSpec::new("backrefs", ArgKind::Bool),
    ArgSpec::new("firstmatch", ArgKind::Bool),
    ArgSpec::new("mode", ArgKind::Mode),
    ArgSpec::new("owner", ArgKind::Str),
    ArgSpec::new("group", ArgKind::Str),
    ArgSpec::new("backup", ArgKind::Bool),
    ArgSpec::new("validate", ArgKind::Str),
    ArgSpec::new("unsafe_writes", ArgKind::Bool),
];

/// Where to insert a line that is not there yet.
#[derive(Debug, Clone)]
pub enum Anchor {
    Bof,
    Eof,
    Re(Regex),
}

/// The transform's parameters.
#[derive(Debug, Clone)]
pub struct LineSpec {
    pub line: Option<String>,
    pub regexp: Option<Regex>,
    /// Parsed `line` as a replacement template (only with `backrefs`).
    pub template: Option<Template>,
    pub search_string: Option<String>,
    pub present: bool,
    pub insertafter: Option<Anchor>,
    pub insertbefore: Option<Anchor>,
    pub create: bool,
    pub backrefs: bool,
    pub firstmatch: bool,
}

#[derive(Debug, Clone)]
pub struct LineParams {
    pub path: String,
    pub spec: LineSpec,
    pub write: WriteArgs,
}

fn arg_err(arg: &str, msg: impl Into<String>) -> ArgError {
    ArgError::new(Some(arg), msg)
}

impl LineSpec {
    pub fn from_params(p: &Params<'_>) -> Result<Self, ArgError> {
        let present = p.str_or("state", "present") == "present";
        let regexp_text = p.str("regexp");
        let search_string = p.str("search_string");
        let line = p.str("line");
        let backrefs = p.bool_or("backrefs", false);
        if regexp_text.is_some() && search_string.is_some() {
            return Err(arg_err(
                "regexp",
                "regexp and search_string are mutually exclusive",
            ));
        }
        if p.has("insertafter") && p.has("insertbefore") {
            return Err(arg_err(
                "insertafter",
                "insertafter and insertbefore are mutually exclusive",
            ));
        }
        if backrefs && search_string.is_some() {
            return Err(arg_err(
                "backrefs",
                "backrefs and search_string are mutually exclusive",
            ));
        }
        if present {
            if backrefs && regexp_text.is_none() {
                return Err(arg_err("regexp", "regexp is required with backrefs=true"));
            }
            if line.is_none() {
                return Err(arg_err("line", "line is required with state=present"));
            }
        } else if regexp_text.is_none() && search_string.is_none() && line.is_none() {
            return Err(ArgError::new(
                None,
                "one of line, search_string, or regexp is required with state=absent",
            ));
        }
        let regexp = match &regexp_text {
            Some(r) => {
                Some(pyre::compile("regexp", r, false, false).map_err(|e| arg_err("regexp", e))?)
            }
            None => None,
        };
        let template = match (&regexp, &line, backrefs) {
            (Some(re), Some(l), true) => {
                Some(Template::parse(l, re).map_err(|e| arg_err("line", e))?)
            }
            _ => None,
        };
        let anchor = |name: &str, bof_ok: bool, eof_ok: bool| -> Result<Option<Anchor>, ArgError> {
            Ok(match p.str(name) {
                None => None,
                Some(s) if s == "BOF" && bof_ok => Some(Anchor::Bof),
                Some(s) if s == "EOF" && eof_ok => Some(Anchor::Eof),
                Some(s) => Some(Anchor::Re(
                    pyre::compile(name, &s, false, false).map_err(|e| arg_err(name, e))?,
                )),
            })
        };
        Ok(LineSpec {
            line,
            regexp,
            template,
            search_string,
            present,
            insertafter: anchor("insertafter", true, true)?,
            insertbefore: anchor("insertbefore", true, false)?,
            create: p.bool_or("create", false),
            backrefs,
            firstmatch: p.bool_or("firstmatch", false),
        })
    }
}

/// A line without its line ending (`\r\n` or `\n`), as Python's `rstrip(b'\r\n')`.
fn rstrip_nl(l: &str) -> &str {
    l.trim_end_matches(['\r', '\n'])
}

/// A line without its final `\n`: what patterns are matched against.
fn match_text(l: &str) -> &str {
    l.strip_suffix('\n').unwrap_or(l)
}

/// Split keeping line endings, as Python's `readlines()`.
pub fn split_lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

/// Ansible's `present()`: returns (new lines, changed, msg).
pub fn present(lines: &[String], s: &LineSpec) -> (Vec<String>, bool, &'static str) {
    let mut lines = lines.to_vec();
    let line = s.line.clone().unwrap_or_default();
    let mut index0: Option<usize> = None;
    let mut index1: Option<usize> = None;
    let mut matched: Option<usize> = None; // line of the regexp/search_string match
    let bre_ins = match (&s.insertafter, &s.insertbefore) {
        (Some(Anchor::Re(r)), _) => Some(r),
        (None, Some(Anchor::Re(r))) => Some(r),
        _ => None,
    };
    if let Some(re) = &s.regexp {
        for (i, l) in lines.iter().enumerate() {
            if re.is_match(match_text(l)) {
                index0 = Some(i);
                matched = Some(i);
                if s.firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(ss) = &s.search_string {
        for (i, l) in lines.iter().enumerate() {
            if l.contains(ss.as_str()) {
                index0 = Some(i);
                matched = Some(i);
                if s.firstmatch {
                    break;
                }
            }
        }
    }
    if matched.is_none() {
        for (i, l) in lines.iter().enumerate() {
            if rstrip_nl(l) == line {
                index0 = Some(i);
            } else if let Some(re) = bre_ins {
                if re.is_match(match_text(l)) {
                    if s.insertafter.is_some() {
                        index1 = Some(i + 1);
                    } else {
                        index1 = Some(i);
                    }
                    if s.firstmatch {
                        break;
                    }
                }
            }
        }
    }
    let with_nl = |l: &str| {
        if l.ends_with('\n') {
            l.to_string()
        } else {
            format!("{l}\n")
        }
    };
    if let Some(i0) = index0 {
        let new_line = match (s.backrefs, matched, &s.regexp, &s.template) {
            (true, Some(m), Some(re), Some(tpl)) => match re.captures(match_text(&lines[m])) {
                Some(caps) => tpl.expand(&caps),
                None => line.clone(),
            },
            _ => line.clone(),
        };
        let new_line = with_nl(&new_line);
        if lines[i0] != new_line {
            lines[i0] = new_line;
            return (lines, true, "line replaced");
        }
        return (lines, false, "");
    }
    if s.backrefs {
        // Without a match there is nothing to fill the back-references with.
        return (lines, false, "");
    }
    let bof =
        matches!(s.insertbefore, Some(Anchor::Bof)) || matches!(s.insertafter, Some(Anchor::Bof));
    if bof {
        lines.insert(0, with_nl(&line));
        return (lines, true, "line added");
    }
    let push_eof = |mut lines: Vec<String>| {
        if lines
            .last()
            .is_some_and(|l| !l.ends_with('\n') && !l.ends_with('\r'))
        {
            // Ansible appends right after an unterminated last line in some branches; keep
            // lines whole instead.
            if let Some(last) = lines.last_mut() {
                last.push('\n');
            }
        }
        lines.push(with_nl(&line));
        (lines, true, "line added")
    };
    match index1 {
        // `insertafter: EOF`, or the anchor matched nothing: at the end.
        None => push_eof(lines),
        Some(i1) if s.insertafter.is_some() => {
            if lines.len() == i1 {
                if rstrip_nl(&lines[i1 - 1]) != line {
                    return push_eof(lines);
                }
                (lines, false, "")
            } else if line != rstrip_nl(&lines[i1]) {
                lines.insert(i1, with_nl(&line));
                (lines, true, "line added")
            } else {
                (lines, false, "")
            }
        }
        // insertbefore matched.
        Some(i1) => {
            lines.insert(i1, with_nl(&line));
            (lines, true, "line added")
        }
    }
}

/// Ansible's `absent()`: returns (new lines, number of lines removed).
pub fn absent(lines: &[String], s: &LineSpec) -> (Vec<String>, usize) {
    let line = s.line.clone().unwrap_or_default();
    let keep: Vec<String> = lines
        .iter()
        .filter(|l| {
            let hit = if let Some(re) = &s.regexp {
                re.is_match(match_text(l))
            } else if let Some(ss) = &s.search_string {
                l.contains(ss.as_str())
            } else {
                rstrip_nl(l) == line
            };
            !hit
        })
        .cloned()
        .collect();
    let found = lines.len() - keep.len();
    (keep, found)
}

/// The whole transform on file content (`None`: the file does not exist).
pub fn transform(current: Option<&str>, s: &LineSpec, path: &str) -> Result<Edit, ModuleError> {
    let mut edit = Edit::default();
    match current {
        None if !s.present => {
            edit.msg = "file not present".into();
            edit.data.insert("found".into(), 0.into());
            return Ok(edit);
        }
        None if !s.create => {
            return Err(ModuleError::Failed(format!(
                "Destination {path} does not exist !"
            )));
        }
        _ => {}
    }
    let lines = split_lines(current.unwrap_or(""));
    if s.present {
        let (new, _changed, msg) = present(&lines, s);
        edit.content = Some(new.concat());
        edit.msg = msg.to_string();
    } else {
        let (new, found) = absent(&lines, s);
        edit.content = Some(new.concat());
        edit.data.insert("found".into(), found.into());
        if found > 0 {
            edit.msg = format!("{found} line(s) removed");
        }
    }
    Ok(edit)
}

/// The `lineinfile` module.
pub struct LineinfileModule;

impl Converge for LineinfileModule {
    type Params = LineParams;
    type State = DestState;
    type Action = WriteAction;

    fn name(&self) -> &'static str {
        "lineinfile"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn params(&self, args: &Args) -> Result<LineParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        Ok(LineParams {
            path: p.req_str("path")?,
            spec: LineSpec::from_params(&p)?,
            write: WriteArgs::from_params(&p)?,
        })
    }
    fn inspect(&self, p: &LineParams, target: &dyn Target) -> Result<DestState, ModuleError> {
        inspect_dest(target, &p.path, true)
    }
    fn plan(&self, p: &LineParams, st: &DestState) -> Result<Plan<WriteAction>, ModuleError> {
        let edit = transform(current_text(st)?.as_deref(), &p.spec, &p.path)?;
        plan_edit(&p.write, st, edit, "backup")
    }
    fn apply(
        &self,
        _p: &LineParams,
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

    fn spec(v: serde_json::Value) -> LineSpec {
        let args = v.as_object().cloned().unwrap();
        let p = Params::new(SPEC, &args).unwrap();
        LineSpec::from_params(&p).unwrap()
    }

    fn run(content: &str, v: serde_json::Value) -> (String, String) {
        let mut v = v;
        v["path"] = json!("/f");
        let e = transform(Some(content), &spec(v), "/f").unwrap();
        (e.content.unwrap_or_default(), e.msg)
    }

    #[test]
    fn appends_when_absent_and_is_idempotent() {
        assert_eq!(
            run("a\nb\n", json!({"line": "c"})),
            ("a\nb\nc\n".into(), "line added".into())
        );
        assert_eq!(run("a\nb", json!({"line": "c"})).0, "a\nb\nc\n");
        assert_eq!(
            run("a\nc\nb\n", json!({"line": "c"})),
            ("a\nc\nb\n".into(), "".into())
        );
        assert_eq!(run("", json!({"line": "c"})).0, "c\n");
    }

    #[test]
    fn regexp_replaces_last_match() {
        let c = "#Port 22\nPort 22\nx\nPort 2222\n";
        assert_eq!(
            run(c, json!({"regexp": "^Port ", "line": "Port 2200"})),
            (
                "#Port 22\nPort 22\nx\nPort 2200\n".into(),
                "line replaced".into()
            )
        );
        assert_eq!(
            run(
                c,
                json!({"regexp": "^Port ", "line": "Port 2200", "firstmatch": true})
            )
            .0,
            "#Port 22\nPort 2200\nx\nPort 2222\n"
        );
        // `$` matches before the newline, like Python.
        assert_eq!(
            run("a=1\n", json!({"regexp": "^a=1$", "line": "a=2"})).0,
            "a=2\n"
        );
        // No match: appended at EOF.
        assert_eq!(
            run("x\n", json!({"regexp": "^y", "line": "y=1"})).0,
            "x\ny=1\n"
        );
        // Already there (matched by the regexp): unchanged.
        assert_eq!(
            run("y=1\n", json!({"regexp": "^y", "line": "y=1"})),
            ("y=1\n".into(), "".into())
        );
    }

    #[test]
    fn insertafter_and_insertbefore() {
        let c = "[a]\nk=1\n[b]\nk=2\n";
        assert_eq!(
            run(c, json!({"line": "new", "insertafter": "^\\[a\\]"})).0,
            "[a]\nnew\nk=1\n[b]\nk=2\n"
        );
        // Last match of insertafter by default, first with firstmatch.
        assert_eq!(
            run(c, json!({"line": "new", "insertafter": "^k="})).0,
            "[a]\nk=1\n[b]\nk=2\nnew\n"
        );
        assert_eq!(
            run(
                c,
                json!({"line": "new", "insertafter": "^k=", "firstmatch": true})
            )
            .0,
            "[a]\nk=1\nnew\n[b]\nk=2\n"
        );
        assert_eq!(
            run(c, json!({"line": "new", "insertbefore": "^\\[b\\]"})).0,
            "[a]\nk=1\nnew\n[b]\nk=2\n"
        );
        assert_eq!(
            run(c, json!({"line": "new", "insertbefore": "BOF"})).0,
            "new\n[a]\nk=1\n[b]\nk=2\n"
        );
        assert_eq!(
            run(c, json!({"line": "new", "insertafter": "EOF"})).0,
            "[a]\nk=1\n[b]\nk=2\nnew\n"
        );
        // insertafter matching nothing: EOF.
        assert_eq!(
            run(c, json!({"line": "new", "insertafter": "^zzz"})).0,
            "[a]\nk=1\n[b]\nk=2\nnew\n"
        );
        // insertafter with a regexp that does match: the regexp wins.
        assert_eq!(
            run(
                c,
                json!({"line": "k=9", "regexp": "^k=2", "insertafter": "^\\[a\\]"})
            )
            .0,
            "[a]\nk=1\n[b]\nk=9\n"
        );
        // Idempotent after insertion.
        let once = run(c, json!({"line": "new", "insertafter": "^\\[a\\]"})).0;
        assert_eq!(
            run(&once, json!({"line": "new", "insertafter": "^\\[a\\]"})).1,
            ""
        );
    }

    #[test]
    fn backrefs() {
        let c = "listen 80;\n";
        assert_eq!(
            run(c, json!({"regexp": "^listen (\\d+);", "line": "listen \\1 default;", "backrefs": true})).0,
            "listen 80 default;\n"
        );
        // No match with backrefs: nothing added.
        assert_eq!(
            run(
                "x\n",
                json!({"regexp": "^nope(.*)", "line": "\\1", "backrefs": true})
            ),
            ("x\n".into(), "".into())
        );
    }

    #[test]
    fn search_string_and_absent() {
        assert_eq!(
            run("a.b=1\n", json!({"search_string": "a.b", "line": "a.b=2"})).0,
            "a.b=2\n"
        );
        let (c, m) = run("a\nb\na\n", json!({"line": "a", "state": "absent"}));
        assert_eq!((c.as_str(), m.as_str()), ("b\n", "2 line(s) removed"));
        assert_eq!(
            run("ab\nb\n", json!({"regexp": "^a", "state": "absent"})).0,
            "b\n"
        );
        assert_eq!(
            run("b\n", json!({"regexp": "^a", "state": "absent"})),
            ("b\n".into(), "".into())
        );
    }

    #[test]
    fn missing_file() {
        let s = spec(json!({"path": "/f", "line": "x"}));
        assert!(transform(None, &s, "/f").is_err());
        let s = spec(json!({"path": "/f", "line": "x", "create": true}));
        assert_eq!(
            transform(None, &s, "/f").unwrap().content.as_deref(),
            Some("x\n")
        );
        let s = spec(json!({"path": "/f", "line": "x", "state": "absent"}));
        assert_eq!(transform(None, &s, "/f").unwrap().content, None);
    }

    #[test]
    fn argument_errors() {
        let bad = |v: serde_json::Value| {
            let args = v.as_object().cloned().unwrap();
            let p = Params::new(SPEC, &args).unwrap();
            LineSpec::from_params(&p).is_err()
        };
        assert!(bad(json!({"path": "/f"})));
        assert!(bad(json!({"path": "/f", "line": "x", "backrefs": true})));
        assert!(bad(
            json!({"path": "/f", "line": "x", "regexp": "a", "search_string": "b"})
        ));
        assert!(bad(json!({"path": "/f", "state": "absent"})));
        assert!(bad(json!({"path": "/f", "line": "x", "regexp": "(?=a)"})));
        assert!(bad(
            json!({"path": "/f", "line": "x", "insertafter": "a", "insertbefore": "b"})
        ));
    }
}
