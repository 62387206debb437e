//! A YAML loader that keeps the position of every node.
//!
//! serde_yaml is archived and reports positions only for syntax errors; converge needs the line
//! and column of every value to point at bad input. This builds a [`Node`] tree from
//! saphyr-parser's events, resolves scalars the way Ansible's PyYAML does (YAML 1.1: `yes`/`no`
//! are booleans, `0644` is octal), supports anchors, aliases and `<<` merge keys, and refuses
//! alias bombs and absurd nesting with a clear error instead of running out of memory.

use crate::diagnostics::Diagnostic;
use crate::source::{SourceFile, Span};
use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Most nodes one document may expand to, aliases included (an alias bomb expands to billions).
pub const MAX_NODES: usize = 2_000_000;
/// Deepest nesting accepted.
pub const MAX_DEPTH: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A YAML value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Yaml,
    pub span: Span,
}

impl Node {
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            Yaml::Null => "null",
            Yaml::Bool(_) => "a boolean",
            Yaml::Int(_) => "an integer",
            Yaml::Float(_) => "a number",
            Yaml::Str(_) => "a string",
            Yaml::Seq(_) => "a list",
            Yaml::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Yaml::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Yaml::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Yaml::Null)
    }

    /// The value under a string key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A scalar as text (numbers and booleans as written by YAML 1.1), for keys and free-form
    /// values.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Yaml::Str(s) => Some(s.clone()),
            Yaml::Int(i) => Some(i.to_string()),
            Yaml::Float(f) => Some(f.to_string()),
            Yaml::Bool(b) => Some(b.to_string()),
            Yaml::Null => Some(String::new()),
            _ => None,
        }
    }

    /// The mapping, or an error naming what was expected at this node.
    pub fn expect_map(&self, what: &str) -> Result<&[(Node, Node)], Diagnostic> {
        match &self.value {
            Yaml::Map(m) => Ok(m),
            Yaml::Null => Ok(&[]),
            _ => Err(Diagnostic::at(
                &self.span,
                format!("{what} must be a mapping, found {}", self.kind_name()),
            )),
        }
    }

    /// The mapping's keys as strings, or an error at the first key that is not one.
    pub fn string_keys(&self, what: &str) -> Result<Vec<(String, &Node, &Node)>, Diagnostic> {
        self.expect_map(what)?
            .iter()
            .map(|(k, v)| match k.scalar_text() {
                Some(s) if !matches!(k.value, Yaml::Null) => Ok((s, k, v)),
                _ => Err(Diagnostic::at(
                    &k.span,
                    format!("keys of {what} must be strings"),
                )),
            })
            .collect()
    }

    /// Convert to JSON (mapping keys become strings), the form modules and templates use.
    pub fn to_json(&self) -> Value {
        match &self.value {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Int(i) => Value::Number((*i).into()),
            Yaml::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Yaml::Str(s) => Value::String(s.clone()),
            Yaml::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Yaml::Map(entries) => {
                let mut m = Map::new();
                for (k, v) in entries {
                    m.insert(
                        k.scalar_text().unwrap_or_else(|| k.to_json().to_string()),
                        v.to_json(),
                    );
                }
                Value::Object(m)
            }
        }
    }

    fn count(&self) -> usize {
        match &self.value {
            Yaml::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            Yaml::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.count() + v.count())
                    .sum::<usize>()
            }
            _ => 1,
        }
    }
}

/// Parse every document of a file.
pub fn load_all(file: &Arc<SourceFile>) -> Result<Vec<Node>, Diagnostic> {
    Builder::new(file).run()
}

/// Parse a file holding one document (an empty file is `null`).
pub fn load(file: &Arc<SourceFile>) -> Result<Node, Diagnostic> {
    let mut docs = load_all(file)?;
    if docs.len() > 1 {
        let second = &docs[1];
        return Err(
            Diagnostic::at(&second.span, "expected one YAML document, found several")
                .with_hint("remove the extra `---` separator"),
        );
    }
    Ok(docs.pop().unwrap_or(Node {
        value: Yaml::Null,
        span: Span::file_start(file),
    }))
}

/// Read and parse a YAML file from disk.
pub fn load_path(path: &std::path::Path) -> Result<Node, Diagnostic> {
    let file = SourceFile::read(path).map_err(|m| Diagnostic::new(m, None))?;
    load(&file)
}

