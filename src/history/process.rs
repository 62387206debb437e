//! Is the process that started a run still alive? The history records the pid, the process
//! start time and the hostname of the writer, so a run left `running` by a killed converge can be
//! recognised (pid gone, or reused by another process) and shown as `incomplete`.

use std::ffi::CStr;

/// This machine's hostname (empty if it cannot be read).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `buf.len()` bytes; gethostname NUL-terminates on success
    // (and we add a terminator ourselves in case it truncated without one).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return String::new();
    }
    let last = buf.len() - 1;
    buf[last] = 0;
    CStr::from_bytes_until_nul(&buf)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// This process's id.
pub fn current_pid() -> i64 {
    i64::from(std::process::id())
}

/// `/proc/PID/stat` fields after the command name: (state, start time in clock ticks).
fn proc_stat(pid: i64) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // Field 22 of the whole line is the start time; `fields[0]` is field 3.
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// When a process started (Linux clock ticks since boot), to tell a pid apart from a later
/// process that got the same pid. `None` where `/proc` is unavailable.
pub fn process_start_time(pid: i64) -> Option<i64> {
    proc_stat(pid).and_then(|(_, start)| i64::try_from(start).ok())
}

/// Whether the process `pid` (which started at `start`, if known) is still running on this host.
/// Zombies count as dead: they have exited, only their parent has not reaped them yet.
pub fn process_alive(pid: i64, start: Option<i64>) -> bool {
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    // SAFETY: signal 0 performs the permission and existence checks only.
    let rc = unsafe { libc::kill(raw, 0) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EPERM) {
            return false;
        }
    }
    match proc_stat(pid) {
        Some((state, _)) if state == 'Z' || state == 'X' => false,
        Some((_, started)) => match start {
            Some(expected) => i64::try_from(started).ok() == Some(expected),
            None => true,
        },
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_pid_reuse_is_detected() {
        let pid = current_pid();
        let start = process_start_time(pid);
        assert!(process_alive(pid, start));
        if let Some(s) = start {
            assert!(!process_alive(pid, Some(s + 1)));
        }
        assert!(!process_alive(0, None));
        assert!(!process_alive(-5, None));
        assert!(!hostname().is_empty());
    }
}
