//! Ansible's `parse_address`: splits `host:port`, `[ipv6]:port` and `10.0.0.1:22` into a host and
//! a port, and decides whether a string is a valid host name or IP address (ranges such as
//! `web[01:20]` allowed when asked). Inventory host lines, `-i a,b,` host lists and host patterns
//! all depend on exactly which strings it accepts, so its rules are copied from Ansible's regexes.

use regex::Regex;
use std::sync::OnceLock;

const NUMERIC_RANGE: &str = r"\[[0-9]+:[0-9]+(?::[0-9]+)?\]";

struct Patterns {
    bracketed_hostport: Regex,
    hostport: Regex,
    ipv4: Regex,
    ipv6: Regex,
    alnum_range: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let i4 = format!(r"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{NUMERIC_RANGE})");
        let c = format!(r"(?:[0-9a-f]{{1,4}}|{NUMERIC_RANGE})");
        // Ansible's IPv6 expression anchors `$` to its last alternative only (and `re.match`
        // anchors the start), so the other alternatives accept any suffix. Reproduced as is.
        let ipv6 = [
            format!(r"(?:{c}:){{7}}{c}"),
            format!(r"(?:{c}:){{1,6}}:"),
            format!(r"(?:{c}:)(?::{c}){{1,6}}"),
            format!(r"(?:{c}:){{2}}(?::{c}){{1,5}}"),
            format!(r"(?:{c}:){{3}}(?::{c}){{1,4}}"),
            format!(r"(?:{c}:){{4}}(?::{c}){{1,3}}"),
            format!(r"(?:{c}:){{5}}(?::{c}){{1,2}}"),
            format!(r"(?:{c}:){{6}}(?::{c})"),
            format!(r":(?::{c}){{1,6}}"),
            format!(r"{c}?::"),
            format!(r"(?:0:){{6}}(?:{c}\.){{3}}{c}"),
            format!(r"::(?:ffff:)?(?:{c}\.){{3}}{c}"),
            format!(r"(?:0:){{5}}ffff:(?:{c}\.){{3}}{c}$"),
        ]
        .join("|");
        Patterns {
            bracketed_hostport: Regex::new(r"^\[(.+)\]:([0-9]+)$").unwrap(),
            hostport: Regex::new(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$").unwrap(),
            ipv4: Regex::new(&format!(r"(?i)^(?:{i4}\.){{3}}{i4}$")).unwrap(),
            ipv6: Regex::new(&format!(r"(?i)^(?:{ipv6})")).unwrap(),
            alnum_range: Regex::new(r"(?i)^\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]").unwrap(),
        }
    })
}

/// A host and optional port, as parsed from an address.
#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    pub host: String,
    pub port: Option<u64>,
    /// Byte offset of `host` inside the string parsed (1 for `[host]:port`).
    pub offset: usize,
}

/// `parse_address(address, allow_ranges)`: `Err` where Ansible raises ("Not a valid network
/// hostname", or a range where none is allowed).
pub fn parse_address(address: &str, allow_ranges: bool) -> Result<Address, String> {
    let p = patterns();
    let mut host = address;
    let mut port = None;
    let mut offset = 0;
    // Both forms are tried in turn, like the `for ... continue` loop in Ansible.
    if let Some(m) = p.bracketed_hostport.captures(host) {
        let inner = m.get(1).unwrap();
        port = m[2].parse::<u64>().ok();
        offset = inner.start();
        host = &address[inner.range()];
    }
    if let Some(m) = p.hostport.captures(host) {
        let h = m.get(1).unwrap();
        port = m[2].parse::<u64>().ok();
        host = &host[h.range()];
    }
    if !(p.ipv4.is_match(host) || p.ipv6.is_match(host) || is_hostname(host)) {
        return Err(format!("Not a valid network hostname: {host}"));
    }
    if !allow_ranges && host.contains('[') {
        return Err("Detected range in host but was asked to ignore ranges".into());
    }
    Ok(Address {
        host: host.to_string(),
        port,
        offset,
    })
}

/// Ansible's `hostname` expression: dot-separated labels of word characters, dashes and
/// `[x:y]` ranges, each label starting with a word character or range and not ending in `-`/`_`.
pub fn is_hostname(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_label)
}

fn is_label(label: &str) -> bool {
    let mut i = 0;
    let mut last_char: Option<char> = None;
    let mut first = true;
    while i < label.len() {
        let rest = &label[i..];
        if rest.starts_with('[') {
            let Some(m) = patterns().alnum_range.find(rest) else {
                return false;
            };
            i += m.end();
            last_char = None;
        } else {
            let c = rest.chars().next().unwrap_or('\0');
            let word = c == '_' || c.is_alphanumeric();
            if !(word || (c == '-' && !first)) {
                return false;
            }
            i += c.len_utf8();
            last_char = Some(c);
        }
        first = false;
    }
    !first && !matches!(last_char, Some('_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str, ranges: bool) -> Option<(String, Option<u64>)> {
        parse_address(s, ranges).ok().map(|a| (a.host, a.port))
    }

    #[test]
    fn hosts_and_ports() {
        assert_eq!(ok("web1", false), Some(("web1".into(), None)));
        assert_eq!(
            ok("web1.example.com:2222", false),
            Some(("web1.example.com".into(), Some(2222)))
        );
        assert_eq!(
            ok("10.0.0.1:22", false),
            Some(("10.0.0.1".into(), Some(22)))
        );
        assert_eq!(ok("[::1]:22", false), Some(("::1".into(), Some(22))));
        assert_eq!(ok("fe80::1", false), Some(("fe80::1".into(), None)));
        assert_eq!(
            ok("web[01:20].example.com:22", true),
            Some(("web[01:20].example.com".into(), Some(22)))
        );
        assert_eq!(ok("db-[a:c]", true), Some(("db-[a:c]".into(), None)));
        assert_eq!(ok("web[1:2]", false), None);
        assert_eq!(ok("bad_", false), None);
        assert_eq!(ok("-bad", false), None);
        assert_eq!(ok("a b", false), None);
        assert_eq!(ok("web*", false), None);
        assert_eq!(ok("web:&db", false), None);
        assert_eq!(parse_address("[web1]:22", false).unwrap().offset, 1);
    }
}
