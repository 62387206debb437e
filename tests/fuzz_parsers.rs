//! Property tests: the YAML loader and the playbook loader never panic, whatever the input, and
//! always answer with either a value or a positioned error. (The inventory parsers have their
//! own property tests next to them.)

use converge::playbook::load_playbooks;
use converge::source::SourceFile;
use converge::template::Templater;
use proptest::prelude::*;

/// Fragments that make random input look like playbooks, so the fuzzer gets past the YAML layer.
fn playbookish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "- hosts: all\n",
        "  tasks:\n",
        "    - name: x\n",
        "      copy:\n",
        "        dest: /tmp/x\n",
        "      when: a == 1\n",
        "      loop: [1, 2]\n",
        "    - block:\n",
        "      rescue:\n",
        "      debug: msg={{ x }}\n",
        "  roles: [r]\n",
        "  vars: {a: 1}\n",
        "&a [1]\n",
        "*a\n",
        "{{ broken\n",
        "  - - -\n",
        ": :\n",
        "\t\n",
        "'\n",
        "\"\n",
        "---\n",
        "- import_playbook: x.yml\n",
        "    - include_tasks: t.yml\n",
        "      notify: h\n",
        "  handlers:\n",
        "<<: *a\n",
    ]);
    prop::collection::vec(atoms, 0..30).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn yaml_loader_never_panics(s in "\\PC{0,200}") {
        let _ = converge::yaml::load_all(&SourceFile::new("fuzz.yml", s));
    }

    #[test]
    fn playbook_loader_never_panics(s in playbookish()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pb.yml");
        std::fs::write(&path, &s).unwrap();
        let templater = Templater::new();
        if let Err(diags) = load_playbooks(&[path], &templater) {
            // Every error says something and renders without panicking.
            prop_assert!(!diags.0.is_empty());
            let _ = diags.to_string();
        }
    }
}

#[test]
fn huge_files_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yml");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(100 * 1024 * 1024).unwrap();
    let err = converge::yaml::load_path(&path).unwrap_err();
    assert!(
        err.message.contains("refuses input files over"),
        "{}",
        err.message
    );
}
