//! Defence in depth against leaking secrets into reports and the run history.
//!
//! The executor already redacts `no_log` results and values it knows to be secret before it emits
//! events. Reports, however, end up in pull-request comments, CI artefacts and a database that
//! lives for months, so everything they write goes through a [`Redactor`] once more: every
//! occurrence of a known secret value is replaced by `********`, and in structured data the values
//! of keys that look secret (`password`, `token`, `api_key`, ...) are replaced whatever they hold.

use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, RwLock};

/// What replaces a secret.
pub const MASK: &str = "********";

/// Secret values shorter than this are not redacted by value: replacing every `yes` or `80` in a
/// report would make it unreadable without protecting anything.
pub const MIN_SECRET_LEN: usize = 4;

/// Lines of a multi-line secret (a private key, a JSON credentials file) are also redacted on
/// their own, because a unified diff prefixes each line with `+`/`-` and so never contains the
/// secret as a whole. Only lines at least this long, to avoid masking `}` or `---`.
const MIN_SECRET_LINE_LEN: usize = 8;

/// Does a variable or data key name look like it holds a secret? (One rule for the whole tool.)
pub fn is_secret_key(name: &str) -> bool {
    converge_modules::secret::is_secret_name(name)
}

/// Holds the secret values of a run and removes them from anything written out.
///
/// `Debug` never prints the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Longest first, so a secret containing another one is replaced as a whole.
    secrets: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor {{ {} secrets }}", self.secrets.len())
    }
}

impl Redactor {
    pub fn new() -> Self {
        Redactor::default()
    }

