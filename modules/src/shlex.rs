//! POSIX shell-like word splitting, as Python's `shlex.split` does it.
//!
//! `command: ls -l "my dir"` must become the words `ls`, `-l`, `my dir` without ever going
//! through a shell (so `;`, `|` and `$VAR` stay literal), and `validate: visudo -cf %s` is split
//! the same way. Quoting follows POSIX: single quotes are literal, double quotes allow `\"`,
//! `\\`, `\$` and `` \` ``, a backslash outside quotes escapes the next character.

/// Split a command line into words. Errors on an unterminated quote.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err("no closing quotation".to_string()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => cur.push(ch),
                            Some('\n') => {}
                            Some(ch) => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                            None => return Err("no closing quotation".to_string()),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err("no closing quotation".to_string()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(ch) => cur.push(ch),
                    None => return Err("no escaped character".to_string()),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Join words into a line [`split`] turns back into the same words.
pub fn join<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| crate::target::shell_quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(line: &str) -> Vec<String> {
        split(line).unwrap()
    }

    #[test]
    fn plain_words() {
        assert_eq!(s("ls -l  /tmp "), ["ls", "-l", "/tmp"]);
        assert_eq!(s(""), Vec::<String>::new());
        assert_eq!(s("  \t\n "), Vec::<String>::new());
    }

    #[test]
    fn quotes() {
        assert_eq!(s(r#"echo "my dir" 'it''s'"#), ["echo", "my dir", "its"]);
        assert_eq!(s(r#"echo 'a "b" c'"#), ["echo", r#"a "b" c"#]);
        assert_eq!(s(r#"echo "a \"b\" \$x \n""#), ["echo", r#"a "b" $x \n"#]);
        assert_eq!(s(r#"echo a\ b \'c"#), ["echo", "a b", "'c"]);
        assert_eq!(s(r#"x="" ''"#), ["x=", ""]);
        assert_eq!(s("a;b | c $HOME"), ["a;b", "|", "c", "$HOME"]);
    }

    #[test]
    fn errors() {
        assert!(split("echo 'abc").is_err());
        assert!(split("echo \"abc").is_err());
        assert!(split("echo abc\\").is_err());
    }

    #[test]
    fn round_trip() {
        let words = ["echo", "it's", "a b", "", "$x"];
        assert_eq!(s(&join(&words)), words);
    }
}
