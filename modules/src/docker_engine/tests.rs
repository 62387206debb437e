//! The plan, state in → actions out.

use super::inspect::{DockerInfo, Init, Observed};
use super::plan::*;
use super::*;
use crate::filesystem::{DevKind, FsState};
use crate::mount::LiveMount;
use serde_json::json;
use std::collections::BTreeMap;

fn args(v: Value) -> Args {
    v.as_object().unwrap().clone()
}

fn params(v: Value) -> EngineParams {
    parse_params(&args(v)).unwrap()
}

const LAB_JSON: &str = r#"{
  "bip": "198.19.200.1/24",
  "default-address-pools": [{ "base": "198.19.128.0/18", "size": 24 }],
  "storage-driver": "overlay2",
  "mtu": 1500
}
"#;

/// A lab host with docker.io installed and running overlay2, one image, no containers.
fn running_overlay2() -> EngineState {
    EngineState {
        observed: Observed {
            init: Init::SysV,
            package_installed: true,
            tools: ["docker", "dockerd", "mkfs.btrfs", "blkid", "findmnt"]
                .map(String::from)
                .to_vec(),
            dockerd_validate: false,
            nofile_hard: Some(20000),
            docker_group: Some(vec![]),
            enabled: true,
            info: Some(DockerInfo {
                driver: "overlay2".into(),
                server_version: "20.10.24".into(),
                root_dir: "/var/lib/docker".into(),
                images: 1,
                containers: 0,
            }),
            images: vec!["lab/busybox:latest".into()],
            untagged_images: 0,
            containers: vec![],
            volumes: vec![],
            kernel_fs: ["ext4", "overlay", "btrfs"].map(String::from).to_vec(),
            dm_control: false,
            data_fs: "ext2/ext3".into(),
            data_mount: Some(LiveMount {
                source: "/dev/vda[/tmp/x]".into(),
                fstype: "ext4".into(),
                options: "rw".into(),
                backing_file: None,
            }),
            btrfs_dev: None,
            disk_images: BTreeMap::new(),
        },
        daemon_json_text: Some(LAB_JSON.into()),
        default_text: Some(with_ulimit_block(
            "# Docker Upstart and SysVinit configuration file\n",
        )),
        fstab_text: "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n".into(),
    }
}

fn names(plan: &crate::contract::Plan<Action>) -> Vec<&'static str> {
    plan.actions.iter().map(Action::name).collect()
}

#[test]
fn converged_host_is_a_noop() {
    let p =
        params(json!({"storage_driver": "overlay2", "daemon_json": {"bip": "198.19.200.1/24"}}));
    let plan = plan_engine(&p, &running_overlay2()).unwrap();
    assert!(plan.is_noop(), "{:?}", plan.actions);
    assert_eq!(plan.data["storage_driver"], "overlay2");
}

#[test]
fn fresh_host_installs_configures_starts_and_verifies() {
    let mut st = running_overlay2();
    st.observed.package_installed = false;
    st.observed.info = None;
    st.observed.images.clear();
    st.observed.docker_group = None;
    st.observed.enabled = false;
    st.observed.tools = vec![];
    st.daemon_json_text = None;
    st.default_text = None;
    let p = params(json!({
        "storage_driver": "overlay2",
        "users": ["deploy"],
        "daemon_json": {"bip": "198.19.200.1/24", "default-address-pools": [{"base": "198.19.128.0/17", "size": 24}]}
    }));
    let plan = plan_engine(&p, &st).unwrap();
    assert_eq!(
        names(&plan),
        [
            "ClampInitUlimits",
            "InstallPackages",
            "AddToDockerGroup",
            "EnableService",
            "StopDaemon",
            "WriteDaemonJson",
            "StartDaemon",
            "Verify"
        ]
    );
    assert_eq!(
        plan.actions[1],
        Action::InstallPackages(vec!["docker.io".into()])
    );
    // The key-level diff comes first.
    assert_eq!(
        plan.diffs[0].after,
        "\"bip\": \"198.19.200.1/24\"\n\"default-address-pools\": [{\"base\":\"198.19.128.0/17\",\"size\":24}]\n\"storage-driver\": \"overlay2\"\n"
    );
    let headers: Vec<&str> = plan
        .diffs
        .iter()
        .map(|d| d.before_header.as_str())
        .collect();
    assert!(headers.contains(&"/etc/default/docker"));
    assert!(headers.contains(&"packages"));
    assert!(headers.contains(&"group docker"));
    assert!(headers.contains(&"service docker"));
    // A systemd host gets no ulimit block.
    st.observed.init = Init::Systemd;
    assert!(!names(&plan_engine(&p, &st).unwrap()).contains(&"ClampInitUlimits"));
}

