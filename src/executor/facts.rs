//! Facts gathered in ONE command on the host, with nothing but a POSIX shell and the usual
//! coreutils (no Python): hostname, OS, kernel, architecture, default IPv4, memory, CPUs,
//! service manager, package manager, the remote user and its environment.

use serde_json::{json, Map, Value};

/// The script run on the host; sections are separated by `@@name` lines.
pub const GATHER_SCRIPT: &str = r#"echo "@@basic"
echo "hostname=$(hostname 2>/dev/null || cat /etc/hostname 2>/dev/null)"
echo "fqdn=$(hostname -f 2>/dev/null || hostname 2>/dev/null)"
echo "kernel=$(uname -r)"
echo "kernel_version=$(uname -v)"
echo "machine=$(uname -m)"
echo "system=$(uname -s)"
echo "nproc=$(nproc 2>/dev/null || grep -c ^processor /proc/cpuinfo 2>/dev/null)"
echo "user_id=$(id -un)"
echo "user_uid=$(id -u)"
echo "user_gid=$(id -g)"
echo "user_dir=$HOME"
echo "init=$(cat /proc/1/comm 2>/dev/null)"
if [ -d /run/systemd/system ]; then echo "systemd_booted=1"; fi
for m in apt-get dnf yum apk zypper pacman; do if command -v $m >/dev/null 2>&1; then echo "pkg=$m"; break; fi; done
iface=$(awk '$2 == "00000000" { print $1; exit }' /proc/net/route 2>/dev/null)
echo "iface=$iface"
if [ -n "$iface" ]; then
  if command -v ip >/dev/null 2>&1; then
    echo "ipv4=$(ip -4 -o addr show dev "$iface" 2>/dev/null | awk '{print $4; exit}')"
  fi
  echo "gateway_hex=$(awk -v i="$iface" '$1 == i && $2 == "00000000" { print $3; exit }' /proc/net/route 2>/dev/null)"
fi
for py in python3 python /usr/libexec/platform-python; do
  if command -v $py >/dev/null 2>&1; then
    $py -c 'import sys; print("python_executable=" + sys.executable); print("python_version_info=" + " ".join(str(x) for x in sys.version_info)); print("python_type=" + sys.implementation.name)' 2>/dev/null
    break
  fi
done
echo "@@os-release"
cat /etc/os-release 2>/dev/null
echo "@@meminfo"
grep -E '^(MemTotal|MemFree|SwapTotal|SwapFree):' /proc/meminfo 2>/dev/null
echo "@@env"
env
"#;

fn sections(out: &str) -> Vec<(&str, Vec<&str>)> {
    let mut result: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in out.lines() {
        if let Some(name) = line.strip_prefix("@@") {
            result.push((name, Vec::new()));
        } else if let Some((_, lines)) = result.last_mut() {
            lines.push(line);
        }
    }
    result
}

fn kv(lines: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    for l in lines {
        if let Some((k, v)) = l.split_once('=') {
            m.insert(
                k.to_string(),
                Value::String(v.trim_matches('"').to_string()),
            );
        }
    }
    m
}

fn s(m: &Map<String, Value>, k: &str) -> String {
    m.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

/// Map a distribution id to Ansible's `os_family`.
fn os_family(id: &str, id_like: &str) -> &'static str {
    let all = format!("{id} {id_like}");
    if all.contains("debian") || all.contains("ubuntu") {
        "Debian"
    } else if all.contains("rhel") || all.contains("fedora") || all.contains("centos") {
        "RedHat"
    } else if all.contains("alpine") {
        "Alpine"
    } else if all.contains("suse") {
        "Suse"
    } else if all.contains("arch") {
        "Archlinux"
    } else {
        "Linux"
    }
}

