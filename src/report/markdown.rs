//! The pull-request comment: heading with the mode, a summary line, a per-host table, then one
//! collapsible `<details>` per host with each changed or failed task and its diff.
//!
//! GitHub rejects comments over 65,536 characters, so the output is kept under [`LIMIT`]: the
//! largest diffs are replaced by a placeholder first, then tasks per host are capped, then hosts
//! in the table; a note at the top says what was cut. The JSON report always has everything.

use super::model::RunReport;
use super::view::{Parts, View};
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
    tasks: usize,
    task_hosts: usize,
    hosts: usize,
}

/// `65000` → `65,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Cuts {
    /// What was cut, for the note at the top of the comment. Trimmed diffs are counted among
    /// the tasks still listed.
    fn note(&self, view: &View, limit: usize) -> Option<String> {
        let (mut diffs, mut lines) = (0usize, 0usize);
        for d in view
            .hosts
            .iter()
            .flat_map(|h| &h.tasks)
            .flat_map(|t| &t.diffs)
            .filter(|d| d.trimmed)
        {
            diffs += 1;
            lines += d.line_count;
        }
        let mut parts = Vec::new();
        if diffs > 0 {
            parts.push(format!(
                "{} {} ({} lines) replaced by a placeholder",
                thousands(diffs),
                if diffs == 1 { "diff" } else { "diffs" },
                thousands(lines)
            ));
        }
        if self.tasks > 0 {
            parts.push(format!(
                "{} {} on {} {} not listed",
                thousands(self.tasks),
                if self.tasks == 1 { "task" } else { "tasks" },
                self.task_hosts,
                if self.task_hosts == 1 {
                    "host"
                } else {
                    "hosts"
                }
            ));
        }
        if self.hosts > 0 {
            parts.push(format!(
                "{} {} left out of the table",
                thousands(self.hosts),
                if self.hosts == 1 { "host" } else { "hosts" }
            ));
        }
        (!parts.is_empty()).then(|| {
            format!(
                "This comment was trimmed to stay under {} characters: {}. The JSON report has everything.",
                thousands(limit),
                parts.join("; ")
            )
        })
    }
}

/// [`render`] with another size limit (for tests).
pub fn render_with_limit(
    report: &RunReport,
    template: Option<&str>,
    limit: usize,
) -> Result<String> {
    let tpl = template.unwrap_or(include_str!("templates/markdown.hbs"));
    let mut view = View::build(report, Parts::NONE);
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
    diffs.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| (a.1, a.2, a.3).cmp(&(b.1, b.2, b.3)))
    });
    let mut next = 0;
    // The size of the current output, measured or (when re-rendering is pointless) estimated.
    let mut out_len = out.len();
    let mut measured = true;
    while out_len > limit && next < diffs.len() {
        let over = out_len + reserve - limit;
        let mut saved = 0;
        while saved < over && next < diffs.len() {
            let (_, h, t, d) = diffs[next];
            let diff = &mut view.hosts[h].tasks[t].diffs[d];
            saved += diff.trim();
            next += 1;
        }
        view.trim_note = cuts.note(&view, limit);
        let estimate = out_len.saturating_sub(saved);
        if next == diffs.len() && estimate > limit + limit / 10 {
            // Even without any diff it is far too long: go on to cutting tasks.
            out_len = estimate;
            measured = false;
            break;
        }
        out = render_view(&view, tpl)?;
        out_len = out.len();
        measured = true;
    }
    if measured && out_len <= limit {
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
        view.trim_note = cuts.note(view, limit);
    };
    // Tasks listed with a cap of `k`: the output grows about linearly with it.
    let listed = |k: usize| full.iter().map(|t| t.len().min(k)).sum::<usize>();
    let found = largest_fit(max, out_len, limit, &listed, |k| {
        apply_cap(&mut view, &mut cuts, k);
        render_view(&view, tpl)
    })?;
    let zero_len = match found {
        Ok(text) => return Ok(text),
        Err(zero_len) => zero_len,
    };
    apply_cap(&mut view, &mut cuts, 0);

    // 3. Too many hosts even for the table: keep the first ones.
    let all_hosts = view.hosts.clone();
    let found = largest_fit(all_hosts.len(), zero_len, limit, &|k| k, |k| {
        view.hosts = all_hosts[..k].to_vec();
        view.omitted_hosts = all_hosts.len() - k;
        cuts.hosts = view.omitted_hosts;
        view.trim_note = cuts.note(&view, limit);
        render_view(&view, tpl)
    })?;
    if let Ok(text) = found {
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

/// Finds a large `k` in `0..=max` whose rendering fits in `limit` (the largest, or close to it),
/// given that `k = max` renders to `max_len` bytes (measured or estimated) and does not fit, and
/// that the size grows about linearly with `units(k)` (non-decreasing). Interpolates between a
/// fitting and a non-fitting `k` instead of bisecting, so it renders only a few times even for
/// thousands of tasks. `Err(len)` with the length of `k = 0` if even that does not fit.
fn largest_fit(
    max: usize,
    max_len: usize,
    limit: usize,
    units: &dyn Fn(usize) -> usize,
    mut render: impl FnMut(usize) -> Result<String>,
) -> Result<std::result::Result<String, usize>> {
    let zero = render(0)?;
    if zero.len() > limit {
        return Ok(Err(zero.len()));
    }
    let (mut lo, mut lo_len) = (0usize, zero.len());
    let (mut hi, mut hi_len) = (max, max_len.max(limit + 1));
    for _ in 0..12 {
        if hi <= lo + 1 {
            break;
        }
        let (ulo, uhi) = (units(lo) as f64, units(hi) as f64);
        let per_unit = (hi_len - lo_len) as f64 / (uhi - ulo).max(1.0);
        // Aim a little below the limit so the guess usually fits.
        let target = ulo + ((limit - lo_len) as f64 * 0.98) / per_unit.max(1e-9);
        // The largest k in (lo, hi) with units(k) <= target (units is non-decreasing).
        let (mut a, mut b) = (lo + 1, hi - 1);
        let mut k = lo + 1;
        while a <= b {
            let m = a + (b - a) / 2;
            if units(m) as f64 <= target {
                k = m;
                a = m + 1;
            } else {
                b = m - 1;
            }
        }
        let len = render(k)?.len();
        if len <= limit {
            let adjacent = k + 1 == hi;
            lo = k;
            lo_len = len;
            // Close enough: within 2% of the limit.
            if adjacent || lo_len as f64 >= limit as f64 * 0.98 {
                break;
            }
        } else {
            hi = k;
            hi_len = len;
        }
    }
    // Render the answer last, so the caller's state matches the returned text.
    Ok(Ok(render(lo)?))
}
