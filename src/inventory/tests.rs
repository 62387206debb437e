//! Tests of the inventory as a whole: loading trees of files, host patterns, variable precedence,
//! `--list`/`--graph` output, and robustness against arbitrary input.

use super::*;
use serde_json::json;
use std::path::Path;

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn load_one(path: &Path) -> Inventory {
    match Inventory::load(&[path.display().to_string()]) {
        Ok(inv) => inv,
        Err(e) => panic!("{e}"),
    }
}

/// An inventory from INI text in a temporary directory.
fn ini(text: &str) -> (tempfile::TempDir, Inventory) {
    let t = tempfile::tempdir().unwrap();
    let p = write(t.path(), "hosts", text);
    let inv = load_one(&p);
    (t, inv)
}

const SAMPLE: &str = "\
lonely
[web]
web1
web2
web3
[db]
db1
db2
[lb]
web1
[prod:children]
web
db
[staging]
stage1
";

#[test]
fn implicit_groups_and_membership() {
    let (_t, inv) = ini(SAMPLE);
    // web and db are under prod, so only the other groups hang from `all`.
    assert_eq!(
        inv.group("all").unwrap().children,
        ["ungrouped", "lb", "prod", "staging"]
    );
    assert_eq!(inv.group("ungrouped").unwrap().hosts, ["lonely"]);
    assert_eq!(
        inv.hosts().map(|h| h.name.as_str()).collect::<Vec<_>>(),
        ["lonely", "web1", "web2", "web3", "db1", "db2", "stage1"]
    );
    assert_eq!(inv.group_names("web1"), ["lb", "prod", "web"]);
    assert_eq!(inv.group_names("lonely"), ["ungrouped"]);
    assert_eq!(inv.group("web").unwrap().depth, 2);
    assert_eq!(inv.group("prod").unwrap().depth, 1);
    // Ansible's order for `all`: its own hosts, then each level of the group tree in turn
    // (ungrouped, lb, prod, staging, then prod's children web and db).
    assert_eq!(
        inv.select("all"),
        ["lonely", "web1", "stage1", "web2", "web3", "db1", "db2"]
    );
    let groups = inv.groups_var();
    assert_eq!(
        groups["prod"],
        json!(["web1", "web2", "web3", "db1", "db2"])
    );
    assert_eq!(groups["ungrouped"], json!(["lonely"]));
    assert_eq!(groups["all"].as_array().unwrap().len(), 7);
}

#[test]
fn ungrouped_hosts_that_join_a_group_leave_ungrouped() {
    let (_t, inv) = ini("h1\nh2\n[g]\nh1\n");
    assert_eq!(inv.group("ungrouped").unwrap().hosts, ["h2"]);
    assert_eq!(inv.group_names("h1"), ["g"]);
}

#[test]
fn patterns() {
    let (_t, inv) = ini(SAMPLE);
    let s = |p: &str| inv.select(p);
    assert_eq!(s("all").len(), 7);
    assert_eq!(s("*").len(), 7);
    assert_eq!(s("web"), ["web1", "web2", "web3"]);
    assert_eq!(s("db1"), ["db1"]);
    assert_eq!(s("web*"), ["web1", "web2", "web3"]);
    assert_eq!(s("db?"), ["db1", "db2"]);
    assert_eq!(s("~(web|db)[12]"), ["web1", "web2", "db1", "db2"]);
    assert_eq!(s("web:db"), ["web1", "web2", "web3", "db1", "db2"]);
    assert_eq!(s("web,db"), s("web:db"));
    assert_eq!(s("prod:&lb"), ["web1"]);
    assert_eq!(s("prod:!web"), ["db1", "db2"]);
    assert_eq!(s("web[0]"), ["web1"]);
    assert_eq!(s("web[-1]"), ["web3"]);
    assert_eq!(s("web[1:2]"), ["web2", "web3"]);
    assert_eq!(s("web[1:]"), ["web2", "web3"]);
    assert_eq!(s("nothing"), Vec::<String>::new());
    assert!(inv
        .try_select("web[7]")
        .unwrap_err()
        .message
        .contains("subscripted"));
    assert!(inv
        .try_select("~(unclosed")
        .unwrap_err()
        .message
        .contains("Invalid host list pattern"));
    // Only exclusions: applied to `all`.
    assert_eq!(s("!prod").len(), 2);
}