    /// A redactor for these secret values.
    pub fn with_secrets<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut r = Redactor::new();
        for v in values {
            r.add_secret(v.as_ref());
        }
        r
    }

    /// Registers one secret value (ignored when shorter than [`MIN_SECRET_LEN`]).
    pub fn add_secret(&mut self, value: &str) {
        let mut candidates = vec![value, value.trim()];
        if value.contains('\n') {
            candidates.extend(
                value
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.chars().count() >= MIN_SECRET_LINE_LEN),
            );
        }
        for c in candidates {
            if c.chars().count() >= MIN_SECRET_LEN
                && c != MASK
                && !self.secrets.iter().any(|s| s == c)
            {
                self.secrets.push(c.to_string());
            }
        }
        self.secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Registers every string inside a value (a secret variable may be a list or a mapping).
    pub fn add_secret_value(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.add_secret(s),
            Value::Number(n) => self.add_secret(&n.to_string()),
            Value::Array(a) => a.iter().for_each(|v| self.add_secret_value(v)),
            Value::Object(o) => o.values().for_each(|v| self.add_secret_value(v)),
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// Registers the values of the variables whose names look secret (see [`is_secret_key`]).
    pub fn add_secret_vars<'a, I>(&mut self, vars: I)
    where
        I: IntoIterator<Item = (&'a str, &'a Value)>,
    {
        for (name, value) in vars {
            if is_secret_key(name) {
                self.add_secret_value(value);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Adds another redactor's secrets to this one.
    pub fn merge(&mut self, other: &Redactor) {
        for s in &other.secrets {
            self.add_secret(s);
        }
    }

    /// Replaces every occurrence of every secret value by [`MASK`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out: Cow<'a, str> = Cow::Borrowed(text);
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = Cow::Owned(out.replace(s.as_str(), MASK));
            }
        }
        out
    }

    /// In-place version of [`Redactor::redact`].
    pub fn redact_string(&self, text: &mut String) {
        if let Cow::Owned(s) = self.redact(text) {
            *text = s;
        }
    }

    pub fn redact_opt(&self, text: &mut Option<String>) {
        if let Some(t) = text {
            self.redact_string(t);
        }
    }

    /// In-place redaction of a diff's headers and both texts.
    pub fn redact_diff(&self, d: &mut converge_modules::Diff) {
        self.redact_string(&mut d.before_header);
        self.redact_string(&mut d.after_header);
        self.redact_string(&mut d.before);
        self.redact_string(&mut d.after);
    }

    /// Redacts structured data: values under secret-looking keys become [`MASK`], secret values
    /// inside any string (keys included) are masked.
    pub fn redact_value(&self, value: &mut Value) {
        match value {
            Value::String(s) => self.redact_string(s),
            Value::Array(a) => a.iter_mut().for_each(|v| self.redact_value(v)),
            Value::Object(o) => {
                let needs_key_rewrite = o.keys().any(|k| matches!(self.redact(k), Cow::Owned(_)));
                if needs_key_rewrite {
                    let old = std::mem::take(o);
                    for (k, v) in old {
                        o.insert(self.redact(&k).into_owned(), v);
                    }
                }
                for (k, v) in o.iter_mut() {
                    if is_secret_key(k) && !v.is_null() {
                        *v = Value::String(MASK.to_string());
                    } else {
                        self.redact_value(v);
                    }
                }
            }
            Value::Number(n) => {
                let s = n.to_string();
                if matches!(self.redact(&s), Cow::Owned(_)) {
                    *value = Value::String(MASK.to_string());
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }
}

/// The run's secret values, shared by everything that writes output: the executor adds values
/// it meets while running (`_env:` values read by modules, secret-named variables once rendered,
/// results registered by `no_log` tasks), and every event is redacted with the set as it stands.
#[derive(Clone, Default)]
pub struct Secrets(Arc<RwLock<Redactor>>);

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets {{ {} values }}", self.with(Redactor::len))
    }
}

impl Secrets {
    pub fn new(known: Redactor) -> Self {
        Secrets(Arc::new(RwLock::new(known)))
    }

    pub fn add(&self, value: &str) {
        self.write().add_secret(value);
    }

    pub fn add_value(&self, value: &Value) {
        self.write().add_secret_value(value);
    }

    /// A copy of the set as it stands (for a report rendered at the end of the run).
    pub fn snapshot(&self) -> Redactor {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Runs `f` with the current set, without copying it.
    pub fn with<R>(&self, f: impl FnOnce(&Redactor) -> R) -> R {
        f(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Redactor> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replaces_every_occurrence_longest_first() {
        let r = Redactor::with_secrets(["hunter2-long", "hunter2", "abc"]);
        assert_eq!(
            r.redact("x hunter2-long y hunter2 abc"),
            "x ******** y ******** abc"
        );
    }

    #[test]
    fn multi_line_secrets_are_redacted_line_by_line() {
        let key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----\n";
        let r = Redactor::with_secrets([key]);
        let diff = "+MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n";
        assert!(!r.redact(diff).contains("MIIEvQ"));
    }

    #[test]
    fn data_keys_that_look_secret_are_masked() {
        let r = Redactor::with_secrets(["s3cr3t-value"]);
        let mut v = json!({
            "db_password": "whatever",
            "ApiKey": 12345,
            "nested": {"private_key": {"a": 1}, "stdout": "got s3cr3t-value here"},
            "list": ["s3cr3t-value"],
            "token": null,
            "plain": "fine"
        });
        r.redact_value(&mut v);
        assert_eq!(
            v,
            json!({
                "db_password": MASK,
                "ApiKey": MASK,
                "nested": {"private_key": MASK, "stdout": "got ******** here"},
                "list": [MASK],
                "token": null,
                "plain": "fine"
            })
        );
    }

    #[test]
    fn secret_vars_are_picked_by_name() {
        let vals = [json!("pa55word!"), json!("public")];
        let mut r = Redactor::new();
        r.add_secret_vars([("mysql_root_password", &vals[0]), ("motd", &vals[1])]);
        assert_eq!(r.len(), 1);
        assert_eq!(r.redact("pa55word! public"), "******** public");
        assert_eq!(format!("{r:?}"), "Redactor { 1 secrets }");
    }
}