#[test]
fn overlay2_to_btrfs_on_a_loop_file_keeps_images() {
    let mut st = running_overlay2();
    st.observed.btrfs_dev = Some(FsState {
        kind: DevKind::Missing,
        current: String::new(),
        mkfs_found: true,
    });
    let p = params(json!({
        "storage_driver": "btrfs",
        "btrfs_device": "/var/lib/docker-btrfs.img",
        "btrfs_size": "2G"
    }));
    let plan = plan_engine(&p, &st).unwrap();
    assert_eq!(
        names(&plan),
        [
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
        ]
    );
    assert_eq!(
        plan.actions[0],
        Action::SaveImages {
            images: vec!["lab/busybox:latest".into()],
            file: "/var/lib/converge-docker-migration/images-overlay2-to-btrfs.tar".into()
        }
    );
    assert_eq!(
        plan.actions[4],
        Action::WriteFstab(
            "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n/var/lib/docker-btrfs.img /var/lib/docker btrfs loop,defaults 0 0\n"
                .into()
        )
    );
    assert_eq!(
        plan.actions[5],
        Action::MountDataRoot {
            src: "/var/lib/docker-btrfs.img".into(),
            path: "/var/lib/docker".into(),
            opts: "loop,defaults".into()
        }
    );
    assert_eq!(
        plan.data["daemon_json_changes"],
        json!(["~ \"storage-driver\": \"overlay2\" → \"btrfs\""])
    );
    assert!(plan
        .msg
        .as_deref()
        .unwrap()
        .contains("storage driver overlay2 → btrfs (1 image(s) kept)"));

    // After the switch: mounted, btrfs running → nothing to do.
    let mut after = st.clone();
    after.observed.info.as_mut().unwrap().driver = "btrfs".into();
    after.observed.btrfs_dev.as_mut().unwrap().kind = DevKind::File;
    after.observed.btrfs_dev.as_mut().unwrap().current = "btrfs".into();
    after.observed.data_mount = Some(LiveMount {
        source: "/dev/loop0".into(),
        fstype: "btrfs".into(),
        options: "rw".into(),
        backing_file: Some("/var/lib/docker-btrfs.img".into()),
    });
    after.observed.data_fs = "btrfs".into();
    after.daemon_json_text = Some(LAB_JSON.replace("overlay2", "btrfs"));
    if let Action::WriteFstab(t) = &plan.actions[4] {
        after.fstab_text = t.clone();
    }
    assert!(plan_engine(&p, &after).unwrap().is_noop());
}

#[test]
fn containers_block_a_driver_change_unless_data_loss_is_allowed() {
    let mut st = running_overlay2();
    st.observed.containers = vec!["web".into(), "db".into()];
    let p = params(json!({"storage_driver": "vfs"}));
    let e = plan_engine(&p, &st).unwrap_err().to_string();
    assert!(
        e.contains("refusing to switch the storage driver overlay2 → vfs"),
        "{e}"
    );
    assert!(e.contains("containers web, db"), "{e}");
    let p = params(json!({"storage_driver": "vfs", "allow_data_loss": true}));
    let plan = plan_engine(&p, &st).unwrap();
    assert_eq!(
        names(&plan),
        [
            "SaveImages",
            "RemoveContainers",
            "StopDaemon",
            "WriteDaemonJson",
            "StartDaemon",
            "LoadImages",
            "Verify"
        ]
    );
}

#[test]
fn prerequisites_are_explained() {
    let st = running_overlay2();
    // btrfs without a btrfs data root.
    let e = plan_engine(&params(json!({"storage_driver": "btrfs"})), &st)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("needs /var/lib/docker on a btrfs filesystem, it is on ext2/ext3"),
        "{e}"
    );
    // overlay2 on an overlayfs root.
    let mut st2 = running_overlay2();
    st2.observed.data_fs = "overlayfs".into();
    st2.observed.data_mount = None;
    let e = plan_engine(&params(json!({"storage_driver": "overlay2"})), &st2)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("overlay2 cannot run with /var/lib/docker on overlayfs"),
        "{e}"
    );
    // No kernel support, no modprobe.
    let mut st3 = running_overlay2();
    st3.observed.kernel_fs = vec!["ext4".into()];
    let e = plan_engine(&params(json!({"storage_driver": "overlay2"})), &st3)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not in /proc/filesystems"), "{e}");
    // With modprobe it is loaded instead.
    st3.observed.tools.push("modprobe".into());
    st3.observed.kernel_fs.push("btrfs".into());
    let mut p = params(json!({"storage_driver": "overlay2"}));
    p.daemon_json.insert("debug".into(), json!(true));
    let plan = plan_engine(&p, &st3).unwrap();
    assert!(plan
        .actions
        .contains(&Action::LoadKernelModule("overlay".into())));
    // devicemapper without device-mapper.
    let e = plan_engine(&params(json!({"storage_driver": "devicemapper"})), &st)
        .unwrap_err()
        .to_string();
    assert!(e.contains("/dev/mapper/control"), "{e}");
    // A device holding another filesystem is not reformatted.
    let mut st4 = running_overlay2();
    st4.observed.btrfs_dev = Some(FsState {
        kind: DevKind::Block,
        current: "ext4".into(),
        mkfs_found: true,
    });
    let e = plan_engine(
        &params(json!({"storage_driver": "btrfs", "btrfs_device": "/dev/vdb"})),
        &st4,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("already holds a ext4 filesystem"), "{e}");
}

