//! `docker_engine`, `filesystem` and `mount` through the module registry, on a scripted fake
//! host: what they read, what check mode does (nothing but reading), and the order of the
//! commands of a real run. The same steps on real hosts: `tests/lab_docker_host.rs` (engine).

use converge_modules::registry;
use converge_modules::{
    Args, Command, FileAttrs, Output, Program, RunMode, Stat, Status, Target, TargetError,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A host whose command outputs are scripted by a predicate on the command text.
struct Fake {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    /// (substring of the command, stdout, rc)
    answers: Vec<(&'static str, String, i32)>,
    log: Mutex<Vec<String>>,
    writes: Mutex<Vec<String>>,
}

impl Fake {
    fn new(answers: Vec<(&'static str, String, i32)>) -> Self {
        Fake {
            files: Mutex::new(BTreeMap::new()),
            answers,
            log: Mutex::new(Vec::new()),
            writes: Mutex::new(Vec::new()),
        }
    }
    fn file(self, path: &str, text: &str) -> Self {
        self.files
            .lock()
            .unwrap()
            .insert(path.into(), text.as_bytes().to_vec());
        self
    }
    fn commands(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Target for Fake {
    fn run(&self, cmd: &Command) -> Result<Output, TargetError> {
        let text = match &cmd.program {
            Program::Argv(a) => a.join(" "),
            Program::Shell(s) => s.clone(),
        };
        self.log.lock().unwrap().push(text.clone());
        for (pat, out, rc) in &self.answers {
            if text.contains(pat) {
                return Ok(Output {
                    rc: *rc,
                    stdout: out.as_bytes().to_vec(),
                    stderr: Vec::new(),
                });
            }
        }
        Ok(Output::default())
    }
    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, TargetError> {
        Ok(self.files.lock().unwrap().get(path).cloned())
    }
    fn write_file(&self, path: &str, content: &[u8], _: &FileAttrs) -> Result<(), TargetError> {
        self.writes.lock().unwrap().push(path.into());
        self.files
            .lock()
            .unwrap()
            .insert(path.into(), content.to_vec());
        Ok(())
    }
    fn stat(&self, _: &str) -> Result<Option<Stat>, TargetError> {
        Ok(None)
    }
}

fn args(v: Value) -> Args {
    v.as_object().unwrap().clone()
}

const INFO: &str = r#"{"Driver":"overlay2","ServerVersion":"20.10.24+dfsg1","DockerRootDir":"/var/lib/docker","Images":1,"Containers":0,"ServerErrors":null}"#;

fn inspect_output(driver_running: &str) -> String {
    format!(
        "@@init\nsysv\n@@pkg\ninstall ok installed\n@@tools\ndocker\ndockerd\nmkfs.btrfs\n@@validate\n\
         @@nofile\n20000\n@@group\ndeploy\n@@enabled\nenabled\n@@info\n{}\n@@images\nlab/tiny:1.0 2502\n\
         @@containers\n@@volumes\n@@kernelfs\next4\noverlay\nbtrfs\n@@dm\n@@datafs\next2/ext3\n\
         @@mount\n/dev/vda[/x] ext4 rw\n@@btrfsdev\nkind=missing\n",
        INFO.replace("overlay2", driver_running)
    )
}

fn lab_host() -> Fake {
    Fake::new(vec![
        ("s kernelfs", inspect_output("overlay2"), 0),
        (
            "timeout 30 docker info",
            INFO.replace("overlay2", "btrfs"),
            0,
        ),
    ])
    .file(
        "/etc/docker/daemon.json",
        "{\"bip\": \"198.19.200.1/24\", \"storage-driver\": \"overlay2\"}\n",
    )
    .file(
        "/etc/default/docker",
        &converge_modules::docker_engine::plan::with_ulimit_block(""),
    )
}

const SWITCH: fn() -> Value = || {
    json!({
        "storage_driver": "btrfs",
        "btrfs_device": "/var/lib/docker-btrfs.img",
        "btrfs_size": "2G",
        "daemon_json": {"bip": "198.19.200.1/24"}
    })
};

#[test]
fn check_mode_reads_with_one_command_and_changes_nothing() {
    let host = lab_host();
    let m = registry::find("docker_engine").unwrap();
    let o = m
        .run(
            &host,
            &args(SWITCH()),
            RunMode {
                check: true,
                diff: true,
            },
        )
        .unwrap();
    assert_eq!(o.status, Status::Changed);
    assert_eq!(host.commands().len(), 1, "{:?}", host.commands());
    assert!(host.writes.lock().unwrap().is_empty());
    let headers: Vec<&str> = o.diffs.iter().map(|d| d.before_header.as_str()).collect();
    assert_eq!(
        headers,
        [
            "/etc/docker/daemon.json (keys, before)",
            "/var/lib/docker-btrfs.img",
            "/var/lib/docker (mount)",
            "/etc/fstab",
            "images (saved to /var/lib/converge-docker-migration/images-overlay2-to-btrfs.tar, loaded back)",
            "service docker"
        ]
    );
    assert_eq!(
        o.data["actions"],
        json!([
            "SaveImages",
            "StopDaemon",
            "CreateLoopFile",
            "MakeBtrfs",
            "WriteFstab",
            "MountDataRoot",
            "WriteDaemonJson",
            "StartDaemon",
            "LoadImages",
            "Verify"
        ])
    );
}

#[test]
fn a_real_run_saves_before_and_loads_after_the_switch() {
    let host = lab_host();
    let m = registry::find("docker_engine").unwrap();
    let o = m
        .run(
            &host,
            &args(SWITCH()),
            RunMode {
                check: false,
                diff: false,
            },
        )
        .unwrap();
    assert_eq!(o.status, Status::Changed);
    assert_eq!(o.data["docker_info"]["driver"], "btrfs");
    let cmds = host.commands();
    let pos = |pat: &str| {
        cmds.iter()
            .position(|c| c.contains(pat))
            .unwrap_or_else(|| panic!("no `{pat}` in {cmds:#?}"))
    };
    let order = [
        pos("docker save -o"),
        pos("/etc/init.d/docker stop"),
        pos("fallocate -l 2G"),
        pos("mkfs.btrfs -L docker /var/lib/docker-btrfs.img"),
        pos("mount -t btrfs -o loop,defaults -- /var/lib/docker-btrfs.img /var/lib/docker"),
        pos("/etc/init.d/docker start"),
        pos("docker load -q -i"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{cmds:#?}");
    let files = host.files.lock().unwrap();
    let dj: Value = serde_json::from_slice(&files["/etc/docker/daemon.json"]).unwrap();
    assert_eq!(dj["storage-driver"], "btrfs");
    assert!(String::from_utf8_lossy(&files["/etc/fstab"])
        .contains("/var/lib/docker-btrfs.img /var/lib/docker btrfs loop,defaults 0 0"));
}

#[test]
fn a_daemon_with_another_driver_fails_verification() {
    let host = Fake::new(vec![
        ("s kernelfs", inspect_output("overlay2"), 0),
        // The daemon comes back with overlay2 (e.g. DOCKER_OPTS overriding the file).
        ("timeout 30 docker info", INFO.to_string(), 0),
    ])
    .file(
        "/etc/docker/daemon.json",
        "{\"storage-driver\": \"overlay2\"}",
    );
    let m = registry::find("docker_engine").unwrap();
    let e = m
        .run(
            &host,
            &args(json!({"storage_driver": "vfs"})),
            RunMode::default(),
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("dockerd runs the overlay2 storage driver, not the declared vfs"),
        "{e}"
    );
}

#[test]
fn filesystem_and_mount_in_check_mode() {
    let host = Fake::new(vec![("blkid", "kind=file\ntype=\nmkfs=yes\n".into(), 0)]);
    let fs = registry::find("community.general.filesystem").unwrap();
    let o = fs
        .run(
            &host,
            &args(json!({"fstype": "btrfs", "dev": "/srv/d.img"})),
            RunMode {
                check: true,
                diff: true,
            },
        )
        .unwrap();
    assert_eq!(o.status, Status::Changed);
    assert_eq!(host.commands().len(), 1);

    let host = Fake::new(vec![]).file("/etc/fstab", "# fstab\n");
    let mnt = registry::find("ansible.posix.mount").unwrap();
    let o = mnt
        .run(
            &host,
            &args(
                json!({"path": "/mnt/d", "src": "/dev/vdb", "fstype": "btrfs", "state": "mounted"}),
            ),
            RunMode {
                check: true,
                diff: true,
            },
        )
        .unwrap();
    assert_eq!(o.status, Status::Changed);
    assert_eq!(
        o.diffs[0].after,
        "# fstab\n/dev/vdb /mnt/d btrfs defaults 0 0\n"
    );
    assert!(host.writes.lock().unwrap().is_empty());
    assert!(!host.commands().iter().any(|c| c.starts_with("mount ")));
}
