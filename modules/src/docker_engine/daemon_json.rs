//! Checking a daemon.json before dockerd sees it.
//!
//! dockerd refuses to start on a configuration it does not like, and a daemon that does not
//! start is the worst moment to learn about a typo. Docker 23+ has `dockerd --validate`, which
//! the module runs on the new file when the host's dockerd has it; Debian 12's docker.io is
//! 20.10, which has not, so these checks come first everywhere:
//!
//! * the keys: dockerd 20.10 aborts on a key it does not know ("the following directives don't
//!   match any configuration option"); with `strict_keys` (no `--validate` on the host) an
//!   unknown key is an error with the nearest known key as a hint;
//! * the values of the keys whose shape is well known (addresses, pools, booleans, `log-opts`
//!   strings, `storage-driver`);
//! * keys also given as flags in `/etc/default/docker`'s `DOCKER_OPTS` (dockerd refuses
//!   "directives specified both as a flag and in the configuration file").

use crate::args::nearest;
use serde_json::Value;
use std::net::Ipv4Addr;

/// The storage drivers the module converges (prerequisites known and checked).
pub const DRIVERS: &[&str] = &["overlay2", "btrfs", "devicemapper", "vfs"];

/// daemon.json keys of dockerd 20.10 (Linux).
pub const KNOWN_KEYS: &[&str] = &[
    "allow-nondistributable-artifacts",
    "api-cors-header",
    "authorization-plugins",
    "bip",
    "bridge",
    "builder",
    "cgroup-parent",
    "cluster-advertise",
    "cluster-store",
    "cluster-store-opts",
    "containerd",
    "containerd-namespace",
    "containerd-plugins-namespace",
    "cpu-rt-period",
    "cpu-rt-runtime",
    "cri-containerd",
    "data-root",
    "debug",
    "default-address-pools",
    "default-cgroupns-mode",
    "default-gateway",
    "default-gateway-v6",
    "default-ipc-mode",
    "default-runtime",
    "default-shm-size",
    "default-ulimits",
    "dns",
    "dns-opts",
    "dns-search",
    "exec-opts",
    "exec-root",
    "experimental",
    "features",
    "fixed-cidr",
    "fixed-cidr-v6",
    "group",
    "host-gateway-ip",
    "hosts",
    "icc",
    "init",
    "init-path",
    "insecure-registries",
    "ip",
    "ip-forward",
    "ip-masq",
    "ip6tables",
    "iptables",
    "ipv6",
    "labels",
    "live-restore",
    "log-driver",
    "log-level",
    "log-opts",
    "max-concurrent-downloads",
    "max-concurrent-uploads",
    "max-download-attempts",
    "metrics-addr",
    "mtu",
    "no-new-privileges",
    "node-generic-resources",
    "oom-score-adjust",
    "pidfile",
    "raw-logs",
    "registry-mirrors",
    "rootless",
    "runtimes",
    "seccomp-profile",
    "selinux-enabled",
    "shutdown-timeout",
    "storage-driver",
    "storage-opts",
    "swarm-default-advertise-addr",
    "tls",
    "tlscacert",
    "tlscert",
    "tlskey",
    "tlsverify",
    "userland-proxy",
    "userland-proxy-path",
    "userns-remap",
];

const BOOL_KEYS: &[&str] = &[
    "debug",
    "experimental",
    "icc",
    "init",
    "ip-forward",
    "ip-masq",
    "ip6tables",
    "iptables",
    "ipv6",
    "live-restore",
    "no-new-privileges",
    "raw-logs",
    "selinux-enabled",
    "tls",
    "tlsverify",
    "userland-proxy",
];

const STRING_LIST_KEYS: &[&str] = &[
    "dns",
    "dns-opts",
    "dns-search",
    "exec-opts",
    "insecure-registries",
    "registry-mirrors",
    "storage-opts",
    "labels",
    "hosts",
    "authorization-plugins",
    "allow-nondistributable-artifacts",
];

/// An IPv4 CIDR `a.b.c.d/n`.
pub fn parse_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    (len <= 32).then_some((ip, len))
}

