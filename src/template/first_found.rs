//! `lookup('first_found', ...)` / `with_first_found:` as Ansible's `first_found.py`: terms are
//! file names, lists of them, or mappings with `files`/`paths`/`skip`; `files=`/`paths=`/
//! `skip=` keywords apply to plain terms; a string is split on `,;` (files) and `,:;` (paths).
//! As a `with_` loop it searches the subdirectory the task's action suggests (`vars/` for
//! `include_vars`, `templates/` for `template`, else `files/`) in the role's directory, the
//! task file's directory and the playbook's, like `find_file_in_search_path`.

use super::convert::value_to_json;
use super::filters::err;
use super::lookups::find_file;
use super::{WITH_ACTION_KEY, WITH_DIRS_KEY};
use minijinja::value::{Kwargs, Value};
use minijinja::{Error, State};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

#[derive(Clone, Default)]
struct Opts {
    files: Vec<String>,
    paths: Vec<String>,
    skip: bool,
}

fn strings(v: Option<&Json>, what: &str) -> Result<Vec<String>, Error> {
    match v {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::String(s)) => Ok(vec![s.clone()]),
        Some(Json::Array(a)) => a
            .iter()
            .map(|x| match x {
                Json::String(s) => Ok(s.clone()),
                Json::Number(n) => Ok(n.to_string()),
                _ => Err(err(format!(
                    "first_found: {what} must be a list of strings"
                ))),
            })
            .collect(),
        Some(_) => Err(err(format!(
            "first_found: {what} must be a list of strings"
        ))),
    }
}

fn opts_of(m: &serde_json::Map<String, Json>) -> Result<Opts, Error> {
    Ok(Opts {
        files: strings(m.get("files"), "files")?,
        paths: strings(m.get("paths"), "paths")?,
        skip: m
            .get("skip")
            .is_some_and(|v| converge_modules::args::to_bool(v).unwrap_or(false)),
    })
}

