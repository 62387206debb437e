//! Privilege escalation (`become`) as a rewrite of the command, shared by every connection.
//!
//! Escalation is nothing but a different command line on the target: `sudo -u USER -- /bin/sh -c
//! '<command>'` (or `su`, `doas`). Doing it as a pure rewrite of a [`Command`] keeps it out of the
//! transports: the SSH connection sends the wrapped command over an exec channel, the local
//! connection spawns it, and the file operations of [`super::shell_ops`] get escalation for free
//! because they are commands too.
//!
//! A become password never appears on a command line (where `ps` would show it) nor in a log: it
//! is the first line of the command's stdin, read by a tiny shell prelude into a variable and fed
//! to `sudo -S` only if sudo actually asks for one (otherwise it would end up on the command's own
//! stdin). sudo's prompt is replaced by a unique marker so that [`Wrapped::finish`] can strip it
//! from stderr and tell a wrong password from a failing command.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use converge_modules::target::{Command, Output, Program, TargetError};

use super::Become;

/// A command rewritten for privilege escalation, and what is needed to interpret its output.
#[derive(Debug, Clone)]
pub struct Wrapped {
    /// The command to run instead (always an argv, so a local connection can spawn it directly
    /// and a remote one can use [`Command::to_shell_string`]).
    pub command: Command,
    /// The sudo prompt marker when a password is fed.
    marker: Option<String>,
    user: String,
}

/// The user a become setting runs commands as.
pub fn become_user(become_: &Become) -> String {
    become_
        .user
        .clone()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".to_string())
}

/// The prelude used when a sudo password is known. Arguments: `$1` user, `$2` prompt marker,
/// `$3` the command string. The password is the first line of stdin.
const SUDO_PASSWORD_PRELUDE: &str = r#"IFS= read -r converge_pw || converge_pw=
if sudo -n -u "$1" -- true 2>/dev/null; then
  unset converge_pw
  exec sudo -H -n -u "$1" -- /bin/sh -c "$3"
fi
{ printf '%s\n' "$converge_pw"; unset converge_pw; exec cat; } | sudo -H -S -p "$2" -u "$1" -- /bin/sh -c "$3""#;

/// The default method (none named): sudo where it is installed, else su, which minimal images
/// and some appliances have instead. Arguments: `$1` user, `$2` the command string.
const SUDO_OR_SU: &str = r#"if command -v sudo >/dev/null 2>&1; then
  exec sudo -H -S -n -u "$1" -- /bin/sh -c "$2"
fi
exec su -s /bin/sh "$1" -c "$2""#;

/// Rewrite `cmd` for `become_`. A disabled become returns the command unchanged.
pub fn wrap(become_: &Become, cmd: &Command) -> Result<Wrapped, TargetError> {
    wrap_owned(become_, cmd.clone())
}

