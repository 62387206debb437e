//! Host key verification against OpenSSH `known_hosts` files.
//!
//! A configuration tool that runs as root on many hosts is a prime man-in-the-middle target, so
//! the host key of every connection is checked the way OpenSSH does, against the same files
//! (`~/.ssh/known_hosts`, `/etc/ssh/ssh_known_hosts`, plus `$CONVERGE_KNOWN_HOSTS`), including
//! hashed host names (`|1|salt|hash`, HMAC-SHA1), `[host]:port` entries, wildcard and negated
//! patterns and `@revoked` keys. russh's own helper handles fewer of these forms and reports no
//! file name, which the "host key changed" message needs.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use russh::keys::{HashAlg, PublicKey};
use sha1::{Digest, Sha1};

use super::ssh_config::pattern_match;

/// What to do about host keys (`--host-key-checking`, `ansible_host_key_checking`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Refuse unknown and changed keys.
    Strict,
    /// Record unknown keys, refuse changed ones.
    AcceptNew,
    /// Accept anything (lab use only).
    Off,
}

impl Policy {
    /// Parse a policy as written in a variable or on the command line.
    pub fn parse(s: &str) -> Result<Policy, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "strict" | "yes" | "true" | "1" => Ok(Policy::Strict),
            "accept-new" | "accept_new" => Ok(Policy::AcceptNew),
            "off" | "no" | "false" | "0" => Ok(Policy::Off),
            other => Err(format!(
                "invalid host key checking '{other}' (expected strict, accept-new or off)"
            )),
        }
    }
}

/// The outcome of looking a key up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Known,
    Unknown,
    /// The host is known with another key; where the first mismatching entry is.
    Changed {
        file: PathBuf,
        line: usize,
    },
    /// The key is listed as `@revoked`.
    Revoked {
        file: PathBuf,
        line: usize,
    },
}

/// The files searched, in order, and the one new keys are appended to.
#[derive(Debug, Clone)]
pub struct KnownHosts {
    pub files: Vec<PathBuf>,
    pub append_to: PathBuf,
}

impl KnownHosts {
    /// The default files: `~/.ssh/known_hosts`, `/etc/ssh/ssh_known_hosts` and
    /// `$CONVERGE_KNOWN_HOSTS`; new keys go to the latter when set, else to the user's file.
    pub fn from_env() -> KnownHosts {
        let user = super::ssh_config::home_dir().map(|h| h.join(".ssh/known_hosts"));
        let extra = std::env::var_os("CONVERGE_KNOWN_HOSTS")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let mut files = Vec::new();
        files.extend(user.clone());
        files.push(PathBuf::from("/etc/ssh/ssh_known_hosts"));
        files.extend(extra.clone());
        let append_to = extra
            .or(user)
            .unwrap_or_else(|| PathBuf::from(".ssh/known_hosts"));
        KnownHosts { files, append_to }
    }

    /// Look `key` up for `host` on `port`.
    pub fn check(&self, host: &str, port: u16, key: &PublicKey) -> Verdict {
        let mut changed = None;
        let mut known = false;
        for file in &self.files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            for entry in parse(&text) {
                if !entry.matches_host(host, port) {
                    continue;
                }
                let same = entry
                    .key
                    .as_ref()
                    .is_some_and(|k| k.key_data() == key.key_data());
                match entry.marker {
                    Marker::Revoked if same => {
                        return Verdict::Revoked {
                            file: file.clone(),
                            line: entry.line,
                        }
                    }
                    Marker::Revoked | Marker::CertAuthority => {}
                    Marker::None if same => known = true,
                    Marker::None => {
                        // Name the entry of the same key type when there is one, as OpenSSH.
                        let same_type = entry
                            .key
                            .as_ref()
                            .is_some_and(|k| k.algorithm() == key.algorithm());
                        let better = match &changed {
                            None => entry.key.is_some(),
                            Some((_, prev_same)) => same_type && !prev_same,
                        };
                        if better {
                            changed = Some((
                                Verdict::Changed {
                                    file: file.clone(),
                                    line: entry.line,
                                },
                                same_type,
                            ));
                        }
                    }
                }
            }
        }
        if known {
            Verdict::Known
        } else {
            changed.map(|(v, _)| v).unwrap_or(Verdict::Unknown)
        }
    }

    /// The key algorithms this host is known with, to prefer them in the negotiation (as
    /// OpenSSH does), so that a host known by its RSA key is not reported as "changed" because
    /// it offered its ed25519 key first.
    pub fn known_algorithms(&self, host: &str, port: u16) -> Vec<russh::keys::Algorithm> {
        let mut algs = Vec::new();
        for file in &self.files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            for entry in parse(&text) {
                if entry.marker == Marker::None && entry.matches_host(host, port) {
                    if let Some(k) = &entry.key {
                        let a = k.algorithm();
                        if !algs.contains(&a) {
                            algs.push(a);
                        }
                    }
                }
            }
        }
        algs
    }

    /// Record a key (accept-new).
    pub fn append(&self, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
        static LOCK: Mutex<()> = Mutex::new(());
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(dir) = self
            .append_to
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            if !dir.exists() {
                std::fs::create_dir_all(dir)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
                }
            }
        }
        let needs_newline = std::fs::read(&self.append_to)
            .map(|b| !b.is_empty() && !b.ends_with(b"\n"))
            .unwrap_or(false);
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.append_to)?;
        let mut line = String::new();
        if needs_newline {
            line.push('\n');
        }
        line.push_str(&entry_line(host, port, key));
        line.push('\n');
        f.write_all(line.as_bytes())
    }
}