#[test]
fn pattern_operators_apply_in_ansibles_order() {
    let (_t, inv) = ini(SAMPLE);
    // Exclusions come last even when written first, intersections after unions.
    assert_eq!(inv.select("!web1:prod"), ["web2", "web3", "db1", "db2"]);
    assert_eq!(inv.select("&lb:web:db"), ["web1"]);
    assert_eq!(inv.select("!db:&prod:web:db"), ["web1", "web2", "web3"]);
}

#[test]
fn implicit_localhost() {
    let (_t, inv) = ini(SAMPLE);
    assert_eq!(inv.select("localhost"), ["localhost"]);
    assert_eq!(inv.select("127.0.0.1"), ["127.0.0.1"]);
    assert!(!inv.select("all").contains(&"localhost".to_string()));
    let h = inv.host("localhost").unwrap();
    assert!(h.implicit);
    assert_eq!(h.vars["ansible_connection"], json!("local"));
    assert!(inv.group_names("localhost").is_empty());
    assert_eq!(
        inv.select("web:localhost"),
        ["web1", "web2", "web3", "localhost"]
    );

    // Listed in the inventory: the real host, and 127.0.0.1 resolves to it.
    let (_t, inv) = ini("[local]\nlocalhost ansible_connection=local\n");
    assert!(!inv.host("localhost").unwrap().implicit);
    assert_eq!(inv.select("127.0.0.1"), ["localhost"]);
    assert_eq!(inv.select("all"), ["localhost"]);
}

#[test]
fn limit() {
    let (t, inv) = ini(SAMPLE);
    let all = inv.select("all");
    assert_eq!(
        inv.limit(all.clone(), "web").unwrap(),
        ["web1", "web2", "web3"]
    );
    assert_eq!(inv.limit(all.clone(), "!web").unwrap().len(), 4);
    assert_eq!(inv.limit(all.clone(), "prod:&lb").unwrap(), ["web1"]);
    let f = write(t.path(), "limit.txt", "db1\n\nweb2\n");
    assert_eq!(
        inv.limit(all.clone(), &format!("@{}", f.display()))
            .unwrap(),
        ["web2", "db1"]
    );
    assert_eq!(
        inv.limit(vec!["localhost".into()], "").unwrap(),
        ["localhost"],
        "an empty limit limits nothing"
    );
    assert!(inv
        .limit(all, "@/nonexistent/file")
        .unwrap_err()
        .message
        .contains("Unable to find limit file"));
}

#[test]
fn host_lists() {
    let inv = Inventory::load(&["web1,web2:2222,".into()]).unwrap();
    assert_eq!(inv.select("all"), ["web1", "web2"]);
    assert_eq!(inv.host("web2").unwrap().vars["ansible_port"], json!(2222));
    assert_eq!(inv.group("ungrouped").unwrap().hosts, ["web1", "web2"]);
    let inv = Inventory::load(&["localhost,".into()]).unwrap();
    assert!(!inv.host("localhost").unwrap().implicit);
}

#[test]
fn missing_source_and_empty() {
    let e = Inventory::load(&["/no/such/inventory".into()]).unwrap_err();
    assert!(e.0[0].message.contains("does not exist"));
    let inv = Inventory::load(&[]).unwrap();
    assert!(inv.select("all").is_empty());
    assert_eq!(inv.select("localhost"), ["localhost"]);
    assert!(Inventory::empty().host("localhost").unwrap().implicit);
}

#[test]
fn yaml_inventory_file() {
    let t = tempfile::tempdir().unwrap();
    let p = write(
        t.path(),
        "inv.yml",
        "all:\n  hosts:\n    a1:\n  children:\n    web:\n      hosts:\n        w[1:2]:\n          http_port: 8080\n",
    );
    let inv = load_one(&p);
    assert_eq!(inv.select("all"), ["a1", "w1", "w2"]);
    assert_eq!(inv.group("ungrouped").unwrap().hosts, ["a1"]);
    assert_eq!(inv.host("w2").unwrap().vars["http_port"], json!(8080));
    assert_eq!(
        inv.host("w2").unwrap().vars["inventory_file"],
        json!(p.display().to_string())
    );
    assert_eq!(
        inv.host("w2").unwrap().vars["inventory_dir"],
        json!(t.path().display().to_string())
    );
}

#[test]
fn extensionless_files_are_sniffed() {
    let t = tempfile::tempdir().unwrap();
    let y = write(t.path(), "yaml_hosts", "all:\n  hosts:\n    y1:\n");
    let i = write(t.path(), "ini_hosts", "[g]\ni1\n");
    assert_eq!(load_one(&y).select("all"), ["y1"]);
    assert_eq!(load_one(&i).select("g"), ["i1"]);
}

