//! Ansible's regex filters (`regex_replace`, `regex_search`, `regex_findall`, `regex_escape`)
//! and the helpers behind the `match`/`search`/`regex` tests.
//!
//! Playbooks are written against Python's `re`: patterns are mostly what the `regex` crate
//! accepts (`(?P<name>…)` included; `\Z` is translated; backreferences and lookaround are not
//! supported and report the regex crate's error), and replacement strings use Python's `\1`,
//! `\g<1>`, `\g<name>` which are translated to the crate's `${1}` syntax. Compiled patterns are
//! cached, since the same few patterns are applied on every host.

use super::convert::require_defined;
use super::filters::err;
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};
use regex::{Regex, RegexBuilder};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", regex_escape);
}

#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct Flags {
    pub ignorecase: bool,
    pub multiline: bool,
    /// Anchor at the start (`re.match`).
    pub anchored: bool,
    /// Anchor at both ends (`re.fullmatch`).
    pub full: bool,
}

const CACHE_LIMIT: usize = 512;

/// Compile (or fetch from the cache) a Python-style pattern.
pub(crate) fn compile(pattern: &str, flags: Flags) -> Result<Regex, Error> {
    static CACHE: OnceLock<Mutex<HashMap<(String, Flags), Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (pattern.to_string(), flags);
    if let Ok(c) = cache.lock() {
        if let Some(re) = c.get(&key) {
            return Ok(re.clone());
        }
    }
    let translated = translate_pattern(pattern);
    let source = if flags.full {
        format!(r"\A(?:{translated})\z")
    } else if flags.anchored {
        format!(r"\A(?:{translated})")
    } else {
        translated
    };
    let re = RegexBuilder::new(&source)
        .case_insensitive(flags.ignorecase)
        .multi_line(flags.multiline)
        .build()
        .map_err(|e| err(format!("invalid regular expression '{pattern}': {e}")))?;
    if let Ok(mut c) = cache.lock() {
        if c.len() >= CACHE_LIMIT {
            c.clear();
        }
        c.insert(key, re.clone());
    }
    Ok(re)
}

