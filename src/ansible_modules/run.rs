//! Running a built payload on a host, through the task's connection (so `become` and
//! `environment` apply as for native modules), and reading the module's JSON answer.
//!
//! A payload that takes its arguments on stdin is cached on the host by content hash in
//! `~/.ansible/converge/modules/` of the user it runs as (a private directory): a task costs one
//! round trip (a small bootstrap runs the cached file with the arguments on stdin); the first
//! use on a host costs two (the bootstrap reports a miss, then the payload goes along). The
//! cache outlives the run: the name is a hash of the payload's content, so a changed module (or
//! ansible-core) is a new file.

use super::payload::Payload;
use converge_modules::{Command, Target, TargetError};
use serde_json::{Map, Value};

/// Exit status of the bootstrap when the payload is not cached on the host.
const MISS: i32 = 197;
const MISS_MARK: &str = "CONVERGE-PAYLOAD-MISS";

/// Runs on the host's Python: `argv` = hash, byte count of the payload on stdin (0: run the
/// cached one); stdin = [payload] + the module's arguments. A user without a writable home
/// (`nobody`) runs the payload from memory, uncached.
const BOOTSTRAP: &str = r#"import os, pwd, runpy, sys
h, n = sys.argv[1], int(sys.argv[2])
try:
    f = os.path.join(pwd.getpwuid(os.geteuid()).pw_dir, '.ansible', 'converge', 'modules', h + '.py')
except KeyError:
    f = os.path.join('/nonexistent', h + '.py')
if n:
    data = sys.stdin.buffer.read(n)
    if len(data) != n:
        sys.exit('converge: short payload')
    try:
        os.makedirs(os.path.dirname(f), 0o700, exist_ok=True)
        t = '%s.%d.tmp' % (f, os.getpid())
        with open(t, 'wb') as o:
            o.write(data)
        os.rename(t, f)
    except OSError:
        sys.argv = ['converge-payload']
        exec(compile(data, 'converge-payload', 'exec'), {'__name__': '__main__'})
        sys.exit(0)
elif not os.path.isfile(f):
    print('CONVERGE-PAYLOAD-MISS')
    sys.exit(197)
sys.argv = [f]
runpy.run_path(f, run_name='__main__')
"#;

/// Why a module run produced no result.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Target(#[from] TargetError),
    #[error("no Python at `{interpreter}` on this host (set ansible_python_interpreter, or install python3)")]
    NoPython { interpreter: String },
    #[error("the module's output is not JSON (rc={rc})\nstdout: {stdout}\nstderr: {stderr}")]
    NotJson {
        rc: i32,
        stdout: String,
        stderr: String,
    },
}

/// What running a module cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trips {
    pub round_trips: u32,
    pub uploaded: bool,
}

/// Run `payload` with `args` (`_ansible_*` included) on `target` as `interpreter`; the module's
/// JSON result.
pub fn run(
    target: &dyn Target,
    interpreter: &str,
    payload: &Payload,
    args: &Map<String, Value>,
) -> Result<(Map<String, Value>, Trips), RunError> {
    let params = serde_json::json!({ "ANSIBLE_MODULE_ARGS": args }).to_string();
    let mut trips = Trips {
        round_trips: 1,
        uploaded: false,
    };
    if !payload.args_on_stdin {
        let cmd = Command::argv([interpreter, "-"]).stdin(payload.script.clone());
        return parse(target.run(&cmd)?, interpreter).map(|r| (r, trips));
    }
    let mut out = target.run(&bootstrap(interpreter, payload, false, &params))?;
    if out.rc == MISS && String::from_utf8_lossy(&out.stdout).trim() == MISS_MARK {
        trips.round_trips += 1;
        trips.uploaded = true;
        out = target.run(&bootstrap(interpreter, payload, true, &params))?;
    }
    Ok((parse(out, interpreter)?, trips))
}

fn bootstrap(interpreter: &str, payload: &Payload, upload: bool, params: &str) -> Command {
    let n = if upload { payload.script.len() } else { 0 };
    let mut stdin = Vec::with_capacity(n + params.len());
    if upload {
        stdin.extend_from_slice(payload.script.as_bytes());
    }
    stdin.extend_from_slice(params.as_bytes());
    Command::argv([
        interpreter.to_string(),
        "-c".to_string(),
        BOOTSTRAP.to_string(),
        payload.sha256.clone(),
        n.to_string(),
    ])
    .stdin(stdin)
}

/// The module's JSON result, from its stdout (lines before the JSON are ignored, as Ansible
/// does).
fn parse(out: converge_modules::Output, interpreter: &str) -> Result<Map<String, Value>, RunError> {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if let Some(m) = first_json_object(&stdout) {
        return Ok(m);
    }
    let missing = out.rc == 127
        || (stdout.trim().is_empty()
            && stderr.contains(interpreter)
            && stderr.contains("No such file"));
    if missing {
        return Err(RunError::NoPython {
            interpreter: interpreter.to_string(),
        });
    }
    Err(RunError::NotJson {
        rc: out.rc,
        stdout: stdout.trim().to_string(),
        stderr: stderr.trim().to_string(),
    })
}

fn first_json_object(text: &str) -> Option<Map<String, Value>> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with('{') {
            let rest = &text[offset..];
            let mut de = serde_json::Deserializer::from_str(rest).into_iter::<Map<String, Value>>();
            if let Some(Ok(m)) = de.next() {
                return Some(m);
            }
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_after_noise_is_found() {
        let m = first_json_object("warning: x\n{\"changed\": true}\ntrailing\n");
        assert_eq!(
            m.and_then(|m| m.get("changed").cloned()),
            Some(Value::Bool(true))
        );
        assert!(first_json_object("Traceback (most recent call last):\n  boom\n").is_none());
    }
}
