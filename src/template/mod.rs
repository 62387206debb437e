//! Templating: Ansible-compatible Jinja on top of minijinja 3.
//!
//! [`Templater`] owns the configured minijinja environment (Ansible's filters, tests, lookups and
//! Python string/dict methods registered) and is shared by every task of a run through an `Arc`.
//! [`context`] builds the variables a render sees, rendering template-valued variables lazily.
//!
//! Semantics worth knowing:
//! - Undefined variables are errors (minijinja's `Strict` mode), naming the variable when
//!   minijinja can: `'foo' is undefined`. `x.missing is defined` and `x.missing | default(1)`
//!   work. Ansible also lets *chains* of undefined reach `default`/`defined`
//!   (`x.missing.deeper | default(1)`); minijinja's strict mode cannot express that, so a render
//!   that fails on an undefined value directly followed by `| default`, `| d` or
//!   `is [not] defined/undefined` is retried once in minijinja's `Chainable` mode (undefined
//!   values still may not be printed). In that retry any *other* undefined value is falsy,
//!   iterates as empty and concatenates as `""`, as in plain Jinja2.
//! - A variable whose template uses an undefined variable is itself undefined (Ansible ≥ 2.14):
//!   `a: "{{ missing }}"` gives `a is defined == false`; printing `a` reports
//!   `'missing' is undefined (in the value of variable 'a')`. Other failures in a variable's
//!   template are errors; `a: "{{ a }}"` is "recursive loop detected in template for variable a".
//! - The context also answers `vars` (all variables) unless the vars map has its own `vars`.
//! - Rendering keeps a trailing newline and uses `trim_blocks` (Ansible's defaults).
//! - [`Templater::render_value`] returns native values for strings that are one expression.
//! - `omit` is the string [`OMIT`]; the engine drops module arguments equal to it.
//!
//! Lookup search path: `lookup('file'|'template', rel)` and `first_found` look for `rel` in the
//! directories listed under the reserved variable [`SEARCH_PATH_KEY`] (`__converge_search_path`,
//! a JSON array of strings, in order: e.g. the role's dir, then the playbook dir). For each
//! directory `d` they try `d/files/rel` (`d/templates/rel` for templates) and then `d/rel`.
//! Either put that key in the vars map, or call [`context_with_search_path`]. `lookup('pipe')`
//! runs in the last directory of the search path (the playbook dir), like Ansible's basedir.

mod clock_random;
mod collections;
mod comment_filter;
pub(crate) mod convert;
mod csvfile;
mod file_tests;
mod files;
pub use files::{SyntaxOverrides, TemplateFile, ANSIBLE_MANAGED};
mod filters;
mod hashing;
mod jinja_tests;
mod json_yaml;
pub use json_yaml::python_dumps;
mod first_found;
mod lazy;
mod lookahead;
mod lookups;
mod loop_lookups;
mod math_filters;
mod methods;
mod regex_filters;
mod sequence;
mod url_filters;
mod var_lookups;
mod with_loop;
pub use with_loop::WithLoop;
#[cfg(test)]
mod tests;

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde_json::{Map, Value as Json};
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

/// Ansible's `omit` placeholder. Module arguments equal to it are dropped by the engine.
pub const OMIT: &str = "__omit_place_holder__converge__";

/// Reserved variable naming the directories lookups search (a JSON array of strings).
pub const SEARCH_PATH_KEY: &str = "__converge_search_path";

/// Reserved variables a `with_<lookup>` loop sets for its lookup: the task's action, and
/// Ansible's `ansible_search_path` (role dir, task file dir, playbook dir) for `first_found`.
pub(crate) const WITH_ACTION_KEY: &str = "__converge_with_action";
pub(crate) const WITH_DIRS_KEY: &str = "__converge_with_dirs";

/// Reserved variable under which the context hands itself to lookups (`lookup('template')`).
pub(crate) const CONTEXT_KEY: &str = "__converge_context";

/// Budget of one render (minijinja "fuel": one per instruction, one per 64 bytes produced):
/// stops runaway loops and memory blow-ups (at most ~640 MB of output), not real templates.
pub const FUEL: u64 = 10_000_000;