#[test]
fn directory_sources_merge_in_order_and_skip_ignored_files() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("inventory");
    write(&d, "01-web.ini", "[web]\nweb1\n");
    write(&d, "02-db.yml", "db:\n  hosts:\n    db1:\n");
    write(&d, "03-more", "[web]\nweb2\n");
    write(&d, "hosts.bak", "[junk]\nj1\n");
    write(&d, "old~", "[junk]\nj2\n");
    write(&d, ".hidden", "[junk]\nj3\n");
    write(&d, "x.retry", "j4\n");
    write(&d, "notes.orig", "j5\n");
    write(&d, "group_vars/web.yml", "role: frontend\n");
    write(&d, "sub/04.ini", "[web]\nweb3\n");
    let inv = load_one(&d);
    assert_eq!(inv.select("all"), ["web1", "web2", "web3", "db1"]);
    assert!(inv.group("junk").is_none());
    assert_eq!(
        inv.host_vars("web3", None).unwrap()["role"],
        json!("frontend")
    );
}

#[test]
fn sources_merge_in_order() {
    let t = tempfile::tempdir().unwrap();
    let a = write(t.path(), "a/hosts", "[g]\nh1 x=1\n[g:vars]\nv=a\n");
    let b = write(
        t.path(),
        "b/hosts.yml",
        "g:\n  hosts:\n    h1:\n      x: 2\n    h2:\n  vars:\n    v: b\n",
    );
    let inv = Inventory::load(&[a.display().to_string(), b.display().to_string()]).unwrap();
    assert_eq!(inv.select("g"), ["h1", "h2"]);
    assert_eq!(inv.host_vars("h1", None).unwrap()["x"], json!(2));
    assert_eq!(inv.host_vars("h1", None).unwrap()["v"], json!("b"));
    // inventory_file is the first source that mentions the host.
    assert_eq!(
        inv.host("h1").unwrap().vars["inventory_file"],
        json!(a.display().to_string())
    );
}

#[test]
fn variable_precedence() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let inv_file = write(
        root,
        "inv/hosts",
        "[web]\nweb1 from_host_inline=inline p8=inline\n[prod:children]\nweb\n\
         [all:vars]\np1=all_inline\np2=all_inline\np3=all_inline\np4=all_inline\np5=all_inline\np6=all_inline\np7=all_inline\np8=all_inline\np9=all_inline\n\
         [prod:vars]\np2=prod_inline\np3=prod_inline\n\
         [web:vars]\np3=web_inline\np4=web_inline\n",
    );
    write(
        root,
        "inv/group_vars/all.yml",
        "p4: inv_gv_all\np5: inv_gv_all\np6: inv_gv_all\np7: inv_gv_all\n",
    );
    write(
        root,
        "inv/group_vars/prod.yml",
        "p6: inv_gv_prod\np7: inv_gv_prod\n",
    );
    write(
        root,
        "inv/group_vars/web.yml",
        "p7: inv_gv_web\np10: inv_gv_web\n",
    );
    write(
        root,
        "inv/host_vars/web1.yml",
        "p8: inv_hv\np9: inv_hv\np11: inv_hv\n",
    );
    write(
        root,
        "play/group_vars/all.yml",
        "p5: pb_gv_all\np6: pb_gv_all\np7: pb_gv_all\n",
    );
    write(root, "play/group_vars/web.yml", "p10: pb_gv_web\n");
    write(root, "play/host_vars/web1.yml", "p11: pb_hv\n");
    let inv = load_one(&inv_file);
    let v = inv.host_vars("web1", Some(&root.join("play"))).unwrap();
    assert_eq!(v["p1"], json!("all_inline"));
    assert_eq!(v["p2"], json!("prod_inline"), "parent group vars over all");
    assert_eq!(v["p3"], json!("web_inline"), "child group over parent");
    assert_eq!(
        v["p4"],
        json!("inv_gv_all"),
        "group_vars/all over inventory-file group vars"
    );
    assert_eq!(
        v["p5"],
        json!("pb_gv_all"),
        "playbook group_vars/all over inventory group_vars/all"
    );
    assert_eq!(
        v["p6"],
        json!("inv_gv_prod"),
        "group_vars/<group> over playbook group_vars/all"
    );
    assert_eq!(
        v["p7"],
        json!("inv_gv_web"),
        "deeper group_vars/<group> wins"
    );
    assert_eq!(v["p8"], json!("inv_hv"), "host_vars over inline host vars");
    assert_eq!(v["p9"], json!("inv_hv"));
    assert_eq!(
        v["p10"],
        json!("pb_gv_web"),
        "playbook group_vars over inventory group_vars"
    );
    assert_eq!(v["p11"], json!("pb_hv"), "playbook host_vars win");
    assert_eq!(v["from_host_inline"], json!("inline"));
    // Without a playbook dir.
    let v = inv.host_vars("web1", None).unwrap();
    assert_eq!(v["p5"], json!("inv_gv_all"));
    assert_eq!(v["p11"], json!("inv_hv"));
    // Implicit localhost gets `all` vars and its host_vars, keeps ansible_connection.
    write(root, "inv/host_vars/localhost.yml", "lh: yes\n");
    let inv = load_one(&inv_file);
    let v = inv.host_vars("localhost", None).unwrap();
    assert_eq!(v["p1"], json!("all_inline"));
    assert_eq!(v["p4"], json!("inv_gv_all"));
    assert_eq!(v["lh"], json!(true));
    assert_eq!(v["ansible_connection"], json!("local"));
    assert_eq!(v["p3"], json!("all_inline"), "no group vars but all's");
}

