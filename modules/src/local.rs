//! [`LocalTarget`]: the machine converge itself runs on, as a [`Target`].
//!
//! The engine's `local` connection wraps it (adding `become` on top), and the module integration
//! tests run every module against it in a temporary directory. Commands run through
//! `std::process` (never a shell for argv commands); files are written atomically (temporary
//! file in the same directory, fsync, attributes, rename), exactly what the SSH connection does
//! with its own means.

use crate::target::{
    Command, Endpoint, FileAttrs, FileKind, Output, Program, Stat, Target, TargetError,
};
use std::ffi::CString;
use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};

/// The local machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalTarget;

impl LocalTarget {
    pub fn new() -> Self {
        LocalTarget
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn failed(what: &str, path: &str, e: std::io::Error) -> TargetError {
    TargetError::Failed(format!("{what} {path}: {e}"))
}

/// The rc and message a POSIX shell would give for a command that cannot be started, so that
/// modules see the same thing locally and over SSH.
fn spawn_error(program: &str, cmd: &Command, e: &std::io::Error) -> Output {
    if let Some(dir) = &cmd.chdir {
        if !Path::new(dir).is_dir() {
            return Output {
                rc: 2,
                stdout: Vec::new(),
                stderr: format!("/bin/sh: cd: {dir}: No such file or directory\n").into_bytes(),
            };
        }
    }
    let (rc, what) = match e.kind() {
        ErrorKind::NotFound => (127, "not found".to_string()),
        ErrorKind::PermissionDenied => (126, "Permission denied".to_string()),
        _ => (126, e.to_string()),
    };
    Output {
        rc,
        stdout: Vec::new(),
        stderr: format!("/bin/sh: {program}: {what}\n").into_bytes(),
    }
}

impl Target for LocalTarget {
    fn run(&self, cmd: &Command) -> Result<Output, TargetError> {
        let (program, mut proc) = match &cmd.program {
            Program::Argv(words) => {
                let (first, rest) = words
                    .split_first()
                    .ok_or_else(|| TargetError::Failed("empty command".to_string()))?;
                let mut p = std::process::Command::new(first);
                p.args(rest);
                (first.clone(), p)
            }
            Program::Shell(script) => {
                let mut p = std::process::Command::new("/bin/sh");
                p.arg("-c").arg(script);
                ("/bin/sh".to_string(), p)
            }
        };
        if let Some(dir) = &cmd.chdir {
            proc.current_dir(dir);
        }
        for (k, v) in &cmd.env {
            proc.env(k, v);
        }
        proc.stdin(if cmd.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        proc.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = match proc.spawn() {
            Ok(c) => c,
            Err(e) => return Ok(spawn_error(&program, cmd, &e)),
        };
        // Feed stdin from a thread so a command that writes a lot before reading cannot deadlock.
        let writer = match (child.stdin.take(), cmd.stdin.clone()) {
            (Some(mut pipe), Some(data)) => Some(std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            })),
            _ => None,
        };
        let out = child
            .wait_with_output()
            .map_err(|e| TargetError::Failed(format!("waiting for {program}: {e}")))?;
        if let Some(w) = writer {
            let _ = w.join();
        }
        let rc = match out.status.code() {
            Some(c) => c,
            None => {
                use std::os::unix::process::ExitStatusExt;
                -out.status.signal().unwrap_or(0)
            }
        };
        Ok(Output {
            rc,
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, TargetError> {
        match fs::read(path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(failed("cannot read", path, e)),
        }
    }

    fn write_file(&self, path: &str, content: &[u8], attrs: &FileAttrs) -> Result<(), TargetError> {
        let dest = Path::new(path);
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // The file being replaced (through a symlink, the file it points to) gives the defaults.
        let existing = match fs::symlink_metadata(dest) {
            Ok(m) if m.file_type().is_symlink() => fs::metadata(dest).ok(),
            Ok(m) => Some(m),
            Err(_) => None,
        };
        if existing.as_ref().is_some_and(|m| m.is_dir()) {
            return Err(TargetError::Failed(format!(
                "cannot write {path}: is a directory"
            )));
        }
        let (tmp, mut file) = create_temp(&dir).map_err(|e| {
            failed(
                "cannot create a temporary file in",
                &dir.to_string_lossy(),
                e,
            )
        })?;
        let result = (|| -> Result<(), TargetError> {
            let io = |e| failed("cannot write", &tmp.to_string_lossy(), e);
            file.write_all(content).map_err(io)?;
            file.sync_all().map_err(io)?;

            let want_uid = match &attrs.owner {
                Some(o) => Some((resolve_user(o)?, true)),
                None => existing.as_ref().map(|m| (m.uid(), false)),
            };
            let want_gid = match &attrs.group {
                Some(g) => Some((resolve_group(g)?, true)),
                None => existing.as_ref().map(|m| (m.gid(), false)),
            };
            let meta = file.metadata().map_err(io)?;
            let uid = want_uid.filter(|(u, _)| *u != meta.uid());
            let gid = want_gid.filter(|(g, _)| *g != meta.gid());
            if uid.is_some() || gid.is_some() {
                let r = std::os::unix::fs::fchown(&file, uid.map(|u| u.0), gid.map(|g| g.0));
                let explicit = uid.is_some_and(|u| u.1) || gid.is_some_and(|g| g.1);
                if let Err(e) = r {
                    // Keeping the old owner is best effort (as Ansible does); an owner that was
                    // asked for must be set.
                    if explicit {
                        return Err(failed("cannot change the owner of", path, e));
                    }
                }
            }
            let mode = attrs
                .mode
                .or_else(|| existing.as_ref().map(|m| m.mode() & 0o7777))
                .unwrap_or(0o666 & !umask());
            file.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(io)?;
            fs::rename(&tmp, dest)
                .map_err(|e| failed("cannot rename the temporary file onto", path, e))?;
            // Make the rename itself durable; best effort.
            if let Ok(d) = fs::File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn stat(&self, path: &str) -> Result<Option<Stat>, TargetError> {
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e)
                if e.kind() == ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(failed("cannot stat", path, e)),
        };
        let ft = meta.file_type();
        let kind = if ft.is_symlink() {
            FileKind::Symlink
        } else if ft.is_dir() {
            FileKind::Directory
        } else if ft.is_file() {
            FileKind::File
        } else {
            FileKind::Other
        };
        let link_target = if ft.is_symlink() {
            fs::read_link(path)
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        } else {
            None
        };
        Ok(Some(Stat {
            kind,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            owner: user_name(meta.uid()).unwrap_or_else(|| meta.uid().to_string()),
            group: group_name(meta.gid()).unwrap_or_else(|| meta.gid().to_string()),
            size: meta.size(),
            mtime: meta.mtime(),
            nlink: meta.nlink(),
            inode: meta.ino(),
            link_target,
        }))
    }

    fn user(&self) -> String {
        // SAFETY: geteuid cannot fail.
        let uid = unsafe { libc::geteuid() };
        user_name(uid).unwrap_or_else(|| uid.to_string())
    }

    fn exchange(
        &self,
        to: &Endpoint,
        request: &[u8],
        timeout: std::time::Duration,
    ) -> Result<Vec<u8>, TargetError> {
        let fail = |e: std::io::Error| TargetError::Failed(format!("{to}: {e}"));
        match to {
            Endpoint::Unix(path) => {
                let s = std::os::unix::net::UnixStream::connect(path).map_err(fail)?;
                s.set_read_timeout(Some(timeout)).map_err(fail)?;
                s.set_write_timeout(Some(timeout)).map_err(fail)?;
                exchange_on(s, request).map_err(fail)
            }
            Endpoint::Tcp { host, port } => {
                use std::net::ToSocketAddrs;
                let addr = (host.as_str(), *port)
                    .to_socket_addrs()
                    .map_err(fail)?
                    .next()
                    .ok_or_else(|| TargetError::Failed(format!("{to}: no address")))?;
                let s = std::net::TcpStream::connect_timeout(&addr, timeout).map_err(fail)?;
                s.set_read_timeout(Some(timeout)).map_err(fail)?;
                s.set_write_timeout(Some(timeout)).map_err(fail)?;
                exchange_on(s, request).map_err(fail)
            }
        }
    }
}

/// Write the request, then read until the far end closes.
fn exchange_on<S: std::io::Read + Write>(mut s: S, request: &[u8]) -> std::io::Result<Vec<u8>> {
    s.write_all(request)?;
    s.flush()?;
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut s, &mut out)?;
    Ok(out)
}

fn create_temp(dir: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    let pid = std::process::id();
    let mut last = None;
    for _ in 0..100 {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = dir.join(format!(".converge-tmp-{pid}-{n}{nanos:x}"));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

/// The process umask, read without changing it (Linux `/proc`), 022 when unknown.
fn umask() -> u32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// The buffer size for the `get*_r` calls.
fn buf_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_GETPW_R_SIZE_MAX) };
    if n > 0 {
        (n as usize).max(1024)
    } else {
        16384
    }
}

/// The name of a user id, if the local user database knows it.
pub fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; buf_size()];
    loop {
        // SAFETY: all pointers point into memory we own, sized as passed.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut res: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut res) };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || res.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: getpwuid_r succeeded, pw_name is a NUL-terminated string inside `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        return Some(name.to_string_lossy().into_owned());
    }
}

/// The name of a group id, if the local group database knows it.
pub fn group_name(gid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; buf_size()];
    loop {
        // SAFETY: as in `user_name`.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut res: *mut libc::group = std::ptr::null_mut();
        let rc = unsafe { libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut res) };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || res.is_null() || grp.gr_name.is_null() {
            return None;
        }
        // SAFETY: as in `user_name`.
        let name = unsafe { std::ffi::CStr::from_ptr(grp.gr_name) };
        return Some(name.to_string_lossy().into_owned());
    }
}

