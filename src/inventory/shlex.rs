//! Python's `shlex.split(line, comments=True)` (POSIX mode), which Ansible's INI plugin uses to
//! split a host line into the host pattern and its `key=value` variables. Kept separate because
//! its quoting rules decide what a value is: `a="x y"` is one token, `a='1'` loses its quotes
//! (and so becomes the integer 1), and `#` starts a comment even in the middle of a word.

/// One word of a host line, with the byte range it was written at (quotes included).
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// Why a line cannot be split, and the byte offset to point at.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitError {
    pub message: &'static str,
    pub at: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Between,
    Word,
    Quote(char),
    Escape { back_to: Escaped },
}

#[derive(Clone, Copy, PartialEq)]
enum Escaped {
    Word,
    DoubleQuote,
}

/// Split `line` like `shlex.split(line, comments=True)`.
pub fn split(line: &str) -> Result<Vec<Token>, SplitError> {
    let mut tokens = Vec::new();
    let mut state = State::Between;
    let mut token = String::new();
    let mut quoted = false;
    let mut start = 0;
    let mut quote_at = 0;

    let flush = |tokens: &mut Vec<Token>,
                 token: &mut String,
                 quoted: &mut bool,
                 start: usize,
                 end: usize| {
        if !token.is_empty() || *quoted {
            tokens.push(Token {
                text: std::mem::take(token),
                start,
                end,
            });
        }
        *quoted = false;
    };

    for (i, c) in line.char_indices() {
        match state {
            State::Between | State::Word => {
                if matches!(c, ' ' | '\t' | '\r' | '\n') {
                    if state == State::Word {
                        flush(&mut tokens, &mut token, &mut quoted, start, i);
                    }
                    state = State::Between;
                } else if c == '#' {
                    // A comment runs to the end of the line, even inside a word.
                    if state == State::Word {
                        flush(&mut tokens, &mut token, &mut quoted, start, i);
                    }
                    return Ok(tokens);
                } else {
                    if state == State::Between {
                        start = i;
                        state = State::Word;
                    }
                    match c {
                        '\'' | '"' => {
                            quote_at = i;
                            state = State::Quote(c);
                        }
                        '\\' => {
                            state = State::Escape {
                                back_to: Escaped::Word,
                            }
                        }
                        _ => token.push(c),
                    }
                }
            }
            State::Quote(q) => {
                quoted = true;
                if c == q {
                    state = State::Word;
                } else if c == '\\' && q == '"' {
                    state = State::Escape {
                        back_to: Escaped::DoubleQuote,
                    };
                } else {
                    token.push(c);
                }
            }
            State::Escape { back_to } => {
                match back_to {
                    Escaped::DoubleQuote => {
                        // Inside double quotes only `\"` and `\\` are escapes.
                        if c != '"' && c != '\\' {
                            token.push('\\');
                        }
                        token.push(c);
                        state = State::Quote('"');
                    }
                    Escaped::Word => {
                        token.push(c);
                        state = State::Word;
                    }
                }
            }
        }
    }
    match state {
        State::Quote(_) => Err(SplitError {
            message: "No closing quotation",
            at: quote_at,
        }),
        State::Escape { .. } => Err(SplitError {
            message: "No escaped character",
            at: line.len().saturating_sub(1),
        }),
        State::Word => {
            flush(&mut tokens, &mut token, &mut quoted, start, line.len());
            Ok(tokens)
        }
        State::Between => Ok(tokens),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split(line).unwrap().into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn splits_like_python_shlex() {
        assert_eq!(words("web1 a=1 b=\"x y\""), ["web1", "a=1", "b=x y"]);
        assert_eq!(words("h a='1' # comment"), ["h", "a=1"]);
        assert_eq!(words("h a=b#c d=e"), ["h", "a=b"]);
        assert_eq!(words("h s=\"'03#pa33w0rd'\""), ["h", "s='03#pa33w0rd'"]);
        assert_eq!(
            words(r#"h a="q\"x" b=c\ d e="\n""#),
            ["h", "a=q\"x", "b=c d", "e=\\n"]
        );
        assert_eq!(words("h e=\"\""), ["h", "e="]);
        assert_eq!(words("h ''"), ["h", ""]);
    }

    #[test]
    fn token_positions() {
        let t = split("  web1   a=1").unwrap();
        assert_eq!((t[0].start, t[0].end), (2, 6));
        assert_eq!((t[1].start, t[1].end), (9, 12));
    }

    #[test]
    fn errors() {
        assert_eq!(split("h a=\"x").unwrap_err().at, 4);
        assert_eq!(split("h a=\\").unwrap_err().message, "No escaped character");
    }
}
