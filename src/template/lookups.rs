//! `lookup()`, `query()` and `q()`: Ansible's lookup plugins that run on the controller.
//!
//! Supported: `env`, `file`, `template`, `pipe`, `lines`, `vars`, `items`, `list`, `dict`,
//! `indexed_items`, `nested`, `together`, `subelements`, `sequence`, `first_found` and
//! `fileglob` (the ones playbooks and `with_*` loops use; the list-shaping ones behind
//! `with_dict`, `with_nested`… live in `loop_lookups.rs`). `lookup` returns the single result,
//! or the results joined with commas; `query`/`q` and `wantlist=True` return the list.
//! `errors='ignore'|'warn'` turns a failure into an empty result. File lookups resolve relative
//! paths against the search path (see `SEARCH_PATH_KEY` in mod.rs).

use super::convert::{require_defined, value_to_json};
use super::filters::err;
use super::lazy::{Active, LazyRoot, NestingGuard};
use super::loop_lookups;
use super::{CONTEXT_KEY, SEARCH_PATH_KEY};
use minijinja::value::{from_args, Kwargs, Rest, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

fn lookup(state: &State, name: String, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    run(state, &name, args, false)
}

fn query(state: &State, name: String, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    run(state, &name, args, true)
}

fn run(
    state: &State,
    name: &str,
    args: Rest<ValueOrKwargs>,
    want_list: bool,
) -> Result<Value, Error> {
    // `ansible.builtin.sequence` and `ansible.legacy.sequence` are the builtin `sequence`.
    let name = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name);
    let values: Vec<Value> = args.0.into_iter().map(ValueOrKwargs::into_value).collect();
    let (terms, kwargs): (&[Value], Kwargs) = from_args(&values)?;
    let want_list = want_list
        || kwargs
            .get::<Option<Value>>("wantlist")?
            .is_some_and(|v| v.is_true());
    let errors = kwargs
        .get::<Option<String>>("errors")?
        .unwrap_or_else(|| "strict".into());
    if !matches!(errors.as_str(), "strict" | "warn" | "ignore") {
        return Err(err(format!(
            "lookup: errors must be strict, warn or ignore, not '{errors}'"
        )));
    }
    for t in terms {
        require_defined(t)?;
    }
    let result = dispatch(state, name, terms, &kwargs).and_then(|r| {
        kwargs.assert_all_used()?;
        Ok(r)
    });
    let results = match result {
        Ok(r) => r,
        Err(_) if errors != "strict" => {
            return Ok(if want_list {
                Value::from(Vec::<Value>::new())
            } else {
                Value::from(())
            })
        }
        Err(e) => return Err(e),
    };
    if want_list {
        return Ok(Value::from(results));
    }
    Ok(match results.len() {
        0 => Value::from(Vec::<Value>::new()),
        1 => results.into_iter().next().unwrap_or_default(),
        _ if results.iter().all(|r| r.kind() == ValueKind::String) => Value::from(
            results
                .iter()
                .map(|r| r.as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => Value::from(results),
    })
}

fn dispatch(
    state: &State,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    match name {
        "env" => lookup_env(terms, kwargs),
        "file" => lookup_file(state, terms, kwargs),
        "template" => lookup_template(state, terms, kwargs),
        "pipe" => lookup_pipe(state, terms, false),
        "lines" => lookup_pipe(state, terms, true),
        "vars" => super::var_lookups::lookup_vars(state, terms, kwargs),
        "varnames" => super::var_lookups::lookup_varnames(state, terms),
        "csvfile" => super::csvfile::lookup_csvfile(state, terms, kwargs),
        "items" => loop_lookups::lookup_items(terms),
        "list" => Ok(terms.to_vec()),
        "dict" => loop_lookups::lookup_dict(terms),
        "indexed_items" => loop_lookups::lookup_indexed_items(terms),
        "nested" => loop_lookups::lookup_nested(terms),
        "cartesian" => loop_lookups::lookup_cartesian(terms),
        "together" => loop_lookups::lookup_together(terms),
        "subelements" => loop_lookups::lookup_subelements(terms, kwargs),
        "sequence" => super::sequence::lookup_sequence(terms, kwargs),
        "random_choice" => loop_lookups::lookup_random_choice(terms),
        "inventory_hostnames" => loop_lookups::lookup_inventory_hostnames(state, terms),
        "first_found" => super::first_found::lookup_first_found(state, terms, kwargs),
        "fileglob" => lookup_fileglob(state, terms),
        other => Err(err(format!("lookup plugin '{other}' not found"))),
    }
}

pub(super) fn term_text(v: &Value) -> Result<String, Error> {
    require_defined(v)?;
    Ok(match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string(),
    })
}

/// `lookup('env', 'HOME', default='')`: a missing variable gives the default.
fn lookup_env(terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let default = kwargs
        .get::<Option<Value>>("default")?
        .unwrap_or_else(|| Value::from(""));
    terms
        .iter()
        .map(|t| {
            let name = term_text(t)?;
            Ok(std::env::var(&name).map_or_else(|_| default.clone(), Value::from))
        })
        .collect()
}

/// The search path of the current render.
fn search_path(state: &State) -> Vec<PathBuf> {
    let Some(v) = state.lookup(SEARCH_PATH_KEY) else {
        return Vec::new();
    };
    match value_to_json(&v) {
        Ok(Json::Array(items)) => items
            .into_iter()
            .filter_map(|i| i.as_str().map(PathBuf::from))
            .collect(),
        Ok(Json::String(s)) => vec![PathBuf::from(s)],
        _ => Vec::new(),
    }
}

/// Find `rel` like Ansible: absolute as is, else `dir/subdir/rel` then `dir/rel` for each
/// directory of the search path (the current directory when there is none).
pub(crate) fn find_file(state: &State, rel: &str, subdir: &str) -> Option<PathBuf> {
    let p = Path::new(rel);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    let dirs = search_path(state);
    if dirs.is_empty() {
        return [Path::new(subdir).join(p), p.to_path_buf()]
            .into_iter()
            .find(|c| c.exists());
    }
    dirs.iter()
        .flat_map(|d| [d.join(subdir).join(p), d.join(p)])
        .find(|c| c.exists())
}

fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| err(format!("could not read file {}: {e}", path.display())))
}

