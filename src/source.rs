//! Source files and positions in them, so that every error about user input can point at
//! `path:line:col` and show the offending line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The largest file converge reads as YAML or a template. Bigger inputs are refused with a clear
/// error instead of exhausting memory.
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// A file's text, kept so that errors can quote it.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<Self> {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Arc::new(SourceFile {
            path: path.into(),
            text,
            line_starts,
        })
    }

    /// Read a file, refusing ones over [`MAX_SOURCE_BYTES`] and ones that are not UTF-8.
    pub fn read(path: &Path) -> Result<Arc<Self>, String> {
        let meta =
            std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if meta.len() > MAX_SOURCE_BYTES {
            return Err(format!(
                "{} is {} bytes; converge refuses input files over {} MiB",
                path.display(),
                meta.len(),
                MAX_SOURCE_BYTES / 1024 / 1024
            ));
        }
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            format!(
                "{} is not valid UTF-8 (byte {})",
                path.display(),
                e.utf8_error().valid_up_to()
            )
        })?;
        Ok(SourceFile::new(path, text))
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |e| e - 1);
        self.text
            .get(start..end.max(start))
            .unwrap_or("")
            .trim_end_matches('\r')
    }

    /// Byte offset of a 1-based line and 0-based character column.
    pub fn offset(&self, line: usize, col_chars: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        start
            + rest
                .char_indices()
                .nth(col_chars)
                .map_or(rest.len(), |(i, _)| i)
    }

    /// 1-based line and column of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset.min(self.text.len()))
            .map_or(0, |s| s.chars().count());
        (line + 1, col + 1)
    }
}

/// A region of a source file. `line` and `col` are 1-based; `start..end` are byte offsets.
#[derive(Debug, Clone)]
pub struct Span {
    pub file: Arc<SourceFile>,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub col: usize,
}

impl Span {
    pub fn new(file: &Arc<SourceFile>, start: usize, end: usize) -> Span {
        let (line, col) = file.position(start);
        Span {
            file: Arc::clone(file),
            start,
            end: end.max(start),
            line,
            col,
        }
    }

    /// A span covering the whole of a file's first line: for errors about a file as a whole.
    pub fn file_start(file: &Arc<SourceFile>) -> Span {
        Span::new(file, 0, 0)
    }

    /// A sub-span inside this span's text, e.g. the position of a template error inside a value.
    pub fn sub(&self, range: std::ops::Range<usize>) -> Span {
        let start = (self.start + range.start).min(self.end);
        let end = (self.start + range.end).min(self.end).max(start);
        Span::new(&self.file, start, end)
    }

    /// The span moved to a 1-based line (and optional 1-based column) relative to its own start,
    /// for template errors that know only their line within a multi-line value.
    pub fn at_relative_line(&self, line: usize, col: Option<usize>) -> Span {
        let target_line = self.line + line.saturating_sub(1);
        let col0 = if line <= 1 {
            self.col - 1 + col.unwrap_or(1) - 1
        } else {
            col.unwrap_or(1) - 1
        };
        let start = self
            .file
            .offset(target_line, col0)
            .max(self.start)
            .min(self.file.text.len());
        Span::new(&self.file, start, start + 1)
    }

    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file.path.display(), self.line, self.col)
    }

    pub fn text(&self) -> &str {
        self.file.text.get(self.start..self.end).unwrap_or("")
    }
}

impl PartialEq for Span {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.file, &other.file) && self.start == other.start && self.end == other.end
    }
}
