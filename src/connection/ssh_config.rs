//! The basics of `~/.ssh/config`, so that converge reaches hosts the way `ssh` does.
//!
//! Operators already describe their jump hosts, users, ports and keys there; ignoring it would
//! make `converge` fail where `ssh host` works. Only the keywords that matter to a
//! non-interactive client are read: `Host` blocks (patterns with `*`, `?`, `!`), `HostName`,
//! `User`, `Port`, `IdentityFile`, `ProxyJump`, `ConnectTimeout`. `Match` blocks are skipped
//! and `Include` is not followed. As in OpenSSH, the first value found for a keyword wins
//! (`IdentityFile` accumulates); inventory variables win over all of it.

use std::path::{Path, PathBuf};

/// What the config says about one host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_files: Vec<PathBuf>,
    /// `ProxyJump`, `None` when absent or `none`.
    pub proxy_jump: Option<String>,
    pub connect_timeout: Option<u64>,
}

/// The user's home directory (`$HOME`, else the password database).
pub fn home_dir() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(h));
    }
    // SAFETY: getpwuid returns a pointer into static storage or null; read immediately.
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if pw.is_null() || (*pw).pw_dir.is_null() {
            return None;
        }
        let dir = std::ffi::CStr::from_ptr((*pw).pw_dir);
        Some(PathBuf::from(dir.to_string_lossy().into_owned()))
    }
}

/// The name of the local user, the default remote user.
pub fn local_user() -> String {
    if let Some(u) = std::env::var("USER").ok().filter(|u| !u.is_empty()) {
        return u;
    }
    // SAFETY: as in `home_dir`.
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if !pw.is_null() && !(*pw).pw_name.is_null() {
            return std::ffi::CStr::from_ptr((*pw).pw_name)
                .to_string_lossy()
                .into_owned();
        }
    }
    "root".to_string()
}

/// Expand a leading `~` (and `%d`, the home directory).
pub fn expand_tilde(path: &str) -> PathBuf {
    let home = home_dir();
    let home_s = home
        .as_ref()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    let path = path.replace("%d", &home_s);
    if path == "~" {
        return PathBuf::from(home_s);
    }
    if let Some(rest) = path.strip_prefix("~/") {
        if let Some(h) = home {
            return h.join(rest);
        }
    }
    PathBuf::from(path)
}

/// The config file read: `$CONVERGE_SSH_CONFIG` when set, else `~/.ssh/config`.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CONVERGE_SSH_CONFIG") {
        return Some(PathBuf::from(p));
    }
    home_dir().map(|h| h.join(".ssh/config"))
}

/// Look a host up in the user's config (an unreadable or absent file says nothing).
pub fn lookup(host: &str) -> HostConfig {
    config_path()
        .and_then(|p| load(&p).ok())
        .map(|text| parse(&text, host))
        .unwrap_or_default()
}

fn load(path: &Path) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

/// Apply a config text to `host`.
pub fn parse(text: &str, host: &str) -> HostConfig {
    let mut cfg = HostConfig::default();
    let mut proxy_jump_seen = false;
    let mut active = true; // lines before the first Host apply to every host
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = split_keyword(line);
        let key = key.to_ascii_lowercase();
        match key.as_str() {
            "host" => {
                active = host_matches(&value, host);
                continue;
            }
            "match" => {
                active = false;
                continue;
            }
            _ => {}
        }
        if !active {
            continue;
        }
        let value = unquote(&value);
        match key.as_str() {
            "hostname" if cfg.hostname.is_none() => {
                cfg.hostname = Some(value.replace("%h", host));
            }
            "user" if cfg.user.is_none() => cfg.user = Some(value),
            "port" if cfg.port.is_none() => cfg.port = value.parse().ok(),
            "identityfile" if !value.eq_ignore_ascii_case("none") => {
                cfg.identity_files
                    .push(expand_tilde(&value.replace("%h", host)));
            }
            "proxyjump" if !proxy_jump_seen => {
                proxy_jump_seen = true;
                if !value.eq_ignore_ascii_case("none") {
                    cfg.proxy_jump = Some(value);
                }
            }
            "connecttimeout" if cfg.connect_timeout.is_none() => {
                cfg.connect_timeout = value.parse().ok();
            }
            _ => {}
        }
    }
    cfg
}

