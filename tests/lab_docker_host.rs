//! `playbooks/docker-host.yml` against real Docker hosts: the lab of `tests/lab/lab.sh`, started
//! with `--docker-room` (each host's /var/lib/docker on the real disk, Docker's addresses inside
//! 198.18.0.0/15).
//!
//! ```text
//! tests/lab/lab.sh up 2 --docker-room
//! CONVERGE_LAB=/tmp/converge-lab cargo test --test lab_docker_host -- --test-threads 1
//! ```
//!
//! FAILS (never skips) when `CONVERGE_LAB` is unset or the lab is not a docker-room lab.
//! What it checks, in order (one test, the steps depend on each other):
//! 1. a converge of every host (docker.io installed by the module when missing), then a second
//!    run with `changed=0`, and `docker info` says overlay2;
//! 2. an image made on h1 with `docker import` (a tarball of a few files), a container created from
//!    it: the switch to btrfs is refused and names the container; once it is removed, the switch
//!    overlay2 → btrfs on a loop file keeps the image (tags included), mounts the loop file at
//!    /var/lib/docker, writes fstab, and a second run is `changed=0`;
//! 3. a hand edit of daemon.json (`bip`, plus an undeclared key) is put back with the key-level
//!    diff shown, the undeclared key kept, and docker0 on the declared address;
//! 4. back to overlay2 (on the btrfs mount), image still there, `changed=0` after.

mod common;
use common::lab::Lab;

struct DockerLab {
    lab: Lab,
    inventory: std::path::PathBuf,
}

