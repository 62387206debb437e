//! `get_url`: download a file ON THE HOST (`ansible.builtin.get_url`), so that release tarballs,
//! GPG keys and binaries come straight from the network to the machine that needs them, not
//! through the controller. Uses whichever of `curl` or `wget` the host has.
//!
//! * inspect (one command): which downloader exists; the destination's checksum (the algorithm of
//!   `checksum`, else SHA-1); the checksum file when `checksum` is `algo:URL`; and — only with
//!   `force: true` on an existing file — the checksum of the remote content, streamed through
//!   `sha1sum` without writing anything, so that check mode knows whether a download would change
//!   the file.
//! * plan: the file is downloaded when it is missing, when its checksum differs from `checksum`,
//!   or (`force`) when the remote content differs; otherwise only `mode`/`owner`/`group` are
//!   converged. Without `checksum` and without `force` an existing file is left alone.
//! * apply: download to a temporary file next to the destination, verify `checksum` there (a
//!   mismatch removes it and fails), set the attributes, then `mv` it over the destination
//!   (atomic: same directory).
//!
//! A `dest` that is a directory receives the URL's last path component (Ansible would also look
//! at `Content-Disposition`). Registered: `url`, `dest`, `checksum_dest`, `checksum_src` (SHA-1),
//! `size`, `status_code` (curl only), `msg`, `mode`, `owner`, `group`.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::common::{basename, dirname, join, kv_text};
use crate::contract::{Diff, Module, ModuleError, Outcome, Plan, RunMode};
use crate::fileattrs::{insert_attr_data, AttrArgs, AttrChange, DEFAULT_FILE_MODE};
use crate::mode::format_mode;
use crate::sysutil::{err_text, finish, kv_lines, q, sections, sh, SECTION};
use crate::target::{FileKind, Stat, Target};
use serde_json::{Map, Value};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("url", ArgKind::Str).required(),
    ArgSpec::new("dest", ArgKind::Str).required(),
    ArgSpec::new("mode", ArgKind::Mode),
    ArgSpec::new("owner", ArgKind::Str),
    ArgSpec::new("group", ArgKind::Str),
    ArgSpec::new("checksum", ArgKind::Str),
    ArgSpec::new("force", ArgKind::Bool).aliases(&["thirsty"]),
    ArgSpec::new("headers", ArgKind::Raw),
    ArgSpec::new("timeout", ArgKind::Int),
    ArgSpec::new("url_username", ArgKind::Str).aliases(&["username"]),
    ArgSpec::new("url_password", ArgKind::Str).aliases(&["password"]),
    ArgSpec::new("force_basic_auth", ArgKind::Bool),
    ArgSpec::new("validate_certs", ArgKind::Bool),
    ArgSpec::new("http_agent", ArgKind::Str),
    ArgSpec::new("use_proxy", ArgKind::Bool),
];

/// The checksum the file must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    Value {
        algo: String,
        hex: String,
    },
    /// `algo:URL` of a checksum file (`sha256sum` format or a bare hash).
    Url {
        algo: String,
        url: String,
    },
}

impl Checksum {
    pub fn parse(text: &str) -> Result<Checksum, String> {
        let (algo, rest) = text
            .split_once(':')
            .ok_or_else(|| format!("checksum must be <algorithm>:<checksum>, got `{text}`"))?;
        let algo = algo.trim().to_ascii_lowercase();
        if !["md5", "sha1", "sha224", "sha256", "sha384", "sha512"].contains(&algo.as_str()) {
            return Err(format!("unsupported checksum algorithm `{algo}`"));
        }
        let rest = rest.trim();
        if rest.contains("://") {
            return Ok(Checksum::Url {
                algo,
                url: rest.to_string(),
            });
        }
        if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("`{rest}` is not a hexadecimal {algo} checksum"));
        }
        Ok(Checksum::Value {
            algo,
            hex: rest.to_ascii_lowercase(),
        })
    }
    pub fn algo(&self) -> &str {
        match self {
            Checksum::Value { algo, .. } | Checksum::Url { algo, .. } => algo,
        }
    }
}

