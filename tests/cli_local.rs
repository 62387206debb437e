//! End-to-end runs of the example playbooks on the local connection: first run changes, second
//! run reports `changed=0`, check mode changes nothing on disk, and bad input is refused before
//! any host is touched.

mod common;
use common::*;

fn demo_args(root: &str) -> Vec<String> {
    vec![
        "playbooks/site.yml".into(),
        "-i".into(),
        "inventory/local.ini".into(),
        "-e".into(),
        format!("demo_root={root}"),
    ]
}

#[test]
fn example_playbook_converges_then_is_idempotent_and_check_mode_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("demo");
    let root_s = root.display().to_string();
    let repo = repo();
    let args = demo_args(&root_s);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();

    // Check mode on an empty tree: reports changes, writes nothing.
    let mut check = argv.clone();
    check.extend(["--check", "--diff"]);
    let r = converge(&check, &repo);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.changed("localhost") > 0, "{}", r.stdout);
    assert!(!root.exists(), "check mode created {root_s}");
    assert!(
        r.stdout.contains("+++ after:"),
        "a diff is shown: {}",
        r.stdout
    );

    // The real run changes what check mode said it would.
    let r = converge(&argv, &repo);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let first_changed = r.changed("localhost");
    assert!(first_changed > 0);
    let conf = std::fs::read_to_string(root.join("nginx/conf.d/demo.local.conf")).unwrap();
    assert!(conf.contains("server 127.0.0.1:5000;"), "{conf}");
    assert!(root.join("nginx/.reloaded").exists(), "the handler ran");
    let settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("app/settings.json")).unwrap())
            .unwrap();
    assert_eq!(settings["env"], "staging");
    assert_eq!(settings["workers"], 4);

    // Second run: nothing to do.
    let before = tree_hash(&root);
    let r = converge(&argv, &repo);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.changed("localhost"),
        0,
        "second run must be changed=0:\n{}",
        r.stdout
    );
    assert_eq!(before, tree_hash(&root));

    // A hand edit is found by check mode (and only reported), then put back.
    std::fs::write(root.join("app/motd.txt"), "edited by hand\n").unwrap();
    let edited = tree_hash(&root);
    let r = converge(&check, &repo);
    assert_eq!(r.changed("localhost"), 1, "{}", r.stdout);
    assert!(r.stdout.contains("-edited by hand"), "{}", r.stdout);
    assert_eq!(edited, tree_hash(&root), "check mode changed the tree");
    let r = converge(&argv, &repo);
    assert_eq!(r.changed("localhost"), 1, "{}", r.stdout);
    assert_eq!(before, tree_hash(&root));
}

#[test]
fn bad_input_is_refused_with_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let pb = tmp.path().join("bad.yml");
    std::fs::write(
        &pb,
        "- hosts: localhost\n  tasks:\n    - name: typo in an argument\n      copy:\n        dest: /tmp/x\n        contnet: hello\n",
    )
    .unwrap();
    let r = converge(&[pb.to_str().unwrap(), "-i", "localhost,"], tmp.path());
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("bad.yml:6:9"), "{}", r.stderr);
    assert!(r.stderr.contains("did you mean `content`?"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "nothing ran: {}", r.stdout);
}

#[test]
fn unknown_module_gets_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let pb = tmp.path().join("bad.yml");
    std::fs::write(
        &pb,
        "- hosts: localhost\n  tasks:\n    - coppy:\n        dest: /tmp/x\n",
    )
    .unwrap();
    let r = converge(&[pb.to_str().unwrap(), "-i", "localhost,"], tmp.path());
    assert_eq!(r.code, 4);
    assert!(r.stderr.contains("bad.yml:3:7"), "{}", r.stderr);
    assert!(r.stderr.contains("did you mean `copy`?"), "{}", r.stderr);
}

#[test]
fn template_syntax_error_points_into_the_template_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("templates")).unwrap();
    std::fs::write(
        tmp.path().join("templates/t.j2"),
        "line one\n{{ broken( }}\n",
    )
    .unwrap();
    let pb = tmp.path().join("pb.yml");
    std::fs::write(&pb, "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - template: src=t.j2 dest=/tmp/never\n").unwrap();
    let r = converge(&[pb.to_str().unwrap(), "-i", "localhost,"], tmp.path());
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("t.j2:2:"), "{}", r.stderr);
}

