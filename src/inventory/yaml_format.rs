//! YAML inventories, parsed like Ansible's `yaml` plugin: top-level keys are groups (usually
//! `all`), each a mapping of `hosts`, `children` and `vars`; host keys may be ranges and may carry
//! `:port`; host values are their variables (or empty). What Ansible rejects is an error with a
//! position here; what Ansible only warns about (unknown keys, groups that are not mappings)
//! becomes a warning.

use super::builder::Builder;
use super::ranges;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::yaml::{Node, Yaml};

/// Parse the document of a YAML inventory file into `b`.
pub fn parse(root: &Node, b: &mut Builder, diags: &mut Diagnostics) {
    match &root.value {
        Yaml::Map(_) => {}
        Yaml::Null => {
            diags.push(
                Diagnostic::at(&root.span, "Parsed empty YAML file").with_hint(
                    "a YAML inventory starts with a group, e.g. `all:` with `hosts:` under it",
                ),
            );
            return;
        }
        _ => {
            diags.push(
                Diagnostic::at(
                    &root.span,
                    format!("YAML inventory has invalid structure, it should be a dictionary, got: {}", root.kind_name()),
                )
                .with_hint("a YAML inventory is a mapping of group names, e.g. `all:` with `hosts:` and `children:` under it"),
            );
            return;
        }
    }
    if let Some(plugin) = root.get("plugin") {
        if truthy(plugin) {
            diags.push(
                Diagnostic::at(&plugin.span, "Plugin configuration YAML file, not YAML inventory")
                    .with_hint("converge reads static INI and YAML inventories; inventory plugins are not supported"),
            );
            return;
        }
    }
    let entries = match root.string_keys("a YAML inventory") {
        Ok(e) => e,
        Err(d) => {
            diags.push(d);
            return;
        }
    };
    for (name, key, value) in entries {
        parse_group(&name, key, value, b, diags);
    }
}

/// Python truthiness of a YAML value.
fn truthy(n: &Node) -> bool {
    match &n.value {
        Yaml::Null => false,
        Yaml::Bool(b) => *b,
        Yaml::Int(i) => *i != 0,
        Yaml::Float(f) => *f != 0.0,
        Yaml::Str(s) => !s.is_empty(),
        Yaml::Seq(s) => !s.is_empty(),
        Yaml::Map(m) => !m.is_empty(),
    }
}

fn is_map_or_null(n: &Node) -> bool {
    matches!(n.value, Yaml::Map(_) | Yaml::Null)
}