/// Find the checksum of `filename` in a checksum file (`HASH  name` lines, or one bare hash).
pub fn checksum_from_file(text: &str, filename: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() == 1 {
        let first = lines[0].split_whitespace().next()?;
        return Some(first.to_ascii_lowercase());
    }
    lines.iter().find_map(|l| {
        let mut w = l.split_whitespace();
        let hash = w.next()?;
        let name = w.next()?.trim_start_matches('*').trim_start_matches("./");
        (name == filename).then(|| hash.to_ascii_lowercase())
    })
}

/// The last path component of a URL (query and fragment removed).
pub fn url_filename(url: &str) -> String {
    let no_q = url.split(['?', '#']).next().unwrap_or(url);
    let path = no_q.split_once("://").map_or(no_q, |(_, r)| r);
    let path = path.split_once('/').map_or("", |(_, p)| p);
    let name = basename(path);
    if name.is_empty() {
        "index.html".to_string()
    } else {
        name
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetUrlParams {
    pub url: String,
    pub dest: String,
    pub attrs: AttrArgs,
    pub checksum: Option<Checksum>,
    pub force: bool,
    pub headers: Vec<(String, String)>,
    pub timeout: i64,
    pub username: Option<String>,
    pub password: Option<String>,
    pub validate_certs: bool,
    pub http_agent: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetUrlState {
    /// The file to write (`dest`, or `dest/<url name>` for a directory).
    pub path: String,
    pub stat: Option<Stat>,
    /// `curl`, `wget` or empty.
    pub downloader: String,
    /// The destination's checksum with the wanted algorithm (SHA-1 without `checksum`).
    pub dest_sum: Option<String>,
    /// The destination's SHA-1.
    pub dest_sha1: Option<String>,
    /// The expected checksum (from `checksum` or its checksum file).
    pub expected: Option<String>,
    /// `force` on an existing file: SHA-1 of the remote content.
    pub remote_sha1: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetUrlAction {
    /// Download and move into place with this mode.
    Download {
        mode: u32,
    },
    Attrs(AttrChange),
}

/// The `get_url` module.
pub struct GetUrlModule;

fn parse_headers(v: Option<&Value>) -> Result<Vec<(String, String)>, ArgError> {
    let bad = || {
        ArgError::new(
            Some("headers"),
            "must be a mapping of header names to values",
        )
    };
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) => Ok(m
            .iter()
            .map(|(k, v)| (k.clone(), crate::args::value_to_string(v)))
            .collect()),
        // The old `key:value,key:value` form.
        Some(Value::String(s)) => s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                p.split_once(':')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .ok_or_else(bad)
            })
            .collect(),
        _ => Err(bad()),
    }
}

