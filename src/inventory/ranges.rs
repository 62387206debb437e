//! Host ranges: `web[01:20].example.com` (zero-padded), `db-[a:c]`, `node[1:10:2]` (strides),
//! several ranges in one name. Follows Ansible's `expand_hostname_range` rule for rule, including
//! its error messages, and refuses ranges that would expand to absurd numbers of hosts.

use super::address::parse_address;

/// Most hosts one pattern may expand to.
pub const MAX_HOSTS_PER_PATTERN: usize = 1_000_000;

const ASCII_LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A bad range, with the byte range inside the pattern to point at.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeError {
    pub message: String,
    pub hint: Option<String>,
    pub start: usize,
    pub end: usize,
}

/// Ansible's `_expand_hostpattern`: the host names a host entry stands for and its port.
/// Entries that are not valid addresses (`parse_address` fails) are taken literally, ranges and
/// all, exactly as Ansible does.
pub fn expand_hostpattern(pattern: &str) -> Result<(Vec<String>, Option<u64>), RangeError> {
    let (host, port, offset) = match parse_address(pattern, true) {
        Ok(a) => (a.host, a.port, a.offset),
        Err(_) => (pattern.to_string(), None, 0),
    };
    if host.contains('[') {
        let mut budget = MAX_HOSTS_PER_PATTERN;
        let hosts = expand(&host, host.len(), &mut budget).map_err(|mut e| {
            e.start += offset;
            e.end += offset;
            e
        })?;
        Ok((hosts, port))
    } else {
        Ok((vec![host], port))
    }
}

/// Expand every range of `line`. `orig_len` is the length of the name first given: `line` always
/// ends with the same text as that name, so errors can be placed in it.
fn expand(line: &str, orig_len: usize, budget: &mut usize) -> Result<Vec<String>, RangeError> {
    let shift = orig_len as isize - line.len() as isize;
    let at = |s: usize, e: usize| {
        (
            (s as isize + shift).max(0) as usize,
            (e as isize + shift).max(0) as usize,
        )
    };
    // Ansible replaces the first `[` and the first `]` with `|` and splits on `|`.
    let open = line.find('[').unwrap_or(0);
    let replaced = line.replacen('[', "|", 1).replacen(']', "|", 1);
    let parts: Vec<&str> = replaced.split('|').collect();
    let close = replaced[open + 1..]
        .find('|')
        .map_or(line.len(), |i| open + 1 + i + 1);
    let (s, e) = at(open, close);
    let err = |message: String, hint: Option<&str>| RangeError {
        message,
        hint: hint.map(str::to_string),
        start: s,
        end: e,
    };
    if parts.len() != 3 {
        let message = if line.contains('|') {
            format!("host name `{line}` contains `|`, which Ansible cannot expand as a range")
        } else {
            format!("host range in `{line}` has no closing `]`")
        };
        return Err(err(
            message,
            Some("a range is written `[begin:end]` or `[begin:end:step]`"),
        ));
    }
    let (head, nrange, tail) = (parts[0], parts[1], parts[2]);
    let bounds: Vec<&str> = nrange.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(err(
            "host range must be begin:end or begin:end:step".into(),
            Some("e.g. `web[01:20]`, `db-[a:f]` or `node[0:10:2]`"),
        ));
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step = bounds.get(2).copied();
    if end.is_empty() {
        return Err(err("host range must specify end value".into(), None));
    }
    let pad = if beg.starts_with('0') && beg.chars().count() > 1 {
        let rlen = beg.chars().count();
        if rlen != end.chars().count() {
            return Err(err(
                "host range must specify equal-length begin and end formats".into(),
                Some("a zero-padded range needs both ends written with the same width, e.g. `[01:20]`"),
            ));
        }
        Some(rlen)
    } else {
        None
    };

    let seq: Vec<String> = match alpha_range(beg, end, step) {
        Some(Ok(letters)) => letters,
        Some(Err(m)) => return Err(err(m, None)),
        None => {
            let not_a_number = |x: &str| {
                err(
                    format!("host range `[{nrange}]`: `{x}` is neither a number nor a letter"),
                    Some("ranges count numbers (`[1:9]`, `[01:20]`) or single letters (`[a:f]`)"),
                )
            };
            let b = py_int(beg).ok_or_else(|| not_a_number(beg))?;
            let n = py_int(end).ok_or_else(|| not_a_number(end))?;
            let st = match step {
                Some(s) => py_int(s).ok_or_else(|| not_a_number(s))?,
                None => 1,
            };
            if st == 0 {
                return Err(err("host range step must not be zero".into(), None));
            }
            let stop = n + 1;
            let count = if st > 0 {
                if stop > b {
                    (stop - b + st - 1) / st
                } else {
                    0
                }
            } else if b > stop {
                (b - stop + (-st) - 1) / (-st)
            } else {
                0
            };
            if count > *budget as i128 {
                return Err(err(
                    format!("host range `[{nrange}]` expands to more than {MAX_HOSTS_PER_PATTERN} hosts"),
                    None,
                ));
            }
            (0..count)
                .map(|k| {
                    let v = b + k * st;
                    match pad {
                        Some(w) => zfill(v, w),
                        None => v.to_string(),
                    }
                })
                .collect()
        }
    };
    if seq.len() > *budget {
        return Err(err(
            format!("host range expands to more than {MAX_HOSTS_PER_PATTERN} hosts"),
            None,
        ));
    }
    let mut hosts = Vec::new();
    for item in seq {
        let name = format!("{head}{item}{tail}");
        if name.contains('[') {
            hosts.extend(expand(&name, orig_len, budget)?);
        } else {
            if *budget == 0 {
                return Err(err(
                    format!("host range expands to more than {MAX_HOSTS_PER_PATTERN} hosts"),
                    None,
                ));
            }
            *budget -= 1;
            hosts.push(name);
        }
    }
    Ok(hosts)
}