/// A template that could not be parsed or rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    pub message: String,
    /// 1-based line within the template source.
    pub line: Option<usize>,
    /// 1-based column (in characters) within that line.
    pub col: Option<usize>,
    /// Byte range in the template source.
    pub range: Option<Range<usize>>,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match (self.line, self.col) {
            (Some(line), Some(col)) => write!(f, " (line {line}, column {col})"),
            (Some(line), None) => write!(f, " (line {line})"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for TemplateError {}

impl TemplateError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        TemplateError {
            message: message.into(),
            line: None,
            col: None,
            range: None,
        }
    }
}

/// A failure with the minijinja error kind kept (so nested renders can re-raise the same kind).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: TemplateError,
    pub(crate) kind: ErrorKind,
}

impl Failure {
    fn plain(kind: ErrorKind, message: impl Into<String>) -> Failure {
        Failure {
            error: TemplateError::new(message),
            kind,
        }
    }
}

/// The templating engine: one per run, shared across threads.
pub struct Templater {
    /// Strict undefined: the normal environment.
    env: Environment<'static>,
    /// Chainable undefined (printing undefined still fails): the retry for `default`/`defined`.
    lenient: Environment<'static>,
}

impl fmt::Debug for Templater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templater").finish_non_exhaustive()
    }
}

impl Default for Templater {
    fn default() -> Self {
        Templater::new()
    }
}

impl Templater {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_debug(true);
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(|_| AutoEscape::None);
        let mut syntax = env.syntax().to_builder();
        syntax.keep_trailing_newline(true).trim_blocks(true);
        if let Ok(syntax) = syntax.build() {
            env.set_syntax(syntax);
        }
        env.add_global("omit", OMIT);
        filters::register(&mut env);
        collections::register(&mut env);
        clock_random::register(&mut env);
        comment_filter::register(&mut env);
        regex_filters::register(&mut env);
        json_yaml::register(&mut env);
        hashing::register(&mut env);
        jinja_tests::register(&mut env);
        lookups::register(&mut env);
        url_filters::register(&mut env);
        math_filters::register(&mut env);
        file_tests::register(&mut env);
        methods::register(&mut env);

