//! Errors about user input, rendered like a compiler's: what is wrong, where (`path:line:col`),
//! the offending line with a caret under it, and a hint where one helps.

use crate::source::Span;
use std::fmt;

/// One problem with the input.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub message: String,
    pub span: Option<Span>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, span: Option<Span>) -> Self {
        Diagnostic {
            message: message.into(),
            span,
            hint: None,
        }
    }

    pub fn at(span: &Span, message: impl Into<String>) -> Self {
        Diagnostic::new(message, Some(span.clone()))
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_hint_opt(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if let Some(span) = &self.span {
            let line_no = span.line.to_string();
            let pad = " ".repeat(line_no.len());
            writeln!(f, "{pad}--> {}", span.location())?;
            writeln!(f, "{pad} |")?;
            let text = span.file.line_text(span.line);
            writeln!(f, "{line_no} | {text}")?;
            let lead: String = text
                .chars()
                .take(span.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let width = span
                .text()
                .lines()
                .next()
                .map_or(1, |l| l.chars().count())
                .clamp(1, text.chars().count().saturating_sub(span.col - 1).max(1));
            writeln!(f, "{pad} | {lead}{}", "^".repeat(width))?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "  = help: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// All problems found in one validation pass: a user fixes them in one go, not one per run.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(value)` when nothing was reported.
    pub fn finish<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        if self.0.len() > 1 {
            writeln!(f, "{} errors found; no host was touched.", self.0.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
