//! The passphrase of an encrypted private key: `$CONVERGE_SSH_KEY_PASSPHRASE` when set, otherwise
//! asked on the terminal (`/dev/tty`, not echoed, like `ssh`) and kept in memory for the run, so
//! fifty hosts sharing one key ask once. Without either (or with `CONVERGE_BATCH=1`), the error
//! says what to do.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The env var holding the passphrase of encrypted private keys.
pub const PASSPHRASE_ENV: &str = "CONVERGE_SSH_KEY_PASSPHRASE";

/// Set (to anything but `0`) to never ask on the terminal: scheduled runs, tests.
pub const BATCH_ENV: &str = "CONVERGE_BATCH";

/// How many times the terminal asks before giving up on a key.
const ATTEMPTS: usize = 3;

/// Passphrases that worked, per key file. The lock is held while asking, so hosts connecting
/// at the same time wait for the one prompt instead of asking in parallel.
static KNOWN: Mutex<BTreeMap<PathBuf, String>> = Mutex::new(BTreeMap::new());

/// Decrypts `path` with `decrypt(passphrase)` (which fails on a wrong passphrase).
pub fn unlock<T>(path: &Path, decrypt: impl Fn(&str) -> Option<T>) -> Result<T, String> {
    if let Ok(pass) = std::env::var(PASSPHRASE_ENV) {
        return decrypt(&pass).ok_or_else(|| format!("cannot decrypt with {PASSPHRASE_ENV}"));
    }
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = known.get(path).and_then(|p| decrypt(p)) {
        return Ok(k);
    }
    let batch = std::env::var(BATCH_ENV).is_ok_and(|v| v != "0");
    let Some(mut tty) = Tty::open().filter(|_| !batch) else {
        return Err(format!(
            "encrypted, set {PASSPHRASE_ENV} (or run on a terminal to be asked)"
        ));
    };
    let prompt = format!("Enter passphrase for key '{}': ", path.display());
    for _ in 0..ATTEMPTS {
        let answer = crate::output::progress::suspend_terminal(|| tty.ask_hidden(&prompt));
        let Some(pass) = answer else { break };
        if let Some(k) = decrypt(&pass) {
            known.insert(path.to_path_buf(), pass);
            return Ok(k);
        }
        crate::output::progress::suspend_terminal(|| tty.say("Bad passphrase, try again.\n"));
    }
    Err("encrypted, and the passphrase typed on the terminal did not decrypt it".into())
}

/// The controlling terminal, opened directly: stdin and stdout may be pipes.
struct Tty {
    file: std::fs::File,
}

impl Tty {
    fn open() -> Option<Tty> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        // SAFETY: isatty only inspects the descriptor we own.
        (unsafe { libc::isatty(file.as_raw_fd()) } == 1).then_some(Tty { file })
    }

    fn say(&mut self, text: &str) {
        let _ = self.file.write_all(text.as_bytes());
        let _ = self.file.flush();
    }

    /// Asks with echo off; `None` at end of input or when the terminal cannot be configured.
    fn ask_hidden(&mut self, prompt: &str) -> Option<String> {
        let fd = self.file.as_raw_fd();
        // SAFETY: termios is plain data, filled by tcgetattr on a descriptor we own.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return None;
        }
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ICANON;
        // SAFETY: a valid termios for the same descriptor.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
            return None;
        }
        self.say(prompt);
        let mut line = String::new();
        let read = self
            .file
            .try_clone()
            .ok()
            .map(|f| BufReader::new(f).read_line(&mut line));
        // SAFETY: restores what tcgetattr returned.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
        self.say("\n");
        match read {
            Some(Ok(n)) if n > 0 => Some(line.trim_end_matches(['\r', '\n']).to_string()),
            _ => None,
        }
    }
}
