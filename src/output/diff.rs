//! Unified diffs of a module's before/after text, as `ansible-playbook --diff` prints them.
//!
//! Ansible renders diffs with Python's `difflib.unified_diff` after appending
//! `\ No newline at end of file` to a last line that lacks its newline, and labels the sides
//! `before: PATH` / `after: PATH` (or bare `before` / `after` when the header is empty). This
//! module does the same with the `similar` crate (Myers, 3 lines of context, hunks grouped like
//! difflib's), so the printer and the reports show identical diffs.

use super::color::{self, paint};
use converge_modules::Diff;
use similar::{ChangeTag, TextDiff};
use std::time::Duration;

/// Lines of context around each change (Ansible's `DIFF_CONTEXT`).
pub const CONTEXT: usize = 3;

/// Past this, the diff algorithm gives up on the minimal diff and approximates (huge files).
const TIMEOUT: Duration = Duration::from_secs(2);

const NO_NEWLINE: &str = "\n\\ No newline at end of file\n";

/// The unified diff of `d`, empty when before and after are the same.
///
/// Every line ends with `\n`; the blank line Ansible prints after each diff is not included (the
/// printer adds it). With `color`, lines are colored as Ansible does: `-` red, `+` green, `@@`
/// cyan, the header lines included, each line wrapped separately.
pub fn unified_diff(d: &Diff, color: bool) -> String {
    let before = lines(&d.before);
    let after = lines(&d.after);
    if before == after {
        return String::new();
    }
    let old: Vec<&str> = before.iter().map(String::as_str).collect();
    let new: Vec<&str> = after.iter().map(String::as_str).collect();
    let diff = TextDiff::configure()
        .timeout(TIMEOUT)
        .diff_slices(&old, &new);
    let groups = diff.grouped_ops(CONTEXT);
    if groups.is_empty() {
        return String::new();
    }

    let mut out = String::new();
    let mut emit = |line: String| {
        if color {
            let code = if line.starts_with('+') {
                Some(color::DIFF_ADD)
            } else if line.starts_with('-') {
                Some(color::DIFF_REMOVE)
            } else if line.starts_with("@@") {
                Some(color::DIFF_LINES)
            } else {
                None
            };
            match code {
                Some(code) => out.push_str(&paint(&line, code)),
                None => out.push_str(&line),
            }
        } else {
            out.push_str(&line);
        }
    };

    emit(format!("--- {}\n", header("before", &d.before_header)));
    emit(format!("+++ {}\n", header("after", &d.after_header)));
    for group in &groups {
        let (first, last) = match (group.first(), group.last()) {
            (Some(f), Some(l)) => (f, l),
            _ => continue,
        };
        let old_range = range(first.old_range().start, last.old_range().end);
        let new_range = range(first.new_range().start, last.new_range().end);
        emit(format!("@@ -{old_range} +{new_range} @@\n"));
        for op in group {
            for change in diff.iter_changes(op) {
                let tag = match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                };
                emit(format!("{tag}{}", change.value()));
            }
        }
    }
    out
}

/// `before: PATH`, or the bare side name when there is no header.
fn header(side: &str, name: &str) -> String {
    if name.is_empty() {
        side.to_string()
    } else {
        format!("{side}: {name}")
    }
}

/// difflib's `_format_range_unified`: `start` alone for one line, `start,len` otherwise, and the
/// line before the range for an empty one.
fn range(start: usize, end: usize) -> String {
    let len = end.saturating_sub(start);
    match len {
        1 => format!("{}", start + 1),
        0 => format!("{start},0"),
        _ => format!("{},{len}", start + 1),
    }
}

/// The lines of `text`, each with its newline; the last one, when it has none, gets Ansible's
/// `\ No newline at end of file` marker (as part of the line, so adding a final newline shows as
/// a change).
fn lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    if let Some(last) = out.last_mut() {
        if !last.ends_with('\n') {
            last.push_str(NO_NEWLINE);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(before: &str, after: &str) -> String {
        unified_diff(&Diff::new("/etc/app.conf", before, after), false)
    }

    #[test]
    fn identical_prints_nothing() {
        assert_eq!(diff("a\nb\n", "a\nb\n"), "");
        assert_eq!(diff("", ""), "");
        assert_eq!(diff("no newline", "no newline"), "");
        assert_eq!(unified_diff(&Diff::new("/x", "a\n", "a\n"), true), "");
    }

    #[test]
    fn changed_line_with_context() {
        let before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
        let after = "1\n2\n3\n4\n5\nsix\n7\n8\n9\n10\n";
        assert_eq!(
            diff(before, after),
            "--- before: /etc/app.conf\n+++ after: /etc/app.conf\n@@ -3,7 +3,7 @@\n 3\n 4\n 5\n-6\n+six\n 7\n 8\n 9\n"
        );
    }

    #[test]
    fn added_and_removed_lines() {
        assert_eq!(
            diff("a\nb\nc\n", "a\nc\nd\n"),
            "--- before: /etc/app.conf\n+++ after: /etc/app.conf\n@@ -1,3 +1,3 @@\n a\n-b\n c\n+d\n"
        );
    }

    #[test]
    fn distant_changes_make_two_hunks() {
        let before: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let after: String = (1..=20)
            .map(|i| match i {
                2 => "two\n".to_string(),
                19 => "nineteen\n".to_string(),
                _ => format!("{i}\n"),
            })
            .collect();
        assert_eq!(
            diff(&before, &after),
            "--- before: /etc/app.conf\n+++ after: /etc/app.conf\n\
             @@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n\
             @@ -16,5 +16,5 @@\n 16\n 17\n 18\n-19\n+nineteen\n 20\n"
        );
    }

    #[test]
    fn missing_trailing_newline() {
        assert_eq!(
            diff("a\nb", "a\nb\n"),
            "--- before: /etc/app.conf\n+++ after: /etc/app.conf\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
        );
        assert_eq!(
            diff("x", "y"),
            "--- before: /etc/app.conf\n+++ after: /etc/app.conf\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+y\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn new_file_has_empty_before() {
        let d = Diff {
            before_header: String::new(),
            after_header: "/tmp/out.txt".into(),
            before: String::new(),
            after: "a\nb\n".into(),
        };
        assert_eq!(
            unified_diff(&d, false),
            "--- before\n+++ after: /tmp/out.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n"
        );
    }

    #[test]
    fn removed_file_has_empty_after() {
        assert_eq!(
            diff("a\n", ""),
            "--- before: /etc/app.conf\n+++ after: /etc/app.conf\n@@ -1 +0,0 @@\n-a\n"
        );
    }

    #[test]
    fn colored_like_ansible() {
        let d = Diff::new("/f", "x\n", "y");
        assert_eq!(
            unified_diff(&d, true),
            "\x1b[0;31m--- before: /f\x1b[0m\n\x1b[0;31m\x1b[0m\
             \x1b[0;32m+++ after: /f\x1b[0m\n\x1b[0;32m\x1b[0m\
             \x1b[0;36m@@ -1 +1 @@\x1b[0m\n\x1b[0;36m\x1b[0m\
             \x1b[0;31m-x\x1b[0m\n\x1b[0;31m\x1b[0m\
             \x1b[0;32m+y\x1b[0m\n\x1b[0;32m\\ No newline at end of file\x1b[0m\n\x1b[0;32m\x1b[0m"
        );
    }
}
