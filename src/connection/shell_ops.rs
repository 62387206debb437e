//! File operations made of nothing but commands run on the target.
//!
//! The targets have sshd and a POSIX shell with coreutils, no agent and no SFTP guarantee, and a
//! privileged write must go through `sudo` anyway. So reading, writing and stat-ing files are shell
//! one-liners run through the connection's `run` (which applies `become`): the SSH connection uses
//! them for everything, the local connection only under `become`.
//!
//! Every operation is ONE command, its arguments passed as positional parameters of `/bin/sh -c`
//! (never spliced into the script), so paths with spaces, quotes or newlines need no escaping
//! beyond the argv quoting of [`Command::to_shell_string`]. Distinct exit codes tell "missing"
//! and each failing step apart.

use converge_modules::target::{Command, FileAttrs, FileKind, Output, Stat, TargetError};
use sha2::{Digest, Sha256};

/// How a file operation runs a command on the target (by value: a write's content is not copied
/// again on its way to the transport).
pub type Runner<'a> = &'a dyn Fn(Command) -> Result<Output, TargetError>;

/// Exit code meaning "the path does not exist" for [`read_file`] and [`stat`].
const MISSING: i32 = 44;

const READ_SCRIPT: &str = r#"if [ -e "$1" ]; then exec cat -- "$1"; fi
exec 3>&1
err=$(LC_ALL=C cat -- "$1" 2>&1 >&3) && exit 0
case $err in *"No such file or directory"*) exit 44 ;; esac
printf '%s\n' "$err" >&2
exit 1"#;

/// Read a whole file; `None` when it does not exist (a dangling symlink counts as missing).
pub fn read_file(run: Runner, path: &str) -> Result<Option<Vec<u8>>, TargetError> {
    let out = run(Command::argv([
        "/bin/sh",
        "-c",
        READ_SCRIPT,
        "converge-read",
        path,
    ]))?;
    match out.rc {
        0 => Ok(Some(out.stdout)),
        MISSING => Ok(None),
        _ => Err(failure("cannot read", path, &out)),
    }
}

/// The `stat -c` format [`parse_stat`] reads (lstat: mode in hex, ids, size, mtime, links, inode,
/// names).
pub const STAT_FORMAT: &str = "%f:%u:%g:%s:%Y:%h:%i:%U:%G";

const STAT_SCRIPT: &str = r#"LC_ALL=C; export LC_ALL
out=$(stat -c "$2" -- "$1" 2>&1) || {
  case $out in *"No such file or directory"*) exit 44 ;; esac
  printf '%s\n' "$out" >&2
  exit 1
}
printf '%s\n' "$out"
if [ -L "$1" ]; then readlink -- "$1" || exit 1; fi"#;

/// `lstat` a path; `None` when it does not exist.
pub fn stat(run: Runner, path: &str) -> Result<Option<Stat>, TargetError> {
    let out = run(Command::argv([
        "/bin/sh",
        "-c",
        STAT_SCRIPT,
        "converge-stat",
        path,
        STAT_FORMAT,
    ]))?;
    match out.rc {
        0 => parse_stat(&out.stdout)
            .map(Some)
            .map_err(|e| TargetError::Failed(format!("cannot stat {path}: {e}"))),
        MISSING => Ok(None),
        _ => Err(failure("cannot stat", path, &out)),
    }
}