/// [`wrap`], taking the command (and its possibly large stdin) by value.
pub fn wrap_owned(become_: &Become, mut cmd: Command) -> Result<Wrapped, TargetError> {
    let user = become_user(become_);
    if !become_.enabled {
        return Ok(Wrapped {
            command: cmd,
            marker: None,
            user,
        });
    }
    let inner = cmd.to_shell_string();
    let password = become_.password.as_deref().filter(|p| !p.is_empty());
    let method = match become_.method.as_str() {
        "" if password.is_none() => "sudo-or-su",
        "" => "sudo",
        m => m,
    };
    let argv = |words: &[&str]| Program::Argv(words.iter().map(|w| w.to_string()).collect());
    let (program, marker, stdin_prefix) = match (method, password) {
        ("sudo-or-su", _) => (
            argv(&[
                "/bin/sh",
                "-c",
                SUDO_OR_SU,
                "converge-become",
                &user,
                &inner,
            ]),
            None,
            None,
        ),
        ("sudo", None) => (
            argv(&[
                "sudo", "-H", "-S", "-n", "-u", &user, "--", "/bin/sh", "-c", &inner,
            ]),
            None,
            None,
        ),
        ("sudo", Some(pw)) => {
            if pw.contains('\n') {
                return Err(TargetError::Failed(
                    "the become password contains a newline".to_string(),
                ));
            }
            let marker = new_marker();
            (
                argv(&[
                    "/bin/sh",
                    "-c",
                    SUDO_PASSWORD_PRELUDE,
                    "converge-become",
                    &user,
                    &marker,
                    &inner,
                ]),
                Some(marker),
                Some(format!("{pw}\n").into_bytes()),
            )
        }
        ("su", None) => (
            argv(&[
                "su",
                &user,
                "-c",
                &format!(
                    "/bin/sh -c {}",
                    converge_modules::target::shell_quote(&inner)
                ),
            ]),
            None,
            None,
        ),
        ("su", Some(_)) => {
            return Err(TargetError::Failed(
                "become method 'su' with a password needs a terminal, which converge does not \
                 use; use become_method: sudo, or connect as a user that may su without one"
                    .to_string(),
            ))
        }
        ("doas", None) => (
            argv(&["doas", "-n", "-u", &user, "/bin/sh", "-c", &inner]),
            None,
            None,
        ),
        (other, _) => {
            return Err(TargetError::Failed(format!(
                "unsupported become method '{other}' (supported: sudo, su, doas without password)"
            )))
        }
    };
    let stdin = match (stdin_prefix, cmd.stdin.take()) {
        (None, s) => s,
        (Some(mut p), Some(s)) => {
            p.extend_from_slice(&s);
            Some(p)
        }
        (Some(p), None) => Some(p),
    };
    Ok(Wrapped {
        command: Command {
            program,
            stdin,
            chdir: None,
            env: Vec::new(),
        },
        marker,
        user,
    })
}

fn new_marker() -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    format!("[converge-become-{:016x}]", h.finish())
}

impl Wrapped {
    /// Interpret the output of the wrapped command: strip sudo's prompt markers and turn the
    /// failures of the escalation itself (as opposed to the command) into errors.
    pub fn finish(&self, mut out: Output) -> Result<Output, TargetError> {
        let mut prompts = 0;
        if let Some(marker) = &self.marker {
            let (stripped, n) = strip_marker(&out.stderr, marker.as_bytes());
            out.stderr = stripped;
            prompts = n;
        }
        if out.rc != 0 {
            let err = String::from_utf8_lossy(&out.stderr);
            let first = err.lines().next().unwrap_or("").trim();
            if prompts > 1 || err.contains("incorrect password attempt") {
                return Err(TargetError::Failed(format!(
                    "become: incorrect sudo password for {}",
                    self.user
                )));
            }
            if first.starts_with("sudo: a password is required")
                || first.starts_with("sudo: a terminal is required")
            {
                return Err(TargetError::Failed(format!(
                    "become: sudo needs a password to run commands as {} \
                     (set ansible_become_password)",
                    self.user
                )));
            }
            if first.starts_with("sudo: ") && first.contains("not in the sudoers file")
                || first.starts_with("sudo: ") && first.contains("is not allowed to execute")
                || first.starts_with("sudo: unknown user")
                || first.starts_with("sudo: command not found")
                || first == "doas: Operation not permitted"
                || first.starts_with("su: Authentication failure")
                || first.starts_with("su: user ") && first.contains("does not exist")
            {
                return Err(TargetError::Failed(format!("become: {first}")));
            }
            if out.rc == 127
                && (first.contains("sudo: not found") || first.contains("sudo: command not found"))
            {
                return Err(TargetError::Failed(
                    "become: sudo is not installed on the target".to_string(),
                ));
            }
        }
        Ok(out)
    }
}

