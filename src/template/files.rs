//! Rendering a template *file* (the `template` module, `lookup('template')`) as Ansible does:
//! the variables Ansible adds for it (`template_host`, `template_path`, `template_fullpath`,
//! `template_destpath`, `template_uid`, `template_mtime`, `template_run_date`, and
//! `ansible_managed` unless the play sets it), and `{% include %}` / `{% import %}` /
//! `{% extends %}` resolved against the file's own directory, then each search directory's
//! `templates/` and the directory itself.

use super::{lazy, Failure, TemplateError, Templater};
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Ansible's default `ansible_managed` string.
pub const ANSIBLE_MANAGED: &str = "Ansible managed";

/// A template file about to be rendered.
#[derive(Debug, Clone, Default)]
pub struct TemplateFile {
    /// The path as the task gave it (`template_path`).
    pub path: String,
    /// Where it was found (`template_fullpath`).
    pub fullpath: PathBuf,
    /// The destination on the host (`template_destpath`), for the `template` module.
    pub dest: Option<String>,
    /// The search directories (role dir, playbook dir…) includes are looked up in.
    pub search_dirs: Vec<PathBuf>,
    /// Delimiters and whitespace options other than the defaults.
    pub syntax: SyntaxOverrides,
}

/// `variable_start_string=`, `comment_start_string=`, `trim_blocks=`… of `lookup('template')`
/// and the `template` module.
#[derive(Debug, Clone, Default)]
pub struct SyntaxOverrides {
    pub variable: Option<(String, String)>,
    pub block: Option<(String, String)>,
    pub comment: Option<(String, String)>,
    pub trim_blocks: Option<bool>,
    pub lstrip_blocks: Option<bool>,
}

impl SyntaxOverrides {
    fn is_default(&self) -> bool {
        self.variable.is_none()
            && self.block.is_none()
            && self.comment.is_none()
            && self.trim_blocks.is_none()
            && self.lstrip_blocks.is_none()
    }

    /// Apply to a copy of `env`.
    fn apply(&self, env: &mut Environment<'static>) -> Result<(), Error> {
        if self.is_default() {
            return Ok(());
        }
        let mut b = env.syntax().to_builder();
        if let Some((s, e)) = &self.variable {
            b.variable_delimiters(s.clone(), e.clone());
        }
        if let Some((s, e)) = &self.block {
            b.block_delimiters(s.clone(), e.clone());
        }
        if let Some((s, e)) = &self.comment {
            b.comment_delimiters(s.clone(), e.clone());
        }
        if let Some(t) = self.trim_blocks {
            b.trim_blocks(t);
        }
        if let Some(l) = self.lstrip_blocks {
            b.lstrip_blocks(l);
        }
        env.set_syntax(b.build()?);
        Ok(())
    }
}

impl TemplateFile {
    /// Where `{% include name %}` looks, in order.
    fn include_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .fullpath
            .parent()
            .map(Path::to_path_buf)
            .into_iter()
            .collect();
        for d in &self.search_dirs {
            dirs.push(d.join("templates"));
            dirs.push(d.clone());
        }
        dirs
    }

    /// The variables Ansible adds while rendering this file.
    fn vars(&self, ctx: &Value) -> Vec<(String, Value)> {
        let meta = std::fs::metadata(&self.fullpath).ok();
        let mtime = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .map_or(Value::from(()), |t| Value::from(py_datetime(t)));
        let uid = meta
            .as_ref()
            .map_or(Value::from(()), |m| user_name(m.uid()));
        let mut vars = vec![
            (
                "template_host",
                Value::from(crate::history::process::hostname()),
            ),
            ("template_path", Value::from(self.path.as_str())),
            ("template_mtime", mtime),
            ("template_uid", uid),
            (
                "template_run_date",
                Value::from(py_datetime(SystemTime::now())),
            ),
            (
                "template_destpath",
                self.dest.as_deref().map_or(Value::from(()), Value::from),
            ),
            (
                "template_fullpath",
                Value::from(self.fullpath.display().to_string()),
            ),
        ];
        let user_managed = ctx
            .get_attr("ansible_managed")
            .is_ok_and(|v| !v.is_undefined());
        if !user_managed {
            vars.push(("ansible_managed", Value::from(ANSIBLE_MANAGED)));
        }
        vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

/// The syntax options of `lookup('template', ..., variable_start_string='[%', ...)`.
pub(crate) fn syntax_from_kwargs(kwargs: &Kwargs) -> Result<SyntaxOverrides, Error> {
    let pair = |start: &str,
                end: &str,
                default: (&str, &str)|
     -> Result<Option<(String, String)>, Error> {
        let s = kwargs.get::<Option<String>>(start)?;
        let e = kwargs.get::<Option<String>>(end)?;
        Ok((s.is_some() || e.is_some()).then(|| {
            (
                s.unwrap_or_else(|| default.0.into()),
                e.unwrap_or_else(|| default.1.into()),
            )
        }))
    };
    Ok(SyntaxOverrides {
        variable: pair("variable_start_string", "variable_end_string", ("{{", "}}"))?,
        block: pair("block_start_string", "block_end_string", ("{%", "%}"))?,
        comment: pair("comment_start_string", "comment_end_string", ("{#", "#}"))?,
        trim_blocks: kwargs.get::<Option<bool>>("trim_blocks")?,
        lstrip_blocks: kwargs.get::<Option<bool>>("lstrip_blocks")?,
    })
}

/// Python's `str(datetime)` in local time: `YYYY-MM-DD HH:MM:SS.ffffff`.
fn py_datetime(t: SystemTime) -> String {
    converge_modules::common::datetime_micro(t)
}

/// The name of a user id from `/etc/passwd`, or the number.
fn user_name(uid: u32) -> Value {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let id = f.nth(1)?;
            (id.parse::<u32>().ok()? == uid).then(|| Value::from(name))
        })
        .unwrap_or_else(|| Value::from(uid))
}

