//! Ansible's `key=value` shorthand for module arguments (`copy: src=a dest=/b mode=0644`) and
//! free-form text (`command: ls -l chdir=/tmp`).

use serde_json::{Map, Value};

/// Split on white space, keeping quoted parts together (quotes removed only around whole
/// values), as Ansible's `split_args` does for the common cases.
pub fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0i32; // inside {{ }} or {% %}: spaces do not split
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match (quote, c) {
            (_, '{') if matches!(next, Some('{') | Some('%')) => {
                depth += 1;
                cur.push(c);
                cur.push(chars[i + 1]);
                i += 2;
                continue;
            }
            (_, '}' | '%') if depth > 0 && next == Some('}') => {
                depth -= 1;
                cur.push(c);
                cur.push('}');
                i += 2;
                continue;
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), _) if c == q && chars.get(i.wrapping_sub(1)) != Some(&'\\') => {
                quote = None;
                cur.push(c);
            }
            (None, ' ' | '\t' | '\n') if depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

fn is_key(k: &str) -> bool {
    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A key that is (or contains) a template, like `set_fact: "{{ item }}=moo"`: Ansible keeps it
/// and renders it at run time.
fn is_templated_key(k: &str) -> bool {
    k.contains("{{") && k.contains("}}")
}

/// Split `key=value` at the first `=` outside `{{ }}` / `{% %}`.
fn split_pair(word: &str) -> Option<(&str, &str)> {
    let b = word.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1)) {
            (b'{', Some(b'{' | b'%')) => {
                depth += 1;
                i += 2;
                continue;
            }
            (b'}' | b'%', Some(b'}')) if depth > 0 => {
                depth -= 1;
                i += 2;
                continue;
            }
            (b'=', _) if depth == 0 => return Some((&word[..i], &word[i + 1..])),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Parse `k=v` pairs. With `free_form`, words that are not `k=v` (and `k=v` words whose key is
/// not in `known_keys`) are kept, in order, as the free-form text under `_raw_params`.
pub fn parse_kv(
    s: &str,
    free_form: bool,
    known_keys: &[&str],
) -> Result<Map<String, Value>, String> {
    let mut args = Map::new();
    let mut raw: Vec<String> = Vec::new();
    for word in split_args(s) {
        // Escapes are decoded in key=value words (not in free-form text), as Ansible does.
        let decoded = decode_escapes(&word);
        let pair = split_pair(&decoded).filter(|(k, _)| is_key(k) || is_templated_key(k));
        match pair {
            Some((k, v)) if !free_form || known_keys.contains(&k) => {
                args.insert(k.to_string(), Value::String(unquote(v)));
            }
            _ if free_form => raw.push(word),
            _ => {
                return Err(format!(
                    "`{word}` is not a key=value argument (this module takes no free-form text)"
                ))
            }
        }
    }
    if free_form && !raw.is_empty() {
        args.insert("_raw_params".to_string(), Value::String(raw.join(" ")));
    }
    Ok(args)
}

/// Python-style escapes Ansible decodes in `key=value` arguments: `\\n`, `\\t`, `\\\\`,
/// quotes, `\\xHH`, `\\uHHHH`, `\\UHHHHHHHH`.
pub fn decode_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&n) = chars.peek() else {
            out.push(c);
            break;
        };
        let simple = match n {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(r) = simple {
            chars.next();
            out.push(r);
            continue;
        }
        let width = match n {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        if width > 0 {
            let hex: String = chars.clone().skip(1).take(width).collect();
            if hex.len() == width && hex.chars().all(|h| h.is_ascii_hexdigit()) {
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    for _ in 0..=width {
                        chars.next();
                    }
                    out.push(ch);
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_are_decoded_in_values() {
        let m = super::parse_kv(r#"dest=/x content="a\nb\t\x41""#, false, &[]).unwrap();
        assert_eq!(m["content"], "a\nb\tA");
        let m = super::parse_kv(r"echo a\nb", true, &[]).unwrap();
        assert_eq!(m["_raw_params"], r"echo a\nb");
    }

    use super::*;

    #[test]
    fn kv_pairs_and_quotes() {
        let m = parse_kv("src=a.txt dest='/tmp/x y' mode=0644", false, &[]).unwrap();
        assert_eq!(m["src"], "a.txt");
        assert_eq!(m["dest"], "/tmp/x y");
        assert_eq!(m["mode"], "0644");
    }

    #[test]
    fn free_form_keeps_command_and_extracts_known_keys() {
        let m = parse_kv(
            "ls -l /tmp chdir=/var creates=/x",
            true,
            &["chdir", "creates"],
        )
        .unwrap();
        assert_eq!(m["_raw_params"], "ls -l /tmp");
        assert_eq!(m["chdir"], "/var");
        let m = parse_kv("echo a=b", true, &["chdir"]).unwrap();
        assert_eq!(m["_raw_params"], "echo a=b");
    }

    #[test]
    fn templates_with_spaces_stay_whole() {
        let m = parse_kv("msg={{ a | default('x y') }} dest=/t", false, &[]).unwrap();
        assert_eq!(m["msg"], "{{ a | default('x y') }}");
    }

    #[test]
    fn templated_keys_are_kept_for_run_time() {
        let m = parse_kv("{{ item }}=moo", false, &[]).unwrap();
        assert_eq!(m["{{ item }}"], "moo");
        let m = parse_kv("{{ 'x' + item }}={{ item }}", false, &[]).unwrap();
        assert_eq!(m["{{ 'x' + item }}"], "{{ item }}");
        let m = parse_kv("{{ a == b }}=x", false, &[]).unwrap();
        assert_eq!(m["{{ a == b }}"], "x");
        assert!(parse_kv("a-b=x", false, &[]).is_err());
    }

    #[test]
    fn non_kv_word_is_an_error_without_free_form() {
        assert!(parse_kv("dest=/x oops", false, &[]).is_err());
    }
}
