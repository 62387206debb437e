//! Tests of the `Templater` API as the engine uses it (rendering, native values, expressions,
//! error positions, lazy variables), and the helpers the per-file tests share.

use super::*;
use serde_json::json;
use std::sync::{Arc, OnceLock};

fn templater() -> &'static Arc<Templater> {
    static T: OnceLock<Arc<Templater>> = OnceLock::new();
    T.get_or_init(|| Arc::new(Templater::new()))
}

pub(crate) fn ctx(vars: Json) -> Value {
    let Json::Object(m) = vars else {
        panic!("test vars must be an object")
    };
    context(templater(), Arc::new(m))
}

pub(crate) fn render(src: &str, vars: Json) -> String {
    match templater().render(src, &ctx(vars)) {
        Ok(s) => s,
        Err(e) => panic!("rendering {src:?} failed: {e}"),
    }
}

pub(crate) fn render_err(src: &str, vars: Json) -> TemplateError {
    match templater().render(src, &ctx(vars)) {
        Ok(s) => panic!("rendering {src:?} should fail, gave {s:?}"),
        Err(e) => e,
    }
}

pub(crate) fn eval(expr: &str, vars: Json) -> Json {
    match templater().eval_expr(expr, &ctx(vars)) {
        Ok(v) => v,
        Err(e) => panic!("evaluating {expr:?} failed: {e}"),
    }
}

pub(crate) fn eval_err(expr: &str, vars: Json) -> TemplateError {
    match templater().eval_expr(expr, &ctx(vars)) {
        Ok(v) => panic!("evaluating {expr:?} should fail, gave {v}"),
        Err(e) => e,
    }
}

fn render_value(v: Json, vars: Json) -> Result<Json, TemplateError> {
    templater().render_value(&v, &ctx(vars))
}

#[test]
fn is_template() {
    assert!(Templater::is_template("a {{ b }}"));
    assert!(Templater::is_template("{% if x %}{% endif %}"));
    assert!(Templater::is_template("{# c #}"));
    assert!(!Templater::is_template("plain { text }"));
}

#[test]
fn render_basics() {
    assert_eq!(
        render("Hello {{ name }}!", json!({"name": "world"})),
        "Hello world!"
    );
    assert_eq!(render("a\n", json!({})), "a\n", "trailing newline kept");
    assert_eq!(render("a\n\n", json!({})), "a\n\n");
    assert_eq!(
        render("{% if true %}\nx\n{% endif %}\n", json!({})),
        "x\n",
        "trim_blocks like Ansible"
    );
    assert_eq!(
        render("{{ l }}", json!({"l": [1, "a", null, true]})),
        "[1, 'a', None, True]"
    );
    assert_eq!(render("{{ d }}", json!({"d": {"a": 1}})), "{'a': 1}");
    assert_eq!(render("{{ omit }}", json!({})), OMIT);
    assert_eq!(render("{# comment #}x", json!({})), "x");
    assert_eq!(render("{{ '<b>' }}", json!({})), "<b>", "no HTML escaping");
}

#[test]
fn render_value_native_types() {
    let vars = json!({"l": [1, 2], "d": {"k": "v"}, "n": 5, "b": true, "s": "str", "none": null});
    assert_eq!(
        render_value(json!("{{ l }}"), vars.clone()).unwrap(),
        json!([1, 2])
    );
    assert_eq!(
        render_value(json!("  {{ d }} "), vars.clone()).unwrap(),
        json!({"k": "v"})
    );
    assert_eq!(
        render_value(json!("{{ n + 1 }}"), vars.clone()).unwrap(),
        json!(6)
    );
    assert_eq!(
        render_value(json!("{{ b }}"), vars.clone()).unwrap(),
        json!(true)
    );
    assert_eq!(
        render_value(json!("{{ none }}"), vars.clone()).unwrap(),
        json!(null)
    );
    assert_eq!(
        render_value(json!("{{ n }} items"), vars.clone()).unwrap(),
        json!("5 items")
    );
    assert_eq!(
        render_value(json!(" {{ s }}\n"), vars.clone()).unwrap(),
        json!(" str\n")
    );
    assert_eq!(
        render_value(json!("{{- s -}}"), vars.clone()).unwrap(),
        json!("str")
    );
    assert_eq!(
        render_value(json!(" {{- s }} "), vars.clone()).unwrap(),
        json!("str ")
    );
    assert_eq!(
        render_value(json!("{{ a }}{{ b }}"), json!({"a": 1, "b": 2})).unwrap(),
        json!("12")
    );
    assert_eq!(
        render_value(json!("{{ '}}' }}"), vars.clone()).unwrap(),
        json!("}}")
    );
    assert_eq!(
        render_value(
            json!({"k": ["{{ n }}", "plain", 3, {"{{ s }}": "{{ l | length }}"}]}),
            vars.clone()
        )
        .unwrap(),
        json!({"k": [5, "plain", 3, {"str": 2}]})
    );
    // a non-template value comes back untouched, with its key order
    let plain = json!({"z": 1, "a": [1, "x"], "m": {"q": null}});
    assert_eq!(render_value(plain.clone(), vars.clone()).unwrap(), plain);
    let keys: Vec<String> = render_value(json!({"z": "{{ n }}", "a": 1}), vars)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, vec!["z", "a"]);
}

