//! JUnit XML, for the test tabs of CI systems: one `<testsuite>` per play and one
//! `<testcase classname="host" name="play / task">` per host and task, with `<failure>` for
//! failed or unreachable results, `<skipped/>` for skipped ones and the diff of changed ones in
//! `<system-out>`.

use super::model::RunReport;
use super::view::{Parts, View};
use anyhow::Result;

pub fn render(report: &RunReport, template: Option<&str>) -> Result<String> {
    let view = View::build(report, Parts::JUNIT);
    let tpl = template.unwrap_or(include_str!("templates/junit.hbs"));
    super::render_template("junit", tpl, super::escape_xml, &view)
}
