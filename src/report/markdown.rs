//! The pull-request comment: heading with the mode, a summary line, a per-host table, then one
//! collapsible `<details>` per host with each changed or failed task and its diff.
//!
//! GitHub rejects comments over 65,536 characters, so the output is kept under [`LIMIT`]: the
//! largest diffs are replaced by a placeholder first, then tasks per host are capped, then hosts
//! in the table; a note at the top says what was cut. The JSON report always has everything.

use super::model::RunReport;
use super::view::View;
use anyhow::Result;

/// The maximum size of the comment, in bytes (so also in characters).
pub const LIMIT: usize = 65_000;

const NAME: &str = "markdown";

pub fn render(report: &RunReport, template: Option<&str>) -> Result<String> {
    render_with_limit(report, template, LIMIT)
}

fn render_view(view: &View, template: &str) -> Result<String> {
    super::render_template(NAME, template, super::escape_markdown, view)
}

#[derive(Default)]
struct Cuts {
    diffs: usize,
    diff_lines: usize,
    tasks: usize,
    task_hosts: usize,
    hosts: usize,
}

impl Cuts {
    fn note(&self, limit: usize) -> Option<String> {
        let mut parts = Vec::new();
        if self.diffs > 0 {
            parts.push(format!(
                "{} {} ({} lines) replaced by a placeholder",
                self.diffs,
                if self.diffs == 1 { "diff" } else { "diffs" },
                self.diff_lines
            ));
        }
        if self.tasks > 0 {
            parts.push(format!(
                "{} {} on {} {} not listed",
                self.tasks,
                if self.tasks == 1 { "task" } else { "tasks" },
                self.task_hosts,
                if self.task_hosts == 1 { "host" } else { "hosts" }
            ));
        }
        if self.hosts > 0 {
            parts.push(format!(
                "{} {} left out of the table",
                self.hosts,
                if self.hosts == 1 { "host" } else { "hosts" }
            ));
        }
        (!parts.is_empty()).then(|| {
            format!(
                "This comment was trimmed to stay under {limit} characters: {}. The JSON report has everything.",
                parts.join("; ")
            )
        })
    }
}

/// [`render`] with another size limit (for tests).
pub fn render_with_limit(report: &RunReport, template: Option<&str>, limit: usize) -> Result<String> {
    let tpl = template.unwrap_or(include_str!("templates/markdown.hbs"));
    let mut view = View::build(report, false);
    let mut out = render_view(&view, tpl)?;
    if out.len() <= limit {
        return Ok(out);
    }
    let mut cuts = Cuts::default();
    // Room for the note we are about to add.
    let reserve = 400;

    // 1. The largest diffs first.
    let mut diffs: Vec<(usize, usize, usize, usize)> = Vec::new();
    for (h, host) in view.hosts.iter().enumerate() {
        for (t, task) in host.tasks.iter().enumerate() {
            for (d, diff) in task.diffs.iter().enumerate() {
                diffs.push((diff.weight(), h, t, d));
            }
        }
    }
    // Largest first; ties in report order, so the output is deterministic.
    diffs.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| (a.1, a.2, a.3).cmp(&(b.1, b.2, b.3))));
    let mut next = 0;
    while out.len() > limit && next < diffs.len() {
        let over = out.len() + reserve - limit;
        let mut saved = 0;
        while saved < over && next < diffs.len() {
            let (_, h, t, d) = diffs[next];
            let diff = &mut view.hosts[h].tasks[t].diffs[d];
            cuts.diffs += 1;
            cuts.diff_lines += diff.line_count;
            saved += diff.trim();
            next += 1;
        }
        view.trim_note = cuts.note(limit);
        out = render_view(&view, tpl)?;
    }
    if out.len() <= limit {
        return Ok(out);
    }

    // 2. Cap the tasks listed per host: the largest cap that fits.
    let full: Vec<_> = view.hosts.iter().map(|h| h.tasks.clone()).collect();
    let max = full.iter().map(Vec::len).max().unwrap_or(0);
    let apply_cap = |view: &mut View, cuts: &mut Cuts, cap: usize| {
        cuts.tasks = 0;
        cuts.task_hosts = 0;
        for (host, tasks) in view.hosts.iter_mut().zip(&full) {
            let keep = tasks.len().min(cap);
            host.tasks = tasks[..keep].to_vec();
            host.omitted_tasks = tasks.len() - keep;
            if host.omitted_tasks > 0 {
                cuts.tasks += host.omitted_tasks;
                cuts.task_hosts += 1;
            }
            host.refresh();
        }
        view.trim_note = cuts.note(limit);
    };
    let (mut lo, mut hi) = (0usize, max);
    // Invariant: a cap of `hi + 1` or more does not fit; find the largest cap that does.
    let mut best: Option<(usize, String)> = None;
    while lo <= hi {
        let mid = lo + (hi - lo) / 2;
        apply_cap(&mut view, &mut cuts, mid);
        let candidate = render_view(&view, tpl)?;
        if candidate.len() <= limit {
            best = Some((mid, candidate));
            lo = mid + 1;
        } else if mid == 0 {
            break;
        } else {
            hi = mid - 1;
        }
    }
    if let Some((_, text)) = best {
        return Ok(text);
    }
    apply_cap(&mut view, &mut cuts, 0);

    // 3. Too many hosts even for the table: keep the first ones.
    let all_hosts = view.hosts.clone();
    let (mut lo, mut hi) = (0usize, all_hosts.len());
    let mut best: Option<String> = None;
    while lo <= hi {
        let mid = lo + (hi - lo) / 2;
        view.hosts = all_hosts[..mid].to_vec();
        view.omitted_hosts = all_hosts.len() - mid;
        cuts.hosts = view.omitted_hosts;
        view.trim_note = cuts.note(limit);
        let candidate = render_view(&view, tpl)?;
        if candidate.len() <= limit {
            best = Some(candidate);
            lo = mid + 1;
        } else if mid == 0 {
            break;
        } else {
            hi = mid - 1;
        }
    }
    if let Some(text) = best {
        return Ok(text);
    }

    // 4. A template that prints too much whatever we cut: truncate at a line boundary.
    let note = "\n\n_(comment truncated to fit the size limit; see the JSON report)_\n";
    let mut cut = limit.saturating_sub(note.len());
    while cut > 0 && !out.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = out[..cut].rfind('\n').unwrap_or(cut);
    let mut text = out[..cut].to_string();
    text.push_str(note);
    Ok(text)
}
