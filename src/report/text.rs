//! The plain-text summary `converge plan` prints in quiet mode: one line for the run, then per
//! host what would change (`~`) and what failed (`!`), without diffs. No colour, no template:
//! it is meant for terminals and logs.

use super::model::RunReport;
use super::view::{Parts, View};
use std::fmt::Write;

pub fn render(report: &RunReport) -> String {
    let view = View::build(report, Parts::NONE);
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", view.title, view.summary_line);
    let width = view
        .hosts
        .iter()
        .map(|h| h.name.chars().count())
        .max()
        .unwrap_or(0);
    for host in &view.hosts {
        let _ = writeln!(out, "{:width$}  {}", host.name, host.summary);
        for t in &host.tasks {
            // `!` fails the run, `~` changes, `-` a failure that was ignored or rescued.
            let marker = if t.failed {
                '!'
            } else if t.handled {
                '-'
            } else if t.changed {
                '~'
            } else {
                '?'
            };
            let msg = if t.failed || t.handled {
                t.msg
                    .as_deref()
                    .and_then(|m| m.lines().next())
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let label = if t.status_label == "changed" {
                String::new()
            } else {
                format!(" — {}", t.status_label)
            };
            let _ = writeln!(out, "  {marker} {}{label}{msg}", t.title);
        }
    }
    for w in &view.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    let mut tail = format!("run {}", report.run.id);
    if let Some(ms) = report.run.duration_ms {
        let _ = write!(tail, " · {}.{:03} s", ms / 1000, ms % 1000);
    }
    let _ = writeln!(out, "{tail}");
    out
}
