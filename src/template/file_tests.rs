//! Ansible's path tests, evaluated on the controller (paths relative to its working directory):
//! `directory`/`is_dir`, `file`/`is_file`, `link`/`is_link`, `exists`, `link_exists`,
//! `abs`/`is_abs`, `same_file`/`is_same_file` and `mount`/`is_mount`, as Python's `os.path`
//! answers them.

use super::convert::require_defined;
use super::filters::err;
use minijinja::value::Value;
use minijinja::{Environment, Error};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub(crate) fn register(env: &mut Environment<'static>) {
    for (name, test) in TESTS {
        env.add_test(*name, move |v: &Value| path_test(v, *test));
    }
    env.add_test("same_file", same_file);
    env.add_test("is_same_file", same_file);
}

type PathTest = fn(&Path) -> bool;

const TESTS: &[(&str, PathTest)] = &[
    ("abs", |p| p.is_absolute()),
    ("is_abs", |p| p.is_absolute()),
    ("exists", |p| p.exists()),
    ("link_exists", |p| p.symlink_metadata().is_ok()),
    ("file", |p| p.is_file()),
    ("is_file", |p| p.is_file()),
    ("directory", |p| p.is_dir()),
    ("is_dir", |p| p.is_dir()),
    ("link", |p| p.is_symlink()),
    ("is_link", |p| p.is_symlink()),
    ("mount", is_mount),
    ("is_mount", is_mount),
];

fn text(v: &Value) -> Result<String, Error> {
    require_defined(v)?;
    Ok(match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string(),
    })
}

fn path_test(v: &Value, f: PathTest) -> Result<bool, Error> {
    Ok(f(Path::new(&text(v)?)))
}

/// Python's `os.path.ismount`: not a symlink, and on another device than its parent (or the
/// same inode as its parent, as `/` is).
fn is_mount(p: &Path) -> bool {
    let Ok(meta) = p.symlink_metadata() else {
        return false;
    };
    if meta.file_type().is_symlink() {
        return false;
    }
    let Ok(parent) = p.join("..").metadata() else {
        return false;
    };
    meta.dev() != parent.dev() || meta.ino() == parent.ino()
}

/// Python's `os.path.samefile`: both paths exist and are the same file (device and inode).
fn same_file(a: &Value, b: &Value) -> Result<bool, Error> {
    let (a, b) = (text(a)?, text(b)?);
    let meta = |p: &str| {
        std::fs::metadata(p).map_err(|e| {
            err(format!(
                "[Errno {}] {e}: '{p}'",
                e.raw_os_error().unwrap_or(0)
            ))
        })
    };
    let (ma, mb) = (meta(&a)?, meta(&b)?);
    Ok(ma.dev() == mb.dev() && ma.ino() == mb.ino())
}

#[cfg(test)]
mod tests {
    use super::super::tests::eval;
    use serde_json::json;

    fn t(expr: &str) -> bool {
        eval(expr, json!({})) == json!(true)
    }

    #[test]
    fn path_tests() {
        assert!(t("'/' is abs") && t("'/' is is_abs") && t("'../' is not abs"));
        assert!(
            t("'/' is directory") && t("'/' is is_dir") && t("'/nonexistent' is not directory")
        );
        assert!(t("'/' is exists") && t("'/nonexistent/x' is not exists"));
        assert!(t("'/etc/hostname' is file or '/etc/passwd' is is_file"));
        assert!(
            t("'/nonexistent/x' is not file") && t("'/' is not link") && t("'/' is not is_link")
        );
        assert!(t("'/' is mount") && t("'/' is is_mount") && t("'/does_not_exist' is not mount"));
        assert!(t("'/' is same_file('/')") && t("'/' is is_same_file('/')"));
        assert!(t("'/' is not same_file('/etc')"));
    }

    #[test]
    fn link_tests() {
        let dir = std::env::temp_dir().join(format!("converge-link-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let link = dir.join("dangling");
        std::fs::remove_file(&link).ok();
        std::os::unix::fs::symlink("does_not_exist", &link).ok();
        let vars = json!({"l": link.display().to_string()});
        assert_eq!(
            eval("l is link and l is link_exists and l is not exists", vars),
            json!(true)
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
