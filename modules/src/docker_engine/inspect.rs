//! What `docker_engine` looks at, in one shell command (plus three file reads: daemon.json,
//! `/etc/default/docker`, fstab), and the pure parsers of what that command prints.
//!
//! The script prints sections, each introduced by a line `@@name`; [`sections`] splits them.

use crate::filesystem::{parse_probe, probe_script, FsState};
use crate::mount::{findmnt_script, parse_findmnt, LiveMount};
use crate::target::shell_quote;
use serde_json::Value;
use std::collections::BTreeMap;

/// How services are managed on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    Systemd,
    /// No systemd: Debian's `/etc/init.d/docker` (containers, chroots, the test lab).
    SysV,
}

/// What `docker info --format '{{json .}}'` says (the fields the module uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerInfo {
    pub driver: String,
    pub server_version: String,
    pub root_dir: String,
    pub images: u64,
    pub containers: u64,
}

/// Parse `docker info --format '{{json .}}'`. `None` when the daemon did not answer (the CLI
/// then prints `ServerErrors` and no `Driver`).
pub fn parse_docker_info(text: &str) -> Option<DockerInfo> {
    let line = text.lines().find(|l| l.trim_start().starts_with('{'))?;
    let v: Value = serde_json::from_str(line.trim()).ok()?;
    if v.get("ServerErrors")
        .and_then(Value::as_array)
        .is_some_and(|e| !e.is_empty())
    {
        return None;
    }
    let driver = v.get("Driver").and_then(Value::as_str).unwrap_or("");
    if driver.is_empty() {
        return None;
    }
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    Some(DockerInfo {
        driver: driver.to_string(),
        server_version: s("ServerVersion"),
        root_dir: s("DockerRootDir"),
        images: n("Images"),
        containers: n("Containers"),
    })
}

/// The images, from `docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}'`: the tagged
/// references (what `docker save` keeps with their names) and how many untagged images there
/// are (they cannot be saved by name and are reported, not kept).
pub fn parse_images(text: &str) -> (Vec<String>, usize) {
    let mut tags = Vec::new();
    let mut untagged = 0;
    for l in text.lines() {
        let Some(reference) = l.split_whitespace().next() else {
            continue;
        };
        if reference.contains("<none>") {
            untagged += 1;
        } else if !tags.iter().any(|t| t == reference) {
            tags.push(reference.to_string());
        }
    }
    (tags, untagged)
}

/// Tagged references in a driver's `image/<driver>/repositories.json` (the images on disk when
/// the daemon is not running).
pub fn parse_repositories(text: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(repos) = v.get("Repositories").and_then(Value::as_object) {
        for refs in repos.values() {
            if let Some(refs) = refs.as_object() {
                for r in refs.keys() {
                    if !r.contains('@') {
                        out.push(r.clone());
                    }
                }
            }
        }
    }
    out
}

/// Split `@@name` sections.
pub fn sections(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut cur: Option<String> = None;
    for l in text.lines() {
        if let Some(name) = l.strip_prefix("@@") {
            cur = Some(name.trim().to_string());
            out.entry(name.trim().to_string())
                .or_insert_with(String::new);
        } else if let Some(c) = &cur {
            let s = out.get_mut(c).expect("section exists");
            s.push_str(l);
            s.push('\n');
        }
    }
    out
}

/// Everything the module observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub init: Init,
    pub package_installed: bool,
    pub tools: Vec<String>,
    pub dockerd_validate: bool,
    pub nofile_hard: Option<u64>,
    /// Members of the `docker` group; `None` when there is no such group.
    pub docker_group: Option<Vec<String>>,
    pub enabled: bool,
    pub info: Option<DockerInfo>,
    pub images: Vec<String>,
    pub untagged_images: usize,
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
    pub kernel_fs: Vec<String>,
    pub dm_control: bool,
    /// `stat -f -c %T` of the data root (or its closest existing parent).
    pub data_fs: String,
    pub data_mount: Option<LiveMount>,
    pub btrfs_dev: Option<FsState>,
    /// Tagged images per driver, from the data root's `image/*/repositories.json`.
    pub disk_images: BTreeMap<String, Vec<String>>,
}

