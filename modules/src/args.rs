//! Module arguments: what each module accepts (its [`ArgSpec`]s) and typed access to the values.
//!
//! The engine checks argument *names* against the spec before any host is touched (with the
//! position in the playbook and the nearest valid name as a hint); values that come from
//! templates can only be checked once rendered, which [`Params`] does with errors that name the
//! argument.

use serde_json::{Map, Value};
use std::fmt;

/// The rendered arguments of one task, as JSON.
pub type Args = Map<String, Value>;

/// The type an argument must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Str,
    Bool,
    Int,
    Float,
    /// A list; a comma separated string is accepted too, as Ansible does.
    List,
    Dict,
    /// A file mode: octal (`"0644"`, `0o644` or the YAML int 0644 read as 420?) or symbolic (`u+rwx,g-w`).
    Mode,
    /// Anything: strings, numbers, structures.
    Raw,
}

/// One argument a module accepts.
#[derive(Debug, Clone, Copy)]
pub struct ArgSpec {
    pub name: &'static str,
    pub kind: ArgKind,
    pub required: bool,
    pub aliases: &'static [&'static str],
    /// Allowed values for a string argument; empty means any.
    pub choices: &'static [&'static str],
}

impl ArgSpec {
    pub const fn new(name: &'static str, kind: ArgKind) -> Self {
        ArgSpec {
            name,
            kind,
            required: false,
            aliases: &[],
            choices: &[],
        }
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
    pub const fn choices(mut self, choices: &'static [&'static str]) -> Self {
        self.choices = choices;
        self
    }
    pub fn matches(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

/// The spec entry meaning "any argument name is accepted" (`set_fact: {whatever: 1}`).
pub const ANY_ARG: ArgSpec = ArgSpec::new("*", ArgKind::Raw);

/// A problem with a module's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    /// The argument concerned, when there is one.
    pub arg: Option<String>,
    pub message: String,
    /// "did you mean ...?" and similar.
    pub hint: Option<String>,
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.arg {
            Some(a) => write!(f, "argument `{a}`: {}", self.message)?,
            None => f.write_str(&self.message)?,
        }
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ArgError {}

impl ArgError {
    pub fn new(arg: Option<&str>, message: impl Into<String>) -> Self {
        ArgError {
            arg: arg.map(str::to_string),
            message: message.into(),
            hint: None,
        }
    }
}

/// The closest candidate to `name`, if one is close enough to be a likely typo.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Check argument names (and literal values' types) against a spec.
/// Names starting with `_` are internal arguments set by the engine and always allowed.
/// A spec containing [`ANY_ARG`] (name `*`) accepts every name (`set_fact`).
pub fn check_names(spec: &[ArgSpec], args: &Args) -> Vec<(String, ArgError)> {
    let mut errors = Vec::new();
    if spec.iter().any(|s| s.name == ANY_ARG.name) {
        return errors;
    }
    for key in args.keys() {
        if key.starts_with('_') || spec.iter().any(|s| s.matches(key)) {
            continue;
        }
        let all = spec
            .iter()
            .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()));
        let mut err = ArgError::new(Some(key), "unsupported argument");
        err.hint = match nearest(key, all) {
            Some(n) => Some(format!("did you mean `{n}`?")),
            None => Some(format!(
                "supported: {}",
                spec.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
            )),
        };
        errors.push((key.clone(), err));
    }
    errors
}

/// Typed access to a task's rendered arguments, resolved against the module's spec.
pub struct Params<'a> {
    spec: &'static [ArgSpec],
    args: &'a Args,
}

impl<'a> Params<'a> {
    /// Resolve aliases, check required arguments, types and choices.
    pub fn new(spec: &'static [ArgSpec], args: &'a Args) -> Result<Self, ArgError> {
        if let Some((_, e)) = check_names(spec, args).into_iter().next() {
            return Err(e);
        }
        let p = Params { spec, args };
        for s in spec {
            let v = p.raw(s.name);
            match v {
                None | Some(Value::Null) if s.required => {
                    return Err(ArgError::new(Some(s.name), "is required"))
                }
                None | Some(Value::Null) => {}
                Some(v) => {
                    check_kind(s, v)?;
                }
            }
        }
        Ok(p)
    }

