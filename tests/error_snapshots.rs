//! What a user sees for bad input, exactly (insta snapshots): each error names the file, line
//! and column, shows the line with a caret, and gives a hint where one helps; all errors of a
//! pass are reported together and no host is touched.

mod common;
use common::*;

fn errors_for(playbook: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let pb = tmp.path().join("site.yml");
    std::fs::write(&pb, playbook).unwrap();
    let r = converge(&["site.yml", "-i", "localhost,"], tmp.path());
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty());
    r.stderr.replace(&tmp.path().display().to_string(), "TMP")
}

#[test]
fn several_mistakes_in_one_playbook() {
    insta::assert_snapshot!(errors_for(
        "- hosts: all\n  gather_fact: false\n  tasks:\n    - name: typo in a module\n      coppy: dest=/tmp/x content=y\n    - name: typo in an argument\n      file:\n        path: /tmp/x\n        stat: directory\n    - name: broken template\n      debug:\n        msg: \"{{ name | upper }\"\n    - name: bad condition\n      debug: msg=x\n      when: a = 1\n"
    ));
}

#[test]
fn yaml_syntax_error() {
    insta::assert_snapshot!(errors_for(
        "- hosts: all\n  tasks:\n    - debug: {msg: [unclosed}\n"
    ));
}

#[test]
fn wrong_value_type() {
    insta::assert_snapshot!(errors_for(
        "- hosts: all\n  tasks:\n    - file:\n        path: /tmp/x\n        state: folder\n"
    ));
}