#[test]
fn playbook_dir_errors_carry_spans_and_are_cached() {
    let t = tempfile::tempdir().unwrap();
    let inv_file = write(t.path(), "hosts", "[web]\nweb1\n");
    write(t.path(), "play/group_vars/web.yml", "a: 1\n  b: 2\n");
    let inv = load_one(&inv_file);
    let e = inv
        .host_vars("web1", Some(&t.path().join("play")))
        .unwrap_err();
    assert!(e.0[0]
        .span
        .as_ref()
        .unwrap()
        .location()
        .contains("web.yml:"));
    assert!(inv.host_vars("web1", Some(&t.path().join("play"))).is_err());
    assert!(inv.host_vars("web1", None).is_ok());
}

#[test]
fn inventory_dir_vars_errors_fail_load() {
    let t = tempfile::tempdir().unwrap();
    let inv_file = write(t.path(), "hosts", "[web]\nweb1\n");
    write(t.path(), "group_vars/web.yml", "[1, 2]\n");
    let e = Inventory::load(&[inv_file.display().to_string()]).unwrap_err();
    assert!(
        e.0[0].message.contains("must contain a mapping"),
        "{}",
        e.0[0].message
    );
}

#[test]
fn group_priority_orders_groups_of_the_same_depth() {
    let (_t, inv) = ini("[a]\nh\n[b]\nh\n[a:vars]\nx=a\n[b:vars]\nx=b\n");
    assert_eq!(
        inv.host_vars("h", None).unwrap()["x"],
        json!("b"),
        "same depth: by name, b last"
    );
    let (_t, inv) =
        ini("[a]\nh\n[b]\nh\n[a:vars]\nx=a\nansible_group_priority=10\n[b:vars]\nx=b\n");
    assert_eq!(
        inv.host_vars("h", None).unwrap()["x"],
        json!("a"),
        "higher priority wins"
    );
    assert!(!inv
        .host_vars("h", None)
        .unwrap()
        .contains_key("ansible_group_priority"));
    // Depth beats priority.
    let (_t, inv) =
        ini("[parent:children]\nkid\n[kid]\nh\n[parent:vars]\nx=parent\nansible_group_priority=99\n[kid:vars]\nx=kid\n");
    assert_eq!(inv.host_vars("h", None).unwrap()["x"], json!("kid"));
}

#[test]
fn list_json_shape() {
    let t = tempfile::tempdir().unwrap();
    let p = write(
        t.path(),
        "hosts",
        "[web]\nweb1 http_port=80\nweb2\n[db]\n[prod:children]\nweb\ndb\n[prod:vars]\nenv=prod\n[web:vars]\nansible_group_priority=3\n",
    );
    write(t.path(), "host_vars/web2.yml", "role: x\n");
    let inv = load_one(&p);
    let j = inv.to_list_json();
    assert_eq!(
        j,
        json!({
            "_meta": {"hostvars": {
                "web1": {"env": "prod", "http_port": 80},
                "web2": {"env": "prod", "role": "x"},
            }},
            "all": {"children": ["ungrouped", "prod"]},
            "prod": {"children": ["web", "db"]},
            "web": {"hosts": ["web1", "web2"]},
        })
    );
    let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["_meta", "all", "prod", "web"],
        "keys are sorted like json.dumps(sort_keys=True)"
    );
    let e = inv.to_list_json_export();
    assert_eq!(e["prod"]["vars"], json!({"env": "prod"}));
    assert_eq!(e["web"]["vars"], json!({"ansible_group_priority": 3}));
    assert_eq!(e["_meta"]["hostvars"]["web1"], json!({"http_port": 80}));
    assert_eq!(e["_meta"]["hostvars"]["web2"], json!({"role": "x"}));
}

