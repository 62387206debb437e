//! A build context from a directory on the controller, as the tar stream `POST /build` (or
//! `docker build -`) reads: entries sorted, owners and times zeroed, so the same directory always
//! gives the same bytes, and its hash says whether an image built from it is current.
//! `.dockerignore` patterns (`*`, `?`, `**`, `!` exceptions) are honoured.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The tar of a context directory.
pub fn tar_dir(root: &Path) -> Result<Vec<u8>, String> {
    let ignore = match fs::read_to_string(root.join(".dockerignore")) {
        Ok(text) => parse_ignore(&text),
        Err(_) => Vec::new(),
    };
    let mut entries = Vec::new();
    walk(root, root, &ignore, &mut entries)?;
    let mut out = Vec::new();
    for (rel, meta_mode, kind, content) in entries {
        append(&mut out, &rel, meta_mode, kind, &content)?;
    }
    out.extend_from_slice(&[0u8; 1024]);
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Symlink,
}

type Entry = (String, u32, Kind, Vec<u8>);

fn walk(
    root: &Path,
    dir: &Path,
    ignore: &[(bool, String)],
    out: &mut Vec<Entry>,
) -> Result<(), String> {
    let mut items: Vec<_> = fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .collect();
    items.sort_by_key(|e| e.file_name());
    for e in items {
        let p = e.path();
        let rel = p
            .strip_prefix(root)
            .map_err(|_| format!("{} is outside the context", p.display()))?
            .to_string_lossy()
            .into_owned();
        if ignored(&rel, ignore) {
            continue;
        }
        let meta =
            fs::symlink_metadata(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        let mode = meta.permissions().mode() & 0o7777;
        if meta.file_type().is_symlink() {
            let t = fs::read_link(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            out.push((
                rel,
                0o777,
                Kind::Symlink,
                t.to_string_lossy().into_owned().into_bytes(),
            ));
        } else if meta.is_dir() {
            out.push((rel, mode, Kind::Dir, Vec::new()));
            walk(root, &p, ignore, out)?;
        } else if meta.is_file() {
            let data = fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            out.push((rel, mode, Kind::File, data));
        }
    }
    Ok(())
}

fn octal(field: &mut [u8], value: u64) {
    let text = format!("{:0width$o}\0", value, width = field.len() - 1);
    field.copy_from_slice(text.as_bytes());
}

fn append(out: &mut Vec<u8>, rel: &str, mode: u32, kind: Kind, data: &[u8]) -> Result<(), String> {
    let mut name = rel.to_string();
    if kind == Kind::Dir {
        name.push('/');
    }
    let mut h = [0u8; 512];
    // ustar: a name up to 100 bytes, or a prefix (155) + name (100) split at a slash.
    let (prefix, base) = if name.len() <= 100 {
        (String::new(), name.clone())
    } else {
        let cut = name[..name.len().min(156)]
            .rfind('/')
            .filter(|&i| name.len() - i - 1 <= 100)
            .ok_or_else(|| format!("path too long for a build context: {rel}"))?;
        (name[..cut].to_string(), name[cut + 1..].to_string())
    };
    h[..base.len()].copy_from_slice(base.as_bytes());
    octal(&mut h[100..108], u64::from(mode));
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    let (size, link, type_flag) = match kind {
        Kind::File => (data.len() as u64, &b""[..], b'0'),
        Kind::Dir => (0, &b""[..], b'5'),
        Kind::Symlink => (0, data, b'2'),
    };
    if link.len() > 100 {
        return Err(format!(
            "symlink target too long for a build context: {rel}"
        ));
    }
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], 0);
    h[156] = type_flag;
    h[157..157 + link.len()].copy_from_slice(link);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
    out.extend_from_slice(&h);
    if kind == Kind::File {
        out.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        out.extend(std::iter::repeat_n(0u8, pad));
    }
    Ok(())
}

/// `.dockerignore` lines: (exception, pattern).
fn parse_ignore(text: &str) -> Vec<(bool, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix('!') {
            Some(p) => (true, clean(p)),
            None => (false, clean(l)),
        })
        .collect()
}

fn clean(p: &str) -> String {
    p.trim()
        .trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

/// Is a path excluded? The last matching pattern decides; a directory's exclusion covers
/// everything under it.
fn ignored(rel: &str, patterns: &[(bool, String)]) -> bool {
    let mut out = false;
    for (exception, pat) in patterns {
        let hit = glob(pat, rel) || rel.match_indices('/').any(|(i, _)| glob(pat, &rel[..i]));
        if hit {
            out = !exception;
        }
    }
    out
}

/// Glob on `/`-separated paths: `*` and `?` within a component, `**` across components.
pub fn glob(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    fn rec(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(&"**"), _) => rec(&p[1..], s) || (!s.is_empty() && rec(p, &s[1..])),
            (Some(pc), Some(sc)) => {
                component(pc.as_bytes(), sc.as_bytes()) && rec(&p[1..], &s[1..])
            }
            _ => false,
        }
    }
    fn component(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => component(&p[1..], s) || (!s.is_empty() && component(p, &s[1..])),
            (Some(b'?'), Some(_)) => component(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => component(&p[1..], &s[1..]),
            _ => false,
        }
    }
    rec(&p, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*.pyc", "a.pyc"));
        assert!(!glob("*.pyc", "d/a.pyc"));
        assert!(glob("**/*.pyc", "d/e/a.pyc"));
        assert!(glob("**/*.pyc", "a.pyc"));
        assert!(glob("te?t", "test"));
        assert!(!glob("test", "tests"));
    }

    #[test]
    fn context_is_deterministic_and_honours_dockerignore() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("Dockerfile"), "FROM x\n").unwrap();
        fs::create_dir(d.path().join("src")).unwrap();
        fs::write(d.path().join("src/app.py"), "print(1)\n").unwrap();
        fs::create_dir(d.path().join(".git")).unwrap();
        fs::write(d.path().join(".git/HEAD"), "ref").unwrap();
        fs::write(d.path().join("keep.log"), "k").unwrap();
        fs::write(d.path().join("drop.log"), "d").unwrap();
        fs::write(d.path().join(".dockerignore"), ".git\n*.log\n!keep.log\n").unwrap();
        let a = tar_dir(d.path()).unwrap();
        assert_eq!(a, tar_dir(d.path()).unwrap());
        assert_eq!(a.len() % 512, 0);
        let names: Vec<String> = a
            .chunks(512)
            .filter(|b| b[257..262] == *b"ustar")
            .map(|b| {
                String::from_utf8_lossy(&b[..100])
                    .trim_end_matches('\0')
                    .to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                ".dockerignore",
                "Dockerfile",
                "keep.log",
                "src/",
                "src/app.py"
            ]
        );
        // Real tar reads it.
        let t = d.path().join("c.tar");
        fs::write(&t, &a).unwrap();
        let out = std::process::Command::new("tar")
            .arg("-tvf")
            .arg(&t)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("src/app.py"));
    }
}
