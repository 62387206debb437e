//! The `comment` filter, as Ansible's (`{{ ansible_managed | comment }}` at the top of a
//! config file): the text as a comment block in one of Ansible's styles, every part of which
//! can be overridden (`decoration`, `prefix`, `postfix`, `beginning`, `end`, counts, `newline`).

use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind};
use std::collections::BTreeMap;

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("comment", comment);
}

fn style(name: &str) -> Option<BTreeMap<&'static str, &'static str>> {
    let pairs: &[(&str, &str)] = match name {
        "plain" => &[("decoration", "# ")],
        "erlang" => &[("decoration", "% ")],
        "c" => &[("decoration", "// ")],
        "cblock" => &[("beginning", "/*"), ("decoration", " * "), ("end", " */")],
        "xml" => &[("beginning", "<!--"), ("decoration", " - "), ("end", "-->")],
        _ => return None,
    };
    Some(pairs.iter().copied().collect())
}

fn comment(text: String, style_name: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let name = style_name.unwrap_or_else(|| "plain".into());
    let st = style(&name).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("Invalid style '{name}'. Available styles: plain, erlang, c, cblock, xml"),
        )
    })?;
    let kw = |k: &str| -> Result<Option<String>, Error> {
        Ok(kwargs
            .get::<Option<minijinja::Value>>(k)?
            .map(|v| match v.as_str() {
                Some(s) => s.to_string(),
                None => v.to_string(),
            }))
    };
    let prepostfix = kw("decoration")?.unwrap_or_else(|| st["decoration"].to_string());
    let mut p: BTreeMap<&str, String> = [
        ("newline", "\n".to_string()),
        ("beginning", String::new()),
        ("prefix", prepostfix.trim_end().to_string()),
        ("prefix_count", "1".to_string()),
        ("decoration", String::new()),
        ("postfix", prepostfix.trim_end().to_string()),
        ("postfix_count", "1".to_string()),
        ("end", String::new()),
    ]
    .into_iter()
    .collect();
    for (k, v) in &st {
        p.insert(k, v.to_string());
    }
    for k in [
        "newline",
        "beginning",
        "prefix",
        "prefix_count",
        "decoration",
        "postfix",
        "postfix_count",
        "end",
    ] {
        if let Some(v) = kw(k)? {
            p.insert(k, v);
        }
    }
    let count = |k: &str| p[k].trim().parse::<usize>().unwrap_or(1);
    let (nl, deco) = (p["newline"].clone(), p["decoration"].clone());
    let mut out = String::new();
    if !p["beginning"].is_empty() {
        out.push_str(&format!("{}{nl}", p["beginning"]));
    }
    if !p["prefix"].is_empty() {
        let one = if p["prefix"] != nl {
            format!("{}{nl}", p["prefix"])
        } else {
            nl.clone()
        };
        out.push_str(&one.repeat(count("prefix_count")));
    }
    let body = format!("{deco}{}", text.replace(&nl, &format!("{nl}{deco}")));
    out.push_str(&body.replace(&format!("{deco}{nl}"), &format!("{}{nl}", deco.trim_end())));
    for _ in 0..count("postfix_count") {
        out.push_str(&format!("{nl}{}", p["postfix"]));
    }
    if !p["end"].is_empty() {
        out.push_str(&format!("{nl}{}", p["end"]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut env = Environment::new();
        register(&mut env);
        env.render_str(src, ())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn styles_as_ansible_renders_them() {
        assert_eq!(
            render("{{ 'Ansible managed' | comment }}"),
            "#\n# Ansible managed\n#"
        );
        assert_eq!(render("{{ 'a\nb' | comment('c') }}"), "//\n// a\n// b\n//");
        assert_eq!(
            render("{{ 'x' | comment('cblock') }}"),
            "/*\n *\n * x\n *\n */"
        );
        assert_eq!(
            render("{{ 'x' | comment('xml') }}"),
            "<!--\n -\n - x\n -\n-->"
        );
        assert_eq!(render("{{ 'x' | comment(decoration='; ') }}"), ";\n; x\n;");
        assert!(render("{{ 'x' | comment('nope') }}").contains("Invalid style"));
    }
}
