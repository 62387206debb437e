//! The terminal output of a run: an [`EventSink`] that writes the stream `ansible-playbook`'s
//! default callback writes, byte for byte where tools parse it.
//!
//! What is reproduced (checked against ansible-core 2.19 with `-i localhost, -c local`):
//! * banners: `\nPLAY [name] ***…`, `TASK [role : name]`, `RUNNING HANDLER [name]`,
//!   `PLAY RECAP`, stars filling the line to Ansible's width (79 columns, or the terminal's width
//!   less one when wider), at least 3 stars;
//! * host lines: `ok: [h]`, `changed: [h]`, `skipping: [h]`,
//!   `fatal: [h]: FAILED! => {json}`, `fatal: [h]: UNREACHABLE! => {json}`, `...ignoring`;
//!   loop items `changed: [h] => (item=label)`, `failed: [h] (item=label) => {json}`,
//!   `skipping: [h] => (item=label) ` (Ansible's trailing space included);
//! * result JSON as Python's `json.dumps(sort_keys=True)` (see [`super::pyjson`]), indented by 4
//!   for `debug`-like results and from `-vvv` on;
//! * diffs (with `--diff`, for changed results only, as Ansible) before the host's line, followed
//!   by a blank line;
//! * the recap: `"%-26s : ok=%-4s changed=%-4s …"`, hosts in name order, then a blank line;
//! * colors only when asked, with Ansible's codes (see [`super::color`]);
//! * warnings `[WARNING]: …` (once per text, as Ansible deduplicates them) on stderr when printing
//!   to the terminal, in the stream otherwise; verbose messages `<host> message` when
//!   `verbosity >= level`.
//!
//! Not reproduced: Ansible 2.19's `[ERROR]: Task failed: …` blocks with source excerpts before a
//! `fatal:` line (we have no source position in the event), `task path:` lines at `-vv`, and
//! cowsay.
//!
//! What the executor must provide (see [`HostResult`]):
//! * `data` is a JSON object (the registered result without `changed`/`failed`/`msg`, which the
//!   printer adds from `status` and `msg`); other shapes are not printed;
//! * `data["_show"]` marks a result meant for display (Ansible's `_ansible_verbose_always`): its
//!   `=> {json}` is printed at every verbosity, indented. `true` is for `debug`: only `msg` when
//!   there is one (else the variables, without `changed`); `"all"` is for the other modules that
//!   always show their result (`assert`): the whole result, `changed` included;
//! * loop results carry their items in `items` (each with `item` as label); the parent's own
//!   line is printed only when every item was skipped (`skipping: [h]`), or when unreachable;
//! * `NoHostsMatched` prints both the host-pattern warning and `skipping: no hosts matched`: the
//!   executor need not emit a separate `Warning` for it (an identical one would be deduplicated).
//!
//! Several executor threads emit at once: each event is rendered to a string, then written whole
//! under a lock (through the progress bar's `suspend` when one is shown), so blocks never
//! interleave. Write errors (a closed pipe: `converge … | head`) are ignored, never a panic.

use super::color::{self, paint};
use super::diff::unified_diff;
use super::events::{Event, EventSink, HostResult, HostStats, Recap, ResultStatus};
use super::progress::Progress;
use super::pyjson;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::io::{self, IsTerminal, Write};
use std::sync::{Mutex, MutexGuard};

/// Ansible's text for a result hidden by `no_log`.
const CENSORED: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// Ansible's minimum width for banners (`Display.columns` when stdout is not a terminal).
pub const MIN_COLUMNS: usize = 79;

