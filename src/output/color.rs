//! ANSI colors exactly as Ansible writes them, so colored output matches `ansible-playbook`'s
//! byte for byte (and stripping the escapes gives the plain output).
//!
//! Ansible's `stringc` wraps every line of a text separately (`ESC[<code>m` … `ESC[0m`), empty
//! lines included; [`paint`] does the same. The codes are Ansible's defaults (`COLOR_OK`, ...).

/// `COLOR_OK`, `COLOR_DIFF_ADD`: green.
pub const OK: &str = "0;32";
/// `COLOR_CHANGED`: yellow.
pub const CHANGED: &str = "0;33";
/// `COLOR_ERROR`, `COLOR_DIFF_REMOVE`: red.
pub const ERROR: &str = "0;31";
/// `COLOR_SKIP`, `COLOR_DIFF_LINES`: cyan.
pub const SKIP: &str = "0;36";
/// `COLOR_UNREACHABLE`: bright red.
pub const UNREACHABLE: &str = "1;31";
/// `COLOR_WARN`: bright purple.
pub const WARN: &str = "1;35";
/// `COLOR_VERBOSE`: blue.
pub const VERBOSE: &str = "0;34";
/// `COLOR_DIFF_ADD`.
pub const DIFF_ADD: &str = OK;
/// `COLOR_DIFF_REMOVE`.
pub const DIFF_REMOVE: &str = ERROR;
/// `COLOR_DIFF_LINES`.
pub const DIFF_LINES: &str = SKIP;

/// Ansible's `stringc`: every `\n`-separated line wrapped in the color, including an empty last
/// line after a trailing newline.
pub fn paint(text: &str, code: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("\x1b[");
        out.push_str(code);
        out.push('m');
        out.push_str(line);
        out.push_str("\x1b[0m");
    }
    out
}

/// [`paint`] when `on`, the text unchanged otherwise.
pub fn paint_if(on: bool, text: &str, code: &str) -> String {
    if on {
        paint(text, code)
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paints_each_line_like_stringc() {
        assert_eq!(paint("a", OK), "\x1b[0;32ma\x1b[0m");
        assert_eq!(
            paint("+a\n", DIFF_ADD),
            "\x1b[0;32m+a\x1b[0m\n\x1b[0;32m\x1b[0m"
        );
        assert_eq!(paint_if(false, "x\ny", ERROR), "x\ny");
    }
}