        let mut lenient = env.clone();
        lenient.set_undefined_behavior(UndefinedBehavior::Chainable);
        lenient.set_formatter(|out, state, value| {
            convert::require_defined(value)?;
            minijinja::escape_formatter(out, state, value)
        });
        Templater { env, lenient }
    }

    /// Does the string contain Jinja markup?
    pub fn is_template(s: &str) -> bool {
        s.contains("{{") || s.contains("{%") || s.contains("{#")
    }

    /// Render a template to a string.
    pub fn render(&self, source: &str, ctx: &Value) -> Result<String, TemplateError> {
        lazy::clear_hints();
        self.render_inner(source, ctx).map_err(|f| f.error)
    }

    /// Render every string inside a JSON value recursively. A string that is exactly one
    /// expression `{{ expr }}` (surrounding whitespace allowed) yields the expression's native
    /// value; other strings render to strings; non-template strings are returned untouched.
    pub fn render_value(&self, v: &Json, ctx: &Value) -> Result<Json, TemplateError> {
        lazy::clear_hints();
        self.render_value_inner(v, ctx).map_err(|f| f.error)
    }

    /// Evaluate a bare Jinja expression (`when:`, `failed_when:`, `until:` …). An expression
    /// wrapped in `{{ }}` is accepted too.
    pub fn eval_expr(&self, expr: &str, ctx: &Value) -> Result<Json, TemplateError> {
        lazy::clear_hints();
        self.eval_expr_inner(expr, ctx).map_err(|f| f.error)
    }

    /// Evaluate `debug: var=`'s expression: `None` when it is undefined (Ansible shows a
    /// placeholder then); any other failure is an error.
    pub fn eval_var(&self, expr: &str, ctx: &Value) -> Result<Option<Json>, TemplateError> {
        lazy::clear_hints();
        match self.eval_expr_inner(expr, ctx) {
            Ok(v) => Ok(Some(v)),
            Err(f) if f.kind == ErrorKind::UndefinedError => Ok(None),
            Err(f) => Err(f.error),
        }
    }

    /// Evaluate an expression for its truth: Python truthiness, except that a string result
    /// `"false"`, `"no"`, `"off"`, `"0"`, `"none"`, `"null"` or `""` (any case) is false.
    pub fn eval_bool(&self, expr: &str, ctx: &Value) -> Result<bool, TemplateError> {
        let v = self.eval_expr(expr, ctx)?;
        Ok(match &v {
            Json::String(s) => !matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "" | "false" | "no" | "off" | "0" | "none" | "null"
            ),
            other => convert::py_truthy(other),
        })
    }

    /// Check the syntax of a template without rendering it.
    pub fn check_syntax(&self, source: &str) -> Result<(), TemplateError> {
        match self.env.template_from_str(source) {
            Ok(_) => Ok(()),
            Err(e) => Err(convert_error(&e, source, 0, 0)),
        }
    }

    /// Check the syntax of a bare expression (or of one wrapped in `{{ }}`).
    pub fn check_expr_syntax(&self, expr: &str) -> Result<(), TemplateError> {
        if let Some((inner, offset)) = single_expression(expr) {
            return match self.env.compile_expression(inner) {
                Ok(_) => Ok(()),
                Err(e) => Err(convert_error_in(&e, expr, offset, 0, inner.len())),
            };
        }
        if Self::is_template(expr) {
            return self.check_syntax(expr);
        }
        if expr.trim().is_empty() {
            return Err(TemplateError::new("empty expression"));
        }
        match self.env.compile_expression(expr) {
            Ok(_) => Ok(()),
            Err(e) => Err(convert_error(&e, expr, 0, 0)),
        }
    }

    pub(crate) fn render_inner(&self, source: &str, ctx: &Value) -> Result<String, Failure> {
        if !Self::is_template(source) {
            return Ok(source.to_string());
        }
        self.render_custom(source, ctx)
    }

    /// Render even without the default delimiters (the environment may use others).
    pub(crate) fn render_custom(&self, source: &str, ctx: &Value) -> Result<String, Failure> {
        match self
            .env
            .render_str(without_final_newline(source), ctx.clone())
        {
            Ok(s) => Ok(with_source_newlines(s, source)),
            Err(e) => {
                let primary = Failure {
                    error: convert_error(&e, source, 0, 0),
                    kind: e.kind(),
                };
                if may_retry(source, &primary.error, e.kind()) {
                    if let Ok(s) = self
                        .lenient
                        .render_str(without_final_newline(source), ctx.clone())
                    {
                        return Ok(with_source_newlines(s, source));
                    }
                }
                Err(primary)
            }
        }
    }

    pub(crate) fn render_value_inner(&self, v: &Json, ctx: &Value) -> Result<Json, Failure> {
        match v {
            Json::String(s) => {
                if !Self::is_template(s) {
                    return Ok(v.clone());
                }
                if let Some((inner, offset)) = single_expression(s) {
                    let value = self.eval_native(s, inner, offset, ctx)?;
                    if let Json::String(rendered) = &value {
                        // keep the whitespace around the expression, as rendering would
                        // (unless `{{-`/`-}}` strip it)
                        let t = s.trim();
                        let lead = if t.starts_with("{{-") {
                            ""
                        } else {
                            &s[..s.len() - s.trim_start().len()]
                        };
                        let trail = if t.ends_with("-}}") {
                            ""
                        } else {
                            &s[s.trim_end().len()..]
                        };
                        if !lead.is_empty() || !trail.is_empty() {
                            return Ok(Json::String(format!("{lead}{rendered}{trail}")));
                        }
                    }
                    return Ok(value);
                }
                self.render_inner(s, ctx).map(Json::String)
            }
            Json::Array(items) => items
                .iter()
                .map(|item| self.render_value_inner(item, ctx))
                .collect::<Result<Vec<_>, _>>()
                .map(Json::Array),
            Json::Object(m) => {
                let mut out = Map::with_capacity(m.len());
                for (k, item) in m {
                    let key = if Self::is_template(k) {
                        self.render_inner(k, ctx)?
                    } else {
                        k.clone()
                    };
                    out.insert(key, self.render_value_inner(item, ctx)?);
                }
                Ok(Json::Object(out))
            }
            _ => Ok(v.clone()),
        }
    }

    fn eval_expr_inner(&self, expr: &str, ctx: &Value) -> Result<Json, Failure> {
        if let Some((inner, offset)) = single_expression(expr) {
            return self.eval_native(expr, inner, offset, ctx);
        }
        if Self::is_template(expr) {
            // `when: "{{ a }} == {{ b }}"`: render, then evaluate the result (old Ansible).
            let rendered = self.render_inner(expr, ctx)?;
            return self.eval_native(&rendered, &rendered, 0, ctx);
        }
        if expr.trim().is_empty() {
            return Err(Failure::plain(ErrorKind::SyntaxError, "empty expression"));
        }
        self.eval_native(expr, expr, 0, ctx)
    }

    /// Evaluate `inner` (found at `offset` of `full`) to a native value.
    fn eval_native(
        &self,
        full: &str,
        inner: &str,
        offset: usize,
        ctx: &Value,
    ) -> Result<Json, Failure> {
        match self.eval_in(&self.env, full, inner, offset, ctx) {
            Ok(v) => Ok(v),
            Err((kind, error)) => {
                if may_retry(full, &error, kind) {
                    if let Ok(v) = self.eval_in(&self.lenient, full, inner, offset, ctx) {
                        return Ok(v);
                    }
                }
                Err(Failure { error, kind })
            }
        }
    }

    fn eval_in(
        &self,
        env: &Environment<'static>,
        full: &str,
        inner: &str,
        offset: usize,
        ctx: &Value,
    ) -> Result<Json, (ErrorKind, TemplateError)> {
        let fail = |e: &minijinja::Error, sub: usize| {
            (
                e.kind(),
                convert_error_in(e, full, offset, sub, inner.len()),
            )
        };
        let expr = env.compile_expression(inner).map_err(|e| fail(&e, 0))?;
        let value = expr.eval(ctx.clone()).map_err(|e| fail(&e, 0))?;
        if value.is_undefined() {
            // render it as a template: printing an undefined value raises the named error
            let wrapped = format!("{{{{{inner}}}}}");
            let err = match env.render_str(&wrapped, ctx.clone()) {
                Err(e) => fail(&e, 2),
                Ok(_) => (
                    ErrorKind::UndefinedError,
                    TemplateError::new("the expression is undefined"),
                ),
            };
            return Err(err);
        }
        convert::value_to_json(&value).map_err(|e| fail(&e, 0))
    }
}