/// Whether `inner` (a CIDR) lies entirely inside `outer`.
pub fn cidr_within(inner: &str, outer: &str) -> bool {
    let (Some((i, il)), Some((o, ol))) = (parse_cidr(inner), parse_cidr(outer)) else {
        return false;
    };
    if il < ol {
        return false;
    }
    let mask = if ol == 0 { 0 } else { u32::MAX << (32 - ol) };
    (u32::from(i) & mask) == (u32::from(o) & mask)
}

/// Check a merged daemon.json. Returns every problem found (empty: fine).
pub fn validate(doc: &Value, strict_keys: bool) -> Vec<String> {
    let mut errs = Vec::new();
    let Some(obj) = doc.as_object() else {
        return vec!["daemon.json must be a JSON object".into()];
    };
    for (k, v) in obj {
        let key = k.as_str();
        if strict_keys && !KNOWN_KEYS.contains(&key) {
            let hint = nearest(key, KNOWN_KEYS.iter().copied())
                .map(|n| format!(" (did you mean \"{n}\"?)"))
                .unwrap_or_default();
            errs.push(format!(
                "\"{key}\" is not a daemon.json option of this dockerd{hint}"
            ));
            continue;
        }
        if BOOL_KEYS.contains(&key) && !v.is_boolean() {
            errs.push(format!("\"{key}\" must be true or false, got {v}"));
        }
        if STRING_LIST_KEYS.contains(&key)
            && !v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
        {
            errs.push(format!("\"{key}\" must be a list of strings, got {v}"));
        }
        match key {
            "storage-driver" => match v.as_str() {
                Some(d) if DRIVERS.contains(&d) => {}
                _ => errs.push(format!(
                    "\"storage-driver\" must be one of {}, got {v}",
                    DRIVERS.join(", ")
                )),
            },
            "bip" | "fixed-cidr" if v.as_str().and_then(parse_cidr).is_none() => {
                errs.push(format!(
                    "\"{key}\" must be an IPv4 address with a prefix length (e.g. 198.19.200.1/24), got {v}"
                ));
            }
            "default-address-pools" => match v.as_array() {
                Some(pools) if !pools.is_empty() => {
                    for (i, pool) in pools.iter().enumerate() {
                        let base = pool.get("base").and_then(Value::as_str);
                        let size = pool.get("size").and_then(Value::as_u64);
                        match (base.and_then(parse_cidr), size) {
                            (Some((_, len)), Some(size)) if (len as u64) <= size && size <= 32 => {}
                            (Some((_, len)), Some(size)) => errs.push(format!(
                                "\"default-address-pools\"[{i}]: size {size} must be between the base's prefix length {len} and 32"
                            )),
                            _ => errs.push(format!(
                                "\"default-address-pools\"[{i}] must be {{\"base\": \"a.b.c.d/n\", \"size\": N}}, got {pool}"
                            )),
                        }
                    }
                }
                _ => errs.push(format!(
                    "\"default-address-pools\" must be a non-empty list of {{\"base\", \"size\"}}, got {v}"
                )),
            },
            "mtu" if !v.as_u64().is_some_and(|m| (68..=65535).contains(&m)) => {
                errs.push(format!(
                    "\"mtu\" must be an integer between 68 and 65535, got {v}"
                ));
            }
            "data-root" | "exec-root" | "pidfile"
                if !v.as_str().is_some_and(|p| p.starts_with('/')) =>
            {
                errs.push(format!("\"{key}\" must be an absolute path, got {v}"));
            }
            "log-opts" => match v.as_object() {
                Some(o) => {
                    for (ok, ov) in o {
                        if !ov.is_string() {
                            errs.push(format!(
                                "\"log-opts\".\"{ok}\" must be a string (dockerd rejects other types), got {ov}"
                            ));
                        }
                    }
                }
                None => errs.push(format!("\"log-opts\" must be a mapping, got {v}")),
            },
            "log-level"
                if !matches!(v.as_str(), Some("debug" | "info" | "warn" | "error" | "fatal")) =>
            {
                errs.push(format!(
                    "\"log-level\" must be one of debug, info, warn, error, fatal, got {v}"
                ));
            }
            _ => {}
        }
    }
    errs
}