/// How the printer writes. `color` and `progress` are decided by the CLI (`--color`, `-v`, whether
/// stdout is a terminal); [`PrinterOptions::detect`] gives the automatic choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrinterOptions {
    /// ANSI colors (Ansible's codes).
    pub color: bool,
    /// `-v` count: 1 prints every result's JSON, 3 indents it and keeps `invocation`/`diff`;
    /// `Verbose` events of a level up to this one are printed.
    pub verbosity: u8,
    /// `--diff`: print the diffs of changed results.
    pub diff: bool,
    /// `--check`: only shown on the progress line (`[check]`); the stream is Ansible's, which
    /// marks nothing by default.
    pub check: bool,
    /// A live progress line under the stream (only drawn when stdout is a terminal).
    pub progress: bool,
}

impl PrinterOptions {
    /// The automatic choice for printing to stdout: color when stdout is a terminal and
    /// `NO_COLOR` is unset (or empty), a progress line when stdout is a terminal and not verbose.
    pub fn detect(verbosity: u8, diff: bool, check: bool) -> Self {
        let tty = io::stdout().is_terminal();
        PrinterOptions {
            color: auto_color(),
            verbosity,
            diff,
            check,
            progress: tty && verbosity == 0,
        }
    }
}

/// `--color auto`: stdout is a terminal and `NO_COLOR` is unset or empty (no-color.org).
pub fn auto_color() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    io::stdout().is_terminal() && !no_color
}

/// The width Ansible's banners fill: `max(79, terminal columns - 1)`.
pub fn terminal_columns() -> usize {
    #[cfg(unix)]
    {
        if io::stdout().is_terminal() {
            // SAFETY: TIOCGWINSZ only fills the `winsize` we pass; fd 1 stays open.
            let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
            let rc = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) };
            if rc == 0 && ws.ws_col > 0 {
                return MIN_COLUMNS.max(usize::from(ws.ws_col) - 1);
            }
        }
    }
    MIN_COLUMNS
}

type Writer = Box<dyn Write + Send>;

/// A piece of a rendered event: for the stream, or a warning (stderr, deduplicated).
enum Chunk {
    Out(String),
    Warn(String),
}

struct Sinks {
    out: Writer,
    /// Where warnings go; `None`: into `out`.
    err: Option<Writer>,
    out_broken: bool,
    err_broken: bool,
    /// Warnings already printed (Ansible prints each text once).
    warned: HashSet<String>,
}

impl Sinks {
    fn write_out(&mut self, s: &str) {
        if !self.out_broken && self.out.write_all(s.as_bytes()).is_err() {
            self.out_broken = true;
        }
    }

    fn write_err(&mut self, s: &str) {
        match &mut self.err {
            Some(err) => {
                if !self.err_broken && err.write_all(s.as_bytes()).is_err() {
                    self.err_broken = true;
                }
            }
            None => self.write_out(s),
        }
    }

    fn flush(&mut self) {
        if !self.out_broken && self.out.flush().is_err() {
            self.out_broken = true;
        }
        if let Some(err) = &mut self.err {
            if !self.err_broken && err.flush().is_err() {
                self.err_broken = true;
            }
        }
    }
}

/// The terminal printer. Cheap to call from several threads; see the module documentation.
pub struct Printer {
    opts: PrinterOptions,
    columns: usize,
    sinks: Mutex<Sinks>,
    progress: Option<Progress>,
}

impl Printer {
    /// Prints to stdout (warnings to stderr), banners as wide as the terminal, with a progress
    /// line when `opts.progress` (and stdout is a terminal).
    pub fn stdout(opts: PrinterOptions) -> Self {
        let out: Writer = Box::new(io::BufWriter::new(io::stdout()));
        let err: Writer = Box::new(io::stderr());
        let mut p = Printer::to_writers(out, Some(err), opts).with_columns(terminal_columns());
        if opts.progress && io::stdout().is_terminal() {
            p.progress = Some(Progress::stdout(opts.color, opts.check));
        }
        p
    }

    /// Prints everything, warnings included, to `w`, 79 columns wide, without progress line
    /// (`opts.progress` is ignored: see [`Printer::with_progress`]). For tests and log files.
    pub fn to_writer(w: Box<dyn Write + Send>, opts: PrinterOptions) -> Self {
        Printer::to_writers(w, None, opts)
    }

