//! `unarchive` with a controller-side `src` (its default) on a real lab host over SSH: the
//! archive is read on the controller and unpacked on the host; check mode changes nothing, the
//! second run changes nothing. Needs the lab (`CONVERGE_LAB`); fails without it.

mod common;
use common::lab::Lab;
use std::process::Command;

#[test]
fn unarchive_from_a_controller_archive() {
    let lab = Lab::open(false);
    let host = "h2";
    let dir = tempfile::tempdir().expect("tempdir");
    let content = dir.path().join("content");
    std::fs::create_dir_all(content.join("sub")).expect("mkdir");
    std::fs::write(content.join("a.txt"), "alpha\n").expect("write");
    std::fs::write(content.join("sub/b.txt"), "beta\n").expect("write");
    let archive = dir.path().join("site.tgz");
    let tar = Command::new("tar")
        .arg("czf")
        .arg(&archive)
        .arg("-C")
        .arg(&content)
        .args(["a.txt", "sub"])
        .status()
        .expect("run tar");
    assert!(tar.success());
    let play = dir.path().join("unarchive.yml");
    std::fs::write(
        &play,
        format!(
            "- hosts: lab\n  gather_facts: false\n  tasks:\n    - unarchive: {{src: {}, dest: /srv/unarchive-test}}\n",
            archive.display()
        ),
    )
    .expect("write playbook");
    lab.sh(
        host,
        "rm -rf /srv/unarchive-test && mkdir /srv/unarchive-test",
    );
    let inv = lab.inventory("unarchive.ini", "lab", &[host], &[]);
    let (play, inv) = (play.to_str().expect("utf-8"), inv.to_str().expect("utf-8"));

    let check = lab.converge(&[play, "-i", inv, "--check"], &[]).ok();
    assert!(check.changed(host) >= 1, "{}", check.text());
    assert_eq!(
        lab.sh(host, "ls -A /srv/unarchive-test | wc -l"),
        "0",
        "check mode unpacked"
    );

    let apply = lab.converge(&[play, "-i", inv], &[]).ok();
    assert_eq!(apply.changed(host), 1, "{}", apply.text());
    assert_eq!(
        lab.sh(
            host,
            "cat /srv/unarchive-test/a.txt /srv/unarchive-test/sub/b.txt"
        ),
        "alpha\nbeta"
    );

    let again = lab.converge(&[play, "-i", inv], &[]).ok();
    again.assert_no_change();
    lab.sh(host, "rm -rf /srv/unarchive-test");
}
