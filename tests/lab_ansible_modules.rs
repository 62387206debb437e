//! Modules converge has no native version of run as Ansible's own, on real lab hosts over SSH
//! (`src/ansible_modules/`, `docs/ansible-modules.md`): community.general.ini_file,
//! ansible.builtin.cron, ansible.builtin.known_hosts, ansible.posix.authorized_key,
//! community.general.timezone, a module from a role's `library/` (with become, environment,
//! register and facts) and one without check mode support. Each: a check run with `--diff`
//! changes nothing on the host, an applying run with `--diff` does, a second one changes
//! nothing. Fixtures in `tests/lab_playbooks/ansible_modules/`. Needs the lab (`CONVERGE_LAB`,
//! with Ansible's collections in the peers virtualenv: `tests/setup.sh`); fails without it.
//! The load-time checks at the end need no lab.

mod common;
use common::lab::Lab;
use common::*;

const DIR: &str = "tests/lab_playbooks/ansible_modules";

/// One module's case on `host`: `reset` (shell) puts the host back before the change;
/// `unchanged` (shell) must hold after the check run and `applied` after the real one; `diff` is
/// a line of the diff both runs print.
struct Case<'a> {
    playbook: &'a str,
    host: &'a str,
    reset: &'a str,
    unchanged: &'a str,
    applied: &'a str,
    diff: &'a str,
}

fn converge_case(lab: &Lab, c: &Case) {
    lab.sh(c.host, c.reset);
    let inv = lab.inventory(&format!("{}.ini", c.playbook), "lab", &[c.host], &[]);
    let inv = inv.to_str().expect("utf-8 path");
    let pb = format!("{DIR}/{}.yml", c.playbook);
    let run = |extra: &[&str]| {
        let mut args = vec![pb.as_str(), "-i", inv];
        args.extend_from_slice(extra);
        lab.converge(&args, &[]).ok()
    };
    let check = run(&["--check", "--diff", "-v"]);
    assert!(check.changed(c.host) >= 1, "check run:\n{}", check.text());
    assert!(
        check.stdout.contains(c.diff),
        "no `{}` in:\n{}",
        c.diff,
        check.text()
    );
    assert!(
        check.stdout.contains("Ansible module"),
        "-v names the path:\n{}",
        check.text()
    );
    lab.sh(c.host, c.unchanged);
    let apply = run(&["--diff"]);
    assert!(apply.changed(c.host) >= 1, "apply:\n{}", apply.text());
    assert!(
        apply.stdout.contains(c.diff),
        "no `{}` in:\n{}",
        c.diff,
        apply.text()
    );
    lab.sh(c.host, c.applied);
    run(&[]).assert_no_change();
}

#[test]
fn community_general_ini_file() {
    converge_case(
        &Lab::open(false),
        &Case {
            playbook: "ini_file",
            host: "h1",
            reset: "rm -f /tmp/converge-test.ini",
            unchanged: "test ! -e /tmp/converge-test.ini",
            applied: "grep -qx 'color = blue' /tmp/converge-test.ini",
            diff: "+color = blue",
        },
    );
}

#[test]
fn ansible_builtin_cron_file() {
    let lab = Lab::open(false);
    // The module needs `crontab` even for /etc/cron.d files; minbase hosts have no cron.
    lab.sh(
        "h1",
        "command -v crontab >/dev/null || { timeout 120 apt-get update -qq && \
         DEBIAN_FRONTEND=noninteractive timeout 180 apt-get install -y -qq \
         --no-install-recommends cron >/dev/null; }; mkdir -p /etc/cron.d",
    );
    converge_case(
        &lab,
        &Case {
            playbook: "cron",
            host: "h1",
            reset: "rm -f /etc/cron.d/converge-test",
            unchanged: "test ! -e /etc/cron.d/converge-test",
            applied:
                "grep -qx '5 3 \\* \\* \\* root /bin/true converge-test' /etc/cron.d/converge-test",
            diff: "+5 3 * * * root /bin/true converge-test",
        },
    );
}

#[test]
fn ansible_builtin_known_hosts() {
    converge_case(
        &Lab::open(false),
        &Case {
            playbook: "known_hosts",
            host: "h1",
            reset: "rm -f /tmp/converge-known_hosts",
            unchanged: "test ! -e /tmp/converge-known_hosts",
            applied: "grep -q '^git.example.com ssh-ed25519 ' /tmp/converge-known_hosts",
            diff: "+git.example.com ssh-ed25519 AAAA",
        },
    );
}

