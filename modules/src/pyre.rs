//! Python `re` compatibility for the text modules (`lineinfile`, `replace`, `wait_for`).
//!
//! Playbooks carry Python regular expressions and Python replacement templates (`\1`, `\g<1>`,
//! `\g<name>`). The `regex` crate understands nearly all patterns people write, but not
//! look-around or back-references: those fail with an error naming the argument instead of
//! silently matching something else. Replacement templates are parsed here once and expanded
//! the way Python's `match.expand` does (an unmatched group expands to nothing).

use regex::{Captures, Regex};

/// Compile a playbook regex, naming the argument in the error.
pub fn compile(arg: &str, pattern: &str, multiline: bool, dotall: bool) -> Result<Regex, String> {
    let mut b = regex::RegexBuilder::new(pattern);
    b.multi_line(multiline).dot_matches_new_line(dotall);
    b.build().map_err(|e| {
        let mut msg = format!("`{arg}` is not a valid regular expression: {e}");
        if pattern.contains("(?=")
            || pattern.contains("(?!")
            || pattern.contains("(?<=")
            || pattern.contains("(?<!")
        {
            msg.push_str(" (look-around assertions are not supported)");
        }
        msg
    })
}

/// A parsed Python replacement template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Group(usize),
    Named(String),
}

impl Template {
    /// Parse `template` for use with `re` (group references are checked against it).
    pub fn parse(template: &str, re: &Regex) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let chars: Vec<char> = template.chars().collect();
        let mut i = 0;
        let push_lit = |lit: &mut String, parts: &mut Vec<Part>| {
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(lit)));
            }
        };
        while i < chars.len() {
            let c = chars[i];
            if c != '\\' {
                lit.push(c);
                i += 1;
                continue;
            }
            let Some(&n) = chars.get(i + 1) else {
                return Err("bad escape (end of pattern)".to_string());
            };
            i += 2;
            match n {
                '0'..='9' => {
                    // Up to two digits, as Python reads them (octal escapes are rare; not handled).
                    let mut num = n.to_digit(10).unwrap_or(0) as usize;
                    if let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                        num = num * 10 + d as usize;
                        i += 1;
                    }
                    if num == 0 || num >= re.captures_len() {
                        return Err(format!("invalid group reference {num}"));
                    }
                    push_lit(&mut lit, &mut parts);
                    parts.push(Part::Group(num));
                }
                'g' => {
                    if chars.get(i) != Some(&'<') {
                        return Err("missing < after \\g".to_string());
                    }
                    let end = chars[i..]
                        .iter()
                        .position(|&c| c == '>')
                        .ok_or("missing > after \\g<")?;
                    let name: String = chars[i + 1..i + end].iter().collect();
                    i += end + 1;
                    push_lit(&mut lit, &mut parts);
                    if let Ok(num) = name.parse::<usize>() {
                        if num >= re.captures_len() {
                            return Err(format!("invalid group reference {num}"));
                        }
                        parts.push(Part::Group(num));
                    } else if re.capture_names().any(|n| n == Some(name.as_str())) {
                        parts.push(Part::Named(name));
                    } else {
                        return Err(format!("unknown group name '{name}'"));
                    }
                }
                'n' => lit.push('\n'),
                't' => lit.push('\t'),
                'r' => lit.push('\r'),
                'f' => lit.push('\x0c'),
                'v' => lit.push('\x0b'),
                'a' => lit.push('\x07'),
                'b' => lit.push('\x08'),
                '\\' => lit.push('\\'),
                other if other.is_ascii_alphabetic() => {
                    return Err(format!("bad escape \\{other}"));
                }
                other => {
                    lit.push('\\');
                    lit.push(other);
                }
            }
        }
        push_lit(&mut lit, &mut parts);
        Ok(Template { parts })
    }

    pub fn expand(&self, caps: &Captures<'_>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Group(n) => out.push_str(caps.get(*n).map_or("", |m| m.as_str())),
                Part::Named(n) => out.push_str(caps.name(n).map_or("", |m| m.as_str())),
            }
        }
        out
    }
}

/// `re.subn(pattern, template, text)`: the new text and the number of replacements.
pub fn subn(re: &Regex, tpl: &Template, text: &str) -> (String, usize) {
    let mut count = 0;
    let out = re.replace_all(text, |caps: &Captures<'_>| {
        count += 1;
        tpl.expand(caps)
    });
    (out.into_owned(), count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_groups() {
        let re = compile("regexp", r"^(?P<k>\w+)=(\d+)$", true, false).unwrap();
        let t = Template::parse(r"\g<k> = \2\n$x\\", &re).unwrap();
        let caps = re.captures("port=22").unwrap();
        assert_eq!(t.expand(&caps), "port = 22\n$x\\");
        let t = Template::parse(r"\1:\g<2>", &re).unwrap();
        assert_eq!(t.expand(&caps), "port:22");
    }

    #[test]
    fn template_errors() {
        let re = compile("regexp", r"(a)", false, false).unwrap();
        assert!(Template::parse(r"\2", &re).is_err());
        assert!(Template::parse(r"\g<nope>", &re).is_err());
        assert!(Template::parse(r"\q", &re).is_err());
        assert!(Template::parse("\\", &re).is_err());
    }

    #[test]
    fn unmatched_group_is_empty() {
        let re = compile("regexp", r"a(b)?", false, false).unwrap();
        let t = Template::parse(r"[\1]", &re).unwrap();
        assert_eq!(subn(&re, &t, "a ab"), ("[] [b]".to_string(), 2));
    }

    #[test]
    fn lookaround_error_mentions_it() {
        let e = compile("regexp", r"foo(?=bar)", false, false).unwrap_err();
        assert!(e.contains("look-around"), "{e}");
    }
}