#[test]
fn eval_expressions() {
    let vars = json!({"x": "5", "l": [1, 2, 3], "d": {"a": {"b": 1}}, "f": "false", "no": "no"});
    let t = templater();
    let c = ctx(vars.clone());
    assert!(t.eval_bool("x is defined and x | int > 3", &c).unwrap());
    assert!(!t.eval_bool("y is defined", &c).unwrap());
    assert!(
        t.eval_bool("{{ l | length == 3 }}", &c).unwrap(),
        "wrapped in {{ }} accepted"
    );
    assert!(t.eval_bool("2 in l", &c).unwrap());
    assert!(t.eval_bool("d.a.b == 1", &c).unwrap());
    assert!(
        !t.eval_bool("f", &c).unwrap(),
        "the string 'false' is false"
    );
    assert!(!t.eval_bool("no", &c).unwrap());
    assert!(t.eval_bool("x", &c).unwrap());
    assert!(!t.eval_bool("[]", &c).unwrap());
    assert!(!t.eval_bool("0", &c).unwrap());
    assert_eq!(
        t.eval_expr("l | map('string') | list", &c).unwrap(),
        json!(["1", "2", "3"])
    );
    assert_eq!(t.eval_expr("d.a", &c).unwrap(), json!({"b": 1}));
    assert!(t.eval_bool("d.missing.deeper is not defined", &c).unwrap());
    assert_eq!(
        t.eval_expr("d.missing.deeper | default('dflt')", &c)
            .unwrap(),
        json!("dflt")
    );
    assert_eq!(t.eval_expr("nope.x | d(3)", &c).unwrap(), json!(3));
    let e = t.eval_bool("missing_var == 1", &c).unwrap_err();
    assert_eq!(e.message, "'missing_var' is undefined");
    let e = t.eval_expr("", &c).unwrap_err();
    assert!(e.message.contains("empty"), "{}", e.message);
}

#[test]
fn undefined_errors_name_the_variable_and_line() {
    let e = render_err("line one\nline two {{ foo }}\n", json!({}));
    assert_eq!(e.message, "'foo' is undefined");
    assert_eq!(e.line, Some(2));
    assert_eq!(e.col, Some(13));
    assert_eq!(e.range, Some(21..24));

    let e = render_err("a\nb\n  {{ x.missing }}", json!({"x": {"a": 1}}));
    assert_eq!(e.message, "'x.missing' is undefined");
    assert_eq!(e.line, Some(3));
    assert_eq!(e.col, Some(6));

    let e = render_err("{% for i in items %}{{ i }}{% endfor %}", json!({}));
    assert_eq!(e.message, "'items' is undefined");
    let e = render_err("{% if flag %}x{% endif %}", json!({}));
    assert_eq!(e.message, "'flag' is undefined");
    let e = render_err("{{ x.missing.deeper }}", json!({"x": {}}));
    assert_eq!(e.message, "'x.missing' is undefined");
    // chained undefined is only forgiven right before `default`/`defined`
    let e = render_err("{{ x.y.z ~ other | default('') }}", json!({"x": {}}));
    assert_eq!(e.message, "'x.y' is undefined");
    assert_eq!(
        render("{{ (x.y.z) | default('d') }}", json!({"x": {}})),
        "d"
    );
    assert_eq!(render("{{ x.y['z'].w | d('d') }}", json!({"x": {}})), "d");
    assert_eq!(render("{{ x.y.z is defined }}", json!({"x": {}})), "False");
    assert_eq!(
        render("{{ x.y.z is not defined }}", json!({"x": {}})),
        "True"
    );
    // and printing an undefined value stays an error in the retry
    let e = render_err("{{ x.y.z | default(a.b) }}", json!({"x": {}, "a": {}}));
    assert_eq!(e.message, "'x.y' is undefined");
}