/// `lookup('file', path, lstrip=False, rstrip=True)`.
fn lookup_file(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let lstrip = kwargs
        .get::<Option<Value>>("lstrip")?
        .is_some_and(|v| v.is_true());
    let rstrip = kwargs
        .get::<Option<Value>>("rstrip")?
        .is_none_or(|v| v.is_true());
    terms
        .iter()
        .map(|t| {
            let rel = term_text(t)?;
            let path = find_file(state, &rel, "files")
                .ok_or_else(|| err(format!("could not locate file in lookup: {rel}")))?;
            let mut text = read_text(&path)?;
            if rstrip {
                text.truncate(text.trim_end().len());
            }
            if lstrip {
                text = text.trim_start().to_string();
            }
            Ok(Value::from(text))
        })
        .collect()
}

/// `lookup('template', path, template_vars={})`: render a file with the current variables.
fn lookup_template(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let extra = kwargs.get::<Option<Value>>("template_vars")?;
    let syntax = super::files::syntax_from_kwargs(kwargs)?;
    for unused in ["convert_data", "jinja2_native"] {
        let _ = kwargs.get::<Option<Value>>(unused)?;
    }
    let base = state.lookup(CONTEXT_KEY).unwrap_or_else(|| Value::from(()));
    let root = base.downcast_object::<LazyRoot>();
    let ctx = match &extra {
        Some(extra) if extra.kind() == ValueKind::Map => {
            // the last map wins
            minijinja::value::merge_maps([base, extra.clone()])
        }
        _ => base,
    };
    terms
        .iter()
        .map(|t| {
            let rel = term_text(t)?;
            let path = find_file(state, &rel, "templates")
                .ok_or_else(|| err(format!("could not locate file in lookup: {rel}")))?;
            let source = read_text(&path)?;
            let shown = path.display().to_string();
            let _guard = NestingGuard::enter(Active::File(shown.clone())).map_err(err)?;
            // a fresh error is returned, so the caller's position is the one reported
            let fail = |kind: ErrorKind, msg: &str, line: Option<usize>| {
                let line = line.map(|l| format!(" line {l}")).unwrap_or_default();
                Error::new(kind, format!("{msg} (in template {shown}{line})"))
            };
            if let Some(root) = root.as_ref() {
                let file = super::files::TemplateFile {
                    path: rel.clone(),
                    fullpath: path.clone(),
                    dest: None,
                    search_dirs: search_path(state),
                    syntax: syntax.clone(),
                };
                return root
                    .templater()
                    .render_file_inner(&source, &ctx, &file)
                    // a template that renders nothing gives None, as in Ansible 2.19
                    .map(|s| {
                        if s.is_empty() {
                            Value::from(())
                        } else {
                            Value::from(s)
                        }
                    })
                    .map_err(|f| fail(f.kind, &f.error.message, f.error.line));
            }
            let rendered = state
                .env()
                .template_from_named_str(&shown, &source)
                .and_then(|tmpl| tmpl.render(ctx.clone()));
            match rendered {
                Ok(s) => Ok(Value::from(s)),
                Err(e) => {
                    let msg = match (e.kind(), e.detail()) {
                        (ErrorKind::UndefinedError, Some(d)) => d.replace('`', "'"),
                        (kind, Some(d)) => format!("{kind}: {d}"),
                        (kind, None) => kind.to_string(),
                    };
                    Err(fail(e.kind(), &msg, e.line()))
                }
            }
        })
        .collect()
}

