//! Leading look-aheads in Python patterns (`(?=.*a)(?=.*b)`: "contains a and b"), which the
//! `regex` crate does not support: the `search`/`match`/`regex` tests evaluate them by hand, as
//! "at some position, every look-ahead and the rest of the pattern match there".

use super::regex_filters::{compile, Flags};
use minijinja::Error;

/// Split `(?=A)(?=B)rest` into `([A, B], rest)`; `None` without a leading look-ahead.
pub(crate) fn split_lookaheads(pattern: &str) -> Option<(Vec<String>, String)> {
    let mut heads = Vec::new();
    let mut rest = pattern;
    while let Some(body) = rest.strip_prefix("(?=") {
        let end = group_end(body)?;
        heads.push(body[..end].to_string());
        rest = &body[end + 1..];
    }
    (!heads.is_empty()).then(|| (heads, rest.to_string()))
}

/// The byte index of the `)` closing a group whose body starts `s`.
fn group_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_class = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class && depth == 0 => return Some(i),
            ')' if !in_class => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Does `text` match `heads` + `rest` at some position (only at 0 with `flags.anchored`)?
pub(crate) fn is_match(
    heads: &[String],
    rest: &str,
    text: &str,
    flags: Flags,
) -> Result<bool, Error> {
    let anchored = Flags {
        anchored: true,
        full: false,
        ..flags
    };
    let rest_flags = Flags {
        anchored: true,
        ..flags
    };
    let mut all = Vec::new();
    for h in heads {
        all.push(compile(h, anchored)?);
    }
    let tail = compile(rest, rest_flags)?;
    let starts: Vec<usize> = if flags.anchored || flags.full {
        vec![0]
    } else {
        text.char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect()
    };
    Ok(starts.into_iter().any(|p| {
        let s = &text[p..];
        all.iter().all(|re| re.is_match(s)) && tail.is_match(s)
    }))
}

#[cfg(test)]
mod tests {
    use super::super::tests::eval;
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_lookaheads() {
        let (heads, rest) = split_lookaheads("(?=.*a(b))(?=[)]x)c").unwrap_or_default();
        assert_eq!(heads, vec![".*a(b)".to_string(), "[)]x".to_string()]);
        assert_eq!(rest, "c");
        assert!(split_lookaheads("abc").is_none());
    }

    #[test]
    fn lookahead_tests() {
        let v = json!({"s": "qa_1,qz_1,qz_2"});
        assert_eq!(
            eval("s is search('(?=.*qa_1)(?=.*qz_1)(?=.*qz_2)')", v.clone()),
            json!(true)
        );
        assert_eq!(
            eval("s is search('(?=.*qa_1)(?=.*qq)')", v.clone()),
            json!(false)
        );
        assert_eq!(eval("s is match('(?=.*qz_2)qa')", v.clone()), json!(true));
        assert_eq!(eval("s is match('(?=.*qz_2)qz')", v), json!(false));
    }
}
