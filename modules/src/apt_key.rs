//! `apt_key`: trust an APT repository signing key (`ansible.builtin.apt_key`) without `apt-key`
//! (deprecated, gone in Debian 13) and without `gpg` on the host (minimal images lack it).
//!
//! The key comes from `data`, a `file` on the host, or a `url` fetched ON THE HOST with curl or
//! wget (to stdout: nothing is written while inspecting). converge de-armors it and computes the
//! OpenPGP v4 fingerprints itself, then writes a binary keyring:
//!
//! * `keyring` given — the recommended form, for `signed-by=` in the source line, e.g.
//!   `/etc/apt/keyrings/docker.gpg` (a keyring ending in `.asc` gets the armored text instead);
//! * no `keyring` — `/etc/apt/trusted.gpg.d/<KEYID>.gpg`, trusted for every repository, which is
//!   what `apt-key add` amounted to.
//!
//! Idempotent by fingerprint: with `id` and a keyring already holding that key nothing is
//! downloaded; otherwise the keyring is rewritten only when it lacks one of the key's
//! fingerprints. `state: absent` removes the keyring (only if it holds `id`, when given) or, with
//! only `id`, every `/etc/apt/trusted.gpg.d` file holding it. `keyserver` is not supported.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::common::{b64_decode, kv_text};
use crate::contract::{Diff, Module, ModuleError, Outcome, Plan, RunMode};
use crate::sysutil::{err_text, find_program_snippet, finish, q, sh};
use crate::target::{Command, FileAttrs, Target};
use serde_json::{Map, Value};
use sha1::Digest as _;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("id", ArgKind::Str),
    ArgSpec::new("url", ArgKind::Str),
    ArgSpec::new("data", ArgKind::Str),
    ArgSpec::new("file", ArgKind::Str),
    ArgSpec::new("keyring", ArgKind::Str),
    ArgSpec::new("state", ArgKind::Str).choices(&["present", "absent"]),
    ArgSpec::new("keyserver", ArgKind::Str),
    ArgSpec::new("validate_certs", ArgKind::Bool),
];

const TRUSTED_DIR: &str = "/etc/apt/trusted.gpg.d";

/// The binary packets of an ASCII-armored key (or the bytes as they are when not armored).
pub fn dearmor(data: &[u8]) -> Result<Vec<u8>, String> {
    let text = match std::str::from_utf8(data) {
        Ok(t) if t.contains("-----BEGIN PGP") => t,
        _ => return Ok(data.to_vec()),
    };
    let mut body = String::new();
    let mut in_block = false;
    let mut in_headers = false;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("-----BEGIN PGP") {
            in_block = true;
            in_headers = true;
            continue;
        }
        if !in_block {
            continue;
        }
        if l.starts_with("-----END PGP") {
            break;
        }
        if in_headers {
            if l.is_empty() {
                in_headers = false;
                continue;
            }
            if l.contains(": ") {
                continue;
            }
            in_headers = false;
        }
        if l.starts_with('=') {
            // CRC-24 line.
            continue;
        }
        body.push_str(l);
    }
    b64_decode(&body)
}