/// `_parse_group`: returns whether the group now exists (so a parent may link it).
fn parse_group(
    name: &str,
    key: &Node,
    data: &Node,
    b: &mut Builder,
    diags: &mut Diagnostics,
) -> bool {
    if !is_map_or_null(data) {
        b.warnings.push(
            Diagnostic::at(
                &data.span,
                format!("Skipping '{name}' as this is not a valid group definition"),
            )
            .with_hint("a group is a mapping with `hosts:`, `children:` and/or `vars:`"),
        );
        return b.has_group(name);
    }
    if let Err(m) = b.add_group(name) {
        diags.push(Diagnostic::at(
            &key.span,
            format!("Unable to add group {name}: {m}"),
        ));
        return false;
    }
    let Yaml::Map(entries) = &data.value else {
        return true; // `group:` with nothing under it
    };

    // Ansible checks the three sections before reading any of them.
    let mut ok = true;
    for (k, v) in entries {
        let Some(section) = k
            .as_str()
            .filter(|s| matches!(*s, "vars" | "children" | "hosts"))
        else {
            continue;
        };
        if !(is_map_or_null(v) || matches!(v.value, Yaml::Str(_))) {
            let how = match section {
                "hosts" => {
                    "one `web1:` line per host (a colon, no dash), its variables indented under it"
                }
                "children" => "one `webservers:` line per child group (a colon, no dash)",
                _ => "names and values such as `http_port: 80`",
            };
            let hint = format!(
                "write `{section}:` as a mapping, not {}: {how}",
                v.kind_name()
            );
            diags.push(
                Diagnostic::at(
                    &v.span,
                    format!(
                        "Invalid \"{section}\" entry for \"{name}\" group, requires a dictionary, found {} instead.",
                        v.kind_name()
                    ),
                )
                .with_hint(hint),
            );
            ok = false;
        }
    }
    if !ok {
        return true;
    }

    for (k, v) in entries {
        let Some(kname) = k.scalar_text() else {
            diags.push(Diagnostic::at(
                &k.span,
                format!("keys of group \"{name}\" must be strings"),
            ));
            continue;
        };
        if !(is_map_or_null(v)
            || (matches!(v.value, Yaml::Str(_))
                && matches!(kname.as_str(), "vars" | "children" | "hosts")))
        {
            b.warnings.push(Diagnostic::at(
                &k.span,
                format!(
                    "Skipping key ({kname}) in group ({name}) as it is not a mapping, it is {}",
                    v.kind_name()
                ),
            ));
            continue;
        }
        if v.is_null() {
            continue;
        }
        match kname.as_str() {
            "vars" => each_entry(v, "vars", diags, |var, _k, val, diags| {
                if let Err(m) = b.set_group_var(name, var, val.to_json()) {
                    diags.push(Diagnostic::at(&val.span, m));
                }
            }),
            "children" => each_entry(v, "children", diags, |sub, sk, sv, diags| {
                if sub == "all" {
                    diags.push(
                        Diagnostic::at(&sk.span, format!("Adding group 'all' as child to '{name}' creates a recursive dependency loop."))
                            .with_hint("every group is already a child of `all`"),
                    );
                    return;
                }
                let exists = parse_group(sub, sk, sv, b, diags);
                if !exists {
                    diags.push(
                        Diagnostic::at(&sv.span, format!("{sub} is not a known host nor group"))
                            .with_hint(format!("define `{sub}` as a mapping (with `hosts:`, `children:` or `vars:`) or leave its value empty")),
                    );
                    return;
                }
                if let Err(m) = b.add_child(name, sub) {
                    diags.push(Diagnostic::at(&sk.span, m));
                }
            }),
            "hosts" => each_entry(v, "hosts", diags, |pattern, hk, hv, diags| {
                host_entry(name, pattern, hk, hv, b, diags);
            }),
            other => b.warnings.push(Diagnostic::at(
                &k.span,
                format!("Skipping unexpected key ({other}) in group ({name}), only \"vars\", \"children\" and \"hosts\" are valid"),
            )),
        }
    }
    true
}

/// Each `key: value` of a section; a plain string stands for `{string: null}` (as in Ansible).
fn each_entry(
    section: &Node,
    what: &str,
    diags: &mut Diagnostics,
    mut f: impl FnMut(&str, &Node, &Node, &mut Diagnostics),
) {
    if let Yaml::Str(s) = &section.value {
        let null = Node {
            value: Yaml::Null,
            span: section.span.clone(),
        };
        f(s, section, &null, diags);
        return;
    }
    match section.string_keys(what) {
        Ok(entries) => {
            for (k, kn, vn) in entries {
                f(&k, kn, vn, diags);
            }
        }
        Err(d) => diags.push(d),
    }
}

