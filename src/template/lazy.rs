//! The render context: variables whose values are templates are rendered lazily, on access,
//! against the same context — Ansible's lazy evaluation (`a: "{{ b }}-x"` with `b: 1` gives
//! `a == "1-x"`, at any depth of nested dicts and lists).
//!
//! The context is a minijinja object over the shared, immutable `serde_json` variables, so
//! building it costs nothing however many variables (hostvars…) there are. Nested containers are
//! exposed as lightweight views (`LazyNode`: root + path) and only the strings actually read are
//! rendered; each rendered variable is cached per context. A thread-local stack of the variables
//! being rendered turns self-reference (`a: "{{ a }}"`) into a clear error instead of a stack
//! overflow, and bounds the nesting of lazy renders and `lookup('template')`.

use super::convert::json_to_value;
use super::{Templater, CONTEXT_KEY, SEARCH_PATH_KEY};
use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind};
use serde_json::{Map, Value as Json};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// Most lazy renders / template lookups nested in one another.
pub(crate) const MAX_NESTING: usize = 64;

/// One step of a path into the variables.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

fn display_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// What is being rendered on this thread, innermost last.
#[derive(PartialEq)]
pub(crate) enum Active {
    Var(usize, Vec<Seg>),
    File(String),
}

thread_local! {
    static ACTIVE: RefCell<Vec<Active>> = const { RefCell::new(Vec::new()) };
    static HINTS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Remember why a lazily rendered variable came out undefined.
fn record_hint(msg: String) {
    HINTS.with(|h| {
        let mut h = h.borrow_mut();
        if h.len() >= 16 {
            h.remove(0);
        }
        h.push(msg);
    });
}

/// The reason the most recent lazily rendered variable was undefined, if any: used to explain
/// an undefined error that minijinja cannot name.
pub(crate) fn take_hint() -> Option<String> {
    HINTS.with(|h| h.borrow_mut().pop())
}

/// Forget old reasons (at the start of each public render).
pub(crate) fn clear_hints() {
    HINTS.with(|h| h.borrow_mut().clear());
}

/// Marks a render in progress on this thread; popped on drop.
pub(crate) struct NestingGuard(());

impl NestingGuard {
    /// Fails when `what` is already being rendered (a loop) or nesting is too deep.
    pub(crate) fn enter(what: Active) -> Result<NestingGuard, String> {
        ACTIVE.with(|active| {
            let mut active = active.borrow_mut();
            if active.contains(&what) {
                return Err(match &what {
                    Active::Var(_, path) => format!(
                        "recursive loop detected in template for variable {}",
                        display_path(path)
                    ),
                    Active::File(name) => {
                        format!("recursive loop detected: template {name} includes itself")
                    }
                });
            }
            if active.len() >= MAX_NESTING {
                return Err(format!(
                    "templates nested too deeply (more than {MAX_NESTING} levels)"
                ));
            }
            active.push(what);
            Ok(NestingGuard(()))
        })
    }
}

impl Drop for NestingGuard {
    fn drop(&mut self) {
        ACTIVE.with(|active| {
            active.borrow_mut().pop();
        });
    }
}

/// The root of a context: all variables of one render.
pub(crate) struct LazyRoot {
    templater: Arc<Templater>,
    vars: Arc<Map<String, Json>>,
    search_path: Option<Value>,
    /// Values set by the engine (e.g. `hostvars` built from other hosts' contexts); they take
    /// precedence over `vars`.
    extra: Vec<(String, Value)>,
    cache: Mutex<HashMap<Vec<Seg>, Value>>,
}

impl fmt::Debug for LazyRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyRoot")
            .field("vars", &self.vars.len())
            .finish()
    }
}

pub(crate) fn make_context(
    templater: &Arc<Templater>,
    vars: Arc<Map<String, Json>>,
    search_path: Option<Vec<String>>,
    extra: Vec<(String, Value)>,
) -> Value {
    let root = LazyRoot {
        templater: templater.clone(),
        vars,
        search_path: search_path
            .map(|p| Value::from(p.into_iter().map(Value::from).collect::<Vec<_>>())),
        extra,
        cache: Mutex::new(HashMap::new()),
    };
    Value::from_object(root)
}

impl LazyRoot {
    pub(crate) fn templater(&self) -> &Arc<Templater> {
        &self.templater
    }

    fn resolve(self: &Arc<Self>, path: Vec<Seg>, v: &Json) -> Value {
        match v {
            Json::String(s) if Templater::is_template(s) => self.render_cached(path, s),
            Json::Array(_) | Json::Object(_) => Value::from_object(LazyNode {
                root: self.clone(),
                path,
            }),
            other => json_to_value(other),
        }
    }