/// `host` or `[host]:port`, as known_hosts names a host.
pub fn host_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// A known_hosts line for a key.
pub fn entry_line(host: &str, port: u16, key: &PublicKey) -> String {
    use russh::keys::PublicKeyBase64;
    format!(
        "{} {} {}",
        host_name(host, port),
        key.algorithm().as_str(),
        key.public_key_base64()
    )
}

/// `SHA256:…`, as OpenSSH prints fingerprints.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    CertAuthority,
    Revoked,
}

#[derive(Debug)]
struct Entry {
    line: usize,
    marker: Marker,
    hosts: String,
    /// `None` when the key could not be parsed (an unsupported type).
    key: Option<PublicKey>,
}

fn parse(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let mut first = words.next().unwrap_or("");
        let marker = match first {
            "@cert-authority" => Marker::CertAuthority,
            "@revoked" => Marker::Revoked,
            m if m.starts_with('@') => continue,
            _ => Marker::None,
        };
        if marker != Marker::None {
            first = words.next().unwrap_or("");
        }
        let (Some(_kind), Some(b64)) = (words.next(), words.next()) else {
            continue;
        };
        entries.push(Entry {
            line: i + 1,
            marker,
            hosts: first.to_string(),
            key: russh::keys::parse_public_key_base64(b64).ok(),
        });
    }
    entries
}

impl Entry {
    fn matches_host(&self, host: &str, port: u16) -> bool {
        let name = host_name(host, port);
        if let Some(hashed) = self.hosts.strip_prefix("|1|") {
            let Some((salt, hash)) = hashed.split_once('|') else {
                return false;
            };
            let b64 = base64::engine::general_purpose::STANDARD;
            let (Ok(salt), Ok(hash)) = (b64.decode(salt), b64.decode(hash)) else {
                return false;
            };
            return hmac_sha1(&salt, name.as_bytes()).as_slice() == hash.as_slice();
        }
        let mut matched = false;
        for pat in self.hosts.split(',') {
            if let Some(neg) = pat.strip_prefix('!') {
                if host_pattern_matches(neg, &name) {
                    return false;
                }
            } else if host_pattern_matches(pat, &name) {
                matched = true;
            }
        }
        matched
    }
}

/// A pattern without a port (`host`, `*.example.com`) only matches port 22, like OpenSSH;
/// `[host]:port` patterns match the bracketed name.
fn host_pattern_matches(pattern: &str, name: &str) -> bool {
    pattern_match(&pattern.to_ascii_lowercase(), &name.to_ascii_lowercase())
}

/// HMAC-SHA1 (RFC 2104), the hash of hashed known_hosts names; a few lines instead of a crate.
pub fn hmac_sha1(key: &[u8], msg: &[u8]) -> [u8; 20] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha1::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let inner = inner.finalize();
    let mut outer = Sha1::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Where a file:line is shown to the user.