impl GetUrlModule {
    pub fn parse(args: &Args) -> Result<GetUrlParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let checksum = match p.str("checksum").filter(|c| !c.trim().is_empty()) {
            Some(c) => Some(Checksum::parse(&c).map_err(|e| ArgError::new(Some("checksum"), e))?),
            None => None,
        };
        Ok(GetUrlParams {
            url: p.req_str("url")?,
            dest: p.req_str("dest")?,
            attrs: AttrArgs::from_params(&p)?,
            checksum,
            force: p.bool_or("force", false),
            headers: parse_headers(p.raw("headers"))?,
            timeout: p.int("timeout").unwrap_or(10),
            username: p.str("url_username").filter(|s| !s.is_empty()),
            password: p.str("url_password"),
            validate_certs: p.bool_or("validate_certs", true),
            http_agent: p.str_or("http_agent", "ansible-httpget"),
        })
    }

    /// The shell words that fetch `url` to `out` (`-` = stdout) with `$dl` (curl or wget).
    pub fn fetch_cmd(p: &GetUrlParams, url: &str, out: &str, status: bool) -> String {
        let o = if out == "-" {
            "-".to_string()
        } else {
            out.to_string()
        };
        let mut curl = format!(
            "curl -fsSL --connect-timeout {t} --speed-time {t} --speed-limit 1 -A {a}",
            t = p.timeout,
            a = q(&p.http_agent)
        );
        let mut wget = format!("wget -q -T {} -U {}", p.timeout, q(&p.http_agent));
        for (k, v) in &p.headers {
            let h = q(&format!("{k}: {v}"));
            curl.push_str(&format!(" -H {h}"));
            wget.push_str(&format!(" --header={h}"));
        }
        if !p.validate_certs {
            curl.push_str(" -k");
            wget.push_str(" --no-check-certificate");
        }
        if let Some(u) = &p.username {
            let pw = p.password.clone().unwrap_or_default();
            curl.push_str(&format!(" -u {}", q(&format!("{u}:{pw}"))));
            wget.push_str(&format!(" --user={} --password={}", q(u), q(&pw)));
        }
        if status {
            curl.push_str(" -w 'status_code=%{http_code}\\n'");
        }
        format!(
            "if [ \"$dl\" = curl ]; then {curl} -o {o} -- {u}; else {wget} -O {o} -- {u}; fi",
            u = q(url)
        )
    }

    pub fn inspect(p: &GetUrlParams, target: &dyn Target) -> Result<GetUrlState, ModuleError> {
        let mut path = p.dest.clone();
        let mut stat = target.stat(&path)?;
        if p.dest.ends_with('/') || stat.as_ref().is_some_and(|s| s.kind == FileKind::Directory) {
            path = join(p.dest.trim_end_matches('/'), &url_filename(&p.url));
            stat = target.stat(&path)?;
        }
        let algo = p.checksum.as_ref().map_or("sha1", |c| c.algo()).to_string();
        let f = q(&path);
        let mut s = crate::sysutil::find_program_snippet("dl", &["curl", "wget"]);
        s.push_str(&format!(" echo \"dl=$dl\"; echo {SECTION}; "));
        let exists = stat.as_ref().is_some_and(|s| s.kind == FileKind::File);
        if exists {
            s.push_str(&format!(
                "{algo}sum -- {f} | cut -d' ' -f1; sha1sum -- {f} | cut -d' ' -f1; "
            ));
        }
        s.push_str(&format!("echo {SECTION}; "));
        if let Some(Checksum::Url { url, .. }) = &p.checksum {
            s.push_str(&format!(
                "if [ -n \"$dl\" ]; then {}; fi; ",
                Self::fetch_cmd(p, url, "-", false)
            ));
        }
        s.push_str(&format!("echo; echo {SECTION}; "));
        if exists && p.force {
            s.push_str(&format!(
                "if [ -n \"$dl\" ]; then ( {} ) | sha1sum | cut -d' ' -f1; fi; ",
                Self::fetch_cmd(p, &p.url, "-", false)
            ));
        }
        s.push_str("exit 0");
        let out = sh(target, &s)?;
        let secs = sections(&out.stdout_str());
        let get = |i: usize| secs.get(i).cloned().unwrap_or_default();
        let downloader = kv_lines(&get(0)).get("dl").cloned().unwrap_or_default();
        let sums: Vec<String> = get(1).lines().map(|l| l.trim().to_string()).collect();
        let expected = match &p.checksum {
            Some(Checksum::Value { hex, .. }) => Some(hex.clone()),
            Some(Checksum::Url { url, .. }) => {
                if downloader.is_empty() {
                    None
                } else {
                    Some(
                        checksum_from_file(&get(2), &url_filename(&p.url)).ok_or_else(|| {
                            ModuleError::Failed(format!(
                                "Unable to find a checksum for file '{}' in '{url}'",
                                url_filename(&p.url)
                            ))
                        })?,
                    )
                }
            }
            None => None,
        };
        let remote = get(3).trim().to_string();
        Ok(GetUrlState {
            path,
            stat,
            downloader,
            dest_sum: sums.first().filter(|s| !s.is_empty()).cloned(),
            dest_sha1: sums.get(1).filter(|s| !s.is_empty()).cloned(),
            expected,
            remote_sha1: Some(remote).filter(|r| r.len() == 40),
        })
    }

    pub fn plan(p: &GetUrlParams, st: &GetUrlState) -> Result<Plan<GetUrlAction>, ModuleError> {
        let mut plan = Plan::nothing();
        if st
            .stat
            .as_ref()
            .is_some_and(|s| s.kind == FileKind::Directory)
        {
            return Err(ModuleError::Failed(format!("{} is a directory", st.path)));
        }
        let current = st.stat.as_ref().filter(|s| s.kind == FileKind::File);
        let download = match current {
            None => true,
            Some(_) => {
                if let Some(exp) = &st.expected {
                    st.dest_sum.as_deref() != Some(exp.as_str())
                } else if p.force {
                    // Unknown remote content (no downloader): download and let apply decide.
                    st.remote_sha1.is_none() || st.remote_sha1 != st.dest_sha1
                } else {
                    false
                }
            }
        };
        if download && st.downloader.is_empty() {
            return Err(ModuleError::Failed(
                "get_url needs curl or wget on the host, and neither was found".into(),
            ));
        }
        let mut change = AttrChange::default();
        if download {
            let base = current.map_or(DEFAULT_FILE_MODE, |s| s.mode);
            let mode = p.attrs.mode.as_ref().map_or(base, |m| m.apply(base, false));
            plan.actions.push(GetUrlAction::Download { mode });
            let mut before = vec![("path", st.path.clone())];
            let mut after = vec![("path", st.path.clone())];
            match current {
                None => {
                    before.push(("state", "absent".into()));
                    after.push(("state", "file".into()));
                }
                Some(s) => {
                    if let Some(d) = &st.dest_sum {
                        before.push(("checksum", d.clone()));
                    }
                    after.push((
                        "checksum",
                        st.expected
                            .clone()
                            .unwrap_or_else(|| "(new content)".into()),
                    ));
                    if mode != s.mode {
                        before.push(("mode", format_mode(s.mode)));
                        after.push(("mode", format_mode(mode)));
                    }
                }
            }
            after.push(("url", p.url.clone()));
            plan.diffs
                .push(Diff::new(&st.path, kv_text(&before), kv_text(&after)));
            plan.data.insert("mode".into(), format_mode(mode).into());
        } else if let Some(s) = current {
            change = p.attrs.changes(&st.path, s);
            if !change.is_empty() {
                plan.diffs.push(crate::fileattrs::state_diff(
                    &st.path,
                    ("file", "file"),
                    &change,
                ));
                plan.actions.push(GetUrlAction::Attrs(change.clone()));
            }
            plan.msg = Some("file already exists".into());
        }
        let d = &mut plan.data;
        d.insert("url".into(), p.url.clone().into());
        d.insert("dest".into(), st.path.clone().into());
        if !download {
            if let Some(s) = &st.dest_sha1 {
                d.insert("checksum_dest".into(), s.clone().into());
                d.insert("checksum_src".into(), s.clone().into());
            }
            if let Some(s) = current {
                d.insert("size".into(), s.size.into());
            }
            insert_attr_data(d, current, &change, None);
        } else {
            if let Some(o) = &p.attrs.owner {
                d.insert("owner".into(), o.clone().into());
            }
            if let Some(g) = &p.attrs.group {
                d.insert("group".into(), g.clone().into());
            }
        }
        Ok(plan)
    }

    fn apply(
        p: &GetUrlParams,
        st: &GetUrlState,
        plan: &Plan<GetUrlAction>,
        target: &dyn Target,
    ) -> Result<Map<String, Value>, ModuleError> {
        let mut data = Map::new();
        for a in &plan.actions {
            match a {
                GetUrlAction::Attrs(c) => c.apply(target)?,
                GetUrlAction::Download { mode } => {
                    let f = q(&st.path);
                    let mut s = format!(
                        "dl={}; tmp=$(mktemp {}) || exit 1; ",
                        q(&st.downloader),
                        q(&join(&dirname(&st.path), ".converge-get_url.XXXXXX"))
                    );
                    s.push_str(&format!(
                        "{} || {{ rc=$?; rm -f \"$tmp\"; echo \"Request failed: {} (rc $rc)\" >&2; exit 90; }}; ",
                        Self::fetch_cmd(p, &p.url, "\"$tmp\"", true),
                        p.url.replace(['"', '$', '`', '\\'], "")
                    ));
                    if let (Some(exp), Some(c)) = (&st.expected, &p.checksum) {
                        s.push_str(&format!(
                            "got=$({}sum \"$tmp\" | cut -d' ' -f1); if [ \"$got\" != {} ]; then rm -f \"$tmp\"; echo \"The checksum for $got did not match {}\" >&2; exit 91; fi; ",
                            c.algo(),
                            q(exp),
                            q(exp)
                        ));
                    }
                    s.push_str(
                        "echo \"sha1=$(sha1sum \"$tmp\" | cut -d' ' -f1)\"; echo \"size=$(stat -c %s \"$tmp\")\"; ",
                    );
                    s.push_str(&format!(
                        "if [ -f {f} ] && cmp -s \"$tmp\" {f}; then rm -f \"$tmp\"; echo same=yes; exit 0; fi; "
                    ));
                    s.push_str(&format!(
                        "chmod {:04o} \"$tmp\" || {{ rm -f \"$tmp\"; exit 92; }}; ",
                        mode
                    ));
                    let own = match (&p.attrs.owner, &p.attrs.group) {
                        (Some(o), Some(g)) => Some(format!("{o}:{g}")),
                        (Some(o), None) => Some(o.clone()),
                        (None, Some(g)) => Some(format!(":{g}")),
                        (None, None) => None,
                    };
                    if let Some(o) = own {
                        s.push_str(&format!(
                            "chown {} \"$tmp\" || {{ rm -f \"$tmp\"; exit 93; }}; ",
                            q(&o)
                        ));
                    }
                    s.push_str(&format!(
                        "mv -f \"$tmp\" {f} || {{ rm -f \"$tmp\"; exit 94; }}"
                    ));
                    let out = sh(target, &s)?;
                    let kv = kv_lines(&out.stdout_str());
                    if !out.success() {
                        return Err(ModuleError::Failed(err_text(&out)));
                    }
                    if let Some(code) = kv.get("status_code").and_then(|c| c.parse::<i64>().ok()) {
                        data.insert("status_code".into(), code.into());
                    }
                    if let Some(sha) = kv.get("sha1") {
                        data.insert("checksum_src".into(), sha.clone().into());
                        data.insert("checksum_dest".into(), sha.clone().into());
                    }
                    let size = kv
                        .get("size")
                        .and_then(|s| s.parse::<u64>().ok())
                        .unwrap_or(0);
                    data.insert("size".into(), size.into());
                    if kv.contains_key("same") {
                        data.insert("changed".into(), false.into());
                    }
                }
            }
        }
        Ok(data)
    }
}

