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

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Lab {
    dir: PathBuf,
    hosts: Vec<(String, String)>,
    ssh_opts: Vec<String>,
    home: tempfile::TempDir,
    inventory: PathBuf,
}

fn lab() -> Lab {
    let Some(dir) = std::env::var_os("CONVERGE_LAB").filter(|d| !d.is_empty()) else {
        panic!(
            "CONVERGE_LAB is not set: this test needs the lab with Docker room \
             (tests/lab/lab.sh up 2 --docker-room; CONVERGE_LAB=/tmp/converge-lab)"
        );
    };
    let dir = PathBuf::from(dir);
    let env = std::fs::read_to_string(dir.join("env.sh")).unwrap_or_else(|e| {
        panic!(
            "lab at {}: cannot read env.sh ({e}); is the lab up?",
            dir.display()
        )
    });
    let var = |name: &str| -> Vec<String> {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}=")))
            .map(|v| {
                v.replace("\\ ", " ")
                    .split_whitespace()
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        var("LAB_DOCKER_ROOM"),
        ["1"],
        "lab at {} was not started with --docker-room",
        dir.display()
    );
    let hosts: Vec<(String, String)> = var("LAB_HOSTS").into_iter().zip(var("LAB_ADDRS")).collect();
    assert!(!hosts.is_empty(), "lab at {}: no hosts", dir.display());
    let home = tempfile::tempdir().unwrap();
    let inventory = home.path().join("docker.ini");
    let mut ini = String::from("[docker_hosts]\n");
    for (h, a) in &hosts {
        ini.push_str(&format!("{h} ansible_host={a}\n"));
    }
    ini.push_str(&format!(
        "\n[docker_hosts:vars]\nansible_user=root\nansible_ssh_private_key_file={}\n",
        dir.join("id_ed25519").display()
    ));
    std::fs::write(&inventory, ini).unwrap();
    Lab {
        ssh_opts: var("LAB_SSH_OPTS"),
        dir,
        hosts,
        home,
        inventory,
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

impl Lab {
    /// Run converge on docker-host.yml with extra arguments; returns (success, stdout+stderr).
    fn converge(&self, extra: &[&str]) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_converge"))
            .current_dir(repo())
            .arg("playbooks/docker-host.yml")
            .arg("-i")
            .arg(&self.inventory)
            .args(["--color", "never"])
            .args(extra)
            .env("HOME", self.home.path())
            .env("CONVERGE_KNOWN_HOSTS", self.dir.join("known_hosts"))
            .env("NO_COLOR", "1")
            .output()
            .expect("run converge");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    fn converge_ok(&self, extra: &[&str]) -> String {
        let (ok, text) = self.converge(extra);
        assert!(ok, "converge {extra:?} failed:\n{text}");
        text
    }

    /// A shell command on a host, over ssh; panics when it fails.
    fn sh(&self, host: &str, script: &str) -> String {
        let out = self.sh_raw(host, script);
        assert!(
            out.status.success(),
            "{host}: `{script}` failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn sh_raw(&self, host: &str, script: &str) -> Output {
        let addr = &self.hosts.iter().find(|(h, _)| h == host).unwrap().1;
        Command::new("ssh")
            .args(&self.ssh_opts)
            .arg(format!("root@{addr}"))
            .arg(script)
            .output()
            .expect("run ssh")
    }
}

/// `changed=N` of every host in the recap.
fn changed_counts(text: &str) -> Vec<(String, u32)> {
    text.lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .filter_map(|l| {
            let host = l.split_whitespace().next()?.to_string();
            let n = l
                .split_whitespace()
                .find_map(|w| w.strip_prefix("changed="))?
                .parse()
                .ok()?;
            Some((host, n))
        })
        .collect()
}

fn assert_no_change(text: &str) {
    let counts = changed_counts(text);
    assert!(!counts.is_empty(), "no recap in:\n{text}");
    assert!(
        counts.iter().all(|(_, n)| *n == 0),
        "a second run changed something: {counts:?}\n{text}"
    );
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
    let h1 = lab.hosts[0].0.clone();

    // 0. Check mode on a bare host lists what it would do and leaves the host untouched. (A lab
    //    that already ran this test is not bare any more; tests/run.sh always starts a fresh one.)
    let bare = !lab.sh_raw(&h1, "command -v dockerd").status.success();
    if bare {
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
    } else {
        eprintln!("{h1} already has dockerd: the bare-host check-mode step needs a fresh lab");
    }

    // 1. Every host converged, then nothing to do.
    lab.converge_ok(&[]);
    assert_no_change(&lab.converge_ok(&[]));
    for (h, _) in &lab.hosts {
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