/// `lookup('pipe', cmd)`: run with `/bin/sh -c` on the controller; stdout, right-stripped.
/// `lookup('lines', cmd)` gives its lines.
fn lookup_pipe(state: &State, terms: &[Value], lines: bool) -> Result<Vec<Value>, Error> {
    let cwd = search_path(state).into_iter().rev().find(|d| d.is_dir());
    let mut out = Vec::new();
    for t in terms {
        let cmd = term_text(t)?;
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg(&cmd);
        if let Some(dir) = &cwd {
            command.current_dir(dir);
        }
        let output = command
            .output()
            .map_err(|e| err(format!("lookup_plugin.pipe({cmd}): could not run: {e}")))?;
        if !output.status.success() {
            let code = output
                .status
                .code()
                .map_or_else(|| "a signal".to_string(), |c| c.to_string());
            let stderr = String::from_utf8_lossy(&output.stderr);
            let kind = if lines { "lines" } else { "pipe" };
            return Err(err(format!(
                "lookup_plugin.{kind}({cmd}) returned {code}: {}",
                stderr.trim()
            )));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        if lines {
            out.extend(stdout.lines().map(Value::from));
        } else {
            out.push(Value::from(stdout.trim_end()));
        }
    }
    Ok(out)
}

/// `lookup('fileglob', '*.conf')`: files matching a pattern in its last path component.
fn lookup_fileglob(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let pattern = term_text(t)?;
        let (dir, name_pat) = match pattern.rfind('/') {
            Some(i) => (pattern[..i].to_string(), pattern[i + 1..].to_string()),
            None => (String::new(), pattern.clone()),
        };
        let dirs: Vec<PathBuf> = if Path::new(&dir).is_absolute() {
            vec![PathBuf::from(&dir)]
        } else {
            let sp = search_path(state);
            let base: Vec<PathBuf> = if sp.is_empty() {
                vec![PathBuf::from(".")]
            } else {
                sp
            };
            base.iter()
                .flat_map(|b| [b.join("files").join(&dir), b.join(&dir)])
                .collect()
        };
        for d in dirs {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut found: Vec<String> = entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    glob_match(&name_pat, &name).then(|| e.path().display().to_string())
                })
                .collect();
            if !found.is_empty() {
                found.sort();
                out.extend(found.into_iter().map(Value::from));
                break;
            }
        }
    }
    Ok(out)
}