fn host_entry(
    group: &str,
    pattern: &str,
    key: &Node,
    value: &Node,
    b: &mut Builder,
    diags: &mut Diagnostics,
) {
    let (hosts, port) = match ranges::expand_hostpattern(pattern) {
        Ok(x) => x,
        Err(e) => {
            // Place the error inside the key when it is written plainly.
            let quoted = key.span.text().starts_with(['"', '\'']);
            let base = key.span.start + usize::from(quoted);
            let start = (base + e.start).min(key.span.end);
            let end = (base + e.end).min(key.span.end).max(start);
            let span = crate::source::Span::new(&key.span.file, start, end);
            diags.push(Diagnostic::at(&span, e.message).with_hint_opt(e.hint));
            return;
        }
    };
    let vars = if truthy(value) {
        match value.string_keys("host variables") {
            Ok(v) if matches!(value.value, Yaml::Map(_)) => v,
            _ => {
                diags.push(
                    Diagnostic::at(
                        &value.span,
                        format!("Invalid data from file, expected dictionary and got: {}", value.kind_name()),
                    )
                    .with_hint(format!(
                        "the value of a host is a mapping of its variables, e.g. `{pattern}:\\n  ansible_host: 10.0.0.5`, or empty"
                    )),
                );
                return;
            }
        }
    } else {
        Vec::new()
    };
    for h in &hosts {
        if let Err(m) = b.add_host(h, Some(group), port) {
            diags.push(Diagnostic::at(&key.span, m));
            return;
        }
        for (k, _, v) in &vars {
            b.set_host_var(h, k, v.to_json());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use serde_json::json;

    fn load(text: &str) -> Result<Builder, Diagnostics> {
        let file = SourceFile::new("inv.yml", text);
        let root = crate::yaml::load(&file).map_err(Diagnostics::from)?;
        let mut b = Builder::new();
        let mut d = Diagnostics::default();
        parse(&root, &mut b, &mut d);
        d.finish(b)
    }

    #[test]
    fn groups_hosts_vars() {
        let b = load(
            "all:\n  hosts:\n    h1:\n    h2:\n      ansible_port: 2222\n  vars:\n    ntp: pool.ntp.org\n  children:\n    web:\n      hosts:\n        web[1:2].example.com:\n      vars:\n        http_port: 80\n    db:\n      hosts: db1\nother:\n  hosts:\n    o1:2200:\n",
        )
        .unwrap();
        assert_eq!(b.groups["all"].hosts, ["h1", "h2"]);
        assert_eq!(b.groups["all"].vars["ntp"], json!("pool.ntp.org"));
        assert_eq!(b.groups["all"].children, ["ungrouped", "web", "db"]);
        assert_eq!(
            b.groups["web"].hosts,
            ["web1.example.com", "web2.example.com"]
        );
        assert_eq!(b.groups["web"].vars["http_port"], json!(80));
        assert_eq!(b.groups["db"].hosts, ["db1"]);
        assert_eq!(b.hosts["h2"].vars["ansible_port"], json!(2222));
        assert_eq!(b.hosts["o1"].vars["ansible_port"], json!(2200));
    }

    #[test]
    fn hosts_as_a_list_is_an_error_with_a_hint() {
        let e = load("all:\n  children:\n    web:\n      hosts:\n        - web1\n        - web2\n")
            .unwrap_err();
        let d = &e.0[0];
        assert!(
            d.message
                .contains("Invalid \"hosts\" entry for \"web\" group"),
            "{}",
            d.message
        );
        let s = d.span.as_ref().unwrap();
        assert_eq!((s.line, s.col), (5, 9));
        assert!(d.hint.as_ref().unwrap().contains("mapping"));
    }

    #[test]
    fn structure_errors_and_warnings() {
        assert!(load("").unwrap_err().0[0].message.contains("empty"));
        assert!(load("- a\n- b\n").unwrap_err().0[0]
            .message
            .contains("should be a dictionary"));
        assert!(load("plugin: aws_ec2\n").unwrap_err().0[0]
            .message
            .contains("Plugin configuration"));
        let e = load("all:\n  hosts:\n    h1: just-a-string\n").unwrap_err();
        assert!(
            e.0[0].message.contains("expected dictionary"),
            "{}",
            e.0[0].message
        );
        let e = load("all:\n  hosts:\n    web[01:x]:\n").unwrap_err();
        let s = e.0[0].span.as_ref().unwrap();
        assert_eq!((s.line, s.col), (3, 8));
        let b = load("all:\n  hots:\n    h1:\nweird: [1]\n").unwrap();
        assert_eq!(b.warnings.len(), 2);
        let e = load("all:\n  children:\n    web: [a]\n").unwrap_err();
        assert!(
            e.0[0].message.contains("not a known host nor group"),
            "{}",
            e.0[0].message
        );
        let e = load("a:\n  children:\n    b:\n      children:\n        a:\n").unwrap_err();
        assert!(
            e.0[0].message.contains("recursive dependency loop"),
            "{}",
            e.0[0].message
        );
    }

    #[test]
    fn group_priority_and_string_sections() {
        let b = load("g:\n  vars:\n    ansible_group_priority: 5\n  hosts: lonely\n").unwrap();
        assert_eq!(b.groups["g"].priority, 5);
        assert_eq!(b.groups["g"].hosts, ["lonely"]);
    }
}