pub fn location(file: &Path, line: usize) -> String {
    format!("{}:{line}", file.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED1: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const ED2: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";

    fn key(b64: &str) -> PublicKey {
        russh::keys::parse_public_key_base64(b64).unwrap()
    }

    fn kh(text: &str) -> (tempfile::TempDir, KnownHosts) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("known_hosts");
        std::fs::write(&f, text).unwrap();
        let k = KnownHosts {
            files: vec![dir.path().join("absent"), f.clone()],
            append_to: f,
        };
        (dir, k)
    }

    #[test]
    fn hmac_rfc2202() {
        let mac = hmac_sha1(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        let mac = hmac_sha1(
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "aa4ae5e15272d00e95705637ce8a3b55ed402112");
    }

    #[test]
    fn plain_port_and_patterns() {
        let (_d, k) = kh(&format!(
            "# comment\n\
             web1,10.0.0.1 ssh-ed25519 {ED1}\n\
             [10.0.0.2]:2222 ssh-ed25519 {ED1}\n\
             *.lab,!bad.lab ssh-ed25519 {ED1}\n\
             garbage\n"
        ));
        let k1 = key(ED1);
        assert_eq!(k.check("web1", 22, &k1), Verdict::Known);
        assert_eq!(k.check("10.0.0.1", 22, &k1), Verdict::Known);
        assert_eq!(k.check("WEB1", 22, &k1), Verdict::Known);
        assert_eq!(k.check("web1", 2222, &k1), Verdict::Unknown);
        assert_eq!(k.check("10.0.0.2", 2222, &k1), Verdict::Known);
        assert_eq!(k.check("10.0.0.2", 22, &k1), Verdict::Unknown);
        assert_eq!(k.check("h1.lab", 22, &k1), Verdict::Known);
        assert_eq!(k.check("bad.lab", 22, &k1), Verdict::Unknown);
        match k.check("web1", 22, &key(ED2)) {
            Verdict::Changed { line, .. } => assert_eq!(line, 2),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn changed_names_the_entry_of_the_same_type() {
        let ecdsa = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBBfukh1zv2rUmXXtPiNltcncfL4D/ydErd/W/fUTgDYT656UfgFiHMGd3Omtr/ft4+cSbb6i84fdFvbb4VzL8So=";
        let (_d, k) = kh(&format!(
            "h1 ecdsa-sha2-nistp256 {ecdsa}\nh1 ssh-ed25519 {ED1}\n"
        ));
        assert!(matches!(
            k.check("h1", 22, &key(ED2)),
            Verdict::Changed { line: 2, .. }
        ));
    }

    #[test]
    fn hashed_entries() {
        // `ssh-keygen -H` format for "[198.18.0.11]:2222", salt chosen here.
        let salt = b"0123456789abcdefghij";
        let b64 = base64::engine::general_purpose::STANDARD;
        let h = hmac_sha1(salt, b"[198.18.0.11]:2222");
        let line = format!(
            "|1|{}|{} ssh-ed25519 {ED1}\n",
            b64.encode(salt),
            b64.encode(h)
        );
        let (_d, k) = kh(&line);
        assert_eq!(k.check("198.18.0.11", 2222, &key(ED1)), Verdict::Known);
        assert_eq!(k.check("198.18.0.11", 22, &key(ED1)), Verdict::Unknown);
        assert!(matches!(
            k.check("198.18.0.11", 2222, &key(ED2)),
            Verdict::Changed { line: 1, .. }
        ));
    }

    #[test]
    fn markers() {
        let (_d, k) = kh(&format!(
            "@cert-authority *.lab ssh-ed25519 {ED2}\n\
             @revoked * ssh-ed25519 {ED1}\n\
             h1 ssh-ed25519 {ED1}\n"
        ));
        assert!(matches!(
            k.check("h1", 22, &key(ED1)),
            Verdict::Revoked { line: 2, .. }
        ));
        // A CA line is not a host key.
        assert_eq!(k.check("x.lab", 22, &key(ED2)), Verdict::Unknown);
    }

    #[test]
    fn append_and_find_again() {
        let (_d, k) = kh("h0 ssh-ed25519 AAAA-not-base64"); // no trailing newline, bad key
        k.append("198.18.0.12", 22, &key(ED1)).unwrap();
        k.append("198.18.0.12", 2200, &key(ED2)).unwrap();
        assert_eq!(k.check("198.18.0.12", 22, &key(ED1)), Verdict::Known);
        assert_eq!(k.check("198.18.0.12", 2200, &key(ED2)), Verdict::Known);
        let text = std::fs::read_to_string(&k.append_to).unwrap();
        assert!(
            text.contains(&format!("\n198.18.0.12 ssh-ed25519 {ED1}\n")),
            "{text}"
        );
        assert!(text.contains(&format!("[198.18.0.12]:2200 ssh-ed25519 {ED2}\n")));
        // An unparseable entry for a host is not a "changed" key.
        assert_eq!(k.check("h0", 22, &key(ED1)), Verdict::Unknown);
        assert_eq!(
            k.known_algorithms("198.18.0.12", 22),
            vec![key(ED1).algorithm()]
        );
    }

    #[test]
    fn policies() {
        assert_eq!(Policy::parse("accept-new").unwrap(), Policy::AcceptNew);
        assert_eq!(Policy::parse("False").unwrap(), Policy::Off);
        assert_eq!(Policy::parse("strict").unwrap(), Policy::Strict);
        assert!(Policy::parse("maybe").is_err());
        assert!(fingerprint(&key(ED1)).starts_with("SHA256:"));
    }
}