#[test]
fn hand_edited_daemon_json_is_put_back_keeping_other_keys() {
    let mut st = running_overlay2();
    st.daemon_json_text = Some(
        r#"{"bip": "198.19.201.1/24", "storage-driver": "overlay2", "mtu": 1500, "debug": true}"#
            .into(),
    );
    let p = params(json!({
        "storage_driver": "overlay2",
        "daemon_json": {"bip": "198.19.200.1/24", "log-level": "warn"}
    }));
    let plan = plan_engine(&p, &st).unwrap();
    assert_eq!(
        names(&plan),
        ["StopDaemon", "WriteDaemonJson", "StartDaemon", "Verify"]
    );
    assert_eq!(
        plan.data["daemon_json_changes"],
        json!([
            "~ \"bip\": \"198.19.201.1/24\" → \"198.19.200.1/24\"",
            "+ \"log-level\": \"warn\""
        ])
    );
    let Action::WriteDaemonJson { content, .. } = &plan.actions[1] else {
        panic!()
    };
    let v: Value = serde_json::from_str(content).unwrap();
    assert_eq!(v["debug"], true, "undeclared keys are kept");
    assert_eq!(plan.diffs[0].before, "\"bip\": \"198.19.201.1/24\"\n");
    // Formatting alone is not a change.
    st.daemon_json_text = Some(content.replace('\n', " "));
    assert!(plan_engine(&p, &st).unwrap().is_noop());
}

#[test]
fn bad_configuration_fails_before_touching_anything() {
    let st = running_overlay2();
    let e = plan_engine(
        &params(json!({"daemon_json": {"storage-drvier": "vfs"}})),
        &st,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("did you mean \"storage-driver\"?"), "{e}");
    let mut st2 = running_overlay2();
    st2.daemon_json_text = Some("{ broken".into());
    let e = plan_engine(&params(json!({})), &st2)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not valid JSON"), "{e}");
    let mut st3 = running_overlay2();
    st3.default_text = Some("DOCKER_OPTS=\"--bip 10.1.0.1/24\"\n".into());
    let e = plan_engine(&params(json!({})), &st3)
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"bip\" is set both"), "{e}");
}

#[test]
fn stopped_daemon_is_started_and_images_on_disk_are_kept() {
    let mut st = running_overlay2();
    st.observed.info = None;
    st.observed.images.clear();
    let plan = plan_engine(&params(json!({"storage_driver": "overlay2"})), &st).unwrap();
    assert_eq!(names(&plan), ["StartDaemon", "Verify"]);
    // A driver change while stopped: start the old daemon to save what is on disk.
    st.observed
        .disk_images
        .insert("overlay2".into(), vec!["lab/busybox:latest".into()]);
    let plan = plan_engine(&params(json!({"storage_driver": "vfs"})), &st).unwrap();
    assert_eq!(
        names(&plan),
        [
            "StartOldDaemon",
            "SaveImages",
            "StopDaemon",
            "WriteDaemonJson",
            "StartDaemon",
            "LoadImages",
            "Verify"
        ]
    );
}

#[test]
fn options_are_checked() {
    let bad = |v: Value| parse_params(&args(v)).unwrap_err().to_string();
    assert!(bad(json!({"storage_driver": "zfs"})).contains("not one of"));
    assert!(
        bad(json!({"storage_driver": "vfs", "daemon_json": {"storage-driver": "btrfs"}}))
            .contains("daemon_json says")
    );
    assert!(bad(json!({"storage_driver": "vfs", "btrfs_device": "/x"})).contains("only used with"));
    assert!(
        bad(json!({"storage_driver": "btrfs", "btrfs_device": "/x", "btrfs_size": "lots"}))
            .contains("not a size")
    );
    assert!(
        valid_size("2G") && valid_size("512M") && valid_size("1073741824") && valid_size("1GiB")
    );
}

#[test]
fn ulimit_block_is_replaced_not_duplicated() {
    let once = with_ulimit_block("# Debian's comments\n");
    assert_eq!(with_ulimit_block(&once), once);
    assert!(once.starts_with("# Debian's comments\n\n# BEGIN converge"));
    assert!(once.contains("command ulimit \"$1\" \"$(command ulimit -H \"$1\")\""));
}