#[test]
fn graph() {
    let (_t, inv) = ini("top\n[web]\nweb1\nweb2\n[db]\ndb1\n[prod:children]\nweb\n");
    assert_eq!(
        inv.to_graph(None),
        "@all:\n  |--@ungrouped:\n  |  |--top\n  |--@db:\n  |  |--db1\n  |--@prod:\n  |  |--@web:\n  |  |  |--web1\n  |  |  |--web2\n"
    );
    assert_eq!(
        inv.to_graph(Some("prod")),
        "@prod:\n  |--@web:\n  |  |--web1\n  |  |--web2\n"
    );
    assert_eq!(inv.to_graph(Some("nope")), "");
    let (_t, inv) = ini("[web]\nweb1\n");
    assert_eq!(
        inv.to_graph(None),
        "@all:\n  |--@ungrouped:\n  |--@web:\n  |  |--web1\n"
    );
}

#[test]
fn errors_carry_file_line_and_column() {
    let t = tempfile::tempdir().unwrap();
    let p = write(t.path(), "hosts.ini", "[web]\nok1\nweb[01:x]\n[g:foo]\n");
    let e = Inventory::load(&[p.display().to_string()]).unwrap_err();
    assert_eq!(e.0.len(), 2);
    let s = e.0[0].span.as_ref().unwrap();
    assert_eq!(s.location(), format!("{}:3:4", p.display()));
    let s = e.0[1].span.as_ref().unwrap();
    assert_eq!(s.location(), format!("{}:4:4", p.display()));
    let rendered = e.to_string();
    assert!(
        rendered.contains("web[01:x]") && rendered.contains("^^^^^^"),
        "{rendered}"
    );
}

#[test]
fn inventory_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Inventory>();
}

mod robustness {
    use super::super::builder::Builder;
    use super::super::{ini, literal, yaml_format};
    use crate::diagnostics::Diagnostics;
    use crate::source::SourceFile;
    use proptest::prelude::*;

    fn parse_ini(text: &str) {
        let file = SourceFile::new("fuzz.ini", text);
        let mut b = Builder::new();
        let mut d = Diagnostics::default();
        ini::parse(&file, &mut b, &mut d);
        for diag in &d.0 {
            let _ = diag.to_string();
        }
        b.finish();
    }

    fn parse_yaml(text: &str) {
        let file = SourceFile::new("fuzz.yml", text);
        if let Ok(root) = crate::yaml::load(&file) {
            let mut b = Builder::new();
            let mut d = Diagnostics::default();
            yaml_format::parse(&root, &mut b, &mut d);
            for diag in &d.0 {
                let _ = diag.to_string();
            }
            b.finish();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn ini_parser_never_panics(text in "(\\PC|\n|\\[|\\]|:|=|'|\"|#|;|,)*") {
            parse_ini(&text);
        }

        #[test]
        fn ini_like_lines_never_panic(lines in prop::collection::vec(
            "(\\[[a-z:!]{0,6}\\]|[a-z\\[\\]0-9:.-]{1,12}( [a-z]{1,3}=[\"'a-z0-9\\[\\](){}:,.\\\\ ]{0,10})*|[a-z]{1,3}=.{0,10}|#.*)",
            0..12,
        )) {
            parse_ini(&lines.join("\n"));
        }

        #[test]
        fn yaml_parser_never_panics(text in "(\\PC|\n|  |- |: |\\[|\\]|\\{|\\})*") {
            parse_yaml(&text);
        }

        #[test]
        fn yaml_like_documents_never_panic(lines in prop::collection::vec(
            "( {0,8})(all|hosts|vars|children|web|h\\[1:3\\]|x|plugin)?:( (\\[\\]|\\{\\}|[a-z0-9\\[\\]:]{0,6}|- a))?",
            0..12,
        )) {
            parse_yaml(&lines.join("\n"));
        }

        #[test]
        fn literal_eval_never_panics(text in "\\PC*") {
            let _ = literal::parse_value(&text);
        }

        #[test]
        fn literal_like_text_never_panics(text in "[-+0-9a-zA-Z_.'\"\\\\()\\[\\]{}:,# xjJeE]{0,24}") {
            let _ = literal::parse_value(&text);
        }
    }
}
