//! The markdown report must fit in a GitHub comment (< 65,000 characters) however large the
//! run: the largest diffs are trimmed first, then tasks, then hosts, with a note of what was cut.

use converge::report::markdown::LIMIT;
use converge::report::model::{
    DiffReport, HostRecap, Mode, PlayReport, RunMeta, RunReport, Status, TaskReport, TaskResult,
};
use converge::report::{render, Format};

fn meta() -> RunMeta {
    RunMeta {
        id: "0190f3a2-0000-7000-8000-000000000000".into(),
        started_at: "2024-05-01T02:00:00Z".into(),
        mode: Mode::Check,
        playbooks: vec!["site.yml".into()],
        converge_version: "0.1.0".into(),
        ..RunMeta::default()
    }
}

fn diff_of(lines: usize, tag: &str) -> DiffReport {
    let mut unified =
        format!("--- before: /etc/{tag}\n+++ after: /etc/{tag}\n@@ -1,{lines} +1,{lines} @@\n");
    for i in 0..lines {
        unified.push_str(&format!("-old line {i} of {tag}\n+new line {i} of {tag}\n"));
    }
    DiffReport {
        before_header: format!("/etc/{tag}"),
        after_header: format!("/etc/{tag}"),
        unified,
        ..DiffReport::default()
    }
}

/// `hosts` hosts × `tasks` changed tasks, each with a diff of `lines` changed lines.
fn big_report(hosts: usize, tasks: usize, lines: usize) -> RunReport {
    let mut r = RunReport::new(meta());
    let host_names: Vec<String> = (0..hosts).map(|h| format!("host{h:04}")).collect();
    let mut play = PlayReport {
        name: "site".into(),
        hosts: host_names.clone(),
        tasks: Vec::new(),
    };
    for t in 0..tasks {
        let mut task = TaskReport {
            name: format!("template config file number {t}"),
            ..TaskReport::default()
        };
        for h in &host_names {
            let mut res = TaskResult::new(h, Status::Changed);
            res.diffs.push(diff_of(lines, &format!("app{t}.conf")));
            task.results.push(res);
        }
        play.tasks.push(task);
    }
    r.plays.push(play);
    for h in &host_names {
        r.recap.insert(
            h.clone(),
            HostRecap {
                ok: tasks as u32,
                changed: tasks as u32,
                ..HostRecap::default()
            },
        );
    }
    r.compute_totals();
    r
}

#[test]
fn five_thousand_changed_tasks_fit_in_a_comment() {
    let report = big_report(1, 5_000, 3);
    let md = render(Format::Markdown, &report, None).expect("render");
    assert!(md.len() < 65_000, "{} bytes", md.len());
    assert!(md.len() <= LIMIT);
    assert!(md.contains("This comment was trimmed to stay under 65,000 characters"));
    assert!(md.contains("diffs ("), "diff trimming is reported");
    assert!(md.contains("tasks on 1 host not listed"));
    assert!(md.contains("more tasks not shown (see the JSON report)"));
    // The summary survives.
    assert!(md.contains("| host0000 | 5000 | 5000 | 0 | 0 |"));
    assert!(md.contains("5000 tasks would change on 1 of 1 host"));
    // Every <details> is closed.
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
}

#[test]
fn largest_diffs_are_trimmed_first() {
    let mut report = big_report(2, 3, 10);
    // One huge diff on host0001's second task.
    report.plays[0].tasks[1].results[1].diffs[0] = diff_of(3_000, "huge");
    let md = render(Format::Markdown, &report, None).expect("render");
    assert!(md.len() <= LIMIT);
    assert!(md.contains("_(diff trimmed: 6003 lines, see the JSON report)_"));
    assert!(md.contains("1 diff (6,003 lines) replaced by a placeholder"));
    // The small diffs are intact.
    assert!(md.contains("+new line 9 of app0.conf"));
    assert_eq!(md.matches("diff trimmed").count(), 1);
    // The JSON report keeps everything.
    let json = render(Format::Json, &report, None).expect("json");
    assert!(json.contains("new line 2999 of huge"));
}

#[test]
fn thousands_of_hosts_cap_the_table() {
    let report = big_report(5_000, 1, 1);
    let md = render(Format::Markdown, &report, None).expect("render");
    assert!(md.len() <= LIMIT, "{} bytes", md.len());
    assert!(md.contains("left out of the table"));
    assert!(md.contains("more hosts | | | | |"));
}

#[test]
fn a_template_override_is_used_and_limited_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("comment.hbs");
    std::fs::write(
        &path,
        "# {{title}}\n{{#if trim_note}}NOTE: {{trim_note}}\n{{/if}}{{#each hosts}}{{name}}: {{summary}}\n{{#each tasks}}{{#each diffs}}{{{text}}}\n{{/each}}{{/each}}{{/each}}",
    )
    .expect("write template");
    let small = big_report(1, 2, 1);
    let out = render(Format::Markdown, &small, Some(&path)).expect("render");
    assert!(out.starts_with("# converge plan (check mode)\nhost0000: 2 changes\n"));
    let big = big_report(1, 5_000, 3);
    let out = render(Format::Markdown, &big, Some(&path)).expect("render");
    assert!(out.len() <= LIMIT);
    assert!(out.contains("NOTE: This comment was trimmed"));

    assert!(render(Format::Json, &small, Some(&path)).is_err());
    let missing = dir.path().join("missing.hbs");
    let err = render(Format::Html, &small, Some(&missing)).expect_err("missing template");
    assert!(format!("{err:#}").contains("missing.hbs"));
}