fn strip_marker(stderr: &[u8], marker: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(stderr.len());
    let mut n = 0;
    let mut i = 0;
    while i < stderr.len() {
        if stderr[i..].starts_with(marker) {
            n += 1;
            i += marker.len();
        } else {
            out.push(stderr[i]);
            i += 1;
        }
    }
    (out, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sudo(password: Option<&str>) -> Become {
        Become {
            enabled: true,
            method: "sudo".into(),
            user: Some("app".into()),
            password: password.map(Into::into),
        }
    }

    #[test]
    fn disabled_is_identity() {
        let cmd = Command::argv(["id", "-u"]).stdin("x");
        let w = wrap(&Become::default(), &cmd).unwrap();
        assert_eq!(w.command, cmd);
    }

    #[test]
    fn sudo_without_password() {
        let cmd = Command::argv(["echo", "it's"]).chdir("/tmp/a b");
        let w = wrap(&sudo(None), &cmd).unwrap();
        assert_eq!(
            w.command.to_shell_string(),
            format!(
                "sudo -H -S -n -u app -- /bin/sh -c {}",
                converge_modules::target::shell_quote(&cmd.to_shell_string())
            )
        );
        assert_eq!(w.command.stdin, None);
    }

    #[test]
    fn sudo_password_goes_to_stdin_not_argv() {
        let cmd = Command::argv(["cat"]).stdin("payload");
        let w = wrap(&sudo(Some("s3cret")), &cmd).unwrap();
        let line = w.command.to_shell_string();
        assert!(!line.contains("s3cret"), "{line}");
        assert_eq!(w.command.stdin.as_deref(), Some(&b"s3cret\npayload"[..]));
        assert!(w.marker.as_ref().is_some_and(|m| line.contains(m.as_str())));
    }

    #[test]
    fn finish_strips_marker_and_detects_wrong_password() {
        let w = wrap(&sudo(Some("pw")), &Command::argv(["true"])).unwrap();
        let m = w.marker.clone().unwrap();
        let ok = Output {
            rc: 0,
            stdout: b"hi".to_vec(),
            stderr: format!("{m}warn\n").into_bytes(),
        };
        assert_eq!(w.finish(ok).unwrap().stderr, b"warn\n");
        let bad = Output {
            rc: 1,
            stdout: vec![],
            stderr: format!("{m}Sorry, try again.\n{m}\nsudo: 3 incorrect password attempts\n")
                .into_bytes(),
        };
        let e = w.finish(bad).unwrap_err();
        assert!(e.to_string().contains("incorrect sudo password"), "{e}");
    }

    #[test]
    fn finish_reports_missing_password() {
        let w = wrap(&sudo(None), &Command::argv(["true"])).unwrap();
        let out = Output {
            rc: 1,
            stdout: vec![],
            stderr: b"sudo: a password is required\n".to_vec(),
        };
        assert!(w
            .finish(out)
            .unwrap_err()
            .to_string()
            .contains("ansible_become_password"));
        // A command that fails on its own is not an escalation failure.
        let out = Output {
            rc: 1,
            stdout: vec![],
            stderr: b"grep: nope\n".to_vec(),
        };
        assert_eq!(w.finish(out.clone()).unwrap(), out);
    }

    #[test]
    fn no_method_named_is_sudo_or_su() {
        let mut b = sudo(None);
        b.method = String::new();
        let w = wrap(&b, &Command::argv(["id"])).unwrap();
        let s = w.command.to_shell_string();
        assert!(
            s.contains("command -v sudo") && s.contains("exec su -s /bin/sh"),
            "{s}"
        );
        assert!(s.ends_with(" converge-become app id"), "{s}");
        // With a password only sudo can take it (su would need a terminal).
        b.password = Some("pw".into());
        let w = wrap(&b, &Command::argv(["id"])).unwrap();
        assert!(w.marker.is_some());
    }

    #[test]
    fn su_and_unknown_methods() {
        let mut b = sudo(None);
        b.method = "su".into();
        let w = wrap(&b, &Command::argv(["id"])).unwrap();
        assert_eq!(w.command.to_shell_string(), "su app -c '/bin/sh -c id'");
        b.password = Some("x".into());
        assert!(wrap(&b, &Command::argv(["id"])).is_err());
        b.method = "pbrun".into();
        assert!(wrap(&b, &Command::argv(["id"])).is_err());
    }
}