/// A user name (or numeric id) to a uid.
pub fn resolve_user(name: &str) -> Result<u32, TargetError> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    let c = CString::new(name)
        .map_err(|_| TargetError::Failed(format!("invalid user name {name:?}")))?;
    let mut buf = vec![0 as libc::c_char; buf_size()];
    loop {
        // SAFETY: as in `user_name`.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut res: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            libc::getpwnam_r(c.as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut res)
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || res.is_null() {
            return Err(TargetError::Failed(format!(
                "failed to look up user {name}"
            )));
        }
        return Ok(pwd.pw_uid);
    }
}

/// A group name (or numeric id) to a gid.
pub fn resolve_group(name: &str) -> Result<u32, TargetError> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    let c = CString::new(name)
        .map_err(|_| TargetError::Failed(format!("invalid group name {name:?}")))?;
    let mut buf = vec![0 as libc::c_char; buf_size()];
    loop {
        // SAFETY: as in `user_name`.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut res: *mut libc::group = std::ptr::null_mut();
        let rc = unsafe {
            libc::getgrnam_r(c.as_ptr(), &mut grp, buf.as_mut_ptr(), buf.len(), &mut res)
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || res.is_null() {
            return Err(TargetError::Failed(format!(
                "failed to look up group {name}"
            )));
        }
        return Ok(grp.gr_gid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_argv_shell_stdin_chdir_env() {
        let t = LocalTarget;
        let out = t.run(&Command::argv(["echo", "a b"])).unwrap();
        assert_eq!((out.rc, out.stdout_str().as_str()), (0, "a b\n"));
        let out = t
            .run(&Command::shell("cat; echo $X >&2; exit 3").stdin("in"))
            .unwrap();
        assert_eq!(out.rc, 3);
        assert_eq!(out.stdout_str(), "in");
        assert_eq!(out.stderr_str(), "\n");
        let mut c = Command::shell("pwd; echo $X").chdir("/");
        c.env.push(("X".into(), "y".into()));
        assert_eq!(t.run(&c).unwrap().stdout_str(), "/\ny\n");
        let out = t.run(&Command::argv(["/nonexistent/prog"])).unwrap();
        assert_eq!(out.rc, 127);
        let out = t
            .run(&Command::argv(["true"]).chdir("/nonexistent-dir"))
            .unwrap();
        assert_eq!(out.rc, 2);
        assert!(t.run(&Command::argv(Vec::<String>::new())).is_err());
    }

    #[test]
    fn write_keeps_mode_and_stat_reports() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let ps = p.to_str().unwrap();
        let t = LocalTarget;
        t.write_file(
            ps,
            b"one",
            &FileAttrs {
                mode: Some(0o640),
                ..Default::default()
            },
        )
        .unwrap();
        t.write_file(ps, b"two", &FileAttrs::default()).unwrap();
        let st = t.stat(ps).unwrap().unwrap();
        assert_eq!((st.kind, st.mode, st.size), (FileKind::File, 0o640, 3));
        assert_eq!(t.read_file(ps).unwrap().unwrap(), b"two");
        assert_eq!(st.owner, t.user());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
        assert!(t.stat(&format!("{ps}/x")).unwrap().is_none());
        assert!(t.read_file(&format!("{ps}.missing")).unwrap().is_none());
        std::os::unix::fs::symlink("f", dir.path().join("l")).unwrap();
        let l = t
            .stat(dir.path().join("l").to_str().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            (l.kind, l.link_target.as_deref()),
            (FileKind::Symlink, Some("f"))
        );
        assert!(t
            .write_file(
                ps,
                b"x",
                &FileAttrs {
                    owner: Some("no-such-user-xyz".into()),
                    ..Default::default()
                }
            )
            .is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
