//! The controller-side helper: one Python process per run, started on first need, running
//! `helper.py` with the Python that has Ansible. One JSON request per line on its stdin, one JSON
//! answer per line on its stdout; its stderr is kept for error messages.

use super::{locate, Error, Result};
use serde::Deserialize;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

const SCRIPT: &str = include_str!("helper.py");

/// What the helper says about its Ansible when it starts.
#[derive(Debug, Clone, Deserialize)]
pub struct Hello {
    pub version: String,
    pub python: String,
    pub module_paths: Vec<String>,
    pub collection_paths: Vec<String>,
    pub selinux_special_fs: Vec<String>,
}

pub struct Helper {
    python: String,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<String>>,
    pub hello: Hello,
}

static HELPER: OnceLock<std::result::Result<Mutex<Helper>, Error>> = OnceLock::new();

/// The run's helper, started on first use.
pub fn get() -> Result<&'static Mutex<Helper>> {
    HELPER
        .get_or_init(|| {
            let python = locate::ansible_python()?;
            Helper::start(&python).map(Mutex::new)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Send one request to the run's helper and wait for its answer.
pub fn request(req: &Value) -> Result<Value> {
    let helper = get()?;
    let mut h = helper.lock().unwrap_or_else(|p| p.into_inner());
    h.ask(req)
}

/// What the helper said when it started.
pub fn hello() -> Result<Hello> {
    let helper = get()?;
    let h = helper.lock().unwrap_or_else(|p| p.into_inner());
    Ok(h.hello.clone())
}

impl Helper {
    fn start(python: &str) -> Result<Helper> {
        let fail = |message: String| Error::Helper {
            python: python.to_string(),
            message,
        };
        let mut child = Command::new(python)
            .args(["-c", SCRIPT])
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_DEPRECATION_WARNINGS", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot start it: {e}")))?;
        let (Some(stdin), Some(stdout), Some(mut err)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(fail("no pipes to the process".into()));
        };
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    if s.len() < 64 * 1024 {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            }
        });
        let mut h = Helper {
            python: python.to_string(),
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr,
            hello: Hello {
                version: String::new(),
                python: python.to_string(),
                module_paths: Vec::new(),
                collection_paths: Vec::new(),
                selinux_special_fs: Vec::new(),
            },
        };
        let answer = h.ask(&serde_json::json!({"op": "hello"}))?;
        h.hello = serde_json::from_value(answer)
            .map_err(|e| fail(format!("unexpected hello answer: {e}")))?;
        Ok(h)
    }

    fn ask(&mut self, req: &Value) -> Result<Value> {
        let mut line = req.to_string();
        line.push('\n');
        let mut answer = String::new();
        let io = self
            .stdin
            .write_all(line.as_bytes())
            .and_then(|_| self.stdin.flush())
            .and_then(|_| self.stdout.read_line(&mut answer));
        match io {
            Ok(n) if n > 0 => {}
            Ok(_) | Err(_) => return Err(self.died()),
        }
        let v: Value = serde_json::from_str(&answer).map_err(|e| Error::Helper {
            python: self.python.clone(),
            message: format!("unreadable answer ({e}): {}", answer.trim()),
        })?;
        if v.get("ok").and_then(Value::as_bool) == Some(true) {
            return Ok(v);
        }
        let msg = v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown error");
        Err(Error::Ansible(msg.to_string()))
    }

    /// The error for a helper that stopped answering, with what it printed.
    fn died(&mut self) -> Error {
        let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
        // Give the stderr reader a moment to collect the last lines.
        std::thread::sleep(std::time::Duration::from_millis(50));
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Error::Helper {
            python: self.python.clone(),
            message: format!("it exited ({status}): {}", tail.join("\n")),
        }
    }
}
