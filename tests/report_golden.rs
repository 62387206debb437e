//! Golden-file tests of the report renderers: the fixed sample report rendered in each format
//! must match `tests/golden/sample.*` byte for byte. Run with `UPDATE_GOLDEN=1` to rewrite the
//! files after an intended change, then review the diff.

use converge::report::sample::{sample_report, SAMPLE_SECRET};
use converge::report::{render, Format};
use std::path::PathBuf;

fn golden(format: Format) {
    let report = sample_report();
    let out = render(format, &report, None).expect("render");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("sample.{}", format.extension()));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &out).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert!(
        out == expected,
        "{format} report differs from {}; run with UPDATE_GOLDEN=1 and review.\n--- got ---\n{out}",
        path.display()
    );
    assert!(!out.contains(SAMPLE_SECRET));
}

#[test]
fn markdown_matches_golden() {
    golden(Format::Markdown);
}

#[test]
fn json_matches_golden() {
    golden(Format::Json);
}

#[test]
fn junit_matches_golden() {
    golden(Format::Junit);
}

#[test]
fn text_matches_golden() {
    golden(Format::Text);
}

#[test]
fn rendering_is_deterministic() {
    for f in Format::ALL {
        let a = render(f, &sample_report(), None).expect("render");
        let b = render(f, &sample_report(), None).expect("render");
        assert_eq!(a, b, "{f}");
    }
}