    /// Prints the stream to `out` and warnings to `err` (into `out` when `None`).
    pub fn to_writers(
        out: Box<dyn Write + Send>,
        err: Option<Box<dyn Write + Send>>,
        opts: PrinterOptions,
    ) -> Self {
        Printer {
            opts,
            columns: MIN_COLUMNS,
            sinks: Mutex::new(Sinks {
                out,
                err,
                out_broken: false,
                err_broken: false,
                warned: HashSet::new(),
            }),
            progress: None,
        }
    }

    /// Banners fill `columns` (Ansible's `Display.columns`; at least 79 in Ansible).
    pub fn with_columns(mut self, columns: usize) -> Self {
        self.columns = columns;
        self
    }

    /// Drives `progress` with the events and writes through its `suspend`.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    pub fn options(&self) -> PrinterOptions {
        self.opts
    }

    fn sinks(&self) -> MutexGuard<'_, Sinks> {
        self.sinks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the chunks as one block: nothing from another thread comes in between.
    fn write(&self, chunks: Vec<Chunk>) {
        if chunks.is_empty() {
            return;
        }
        let color = self.opts.color;
        let mut sinks = self.sinks();
        let mut write_all = || {
            for chunk in &chunks {
                match chunk {
                    Chunk::Out(s) => sinks.write_out(s),
                    Chunk::Warn(w) => {
                        if sinks.warned.insert(w.clone()) {
                            let line = format!("[WARNING]: {w}");
                            sinks.write_err(&display(&line, color.then_some(color::WARN)));
                        }
                    }
                }
            }
            sinks.flush();
        };
        match &self.progress {
            Some(p) => p.suspend(write_all),
            None => write_all(),
        }
    }

    fn update_progress(&self, event: &Event) {
        let Some(p) = &self.progress else { return };
        match event {
            Event::PlayStart { name, .. } => p.play(name),
            Event::TaskStart {
                name,
                role,
                handler,
                hosts,
            } => p.task(&task_banner(name, role.as_deref(), *handler), *hosts),
            Event::HostResult(_) => p.host_done(),
            Event::TaskEnd => p.task_done(),
            Event::RunEnd { .. } => p.finish(),
            _ => {}
        }
    }

    /// The chunks `event` prints.
    fn render(&self, event: &Event) -> Vec<Chunk> {
        let mut b = Vec::new();
        match event {
            Event::RunStart { playbooks, .. } => {
                if self.opts.verbosity >= 2 {
                    for pb in playbooks {
                        let base = std::path::Path::new(pb)
                            .file_name()
                            .map(|f| f.to_string_lossy().into_owned())
                            .unwrap_or_else(|| pb.clone());
                        b.push(Chunk::Out(self.banner(&format!("PLAYBOOK: {base}"))));
                    }
                }
            }
            Event::PlayStart { name, .. } | Event::BatchStart { name, .. } => {
                let name = name.trim();
                let msg = if name.is_empty() {
                    "PLAY".to_string()
                } else {
                    format!("PLAY [{name}]")
                };
                b.push(Chunk::Out(self.banner(&msg)));
            }
            Event::NoHostsMatched { pattern } => {
                b.push(Chunk::Warn(format!(
                    "Could not match supplied host pattern, ignoring: {pattern}"
                )));
                b.push(self.line("skipping: no hosts matched", color::SKIP));
            }
            Event::TaskStart {
                name,
                role,
                handler,
                ..
            } => {
                let banner = task_banner(name, role.as_deref(), *handler);
                b.push(Chunk::Out(self.banner(&banner)));
            }
            Event::HostResult(r) => self.render_result(r, &mut b),
            Event::TaskEnd | Event::PlayEnd => {}
            Event::Warning(w) => b.push(Chunk::Warn(w.clone())),
            Event::Verbose {
                level,
                host,
                message,
            } => {
                if self.opts.verbosity >= *level {
                    let text = match host {
                        Some(h) => format!("<{h}> {message}"),
                        None => message.clone(),
                    };
                    b.push(self.line(&text, color::VERBOSE));
                }
            }
            Event::RunEnd { recap, .. } => {
                let mut s = self.banner("PLAY RECAP");
                s.push_str(&recap_lines(recap, self.opts.color));
                s.push('\n');
                b.push(Chunk::Out(s));
            }
        }
        b
    }

    /// Ansible's `Display.banner`: a blank line, the text, a space and stars to the width.
    fn banner(&self, msg: &str) -> String {
        let msg = msg.trim();
        let width = msg.chars().count();
        let stars = self.columns.saturating_sub(width).max(3);
        format!("\n{msg} {}\n", "*".repeat(stars))
    }

    /// One displayed message in `code` (when colors are on).
    fn line(&self, text: &str, code: &str) -> Chunk {
        Chunk::Out(display(text, self.opts.color.then_some(code)))
    }

    fn render_result(&self, r: &HostResult, b: &mut Vec<Chunk>) {
        let host = &r.host;
        // `include_tasks`: Ansible's `included: FILE for HOST` line.
        if let Some(file) = r.data.get("_included").and_then(Value::as_str) {
            b.push(self.line(&format!("included: {file} for {host}"), color::SKIP));
            return;
        }
        let show = Show::of(r);
        if !r.items.is_empty() && r.status != ResultStatus::Unreachable {
            self.render_diffs(r, b);
            for item in &r.items {
                self.render_item(r, item, show.or(Show::of(item)), b);
            }
            match r.status {
                ResultStatus::Skipped => {
                    let mut text = format!("skipping: [{host}]");
                    if self.is_verbose(show) {
                        let mut json = self.result_json(r, show);
                        if let Value::Object(m) = &mut json {
                            if !m.contains_key("msg") {
                                m.insert("msg".into(), "All items skipped".into());
                            }
                        }
                        text.push_str(" => ");
                        text.push_str(&self.dump(&json, show));
                    }
                    b.push(self.line(&text, color::SKIP));
                }
                ResultStatus::Failed if r.ignored => b.push(self.line("...ignoring", color::SKIP)),
                _ => {}
            }
            return;
        }
        match r.status {
            ResultStatus::Ok | ResultStatus::Changed => {
                self.render_diffs(r, b);
                let (word, code) = if r.status == ResultStatus::Changed {
                    ("changed", color::CHANGED)
                } else {
                    ("ok", color::OK)
                };
                let mut text = format!("{word}: [{host}]");
                if self.is_verbose(show) {
                    text.push_str(" => ");
                    text.push_str(&self.dump(&self.result_json(r, show), show));
                }
                b.push(self.line(&text, code));
            }
            ResultStatus::Skipped => {
                let mut text = format!("skipping: [{host}]");
                if self.is_verbose(show) {
                    text.push_str(" => ");
                    text.push_str(&self.dump(&self.result_json(r, show), show));
                }
                b.push(self.line(&text, color::SKIP));
            }
            ResultStatus::Failed => {
                let json = self.dump(&self.result_json(r, Show::No), Show::No);
                b.push(self.line(&format!("fatal: [{host}]: FAILED! => {json}"), color::ERROR));
                if r.ignored {
                    b.push(self.line("...ignoring", color::SKIP));
                }
            }
            ResultStatus::Unreachable => {
                let json = self.dump(&self.result_json(r, Show::No), Show::No);
                b.push(self.line(
                    &format!("fatal: [{host}]: UNREACHABLE! => {json}"),
                    color::UNREACHABLE,
                ));
                if r.ignored {
                    b.push(self.line("...ignoring", color::SKIP));
                }
            }
        }
    }

    fn render_item(&self, parent: &HostResult, item: &HostResult, show: Show, b: &mut Vec<Chunk>) {
        if parent.no_log && !item.no_log {
            let censored = HostResult {
                no_log: true,
                ..item.clone()
            };
            return self.render_item(parent, &censored, show, b);
        }
        let host = &parent.host;
        let label = if item.no_log || parent.no_log {
            "(censored due to no_log)"
        } else {
            item.item.as_deref().unwrap_or("None")
        };
        match item.status {
            ResultStatus::Ok | ResultStatus::Changed => {
                self.render_diffs(item, b);
                let (word, code) = if item.status == ResultStatus::Changed {
                    ("changed", color::CHANGED)
                } else {
                    ("ok", color::OK)
                };
                let mut text = format!("{word}: [{host}] => (item={label})");
                if self.is_verbose(show) {
                    text.push_str(" => ");
                    text.push_str(&self.dump(&self.result_json(item, show), show));
                }
                b.push(self.line(&text, code));
            }
            ResultStatus::Skipped => {
                let mut text = format!("skipping: [{host}] => (item={label}) ");
                if self.is_verbose(show) {
                    text.push_str(" => ");
                    text.push_str(&self.dump(&self.result_json(item, show), show));
                }
                b.push(self.line(&text, color::SKIP));
            }
            ResultStatus::Failed | ResultStatus::Unreachable => {
                let json = self.dump(&self.result_json(item, Show::No), Show::No);
                b.push(self.line(
                    &format!("failed: [{host}] (item={label}) => {json}"),
                    color::ERROR,
                ));
            }
        }
    }

    /// The diffs of a changed result, each followed by a blank line, as `--diff` shows them.
    fn render_diffs(&self, r: &HostResult, b: &mut Vec<Chunk>) {
        if !self.opts.diff || r.status != ResultStatus::Changed || r.no_log {
            return;
        }
        let mut text = String::new();
        for d in &r.diffs {
            let one = unified_diff(d, self.opts.color);
            if !one.is_empty() {
                text.push_str(&one);
                text.push('\n');
            }
        }
        if !text.is_empty() {
            b.push(Chunk::Out(text));
        }
    }

    /// Ansible's `_run_is_verbose`: `-v`, or a result meant for display.
    fn is_verbose(&self, show: Show) -> bool {
        self.opts.verbosity > 0 || show != Show::No
    }

    /// Ansible's `_dump_results`: indented for results meant for display and from `-vvv` on.
    fn dump(&self, json: &Value, show: Show) -> String {
        let indent = (show != Show::No || self.opts.verbosity > 2).then_some(4);
        pyjson::dumps(json, indent)
    }

    /// The result as Ansible shows it: the registered data with `changed`, `msg` (and
    /// `unreachable`) added, internal keys removed; `debug`-like results keep only their message.
    fn result_json(&self, r: &HostResult, show: Show) -> Value {
        let changed = r.status == ResultStatus::Changed;
        if r.no_log {
            let mut m = Map::new();
            m.insert("censored".into(), CENSORED.into());
            m.insert(
                "changed".into(),
                r.data.get("changed").cloned().unwrap_or(changed.into()),
            );
            return Value::Object(m);
        }
        let mut m = Map::new();
        if let Value::Object(data) = &r.data {
            for (k, v) in data {
                let internal = k == "_show" || k.starts_with("_ansible");
                let dropped = matches!(
                    k.as_str(),
                    "failed" | "skipped" | "exception" | "warnings" | "deprecations"
                ) || (self.opts.verbosity < 3 && (k == "invocation" || k == "diff"));
                if !internal && !dropped {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        if let Some(msg) = &r.msg {
            if !m.contains_key("msg") {
                m.insert("msg".into(), msg.clone().into());
            }
        }
        if show == Show::Debug {
            // Ansible's `_clean_results` for debug: the message alone, or the variables.
            if let Some(msg) = m.get("msg").cloned() {
                m.clear();
                m.insert("msg".into(), msg);
            } else {
                for k in [
                    "changed",
                    "invocation",
                    "skip_reason",
                    "ansible_loop_var",
                    "ansible_index_var",
                    "ansible_loop",
                ] {
                    m.remove(k);
                }
            }
            return Value::Object(m);
        }
        if !m.contains_key("changed") {
            m.insert("changed".into(), changed.into());
        }
        if r.status == ResultStatus::Unreachable {
            m.insert("unreachable".into(), true.into());
        }
        Value::Object(m)
    }
}

impl EventSink for Printer {
    fn emit(&self, event: &Event) {
        let chunks = self.render(event);
        // The bar is finished before the recap is written, so the recap is the last thing shown.
        if matches!(event, Event::RunEnd { .. }) {
            self.update_progress(event);
            self.write(chunks);
        } else {
            self.write(chunks);
            self.update_progress(event);
        }
    }
}

/// `TASK [role : name]` / `RUNNING HANDLER [name]`.
fn task_banner(name: &str, role: Option<&str>, handler: bool) -> String {
    let prefix = if handler { "RUNNING HANDLER" } else { "TASK" };
    let name = name.trim();
    match role.filter(|r| !r.is_empty()) {
        Some(role) => format!("{prefix} [{role} : {name}]"),
        None => format!("{prefix} [{name}]"),
    }
}

/// How the executor marked a result for display: `data["_show"]`, Ansible's
/// `_ansible_verbose_always`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Show {
    /// Not marked: the JSON is printed from `-v` on.
    No,
    /// `_show: true` (`debug`): always printed, indented, cleaned like Ansible cleans `debug`'s
    /// result (the `msg` alone, or the variables without `changed`).
    Debug,
    /// `_show: "all"` (`assert`): always printed, indented, the whole result.
    All,
}

impl Show {
    fn of(r: &HostResult) -> Show {
        match r.data.get("_show") {
            Some(Value::Bool(true)) => Show::Debug,
            Some(Value::String(s)) if s == "all" => Show::All,
            _ => Show::No,
        }
    }

    /// The parent's marking, else the item's.
    fn or(self, other: Show) -> Show {
        if self == Show::No {
            other
        } else {
            self
        }
    }
}

/// Ansible's `Display.display`: the message in color (each line), and a newline unless it ends
/// with one.
fn display(msg: &str, code: Option<&str>) -> String {
    let body = msg.strip_suffix('\n').unwrap_or(msg);
    let mut s = match code {
        Some(code) => paint(body, code),
        None => body.to_string(),
    };
    s.push('\n');
    s
}

/// The host lines of `PLAY RECAP`, as Ansible's `v2_playbook_on_stats` writes them.
pub fn recap_lines(recap: &Recap, color: bool) -> String {
    let mut s = String::new();
    for (host, t) in recap {
        s.push_str(&recap_line(host, t, color));
        s.push('\n');
    }
    s
}

fn recap_line(host: &str, t: &HostStats, color: bool) -> String {
    let host_col = if color {
        let code = if t.failed != 0 || t.unreachable != 0 {
            color::ERROR
        } else if t.changed != 0 {
            color::CHANGED
        } else {
            color::OK
        };
        format!("{:<37}", paint(host, code))
    } else {
        format!("{host:<26}")
    };
    let counter = |lead: &str, n: u32, code: &str| {
        let s = format!("{lead}={n:<4}");
        if color && n != 0 {
            paint(&s, code)
        } else {
            s
        }
    };
    format!(
        "{host_col} : {} {} {} {} {} {} {}",
        counter("ok", t.ok, color::OK),
        counter("changed", t.changed, color::CHANGED),
        counter("unreachable", t.unreachable, color::UNREACHABLE),
        counter("failed", t.failed, color::ERROR),
        counter("skipped", t.skipped, color::SKIP),
        counter("rescued", t.rescued, color::OK),
        counter("ignored", t.ignored, color::WARN),
    )
}

#[cfg(test)]
#[path = "printer_tests.rs"]
mod tests;