/// The v4 fingerprints (upper-case hex) of the public keys and subkeys in binary packets.
pub fn fingerprints(packets: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < packets.len() {
        let b = packets[i];
        if b & 0x80 == 0 {
            break;
        }
        let (tag, len, hdr) = if b & 0x40 != 0 {
            let tag = b & 0x3f;
            let Some(&o1) = packets.get(i + 1) else { break };
            match o1 {
                0..=191 => (tag, o1 as usize, 2),
                192..=223 => {
                    let Some(&o2) = packets.get(i + 2) else { break };
                    (tag, ((o1 as usize - 192) << 8) + o2 as usize + 192, 3)
                }
                255 => {
                    let Some(l) = packets.get(i + 2..i + 6) else {
                        break;
                    };
                    (
                        tag,
                        u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize,
                        6,
                    )
                }
                _ => break,
            }
        } else {
            let tag = (b >> 2) & 0x0f;
            match b & 3 {
                0 => (tag, *packets.get(i + 1).unwrap_or(&0) as usize, 2),
                1 => {
                    let Some(l) = packets.get(i + 1..i + 3) else {
                        break;
                    };
                    (tag, u16::from_be_bytes([l[0], l[1]]) as usize, 3)
                }
                2 => {
                    let Some(l) = packets.get(i + 1..i + 5) else {
                        break;
                    };
                    (
                        tag,
                        u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize,
                        5,
                    )
                }
                _ => (tag, packets.len() - i - 1, 1),
            }
        };
        let start = i + hdr;
        let Some(body) = packets.get(start..start + len) else {
            break;
        };
        if (tag == 6 || tag == 14) && body.first() == Some(&4) && len <= 0xffff {
            let mut h = sha1::Sha1::new();
            h.update([0x99]);
            h.update((len as u16).to_be_bytes());
            h.update(body);
            out.push(h.finalize().iter().map(|b| format!("{b:02X}")).collect());
        }
        i = start + len;
    }
    out
}

/// Normalise a key id (`0x` prefix, spaces, case).
pub fn norm_id(id: &str) -> String {
    id.trim()
        .trim_start_matches("0x")
        .trim_start_matches("0X")
        .replace(' ', "")
        .to_ascii_uppercase()
}