fn lab() -> DockerLab {
    let lab = Lab::open(true);
    let names: Vec<String> = lab.hosts.iter().map(|(h, _)| h.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let inventory = lab.inventory("docker.ini", "docker_hosts", &names, &[]);
    DockerLab { lab, inventory }
}

impl DockerLab {
    /// Run converge on docker-host.yml with extra arguments; returns (success, stdout+stderr).
    fn converge(&self, extra: &[&str]) -> (bool, String) {
        let inv = self.inventory.display().to_string();
        let mut args = vec!["playbooks/docker-host.yml", "-i", inv.as_str()];
        args.extend_from_slice(extra);
        let r = self.lab.converge(&args, &[]);
        (r.code == 0, r.text())
    }

    fn converge_ok(&self, extra: &[&str]) -> String {
        let (ok, text) = self.converge(extra);
        assert!(ok, "converge {extra:?} failed:\n{text}");
        text
    }

    fn sh(&self, host: &str, script: &str) -> String {
        self.lab.sh(host, script)
    }

    fn sh_raw(&self, host: &str, script: &str) -> std::process::Output {
        self.lab.sh_raw(host, script)
    }
}

fn assert_no_change(text: &str) {
    let run = common::Run {
        code: 0,
        stdout: text.to_string(),
        stderr: String::new(),
    };
    run.assert_no_change();
}

const BTRFS: &[&str] = &[
    "-e",
    "docker_storage_driver=btrfs",
    "-e",
    "docker_btrfs_device=/var/lib/docker-btrfs.img",
    "-e",
    "docker_btrfs_size=2G",
];

#[test]
fn docker_host_playbook_on_real_hosts() {
    let lab = lab();
    let h1 = lab.lab.hosts[0].0.clone();

    // 0. Check mode on a bare host lists what it would do and leaves the host untouched. A lab
    //    that already ran this test is not bare any more: that is a failure, not a skip
    //    (tests/run.sh always starts a fresh lab).
    let bare = !lab.sh_raw(&h1, "command -v dockerd").status.success();
    assert!(
        bare,
        "{h1} already has dockerd: the bare-host check-mode step needs a fresh lab \
         (tests/lab/lab.sh up 2 --docker-room)"
    );
    {
        let snapshot =
            "cat /etc/docker/daemon.json /etc/default/docker 2>&1; id -nG deploy; ls /etc/rc2.d";
        let before = lab.sh_raw(&h1, snapshot).stdout;
        let text = lab.converge_ok(&["-l", h1.as_str(), "--check", "--diff"]);
        for what in [
            "+docker.io (installed)",
            "+++ after: /etc/docker/daemon.json",
            "+++ after: /etc/default/docker",
            "+++ after: group docker",
            "+enabled",
            "+running",
        ] {
            assert!(text.contains(what), "check mode lists `{what}`:\n{text}");
        }
        assert!(
            !lab.sh_raw(&h1, "command -v dockerd").status.success(),
            "check mode installed docker"
        );
        assert_eq!(
            before,
            lab.sh_raw(&h1, snapshot).stdout,
            "check mode changed files, groups or boot links"
        );
    }

    // 1. Every host converged, then nothing to do.
    lab.converge_ok(&[]);
    assert_no_change(&lab.converge_ok(&[]));
    for (h, _) in &lab.lab.hosts {
        assert_eq!(lab.sh(h, "docker info --format '{{.Driver}}'"), "overlay2");
        assert!(lab
            .sh(h, "id -nG deploy")
            .split_whitespace()
            .any(|g| g == "docker"));
    }

    // A container runs, from an image made here: a shell and the two libraries it needs.
    lab.sh(
        &h1,
        "tar -C / -chf - usr/bin/dash lib64/ld-linux-x86-64.so.2 lib/x86_64-linux-gnu/libc.so.6 | docker import - lab/sh:1 >/dev/null",
    );
    assert_eq!(
        lab.sh(&h1, "docker run --rm --network none lab/sh:1 /usr/bin/dash -c 'echo running in a container'"),
        "running in a container"
    );

    // 2. overlay2 → btrfs on a loop file, keeping a local image.
    lab.sh(
        &h1,
        "docker rm -f keepme >/dev/null 2>&1; docker rmi -f lab/tiny:1.0 lab/tiny:latest >/dev/null 2>&1; \
         tar -C /etc -cf - hostname os-release debian_version | docker import - lab/tiny:1.0 >/dev/null && \
         docker tag lab/tiny:1.0 lab/tiny:latest && docker create --name keepme lab/tiny:1.0 /none >/dev/null",
    );
    let id_before = lab.sh(&h1, "docker image inspect --format '{{.Id}}' lab/tiny:1.0");
    let mut args = vec!["-l", h1.as_str()];
    args.extend_from_slice(BTRFS);
    let (ok, text) = lab.converge(&args);
    assert!(!ok, "a switch with a container must be refused:\n{text}");
    assert!(
        text.contains("refusing to switch the storage driver overlay2 → btrfs")
            && text.contains("containers keepme"),
        "{text}"
    );
    assert_eq!(
        lab.sh(&h1, "docker info --format '{{.Driver}}'"),
        "overlay2"
    );
    lab.sh(&h1, "docker rm keepme");
    let mut check = args.clone();
    check.extend(["--check", "--diff"]);
    let text = lab.converge_ok(&check);
    assert!(text.contains("+\"storage-driver\": \"btrfs\""), "{text}");
    assert_eq!(
        lab.sh(&h1, "docker info --format '{{.Driver}}'"),
        "overlay2"
    );
    let text = lab.converge_ok(&args);
    assert!(text.contains("changed: ["), "{text}");
    assert_eq!(lab.sh(&h1, "docker info --format '{{.Driver}}'"), "btrfs");
    assert_eq!(
        lab.sh(
            &h1,
            "docker image inspect --format '{{.Id}}' lab/tiny:1.0 lab/tiny:latest"
        ),
        format!("{id_before}\n{id_before}")
    );
    assert_eq!(
        lab.sh(
            &h1,
            "findmnt -n -o FSTYPE --mountpoint /var/lib/docker | tail -n 1"
        ),
        "btrfs"
    );
    assert!(lab
        .sh(&h1, "cat /etc/fstab")
        .contains("/var/lib/docker-btrfs.img /var/lib/docker btrfs loop,defaults 0 0"));
    assert_no_change(&lab.converge_ok(&args));

    // 3. A hand-edited daemon.json is put back, key by key.
    lab.sh(
        &h1,
        "sed -i 's#198.19.200.1/24#198.19.201.1/24#; s#^{#{ \"debug\": true,#' /etc/docker/daemon.json",
    );
    let mut diff = args.clone();
    diff.push("--diff");
    let text = lab.converge_ok(&diff);
    assert!(
        text.contains("-\"bip\": \"198.19.201.1/24\"")
            && text.contains("+\"bip\": \"198.19.200.1/24\""),
        "{text}"
    );
    let json = lab.sh(&h1, "cat /etc/docker/daemon.json");
    assert!(
        json.contains("\"debug\": true") && json.contains("\"bip\": \"198.19.200.1/24\""),
        "{json}"
    );
    assert!(lab
        .sh(&h1, "ip -4 addr show docker0")
        .contains("198.19.200.1/24"));
    assert_no_change(&lab.converge_ok(&args));

    // 4. Back to overlay2 (on the btrfs mount); the image is kept again.
    let limit = ["-l", h1.as_str()];
    lab.converge_ok(&limit);
    assert_eq!(
        lab.sh(&h1, "docker info --format '{{.Driver}}'"),
        "overlay2"
    );
    assert_eq!(
        lab.sh(&h1, "docker image inspect --format '{{.Id}}' lab/tiny:1.0"),
        id_before
    );
    assert_no_change(&lab.converge_ok(&limit));
}
