//! `with_<lookup>:` loops as Ansible 2.19 runs them (`TaskExecutor._get_loop_items`): the loop
//! value is the lookup's terms (a string is templated and becomes one term, anything else that
//! is not a list becomes a one-term list), and the items are what the lookup plugin returns with
//! `wantlist=True`. `first_found` also learns that it runs as a `with_` loop: it then drops
//! undefined terms and searches the subdirectory the task's action suggests.

use super::{Failure, Templater, WITH_ACTION_KEY, WITH_DIRS_KEY};
use minijinja::value::Value;
use minijinja::ErrorKind;
use serde_json::Value as Json;

/// What a `with_` loop needs to know about its task.
pub struct WithLoop<'a> {
    /// The lookup (`items` for `with_items`).
    pub lookup: &'a str,
    /// The loop value as written.
    pub terms: &'a Json,
    /// The task's action (module) name: `first_found` picks `vars/`, `templates/` or `files/`
    /// from it.
    pub action: &'a str,
    /// Ansible's `ansible_search_path` for the task: the role's directory, the directory of the
    /// task's file, the playbook's directory.
    pub search_dirs: Vec<String>,
}

impl Templater {
    /// The items of a `with_<lookup>` loop.
    pub fn with_loop_items(
        &self,
        w: &WithLoop,
        ctx: &Value,
    ) -> Result<Vec<Json>, super::TemplateError> {
        let omit_undefined = w.lookup == "first_found";
        let terms = match w.terms {
            Json::String(s) => self.render_value_inner(&Json::String(s.trim().to_string()), ctx),
            Json::Array(items) => self.render_terms(items, ctx, omit_undefined),
            other => self.render_value_inner(other, ctx),
        }
        .map_err(|f| f.error)?;
        let terms = match terms {
            Json::Array(a) => a,
            other => vec![other],
        };
        let locals = Value::from_pairs([
            ("__converge_with_name", Value::from(w.lookup)),
            (
                "__converge_with_terms",
                super::convert::json_to_value(&Json::Array(terms)),
            ),
            (WITH_ACTION_KEY, Value::from(w.action)),
            (WITH_DIRS_KEY, Value::from(w.search_dirs.clone())),
        ]);
        let merged = minijinja::value::merge_maps([locals, ctx.clone()]);
        let expr = self
            .env
            .compile_expression("query(__converge_with_name, *__converge_with_terms)")
            .map_err(|e| super::TemplateError::new(e.to_string()))?;
        let value = expr.eval(merged).map_err(|e| {
            super::TemplateError::new(match e.detail() {
                Some(d) => d.to_string(),
                None => e.to_string(),
            })
        })?;
        match super::convert::value_to_json(&value) {
            Ok(Json::Array(items)) => Ok(items),
            Ok(other) => Ok(vec![other]),
            Err(e) => Err(super::TemplateError::new(e.to_string())),
        }
    }

    /// Render each term on its own; with `omit_undefined` (first_found), terms that are
    /// undefined are left out, in nested lists and mappings too.
    fn render_terms(
        &self,
        items: &[Json],
        ctx: &Value,
        omit_undefined: bool,
    ) -> Result<Json, Failure> {
        let mut out = Vec::new();
        for item in items {
            if let Some(v) = self.render_term(item, ctx, omit_undefined)? {
                out.push(v);
            }
        }
        Ok(Json::Array(out))
    }

    fn render_term(
        &self,
        v: &Json,
        ctx: &Value,
        omit_undefined: bool,
    ) -> Result<Option<Json>, Failure> {
        let rendered = match v {
            Json::Array(items) if omit_undefined => self.render_terms(items, ctx, true),
            Json::Object(m) if omit_undefined => {
                let mut out = serde_json::Map::new();
                for (k, val) in m {
                    if let Some(r) = self.render_term(val, ctx, true)? {
                        out.insert(k.clone(), r);
                    }
                }
                Ok(Json::Object(out))
            }
            other => self.render_value_inner(other, ctx),
        };
        match rendered {
            Ok(r) => Ok(Some(r)),
            Err(f) if omit_undefined && f.kind == ErrorKind::UndefinedError => Ok(None),
            Err(f) => Err(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WithLoop;
    use crate::template::tests::ctx;
    use crate::template::Templater;
    use serde_json::{json, Value};

    fn items(lookup: &str, terms: Value, vars: Value) -> Result<Value, String> {
        let t = Templater::new();
        let w = WithLoop {
            lookup,
            terms: &terms,
            action: "debug",
            search_dirs: Vec::new(),
        };
        t.with_loop_items(&w, &ctx(vars))
            .map(Value::Array)
            .map_err(|e| e.message)
    }

    #[test]
    fn terms_are_listified_like_ansible() {
        let v = json!({"l": [1, [2, 3]], "d": {"a": 1}});
        assert_eq!(
            items("items", json!("{{ l }}"), v.clone()),
            Ok(json!([1, 2, 3]))
        );
        assert_eq!(
            items("items", json!(["{{ l }}", 4]), v.clone()),
            Ok(json!([1, [2, 3], 4]))
        );
        assert_eq!(
            items("list", json!("{{ d }}"), v.clone()),
            Ok(json!([{"a": 1}]))
        );
        assert_eq!(
            items("indexed_items", json!({"a": 1}), v.clone()),
            Ok(json!([[0, {"a": 1}]]))
        );
        assert_eq!(
            items("dict", json!("{{ d }}"), v.clone()),
            Ok(json!([{"key": "a", "value": 1}]))
        );
        assert_eq!(
            items("sequence", json!("start=1 end=2"), v.clone()),
            Ok(json!(["1", "2"]))
        );
        let e = items("dict", json!("{{ l }}"), v.clone()).unwrap_err();
        assert!(e.contains("lookup plugin expects a dictionary"), "{e}");
        let e = items("together", json!([]), v.clone()).unwrap_err();
        assert!(
            e.contains("with_together requires at least one element in each list"),
            "{e}"
        );
        assert!(items("items", json!(["{{ nope }}"]), v).is_err());
    }

    #[test]
    fn first_found_drops_undefined_terms() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("files")).unwrap();
        std::fs::write(dir.path().join("files/bar1"), "").unwrap();
        let t = Templater::new();
        let terms = json!(["{{ missing_var }}foo1", {}, {"files": ["{{ nope }}", "bar1"]}]);
        let w = WithLoop {
            lookup: "first_found",
            terms: &terms,
            action: "debug",
            search_dirs: vec![dir.path().display().to_string()],
        };
        let found = t.with_loop_items(&w, &ctx(json!({}))).unwrap();
        assert_eq!(found.len(), 1);
        assert!(
            found[0].as_str().unwrap().ends_with("/files/bar1"),
            "{found:?}"
        );
    }
}