impl Module for GetUrlModule {
    fn name(&self) -> &'static str {
        "get_url"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = Self::parse(args)?;
        let st = Self::inspect(&p, target)?;
        let plan = Self::plan(&p, &st)?;
        finish(plan, mode, |plan| Self::apply(&p, &st, plan, target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checksums() {
        assert_eq!(
            Checksum::parse("sha256:ABCdef01").unwrap(),
            Checksum::Value {
                algo: "sha256".into(),
                hex: "abcdef01".into()
            }
        );
        assert!(matches!(
            Checksum::parse("sha256:https://x/SHA256SUMS").unwrap(),
            Checksum::Url { .. }
        ));
        assert!(Checksum::parse("crc:12").is_err());
        assert!(Checksum::parse("sha256:xyz").is_err());
        assert!(Checksum::parse("abc").is_err());
        let file = "aaa  other.tar.gz\nBBB *app.tar.gz\n";
        assert_eq!(
            checksum_from_file(file, "app.tar.gz").as_deref(),
            Some("bbb")
        );
        assert_eq!(checksum_from_file("ccc\n", "x").as_deref(), Some("ccc"));
        assert_eq!(checksum_from_file(file, "nope"), None);
    }

    #[test]
    fn names_and_headers() {
        assert_eq!(url_filename("https://h/a/b/app.tgz?x=1#f"), "app.tgz");
        assert_eq!(url_filename("https://h/"), "index.html");
        assert_eq!(url_filename("https://h"), "index.html");
        let p = GetUrlModule::parse(
            json!({"url": "http://h/x", "dest": "/tmp/x", "headers": "A: 1, B:2"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            p.headers,
            vec![("A".into(), "1".into()), ("B".into(), "2".into())]
        );
        let p = GetUrlModule::parse(
            json!({"url": "http://h/x", "dest": "/tmp/x", "headers": {"Authorization": "Bearer t"}}).as_object().unwrap(),
        )
        .unwrap();
        assert!(GetUrlModule::fetch_cmd(&p, &p.url, "-", false)
            .contains("-H 'Authorization: Bearer t'"));
    }

    fn st(stat_mode: Option<u32>, sum: Option<&str>) -> GetUrlState {
        GetUrlState {
            path: "/tmp/x".into(),
            stat: stat_mode.map(|m| Stat {
                kind: FileKind::File,
                mode: m,
                uid: 0,
                gid: 0,
                owner: "root".into(),
                group: "root".into(),
                size: 3,
                mtime: 0,
                nlink: 1,
                inode: 1,
                link_target: None,
            }),
            downloader: "curl".into(),
            dest_sum: sum.map(str::to_string),
            dest_sha1: sum.map(str::to_string),
            expected: None,
            remote_sha1: None,
        }
    }

    #[test]
    fn plans() {
        let p = GetUrlModule::parse(
            json!({"url": "http://h/x", "dest": "/tmp/x", "mode": "0600"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        let plan = GetUrlModule::plan(&p, &st(None, None)).unwrap();
        assert_eq!(plan.actions, vec![GetUrlAction::Download { mode: 0o600 }]);
        // Exists, no checksum, no force: only attributes.
        let plan = GetUrlModule::plan(&p, &st(Some(0o644), Some("aa"))).unwrap();
        assert!(matches!(&plan.actions[..], [GetUrlAction::Attrs(_)]));
        assert!(GetUrlModule::plan(&p, &st(Some(0o600), Some("aa")))
            .unwrap()
            .is_noop());
        // Checksum given.
        let mut s = st(Some(0o600), Some("aa"));
        s.expected = Some("aa".into());
        assert!(GetUrlModule::plan(&p, &s).unwrap().is_noop());
        s.expected = Some("bb".into());
        assert_eq!(GetUrlModule::plan(&p, &s).unwrap().actions.len(), 1);
        // force: the streamed remote checksum decides.
        let p = GetUrlModule::parse(
            json!({"url": "http://h/x", "dest": "/tmp/x", "force": true})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        let mut s = st(Some(0o644), Some("a".repeat(40).as_str()));
        s.remote_sha1 = Some("a".repeat(40));
        assert!(GetUrlModule::plan(&p, &s).unwrap().is_noop());
        s.remote_sha1 = Some("b".repeat(40));
        assert_eq!(GetUrlModule::plan(&p, &s).unwrap().actions.len(), 1);
        // No downloader.
        let mut s = st(None, None);
        s.downloader.clear();
        assert!(GetUrlModule::plan(&p, &s).is_err());
    }
}