/// Shell-style matching of one path component: `*`, `?`, `[abc]`, `[!a-z]`.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    fn rec(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| rec(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && rec(&p[1..], &n[1..]),
            Some('[') => {
                let Some(close) = p.iter().skip(1).position(|&c| c == ']').map(|i| i + 1) else {
                    return n.first() == Some(&'[') && rec(&p[1..], &n[1..]);
                };
                let Some(&c) = n.first() else { return false };
                let class = &p[1..close];
                let (negate, class) = match class.first() {
                    Some('!') | Some('^') => (true, &class[1..]),
                    _ => (false, class),
                };
                let mut matched = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        matched |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        matched |= class[i] == c;
                        i += 1;
                    }
                }
                matched != negate && rec(&p[close + 1..], &n[1..])
            }
            Some(&c) => n.first() == Some(&c) && rec(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    if p.len() > 256 {
        return false;
    }
    rec(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::tests::{eval, eval_err, render};
    use crate::template::{context_with_search_path, Templater};
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn env_lookup() {
        std::env::set_var("CONVERGE_TEST_LOOKUP_ENV", "value1");
        assert_eq!(
            render("{{ lookup('env', 'CONVERGE_TEST_LOOKUP_ENV') }}", json!({})),
            "value1"
        );
        assert_eq!(
            render(
                "[{{ lookup('env', 'CONVERGE_TEST_NO_SUCH_VAR') }}]",
                json!({})
            ),
            "[]"
        );
        assert_eq!(
            render(
                "{{ lookup('env', 'CONVERGE_TEST_NO_SUCH_VAR', default='d') }}",
                json!({})
            ),
            "d"
        );
        assert_eq!(
            eval("query('env', 'CONVERGE_TEST_LOOKUP_ENV')", json!({})),
            json!(["value1"])
        );
        assert_eq!(
            eval("q('env', 'CONVERGE_TEST_LOOKUP_ENV')", json!({})),
            json!(["value1"])
        );
        assert_eq!(
            eval(
                "lookup('env', 'CONVERGE_TEST_LOOKUP_ENV', wantlist=True)",
                json!({})
            ),
            json!(["value1"])
        );
    }

    fn setup() -> (tempfile::TempDir, Arc<Templater>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("files")).unwrap();
        std::fs::create_dir_all(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("files/key.pub"), "ssh-ed25519 AAAA\n\n").unwrap();
        std::fs::write(dir.path().join("plain.txt"), "  plain\n").unwrap();
        std::fs::write(
            dir.path().join("templates/t.j2"),
            "Hello {{ name }}!\n{% if n > 1 %}many{% endif %}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("templates/bad.j2"), "line1\n{{ nope }}\n").unwrap();
        std::fs::write(
            dir.path().join("templates/self.j2"),
            "{{ lookup('template', 'self.j2') }}",
        )
        .unwrap();
        std::fs::write(dir.path().join("a.conf"), "").unwrap();
        std::fs::write(dir.path().join("b.conf"), "").unwrap();
        (dir, Arc::new(Templater::new()))
    }

    fn run_in(
        dir: &Path,
        t: &Arc<Templater>,
        src: &str,
        vars: Json,
    ) -> Result<String, crate::template::TemplateError> {
        let Json::Object(m) = vars else { panic!() };
        let ctx = context_with_search_path(t, Arc::new(m), vec![dir.display().to_string()]);
        t.render(src, &ctx)
    }

    #[test]
    fn file_lookup() {
        let (dir, t) = setup();
        let r = |s: &str| run_in(dir.path(), &t, s, json!({}));
        assert_eq!(
            r("{{ lookup('file', 'key.pub') }}").unwrap(),
            "ssh-ed25519 AAAA"
        );
        assert_eq!(
            r("[{{ lookup('file', 'plain.txt') }}]").unwrap(),
            "[  plain]"
        );
        assert_eq!(
            r("[{{ lookup('file', 'plain.txt', lstrip=True) }}]").unwrap(),
            "[plain]"
        );
        assert_eq!(
            r("{{ lookup('file', 'key.pub', 'plain.txt') }}").unwrap(),
            "ssh-ed25519 AAAA,  plain"
        );
        let abs = dir.path().join("plain.txt").display().to_string();
        assert_eq!(
            r(&format!("{{{{ lookup('file', '{abs}') | trim }}}}")).unwrap(),
            "plain"
        );
        let e = r("{{ lookup('file', 'missing.txt') }}").unwrap_err();
        assert!(
            e.message
                .contains("could not locate file in lookup: missing.txt"),
            "{}",
            e.message
        );
        assert_eq!(
            r("{{ lookup('file', 'missing.txt', errors='ignore') }}").unwrap(),
            "None"
        );
        // the search path may also come from the variables
        let t2 = Templater::new();
        let ctx = crate::template::tests::ctx(
            json!({"__converge_search_path": [dir.path().display().to_string()]}),
        );
        assert_eq!(
            t2.render("{{ lookup('file', 'key.pub') }}", &ctx).unwrap(),
            "ssh-ed25519 AAAA"
        );
    }

    #[test]
    fn template_lookup() {
        let (dir, t) = setup();
        let r = |s: &str| {
            run_in(
                dir.path(),
                &t,
                s,
                json!({"name": "{{ who }}", "who": "world", "n": 2}),
            )
        };
        // As ansible-playbook 2.19 renders it: the source's final newline is given back.
        assert_eq!(
            r("{{ lookup('template', 't.j2') }}").unwrap(),
            "Hello world!\nmany\n"
        );
        assert_eq!(
            r("{{ lookup('template', 't.j2', template_vars={'n': 0}) }}").unwrap(),
            "Hello world!\n"
        );
        let e = r("x\n{{ lookup('template', 'bad.j2') }}").unwrap_err();
        assert!(e.message.contains("'nope' is undefined"), "{}", e.message);
        assert!(e.message.contains("bad.j2 line 2"), "{}", e.message);
        assert_eq!(e.line, Some(2));
        let e = r("{{ lookup('template', 'self.j2') }}").unwrap_err();
        assert!(
            e.message.contains("recursive loop detected"),
            "{}",
            e.message
        );
    }

    #[test]
    fn pipe_and_lines_lookup() {
        assert_eq!(
            render("{{ lookup('pipe', 'echo hello; echo') }}", json!({})),
            "hello"
        );
        assert_eq!(
            eval("query('lines', 'printf \"a\\nb\\n\"')", json!({})),
            json!(["a", "b"])
        );
        let e = eval_err("lookup('pipe', 'exit 3')", json!({}));
        assert!(e.message.contains("returned 3"), "{}", e.message);
    }

    #[test]
    fn first_found_and_fileglob() {
        let (dir, t) = setup();
        let r = |s: &str| run_in(dir.path(), &t, s, json!({}));
        let found = r("{{ lookup('first_found', ['nope.txt', 'key.pub']) }}").unwrap();
        assert!(found.ends_with("files/key.pub"), "{found}");
        let found =
            r("{{ lookup('first_found', {'files': ['x', 'plain.txt'], 'skip': True}) }}").unwrap();
        assert!(found.ends_with("plain.txt"), "{found}");
        assert_eq!(
            r("{{ query('first_found', ['x'], skip=True) }}").unwrap(),
            "[]"
        );
        assert!(r("{{ lookup('first_found', ['x']) }}").is_err());
        let globbed = r("{{ query('fileglob', '*.conf') | map('basename') | join(',') }}").unwrap();
        assert_eq!(globbed, "a.conf,b.conf");
        assert!(
            glob_match("*.c[a-z]nf", "x.conf")
                && !glob_match("?.conf", "ab.conf")
                && glob_match("[!x]*", "abc")
        );
    }
}
