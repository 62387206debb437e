//! `unarchive`: unpack a tar (plain, gzip, bzip2, xz, zstd) or zip archive into a directory on the
//! host (`ansible.builtin.unarchive`) — how release bundles and application trees get onto Docker
//! hosts. The archive comes from the controller (streamed to `tar` on stdin, or written to a
//! temporary file for `unzip`) or is already on the host (`remote_src: true`).
//!
//! Idempotency: `creates` (skipped when it exists), else the archive is compared with `dest`:
//! tar with `tar --compare` (`-d`: missing files, size, content, mtime, type; owner differences
//! are ignored, as are mode differences when `mode` is given), zip by listing its members
//! (`unzip -Z`, or reading the central directory of a controller archive) and comparing each
//! member's type and size with `stat` in `dest`. `mode`/`owner`/`group` are then checked on every
//! member and applied with `chmod`/`chown` (`mode` may be symbolic, e.g. `u+rwX,go+rX`).
//!
//! # Internal arguments (set by the engine)
//!
//! * `_content_b64` (string): base64 of the controller file named by `src`, when `remote_src`
//!   is false — exactly as `copy` receives it.
//!
//! Registered: `dest`, `src`, `handler` (`TgzArchive`/`ZipArchive`), `files` (with
//! `list_files`), `extract_results` (`cmd`, `rc`, `out`, `err`), `changed_files`.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::common::b64_decode;
use crate::contract::{Diff, Module, ModuleError, Outcome, Plan, RunMode};
use crate::fileattrs::{owner_matches, AttrArgs};
use crate::sysutil::{err_text, finish, kv_lines, q, sh};
use crate::target::{Command, FileAttrs, FileKind, Target};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("src", ArgKind::Str).required(),
    ArgSpec::new("dest", ArgKind::Str).required(),
    ArgSpec::new("remote_src", ArgKind::Bool),
    ArgSpec::new("copy", ArgKind::Bool),
    ArgSpec::new("creates", ArgKind::Str),
    ArgSpec::new("extra_opts", ArgKind::List),
    ArgSpec::new("exclude", ArgKind::List),
    ArgSpec::new("include", ArgKind::List),
    ArgSpec::new("keep_newer", ArgKind::Bool),
    ArgSpec::new("list_files", ArgKind::Bool),
    ArgSpec::new("mode", ArgKind::Mode),
    ArgSpec::new("owner", ArgKind::Str),
    ArgSpec::new("group", ArgKind::Str),
    ArgSpec::new("validate_certs", ArgKind::Bool),
    ArgSpec::new("io_buffer_size", ArgKind::Int),
];

/// The archive format, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Tar,
    TarGz,
    TarBz2,
    TarXz,
    TarZst,
    Zip,
}

impl Format {
    /// From the first bytes (at least 6) and the 5 bytes at offset 257 (`ustar`), if known.
    pub fn detect(head: &[u8], at257: &[u8]) -> Option<Format> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Format::TarGz)
        } else if head.starts_with(b"BZh") {
            Some(Format::TarBz2)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Some(Format::TarXz)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Format::TarZst)
        } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Some(Format::Zip)
        } else if at257.starts_with(b"ustar") {
            Some(Format::Tar)
        } else {
            None
        }
    }
    /// tar's decompression flag.
    pub fn tar_flag(self) -> Option<&'static str> {
        match self {
            Format::TarGz => Some("-z"),
            Format::TarBz2 => Some("-j"),
            Format::TarXz => Some("-J"),
            Format::TarZst => Some("--zstd"),
            _ => None,
        }
    }
    pub fn handler(self) -> &'static str {
        match self {
            Format::Zip => "ZipArchive",
            _ => "TgzArchive",
        }
    }
}

/// Decode hex bytes as `od -An -tx1` prints them.
pub fn parse_od_hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .filter_map(|w| u8::from_str_radix(w, 16).ok())
        .collect()
}

/// One member of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// As the archive names it, without a trailing `/`.
    pub path: String,
    pub dir: bool,
    /// Uncompressed size, when known (zip).
    pub size: Option<u64>,
}

/// Parse `tar -t` output: one name per line, directories ending in `/`; `./` itself is dropped.
pub fn parse_tar_list(text: &str) -> Vec<Member> {
    text.lines()
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            let dir = l.ends_with('/');
            let path = l.trim_end_matches('/');
            if path.is_empty() || path == "." {
                return None;
            }
            Some(Member {
                path: path.to_string(),
                dir,
                size: None,
            })
        })
        .collect()
}