/// Turn the script's output into `ansible_facts` (keys without the `ansible_` prefix).
pub fn parse(out: &str) -> Map<String, Value> {
    let secs = sections(out);
    let get = |name: &str| {
        secs.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    };
    let basic = kv(&get("basic"));
    let os = kv(&get("os-release"));
    let mut facts = Map::new();
    let hostname = s(&basic, "hostname");
    let fqdn = s(&basic, "fqdn");
    facts.insert(
        "hostname".into(),
        json!(hostname.split('.').next().unwrap_or(&hostname)),
    );
    facts.insert("nodename".into(), json!(hostname));
    facts.insert(
        "fqdn".into(),
        json!(if fqdn.is_empty() {
            hostname.clone()
        } else {
            fqdn
        }),
    );
    facts.insert("kernel".into(), json!(s(&basic, "kernel")));
    facts.insert("kernel_version".into(), json!(s(&basic, "kernel_version")));
    facts.insert("architecture".into(), json!(s(&basic, "machine")));
    facts.insert("machine".into(), json!(s(&basic, "machine")));
    facts.insert("system".into(), json!(s(&basic, "system")));
    let id = s(&os, "ID");
    let name = s(&os, "NAME");
    let distribution = match id.as_str() {
        "debian" => "Debian".to_string(),
        "ubuntu" => "Ubuntu".to_string(),
        "" => s(&basic, "system"),
        _ => name.split_whitespace().next().unwrap_or(&id).to_string(),
    };
    let version = s(&os, "VERSION_ID");
    facts.insert("distribution".into(), json!(distribution));
    facts.insert("distribution_version".into(), json!(version));
    facts.insert(
        "distribution_major_version".into(),
        json!(version.split('.').next().unwrap_or("")),
    );
    facts.insert(
        "distribution_release".into(),
        json!(s(&os, "VERSION_CODENAME")),
    );
    facts.insert(
        "os_family".into(),
        json!(os_family(&id, &s(&os, "ID_LIKE"))),
    );
    let nproc: u64 = s(&basic, "nproc").parse().unwrap_or(1);
    facts.insert("processor_vcpus".into(), json!(nproc));
    facts.insert("processor_count".into(), json!(nproc));
    facts.insert("processor_cores".into(), json!(nproc));
    let mem = kv(&get("meminfo")
        .iter()
        .map(|l| l.replacen(':', "=", 1))
        .collect::<Vec<_>>()
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let mb = |k: &str| -> u64 {
        s(&mem, k)
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    };
    facts.insert("memtotal_mb".into(), json!(mb("MemTotal")));
    facts.insert("memfree_mb".into(), json!(mb("MemFree")));
    facts.insert("swaptotal_mb".into(), json!(mb("SwapTotal")));
    let init = s(&basic, "init");
    let service_mgr = if basic.contains_key("systemd_booted") || init == "systemd" {
        "systemd".to_string()
    } else if init.is_empty() || init == "sshd" || init == "sh" || init == "bash" {
        // Containers and chroots without an init system: SysV scripts are the way to go.
        "sysvinit".to_string()
    } else {
        init
    };
    facts.insert("service_mgr".into(), json!(service_mgr));
    let pkg = match s(&basic, "pkg").as_str() {
        "apt-get" => "apt".to_string(),
        "" => "unknown".to_string(),
        other => other.to_string(),
    };
    facts.insert("pkg_mgr".into(), json!(pkg));
    facts.insert("user_id".into(), json!(s(&basic, "user_id")));
    facts.insert(
        "user_uid".into(),
        json!(s(&basic, "user_uid").parse::<u64>().unwrap_or(0)),
    );
    facts.insert(
        "user_gid".into(),
        json!(s(&basic, "user_gid").parse::<u64>().unwrap_or(0)),
    );
    facts.insert("user_dir".into(), json!(s(&basic, "user_dir")));
    let ipv4 = s(&basic, "ipv4");
    let address = ipv4.split('/').next().unwrap_or("").to_string();
    let gateway = gateway_from_hex(&s(&basic, "gateway_hex"));
    facts.insert(
        "default_ipv4".into(),
        json!({"address": address, "interface": s(&basic, "iface"), "gateway": gateway, "prefix": ipv4.split('/').nth(1).unwrap_or("")}),
    );
    facts.insert(
        "all_ipv4_addresses".into(),
        json!(if address.is_empty() {
            vec![]
        } else {
            vec![address]
        }),
    );
    facts.insert("env".into(), Value::Object(kv(&get("env"))));
    add_python(&mut facts, &basic);
    facts
}

/// `python`, `python_version`: the host's Python as Ansible reports it (when there is one).
fn add_python(facts: &mut Map<String, Value>, basic: &Map<String, Value>) {
    let info = s(basic, "python_version_info");
    let parts: Vec<&str> = info.split_whitespace().collect();
    let [major, minor, micro, level, serial] = parts[..] else {
        return;
    };
    let num = |p: &str| p.parse::<u64>().map_or(json!(p), |n| json!(n));
    let kind = match s(basic, "python_type").as_str() {
        "cpython" => "CPython".to_string(),
        "pypy" => "PyPy".to_string(),
        other => other.to_string(),
    };
    facts.insert(
        "python".into(),
        json!({
            "executable": s(basic, "python_executable"),
            "has_sslcontext": true,
            "type": kind,
            "version": {"major": num(major), "minor": num(minor), "micro": num(micro),
                        "releaselevel": level, "serial": num(serial)},
            "version_info": [num(major), num(minor), num(micro), level, num(serial)],
        }),
    );
    facts.insert(
        "python_version".into(),
        json!(format!("{major}.{minor}.{micro}")),
    );
}

/// The facts as a module result carries them: every key with the `ansible_` prefix.
pub fn prefixed(facts: &Map<String, Value>) -> Map<String, Value> {
    facts
        .iter()
        .map(|(k, v)| (format!("ansible_{k}"), v.clone()))
        .collect()
}

/// `/proc/net/route` stores addresses as little-endian hex.
fn gateway_from_hex(hex: &str) -> String {
    match u32::from_str_radix(hex, 16) {
        Ok(v) if !hex.is_empty() => {
            let b = v.to_le_bytes();
            format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_debian_host() {
        let out = "@@basic\nhostname=h1\nfqdn=h1.lab\nkernel=6.1.0\nmachine=x86_64\nsystem=Linux\nnproc=2\nuser_id=root\nuser_uid=0\nuser_gid=0\nuser_dir=/root\ninit=sshd\npkg=apt-get\niface=eth0\nipv4=198.18.0.11/16\ngateway_hex=010012C6\n@@os-release\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nNAME=\"Debian GNU/Linux\"\n@@meminfo\nMemTotal:       2048000 kB\n@@env\nHOME=/root\n";
        let f = parse(out);
        assert_eq!(f["distribution"], "Debian");
        assert_eq!(f["distribution_major_version"], "12");
        assert_eq!(f["distribution_release"], "bookworm");
        assert_eq!(f["os_family"], "Debian");
        assert_eq!(f["pkg_mgr"], "apt");
        assert_eq!(f["service_mgr"], "sysvinit");
        assert_eq!(f["default_ipv4"]["address"], "198.18.0.11");
        assert_eq!(f["default_ipv4"]["gateway"], "198.18.0.1");
        assert_eq!(f["memtotal_mb"], 2000);
        assert_eq!(f["env"]["HOME"], "/root");
        assert!(f.get("python").is_none());
    }

    #[test]
    fn parses_python() {
        let out = "@@basic\npython_executable=/usr/bin/python3\npython_version_info=3 11 2 final 0\npython_type=cpython\n";
        let f = parse(out);
        assert_eq!(f["python"]["executable"], "/usr/bin/python3");
        assert_eq!(f["python"]["version"]["minor"], 11);
        assert_eq!(f["python"]["type"], "CPython");
        assert_eq!(f["python_version"], "3.11.2");
        assert_eq!(prefixed(&f)["ansible_python_version"], "3.11.2");
    }
}