fn split_on(items: &[String], seps: &[char]) -> Vec<String> {
    items
        .iter()
        .flat_map(|s| s.split(seps).map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// `_process_terms`: every candidate path, in order. A mapping term replaces the options.
fn process_terms(terms: &[Json], opts: &mut Opts, out: &mut Vec<String>) -> Result<(), Error> {
    for term in terms {
        let files = match term {
            Json::Object(m) => {
                *opts = opts_of(m)?;
                opts.files.clone()
            }
            Json::String(s) => vec![s.clone()],
            Json::Array(a) => {
                process_terms(a, opts, out)?;
                continue;
            }
            other => {
                let kind = match other {
                    Json::Null => "NoneType",
                    Json::Bool(_) => "bool",
                    Json::Number(n) if n.is_f64() => "float",
                    _ => "int",
                };
                return Err(err(format!(
                    "Invalid term supplied. A string, dict or list is required, not '{kind}')."
                )));
            }
        };
        let files = split_on(&files, &[',', ';']);
        let paths = split_on(&opts.paths, &[',', ':', ';']);
        if paths.is_empty() {
            out.extend(files);
        } else {
            for p in &paths {
                for f in &files {
                    out.push(Path::new(p).join(f).display().to_string());
                }
            }
        }
    }
    Ok(())
}

pub(super) fn lookup_first_found(
    state: &State,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let kw = |k: &str| -> Result<Option<Json>, Error> {
        kwargs
            .get::<Option<Value>>(k)?
            .map(|v| value_to_json(&v))
            .transpose()
    };
    let mut opts = Opts {
        files: strings(kw("files")?.as_ref(), "files")?,
        paths: strings(kw("paths")?.as_ref(), "paths")?,
        skip: kw("skip")?.is_some_and(|v| converge_modules::args::to_bool(&v).unwrap_or(false)),
    };
    let mut terms: Vec<Json> = terms.iter().map(value_to_json).collect::<Result<_, _>>()?;
    if terms.is_empty() {
        terms = opts.files.iter().cloned().map(Json::String).collect();
    }
    let mut candidates = Vec::new();
    process_terms(&terms, &mut opts, &mut candidates)?;
    let as_with = with_context(state);
    for fn_ in &candidates {
        let found = match &as_with {
            Some((subdir, dirs)) => find_in_search_path(dirs, subdir, fn_),
            None => find_file(state, fn_, "files"),
        };
        if let Some(path) = found {
            return Ok(vec![Value::from(normalize(&path))]);
        }
    }
    if opts.skip {
        return Ok(Vec::new());
    }
    Err(err("No file was found when using first_found."))
}

/// As a `with_first_found` loop: the subdirectory for the task's action, and the search dirs.
fn with_context(state: &State) -> Option<(String, Vec<PathBuf>)> {
    let action = state.lookup(WITH_ACTION_KEY)?;
    let action = action.as_str()?.to_string();
    let subdir = ["template", "var", "file"]
        .into_iter()
        .find(|s| action.contains(s))
        .unwrap_or("file");
    let dirs = match state.lookup(WITH_DIRS_KEY).map(|v| value_to_json(&v)) {
        Some(Ok(Json::Array(a))) => a
            .iter()
            .filter_map(|d| d.as_str().map(PathBuf::from))
            .collect(),
        _ => Vec::new(),
    };
    Some((format!("{subdir}s"), dirs))
}

/// `DataLoader.path_dwim_relative_stack`: for each dir, `dir/subdir/f` and `dir/f` (a role's
/// `tasks/` dir also tries the role's `subdir`); the last dir is the playbook's (the basedir).
pub(crate) fn find_in_search_path(dirs: &[PathBuf], subdir: &str, rel: &str) -> Option<PathBuf> {
    let p = Path::new(rel);
    if p.is_absolute() || rel.starts_with('~') {
        return p.exists().then(|| p.to_path_buf());
    }
    let first = rel.split('/').next().unwrap_or_default();
    let mut search = Vec::new();
    for d in dirs {
        if d.file_name().is_some_and(|n| n == "tasks") {
            if let Some(role) = d.parent() {
                search.push(role.join(subdir).join(rel));
            }
        }
        if first != subdir {
            search.push(d.join(subdir).join(rel));
        }
        search.push(d.join(rel));
    }
    search.into_iter().find(|c| c.exists())
}

/// `unfrackpath(follow=False)`: absolute, `.` and `..` resolved lexically.
fn normalize(p: &Path) -> String {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::find_in_search_path;
    use crate::template::tests::eval;
    use serde_json::json;

    #[test]
    fn subdir_follows_the_action_in_with_loops() {
        let dir = tempfile::tempdir().unwrap();
        let role = dir.path().join("role");
        for sub in ["files", "vars", "templates", "tasks"] {
            std::fs::create_dir_all(role.join(sub)).unwrap();
            std::fs::write(role.join(sub).join("findme.txt"), "").unwrap();
        }
        let dirs = vec![role.clone(), role.join("tasks"), dir.path().to_path_buf()];
        for sub in ["files", "vars", "templates"] {
            let found = find_in_search_path(&dirs, sub, "findme.txt").unwrap();
            assert!(found.ends_with(format!("{sub}/findme.txt")), "{found:?}");
        }
        assert!(find_in_search_path(&dirs, "files", "nope").is_none());
    }

    #[test]
    fn terms_and_options() {
        let c = json!({});
        let e = |s: &str| eval(s, c.clone());
        assert_eq!(
            e("query('first_found', files=['missing1', 'hosts', 'missing2'], paths=['/etc'], errors='ignore')"),
            json!(["/etc/hosts"])
        );
        assert_eq!(
            e("query('first_found', {'files': 'not/a/file.yaml;hosts', 'paths': 'not/a/path:/etc'})"),
            json!(["/etc/hosts"])
        );
        assert_eq!(
            e("q('first_found', ['/nonexistant'], skip=True)"),
            json!([])
        );
        assert_eq!(
            e("q('first_found', {'files': 'nope.yaml', 'skip': True})"),
            json!([])
        );
        assert_eq!(
            e("lookup('first_found', {'files': 'nope.yaml'}, errors='ignore')"),
            json!(null)
        );
        let msg = crate::template::tests::eval_err("lookup('first_found', [1])", c).message;
        assert!(msg.contains("not 'int'"), "{msg}");
    }
}
