//! `apt_repository`: add or remove an APT source line (`ansible.builtin.apt_repository`) — the
//! Docker CE repository is how Docker hosts get a current engine. No Python on the host: one
//! command prints `/etc/apt/sources.list` and every `/etc/apt/sources.list.d/*.list`; lines are
//! compared as Ansible does (comments and repeated blanks ignored, `#` in front = disabled).
//!
//! `present`: nothing to do if an enabled line is anywhere; a disabled one is re-enabled in place;
//! otherwise the line is appended to `/etc/apt/sources.list.d/<filename>.list` (`filename`
//! defaults to Ansible's name derived from the URL, e.g. `download_docker_com_linux_debian`).
//! `absent`: matching lines are removed from every file; a file left empty is deleted. After a
//! change, `update_cache` (default true) runs `apt-get update`. Ubuntu `ppa:` lines are not
//! supported.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::contract::{Diff, Module, ModuleError, Outcome, Plan, RunMode};
use crate::mode::ModeSpec;
use crate::sysutil::{err_text, finish, sh, with_env, SECTION};
use crate::target::{Command, FileAttrs, Target};
use serde_json::{Map, Value};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("repo", ArgKind::Str).required(),
    ArgSpec::new("state", ArgKind::Str).choices(&["present", "absent"]),
    ArgSpec::new("filename", ArgKind::Str),
    ArgSpec::new("update_cache", ArgKind::Bool).aliases(&["update-cache"]),
    ArgSpec::new("update_cache_retries", ArgKind::Int),
    ArgSpec::new("update_cache_retry_max_delay", ArgKind::Int),
    ArgSpec::new("mode", ArgKind::Mode),
    ArgSpec::new("codename", ArgKind::Str),
    ArgSpec::new("validate_certs", ArgKind::Bool),
    ArgSpec::new("install_python_apt", ArgKind::Bool),
];

const SOURCE_TYPES: &[&str] = &["deb", "deb-src"];

/// A sources line as Ansible parses it: (enabled, normalised source), or `None` if not a source.
pub fn parse_source_line(line: &str) -> Option<(bool, String)> {
    let mut l = line.trim();
    let mut enabled = true;
    if let Some(rest) = l.strip_prefix('#') {
        enabled = false;
        l = rest.trim();
    }
    if let Some(i) = l.find('#') {
        if i > 0 {
            l = &l[..i];
        }
    }
    let chunks: Vec<&str> = l.split_whitespace().collect();
    if chunks.first().is_some_and(|c| SOURCE_TYPES.contains(c)) {
        Some((enabled, chunks.join(" ")))
    } else {
        None
    }
}

