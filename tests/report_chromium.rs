//! The HTML report in a real browser: headless Chromium renders the single-file report of a
//! `converge plan` run; the rendered DOM holds the summary and the per-host details, and a
//! screenshot is produced. Needs `chromium` (tests/setup.sh installs it); fails without it.

mod common;
use common::*;
use std::process::Command;

fn chromium() -> std::path::PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
        .expect("chromium is not installed (run tests/setup.sh)")
}

fn headless(profile: &std::path::Path) -> Command {
    let mut c = Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,900",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn html_report_renders_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let pb = tmp.path().join("pb.yml");
    std::fs::write(
        &pb,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: The motd\n      copy:\n        dest: \"{{ root }}/motd\"\n        content: \"hello from the report\\n\"\n",
    )
    .unwrap();
    let html = tmp.path().join("plan.html");
    let root_var = format!("root={}", root.display());
    let r = converge(
        &[
            "plan",
            pb.to_str().unwrap(),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            &root_var,
            "--format",
            "html",
            "--output",
            html.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);

    let url = format!("file://{}", html.display());
    let dom = headless(&tmp.path().join("p1"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("localhost"),
        "the summary table lists the host: {dom}"
    );
    assert!(dom.contains("The motd"), "the changed task is there: {dom}");
    assert!(
        dom.contains("hello from the report"),
        "its diff is there: {dom}"
    );
    assert!(dom.contains("<table"), "{dom}");

    let shot = tmp.path().join("plan.png");
    let out = headless(&tmp.path().join("p2"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 10_000,
        "a blank page would be tiny: {} bytes",
        png.len()
    );
}
