//! The machine-readable report: the [`RunReport`] as JSON, under the versioned schema
//! `converge.report/v1` (every field is described in `docs/report-schema.md`). Fields are only
//! ever added within a schema version; renaming or removing one bumps the version.

use super::model::{RunReport, SCHEMA};
use anyhow::{Context, Result};

/// Pretty-printed JSON with a trailing newline. Deterministic: field order is fixed and data
/// keeps the order the modules produced.
pub fn render(report: &RunReport) -> Result<String> {
    let mut report = report.clone();
    report.schema = SCHEMA.to_string();
    let mut s = serde_json::to_string_pretty(&report).context("serialising the JSON report")?;
    s.push('\n');
    Ok(s)
}

/// Reads a JSON report back (e.g. to re-render it in another format).
pub fn parse(text: &str) -> Result<RunReport> {
    let value: serde_json::Value = serde_json::from_str(text).context("parsing the JSON report")?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => anyhow::bail!("unsupported report schema {other:?} (expected {SCHEMA})"),
        None => anyhow::bail!("not a converge report: no \"schema\" field"),
    }
    serde_json::from_value(value).context("reading the JSON report")
}