    fn render_cached(self: &Arc<Self>, path: Vec<Seg>, source: &str) -> Value {
        if let Ok(cache) = self.cache.lock() {
            if let Some(v) = cache.get(&path) {
                return v.clone();
            }
        }
        let id = Arc::as_ptr(self) as usize;
        let _guard = match NestingGuard::enter(Active::Var(id, path.clone())) {
            Ok(g) => g,
            Err(msg) => return Value::from(Error::new(ErrorKind::InvalidOperation, msg)),
        };
        let ctx = Value::from_dyn_object(self.clone());
        match self
            .templater
            .render_value_inner(&Json::String(source.to_string()), &ctx)
        {
            Ok(json) => {
                let v = json_to_value(&json);
                if let Ok(mut cache) = self.cache.lock() {
                    cache.insert(path, v.clone());
                }
                v
            }
            Err(failure) => {
                let msg = &failure.error.message;
                if msg.contains("recursive loop detected") || msg.contains("nested too deeply") {
                    return Value::from(Error::new(failure.kind, msg.clone()));
                }
                let msg = format!("{msg} (in the value of variable '{}')", display_path(&path));
                if failure.kind == ErrorKind::UndefinedError {
                    // Like Ansible: a variable whose template uses an undefined variable is
                    // itself undefined (`is defined` is false, `default` applies); the reason
                    // is kept for the error if it gets printed.
                    record_hint(msg);
                    return Value::UNDEFINED;
                }
                Value::from(Error::new(failure.kind, msg))
            }
        }
    }

    fn node(&self, path: &[Seg]) -> Option<&Json> {
        let (first, rest) = path.split_first()?;
        let mut cur = match first {
            Seg::Key(k) => self.vars.get(k)?,
            Seg::Index(_) => return None,
        };
        for seg in rest {
            cur = match (seg, cur) {
                (Seg::Key(k), Json::Object(m)) => m.get(k)?,
                (Seg::Index(i), Json::Array(a)) => a.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }
}

impl Object for LazyRoot {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        if key == SEARCH_PATH_KEY && self.search_path.is_some() {
            return self.search_path.clone();
        }
        if let Some((_, v)) = self.extra.iter().find(|(k, _)| k == key) {
            return Some(v.clone());
        }
        if let Some(v) = self.vars.get(key) {
            return Some(self.resolve(vec![Seg::Key(key.to_string())], v));
        }
        match key {
            CONTEXT_KEY | "vars" => Some(Value::from_dyn_object(self.clone())),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let extra = self
            .extra
            .iter()
            .filter(|(k, _)| !self.vars.contains_key(k))
            .map(|(k, _)| Value::from(k.as_str()));
        Enumerator::Values(
            self.vars
                .keys()
                .map(|k| Value::from(k.as_str()))
                .chain(extra)
                .collect(),
        )
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        let extra = self
            .extra
            .iter()
            .filter(|(k, _)| !self.vars.contains_key(k))
            .count();
        Some(self.vars.len() + extra)
    }
}

/// A dict or list inside the variables, seen through the root so its strings render lazily.
struct LazyNode {
    root: Arc<LazyRoot>,
    path: Vec<Seg>,
}

impl fmt::Debug for LazyNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LazyNode({})", display_path(&self.path))
    }
}

impl LazyNode {
    fn json(&self) -> Option<&Json> {
        self.root.node(&self.path)
    }

    fn child(&self, seg: Seg, v: &Json) -> Value {
        let mut path = Vec::with_capacity(self.path.len() + 1);
        path.extend_from_slice(&self.path);
        path.push(seg);
        self.root.resolve(path, v)
    }
}

impl Object for LazyNode {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        match self.json() {
            Some(Json::Array(_)) => ObjectRepr::Seq,
            _ => ObjectRepr::Map,
        }
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match self.json()? {
            Json::Array(items) => {
                let idx = key.as_i64()?;
                let idx = if idx < 0 {
                    items.len().checked_sub(idx.unsigned_abs() as usize)?
                } else {
                    usize::try_from(idx).ok()?
                };
                let item = items.get(idx)?;
                Some(self.child(Seg::Index(idx), item))
            }
            Json::Object(m) => {
                let k = key.as_str()?;
                let item = m.get(k)?;
                Some(self.child(Seg::Key(k.to_string()), item))
            }
            _ => None,
        }
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        match self.json()? {
            Json::Object(m) => {
                let item = m.get(key)?;
                Some(self.child(Seg::Key(key.to_string()), item))
            }
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.json() {
            Some(Json::Array(items)) => Enumerator::Seq(items.len()),
            Some(Json::Object(m)) => {
                Enumerator::Values(m.keys().map(|k| Value::from(k.as_str())).collect())
            }
            _ => Enumerator::Empty,
        }
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        match self.json() {
            Some(Json::Array(items)) => Some(items.len()),
            Some(Json::Object(m)) => Some(m.len()),
            _ => Some(0),
        }
    }
}