#[test]
fn undefined_in_native_expression() {
    let e = render_value(json!("{{ nope }}"), json!({})).unwrap_err();
    assert_eq!(e.message, "'nope' is undefined");
    assert_eq!(e.range, Some(3..7));
    let e = render_value(json!("{{ x.missing }}"), json!({"x": {}})).unwrap_err();
    assert_eq!(e.message, "'x.missing' is undefined");
    let e = eval_err("a and nope", json!({"a": true}));
    assert_eq!(e.message, "'nope' is undefined");
    assert_eq!(e.range, Some(0..10));
}

#[test]
fn syntax_errors_have_positions() {
    let t = templater();
    let e = t.check_syntax("ok\n{% if %}\n").unwrap_err();
    assert!(e.message.starts_with("syntax error:"), "{}", e.message);
    assert_eq!(e.line, Some(2));
    assert_eq!(e.col, Some(7), "points at the unexpected `%}}`");
    let e = t.check_syntax("a\nb {{ 1 + }}").unwrap_err();
    assert_eq!(e.line, Some(2));
    assert!(t
        .check_syntax("{% for x in y %}{{ x }}{% endfor %}")
        .is_ok());
    assert!(t.check_syntax("{% for x in y %}").is_err());
    assert!(t.check_syntax("no template at all").is_ok());

    assert!(t.check_expr_syntax("x is defined and x > 1").is_ok());
    assert!(t.check_expr_syntax("{{ x | int }}").is_ok());
    let e = t.check_expr_syntax("x >").unwrap_err();
    assert!(e.message.starts_with("syntax error:"), "{}", e.message);
    assert_eq!(e.line, Some(1));
    let e = t.check_expr_syntax("{{ x > }}").unwrap_err();
    assert_eq!(
        e.range.map(|r| r.start),
        Some(5),
        "positions are in the original string"
    );
    assert!(t.check_expr_syntax("x }} y").is_err());
    // a render-time syntax error is reported the same way
    let e = render_err("x\n\n{{ 1 + }}", json!({}));
    assert_eq!(e.line, Some(3));
    let e = render_err("{{ x | nosuchfilter }}", json!({"x": 1}));
    assert!(e.message.contains("unknown filter"), "{}", e.message);
}

#[test]
fn display_of_errors() {
    let e = render_err("\n{{ foo }}", json!({}));
    assert_eq!(e.to_string(), "'foo' is undefined (line 2, column 4)");
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert!(boxed.to_string().contains("foo"));
}

#[test]
fn lazy_variables() {
    let vars = json!({
        "a": "{{ b }}-x",
        "b": 1,
        "nested": {"url": "http://{{ host }}:{{ port }}/", "list": ["{{ b + 1 }}", "plain"]},
        "host": "example.org",
        "port": "{{ base_port + 80 }}",
        "base_port": 8000,
        "whole": "{{ nested }}",
        "num": "{{ b + 41 }}",
    });
    assert_eq!(render("{{ a }}", vars.clone()), "1-x");
    assert_eq!(
        render("{{ nested.url }}", vars.clone()),
        "http://example.org:8080/"
    );
    assert_eq!(
        render("{{ nested.list[0] }} {{ nested['list'][1] }}", vars.clone()),
        "2 plain"
    );
    assert_eq!(render("{{ nested.list[-1] }}", vars.clone()), "plain");
    assert_eq!(
        eval("num", vars.clone()),
        json!(42),
        "native values from lazy templates"
    );
    assert_eq!(eval("num + 1", vars.clone()), json!(43));
    assert_eq!(
        eval("whole", vars.clone()),
        json!({"url": "http://example.org:8080/", "list": [2, "plain"]})
    );
    assert_eq!(eval("nested.list | length", vars.clone()), json!(2));
    assert_eq!(
        eval(
            "nested | dict2items | map(attribute='key') | list",
            vars.clone()
        ),
        json!(["url", "list"])
    );
    assert_eq!(
        render(
            "{% for x in nested.list %}[{{ x }}]{% endfor %}",
            vars.clone()
        ),
        "[2][plain]"
    );
    assert_eq!(
        render("{{ vars['a'] }} {{ lookup('vars', 'a') }}", vars.clone()),
        "1-x 1-x"
    );
    assert!(templater()
        .eval_bool("nested.list[0] == 2", &ctx(vars))
        .unwrap());
}

