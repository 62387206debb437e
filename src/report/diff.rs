//! Unified diff text for reports: the terminal's diff ([`crate::output::diff::unified_diff`]),
//! never coloured, so the reports, the history and `--diff` output show identical diffs.

use converge_modules::Diff;

/// The unified diff of one before/after pair (`before: PATH`/`after: PATH` headers, 3 lines of
/// context), empty when nothing differs.
pub fn unified_diff(d: &Diff) -> String {
    crate::output::diff::unified_diff(d, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_headers_and_hunks() {
        let d = Diff::new("/etc/motd", "a\nb\n", "a\nc\n");
        let u = unified_diff(&d);
        assert!(
            u.starts_with("--- before: /etc/motd\n+++ after: /etc/motd\n@@"),
            "{u}"
        );
        assert!(u.contains("\n-b\n+c\n"), "{u}");
        assert!(!u.contains('\u{1b}'));
        assert_eq!(unified_diff(&Diff::new("x", "same", "same")), "");
    }
}
