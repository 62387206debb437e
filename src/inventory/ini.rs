//! INI inventories, parsed like Ansible's `ini` plugin: `[group]`, `[group:children]` and
//! `[group:vars]` sections, hosts before any section are `ungrouped`, `#` and `;` comment lines,
//! `host:port` and host ranges, inline `key=value` host variables.
//!
//! Values are typed the way Ansible's code does it (which its documentation describes loosely):
//! both host-line and `:vars` values go through Python's `ast.literal_eval`, so `22` is an
//! integer and `True` a boolean, while `yes`, `0644` or `hello world` stay strings. The
//! difference is quoting: a host line is first split like a shell command, which removes one level
//! of quotes (`x='1'` is the integer 1, `x="'1'"` the string "1"), while a `:vars` line takes
//! everything after the first `=` as the value (`x='1'` is the string "1", `x=a b` is "a b").

use super::builder::Builder;
use super::{literal, ranges, shlex};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::source::{SourceFile, Span};
use indexmap::IndexMap;
use regex::Regex;
use std::sync::{Arc, OnceLock};

fn section_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").unwrap())
}

fn group_name_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").unwrap())
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum State {
    Hosts,
    Children,
    Vars,
    /// After a broken section header: its lines are skipped rather than misread.
    Skip,
}

#[derive(PartialEq)]
enum PendingKind {
    Vars,
    Children,
}

/// A group used before it was declared (`[g:vars]`, or a child in `[p:children]`).
struct Pending {
    kind: PendingKind,
    span: Span,
    parents: Vec<String>,
}

/// Parse one INI inventory file into `b`, reporting every bad line.
pub fn parse(file: &Arc<SourceFile>, b: &mut Builder, diags: &mut Diagnostics) {
    let mut group = "ungrouped".to_string();
    let mut state = State::Hosts;
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    let mut offset = 0;
    for raw in file.text.split('\n') {
        let line_start = offset;
        offset += raw.len() + 1;
        let lead = raw.len() - raw.trim_start().len();
        let t = raw.trim();
        let base = line_start + lead;
        let span =
            |s: usize, e: usize| Span::new(file, base + s.min(t.len()), base + e.min(t.len()));
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }

        if let Some(c) = section_re().captures(t) {
            let name = c.get(1).unwrap().as_str().to_string();
            state = match c.get(2).map(|m| m.as_str()) {
                None | Some("hosts") => State::Hosts,
                Some("children") => State::Children,
                Some("vars") => State::Vars,
                Some(other) => {
                    let m = c.get(2).unwrap();
                    diags.push(
                        Diagnostic::at(&span(m.start(), m.end()), format!("Section [{name}:{other}] has unknown type: {other}"))
                            .with_hint(format!("a section is `[{name}]` (hosts), `[{name}:children]` or `[{name}:vars]`")),
                    );
                    State::Skip
                }
            };
            if state == State::Skip {
                continue;
            }
            if !b.has_group(&name) {
                // `[g]` or `[g:children]` declares a group; `[g:vars]` only refers to one, so it
                // must be declared somewhere in this file (Ansible checks at the end).
                if state == State::Vars && !pending.contains_key(&name) {
                    pending.insert(
                        name.clone(),
                        Pending {
                            kind: PendingKind::Vars,
                            span: span(0, t.len()),
                            parents: Vec::new(),
                        },
                    );
                }
                b.add_group(&name).ok();
            }
            if state != State::Vars {
                match pending.get(&name).map(|p| &p.kind) {
                    Some(PendingKind::Children) => {
                        add_pending_children(b, &mut pending, &name, diags)
                    }
                    Some(PendingKind::Vars) => {
                        pending.shift_remove(&name);
                    }
                    None => {}
                }
            }
            group = name;
            continue;
        } else if t.starts_with('[') && t.ends_with(']') {
            diags.push(
                Diagnostic::at(
                    &span(0, t.len()),
                    format!(
                        "Invalid section entry: '{t}'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters"
                    ),
                )
                .with_hint("a section header is `[name]`, `[name:vars]` or `[name:children]`; group names cannot contain spaces, `:` or `]`"),
            );
            state = State::Skip;
            continue;
        }

        match state {
            State::Skip => {}
            State::Hosts => host_line(t, &span, &group, b, diags),
            State::Vars => {
                let Some((k, v)) = t.split_once('=') else {
                    diags.push(
                        Diagnostic::at(&span(0, t.len()), format!("Expected key=value, got: {t}"))
                            .with_hint(format!("lines in a `[{group}:vars]` section set one variable each: `name=value`")),
                    );
                    continue;
                };
                let value = literal::parse_value(v.trim());
                if let Err(m) = b.set_group_var(&group, k.trim(), value) {
                    let vstart = t.len() - v.trim_start().len();
                    diags.push(Diagnostic::at(&span(vstart, t.len()), m));
                }
            }
            State::Children => {
                let Some(c) = group_name_re().captures(t) else {
                    diags.push(
                        Diagnostic::at(&span(0, t.len()), format!("Expected group name, got: {t}"))
                            .with_hint(format!(
                                "a `[{group}:children]` section lists one group name per line"
                            )),
                    );
                    continue;
                };
                let child = c.get(1).unwrap().as_str();
                let at = span(0, child.len());
                if child == "all" {
                    diags.push(
                        Diagnostic::at(&at, format!("Adding group 'all' as child to '{group}' creates a recursive dependency loop."))
                            .with_hint("every group is already a child of `all`"),
                    );
                } else if b.has_group(child) {
                    if let Err(m) = b.add_child(&group, child) {
                        diags.push(Diagnostic::at(&at, m));
                    }
                } else {
                    pending
                        .entry(child.to_string())
                        .or_insert(Pending {
                            kind: PendingKind::Children,
                            span: at,
                            parents: Vec::new(),
                        })
                        .parents
                        .push(group.clone());
                }
            }
        }
    }

    for (name, p) in pending {
        let d = match p.kind {
            PendingKind::Vars => Diagnostic::at(&p.span, format!("Section [{name}:vars] not valid for undefined group '{name}'."))
                .with_hint(format!(
                    "declare the group with a `[{name}]` section (it may be empty), or check the name's spelling"
                )),
            PendingKind::Children => Diagnostic::at(
                &p.span,
                format!(
                    "Section [{}:children] includes undefined group '{name}'.",
                    p.parents.last().map_or("", String::as_str)
                ),
            )
            .with_hint(format!("declare the group with a `[{name}]` section (it may be empty), or check the name's spelling")),
        };
        diags.push(d);
    }
}