    pub fn args(&self) -> &Args {
        self.args
    }

    /// The raw value under the name or one of its aliases.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        let spec = self.spec.iter().find(|s| s.name == name);
        if let Some(v) = self.args.get(name) {
            return Some(v);
        }
        spec.and_then(|s| s.aliases.iter().find_map(|a| self.args.get(*a)))
    }

    fn present(&self, name: &str) -> Option<&'a Value> {
        self.raw(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.present(name).is_some()
    }

    pub fn str(&self, name: &str) -> Option<String> {
        self.present(name).map(value_to_string)
    }

    pub fn str_or(&self, name: &str, default: &str) -> String {
        self.str(name).unwrap_or_else(|| default.to_string())
    }

    pub fn req_str(&self, name: &str) -> Result<String, ArgError> {
        self.str(name)
            .ok_or_else(|| ArgError::new(Some(name), "is required"))
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.present(name).and_then(to_bool)
    }

    pub fn bool_or(&self, name: &str, default: bool) -> bool {
        self.bool(name).unwrap_or(default)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.present(name).and_then(to_int)
    }

    pub fn float(&self, name: &str) -> Option<f64> {
        self.present(name).and_then(|v| match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
    }

    /// A list of strings; a comma separated string is split.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.present(name).map(|v| match v {
            Value::Array(items) => items.iter().map(value_to_string).collect(),
            Value::String(s) => s
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            other => vec![value_to_string(other)],
        })
    }

    pub fn dict(&self, name: &str) -> Option<&'a Map<String, Value>> {
        self.present(name).and_then(Value::as_object)
    }

    /// A mode argument as given (octal or symbolic); see [`crate::mode`] to apply it.
    pub fn mode(&self, name: &str) -> Option<String> {
        self.present(name).map(|v| match v {
            // YAML `mode: 0644` is read by the engine as the octal string it was written as; a
            // plain integer is taken as Ansible does: as the decimal value of the bits.
            Value::Number(n) => format!("{:o}", n.as_u64().unwrap_or(0)),
            other => value_to_string(other),
        })
    }
}

fn check_kind(s: &ArgSpec, v: &Value) -> Result<(), ArgError> {
    let ok = match s.kind {
        ArgKind::Str | ArgKind::Mode => !v.is_object() && !v.is_array(),
        ArgKind::Bool => to_bool(v).is_some(),
        ArgKind::Int => to_int(v).is_some(),
        ArgKind::Float => {
            v.is_number() || v.as_str().is_some_and(|s| s.trim().parse::<f64>().is_ok())
        }
        ArgKind::List => !v.is_object(),
        ArgKind::Dict => v.is_object(),
        ArgKind::Raw => true,
    };
    if !ok {
        let want = match s.kind {
            ArgKind::Str | ArgKind::Mode => "a string",
            ArgKind::Bool => "a boolean (yes/no/true/false)",
            ArgKind::Int => "an integer",
            ArgKind::Float => "a number",
            ArgKind::List => "a list",
            ArgKind::Dict => "a mapping",
            ArgKind::Raw => "a value",
        };
        return Err(ArgError::new(
            Some(s.name),
            format!("must be {want}, got {}", short(v)),
        ));
    }
    if !s.choices.is_empty() {
        let text = value_to_string(v);
        if !s.choices.contains(&text.as_str()) {
            let mut e = ArgError::new(
                Some(s.name),
                format!("value `{text}` is not one of: {}", s.choices.join(", ")),
            );
            e.hint =
                nearest(&text, s.choices.iter().copied()).map(|n| format!("did you mean `{n}`?"));
            return Err(e);
        }
    }
    Ok(())
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 40 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(40).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

/// A value as the string a user would expect (no JSON quotes around strings).
pub fn value_to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Ansible's truthy spellings.
pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" | "1" | "y" | "t" => Some(true),
            "no" | "false" | "off" | "0" | "n" | "f" | "" => Some(false),
            _ => None,
        },
        Value::Null => Some(false),
        _ => None,
    }
}

pub fn to_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}