/// Parse the output of [`STAT_SCRIPT`]: one line of `STAT_FORMAT`, then for a symlink its target
/// (which may itself contain newlines) followed by one newline.
pub fn parse_stat(stdout: &[u8]) -> Result<Stat, String> {
    let text = String::from_utf8_lossy(stdout);
    let (line, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let mut fields = line.splitn(8, ':');
    let mut next = |what: &str| {
        fields
            .next()
            .ok_or_else(|| format!("unexpected stat output {line:?} (no {what})"))
    };
    let raw_mode = u32::from_str_radix(next("mode")?, 16).map_err(|e| format!("mode: {e}"))?;
    let num = |s: &str, what: &str| s.parse::<u64>().map_err(|e| format!("{what} {s:?}: {e}"));
    let uid = num(next("uid")?, "uid")? as u32;
    let gid = num(next("gid")?, "gid")? as u32;
    let size = num(next("size")?, "size")?;
    let mtime_s = next("mtime")?;
    let mtime = mtime_s
        .parse::<i64>()
        .map_err(|e| format!("mtime {mtime_s:?}: {e}"))?;
    let nlink = num(next("nlink")?, "nlink")?;
    let inode = num(next("inode")?, "inode")?;
    // Owner and group names cannot contain ':' (passwd/group field separator).
    let names = next("owner")?;
    let (owner, group) = names
        .rsplit_once(':')
        .ok_or_else(|| format!("unexpected stat output {line:?} (no group)"))?;
    let kind = match raw_mode & 0o170000 {
        0o100000 => FileKind::File,
        0o040000 => FileKind::Directory,
        0o120000 => FileKind::Symlink,
        _ => FileKind::Other,
    };
    let link_target = if kind == FileKind::Symlink {
        let t = rest.strip_suffix('\n').unwrap_or(rest);
        Some(t.to_string())
    } else {
        None
    };
    Ok(Stat {
        kind,
        mode: raw_mode & 0o7777,
        uid,
        gid,
        owner: owner.to_string(),
        group: group.to_string(),
        size,
        mtime,
        nlink,
        inode,
        link_target,
    })
}

/// Arguments: `$1` path, `$2` mode (octal, may be empty), `$3` owner, `$4` group, `$5` size,
/// `$6` sha256 of the content, which comes on stdin.
const WRITE_SCRIPT: &str = r#"p=$1 mode=$2 owner=$3 group=$4 size=$5 sum=$6
LC_ALL=C; export LC_ALL
case $p in
  */*) d=${p%/*}; [ -n "$d" ] || d=/ ;;
  *) d=. ;;
esac
if [ ! -d "$d" ]; then echo "directory $d does not exist" >&2; exit 91; fi
if [ -d "$p" ] && [ ! -L "$p" ]; then echo "$p is a directory" >&2; exit 91; fi
t=$(mktemp "$d/.converge-XXXXXX") || exit 92
trap 'rm -f "$t"' EXIT
trap 'exit 143' HUP INT TERM PIPE
if command -v sha256sum >/dev/null 2>&1; then
  h=$(tee -- "$t" | sha256sum) || exit 93
  h=${h%% *}
else
  cat > "$t" || exit 93
  h=$sum
fi
got=$(wc -c < "$t") || exit 93
got=$((got + 0))
if [ "$got" != "$size" ]; then echo "received $got bytes instead of $size" >&2; exit 94; fi
if [ "$h" != "$sum" ]; then echo "checksum mismatch: got $h, sent $sum" >&2; exit 94; fi
if [ -e "$p" ]; then
  chown --reference="$p" "$t" 2>/dev/null || {
    ug=$(stat -L -c %u:%g -- "$p" 2>/dev/null) && chown "$ug" "$t" 2>/dev/null
  } || :
fi
if [ -n "$owner" ]; then chown -- "$owner" "$t" || exit 95; fi
if [ -n "$group" ]; then chgrp -- "$group" "$t" || exit 95; fi
if [ -n "$mode" ]; then
  chmod -- "$mode" "$t" || exit 96
elif [ -e "$p" ]; then
  chmod --reference="$p" "$t" 2>/dev/null || chmod "$(stat -L -c %a -- "$p")" "$t" || exit 96
else
  chmod "$(printf '%o' $((0666 & ~0$(umask))))" "$t" || exit 96
fi
mv -f -- "$t" "$p" || exit 97
trap - EXIT"#;

/// The command [`write_file`] runs, with the content on stdin.
pub fn write_command(path: &str, content: &[u8], attrs: &FileAttrs) -> Command {
    let sum = hex(&Sha256::digest(content));
    let mode = attrs.mode.map(|m| format!("{m:04o}")).unwrap_or_default();
    Command::argv([
        "/bin/sh",
        "-c",
        WRITE_SCRIPT,
        "converge-write",
        path,
        &mode,
        attrs.owner.as_deref().unwrap_or(""),
        attrs.group.as_deref().unwrap_or(""),
        &content.len().to_string(),
        &sum,
    ])
    .stdin(content.to_vec())
}

/// Write a file atomically: a temporary file in the destination directory receives the content
/// from stdin (hashed with sha256 on the way in, by `tee`), the hash and the file's size are
/// checked, ownership and mode are set (those of the replaced
/// file when `attrs` leave them `None`), then it is renamed over the path. On any failure the
/// temporary file is removed.
pub fn write_file(
    run: Runner,
    path: &str,
    content: &[u8],
    attrs: &FileAttrs,
) -> Result<(), TargetError> {
    let out = run(write_command(path, content, attrs))?;
    if out.rc == 0 {
        return Ok(());
    }
    let what = match out.rc {
        91 => "cannot write",
        92 => "cannot create a temporary file for",
        93 | 94 => "transfer failed for",
        95 => "cannot set the owner of",
        96 => "cannot set the mode of",
        97 => "cannot rename the temporary file to",
        _ => "cannot write",
    };
    Err(failure(what, path, &out))
}

fn failure(what: &str, path: &str, out: &Output) -> TargetError {
    let err = out.stderr_str();
    let err = err.trim();
    if err.is_empty() {
        TargetError::Failed(format!("{what} {path} (exit code {})", out.rc))
    } else {
        TargetError::Failed(format!("{what} {path}: {err}"))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_regular_file() {
        let s = parse_stat(b"81a4:0:0:1234:1700000000:1:393219:root:root\n").unwrap();
        assert_eq!(s.kind, FileKind::File);
        assert_eq!(s.mode, 0o644);
        assert_eq!((s.uid, s.gid), (0, 0));
        assert_eq!((s.owner.as_str(), s.group.as_str()), ("root", "root"));
        assert_eq!(s.size, 1234);
        assert_eq!(s.mtime, 1_700_000_000);
        assert_eq!((s.nlink, s.inode), (1, 393219));
        assert_eq!(s.link_target, None);
    }

    #[test]
    fn parses_directory_with_special_bits_and_unknown_owner() {
        let s = parse_stat(b"43ff:1001:50:4096:-5:3:12:UNKNOWN:staff\n").unwrap();
        assert_eq!(s.kind, FileKind::Directory);
        assert_eq!(s.mode, 0o1777);
        assert_eq!(s.mtime, -5);
        assert_eq!(s.owner, "UNKNOWN");
    }

    #[test]
    fn parses_symlink_target_with_spaces_and_newline() {
        let s = parse_stat(b"a1ff:0:0:11:1:1:7:root:root\n/tmp/a b\nc\n").unwrap();
        assert_eq!(s.kind, FileKind::Symlink);
        assert_eq!(s.mode, 0o777);
        assert_eq!(s.link_target.as_deref(), Some("/tmp/a b\nc"));
    }

    #[test]
    fn other_kinds_and_garbage() {
        let s = parse_stat(b"21b6:0:0:0:1:1:5:root:tty\n").unwrap();
        assert_eq!(s.kind, FileKind::Other);
        assert!(parse_stat(b"stat: missing operand\n").is_err());
        assert!(parse_stat(b"81a4:0:0:12:1:1:5:root\n").is_err());
        assert!(parse_stat(b"").is_err());
    }

    #[test]
    fn write_command_quotes_path_and_carries_checksum() {
        let attrs = FileAttrs {
            mode: Some(0o640),
            owner: None,
            group: Some("adm".into()),
        };
        let cmd = write_command("/etc/it's a file", b"hello", &attrs);
        let line = cmd.to_shell_string();
        assert!(line.contains(r"'/etc/it'\''s a file'"), "{line}");
        assert!(
            line.contains(
                " 0640 '' adm 5 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
            ),
            "{line}"
        );
        assert_eq!(cmd.stdin.as_deref(), Some(&b"hello"[..]));
    }

    /// Run the scripts with the local /bin/sh: they are the contract with the target.
    fn local(cmd: Command) -> Result<Output, TargetError> {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd.to_shell_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| TargetError::Failed(e.to_string()))?;
        let mut stdin = child.stdin.take().unwrap();
        let data = cmd.stdin.clone().unwrap_or_default();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Ok(Output {
            rc: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    #[test]
    fn scripts_work_with_the_local_shell() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a 'quoted' file");
        let ps = p.to_str().unwrap();
        assert_eq!(read_file(&local, ps).unwrap(), None);
        assert_eq!(stat(&local, ps).unwrap(), None);

        write_file(&local, ps, b"one\n", &FileAttrs::default()).unwrap();
        assert_eq!(read_file(&local, ps).unwrap().unwrap(), b"one\n");
        let st = stat(&local, ps).unwrap().unwrap();
        assert_eq!(st.kind, FileKind::File);
        assert_eq!(st.size, 4);
        let umask = unsafe { libc::umask(0o022) };
        unsafe { libc::umask(umask) };
        assert_eq!(st.mode, 0o666 & !(umask as u32));

        // An existing file's mode survives a rewrite without attrs; explicit attrs win.
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_file(&local, ps, b"two", &FileAttrs::default()).unwrap();
        assert_eq!(stat(&local, ps).unwrap().unwrap().mode, 0o600);
        let attrs = FileAttrs {
            mode: Some(0o751),
            ..Default::default()
        };
        write_file(&local, ps, b"", &attrs).unwrap();
        let st = stat(&local, ps).unwrap().unwrap();
        assert_eq!((st.mode, st.size), (0o751, 0));

        // Symlinks are not followed by stat; dangling ones read as missing.
        let l = dir.path().join("link");
        std::os::unix::fs::symlink("nowhere here", &l).unwrap();
        let st = stat(&local, l.to_str().unwrap()).unwrap().unwrap();
        assert_eq!(st.kind, FileKind::Symlink);
        assert_eq!(st.link_target.as_deref(), Some("nowhere here"));
        assert_eq!(read_file(&local, l.to_str().unwrap()).unwrap(), None);

        // Failures: a missing directory, a directory as target; no temp files are left behind.
        let e = write_file(&local, "/nonexistent-dir/x", b"x", &FileAttrs::default()).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        let d = dir.path().to_str().unwrap();
        assert!(write_file(&local, d, b"x", &FileAttrs::default()).is_err());
        let bad_owner = FileAttrs {
            owner: Some("no-such-user-xyz".into()),
            ..Default::default()
        };
        assert!(write_file(&local, ps, b"x", &bad_owner).is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with(".converge-")),
            "{names:?}"
        );
        assert!(read_file(&local, d).is_err());
    }

    #[test]
    fn corrupted_transfer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let mut cmd = write_command(p.to_str().unwrap(), b"abc", &FileAttrs::default());
        cmd.stdin = Some(b"abd".to_vec());
        let out = local(cmd.clone()).unwrap();
        assert_eq!(out.rc, 94, "{}", out.stderr_str());
        assert!(!p.exists());
        cmd.stdin = Some(b"ab".to_vec());
        assert_eq!(local(cmd).unwrap().rc, 94);
    }
}
