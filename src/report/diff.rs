//! Unified diff text for reports (never coloured: reports are files, not terminals).
//!
//! This is a stand-in for `crate::output::diff::unified_diff(d, false)`, which the terminal output
//! owns; when both exist, this function should simply call that one so the terminal and the
//! reports show identical diffs.

use converge_modules::Diff;
use similar::TextDiff;

/// The unified diff of one before/after pair, with `---`/`+++` headers, 3 lines of context.
pub fn unified_diff(d: &Diff) -> String {
    if d.before == d.after {
        return String::new();
    }
    let label = |side: &str, header: &str| {
        if header.is_empty() {
            side.to_string()
        } else {
            format!("{side}: {header}")
        }
    };
    let td = TextDiff::from_lines(d.before.as_str(), d.after.as_str());
    let mut out = td
        .unified_diff()
        .context_radius(3)
        .header(
            &label("before", &d.before_header),
            &label("after", &d.after_header),
        )
        .to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_headers_and_hunks() {
        let d = Diff::new("/etc/motd", "a\nb\n", "a\nc\n");
        let u = unified_diff(&d);
        assert!(u.starts_with("--- before: /etc/motd\n+++ after: /etc/motd\n@@"));
        assert!(u.contains("\n-b\n+c\n"));
        assert_eq!(unified_diff(&Diff::new("x", "same", "same")), "");
    }
}
