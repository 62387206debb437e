//! A single self-contained HTML page (inline CSS, no scripts, no external resources) with the
//! same content as the markdown comment: summary table, then one collapsible section per host
//! with its changed and failed tasks and their coloured diffs. Meant as a CI artefact.

use super::model::RunReport;
use super::view::{Parts, View};
use anyhow::Result;

pub fn render(report: &RunReport, template: Option<&str>) -> Result<String> {
    let view = View::build(report, Parts::HTML);
    let tpl = template.unwrap_or(include_str!("templates/html.hbs"));
    super::render_template("html", tpl, super::escape_html, &view)
}