/// Should a strict failure be retried with chainable undefined? Only when the undefined value
/// the error points at is (an attribute chain) directly followed by `| default`, `| d` or
/// `is [not] defined`/`undefined` — Ansible's idiom `a.b.c | default(x)`.
fn may_retry(full: &str, error: &TemplateError, kind: ErrorKind) -> bool {
    static FOLLOW: OnceLock<Option<regex::Regex>> = OnceLock::new();
    if kind != ErrorKind::UndefinedError {
        return false;
    }
    let Some(after) = error.range.as_ref().and_then(|r| full.get(r.end..)) else {
        return false;
    };
    FOLLOW
        .get_or_init(|| {
            regex::Regex::new(
                r"^(?:\s*(?:\.\s*\w+|\[[^\]]*\]))*[\s)]*(?:\|\s*(?:default|d)\b|is\s+(?:not\s+)?(?:defined|undefined)\b)",
            )
            .ok()
        })
        .as_ref()
        .is_some_and(|re| re.is_match(after))
}

/// If `s` is exactly one `{{ expression }}` (whitespace around allowed), the expression and its
/// byte offset in `s`.
pub(crate) fn single_expression(s: &str) -> Option<(&str, usize)> {
    let lead = s.len() - s.trim_start().len();
    let t = s.trim();
    let body = t.strip_prefix("{{")?.strip_suffix("}}")?;
    let mut start = lead + 2;
    let mut body = body;
    if let Some(b) = body.strip_prefix(['-', '+']) {
        body = b;
        start += 1;
    }
    if let Some(b) = body.strip_suffix(['-', '+']) {
        body = b;
    }
    if body.contains("{{")
        || body.contains("}}")
        || body.contains("{%")
        || body.contains("%}")
        || body.contains("{#")
    {
        return None;
    }
    if body.trim().is_empty() {
        return None;
    }
    Some((body, start))
}

/// Jinja2's default (`keep_trailing_newline=False`): the template's last newline is not output.
fn without_final_newline(source: &str) -> &str {
    source.strip_suffix('\n').unwrap_or(source)
}

/// Ansible then gives back as many trailing newlines as the result lacks compared with the
/// source (`_post_render_mutation`): a file template ending in `{{ x }}\n` keeps one, a result
/// that already ends in blank lines gets none added.
fn with_source_newlines(mut out: String, source: &str) -> String {
    let trailing = |s: &str| s.len() - s.trim_end_matches('\n').len();
    let (want, have) = (trailing(source), trailing(&out));
    if want > have {
        out.push_str(&"\n".repeat(want - have));
    }
    out
}