#[test]
fn lazy_recursion_is_an_error() {
    let e = render_err("{{ a }}", json!({"a": "{{ a }}"}));
    assert!(
        e.message
            .contains("recursive loop detected in template for variable a"),
        "{}",
        e.message
    );
    let e = render_err("{{ a }}", json!({"a": "{{ b }}", "b": "x{{ a }}"}));
    assert!(
        e.message.contains("recursive loop detected"),
        "{}",
        e.message
    );
    let e = render_err("{{ d.k }}", json!({"d": {"k": "{{ d.k }}"}}));
    assert!(
        e.message
            .contains("recursive loop detected in template for variable d.k"),
        "{}",
        e.message
    );
    // a variable used twice is not a loop
    assert_eq!(
        render(
            "{{ a }}",
            json!({"a": "{{ b }}{{ b }}", "b": "{{ c }}", "c": 1})
        ),
        "11"
    );
}

#[test]
fn lazy_errors_name_the_variable() {
    let e = render_err("x\n{{ a }}", json!({"a": "{{ missing }}"}));
    assert!(
        e.message.contains("'missing' is undefined"),
        "{}",
        e.message
    );
    assert!(e.message.contains("variable 'a'"), "{}", e.message);
    assert_eq!(e.line, Some(2));
    assert!(!templater()
        .eval_bool("a is defined and a", &ctx(json!({"a": ""})))
        .unwrap());
}

#[test]
fn variables_using_undefined_ones_are_undefined() {
    // like Ansible: `a: "{{ missing }}"` makes `a` undefined, with the reason kept
    let vars = json!({"a": "{{ missing }}", "b": "x-{{ a }}", "d": {"k": "{{ nope.x }}"}});
    assert_eq!(eval("a is defined", vars.clone()), json!(false));
    assert_eq!(eval("a | default('dflt')", vars.clone()), json!("dflt"));
    assert_eq!(eval("b is undefined", vars.clone()), json!(true));
    assert_eq!(eval("d.k | default(1)", vars.clone()), json!(1));
    let e = render_err("{{ b }}", vars.clone());
    assert!(
        e.message.contains("'missing' is undefined"),
        "{}",
        e.message
    );
    let e = render_value(json!("{{ d.k }}"), vars.clone()).unwrap_err();
    assert!(e.message.contains("'nope' is undefined"), "{}", e.message);
    assert!(e.message.contains("variable 'd.k'"), "{}", e.message);
    // other failures are errors, not undefined
    let e = eval_err("c is defined", json!({"c": "{{ 1 | nosuchfilter }}"}));
    assert!(e.message.contains("unknown filter"), "{}", e.message);
}

#[test]
fn fuel_stops_runaway_templates() {
    let e = render_err(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        json!({}),
    );
    assert!(e.message.contains("fuel"), "{}", e.message);
}

#[test]
fn templater_is_shared_across_threads() {
    let t = templater().clone();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let t = t.clone();
            std::thread::spawn(move || {
                let Json::Object(m) = json!({"i": i, "a": "{{ i * 2 }}"}) else {
                    unreachable!()
                };
                let c = context(&t, Arc::new(m));
                t.render("{{ a }}", &c).unwrap()
            })
        })
        .collect();
    let out: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(out, vec!["0", "2", "4", "6"]);
}

#[test]
fn single_expression_detection() {
    assert_eq!(single_expression("{{ x }}"), Some((" x ", 2)));
    assert_eq!(single_expression("  {{x}} "), Some(("x", 4)));
    assert_eq!(single_expression("{{- x -}}"), Some((" x ", 3)));
    assert_eq!(single_expression("{{ a }} {{ b }}"), None);
    assert_eq!(single_expression("x {{ a }}"), None);
    assert_eq!(single_expression("{{ }}"), None);
}

#[test]
fn extras_and_per_host_contexts() {
    let t = templater();
    let host = |v: Json| {
        let Json::Object(m) = v else { unreachable!() };
        context(t, Arc::new(m))
    };
    let hostvars = Value::from_pairs([
        ("web1", host(json!({"ip": "10.0.0.{{ n }}", "n": 1}))),
        ("web2", host(json!({"ip": "10.0.0.{{ n }}", "n": 2}))),
    ]);
    let Json::Object(m) = json!({"n": 9, "hostvars": "shadowed"}) else {
        unreachable!()
    };
    let c = context_with_extras(t, Arc::new(m), None, vec![("hostvars".into(), hostvars)]);
    assert_eq!(
        t.render(
            "{{ hostvars['web1'].ip }} {{ hostvars.web2.ip }} {{ n }}",
            &c
        )
        .unwrap(),
        "10.0.0.1 10.0.0.2 9"
    );
    assert_eq!(
        t.eval_expr(
            "hostvars | dict2items | map(attribute='value.ip') | list",
            &c
        )
        .unwrap(),
        json!(["10.0.0.1", "10.0.0.2"])
    );
}