fn split_keyword(line: &str) -> (String, String) {
    let idx = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let key = &line[..idx];
    let rest = line[idx..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    (key.to_string(), rest.to_string())
}

fn unquote(v: &str) -> String {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
        .to_string()
}

/// A `Host` line: whitespace-separated patterns, `!` negates; matches when some positive
/// pattern matches and no negated one does.
pub fn host_matches(patterns: &str, host: &str) -> bool {
    let mut matched = false;
    for pat in patterns.split_whitespace().flat_map(|p| p.split(',')) {
        let pat = unquote(pat);
        if let Some(neg) = pat.strip_prefix('!') {
            if pattern_match(neg, host) {
                return false;
            }
        } else if pattern_match(&pat, host) {
            matched = true;
        }
    }
    matched
}

/// Glob match with `*` (any run) and `?` (one character), as OpenSSH's `match_pattern`.
pub fn pattern_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// One hop of a `ProxyJump` list: `[user@]host[:port]` (or `ssh://user@host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

/// Parse a `ProxyJump` value: comma-separated hops, the first one connected first.
pub fn parse_proxy_jump(value: &str) -> Result<Vec<Jump>, String> {
    value
        .split(',')
        .map(|hop| {
            let hop = hop.trim();
            let hop = hop.strip_prefix("ssh://").unwrap_or(hop);
            let (user, rest) = match hop.rsplit_once('@') {
                Some((u, r)) => (Some(u.to_string()), r),
                None => (None, hop),
            };
            let (host, port) = if let Some(r) = rest.strip_prefix('[') {
                let (h, after) = r
                    .split_once(']')
                    .ok_or_else(|| format!("invalid ProxyJump hop '{hop}'"))?;
                (h.to_string(), after.strip_prefix(':'))
            } else {
                match rest.rsplit_once(':') {
                    Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p)),
                    _ => (rest.to_string(), None),
                }
            };
            let port = port
                .map(|p| {
                    p.parse::<u16>()
                        .map_err(|_| format!("invalid port in ProxyJump hop '{hop}'"))
                })
                .transpose()?;
            if host.is_empty() {
                return Err(format!("invalid ProxyJump hop '{hop}'"));
            }
            Ok(Jump { user, host, port })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(pattern_match("*", "anything"));
        assert!(pattern_match("web*", "web12"));
        assert!(pattern_match("web?", "web1"));
        assert!(!pattern_match("web?", "web12"));
        assert!(pattern_match("*.lab", "h1.lab"));
        assert!(!pattern_match("*.lab", "h1.lab.org"));
        assert!(pattern_match("a*b*c", "axxbyyc"));
        assert!(pattern_match("198.18.0.*", "198.18.0.11"));
        assert!(host_matches("198.18.0.* !198.18.0.13", "198.18.0.11"));
        assert!(!host_matches("198.18.0.* !198.18.0.13", "198.18.0.13"));
        assert!(!host_matches("!198.18.0.13", "198.18.0.11"));
    }

    #[test]
    fn first_value_wins_and_identities_accumulate() {
        let text = "\
# global
IdentityFile ~/.ssh/global_key

Host web? !web9
    HostName %h.internal
    User deploy
    Port=2200
    IdentityFile \"~/keys/web key\"
    ProxyJump admin@bastion:2222

Match host web1
    User ignored

Host *
    User fallback
    Port 22
    ConnectTimeout 7
    ProxyJump none
";
        let home = home_dir().unwrap();
        let c = parse(text, "web1");
        assert_eq!(c.hostname.as_deref(), Some("web1.internal"));
        assert_eq!(c.user.as_deref(), Some("deploy"));
        assert_eq!(c.port, Some(2200));
        assert_eq!(c.connect_timeout, Some(7));
        assert_eq!(
            c.identity_files,
            vec![home.join(".ssh/global_key"), home.join("keys/web key")]
        );
        assert_eq!(c.proxy_jump.as_deref(), Some("admin@bastion:2222"));

        let c = parse(text, "web9");
        assert_eq!(c.user.as_deref(), Some("fallback"));
        assert_eq!(c.hostname, None);
        assert_eq!(c.proxy_jump, None);
    }

    #[test]
    fn proxy_jump_hops() {
        assert_eq!(
            parse_proxy_jump("admin@bastion:2222,inner").unwrap(),
            vec![
                Jump {
                    user: Some("admin".into()),
                    host: "bastion".into(),
                    port: Some(2222)
                },
                Jump {
                    user: None,
                    host: "inner".into(),
                    port: None
                }
            ]
        );
        assert_eq!(
            parse_proxy_jump("ssh://u@[::1]:2200").unwrap()[0],
            Jump {
                user: Some("u".into()),
                host: "::1".into(),
                port: Some(2200)
            }
        );
        assert!(parse_proxy_jump("h:notaport").is_err());
    }
}
