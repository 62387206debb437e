//! Reports of a run in every format a pipeline wants: a plain summary for the terminal
//! (`converge plan` quiet mode), versioned JSON for machines, a markdown pull-request comment,
//! JUnit XML for CI test tabs and a self-contained HTML page.
//!
//! All formats render one [`RunReport`], built from the run's events by [`ReportCollector`] or
//! from the run history. Markdown, JUnit and HTML layouts are handlebars templates compiled into
//! the binary; `--template FILE` replaces the layout of one format (the context is documented in
//! `docs/report-schema.md`). Every rendered text goes through the report's [`Redactor`] once more.

pub mod clock;
pub mod diff;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod model;
pub mod redact;
#[doc(hidden)]
pub mod sample;
pub mod text;
pub mod view;

pub use model::{
    git_commit, git_commit_of_playbook, DiffReport, HostRecap, Mode, PlayReport, ReportCollector,
    RunMeta, RunReport, RunStatus, Status, TaskReport, TaskResult, Totals, SCHEMA,
};
pub use redact::{is_secret_key, Redactor, Secrets, MASK};

use anyhow::{bail, Context, Result};
use handlebars::Handlebars;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// The report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Junit,
    Html,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Text,
        Format::Json,
        Format::Markdown,
        Format::Junit,
        Format::Html,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Junit => "junit",
            Format::Html => "html",
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Json => "json",
            Format::Markdown => "md",
            Format::Junit => "xml",
            Format::Html => "html",
        }
    }

    /// The built-in handlebars template of the templated formats.
    pub fn builtin_template(self) -> Option<&'static str> {
        match self {
            Format::Markdown => Some(include_str!("templates/markdown.hbs")),
            Format::Junit => Some(include_str!("templates/junit.hbs")),
            Format::Html => Some(include_str!("templates/html.hbs")),
            Format::Text | Format::Json => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "text" | "txt" | "plain" => Format::Text,
            "json" => Format::Json,
            "markdown" | "md" => Format::Markdown,
            "junit" | "xml" => Format::Junit,
            "html" | "htm" => Format::Html,
            other => bail!(
                "unknown report format {other:?} (expected text, json, markdown, junit or html)"
            ),
        })
    }
}

/// Renders a report. `template_override` replaces the built-in layout of markdown, junit and
/// html (it is an error for text and json, which have no template).
pub fn render(
    format: Format,
    report: &RunReport,
    template_override: Option<&Path>,
) -> Result<String> {
    let custom = match template_override {
        Some(path) => {
            if format.builtin_template().is_none() {
                bail!("the {format} report has no template; --template applies to markdown, junit and html");
            }
            Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading the report template {}", path.display()))?,
            )
        }
        None => None,
    };
    // The report should already be redacted (the collector and the history do it); do it again
    // on a copy, then once more on the output, in case a template prints something unexpected.
    let mut report = report.clone();
    let redactor = report.redactor.clone();
    report.redact(&redactor);
    let out = match format {
        Format::Text => text::render(&report),
        Format::Json => json::render(&report)?,
        Format::Markdown => markdown::render(&report, custom.as_deref())?,
        Format::Junit => junit::render(&report, custom.as_deref())?,
        Format::Html => html::render(&report, custom.as_deref())?,
    };
    Ok(redactor.redact(&out).into_owned())
}

/// Writes a report to a file, creating its directory.
pub fn write(
    format: Format,
    report: &RunReport,
    template_override: Option<&Path>,
    path: &Path,
) -> Result<()> {
    let text = render(format, report, template_override)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the report directory {}", dir.display()))?;
    }
    std::fs::write(path, text)
        .with_context(|| format!("writing the {format} report {}", path.display()))
}

/// Escapes text for markdown prose and tables (not for code blocks, which templates print raw
/// with `{{{ }}}`): HTML-significant characters and the table separator become entities, line
/// breaks become spaces.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '\r' => {}
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for XML 1.0 content and attribute values; characters XML cannot carry at all
/// (most C0 controls, lone surrogates cannot occur in `str`) become U+FFFD.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Renders a view with a template (built-in or override), escaping `{{ }}` with `escape`.
pub(crate) fn render_template<T: serde::Serialize>(
    name: &str,
    template: &str,
    escape: fn(&str) -> String,
    data: &T,
) -> Result<String> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(false);
    hb.register_escape_fn(escape);
    hb.register_template_string(name, template)
        .with_context(|| format!("parsing the {name} report template"))?;
    hb.render(name, data)
        .with_context(|| format!("rendering the {name} report"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().ok(), Some(f));
        }
        assert_eq!("MD".parse::<Format>().ok(), Some(Format::Markdown));
        assert!("yaml".parse::<Format>().is_err());
    }

    #[test]
    fn xml_escape_handles_markup_quotes_and_controls() {
        assert_eq!(
            escape_xml("a<b>&\"c'\u{1}\td"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}\td"
        );
        assert_eq!(escape_markdown("a|b\n<c>"), "a&#124;b &lt;c&gt;");
    }
}