/// Python-only regex syntax the `regex` crate spells differently.
fn translate_pattern(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('Z') => out.push_str(r"\z"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Translate a Python `re.sub` replacement (`\1`, `\g<1>`, `\g<name>`, `\n`, `\\`) into the
/// `regex` crate's syntax (`${1}`, `${name}`, `$$` for a literal `$`).
pub(crate) fn translate_replacement(repl: &str) -> String {
    let mut out = String::with_capacity(repl.len() + 8);
    let chars: Vec<char> = repl.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '$' {
            out.push_str("$$");
            i += 1;
            continue;
        }
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let n = chars[i + 1];
        if n.is_ascii_digit() {
            // up to two digits, like Python
            let mut num = n.to_string();
            let mut j = i + 2;
            if j < chars.len() && chars[j].is_ascii_digit() {
                num.push(chars[j]);
                j += 1;
            }
            out.push_str(&format!("${{{num}}}"));
            i = j;
            continue;
        }
        if n == 'g' && i + 2 < chars.len() && chars[i + 2] == '<' {
            if let Some(end) = chars[i + 3..].iter().position(|&c| c == '>') {
                let name: String = chars[i + 3..i + 3 + end].iter().collect();
                out.push_str(&format!("${{{name}}}"));
                i = i + 3 + end + 1;
                continue;
            }
        }
        match n {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            '\\' => out.push('\\'),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
        i += 2;
    }
    out
}

/// The text a regex filter works on (`to_text(value)`).
pub(crate) fn text_of(value: &Value) -> Result<String, Error> {
    require_defined(value)?;
    Ok(match value.as_str() {
        Some(s) => s.to_string(),
        None => value.to_string(),
    })
}

fn flag(kwargs: &Kwargs, name: &str) -> Result<bool, Error> {
    Ok(kwargs
        .get::<Option<Value>>(name)?
        .is_some_and(|v| v.is_true()))
}

/// `regex_replace(pattern, replacement='', ignorecase=False, multiline=False, count=0,
/// mandatory_count=0)`.
fn regex_replace(
    value: &Value,
    pattern: Option<String>,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let pattern = match pattern {
        Some(p) => p,
        None => kwargs.get::<Option<String>>("pattern")?.unwrap_or_default(),
    };
    let replacement = match replacement {
        Some(r) => r,
        None => kwargs
            .get::<Option<String>>("replacement")?
            .unwrap_or_default(),
    };
    let flags = Flags {
        ignorecase: flag(&kwargs, "ignorecase")?,
        multiline: flag(&kwargs, "multiline")?,
        ..Flags::default()
    };
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    let mandatory_count = kwargs.get::<Option<usize>>("mandatory_count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let text = text_of(value)?;
    let re = compile(&pattern, flags)?;
    if mandatory_count > 0 {
        let n = re.find_iter(&text).count();
        let n = if count > 0 { n.min(count) } else { n };
        if n != mandatory_count {
            return Err(err(format!(
                "'{pattern}' should match {mandatory_count} times, but matches {n} times"
            )));
        }
    }
    let repl = translate_replacement(&replacement);
    Ok(re.replacen(&text, count, repl.as_str()).into_owned())
}

/// `regex_search(pattern, *groups, ignorecase=False, multiline=False)`: the match (or `none`);
/// with group arguments (`'\\1'`, `'\\g<name>'`) a list of those groups.
fn regex_search(
    value: &Value,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let flags = Flags {
        ignorecase: flag(&kwargs, "ignorecase")?,
        multiline: flag(&kwargs, "multiline")?,
        ..Flags::default()
    };
    kwargs.assert_all_used()?;
    enum Group {
        Index(usize),
        Name(String),
    }
    let mut wanted = Vec::new();
    for g in groups.iter() {
        if let Some(name) = g.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
            wanted.push(match name.parse::<usize>() {
                Ok(i) => Group::Index(i),
                Err(_) => Group::Name(name.to_string()),
            });
        } else if let Some(num) = g.strip_prefix('\\').and_then(|n| n.parse::<usize>().ok()) {
            wanted.push(Group::Index(num));
        } else {
            return Err(err(format!("regex_search: unknown argument '{g}'")));
        }
    }
    let text = text_of(value)?;
    let re = compile(&pattern, flags)?;
    let Some(caps) = re.captures(&text) else {
        return Ok(Value::from(()));
    };
    if wanted.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for g in wanted {
        let m = match &g {
            Group::Index(i) => {
                if *i >= caps.len() {
                    return Err(err(format!("regex_search: no such group: {i}")));
                }
                caps.get(*i)
            }
            Group::Name(n) => {
                if !re.capture_names().any(|c| c == Some(n.as_str())) {
                    return Err(err(format!("regex_search: unknown group name '{n}'")));
                }
                caps.name(n)
            }
        };
        out.push(m.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(out))
}

/// `regex_findall(pattern, multiline=False, ignorecase=False)`, like Python's `re.findall`.
fn regex_findall(value: &Value, pattern: String, kwargs: Kwargs) -> Result<Value, Error> {
    let flags = Flags {
        ignorecase: flag(&kwargs, "ignorecase")?,
        multiline: flag(&kwargs, "multiline")?,
        ..Flags::default()
    };
    kwargs.assert_all_used()?;
    let text = text_of(value)?;
    let re = compile(&pattern, flags)?;
    let groups = re.captures_len() - 1;
    let mut out = Vec::new();
    for caps in re.captures_iter(&text) {
        let group = |i: usize| Value::from(caps.get(i).map_or("", |m| m.as_str()));
        out.push(match groups {
            0 => group(0),
            1 => group(1),
            n => Value::from((1..=n).map(group).collect::<Vec<_>>()),
        });
    }
    Ok(Value::from(out))
}

/// `regex_escape(re_type='python')`.
fn regex_escape(value: &Value, re_type: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let re_type = match re_type {
        Some(t) => t,
        None => kwargs
            .get::<Option<String>>("re_type")?
            .unwrap_or_else(|| "python".into()),
    };
    kwargs.assert_all_used()?;
    let text = text_of(value)?;
    let special: &str = match re_type.as_str() {
        "python" => "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c",
        "posix_basic" => "\\^$.[]*",
        other => return Err(err(format!("regex_escape: unknown re_type '{other}'"))),
    };
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

/// The `regex` test: `value is regex(pattern, ignorecase=False, multiline=False,
/// match_type='search')`.
pub(crate) fn regex_test(
    value: &Value,
    pattern: &str,
    kwargs: &Kwargs,
    default_type: &str,
) -> Result<bool, Error> {
    let match_type = kwargs
        .get::<Option<String>>("match_type")?
        .unwrap_or_else(|| default_type.to_string());
    let mut flags = Flags {
        ignorecase: flag(kwargs, "ignorecase")?,
        multiline: flag(kwargs, "multiline")?,
        ..Flags::default()
    };
    match match_type.as_str() {
        "search" => {}
        "match" => flags.anchored = true,
        "fullmatch" => flags.full = true,
        other => return Err(err(format!("regex test: unknown match_type '{other}'"))),
    }
    kwargs.assert_all_used()?;
    if value.kind() != ValueKind::String {
        require_defined(value)?;
    }
    let text = text_of(value)?;
    match compile(pattern, flags) {
        Ok(re) => Ok(re.is_match(&text)),
        Err(e) => match super::lookahead::split_lookaheads(pattern) {
            Some((heads, rest)) => super::lookahead::is_match(&heads, &rest, &text, flags),
            None => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::tests::{eval, eval_err, render};
    use serde_json::json;

    #[test]
    fn replacement_translation() {
        assert_eq!(translate_replacement(r"\1-\2"), "${1}-${2}");
        assert_eq!(translate_replacement(r"\g<name>x\g<1>"), "${name}x${1}");
        assert_eq!(translate_replacement("a$b"), "a$$b");
        assert_eq!(translate_replacement(r"a\\b\n"), "a\\b\n");
        assert_eq!(translate_replacement(r"\12"), "${12}");
    }

    #[test]
    fn regex_replace_filter() {
        let r = |s: &str| render(s, json!({"v": "hello world"}));
        assert_eq!(r(r"{{ v | regex_replace('o', '0') }}"), "hell0 w0rld");
        assert_eq!(
            r(r"{{ v | regex_replace('(\\w+) (\\w+)', '\\2 \\1') }}"),
            "world hello"
        );
        assert_eq!(
            r(r"{{ v | regex_replace('(?P<a>h)', '\\g<a>H') }}"),
            "hHello world"
        );
        assert_eq!(
            r(r"{{ v | regex_replace('^H', 'J', ignorecase=True) }}"),
            "Jello world"
        );
        assert_eq!(
            r(r"{{ v | regex_replace('o', '0', count=1) }}"),
            "hell0 world"
        );
        assert_eq!(r(r"{{ v | regex_replace('o', '$') }}"), "hell$ w$rld");
        assert_eq!(
            render(
                r"{{ 'a\nb' | regex_replace('^', '# ', multiline=True) }}",
                json!({})
            ),
            "# a\n# b"
        );
        assert_eq!(
            r(r"{{ v | regex_replace('world\\Z', 'there') }}"),
            "hello there"
        );
        let e = eval_err(
            "v | regex_replace('o', 'x', mandatory_count=3)",
            json!({"v": "foo"}),
        );
        assert!(
            e.message
                .contains("should match 3 times, but matches 2 times"),
            "{}",
            e.message
        );
        let e = eval_err("v | regex_replace('(', 'x')", json!({"v": "foo"}));
        assert!(
            e.message.contains("invalid regular expression"),
            "{}",
            e.message
        );
    }

    #[test]
    fn regex_search_filter() {
        let c = json!({"v": "server1.example.com port=22"});
        assert_eq!(
            eval(r"v | regex_search('port=(\\d+)')", c.clone()),
            json!("port=22")
        );
        assert_eq!(
            eval(r"v | regex_search('port=(\\d+)', '\\1')", c.clone()),
            json!(["22"])
        );
        assert_eq!(
            eval(
                r"v | regex_search('(?P<host>\\w+)\\.(\\w+)', '\\g<host>', '\\2')",
                c.clone()
            ),
            json!(["server1", "example"])
        );
        assert_eq!(eval("v | regex_search('nomatch')", c.clone()), json!(null));
        assert_eq!(
            eval("v | regex_search('SERVER', ignorecase=true)", c.clone()),
            json!("server")
        );
        assert_eq!(
            eval("(v | regex_search('nomatch')) is none", c),
            json!(true)
        );
    }

    #[test]
    fn regex_findall_and_escape() {
        let c = json!({"v": "a=1 b=2 c=3"});
        assert_eq!(
            eval(r"v | regex_findall('\\d')", c.clone()),
            json!(["1", "2", "3"])
        );
        assert_eq!(
            eval(r"v | regex_findall('(\\w)=\\d')", c.clone()),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            eval(r"v | regex_findall('(\\w)=(\\d)')", c.clone()),
            json!([["a", "1"], ["b", "2"], ["c", "3"]])
        );
        assert_eq!(
            eval("'1.2.3.4' | regex_escape", c.clone()),
            json!(r"1\.2\.3\.4")
        );
        assert_eq!(
            eval("'a*b' | regex_escape('posix_basic')", c),
            json!(r"a\*b")
        );
    }

    #[test]
    fn cache_returns_same_behaviour() {
        let a = compile("a+", Flags::default()).unwrap();
        let b = compile("a+", Flags::default()).unwrap();
        assert_eq!(a.as_str(), b.as_str());
        let anchored = compile(
            "b",
            Flags {
                anchored: true,
                ..Flags::default()
            },
        )
        .unwrap();
        assert!(!anchored.is_match("ab"));
    }
}
