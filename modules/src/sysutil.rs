//! Helpers shared by the host-level modules (`apt`, `service`, `user`, `sysctl`, `get_url`,
//! `unarchive`, ...): they exist because these modules talk to system tools rather than to files,
//! and need the same few things — a shell script built from quoted words, its output split in
//! sections, a glob match, a key=value reader, and a way to run inspect → plan → apply while
//! still registering what the apply step printed (`stdout` of `apt-get`), which the plain
//! [`crate::contract::Converge`] blanket implementation cannot do.

use crate::common::strip_ends;
use crate::contract::{ModuleError, Outcome, Plan, RunMode, Status};
use crate::target::{shell_quote, Command, Output, Target};
use serde_json::{Map, Value};

/// Quote a word for a shell script.
pub fn q(word: &str) -> String {
    shell_quote(word)
}

/// The marker line scripts print between sections of their output.
pub const SECTION: &str = "--converge-section--";

/// Split a script's stdout on [`SECTION`] lines.
pub fn sections(text: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for line in text.split_inclusive('\n') {
        if line.trim_end_matches('\n') == SECTION {
            out.push(String::new());
        } else if let Some(last) = out.last_mut() {
            last.push_str(line);
        }
    }
    out
}

/// `key=value` lines into a map (first `=` splits; other lines ignored).
pub fn kv_lines(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Shell glob match with `*` and `?` (as Ansible's `fnmatch` on version pins).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The text of a failed command for an error message: stderr, else stdout.
pub fn err_text(out: &Output) -> String {
    let e = strip_ends(&out.stderr_str());
    if e.is_empty() {
        strip_ends(&out.stdout_str())
    } else {
        e
    }
}

/// Run a shell script on the target (read-only inspection scripts and mutations alike).
pub fn sh(target: &dyn Target, script: &str) -> Result<Output, ModuleError> {
    Ok(target.run(&Command::shell(script))?)
}

/// A command with environment variables.
pub fn with_env(mut cmd: Command, env: &[(&str, &str)]) -> Command {
    cmd.env
        .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    cmd
}

/// Finish a module run from its plan: status from the plan, diffs in diff mode, and — outside
/// check mode, when there is something to do — `apply`, whose returned map is merged into the
/// registered data (command output and facts only known afterwards). `apply` may also return
/// `changed: false` in that map to report that nothing actually changed.
pub fn finish<A>(
    plan: Plan<A>,
    mode: RunMode,
    apply: impl FnOnce(&Plan<A>) -> Result<Map<String, Value>, ModuleError>,
) -> Result<Outcome, ModuleError> {
    let mut outcome = if plan.is_noop() {
        Outcome::ok()
    } else {
        Outcome::changed()
    };
    outcome.data = plan.data.clone();
    outcome.msg = plan.msg.clone();
    if mode.diff {
        outcome.diffs = plan.diffs.clone();
    }
    if !mode.check && !plan.is_noop() {
        let extra = apply(&plan)?;
        for (k, v) in extra {
            if k == "changed" {
                if v == Value::Bool(false) {
                    outcome.status = Status::Ok;
                    outcome.diffs.clear();
                }
                continue;
            }
            if k == "msg" {
                outcome.msg = v.as_str().map(str::to_string);
                continue;
            }
            outcome.data.insert(k, v);
        }
    }
    Ok(outcome)
}

/// Which of these programs the script finds first on the host (`command -v`), as a shell
/// fragment setting `$var`.
pub fn find_program_snippet(var: &str, programs: &[&str]) -> String {
    let mut s = format!("{var}=;");
    s.push_str(" for c in");
    for p in programs {
        s.push(' ');
        s.push_str(&q(p));
    }
    s.push_str(&format!(
        "; do if command -v \"$c\" >/dev/null 2>&1; then {var}=$c; break; fi; done;"
    ));
    s
}

/// Whitespace-normalised comparison (sysctl values, version strings with odd spacing).
pub fn same_words(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob_match("1.2*", "1.2.3-1"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("1.2*", "1.3"));
        assert!(glob_match("*deb12*", "1:9.2p1-2+deb12u1"));
        assert!(!glob_match("abc", "abcd"));
    }

    #[test]
    fn sections_split() {
        let s = sections(&format!("a\n{SECTION}\nb\nc\n{SECTION}\n"));
        assert_eq!(s, vec!["a\n", "b\nc\n", ""]);
        assert_eq!(kv_lines("a=1\nb = x=y\nnoise")["b"], "x=y");
        assert!(same_words("4096\t87380  6291456", "4096 87380 6291456"));
    }
}