/// The `DOCKER_OPTS` value set in an `/etc/default/docker` text (the last assignment).
pub fn docker_opts(default_text: &str) -> Option<String> {
    default_text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("export ").unwrap_or(l);
            l.strip_prefix("DOCKER_OPTS=")
        })
        .next_back()
        .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
}

/// daemon.json keys that `DOCKER_OPTS` also sets as flags (`--bip ...`, `-s overlay2`).
pub fn flag_conflicts(doc: &Value, default_text: &str) -> Vec<String> {
    let Some(opts) = docker_opts(default_text) else {
        return Vec::new();
    };
    let Some(obj) = doc.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for word in opts.split_whitespace() {
        let flag = if word == "-s" {
            "storage-driver".to_string()
        } else if word == "-g" {
            "data-root".to_string()
        } else if let Some(f) = word.strip_prefix("--") {
            f.split('=').next().unwrap_or(f).to_string()
        } else {
            continue;
        };
        // A few flags are singular on the command line and plural in the file.
        let key = match flag.as_str() {
            "insecure-registry" => "insecure-registries".to_string(),
            "registry-mirror" => "registry-mirrors".to_string(),
            "dns-opt" => "dns-opts".to_string(),
            "exec-opt" => "exec-opts".to_string(),
            "storage-opt" => "storage-opts".to_string(),
            "log-opt" => "log-opts".to_string(),
            "label" => "labels".to_string(),
            "host" => "hosts".to_string(),
            "graph" => "data-root".to_string(),
            _ => flag,
        };
        if obj.contains_key(&key) && !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_lab_config_is_valid() {
        let doc = json!({
            "bip": "198.19.200.1/24",
            "default-address-pools": [{"base": "198.19.128.0/18", "size": 24}],
            "storage-driver": "btrfs",
            "mtu": 1500,
            "log-driver": "json-file",
            "log-opts": {"max-size": "10m", "max-file": "3"},
            "live-restore": true
        });
        assert_eq!(validate(&doc, true), Vec::<String>::new());
    }

    #[test]
    fn problems_are_named() {
        let doc = json!({
            "storage-drvier": "btrfs",
            "bip": "198.19.200.1",
            "default-address-pools": [{"base": "198.19.128.0/18", "size": 16}],
            "log-opts": {"max-file": 3},
            "debug": "yes",
            "storage-driver": "zfs",
            "mtu": 10
        });
        let errs = validate(&doc, true);
        assert_eq!(errs.len(), 7, "{errs:#?}");
        assert!(errs[0].contains("did you mean \"storage-driver\"?"));
        assert!(errs.iter().any(|e| e.contains("\"bip\" must be")));
        assert!(errs.iter().any(|e| e.contains("size 16")));
        assert!(errs.iter().any(|e| e.contains("\"log-opts\".\"max-file\"")));
        // Without strict keys (dockerd --validate will judge), unknown keys pass.
        assert!(validate(&json!({"proxies": {}}), false).is_empty());
        assert!(!validate(&json!([]), false).is_empty());
    }

    #[test]
    fn cidrs() {
        assert!(cidr_within("198.19.200.1/24", "198.18.0.0/15"));
        assert!(cidr_within("198.19.128.0/17", "198.18.0.0/15"));
        assert!(!cidr_within("172.17.0.1/16", "198.18.0.0/15"));
        assert!(!cidr_within("198.18.0.0/14", "198.18.0.0/15"));
    }

    #[test]
    fn docker_opts_conflicts() {
        let text =
            "# comment\nDOCKER_OPTS=\"--bip=10.0.0.1/24 -s overlay2 --insecure-registry x\"\n";
        let doc =
            json!({"bip": "198.19.200.1/24", "storage-driver": "btrfs", "insecure-registries": []});
        assert_eq!(
            flag_conflicts(&doc, text),
            ["bip", "storage-driver", "insecure-registries"]
        );
        assert!(flag_conflicts(&doc, "#DOCKER_OPTS=\"--bip x\"\n").is_empty());
    }
}