/// Build the render context from variables (template-valued variables render lazily).
pub fn context(templater: &Arc<Templater>, vars: Arc<Map<String, Json>>) -> Value {
    lazy::make_context(templater, vars, None, Vec::new())
}

/// Like [`context`], with the directories `lookup('file'|'template')` search, in order. This
/// takes precedence over a `__converge_search_path` entry in `vars`.
pub fn context_with_search_path(
    templater: &Arc<Templater>,
    vars: Arc<Map<String, Json>>,
    search_path: Vec<String>,
) -> Value {
    lazy::make_context(templater, vars, Some(search_path), Vec::new())
}

/// The general form: an optional search path, and `extra` template values that take precedence
/// over `vars`. Typical use is `hostvars`: a map (e.g. `Value::from_pairs`) from host name to
/// that host's own [`context`], so `hostvars[h].x` renders `x` lazily against host `h`'s
/// variables, as Ansible does. Build it once per run and share it (contexts are immutable and
/// cheap to clone); do not put a hostvars value inside the contexts it contains (a reference
/// cycle that is never freed).
pub fn context_with_extras(
    templater: &Arc<Templater>,
    vars: Arc<Map<String, Json>>,
    search_path: Option<Vec<String>>,
    extra: Vec<(String, Value)>,
) -> Value {
    lazy::make_context(templater, vars, search_path, extra)
}

/// Convert a minijinja error from rendering `source` whole.
fn convert_error(err: &minijinja::Error, source: &str, offset: usize, sub: usize) -> TemplateError {
    convert_error_in(
        err,
        source,
        offset,
        sub,
        source.len().saturating_sub(offset),
    )
}

/// Convert a minijinja error raised while compiling/evaluating a piece of `full` that starts at
/// byte `offset` and is `len` bytes long; the error's positions are `sub` bytes after the
/// piece's (the piece was wrapped in `sub` bytes of extra text).
fn convert_error_in(
    err: &minijinja::Error,
    full: &str,
    offset: usize,
    sub: usize,
    len: usize,
) -> TemplateError {
    let range = err.range().and_then(|r| {
        let start = r.start.checked_sub(sub)?;
        let end = r.end.checked_sub(sub)?.min(len);
        if start >= len || end < start {
            return None;
        }
        let (start, end) = (start + offset, end + offset);
        (full.is_char_boundary(start) && full.is_char_boundary(end)).then_some(start..end)
    });
    let snippet = range.as_ref().map(|r| &full[r.clone()]);
    let message = describe(err, snippet);
    let (line, col) = match &range {
        Some(r) => {
            let before = &full[..r.start];
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            (Some(line), Some(before[line_start..].chars().count() + 1))
        }
        None => {
            let base = full[..offset.min(full.len())].matches('\n').count();
            (err.line().map(|l| l + base), None)
        }
    };
    TemplateError {
        message,
        line,
        col,
        range,
    }
}

/// The message of a minijinja error, worded like Ansible where it helps.
fn describe(err: &minijinja::Error, snippet: Option<&str>) -> String {
    let detail = err.detail();
    let mut msg = match err.kind() {
        ErrorKind::UndefinedError => {
            let named = detail.and_then(|d| {
                let start = d.find('`')?;
                let end = start + 1 + d[start + 1..].find('`')?;
                Some(d[start + 1..end].to_string())
            });
            match (snippet.map(str::trim), named) {
                (Some("mandatory"), Some(name)) => {
                    format!("Mandatory variable '{name}' not defined.")
                }
                (_, Some(_)) => detail.map_or_else(String::new, |d| d.replace('`', "'")),
                // an undefined value minijinja cannot name: a lazily rendered variable that
                // came out undefined says why
                (_, None) => lazy::take_hint().unwrap_or_else(|| match detail {
                    Some(d) => d.replace('`', "'"),
                    None => "undefined value".to_string(),
                }),
            }
        }
        ErrorKind::InvalidOperation => detail.unwrap_or("invalid operation").to_string(),
        kind => match detail {
            Some(d) => format!("{kind}: {d}"),
            None => kind.to_string(),
        },
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        msg.push_str(": ");
        msg.push_str(&cause.to_string());
        source = cause.source();
    }
    msg
}

#[cfg(test)]
fn _assert_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Templater>();
    check::<TemplateError>();
}
