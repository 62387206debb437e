//! The run lock: two converge runs against the same history (say, two nightly jobs that
//! overlap) must not converge the same hosts at the same time.
//!
//! It is an exclusive `flock` on a file next to the history database (`history.db.lock`). The
//! kernel releases the lock when the holder exits, however it exits, so a killed run never leaves
//! a stale lock behind. The holder writes its pid, host and start time into the file so the
//! refused run can say who holds it.

use super::process;
use crate::report::clock;
use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Another run holds the lock. Returned (inside `anyhow::Error`) by [`RunLock::acquire`]; the
/// CLI can `downcast_ref::<LockBusy>()` to choose its exit code.
#[derive(Debug, thiserror::Error)]
#[error("another converge run holds the run lock {}{}", path.display(), holder.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
pub struct LockBusy {
    pub path: PathBuf,
    /// `pid 1234 on host, since 2024-05-01T02:00:00Z`, when the holder wrote it.
    pub holder: Option<String>,
}

/// A held run lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    /// The lock file that goes with a history database: `history.db` → `history.db.lock`.
    pub fn path_for(db: &Path) -> PathBuf {
        let mut name = db.as_os_str().to_os_string();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Takes the lock if it is free; `Ok(None)` if another process holds it.
    pub fn try_acquire(path: &Path) -> Result<Option<RunLock>> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| {
                format!("creating the directory of the run lock {}", dir.display())
            })?;
        }
        // No truncation on open: the file holds the current holder's details.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("opening the run lock {}", path.display()))?;
        // SAFETY: flock on a descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Ok(None);
            }
            return Err(err).with_context(|| format!("locking {}", path.display()));
        }
        let mut lock = RunLock {
            file,
            path: path.to_path_buf(),
        };
        lock.write_holder()
            .with_context(|| format!("writing the run lock {}", path.display()))?;
        Ok(Some(lock))
    }

    /// Takes the lock, waiting up to `wait` for another run to finish (no wait if `None`).
    /// Fails with [`LockBusy`] when it stays held.
    pub fn acquire(path: &Path, wait: Option<Duration>) -> Result<RunLock> {
        let deadline = wait.map(|w| Instant::now() + w);
        loop {
            if let Some(lock) = RunLock::try_acquire(path)? {
                return Ok(lock);
            }
            match deadline {
                Some(d) if Instant::now() < d => std::thread::sleep(Duration::from_millis(200)),
                _ => {
                    return Err(LockBusy {
                        path: path.to_path_buf(),
                        holder: RunLock::holder(path),
                    }
                    .into())
                }
            }
        }
    }

    /// What the current holder wrote into the lock file (`pid N on HOST, since TIME`).
    pub fn holder(path: &Path) -> Option<String> {
        let text = std::fs::read_to_string(path).ok()?;
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
                .map(str::to_string)
        };
        let pid = field("pid")?;
        let host = field("host").unwrap_or_default();
        let since = field("since").unwrap_or_default();
        Some(format!("pid {pid} on {host}, since {since}"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the lock file currently names this process (for tests and diagnostics).
    pub fn held_by_me(&mut self) -> bool {
        let mut text = String::new();
        if self.file.seek(SeekFrom::Start(0)).is_err()
            || self.file.read_to_string(&mut text).is_err()
        {
            return false;
        }
        text.lines()
            .any(|l| l == format!("pid={}", process::current_pid()))
    }

    fn write_holder(&mut self) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        write!(
            self.file,
            "pid={}\nhost={}\nsince={}\n",
            process::current_pid(),
            process::hostname(),
            clock::now_rfc3339()
        )?;
        self.file.flush()
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Clear our details while still holding the lock; closing the file releases it. The
        // file itself stays: removing a lock file races with a process about to lock it.
        let _ = self.file.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = RunLock::path_for(&dir.path().join("history.db"));
        assert!(path.ends_with("history.db.lock"));
        let mut first = RunLock::try_acquire(&path).expect("lock").expect("free");
        assert!(first.held_by_me());
        // flock locks belong to the open file description, so a second open in the same
        // process conflicts just like another process would.
        assert!(RunLock::try_acquire(&path).expect("lock").is_none());
        let err = RunLock::acquire(&path, None).expect_err("busy");
        let busy = err.downcast_ref::<LockBusy>().expect("LockBusy");
        assert!(busy.holder.as_deref().unwrap_or("").starts_with("pid "));
        assert!(err.to_string().contains("another converge run"));
        drop(first);
        assert!(RunLock::try_acquire(&path).expect("lock").is_some());
    }
}