#[test]
fn ansible_posix_authorized_key() {
    converge_case(
        &Lab::open(false),
        &Case {
            playbook: "authorized_key",
            host: "h2",
            reset: "rm -f /tmp/converge-authorized_keys",
            unchanged: "test ! -e /tmp/converge-authorized_keys",
            applied: "grep -q ' converge-test$' /tmp/converge-authorized_keys",
            diff: "+ssh-ed25519 AAAA",
        },
    );
}

#[test]
fn community_general_timezone() {
    converge_case(
        &Lab::open(false),
        &Case {
            playbook: "timezone",
            host: "h2",
            reset:
                "ln -sf /usr/share/zoneinfo/Etc/UTC /etc/localtime && echo Etc/UTC > /etc/timezone",
            unchanged: "grep -qx Etc/UTC /etc/timezone",
            applied: "grep -qx Europe/Paris /etc/timezone",
            diff: "+    \"name\": \"Europe/Paris\"",
        },
    );
}

/// A role's `library/` module: registered result, facts, become (to `nobody`, who has no home
/// to cache the payload in) and the task's environment (asserted in the playbook).
#[test]
fn module_from_a_roles_library() {
    converge_case(
        &Lab::open(false),
        &Case {
            playbook: "library",
            host: "h2",
            reset: "rm -f /tmp/converge-probe.txt /tmp/converge-probe-nobody.txt",
            unchanged:
                "test ! -e /tmp/converge-probe.txt && test ! -e /tmp/converge-probe-nobody.txt",
            applied: "grep -qx probed /tmp/converge-probe.txt && \
                      test \"$(stat -c %U /tmp/converge-probe-nobody.txt)\" = nobody",
            diff: "+as nobody",
        },
    );
}

/// A module without `supports_check_mode`: skipped in check mode, with the module's reason, and
/// never run for real.
#[test]
fn module_without_check_mode_is_skipped_in_check_mode() {
    let lab = Lab::open(false);
    lab.sh("h1", "rm -f /tmp/converge-nocheck");
    let inv = lab.inventory("nocheck.ini", "lab", &["h1"], &[]);
    let inv = inv.to_str().expect("utf-8 path");
    let pb = format!("{DIR}/nocheck.yml");
    let check = lab
        .converge(&[&pb, "-i", inv, "--check", "--diff", "-v"], &[])
        .ok();
    let recap = check.recap();
    assert_eq!(recap["h1"]["skipped"], 1, "{}", check.text());
    assert_eq!(recap["h1"]["changed"], 0, "{}", check.text());
    assert!(
        check.stdout.contains("does not support check mode"),
        "{}",
        check.text()
    );
    lab.sh("h1", "test ! -e /tmp/converge-nocheck");
    let apply = lab.converge(&[&pb, "-i", inv, "--diff"], &[]).ok();
    assert_eq!(apply.changed("h1"), 1, "{}", apply.text());
    lab.sh("h1", "test -e /tmp/converge-nocheck");
    lab.converge(&[&pb, "-i", inv], &[]).ok().assert_no_change();
}

/// A module found nowhere is a load error (exit 4, nothing touched) at its line, saying where
/// converge looked and how to get it.
#[test]
fn a_module_found_nowhere_is_a_load_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pb = dir.path().join("site.yml");
    std::fs::write(
        &pb,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: x\n      \
         community.nothere.frobnicate: {a: 1}\n",
    )
    .expect("write playbook");
    let r = converge(&[pb.to_str().expect("utf-8"), "-c", "local"], dir.path());
    assert_eq!(r.code, 4, "{}", r.text());
    assert!(
        r.stderr
            .contains("unknown module or keyword `community.nothere.frobnicate`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("site.yml:5:7"), "{}", r.stderr);
    assert!(r.stderr.contains("looked in"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("ansible-galaxy collection install community.nothere"),
        "{}",
        r.stderr
    );
}

#[test]
fn modules_lists_native_and_needed_ones() {
    let native = converge(&["modules"], &repo());
    assert_eq!(native.code, 0, "{}", native.text());
    for m in ["copy", "lineinfile", "docker_container", "debug"] {
        assert!(
            native.stdout.lines().any(|l| l.trim() == m),
            "{m}:\n{}",
            native.stdout
        );
    }
    let pb = format!("{DIR}/library.yml");
    let needs = converge(&["modules", "--needs", &pb], &repo());
    assert_eq!(needs.code, 0, "{}", needs.text());
    assert!(needs.stdout.contains("converge_probe"), "{}", needs.stdout);
    assert!(
        needs
            .stdout
            .contains("roles/probe/library/converge_probe.py"),
        "{}",
        needs.stdout
    );
    assert!(!needs.stdout.contains("assert"), "{}", needs.stdout);
}