/// Ansible's default file name for a repo line (without `.list`).
pub fn suggest_filename(repo: &str) -> String {
    // Drop options and protocols.
    let mut s = String::new();
    let mut depth = 0;
    for c in repo.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => s.push(c),
            _ => {}
        }
    }
    let s = regex::Regex::new(r"\w+://")
        .map(|re| re.replace_all(&s, "").into_owned())
        .unwrap_or(s);
    let first = s
        .split_whitespace()
        .find(|p| !SOURCE_TYPES.contains(p))
        .unwrap_or("");
    let first = first.rsplit_once('@').map_or(first, |(_, h)| h);
    first
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Parse the inspection output: `path\ncontent` blocks.
pub fn parse_files(text: &str) -> Vec<(String, String)> {
    crate::sysutil::sections(text)
        .into_iter()
        .skip(1)
        .filter_map(|s| {
            let (path, content) = s.split_once('\n')?;
            let content = content.strip_suffix('\n').unwrap_or(content);
            Some((path.to_string(), content.to_string()))
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoParams {
    pub repo: String,
    pub source: String,
    pub present: bool,
    pub file: String,
    pub update_cache: bool,
    pub mode: Option<ModeSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoAction {
    Write {
        path: String,
        content: String,
        new: bool,
    },
    Remove(String),
    UpdateCache,
}

/// The `apt_repository` module.
pub struct AptRepositoryModule;

impl AptRepositoryModule {
    pub fn parse(args: &Args) -> Result<RepoParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let repo = p.req_str("repo")?;
        if repo.trim_start().starts_with("ppa:") {
            return Err(ArgError::new(Some("repo"), "PPAs are not supported by converge").into());
        }
        let (_, source) = parse_source_line(&repo).ok_or_else(|| {
            ArgError::new(
                Some("repo"),
                format!("`{repo}` is not a deb or deb-src line"),
            )
        })?;
        let name = p
            .str("filename")
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| suggest_filename(&repo));
        let name = name.strip_suffix(".list").unwrap_or(&name).to_string();
        let mode = match p.mode("mode").filter(|m| !m.is_empty()) {
            Some(m) => Some(ModeSpec::parse(&m).map_err(|e| ArgError::new(Some("mode"), e))?),
            None => None,
        };
        Ok(RepoParams {
            repo,
            source,
            present: p.str_or("state", "present") == "present",
            file: format!("/etc/apt/sources.list.d/{name}.list"),
            update_cache: p.bool_or("update_cache", true),
            mode,
        })
    }

    pub fn plan(p: &RepoParams, files: &[(String, String)]) -> Plan<RepoAction> {
        let mut plan = Plan::nothing();
        let matches = |l: &str| parse_source_line(l).filter(|(_, s)| *s == p.source);
        let mut added = Vec::new();
        let mut removed = Vec::new();
        if p.present {
            let enabled = files
                .iter()
                .any(|(_, c)| c.lines().any(|l| matches(l).is_some_and(|(e, _)| e)));
            if !enabled {
                // Re-enable a disabled line where it is, else append to our file.
                let disabled = files
                    .iter()
                    .find(|(_, c)| c.lines().any(|l| matches(l).is_some()));
                let (path, old, new_file) = match disabled {
                    Some((path, c)) => (path.clone(), c.clone(), false),
                    None => match files.iter().find(|(f, _)| *f == p.file) {
                        Some((f, c)) => (f.clone(), c.clone(), false),
                        None => (p.file.clone(), String::new(), true),
                    },
                };
                let new = if disabled.is_some() {
                    let mut done = false;
                    old.split_inclusive('\n')
                        .map(|l| {
                            if !done && matches(l).is_some() {
                                done = true;
                                format!("{}\n", p.source)
                            } else {
                                l.to_string()
                            }
                        })
                        .collect::<String>()
                } else {
                    let mut n = old.clone();
                    if !n.is_empty() && !n.ends_with('\n') {
                        n.push('\n');
                    }
                    n.push_str(&p.source);
                    n.push('\n');
                    n
                };
                plan.diffs.push(Diff::new(&path, old, new.clone()));
                plan.actions.push(RepoAction::Write {
                    path,
                    content: new,
                    new: new_file,
                });
                added.push(Value::String(p.source.clone()));
            }
        } else {
            for (path, c) in files {
                if !c.lines().any(|l| matches(l).is_some()) {
                    continue;
                }
                let new: String = c
                    .split_inclusive('\n')
                    .filter(|l| matches(l).is_none())
                    .collect();
                plan.diffs.push(Diff::new(path, c.clone(), new.clone()));
                if new.trim().is_empty() && path != "/etc/apt/sources.list" {
                    plan.actions.push(RepoAction::Remove(path.clone()));
                } else {
                    plan.actions.push(RepoAction::Write {
                        path: path.clone(),
                        content: new,
                        new: false,
                    });
                }
                removed.push(Value::String(p.source.clone()));
            }
        }
        if !plan.is_noop() && p.update_cache {
            plan.actions.push(RepoAction::UpdateCache);
        }
        plan.data.insert("repo".into(), p.repo.clone().into());
        plan.data.insert(
            "state".into(),
            if p.present { "present" } else { "absent" }.into(),
        );
        plan.data
            .insert("sources_added".into(), Value::Array(added));
        plan.data
            .insert("sources_removed".into(), Value::Array(removed));
        plan
    }
}

impl Module for AptRepositoryModule {
    fn name(&self) -> &'static str {
        "apt_repository"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = Self::parse(args)?;
        let script = format!(
            "for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [ -f \"$f\" ] || continue; \
             printf '%s\\n%s\\n' {SECTION} \"$f\"; cat -- \"$f\"; echo; done; exit 0"
        );
        let files = parse_files(&sh(target, &script)?.stdout_str());
        let plan = Self::plan(&p, &files);
        finish(plan, mode, |plan| {
            let mut data = Map::new();
            for a in &plan.actions {
                match a {
                    RepoAction::Write { path, content, new } => {
                        let mode = match (&p.mode, new) {
                            (Some(m), _) => Some(m.apply(0o644, false)),
                            (None, true) => Some(0o644),
                            (None, false) => None,
                        };
                        let attrs = FileAttrs {
                            mode,
                            ..FileAttrs::default()
                        };
                        target.write_file(path, content.as_bytes(), &attrs)?;
                    }
                    RepoAction::Remove(path) => {
                        crate::common::run_checked(
                            target,
                            &Command::argv(["rm", "-f", "--", path]),
                            &format!("removing {path}"),
                        )?;
                    }
                    RepoAction::UpdateCache => {
                        let out = target.run(&with_env(
                            Command::argv(["apt-get", "update", "-q"]),
                            &[("DEBIAN_FRONTEND", "noninteractive"), ("LC_ALL", "C")],
                        ))?;
                        if !out.success() {
                            return Err(ModuleError::Failed(format!(
                                "apt-get update failed: {}",
                                err_text(&out)
                            )));
                        }
                        data.insert("cache_updated".into(), true.into());
                    }
                }
            }
            Ok(data)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DOCKER: &str = "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.gpg] https://download.docker.com/linux/debian bookworm stable";

    #[test]
    fn lines_and_names() {
        assert_eq!(
            parse_source_line("# deb   http://x/debian  bookworm main # comment"),
            Some((false, "deb http://x/debian bookworm main".into()))
        );
        assert_eq!(
            parse_source_line("deb-src http://x a b"),
            Some((true, "deb-src http://x a b".into()))
        );
        assert_eq!(parse_source_line("# just a comment"), None);
        assert_eq!(suggest_filename(DOCKER), "download_docker_com_linux_debian");
        assert_eq!(
            suggest_filename("deb http://user:pw@dl.google.com/linux/chrome/deb/ stable main"),
            "dl_google_com_linux_chrome_deb"
        );
        let f = parse_files(&format!("{SECTION}\n/etc/apt/sources.list\ndeb http://a b c\n\n{SECTION}\n/etc/apt/sources.list.d/x.list\nno-newline\n"));
        assert_eq!(
            f[0],
            ("/etc/apt/sources.list".into(), "deb http://a b c\n".into())
        );
        assert_eq!(f[1].1, "no-newline");
    }

    #[test]
    fn plans() {
        let p = AptRepositoryModule::parse(json!({"repo": DOCKER}).as_object().unwrap()).unwrap();
        assert_eq!(
            p.file,
            "/etc/apt/sources.list.d/download_docker_com_linux_debian.list"
        );
        let base = vec![(
            "/etc/apt/sources.list".to_string(),
            "deb http://mirror.example.test/debian bookworm main\n".to_string(),
        )];
        let plan = AptRepositoryModule::plan(&p, &base);
        assert_eq!(plan.actions.len(), 2);
        assert!(
            matches!(&plan.actions[0], RepoAction::Write { path, new: true, .. } if path == &p.file)
        );
        let mut with = base.clone();
        with.push((p.file.clone(), format!("{DOCKER}\n")));
        assert!(AptRepositoryModule::plan(&p, &with).is_noop());
        // Disabled: re-enabled in place.
        let dis = vec![(
            "/etc/apt/sources.list".to_string(),
            format!("#{DOCKER}\nx\n"),
        )];
        let plan = AptRepositoryModule::plan(&p, &dis);
        assert!(
            matches!(&plan.actions[0], RepoAction::Write { content, .. } if content == &format!("{DOCKER}\nx\n"))
        );
        // Absent: our file becomes empty and is removed.
        let p = AptRepositoryModule::parse(
            json!({"repo": DOCKER, "state": "absent", "update_cache": false})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        let plan = AptRepositoryModule::plan(&p, &with);
        assert_eq!(plan.actions, vec![RepoAction::Remove(p.file.clone())]);
        assert!(AptRepositoryModule::plan(&p, &base).is_noop());
        assert!(
            AptRepositoryModule::parse(json!({"repo": "ppa:x/y"}).as_object().unwrap()).is_err()
        );
    }
}