fn without_final_newline(mut s: String) -> String {
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    s
}

/// A copy of `env` whose `{% include %}` reads files from `dirs`.
fn with_loader(env: &Environment<'static>, dirs: Vec<PathBuf>) -> Environment<'static> {
    let mut env = env.clone();
    env.set_loader(move |name| {
        let rel = Path::new(name);
        let found = if rel.is_absolute() {
            rel.is_file().then(|| rel.to_path_buf())
        } else {
            dirs.iter().map(|d| d.join(rel)).find(|p| p.is_file())
        };
        match found {
            // Jinja2 loads included files without their final newline (Ansible keeps it only
            // for the template it renders itself).
            Some(p) => std::fs::read(&p)
                .map(|b| {
                    Some(without_final_newline(
                        String::from_utf8_lossy(&b).into_owned(),
                    ))
                })
                .map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!("could not read {}: {e}", p.display()),
                    )
                }),
            None => Ok(None),
        }
    });
    env
}

impl Templater {
    /// Render the text of a template file (see the module docs).
    pub fn render_file(
        &self,
        source: &str,
        ctx: &Value,
        file: &TemplateFile,
    ) -> Result<String, TemplateError> {
        lazy::clear_hints();
        self.render_file_inner(source, ctx, file)
            .map_err(|f| f.error)
    }

    pub(crate) fn render_file_inner(
        &self,
        source: &str,
        ctx: &Value,
        file: &TemplateFile,
    ) -> Result<String, Failure> {
        let extra = Value::from_pairs(file.vars(ctx));
        let ctx = minijinja::value::merge_maps([ctx.clone(), extra]);
        if file.syntax.is_default() && !source.contains("{%") {
            return self.render_inner(source, &ctx);
        }
        let dirs = file.include_dirs();
        let mut with_includes = Templater {
            env: with_loader(&self.env, dirs.clone()),
            lenient: with_loader(&self.lenient, dirs),
        };
        let bad_syntax = |e: Error| Failure::plain(e.kind(), e.to_string());
        file.syntax
            .apply(&mut with_includes.env)
            .map_err(bad_syntax)?;
        file.syntax
            .apply(&mut with_includes.lenient)
            .map_err(bad_syntax)?;
        with_includes.render_custom(source, &ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::ctx;
    use super::*;
    use serde_json::json;

    #[test]
    fn includes_and_template_vars() {
        let dir = std::env::temp_dir().join(format!("converge-tfile-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("templates")).ok();
        std::fs::write(dir.join("templates/world.txt"), "world {{ x }}\n").ok();
        let main = dir.join("templates/hello.txt");
        std::fs::write(&main, "").ok();
        let file = TemplateFile {
            path: "hello.txt".into(),
            fullpath: main.clone(),
            dest: Some("/tmp/out".into()),
            search_dirs: vec![dir.clone()],
            syntax: SyntaxOverrides::default(),
        };
        let t = Templater::new();
        let c = ctx(json!({"x": 1}));
        let out = t.render_file("hello {% include 'world.txt' %}", &c, &file);
        assert_eq!(out.ok().as_deref(), Some("hello world 1"));
        let out = t.render_file(
            "{{ ansible_managed }}|{{ template_path }}|{{ template_destpath }}",
            &c,
            &file,
        );
        assert_eq!(
            out.ok().as_deref(),
            Some("Ansible managed|hello.txt|/tmp/out")
        );
        let out = t.render_file(
            "{{ template_fullpath == p }}",
            &ctx(json!({"p": main.display().to_string()})),
            &file,
        );
        assert_eq!(out.ok().as_deref(), Some("True"));
        let mine = ctx(json!({"ansible_managed": "mine"}));
        assert_eq!(
            t.render_file("{{ ansible_managed }}", &mine, &file)
                .ok()
                .as_deref(),
            Some("mine")
        );
        let custom = TemplateFile {
            syntax: SyntaxOverrides {
                variable: Some(("[%".into(), "%]".into())),
                ..SyntaxOverrides::default()
            },
            ..file
        };
        assert_eq!(
            t.render_file("a [% x %] {{ x }}", &c, &custom)
                .ok()
                .as_deref(),
            Some("a 1 {{ x }}")
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