impl Observed {
    pub fn has_tool(&self, t: &str) -> bool {
        self.tools.iter().any(|x| x == t)
    }
}

/// The inspection script. `data_root` is the data root the merged configuration names.
pub fn script(package: &str, data_root: &str, btrfs_dev: Option<&str>) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "pkg={}; root={}\n",
        shell_quote(package),
        shell_quote(data_root)
    ));
    s.push_str(
        r#"s() { echo "@@$1"; }
s init; if [ -d /run/systemd/system ]; then echo systemd; else echo sysv; fi
s pkg; dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null
s tools; for t in docker dockerd mkfs.btrfs modprobe blkid findmnt fallocate truncate usermod update-rc.d systemctl apt-get; do command -v "$t" >/dev/null 2>&1 && echo "$t"; done
s validate; if command -v dockerd >/dev/null 2>&1 && dockerd --help 2>&1 | grep -q -e '--validate'; then echo yes; fi
s nofile; ulimit -Hn
s group; getent group docker | cut -d: -f4
s enabled; if [ -d /run/systemd/system ]; then systemctl is-enabled docker 2>/dev/null; else for f in /etc/rc2.d/S*docker /etc/rc3.d/S*docker; do [ -e "$f" ] && echo enabled && break; done; fi
s info; up=
if command -v docker >/dev/null 2>&1; then i=$(timeout 20 docker info --format '{{json .}}' 2>/dev/null); echo "$i"; case "$i" in *'"Driver":"'[a-z]*) up=1;; esac; fi
s images; [ -n "$up" ] && timeout 30 docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
s containers; [ -n "$up" ] && timeout 30 docker ps -a --format '{{.Names}}'
s volumes; [ -n "$up" ] && timeout 30 docker volume ls -q
s kernelfs; awk '{print $NF}' /proc/filesystems
s dm; [ -e /dev/mapper/control ] && echo control
s datafs; d=$root; while [ ! -e "$d" ] && [ "$d" != / ]; do d=$(dirname "$d"); done; stat -f -c %T "$d"
s mount
"#,
    );
    s.push_str(&findmnt_script(data_root));
    for_each_repos(&mut s);
    if let Some(dev) = btrfs_dev {
        s.push_str("s btrfsdev\n");
        s.push_str(&probe_script(dev, "btrfs"));
    }
    s.push_str("true\n");
    s
}

fn for_each_repos(s: &mut String) {
    s.push_str(
        r#"for f in "$root"/image/*/repositories.json; do [ -f "$f" ] || continue; d=${f%/repositories.json}; s "repos:${d##*/}"; cat "$f"; echo; done
"#,
    );
}