fn has_id(fps: &[String], id: &str) -> bool {
    let id = norm_id(id);
    !id.is_empty() && fps.iter().any(|f| f.ends_with(&id))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Data(String),
    File(String),
    Url(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptKeyParams {
    pub id: Option<String>,
    pub source: Option<KeySource>,
    pub keyring: Option<String>,
    pub present: bool,
    pub validate_certs: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAction {
    Write { path: String, content: Vec<u8> },
    Remove(String),
}

/// The `apt_key` module.
pub struct AptKeyModule;

impl AptKeyModule {
    pub fn parse(args: &Args) -> Result<AptKeyParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        if p.has("keyserver") {
            return Err(ArgError::new(
                Some("keyserver"),
                "keyservers are not supported by converge: give url, data or file",
            )
            .into());
        }
        let sources: Vec<KeySource> = [
            p.str("data").filter(|s| !s.is_empty()).map(KeySource::Data),
            p.str("file").filter(|s| !s.is_empty()).map(KeySource::File),
            p.str("url").filter(|s| !s.is_empty()).map(KeySource::Url),
        ]
        .into_iter()
        .flatten()
        .collect();
        if sources.len() > 1 {
            return Err(ArgError::new(None, "data, file and url are mutually exclusive").into());
        }
        let present = p.str_or("state", "present") == "present";
        let id = p.str("id").filter(|s| !s.is_empty());
        let keyring = p.str("keyring").filter(|s| !s.is_empty());
        if present && sources.is_empty() {
            return Err(ArgError::new(
                None,
                "one of data, file or url is required with state=present",
            )
            .into());
        }
        if !present && id.is_none() && keyring.is_none() {
            return Err(ArgError::new(
                Some("id"),
                "is required with state=absent (or give keyring)",
            )
            .into());
        }
        Ok(AptKeyParams {
            id,
            source: sources.into_iter().next(),
            keyring,
            present,
            validate_certs: p.bool_or("validate_certs", true),
        })
    }

    fn fetch(p: &AptKeyParams, target: &dyn Target) -> Result<Vec<u8>, ModuleError> {
        match &p.source {
            Some(KeySource::Data(d)) => Ok(d.clone().into_bytes()),
            Some(KeySource::File(f)) => target
                .read_file(f)?
                .ok_or_else(|| ModuleError::Failed(format!("key file {f} not found"))),
            Some(KeySource::Url(u)) => {
                let k = if p.validate_certs { "" } else { " -k" };
                let nk = if p.validate_certs {
                    ""
                } else {
                    " --no-check-certificate"
                };
                let s = format!(
                    "{} if [ \"$dl\" = curl ]; then curl -fsSL{k} -- {u}; elif [ -n \"$dl\" ]; then wget -q{nk} -O- -- {u}; else echo 'apt_key needs curl or wget on the host to fetch a url' >&2; exit 127; fi",
                    find_program_snippet("dl", &["curl", "wget"]),
                    u = q(u)
                );
                let out = sh(target, &s)?;
                if !out.success() {
                    return Err(ModuleError::Failed(format!(
                        "failed to download key at {u}: {}",
                        err_text(&out)
                    )));
                }
                Ok(out.stdout)
            }
            None => Err(ModuleError::Failed("no key source".into())),
        }
    }

    fn run_present(p: &AptKeyParams, target: &dyn Target) -> Result<Plan<KeyAction>, ModuleError> {
        let mut plan = Plan::nothing();
        // With an id and a keyring that already holds it, nothing needs fetching.
        if let (Some(id), Some(kr)) = (&p.id, &p.keyring) {
            if let Some(cur) = target.read_file(kr)? {
                let fps = fingerprints(&dearmor(&cur).unwrap_or_default());
                if has_id(&fps, id) {
                    Self::insert_ids(&mut plan.data, &fps, kr);
                    return Ok(plan);
                }
            }
        }
        let raw = Self::fetch(p, target)?;
        let bin = dearmor(&raw).map_err(|e| ModuleError::Failed(format!("invalid key: {e}")))?;
        let fps = fingerprints(&bin);
        if fps.is_empty() {
            return Err(ModuleError::Failed(
                "no OpenPGP v4 public key found in the key data".into(),
            ));
        }
        if let Some(id) = &p.id {
            if !has_id(&fps, id) {
                return Err(ModuleError::Failed(format!(
                    "key id {id} does not match the downloaded key ({})",
                    fps[0]
                )));
            }
        }
        let path = p
            .keyring
            .clone()
            .unwrap_or_else(|| format!("{TRUSTED_DIR}/{}.gpg", &fps[0][fps[0].len() - 16..]));
        let content = if path.ends_with(".asc") && raw != bin {
            raw
        } else {
            bin
        };
        let cur = target.read_file(&path)?;
        let cur_fps = cur
            .as_deref()
            .map(|c| fingerprints(&dearmor(c).unwrap_or_default()))
            .unwrap_or_default();
        Self::insert_ids(&mut plan.data, &fps, &path);
        if fps.iter().all(|f| cur_fps.contains(f)) {
            return Ok(plan);
        }
        plan.diffs.push(Diff::new(
            &path,
            kv_text(
                &cur_fps
                    .iter()
                    .map(|f| ("key", f.clone()))
                    .collect::<Vec<_>>(),
            ),
            kv_text(&fps.iter().map(|f| ("key", f.clone())).collect::<Vec<_>>()),
        ));
        plan.actions.push(KeyAction::Write { path, content });
        Ok(plan)
    }

    fn insert_ids(d: &mut Map<String, Value>, fps: &[String], path: &str) {
        if let Some(fp) = fps.first() {
            d.insert("fp".into(), fp.clone().into());
            d.insert("id".into(), fp[fp.len() - 16..].to_string().into());
            d.insert("key_id".into(), fp[fp.len() - 16..].to_string().into());
            d.insert("short_id".into(), fp[fp.len() - 8..].to_string().into());
        }
        d.insert("keyring".into(), path.into());
    }

    fn run_absent(p: &AptKeyParams, target: &dyn Target) -> Result<Plan<KeyAction>, ModuleError> {
        let mut plan = Plan::nothing();
        let candidates: Vec<String> = match &p.keyring {
            Some(k) => vec![k.clone()],
            None => {
                let out = sh(target, &format!("for f in {TRUSTED_DIR}/*.gpg {TRUSTED_DIR}/*.asc; do [ -f \"$f\" ] && echo \"$f\"; done; exit 0"))?;
                out.stdout_str().lines().map(str::to_string).collect()
            }
        };
        for path in candidates {
            let Some(cur) = target.read_file(&path)? else {
                continue;
            };
            let fps = fingerprints(&dearmor(&cur).unwrap_or_default());
            let hit = p.id.as_ref().is_none_or(|id| has_id(&fps, id));
            if hit {
                plan.diffs.push(Diff::new(
                    &path,
                    kv_text(&fps.iter().map(|f| ("key", f.clone())).collect::<Vec<_>>()),
                    "",
                ));
                plan.actions.push(KeyAction::Remove(path));
            }
        }
        Ok(plan)
    }
}

impl Module for AptKeyModule {
    fn name(&self) -> &'static str {
        "apt_key"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = Self::parse(args)?;
        let plan = if p.present {
            Self::run_present(&p, target)?
        } else {
            Self::run_absent(&p, target)?
        };
        finish(plan, mode, |plan| {
            for a in &plan.actions {
                match a {
                    KeyAction::Write { path, content } => {
                        let dir = crate::common::dirname(path);
                        crate::common::run_checked(
                            target,
                            &Command::argv(["mkdir", "-p", "-m", "0755", "--", &dir]),
                            &format!("creating {dir}"),
                        )?;
                        target.write_file(
                            path,
                            content,
                            &FileAttrs {
                                mode: Some(0o644),
                                ..FileAttrs::default()
                            },
                        )?;
                    }
                    KeyAction::Remove(path) => {
                        crate::common::run_checked(
                            target,
                            &Command::argv(["rm", "-f", "--", path]),
                            &format!("removing {path}"),
                        )?;
                    }
                }
            }
            Ok(Map::new())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v4 public key packet (ed25519) built by hand; fingerprint computed independently below.
    fn key_packet() -> (Vec<u8>, String) {
        let mut body = vec![4, 0x5f, 0x00, 0x00, 0x00, 22];
        body.extend([9, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01]);
        body.extend([0x01, 0x07, 0x40]);
        body.extend([7u8; 32]);
        let mut pkt = vec![0x98, body.len() as u8];
        pkt.extend(&body);
        let mut h = sha1::Sha1::new();
        h.update([0x99]);
        h.update((body.len() as u16).to_be_bytes());
        h.update(&body);
        let fp: String = h.finalize().iter().map(|b| format!("{b:02X}")).collect();
        (pkt, fp)
    }

    #[test]
    fn fingerprints_of_binary_and_armored_keys() {
        let (pkt, fp) = key_packet();
        assert_eq!(fingerprints(&pkt), vec![fp.clone()]);
        // New-format header for the same packet, plus a trailing user id packet.
        let mut newfmt = vec![0xc6, (pkt.len() - 2) as u8];
        newfmt.extend(&pkt[2..]);
        newfmt.extend([0xcd, 3, b'a', b'b', b'c']);
        assert_eq!(fingerprints(&newfmt), vec![fp.clone()]);
        let armored = format!(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: test\n\n{}\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n",
            crate::common::b64_encode(&pkt)
        );
        assert_eq!(dearmor(armored.as_bytes()).unwrap(), pkt);
        assert_eq!(dearmor(&pkt).unwrap(), pkt);
        assert!(has_id(
            std::slice::from_ref(&fp),
            &format!("0x{}", &fp[24..].to_lowercase())
        ));
        assert!(!has_id(&[fp], "DEADBEEF"));
    }

    #[test]
    fn args() {
        let ok = |v: serde_json::Value| AptKeyModule::parse(v.as_object().unwrap()).is_ok();
        assert!(ok(
            serde_json::json!({"url": "https://x/key.gpg", "keyring": "/etc/apt/keyrings/x.gpg"})
        ));
        assert!(!ok(serde_json::json!({"id": "ABC"})));
        assert!(ok(serde_json::json!({"id": "ABC", "state": "absent"})));
        assert!(!ok(serde_json::json!({"url": "u", "data": "d"})));
        assert!(!ok(serde_json::json!({"keyserver": "k", "id": "x"})));
    }
}