/// `string.ascii_letters.index(beg)` … : `None` when this is not a letter range (Python falls
/// back to numbers), `Some(Err)` for a letter range Ansible rejects.
fn alpha_range(beg: &str, end: &str, step: Option<&str>) -> Option<Result<Vec<String>, String>> {
    let i_beg = ASCII_LETTERS.find(beg)?;
    let i_end = ASCII_LETTERS.find(end)?;
    if i_beg > i_end {
        return Some(Err("host range must have begin <= end".into()));
    }
    let step = match step {
        Some(s) => py_int(s)?,
        None => 1,
    };
    if step == 0 {
        return None; // a zero slice step raises ValueError: Ansible then tries numbers
    }
    let letters: Vec<char> = ASCII_LETTERS.chars().collect();
    let slice = &letters[i_beg..=i_end];
    Some(Ok(if step > 0 {
        slice
            .iter()
            .step_by(step as usize)
            .map(|c| c.to_string())
            .collect()
    } else {
        Vec::new() // `letters[a:b:-n]` with a < b is empty
    }))
}

/// Python's `int(text)`: optional surrounding whitespace and sign, digits with single
/// underscores between them.
fn py_int(text: &str) -> Option<i128> {
    let t = text.trim();
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let v: i128 = digits.replace('_', "").parse().ok()?;
    if v > i128::from(u64::MAX) {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// Python's `str(x).zfill(width)`.
fn zfill(v: i128, width: usize) -> String {
    let digits = v.unsigned_abs().to_string();
    let sign = if v < 0 { "-" } else { "" };
    let pad = width.saturating_sub(digits.len() + sign.len());
    format!("{sign}{}{digits}", "0".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(p: &str) -> Vec<String> {
        expand_hostpattern(p).unwrap().0
    }

    #[test]
    fn numeric_alpha_and_strides() {
        assert_eq!(
            hosts("web[01:03].example.com"),
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        assert_eq!(hosts("db-[a:c]"), ["db-a", "db-b", "db-c"]);
        assert_eq!(hosts("n[1:10:4]"), ["n1", "n5", "n9"]);
        assert_eq!(hosts("n[:2]"), ["n0", "n1", "n2"]);
        assert_eq!(hosts("n[3:1]"), Vec::<String>::new());
        assert_eq!(hosts("r[1:2]-[a:b]"), ["r1-a", "r1-b", "r2-a", "r2-b"]);
        assert_eq!(hosts("[y:B]"), ["y", "z", "A", "B"]);
        assert_eq!(hosts("plain"), ["plain"]);
    }

    #[test]
    fn port_is_split_off() {
        let (h, port) = expand_hostpattern("web[1:2]:2222").unwrap();
        assert_eq!(h, ["web1", "web2"]);
        assert_eq!(port, Some(2222));
    }

    #[test]
    fn errors_point_at_the_range() {
        let e = expand_hostpattern("web[01:x]").unwrap_err();
        assert!(e.message.contains("equal-length"), "{}", e.message);
        assert_eq!((e.start, e.end), (3, 9));
        let e = expand_hostpattern("web[1:x]").unwrap_err();
        assert!(e.message.contains("`x` is neither"), "{}", e.message);
        let e = expand_hostpattern("ok[1:2]-bad[1]").unwrap_err();
        assert!(e.message.contains("begin:end"), "{}", e.message);
        assert_eq!((e.start, e.end), (11, 14));
        let e = expand_hostpattern("web[1:3").unwrap_err();
        assert!(e.message.contains("closing"), "{}", e.message);
        assert!(expand_hostpattern("web[c:a]")
            .unwrap_err()
            .message
            .contains("begin <= end"));
        assert!(expand_hostpattern("web[1:]")
            .unwrap_err()
            .message
            .contains("end value"));
        assert!(expand_hostpattern("w[0:99999999999]")
            .unwrap_err()
            .message
            .contains("more than"));
        assert!(expand_hostpattern("w[0:9999][0:9999]")
            .unwrap_err()
            .message
            .contains("more than"));
    }
}