/// Parse the script's output.
pub fn parse(text: &str) -> Observed {
    let sec = sections(text);
    let get = |k: &str| sec.get(k).map(String::as_str).unwrap_or("");
    let words = |k: &str| -> Vec<String> {
        get(k)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (images, untagged) = parse_images(get("images"));
    let info = parse_docker_info(get("info"));
    let disk_images = sec
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("repos:")
                .map(|d| (d.to_string(), parse_repositories(v)))
        })
        .collect();
    Observed {
        init: if get("init").trim() == "systemd" {
            Init::Systemd
        } else {
            Init::SysV
        },
        package_installed: get("pkg").contains("install ok installed"),
        tools: words("tools"),
        dockerd_validate: get("validate").trim() == "yes",
        nofile_hard: get("nofile").trim().parse().ok(),
        docker_group: sec.get("group").and_then(|g| {
            // `getent` printed nothing at all: no group (cut of a group line gives one line).
            if g.is_empty() {
                None
            } else {
                Some(
                    g.trim()
                        .split(',')
                        .filter(|u| !u.is_empty())
                        .map(str::to_string)
                        .collect(),
                )
            }
        }),
        enabled: matches!(
            get("enabled").trim(),
            "enabled" | "enabled-runtime" | "static"
        ),
        containers: if info.is_some() {
            words("containers")
        } else {
            Vec::new()
        },
        volumes: if info.is_some() {
            words("volumes")
        } else {
            Vec::new()
        },
        info,
        images,
        untagged_images: untagged,
        kernel_fs: words("kernelfs"),
        dm_control: get("dm").trim() == "control",
        data_fs: get("datafs").trim().to_string(),
        data_mount: parse_findmnt(get("mount")),
        btrfs_dev: sec.get("btrfsdev").map(|t| parse_probe(t)),
        disk_images,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = r#"{"ID":"X","Containers":2,"Images":3,"Driver":"overlay2","DriverStatus":[["Backing Filesystem","extfs"]],"DockerRootDir":"/var/lib/docker","ServerVersion":"20.10.24+dfsg1","ServerErrors":null}"#;

    #[test]
    fn docker_info() {
        let i = parse_docker_info(INFO).unwrap();
        assert_eq!(i.driver, "overlay2");
        assert_eq!(i.server_version, "20.10.24+dfsg1");
        assert_eq!((i.images, i.containers), (3, 2));
        let down = r#"{"ID":"","Containers":0,"Driver":"","ServerErrors":["Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"]}"#;
        assert_eq!(parse_docker_info(down), None);
        assert_eq!(parse_docker_info(""), None);
    }

    #[test]
    fn images_output() {
        let (tags, untagged) = parse_images(
            "lab/busybox:latest 1a2b3c\nlab/busybox:1.0 1a2b3c\n<none>:<none> 9f9f9f\nlab/x:latest 222\n",
        );
        assert_eq!(
            tags,
            ["lab/busybox:latest", "lab/busybox:1.0", "lab/x:latest"]
        );
        assert_eq!(untagged, 1);
    }

    #[test]
    fn repositories_json() {
        let t = r#"{"Repositories":{"lab/busybox":{"lab/busybox:latest":"sha256:aa","lab/busybox@sha256:bb":"sha256:aa"}}}"#;
        assert_eq!(parse_repositories(t), ["lab/busybox:latest"]);
        assert!(parse_repositories("garbage").is_empty());
    }

    #[test]
    fn whole_output() {
        let text = format!(
            "@@init\nsysv\n@@pkg\ninstall ok installed\n@@tools\ndocker\ndockerd\nblkid\n@@validate\n@@nofile\n20000\n\
             @@group\nalice,bob\n@@enabled\nenabled\n@@info\n{INFO}\n@@images\nlab/busybox:latest 1a\n\
             @@containers\nweb\n@@volumes\n@@kernelfs\next4\noverlay\nbtrfs\n@@dm\n@@datafs\next2/ext3\n\
             @@mount\n/dev/vda[/tmp/x] ext4 rw,relatime\n@@repos:overlay2\n{{\"Repositories\":{{}}}}\n\
             @@btrfsdev\nkind=missing\n"
        );
        let o = parse(&text);
        assert_eq!(o.init, Init::SysV);
        assert!(o.package_installed && o.enabled && !o.dockerd_validate);
        assert_eq!(o.nofile_hard, Some(20000));
        assert_eq!(o.docker_group, Some(vec!["alice".into(), "bob".into()]));
        assert_eq!(o.info.as_ref().unwrap().driver, "overlay2");
        assert_eq!(o.images, ["lab/busybox:latest"]);
        assert_eq!(o.containers, ["web"]);
        assert_eq!(o.kernel_fs, ["ext4", "overlay", "btrfs"]);
        assert_eq!(o.data_fs, "ext2/ext3");
        assert_eq!(o.data_mount.unwrap().fstype, "ext4");
        assert_eq!(o.disk_images["overlay2"], Vec::<String>::new());
        assert_eq!(
            o.btrfs_dev.unwrap().kind,
            crate::filesystem::DevKind::Missing
        );
        // No docker group at all.
        assert_eq!(parse("@@group\n@@init\nsysv\n").docker_group, None);
        assert_eq!(parse("@@group\n\n").docker_group, Some(vec![]));
    }
}
