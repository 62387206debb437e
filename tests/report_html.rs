//! The HTML report is one self-contained, well-formed page: balanced tags, no external
//! resources, the summary table and a collapsible section per host. (A headless-browser
//! screenshot check is left for later.)

use converge::report::sample::{sample_report, SAMPLE_SECRET};
use converge::report::{render, Format};

const VOID: &[&str] = &["meta", "br", "hr", "img", "input", "link"];

/// Checks that every non-void element is closed in order; returns the element names seen.
fn check_balanced(html: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>').expect("unterminated tag");
        let tag = &after[..end];
        rest = &after[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "</{name}> closes <{open}>");
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(!name.is_empty(), "bad tag <{tag}>");
        if name == "style" {
            let close = rest.find("</style>").expect("style closed");
            rest = &rest[close + "</style>".len()..];
            seen.push(name);
            continue;
        }
        seen.push(name.clone());
        if !VOID.contains(&name.as_str()) && !tag.ends_with('/') {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    seen
}

#[test]
fn html_is_self_contained_and_well_formed() {
    let html = render(Format::Html, &sample_report(), None).expect("render");
    assert!(html.starts_with("<!DOCTYPE html>"));
    let tags = check_balanced(&html);
    for t in [
        "html", "head", "style", "body", "table", "details", "summary", "pre",
    ] {
        assert!(tags.iter().any(|x| x == t), "no <{t}>");
    }
    for forbidden in ["<script", "<link", "src=", "http://", "https://", "url("] {
        assert!(
            !html.contains(forbidden),
            "external resource or script: {forbidden}"
        );
    }
    assert!(html.contains("<thead><tr><th>host</th><th>ok</th><th>changed</th><th>failed</th><th>unreachable</th></tr></thead>"));
    assert!(html.contains("<tr class=\"changed\"><td>web1</td><td class=\"num\">4</td><td class=\"num\">3</td><td class=\"num\">0</td><td class=\"num\">0</td></tr>"));
    assert!(html.contains(
        "<summary>web2 — 1 change, 1 failure, 1 not predictable in check mode</summary>"
    ));
    assert!(html.contains("<span class=\"add\">+managed by converge</span>"));
    // Escaped, not interpreted.
    assert!(html.contains("Probe &lt;health&gt;"));
    assert!(html.contains("&lt;Permission &quot;denied&quot;&gt; &amp; &#39;retry&#39;"));
    assert!(!html.contains(SAMPLE_SECRET));
}