#[test]
fn exit_codes_for_failed_hosts_and_bad_options() {
    let tmp = tempfile::tempdir().unwrap();
    let pb = tmp.path().join("fail.yml");
    std::fs::write(
        &pb,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - fail: msg=boom\n",
    )
    .unwrap();
    let r = converge(&[pb.to_str().unwrap(), "-i", "localhost,"], tmp.path());
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stdout.contains("fatal: [localhost]: FAILED!"),
        "{}",
        r.stdout
    );
    let r = converge(&[pb.to_str().unwrap(), "--no-such-flag"], tmp.path());
    assert_eq!(r.code, 5);
}

#[test]
fn inventory_graph_and_list() {
    let repo = repo();
    let r = converge(
        &["inventory", "-i", "inventory/local.ini", "--graph"],
        &repo,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("@local:"), "{}", r.stdout);
    assert!(r.stdout.contains("localhost"), "{}", r.stdout);
    let r = converge(&["inventory", "-i", "inventory/local.ini", "--list"], &repo);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["_meta"]["hostvars"]["localhost"]["demo_env"], "staging");
    assert_eq!(
        v["_meta"]["hostvars"]["localhost"]["demo_root"],
        "/tmp/converge-demo"
    );
}

/// `group_by` and `add_host` change the inventory for the plays after them, as in Ansible.
#[test]
fn group_by_and_add_host_feed_later_plays() {
    let tmp = tempfile::tempdir().unwrap();
    let play = "- hosts: all\n  gather_facts: false\n  tasks:\n    - group_by:\n        key: \"os {{ 'debian' }}\"\n      register: g\n    - assert: {that: g is changed}\n    - add_host: {name: extra1, groups: added, ansible_connection: local, color: blue}\n\
- hosts: os-debian\n  gather_facts: false\n  tasks:\n    - debug: msg=\"in {{ group_names | join(',') }}\"\n\
- hosts: added\n  gather_facts: false\n  tasks:\n    - debug: msg=\"{{ color }} {{ groups['added'] | join(',') }}\"\n";
    std::fs::write(tmp.path().join("p.yml"), play).unwrap();
    std::fs::write(
        tmp.path().join("inv"),
        "localhost ansible_connection=local\n",
    )
    .unwrap();
    let r = converge(&["p.yml", "-i", "inv", "--no-history"], tmp.path());
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("\"msg\": \"in os-debian,ungrouped\""),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("ok: [extra1]"), "{}", r.stdout);
    assert!(
        r.stdout.contains("\"msg\": \"blue extra1\""),
        "{}",
        r.stdout
    );
}

/// `async` with `poll: 0` leaves a shell command running on the host and goes on; with a poll
/// above 0 the task is waited for.
#[test]
fn async_poll_zero_detaches_and_poll_waits() {
    let tmp = tempfile::tempdir().unwrap();
    let done = tmp.path().join("done");
    let play = format!(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - shell: sleep 2 && touch {d}\n      async: 10\n      poll: 0\n      register: job\n    - assert: {{that: [job.started == 1, job.finished == 0, job is changed]}}\n    - stat: {{path: {d}}}\n      register: early\n    - assert: {{that: not early.stat.exists}}\n    - wait_for: {{path: {d}, timeout: 20}}\n    - command: echo hi\n      async: 10\n      poll: 1\n      register: waited\n    - assert: {{that: waited.stdout == 'hi'}}\n",
        d = done.display()
    );
    std::fs::write(tmp.path().join("p.yml"), play).unwrap();
    std::fs::write(
        tmp.path().join("inv"),
        "localhost ansible_connection=local\n",
    )
    .unwrap();
    let r = converge(&["p.yml", "-i", "inv", "--no-history"], tmp.path());
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(done.exists(), "the detached command ran");
}

/// A template file that reads `hostvars` (a config listing every host) gets it, though the task
/// itself does not name it.
#[test]
fn template_file_reads_hostvars() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("templates")).unwrap();
    std::fs::write(
        tmp.path().join("templates/hosts.j2"),
        "{% for h in groups['all'] %}{{ h }}={{ hostvars[h].color }}\n{% endfor %}",
    )
    .unwrap();
    let out = tmp.path().join("hosts.out");
    let play = format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - template: {{src: hosts.j2, dest: {}}}\n",
        out.display()
    );
    std::fs::write(tmp.path().join("p.yml"), play).unwrap();
    std::fs::write(
        tmp.path().join("inv"),
        "localhost ansible_connection=local color=red\n",
    )
    .unwrap();
    let r = converge(&["p.yml", "-i", "inv", "--no-history"], tmp.path());
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "localhost=red\n");
}