/// Parse `unzip -Z` (zipinfo) lines: `-rw-r--r--  3.0 unx  13 tx stor 24-Jan-01 12:00 name`.
pub fn parse_zipinfo(text: &str) -> Vec<Member> {
    let mut out = Vec::new();
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.len() != 10 || !first.starts_with(['-', 'd', 'l']) {
            continue;
        }
        // The name is what follows the 8th field.
        let mut rest = line;
        let mut fields = Vec::new();
        for _ in 0..8 {
            rest = rest.trim_start();
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            fields.push(&rest[..end]);
            rest = &rest[end..];
        }
        let name = rest.trim_start_matches(' ');
        if fields.len() < 8 || name.is_empty() {
            continue;
        }
        let dir = first.starts_with('d') || name.ends_with('/');
        out.push(Member {
            path: name.trim_end_matches('/').to_string(),
            dir,
            size: if dir { None } else { fields[3].parse().ok() },
        });
    }
    out
}

fn le16(b: &[u8], i: usize) -> Option<usize> {
    Some(u16::from_le_bytes([*b.get(i)?, *b.get(i + 1)?]) as usize)
}
fn le32(b: &[u8], i: usize) -> Option<u64> {
    Some(u32::from_le_bytes([*b.get(i)?, *b.get(i + 1)?, *b.get(i + 2)?, *b.get(i + 3)?]) as u64)
}

/// List a zip archive from its central directory (no decompression; ZIP64 is not supported).
pub fn zip_members(data: &[u8]) -> Result<Vec<Member>, String> {
    let min = data.len().saturating_sub(22 + 65535);
    let eocd = (min..data.len().saturating_sub(21))
        .rev()
        .find(|&i| data[i..].starts_with(b"PK\x05\x06"))
        .ok_or("not a zip archive (no end of central directory)")?;
    let count = le16(data, eocd + 10).ok_or("truncated zip")?;
    let mut off = le32(data, eocd + 16).ok_or("truncated zip")? as usize;
    if off == 0xffff_ffff {
        return Err("ZIP64 archives are not supported".into());
    }
    let mut out = Vec::new();
    for _ in 0..count {
        if !data
            .get(off..)
            .is_some_and(|d| d.starts_with(b"PK\x01\x02"))
        {
            return Err("corrupt zip central directory".into());
        }
        let size = le32(data, off + 24).ok_or("truncated zip")?;
        let nlen = le16(data, off + 28).ok_or("truncated zip")?;
        let elen = le16(data, off + 30).ok_or("truncated zip")?;
        let clen = le16(data, off + 32).ok_or("truncated zip")?;
        let name = data.get(off + 46..off + 46 + nlen).ok_or("truncated zip")?;
        let name = String::from_utf8_lossy(name).into_owned();
        let dir = name.ends_with('/');
        let path = name.trim_end_matches('/').to_string();
        if !path.is_empty() {
            out.push(Member {
                path,
                dir,
                size: if dir { None } else { Some(size) },
            });
        }
        off += 46 + nlen + elen + clen;
    }
    Ok(out)
}

/// Paths `tar --compare` reports as different, ignoring owner differences (and mode ones when
/// `ignore_mode`).
pub fn parse_tar_compare(text: &str, ignore_mode: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let (path, what) = if let Some(rest) = line.strip_prefix("tar: ") {
            match rest.split_once(": Warning: Cannot stat") {
                Some((p, _)) => (p.to_string(), "missing"),
                None => continue,
            }
        } else {
            match line.rsplit_once(": ") {
                Some((p, w)) => (p.to_string(), w),
                None => continue,
            }
        };
        let ignored = matches!(what, "Uid differs" | "Gid differs")
            || (ignore_mode && what == "Mode differs");
        if !ignored && !out.contains(&path) {
            out.push(path);
        }
    }
    out
}

/// `stat --printf '%a\t%u\t%g\t%U\t%G\t%s\t%F\t%n\n'` of a member in dest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStat {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub owner: String,
    pub group: String,
    pub size: u64,
    pub kind: FileKind,
    pub path: String,
}

