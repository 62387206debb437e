//! Host patterns, evaluated like Ansible's `InventoryManager`: `all`/`*`, host and group names,
//! shell globs (`web*`, `db-?.example.com`), regexes (`~web\d+`), unions (`a:b`, `a,b`),
//! intersections (`a:&b`), exclusions (`a:!b`) and subscripts (`web[0]`, `web[1:3]`, `web[2:]`).
//!
//! Ansible's order is kept: all plain patterns are applied first, then the `&` ones, then the `!`
//! ones, whatever order they were written in; a plain host name wins over a group of the same
//! name; `localhost`/`127.0.0.1`/`::1` match the implicit localhost when nothing else does.

use super::address::parse_address;
use super::{Inventory, LOCALHOST};
use crate::diagnostics::Diagnostic;
use regex::Regex;
use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

/// `split_host_pattern`: commas separate patterns; without commas, colons do, unless the whole
/// string is an address (`fe80::1`, `web[1:3]`, `host:22`).
pub fn split_host_pattern(pattern: &str) -> Vec<String> {
    static COLON_SPLIT: OnceLock<Regex> = OnceLock::new();
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if parse_address(pattern, true).is_ok() {
        vec![pattern.to_string()]
    } else {
        let re = COLON_SPLIT.get_or_init(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").unwrap());
        re.find_iter(pattern)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Plain patterns first, then intersections, then exclusions; `all` when only `&`/`!` are given.
fn order_patterns(patterns: &[String]) -> Vec<&str> {
    let (mut regular, mut and, mut not) = (Vec::new(), Vec::new(), Vec::new());
    for p in patterns
        .iter()
        .map(String::as_str)
        .filter(|p| !p.is_empty())
    {
        match p.as_bytes()[0] {
            b'!' => not.push(p),
            b'&' => and.push(p),
            _ => regular.push(p),
        }
    }
    if regular.is_empty() {
        regular.push("all");
    }
    regular.into_iter().chain(and).chain(not).collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Subscript {
    Index(i64),
    /// `[start:end]` (inclusive) or `[start:]` (end `None`).
    Range(i64, Option<i64>),
}

fn split_subscript(pattern: &str) -> (&str, Option<Subscript>) {
    static RE: OnceLock<Regex> = OnceLock::new();
    if pattern.starts_with('~') {
        return (pattern, None);
    }
    let re =
        RE.get_or_init(|| Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").unwrap());
    let Some(c) = re.captures(pattern) else {
        return (pattern, None);
    };
    let num = |s: &str| s.parse::<i64>().unwrap_or(i64::MAX);
    let expr = c.get(1).unwrap().as_str();
    let sub = if let Some(idx) = c.get(2) {
        Subscript::Index(num(idx.as_str()))
    } else {
        let end = c
            .get(5)
            .map(|m| m.as_str())
            .filter(|s| !s.is_empty())
            .map(num);
        Subscript::Range(num(&c[3]), end)
    };
    (expr, Some(sub))
}

/// `_apply_subscript`, with Python's indexing and slicing; `None` where Python raises IndexError.
fn apply_subscript(hosts: Vec<String>, sub: Option<Subscript>) -> Option<Vec<String>> {
    let Some(sub) = sub else {
        return Some(hosts);
    };
    if hosts.is_empty() {
        return Some(hosts);
    }
    let len = hosts.len() as i64;
    let index = |i: i64| -> Option<Vec<String>> {
        let i = if i < 0 { len + i } else { i };
        (0..len)
            .contains(&i)
            .then(|| vec![hosts[i as usize].clone()])
    };
    match sub {
        Subscript::Index(i) | Subscript::Range(i, Some(0)) => index(i),
        Subscript::Range(start, end) => {
            let end = end.unwrap_or(len - 1).saturating_add(1).min(len);
            let start = start.min(len);
            Some(if start < end {
                hosts[start as usize..end as usize].to_vec()
            } else {
                Vec::new()
            })
        }
    }
}

/// `fnmatch.translate`: a shell glob as an anchored regex (case-sensitive, like Ansible's use).
fn glob_to_regex(pat: &str) -> String {
    let chars: Vec<char> = pat.chars().collect();
    let n = chars.len();
    let mut res = String::new();
    let mut i = 0;
    let mut last_star = false;
    while i < n {
        let c = chars[i];
        i += 1;
        if c == '*' {
            if !last_star {
                res.push_str(".*");
            }
            last_star = true;
            continue;
        }
        last_star = false;
        match c {
            '?' => res.push('.'),
            '[' => {
                let mut j = i;
                if j < n && chars[j] == '!' {
                    j += 1;
                }
                if j < n && chars[j] == ']' {
                    j += 1;
                }
                while j < n && chars[j] != ']' {
                    j += 1;
                }
                if j >= n {
                    res.push_str("\\[");
                } else {
                    res.push_str(&char_class(&chars[i..j]));
                    i = j + 1;
                }
            }
            _ => res.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    format!(r"\A(?s:{res})\z")
}

/// A glob `[...]` set as a regex class: `!` negates, `a-z` ranges (empty ranges are dropped,
/// as Python does), every other character literal.
fn char_class(stuff: &[char]) -> String {
    let (negate, body) = match stuff.first() {
        Some('!') => (true, &stuff[1..]),
        _ => (false, stuff),
    };
    let esc = |c: char| {
        if matches!(c, '\\' | '[' | ']' | '^' | '-' | '&' | '~') {
            format!("\\{c}")
        } else {
            c.to_string()
        }
    };
    let mut items = String::new();
    let mut k = 0;
    while k < body.len() {
        if k + 2 < body.len() && body[k + 1] == '-' {
            if body[k] <= body[k + 2] {
                items.push_str(&format!("{}-{}", esc(body[k]), esc(body[k + 2])));
            }
            k += 3;
        } else {
            items.push_str(&esc(body[k]));
            k += 1;
        }
    }
    match (items.is_empty(), negate) {
        (true, false) => "[^\\s\\S]".to_string(), // matches nothing
        (true, true) => "(?s:.)".to_string(),
        (false, false) => format!("[{items}]"),
        (false, true) => format!("[^{items}]"),
    }
}

/// The matcher for one pattern: `~regex` (anchored at the start, like Python's `re.match`) or a
/// glob.
fn compile(pattern: &str) -> Result<Regex, Diagnostic> {
    let source = match pattern.strip_prefix('~') {
        Some(re) => format!(r"\A(?:{re})"),
        None => glob_to_regex(pattern),
    };
    regex::RegexBuilder::new(&source)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            Diagnostic::new(format!("Invalid host list pattern: {pattern}"), None).with_hint(
                format!("{e}")
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            )
        })
}

impl Inventory {
    /// Hosts matching a host pattern, in inventory order; empty when nothing matches (the
    /// caller warns "Could not match supplied host pattern") or the pattern is invalid (use
    /// [`Inventory::try_select`] to get the error).
    pub fn select(&self, pattern: &str) -> Vec<String> {
        self.try_select(pattern).unwrap_or_default()
    }

    /// [`Inventory::select`], with an error for an invalid regex or an out-of-range subscript
    /// (both errors in Ansible).
    pub fn try_select(&self, pattern: &str) -> Result<Vec<String>, Diagnostic> {
        let hosts = self.evaluate_patterns(&split_host_pattern(pattern))?;
        Ok(dedupe(hosts))
    }

    /// `--limit`: keep the hosts that also match `limit` (same pattern language; `@file` reads
    /// one pattern per line from a file).
    pub fn limit(&self, hosts: Vec<String>, limit: &str) -> Result<Vec<String>, Diagnostic> {
        let mut subset = Vec::new();
        for p in split_host_pattern(limit) {
            let Some(file) = p.strip_prefix('@') else {
                subset.push(p);
                continue;
            };
            let path = Path::new(file);
            if !path.exists() {
                return Err(
                    Diagnostic::new(format!("Unable to find limit file {file}"), None).with_hint(
                        "`--limit @file` reads host patterns, one per line, from a file",
                    ),
                );
            }
            if !path.is_file() {
                return Err(Diagnostic::new(
                    format!("Limit starting with \"@\" must be a file, not a directory: {file}"),
                    None,
                ));
            }
            let text = std::fs::read_to_string(path).map_err(|e| {
                Diagnostic::new(format!("cannot read limit file {file}: {e}"), None)
            })?;
            subset.extend(text.split('\n').map(|l| l.trim().to_string()));
        }
        if subset.is_empty() {
            return Ok(hosts);
        }
        let allowed: HashSet<String> = self.evaluate_patterns(&subset)?.into_iter().collect();
        Ok(hosts.into_iter().filter(|h| allowed.contains(h)).collect())
    }

    /// `_evaluate_patterns`: may hold duplicates, which callers remove.
    fn evaluate_patterns(&self, patterns: &[String]) -> Result<Vec<String>, Diagnostic> {
        let mut hosts: Vec<String> = Vec::new();
        for p in order_patterns(patterns) {
            if self.hosts.contains_key(p) {
                hosts.push(p.to_string());
                continue;
            }
            let that = self.match_one_pattern(p)?;
            match p.as_bytes()[0] {
                b'!' => {
                    let that: HashSet<String> = that.into_iter().collect();
                    hosts.retain(|h| !that.contains(h));
                }
                b'&' => {
                    let that: HashSet<String> = that.into_iter().collect();
                    hosts.retain(|h| that.contains(h));
                }
                _ => {
                    let existing: HashSet<String> = hosts.iter().cloned().collect();
                    hosts.extend(that.into_iter().filter(|h| !existing.contains(h)));
                }
            }
        }
        Ok(hosts)
    }

    fn match_one_pattern(&self, pattern: &str) -> Result<Vec<String>, Diagnostic> {
        let pattern = pattern.strip_prefix(['&', '!']).unwrap_or(pattern);
        if pattern.is_empty() {
            return Ok(Vec::new());
        }
        let (expr, sub) = split_subscript(pattern);
        let hosts = self.enumerate_matches(expr)?;
        apply_subscript(hosts, sub).ok_or_else(|| {
            Diagnostic::new(
                format!("No hosts matched the subscripted pattern '{pattern}'"),
                None,
            )
            .with_hint(
                "subscripts count from 0: `group[0]` is the first host, `group[-1]` the last",
            )
        })
    }

    /// Groups whose name matches contribute all their hosts; host names are matched too when no
    /// group matched or the pattern is a glob or regex.
    fn enumerate_matches(&self, pattern: &str) -> Result<Vec<String>, Diagnostic> {
        let re = compile(pattern)?;
        let mut results: Vec<String> = Vec::new();
        let mut matched_group = false;
        for g in self.groups.keys() {
            if re.is_match(g) {
                matched_group = true;
                results.extend(self.group_hosts(g).iter().cloned());
            }
        }
        if !matched_group || pattern.starts_with('~') || pattern.contains(['.', '?', '*', '[']) {
            results.extend(self.hosts.keys().filter(|h| re.is_match(h)).cloned());
        }
        if results.is_empty() && LOCALHOST.contains(&pattern) {
            results.push(
                self.localhost
                    .clone()
                    .unwrap_or_else(|| pattern.to_string()),
            );
        }
        Ok(results)
    }
}

fn dedupe(hosts: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    hosts
        .into_iter()
        .filter(|h| seen.insert(h.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting() {
        assert_eq!(split_host_pattern("a:b"), ["a", "b"]);
        assert_eq!(split_host_pattern("a, b ,,c"), ["a", "b", "c"]);
        assert_eq!(split_host_pattern("web:&db:!x"), ["web", "&db", "!x"]);
        assert_eq!(split_host_pattern("web[1:3]"), ["web[1:3]"]);
        assert_eq!(split_host_pattern("g[0]:h"), ["g[0]", "h"]);
        assert_eq!(split_host_pattern("fe80::1"), ["fe80::1"]);
        assert_eq!(split_host_pattern("~web\\d+"), ["~web\\d+"]);
    }

    #[test]
    fn globs() {
        let m = |p: &str, s: &str| Regex::new(&glob_to_regex(p)).unwrap().is_match(s);
        assert!(m("web*", "web1"));
        assert!(m("web*", "web"));
        assert!(!m("web*", "aweb"));
        assert!(m("db-?.example.com", "db-1.example.com"));
        assert!(!m("db-?.example.com", "db-1xexample.com"));
        assert!(m("h[0-2]", "h1"));
        assert!(!m("h[!0-2]", "h1"));
        assert!(m("h[", "h["));
        assert!(m("a&&b[&]", "a&&b&"));
        assert!(!m("Web*", "web1"));
    }

    #[test]
    fn subscripts() {
        let h: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let s = |p: &str| apply_subscript(h.clone(), split_subscript(p).1);
        assert_eq!(s("g[0]").unwrap(), ["a"]);
        assert_eq!(s("g[-1]").unwrap(), ["d"]);
        assert_eq!(s("g[1:2]").unwrap(), ["b", "c"]);
        assert_eq!(s("g[2:]").unwrap(), ["c", "d"]);
        assert_eq!(s("g[1:9]").unwrap(), ["b", "c", "d"]);
        assert_eq!(s("g[9]"), None);
        assert_eq!(split_subscript("~g[0]"), ("~g[0]", None));
    }
}