enum Frame {
    Seq {
        anchor: usize,
        start: usize,
        items: Vec<Node>,
    },
    Map {
        anchor: usize,
        start: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

struct Builder<'a> {
    file: &'a Arc<SourceFile>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    stack: Vec<Frame>,
    docs: Vec<Node>,
}

impl<'a> Builder<'a> {
    fn new(file: &'a Arc<SourceFile>) -> Self {
        Builder {
            file,
            anchors: HashMap::new(),
            nodes: 0,
            stack: Vec::new(),
            docs: Vec::new(),
        }
    }

    fn span(&self, s: &saphyr_parser::Span) -> Span {
        let start = self.file.offset(s.start.line(), s.start.col());
        let end = self.file.offset(s.end.line(), s.end.col());
        Span::new(self.file, start, end)
    }

    fn run(mut self) -> Result<Vec<Node>, Diagnostic> {
        let mut parser = Parser::new_from_str(&self.file.text);
        while let Some(ev) = parser.next_event() {
            let (event, raw_span) = ev.map_err(|e| {
                let m = e.marker();
                let at = self.file.offset(m.line(), m.col());
                Diagnostic::at(
                    &Span::new(self.file, at, at + 1),
                    format!("YAML syntax error: {}", e.info()),
                )
            })?;
            let span = self.span(&raw_span);
            match event {
                Event::Scalar(text, style, anchor, tag) => {
                    let tag = tag.map(|t| t.suffix.clone());
                    let value = resolve_scalar(&text, style, tag.as_deref());
                    self.push(Node { value, span }, anchor)?;
                }
                Event::Alias(id) => {
                    let (node, size) = self.anchors.get(&id).cloned().ok_or_else(|| {
                        Diagnostic::at(&span, "alias refers to an unknown anchor")
                    })?;
                    self.nodes += size;
                    if self.nodes > MAX_NODES {
                        return Err(Diagnostic::at(
                            &span,
                            format!("document expands to more than {MAX_NODES} nodes through aliases; refusing it (an alias bomb?)"),
                        ));
                    }
                    self.push(node, 0)?;
                }
                Event::SequenceStart(anchor, _) => {
                    self.enter(&span)?;
                    self.stack.push(Frame::Seq {
                        anchor,
                        start: span.start,
                        items: Vec::new(),
                    });
                }
                Event::MappingStart(anchor, _) => {
                    self.enter(&span)?;
                    self.stack.push(Frame::Map {
                        anchor,
                        start: span.start,
                        entries: Vec::new(),
                        key: None,
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let frame = self
                        .stack
                        .pop()
                        .ok_or_else(|| Diagnostic::at(&span, "unbalanced YAML structure"))?;
                    let (value, anchor, start) = match frame {
                        Frame::Seq {
                            anchor,
                            start,
                            items,
                        } => (Yaml::Seq(items), anchor, start),
                        Frame::Map {
                            anchor,
                            start,
                            entries,
                            ..
                        } => (Yaml::Map(apply_merge_keys(entries)), anchor, start),
                    };
                    let node = Node {
                        value,
                        span: Span::new(self.file, start, span.end.max(start)),
                    };
                    self.push(node, anchor)?;
                }
                Event::StreamEnd => break,
                Event::StreamStart
                | Event::DocumentStart(_)
                | Event::DocumentEnd
                | Event::Nothing => {}
            }
        }
        Ok(self.docs)
    }

    fn enter(&mut self, span: &Span) -> Result<(), Diagnostic> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Diagnostic::at(
                span,
                format!("YAML nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn push(&mut self, node: Node, anchor: usize) -> Result<(), Diagnostic> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::at(
                &node.span,
                format!("document has more than {MAX_NODES} nodes"),
            ));
        }
        if anchor != 0 {
            let size = node.count();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
        Ok(())
    }
}

/// `<<: *base` and `<<: [*a, *b]`: copy in the entries the mapping does not set itself.
fn apply_merge_keys(entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    if !entries.iter().any(|(k, _)| k.as_str() == Some("<<")) {
        return entries;
    }
    let mut own = Vec::new();
    let mut merged: Vec<(Node, Node)> = Vec::new();
    for (k, v) in entries {
        if k.as_str() == Some("<<") {
            let sources: Vec<Node> = match v.value {
                Yaml::Seq(items) => items,
                _ => vec![v],
            };
            for src in sources {
                if let Yaml::Map(m) = src.value {
                    for (mk, mv) in m {
                        if !merged.iter().any(|(e, _)| e.value == mk.value) {
                            merged.push((mk, mv));
                        }
                    }
                }
            }
        } else {
            own.push((k, v));
        }
    }
    for (mk, mv) in merged {
        if !own.iter().any(|(e, _)| e.value == mk.value) {
            own.push((mk, mv));
        }
    }
    own
}

/// Resolve a scalar like PyYAML (YAML 1.1), which is what Ansible users' files are written for.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Yaml {
    match tag {
        Some("str") | Some("unsafe") | Some("vault") => return Yaml::Str(text.to_string()),
        Some("int") => {
            if let Some(i) = parse_int(text) {
                return Yaml::Int(i);
            }
        }
        Some("float") => {
            if let Some(f) = parse_float(text) {
                return Yaml::Float(f);
            }
        }
        Some("bool") => {
            if let Some(b) = parse_bool(text) {
                return Yaml::Bool(b);
            }
        }
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Yaml::Str(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Yaml::Null,
        _ => {}
    }
    if let Some(b) = parse_bool(text) {
        return Yaml::Bool(b);
    }
    if let Some(i) = parse_int(text) {
        return Yaml::Int(i);
    }
    if let Some(f) = parse_float(text) {
        return Yaml::Float(f);
    }
    Yaml::Str(text.to_string())
}

fn parse_bool(t: &str) -> Option<bool> {
    match t {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

fn parse_int(t: &str) -> Option<i64> {
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if body.is_empty() || !body.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let clean: String = body.chars().filter(|c| *c != '_').collect();
    let v = if let Some(hex) = clean.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = clean.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if let Some(bin) = clean.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if clean.len() > 1 && clean.starts_with('0') {
        // YAML 1.1 octal: `mode: 0644`.
        i64::from_str_radix(&clean[1..], 8).ok()?
    } else if clean.bytes().all(|b| b.is_ascii_digit()) {
        clean.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

fn parse_float(t: &str) -> Option<f64> {
    match t {
        ".inf" | ".Inf" | ".INF" | "+.inf" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let body = t.trim_start_matches(['-', '+']);
    let starts_ok = body.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if !starts_ok
        || !body.contains(['.', 'e', 'E'])
        || body.contains(|c: char| c.is_alphabetic() && c != 'e' && c != 'E')
    {
        return None;
    }
    t.replace('_', "").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Node, Diagnostic> {
        load(&SourceFile::new("t.yml", text))
    }

    #[test]
    fn scalars_resolve_like_pyyaml() {
        let n =
            parse("a: yes\nb: 0644\nc: '0644'\nd: 1.5\ne: ~\nf: hello\ng: 12\nh: 0x1f\n").unwrap();
        let j = n.to_json();
        assert_eq!(j["a"], Value::Bool(true));
        assert_eq!(j["b"], Value::from(420));
        assert_eq!(j["c"], Value::from("0644"));
        assert_eq!(j["d"], Value::from(1.5));
        assert_eq!(j["e"], Value::Null);
        assert_eq!(j["f"], Value::from("hello"));
        assert_eq!(j["g"], Value::from(12));
        assert_eq!(j["h"], Value::from(31));
    }

    #[test]
    fn positions_point_at_values() {
        let n = parse("- name: x\n  copy:\n    dest: /tmp/a\n").unwrap();
        let task = &n.as_seq().unwrap()[0];
        let dest = task.get("copy").unwrap().get("dest").unwrap();
        assert_eq!((dest.span.line, dest.span.col), (3, 11));
        assert_eq!(dest.span.text(), "/tmp/a");
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let n = parse("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b]\n").unwrap();
        let j = n.to_json();
        assert_eq!(j["other"]["x"], Value::from(1));
        assert_eq!(j["other"]["y"], Value::from(3));
        assert_eq!(j["list"][0]["y"], Value::from(2));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{}", err.message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let err = parse(&text).unwrap_err();
        assert!(
            err.message.contains("nesting") || err.message.contains("recursion limit"),
            "{}",
            err.message
        );
    }

    #[test]
    fn syntax_errors_carry_positions() {
        let err = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.span.is_some());
        assert!(err.message.starts_with("YAML syntax error"));
    }
}