pub fn parse_member_stats(text: &str) -> Vec<MemberStat> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.splitn(8, '\t').collect();
            if f.len() < 8 {
                return None;
            }
            Some(MemberStat {
                mode: u32::from_str_radix(f[0], 8).ok()?,
                uid: f[1].parse().ok()?,
                gid: f[2].parse().ok()?,
                owner: f[3].to_string(),
                group: f[4].to_string(),
                size: f[5].parse().ok()?,
                kind: match f[6] {
                    "directory" => FileKind::Directory,
                    "symbolic link" => FileKind::Symlink,
                    "regular file" | "regular empty file" => FileKind::File,
                    _ => FileKind::Other,
                },
                path: f[7].to_string(),
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Bytes(Vec<u8>),
    Remote(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnarchiveParams {
    pub src: String,
    pub dest: String,
    pub source: Source,
    pub creates: Option<String>,
    pub extra_opts: Vec<String>,
    pub exclude: Vec<String>,
    pub include: Vec<String>,
    pub keep_newer: bool,
    pub list_files: bool,
    pub attrs: AttrArgs,
    /// The mode as the user wrote it (chmod syntax).
    pub mode_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnarchiveState {
    pub creates_exists: bool,
    pub dest_is_dir: bool,
    pub format: Format,
    pub members: Vec<Member>,
    /// Members that are missing or differ in dest.
    pub differing: Vec<String>,
    /// `stat` of the members in dest (when attributes or zip sizes are compared).
    pub stats: Vec<MemberStat>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnarchiveAction {
    Extract,
    Attrs,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The `unarchive` module.
pub struct UnarchiveModule;

impl UnarchiveModule {
    pub fn parse(args: &Args) -> Result<UnarchiveParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let src = p.req_str("src")?;
        let remote = p
            .bool("remote_src")
            .unwrap_or_else(|| !p.bool_or("copy", true));
        if src.contains("://") {
            return Err(ArgError::new(
                Some("src"),
                "URLs are not supported by converge yet: download with get_url, then use remote_src",
            )
            .into());
        }
        let source = if remote {
            Source::Remote(src.clone())
        } else {
            match args.get("_content_b64").and_then(Value::as_str) {
                Some(b) => Source::Bytes(b64_decode(b).map_err(|e| ArgError::new(Some("_content_b64"), e))?),
                None => {
                    return Err(ModuleError::Failed(format!(
                        "unarchive: the content of src `{src}` was not provided (the engine passes controller files as _content_b64)"
                    )))
                }
            }
        };
        let attrs = AttrArgs::from_params(&p)?;
        let mode_text = attrs.mode.as_ref().map(|m| match m {
            crate::mode::ModeSpec::Octal(o) => format!("{o:04o}"),
            _ => p.mode("mode").unwrap_or_default(),
        });
        Ok(UnarchiveParams {
            src,
            dest: p.req_str("dest")?,
            source,
            creates: p.str("creates").filter(|s| !s.is_empty()),
            extra_opts: p.list("extra_opts").unwrap_or_default(),
            exclude: p.list("exclude").unwrap_or_default(),
            include: p.list("include").unwrap_or_default(),
            keep_newer: p.bool_or("keep_newer", false),
            list_files: p.bool_or("list_files", false),
            attrs,
            mode_text,
        })
    }

    fn src_word(p: &UnarchiveParams) -> String {
        match &p.source {
            Source::Bytes(_) => "-".into(),
            Source::Remote(s) => q(s),
        }
    }

    fn with_stdin(p: &UnarchiveParams, script: String) -> Command {
        let c = Command::shell(script);
        match &p.source {
            Source::Bytes(b) => c.stdin(b.clone()),
            Source::Remote(_) => c,
        }
    }

    /// tar's arguments shared by list, compare and extract.
    fn tar_opts(p: &UnarchiveParams, format: Format) -> String {
        let mut s = String::new();
        if let Some(f) = format.tar_flag() {
            s.push(' ');
            s.push_str(f);
        }
        for e in &p.exclude {
            s.push_str(&format!(" --exclude={}", q(e)));
        }
        for o in &p.extra_opts {
            s.push(' ');
            s.push_str(&q(o));
        }
        s
    }

    fn tar_includes(p: &UnarchiveParams) -> String {
        p.include
            .iter()
            .map(|i| format!(" {}", q(i)))
            .collect::<String>()
    }

    fn stat_members(
        target: &dyn Target,
        dest: &str,
        members: &[Member],
    ) -> Result<Vec<MemberStat>, ModuleError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let mut list = Vec::new();
        for m in members {
            list.extend_from_slice(m.path.as_bytes());
            list.push(0);
        }
        let script = format!(
            "cd {} && xargs -0 stat --printf '%a\\t%u\\t%g\\t%U\\t%G\\t%s\\t%F\\t%n\\n' -- 2>/dev/null; exit 0",
            q(dest)
        );
        let out = target.run(&Command::shell(script).stdin(list))?;
        Ok(parse_member_stats(&out.stdout_str()))
    }

    pub fn inspect(
        p: &UnarchiveParams,
        target: &dyn Target,
    ) -> Result<UnarchiveState, ModuleError> {
        let mut s = format!("[ -d {} ] && echo dest=dir; ", q(&p.dest));
        if let Some(c) = &p.creates {
            s.push_str(&format!("[ -e {} ] && echo creates=yes; ", q(c)));
        }
        if let Source::Remote(src) = &p.source {
            let f = q(src);
            s.push_str(&format!(
                "if [ -f {f} ]; then echo src=file; echo \"head=$(od -An -tx1 -N 6 {f} | tr -s ' \\n' ' ')\"; \
                 echo \"at257=$(od -An -tx1 -j 257 -N 5 {f} | tr -s ' \\n' ' ')\"; fi; \
                 command -v unzip >/dev/null 2>&1 && echo unzip=yes; "
            ));
        }
        s.push_str("exit 0");
        let kv = kv_lines(&sh(target, &s)?.stdout_str());
        let creates_exists = kv.contains_key("creates");
        let dest_is_dir = kv.contains_key("dest");
        let format = match &p.source {
            Source::Bytes(b) => Format::detect(b, b.get(257..).unwrap_or(&[])),
            Source::Remote(src) => {
                if !kv.contains_key("src") {
                    return Err(ModuleError::Failed(format!(
                        "Source '{src}' does not exist"
                    )));
                }
                Format::detect(
                    &parse_od_hex(kv.get("head").map(String::as_str).unwrap_or("")),
                    &parse_od_hex(kv.get("at257").map(String::as_str).unwrap_or("")),
                )
            }
        }
        .ok_or_else(|| {
            ModuleError::Failed(format!(
                "Failed to find handler for \"{}\": not a tar (gz, bz2, xz, zst) or zip archive",
                p.src
            ))
        })?;
        let mut st = UnarchiveState {
            creates_exists,
            dest_is_dir,
            format,
            members: Vec::new(),
            differing: Vec::new(),
            stats: Vec::new(),
        };
        if creates_exists || !dest_is_dir {
            return Ok(st);
        }
        if format == Format::Zip {
            st.members = match &p.source {
                Source::Bytes(b) => zip_members(b).map_err(ModuleError::Failed)?,
                Source::Remote(src) => {
                    if !kv.contains_key("unzip") {
                        return Err(ModuleError::Failed(
                            "unzip is needed on the host to unpack zip archives and was not found"
                                .into(),
                        ));
                    }
                    let out = target.run(&Command::argv(["unzip", "-Z", "--", src]))?;
                    if !out.success() {
                        return Err(ModuleError::Failed(format!(
                            "cannot list {src}: {}",
                            err_text(&out)
                        )));
                    }
                    parse_zipinfo(&out.stdout_str())
                }
            };
            st.members.retain(|m| {
                !p.exclude
                    .iter()
                    .any(|e| crate::sysutil::glob_match(e, &m.path))
                    && (p.include.is_empty()
                        || p.include
                            .iter()
                            .any(|i| crate::sysutil::glob_match(i, &m.path)))
            });
            st.stats = Self::stat_members(target, &p.dest, &st.members)?;
            for m in &st.members {
                let ok = st.stats.iter().find(|s| s.path == m.path).is_some_and(|s| {
                    if m.dir {
                        s.kind == FileKind::Directory
                    } else {
                        s.kind != FileKind::Directory && m.size.is_none_or(|z| z == s.size)
                    }
                });
                if !ok {
                    st.differing.push(m.path.clone());
                }
            }
            return Ok(st);
        }
        let opts = Self::tar_opts(p, format);
        let inc = Self::tar_includes(p);
        let list = target.run(&Self::with_stdin(
            p,
            format!("tar -t{opts} -f {}{inc}", Self::src_word(p)),
        ))?;
        if !list.success() {
            return Err(ModuleError::Failed(format!(
                "cannot list the archive {}: {}",
                p.src,
                err_text(&list)
            )));
        }
        st.members = parse_tar_list(&list.stdout_str());
        let cmp = target.run(&Self::with_stdin(
            p,
            format!(
                "tar -d{opts} -f {} -C {}{inc} 2>&1; rc=$?; [ $rc -le 1 ] || echo \"tar-compare-failed=$rc\"; exit 0",
                Self::src_word(p),
                q(&p.dest)
            ),
        ))?;
        let text = cmp.stdout_str();
        if let Some(l) = text.lines().find(|l| l.starts_with("tar-compare-failed=")) {
            // Fatal compare errors (unreadable archive): extraction would fail the same way.
            return Err(ModuleError::Failed(format!(
                "comparing {} with {} failed: {}",
                p.src,
                p.dest,
                text.replace(l, "").trim()
            )));
        }
        st.differing = parse_tar_compare(&text, p.attrs.mode.is_some());
        if !p.attrs.is_empty() {
            st.stats = Self::stat_members(target, &p.dest, &st.members)?;
        }
        Ok(st)
    }

    /// Whether a member's attributes differ from `mode`/`owner`/`group`.
    fn attrs_differ(p: &UnarchiveParams, s: &MemberStat) -> bool {
        if let Some(m) = &p.attrs.mode {
            if s.kind != FileKind::Symlink
                && m.apply(s.mode, s.kind == FileKind::Directory) != s.mode
            {
                return true;
            }
        }
        if let Some(o) = &p.attrs.owner {
            if !owner_matches(o, &s.owner, s.uid) {
                return true;
            }
        }
        if let Some(g) = &p.attrs.group {
            if !owner_matches(g, &s.group, s.gid) {
                return true;
            }
        }
        false
    }

    pub fn plan(
        p: &UnarchiveParams,
        st: &UnarchiveState,
    ) -> Result<Plan<UnarchiveAction>, ModuleError> {
        let mut plan = Plan::nothing();
        plan.data.insert("dest".into(), p.dest.clone().into());
        plan.data.insert("src".into(), p.src.clone().into());
        plan.data
            .insert("handler".into(), st.format.handler().into());
        if !st.dest_is_dir {
            return Err(ModuleError::Failed(format!(
                "dest '{}' must be an existing dir",
                p.dest
            )));
        }
        if p.list_files {
            plan.data.insert(
                "files".into(),
                Value::Array(
                    st.members
                        .iter()
                        .map(|m| {
                            Value::String(if m.dir {
                                format!("{}/", m.path)
                            } else {
                                m.path.clone()
                            })
                        })
                        .collect(),
                ),
            );
        }
        let mut after = String::new();
        if !st.differing.is_empty() {
            plan.actions.push(UnarchiveAction::Extract);
            for d in &st.differing {
                after.push_str(&format!("{d}\n"));
            }
        }
        if !p.attrs.is_empty() {
            let differ: Vec<&MemberStat> = st
                .stats
                .iter()
                .filter(|s| Self::attrs_differ(p, s))
                .collect();
            if !st.differing.is_empty() || !differ.is_empty() {
                plan.actions.push(UnarchiveAction::Attrs);
            }
            if st.differing.is_empty() {
                for s in differ {
                    after.push_str(&format!("{} (attributes)\n", s.path));
                }
            }
        }
        plan.data.insert(
            "changed_files".into(),
            Value::Array(st.differing.iter().cloned().map(Value::String).collect()),
        );
        if !plan.is_noop() {
            plan.diffs.push(Diff::new(&p.dest, "", after));
        }
        Ok(plan)
    }

    fn apply(
        p: &UnarchiveParams,
        st: &UnarchiveState,
        plan: &Plan<UnarchiveAction>,
        target: &dyn Target,
    ) -> Result<Map<String, Value>, ModuleError> {
        let mut data = Map::new();
        let dest = q(&p.dest);
        for a in &plan.actions {
            match a {
                UnarchiveAction::Extract => {
                    let (script, cmd, tmp) = if st.format == Format::Zip {
                        let (srcw, tmp) = match &p.source {
                            Source::Remote(s) => (q(s), None),
                            Source::Bytes(b) => {
                                let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
                                let tmp = format!(
                                    "/tmp/.converge-unarchive-{}-{n}.zip",
                                    std::process::id()
                                );
                                target.write_file(
                                    &tmp,
                                    b,
                                    &FileAttrs {
                                        mode: Some(0o600),
                                        ..FileAttrs::default()
                                    },
                                )?;
                                (q(&tmp), Some(tmp))
                            }
                        };
                        let mut s = format!("unzip -o -q {srcw}");
                        for i in &p.include {
                            s.push_str(&format!(" {}", q(i)));
                        }
                        if !p.exclude.is_empty() {
                            s.push_str(" -x");
                            for e in &p.exclude {
                                s.push_str(&format!(" {}", q(e)));
                            }
                        }
                        for o in &p.extra_opts {
                            s.push_str(&format!(" {}", q(o)));
                        }
                        s.push_str(&format!(" -d {dest}"));
                        (Command::shell(s.clone()), s, tmp)
                    } else {
                        let mut s = format!(
                            "tar -x{} -f {} -C {dest}",
                            Self::tar_opts(p, st.format),
                            Self::src_word(p)
                        );
                        if p.keep_newer {
                            s.push_str(" --keep-newer-files");
                        }
                        s.push_str(&Self::tar_includes(p));
                        (Self::with_stdin(p, s.clone()), s, None)
                    };
                    let out = target.run(&script);
                    if let Some(t) = tmp {
                        let _ = target.run(&Command::argv(["rm", "-f", "--", &t]));
                    }
                    let out = out?;
                    let mut r = Map::new();
                    r.insert("cmd".into(), cmd.into());
                    r.insert("rc".into(), out.rc.into());
                    r.insert("out".into(), out.stdout_str().into());
                    r.insert("err".into(), out.stderr_str().into());
                    data.insert("extract_results".into(), Value::Object(r));
                    if !out.success() {
                        return Err(ModuleError::Failed(format!(
                            "failed to unpack {} into {}: {}",
                            p.src,
                            p.dest,
                            err_text(&out)
                        )));
                    }
                }
                UnarchiveAction::Attrs => {
                    let mut list = Vec::new();
                    for m in &st.members {
                        list.extend_from_slice(m.path.as_bytes());
                        list.push(0);
                    }
                    let mut inner = String::new();
                    let own = match (&p.attrs.owner, &p.attrs.group) {
                        (Some(o), Some(g)) => Some(format!("{o}:{g}")),
                        (Some(o), None) => Some(o.clone()),
                        (None, Some(g)) => Some(format!(":{g}")),
                        (None, None) => None,
                    };
                    if let Some(o) = own {
                        inner.push_str(&format!("chown -h {} -- \"$f\" || exit 1; ", q(&o)));
                    }
                    if let Some(m) = &p.mode_text {
                        inner.push_str(&format!(
                            "[ -L \"$f\" ] || chmod {} -- \"$f\" || exit 1; ",
                            q(m)
                        ));
                    }
                    let script = format!(
                        "cd {dest} && xargs -0 sh -c {} sh",
                        q(&format!("for f; do {inner}done"))
                    );
                    let out = target.run(&Command::shell(script).stdin(list))?;
                    if !out.success() {
                        return Err(ModuleError::Failed(format!(
                            "setting attributes in {} failed: {}",
                            p.dest,
                            err_text(&out)
                        )));
                    }
                }
            }
        }
        Ok(data)
    }
}

impl Module for UnarchiveModule {
    fn name(&self) -> &'static str {
        "unarchive"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    /// A controller-side `src` (the default) is read through the controller.
    fn run_with(
        &self,
        target: &dyn Target,
        args: &Args,
        mode: RunMode,
        ctl: &dyn crate::contract::Controller,
    ) -> Result<Outcome, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let remote = p
            .bool("remote_src")
            .unwrap_or_else(|| !p.bool_or("copy", true));
        let src = p.str("src").unwrap_or_default();
        if remote || args.contains_key("_content_b64") || src.contains("://") || src.is_empty() {
            return self.run(target, args, mode);
        }
        let content = ctl.controller_file(&src).map_err(ModuleError::Failed)?;
        let mut with_content = args.clone();
        with_content.insert(
            "_content_b64".into(),
            Value::String(crate::common::b64_encode(&content)),
        );
        self.run(target, &with_content, mode)
    }

    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = Self::parse(args)?;
        let st = Self::inspect(&p, target)?;
        if st.creates_exists {
            let c = p.creates.clone().unwrap_or_default();
            return Ok(Outcome::skipped(format!("skipped, since {c} exists")));
        }
        let plan = Self::plan(&p, &st)?;
        finish(plan, mode, |plan| Self::apply(&p, &st, plan, target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats() {
        assert_eq!(
            Format::detect(&[0x1f, 0x8b, 8, 0, 0, 0], &[]),
            Some(Format::TarGz)
        );
        assert_eq!(Format::detect(b"BZh91A", &[]), Some(Format::TarBz2));
        assert_eq!(
            Format::detect(&[0xfd, b'7', b'z', b'X', b'Z', 0], &[]),
            Some(Format::TarXz)
        );
        assert_eq!(Format::detect(b"PK\x03\x04xx", &[]), Some(Format::Zip));
        assert_eq!(Format::detect(b"a.txt\0", b"ustar"), Some(Format::Tar));
        assert_eq!(Format::detect(b"hello!", b""), None);
        assert_eq!(
            parse_od_hex(" 1f 8b 08 00\n 00 00"),
            vec![0x1f, 0x8b, 8, 0, 0, 0]
        );
    }

    #[test]
    fn parses_listings() {
        let m = parse_tar_list("./\n./l\n./sub/\n./sub/b\n./a.txt\n");
        assert_eq!(m.len(), 4);
        assert!(m[1].dir && m[1].path == "./sub");
        let z = parse_zipinfo(
            "Archive:  t.zip\nZip file size: 400 bytes, number of entries: 2\n-rw-r--r--  3.0 unx       13 tx stor 24-Jan-01 12:00 dir/a file.txt\ndrwxr-xr-x  3.0 unx        0 bx stor 24-Jan-01 12:00 dir/\n2 files, 13 bytes uncompressed, 13 bytes compressed:  0.0%\n",
        );
        assert_eq!(
            z,
            vec![
                Member {
                    path: "dir/a file.txt".into(),
                    dir: false,
                    size: Some(13)
                },
                Member {
                    path: "dir".into(),
                    dir: true,
                    size: None
                },
            ]
        );
        let c = parse_tar_compare(
            "./sub/b: Contents differ\n./sub/b: Mod time differs\ntar: ./a.txt: Warning: Cannot stat: No such file or directory\n./x: Uid differs\n./y: Mode differs\n",
            true,
        );
        assert_eq!(c, vec!["./sub/b", "./a.txt"]);
        let s = parse_member_stats("755\t0\t0\troot\troot\t4096\tdirectory\t./sub\n644\t1000\t1000\tapp\tapp\t3\tregular file\t./a b\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].path, "./a b");
        assert_eq!(s[0].kind, FileKind::Directory);
    }

    #[test]
    fn reads_zip_central_directory() {
        // A stored zip with `d/` and `d/a.txt` ("hi\n"), built by hand.
        fn local(name: &str, data: &[u8]) -> Vec<u8> {
            let mut v = b"PK\x03\x04".to_vec();
            v.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            v.extend([0; 4]);
            v.extend((data.len() as u32).to_le_bytes());
            v.extend((data.len() as u32).to_le_bytes());
            v.extend((name.len() as u16).to_le_bytes());
            v.extend([0, 0]);
            v.extend(name.as_bytes());
            v.extend(data);
            v
        }
        fn central(name: &str, size: u32, off: u32) -> Vec<u8> {
            let mut v = b"PK\x01\x02".to_vec();
            v.extend([20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            v.extend([0; 4]);
            v.extend(size.to_le_bytes());
            v.extend(size.to_le_bytes());
            v.extend((name.len() as u16).to_le_bytes());
            v.extend([0; 12]);
            v.extend(off.to_le_bytes());
            v.extend(name.as_bytes());
            v
        }
        let mut z = local("d/", b"");
        let off2 = z.len() as u32;
        z.extend(local("d/a.txt", b"hi\n"));
        let cd_off = z.len() as u32;
        let mut cd = central("d/", 0, 0);
        cd.extend(central("d/a.txt", 3, off2));
        let cd_len = cd.len() as u32;
        z.extend(cd);
        z.extend(b"PK\x05\x06");
        z.extend([0, 0, 0, 0, 2, 0, 2, 0]);
        z.extend(cd_len.to_le_bytes());
        z.extend(cd_off.to_le_bytes());
        z.extend([0, 0]);
        let m = zip_members(&z).unwrap();
        assert_eq!(
            m,
            vec![
                Member {
                    path: "d".into(),
                    dir: true,
                    size: None
                },
                Member {
                    path: "d/a.txt".into(),
                    dir: false,
                    size: Some(3)
                },
            ]
        );
        assert!(zip_members(b"nope").is_err());
    }
}