/// A child group has been declared: link it to the parents that named it early.
fn add_pending_children(
    b: &mut Builder,
    pending: &mut IndexMap<String, Pending>,
    name: &str,
    diags: &mut Diagnostics,
) {
    let Some(p) = pending.shift_remove(name) else {
        return;
    };
    for parent in &p.parents {
        if let Err(m) = b.add_child(parent, name) {
            diags.push(Diagnostic::at(&p.span, m));
        }
        if pending
            .get(parent)
            .is_some_and(|pp| pp.kind == PendingKind::Children)
        {
            add_pending_children(b, pending, parent, diags);
        }
    }
}

/// `host[:port] [key=value ...]`, the host possibly a range.
fn host_line(
    t: &str,
    span: &dyn Fn(usize, usize) -> Span,
    group: &str,
    b: &mut Builder,
    diags: &mut Diagnostics,
) {
    let tokens = match shlex::split(t) {
        Ok(tokens) => tokens,
        Err(e) => {
            diags.push(
                Diagnostic::at(&span(e.at, e.at + 1), format!("Error parsing host definition '{t}': {}", e.message))
                    .with_hint("host lines are split like shell words: close every quote, and quote values containing spaces"),
            );
            return;
        }
    };
    let Some(first) = tokens.first() else {
        return;
    };
    let pattern = first.text.as_str();
    let (hosts, port) = match ranges::expand_hostpattern(pattern) {
        Ok(x) => x,
        Err(e) => {
            let s = (first.start + e.start).min(first.end);
            let en = (first.start + e.end).min(first.end).max(s + 1);
            let mut d = Diagnostic::at(&span(s, en), e.message);
            if pattern.starts_with('[') {
                d = d.with_hint("this line is read as a host; a section header may only be followed by a `#` comment");
            } else if let Some(h) = e.hint {
                d = d.with_hint(h);
            }
            diags.push(d);
            return;
        }
    };
    let mut bad = false;
    if pattern.trim().ends_with(':') && port.is_none() {
        diags.push(
            Diagnostic::at(
                &span(first.start, first.end),
                format!("Invalid host pattern '{pattern}' supplied, ending in ':' is not allowed, this character is reserved to provide a port."),
            )
            .with_hint("write a port as `host:2222`"),
        );
        bad = true;
    }
    if hosts.iter().any(|h| h.trim() == "---") {
        diags.push(
            Diagnostic::at(
                &span(first.start, first.end),
                format!("Invalid host pattern '{pattern}' supplied, '---' is normally a sign this is a YAML file."),
            )
            .with_hint("give YAML inventories a `.yml` or `.yaml` extension"),
        );
        bad = true;
    }
    let mut vars = Vec::new();
    for tok in &tokens[1..] {
        match tok.text.split_once('=') {
            Some((k, v)) => vars.push((k.to_string(), literal::parse_value(v))),
            None => {
                diags.push(
                    Diagnostic::at(&span(tok.start, tok.end), format!("Expected key=value host variable assignment, got: {}", tok.text))
                        .with_hint("host variables are written `name=value`; quote values that contain spaces: `name=\"a b\"`"),
                );
                bad = true;
            }
        }
    }
    if bad {
        return;
    }
    for h in &hosts {
        if let Err(m) = b.add_host(h, Some(group), port) {
            diags.push(Diagnostic::at(&span(first.start, first.end), m));
            return;
        }
        for (k, v) in &vars {
            b.set_host_var(h, k, v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(text: &str) -> Result<Builder, Diagnostics> {
        let file = SourceFile::new("hosts.ini", text);
        let mut b = Builder::new();
        let mut d = Diagnostics::default();
        parse(&file, &mut b, &mut d);
        d.finish(b)
    }

    fn err(text: &str) -> Diagnostic {
        let d = load(text).unwrap_err();
        d.0[0].clone()
    }

    #[test]
    fn sections_hosts_children_vars() {
        let b = load(
            "top1\n; comment\n# comment\n[web]\nweb1 ansible_host=10.0.0.1\nweb2:2222\n\n[db]\ndb1\n[prod:children]\nweb\ndb\n[prod:vars]\nenv=production\n",
        )
        .unwrap();
        assert_eq!(b.groups["ungrouped"].hosts, ["top1"]);
        assert_eq!(b.groups["web"].hosts, ["web1", "web2"]);
        assert_eq!(b.groups["prod"].children, ["web", "db"]);
        assert_eq!(b.groups["prod"].vars["env"], json!("production"));
        assert_eq!(b.hosts["web2"].vars["ansible_port"], json!(2222));
        assert_eq!(b.hosts["web1"].vars["ansible_host"], json!("10.0.0.1"));
    }

    #[test]
    fn host_line_and_vars_section_typing() {
        let b = load(concat!(
            "[g]\n",
            "h a=22 b=True c=true d='1' e=\"'1'\" f=\"x y\" g=0644 h=1.5 i=None j=[1,2] k=yes # comment\n",
            "[g:vars]\n",
            "a=22\n",
            "b=True\n",
            "c=FALSE\n",
            "d='1'\n",
            "e=hello world\n",
            "f=1 # trailing comment\n",
            "g = spaced \n",
        ))
        .unwrap();
        let h = &b.hosts["h"].vars;
        assert_eq!(h["a"], json!(22));
        assert_eq!(h["b"], json!(true));
        assert_eq!(h["c"], json!("true"));
        assert_eq!(
            h["d"],
            json!(1),
            "shell quotes are removed before literal_eval"
        );
        assert_eq!(h["e"], json!("1"));
        assert_eq!(h["f"], json!("x y"));
        assert_eq!(h["g"], json!("0644"));
        assert_eq!(h["h"], json!(1.5));
        assert_eq!(h["i"], json!(null));
        assert_eq!(h["j"], json!([1, 2]));
        assert_eq!(h["k"], json!("yes"));
        let g = &b.groups["g"].vars;
        assert_eq!(g["a"], json!(22));
        assert_eq!(g["b"], json!(true));
        assert_eq!(g["c"], json!("FALSE"));
        assert_eq!(
            g["d"],
            json!("1"),
            "a :vars value keeps its quotes for literal_eval"
        );
        assert_eq!(g["e"], json!("hello world"));
        assert_eq!(g["f"], json!(1));
        assert_eq!(g["g"], json!("spaced"));
    }

    #[test]
    fn ranges_and_duplicates() {
        let b = load(
            "[web]\nweb[01:03].example.com\n[db]\ndb-[a:b]\nn[1:5:2]\n[both]\nweb01.example.com\n",
        )
        .unwrap();
        assert_eq!(
            b.groups["web"].hosts,
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        assert_eq!(b.groups["db"].hosts, ["db-a", "db-b", "n1", "n3", "n5"]);
        assert_eq!(b.hosts.len(), 8);
        assert_eq!(b.groups["both"].hosts, ["web01.example.com"]);
    }

    #[test]
    fn children_before_definition() {
        let b = load("[parent:children]\nkid\n[kid]\nk1\n").unwrap();
        assert_eq!(b.groups["parent"].children, ["kid"]);
        assert_eq!(b.groups["kid"].parents, ["parent"]);
    }

    #[test]
    fn bad_range_points_at_its_column() {
        let e = err("[web]\n  web[01:x] a=1\n");
        let s = e.span.unwrap();
        assert_eq!((s.line, s.col), (2, 6));
        assert_eq!(s.text(), "[01:x]");
        assert!(e.message.contains("equal-length"), "{}", e.message);
    }

    #[test]
    fn unknown_section_type() {
        let e = err("[web]\nh\n[web:foo]\nx\n");
        let s = e.span.unwrap();
        assert_eq!((s.line, s.col), (3, 6));
        assert!(e.message.contains("unknown type: foo"), "{}", e.message);
        assert!(e.hint.unwrap().contains("[web:vars]"));
    }

    #[test]
    fn undefined_groups_are_errors() {
        let e = err("[ghost:vars]\na=1\n");
        assert!(
            e.message.contains("not valid for undefined group 'ghost'"),
            "{}",
            e.message
        );
        assert_eq!(e.span.unwrap().line, 1);
        let e = err("[p:children]\nnope\n");
        assert!(
            e.message.contains("includes undefined group 'nope'"),
            "{}",
            e.message
        );
        assert_eq!(e.span.unwrap().line, 2);
        // Declared later in the file: fine.
        load("[g:vars]\na=1\n[g]\nh\n").unwrap();
        load("[g:vars]\na=1\n[g:children]\n").unwrap();
    }

    #[test]
    fn line_errors() {
        let e = err("[g]\nh a=1 oops\n");
        assert!(e
            .message
            .contains("Expected key=value host variable assignment, got: oops"));
        assert_eq!(e.span.unwrap().col, 7);
        assert!(err("[g:vars]\nnovalue\n")
            .message
            .contains("Expected key=value"));
        assert!(err("[g:children]\ntwo words\n")
            .message
            .contains("Expected group name"));
        assert!(err("[bad name]\n")
            .message
            .contains("Invalid section entry"));
        assert!(err("h a=\"open\n").message.contains("No closing quotation"));
        assert!(err("---\n").message.contains("YAML"));
        assert!(err("[a:children]\nb\n[b:children]\na\n")
            .message
            .contains("recursive dependency loop"));
        assert!(err("[g:vars]\nansible_group_priority=high\n[g]\n")
            .message
            .contains("integer"));
        // Every bad line is reported, not just the first.
        assert_eq!(load("[g]\nh x\nh y\n").unwrap_err().0.len(), 2);
    }

    #[test]
    fn group_priority() {
        let b = load("[g]\n[g:vars]\nansible_group_priority=10\n").unwrap();
        assert_eq!(b.groups["g"].priority, 10);
        assert!(!b.groups["g"].vars.contains_key("ansible_group_priority"));
    }
}
