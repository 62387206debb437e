//! `apt`: Debian packages, with `ansible.builtin.apt`'s options, so that the playbooks Docker
//! hosts are set up with run unchanged — and without Python on the host.
//!
//! * inspect: one shell command reports whether apt exists, the cache's age (mtime of
//!   `/var/lib/apt/periodic/update-success-stamp`, else `/var/cache/apt/pkgcache.bin`), the
//!   host's clock and `dpkg-query -W` for every named package (names dpkg does not know are
//!   simply not installed; its rc 1 for them is ignored). When something has to change, a second
//!   read-only command asks apt itself what it would do: `apt-get -s install|remove|upgrade ...`,
//!   whose `Inst`/`Remv`/`Purg` lines name every package (dependencies included) with versions.
//! * plan: pure. The diff (header `packages`) lists `name=version` before and after for every
//!   package apt would touch; the same lists are registered as `installed`, `upgraded`, `removed`.
//!   Check mode stops here, so a dry run shows exactly apt's own simulation.
//! * apply: `apt-get update` when asked and the cache is older than `cache_valid_time`, then
//!   `DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confdef -o
//!   Dpkg::Options::=--force-confold install ...` (or remove/purge/upgrade/autoremove).
//!
//! Like Ansible, a cache update alone reports `changed`; a cache update next to packages that are
//! already there does not. Registered: `cache_updated`, `cache_update_time`, `stdout`, `stderr`
//! (of the apt-get run), `installed`/`upgraded`/`removed` (`name=version` strings).
//!
//! Not supported: `build-dep`, `name` globs (`nginx*`), `deb` URLs (download with `get_url`
//! first), `policy_rc_d`, `lock_timeout` (accepted, apt's own lock handling applies).

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::contract::{Diff, Module, ModuleError, Outcome, Plan, RunMode};
use crate::sysutil::{err_text, kv_lines, q, sections, with_env, SECTION};
use crate::target::{Command, Target};
use serde_json::{Map, Value};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::List).aliases(&["package", "pkg"]),
    ArgSpec::new("state", ArgKind::Str).choices(&[
        "present",
        "absent",
        "latest",
        "installed",
        "removed",
        "fixed",
        "build-dep",
    ]),
    ArgSpec::new("update_cache", ArgKind::Bool).aliases(&["update-cache"]),
    ArgSpec::new("cache_valid_time", ArgKind::Int),
    ArgSpec::new("install_recommends", ArgKind::Bool).aliases(&["install-recommends"]),
    ArgSpec::new("purge", ArgKind::Bool),
    ArgSpec::new("autoremove", ArgKind::Bool),
    ArgSpec::new("autoclean", ArgKind::Bool),
    ArgSpec::new("clean", ArgKind::Bool),
    ArgSpec::new("deb", ArgKind::Str),
    ArgSpec::new("force_apt_get", ArgKind::Bool),
    ArgSpec::new("default_release", ArgKind::Str).aliases(&["default-release"]),
    ArgSpec::new("allow_unauthenticated", ArgKind::Bool).aliases(&["allow-unauthenticated"]),
    ArgSpec::new("allow_downgrade", ArgKind::Bool).aliases(&[
        "allow-downgrade",
        "allow_downgrades",
        "allow-downgrades",
    ]),
    ArgSpec::new("allow_change_held_packages", ArgKind::Bool),
    ArgSpec::new("only_upgrade", ArgKind::Bool),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("upgrade", ArgKind::Str)
        .choices(&["no", "yes", "safe", "full", "dist", "false", "true"]),
    ArgSpec::new("dpkg_options", ArgKind::Str),
    ArgSpec::new("fail_on_autoremove", ArgKind::Bool),
    ArgSpec::new("lock_timeout", ArgKind::Int),
    ArgSpec::new("update_cache_retries", ArgKind::Int),
    ArgSpec::new("update_cache_retry_max_delay", ArgKind::Int),
    ArgSpec::new("policy_rc_d", ArgKind::Int),
];

/// The wanted state of the named packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkgState {
    Present,
    Absent,
    Latest,
    /// `present` with `--fix-broken`.
    Fixed,
}

/// One requested package: `name[:arch][=version]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkgSpec {
    pub name: String,
    pub arch: Option<String>,
    pub version: Option<String>,
}

impl PkgSpec {
    pub fn parse(text: &str) -> PkgSpec {
        let (left, version) = match text.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().to_string())),
            None => (text.trim(), None),
        };
        let (name, arch) = match left.split_once(':') {
            Some((n, a)) => (n.to_string(), Some(a.to_string())),
            None => (left.to_string(), None),
        };
        PkgSpec {
            name,
            arch,
            version: version.filter(|v| !v.is_empty()),
        }
    }
    /// The name as dpkg / apt take it (`name` or `name:arch`).
    pub fn query(&self) -> String {
        match &self.arch {
            Some(a) => format!("{}:{a}", self.name),
            None => self.name.clone(),
        }
    }
    /// The argument for `apt-get install` (`name[:arch][=version]`).
    pub fn install_arg(&self) -> String {
        match &self.version {
            Some(v) => format!("{}={v}", self.query()),
            None => self.query(),
        }
    }
}

/// `upgrade:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeKind {
    Safe,
    Full,
    Dist,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptParams {
    pub packages: Vec<PkgSpec>,
    pub state: PkgState,
    pub update_cache: bool,
    pub cache_valid_time: Option<i64>,
    pub install_recommends: Option<bool>,
    pub purge: bool,
    pub autoremove: bool,
    pub autoclean: bool,
    pub clean: bool,
    pub deb: Option<String>,
    pub default_release: Option<String>,
    pub allow_unauthenticated: bool,
    pub allow_downgrade: bool,
    pub allow_change_held: bool,
    pub only_upgrade: bool,
    pub force: bool,
    pub upgrade: Option<UpgradeKind>,
    pub dpkg_options: Vec<String>,
}

/// One line of `dpkg-query -W -f='${Package}\t${Status}\t${Version}\t${Architecture}\n'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpkgEntry {
    pub package: String,
    /// The third word of `Status` (`installed`, `config-files`, `not-installed`, `half-installed`, ...).
    pub status: String,
    pub version: String,
    pub arch: String,
}

impl DpkgEntry {
    pub fn installed(&self) -> bool {
        self.status == "installed"
    }
    /// Anything dpkg would still have to purge.
    pub fn present_for_purge(&self) -> bool {
        self.status != "not-installed" && !self.status.is_empty()
    }
}

/// Parse `dpkg-query -W` output (tab separated; `Status` is `want ok status`).
pub fn parse_dpkg_query(text: &str) -> Vec<DpkgEntry> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let package = f.next()?.trim().to_string();
            let status = f
                .next()?
                .split_whitespace()
                .last()
                .unwrap_or("")
                .to_string();
            let version = f.next().unwrap_or("").trim().to_string();
            let arch = f.next().unwrap_or("").trim().to_string();
            if package.is_empty() {
                return None;
            }
            Some(DpkgEntry {
                package,
                status,
                version,
                arch,
            })
        })
        .collect()
}

/// What `apt-get -s` said it would do to one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimOp {
    /// `Inst name [old] (new ...)`: installed (old is `None`) or upgraded/downgraded.
    Inst {
        name: String,
        old: Option<String>,
        new: String,
    },
    /// `Remv name [old]` or `Purg name [old]`.
    Remove {
        name: String,
        old: Option<String>,
        purge: bool,
    },
}

/// Parse the `Inst`, `Remv` and `Purg` lines of `apt-get -s` (`Conf` lines repeat `Inst`).
pub fn parse_apt_simulation(text: &str) -> Vec<SimOp> {
    let mut ops = Vec::new();
    for line in text.lines() {
        let mut words = line.splitn(3, ' ');
        let (Some(kind), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        let rest = words.next().unwrap_or("").trim();
        let bracket = |s: &str| -> (Option<String>, String) {
            if let Some(r) = s.strip_prefix('[') {
                if let Some((v, after)) = r.split_once(']') {
                    return (Some(v.to_string()), after.trim().to_string());
                }
            }
            (None, s.to_string())
        };
        match kind {
            "Inst" => {
                let (old, after) = bracket(rest);
                let new = after
                    .strip_prefix('(')
                    .and_then(|s| s.split_whitespace().next())
                    .unwrap_or("")
                    .to_string();
                ops.push(SimOp::Inst {
                    name: name.to_string(),
                    old,
                    new,
                });
            }
            "Remv" | "Purg" => {
                let (old, _) = bracket(rest);
                ops.push(SimOp::Remove {
                    name: name.to_string(),
                    old,
                    purge: kind == "Purg",
                });
            }
            _ => {}
        }
    }
    ops
}

/// What inspect saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptState {
    /// `apt-get` exists on the host.
    pub has_apt: bool,
    /// mtime of the cache stamp, if any.
    pub cache_mtime: Option<i64>,
    /// The host's clock.
    pub now: i64,
    pub installed: Vec<DpkgEntry>,
    /// `Package` and `Version` of `deb`.
    pub deb_info: Option<(String, String)>,
    /// apt's simulation of the change: `Ok(ops)` or `Err(apt's message)`.
    pub simulation: Option<Result<Vec<SimOp>, String>>,
}

/// One step of the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AptAction {
    UpdateCache,
    Install(Vec<String>),
    InstallDeb(String),
    Remove(Vec<String>),
    Upgrade(UpgradeKind),
    Autoremove,
    Clean,
    Autoclean,
}

/// The `apt` module.
pub struct AptModule;

const ENV: &[(&str, &str)] = &[
    ("DEBIAN_FRONTEND", "noninteractive"),
    ("DEBIAN_PRIORITY", "critical"),
    ("LANG", "C"),
    ("LC_ALL", "C"),
];

impl AptModule {
    pub fn parse(args: &Args) -> Result<AptParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let packages: Vec<PkgSpec> = p
            .list("name")
            .unwrap_or_default()
            .iter()
            .filter(|n| !n.trim().is_empty())
            .map(|n| PkgSpec::parse(n))
            .collect();
        let state = match p.str_or("state", "present").as_str() {
            "absent" | "removed" => PkgState::Absent,
            "latest" => PkgState::Latest,
            "fixed" => PkgState::Fixed,
            "build-dep" => {
                return Err(ArgError::new(
                    Some("state"),
                    "build-dep is not supported by converge yet",
                )
                .into())
            }
            _ => PkgState::Present,
        };
        let upgrade = match p.str("upgrade").as_deref() {
            None | Some("no") | Some("false") => None,
            Some("yes") | Some("true") | Some("safe") => Some(UpgradeKind::Safe),
            Some("full") => Some(UpgradeKind::Full),
            Some(_) => Some(UpgradeKind::Dist),
        };
        let deb = p.str("deb").filter(|d| !d.is_empty());
        if let Some(d) = &deb {
            if d.contains("://") {
                return Err(ArgError::new(
                    Some("deb"),
                    "URLs are not supported by converge yet: download the file with get_url first",
                )
                .into());
            }
        }
        for pk in &packages {
            if pk.name.contains('*') || pk.name.contains('?') {
                return Err(ArgError::new(
                    Some("name"),
                    format!("package name globs are not supported: {}", pk.name),
                )
                .into());
            }
        }
        let update_cache = p.bool_or("update_cache", false);
        let ap = AptParams {
            packages,
            state,
            update_cache,
            cache_valid_time: p.int("cache_valid_time").filter(|t| *t > 0),
            install_recommends: p.bool("install_recommends"),
            purge: p.bool_or("purge", false),
            autoremove: p.bool_or("autoremove", false),
            autoclean: p.bool_or("autoclean", false),
            clean: p.bool_or("clean", false),
            deb,
            default_release: p.str("default_release").filter(|s| !s.is_empty()),
            allow_unauthenticated: p.bool_or("allow_unauthenticated", false),
            allow_downgrade: p.bool_or("allow_downgrade", false),
            allow_change_held: p.bool_or("allow_change_held_packages", false),
            only_upgrade: p.bool_or("only_upgrade", false),
            force: p.bool_or("force", false),
            upgrade,
            dpkg_options: p
                .str_or("dpkg_options", "force-confdef,force-confold")
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        };
        if ap.packages.is_empty()
            && ap.deb.is_none()
            && ap.upgrade.is_none()
            && !ap.update_cache
            && !ap.autoremove
            && !ap.autoclean
            && !ap.clean
        {
            return Err(ArgError::new(
                None,
                "one of the following is required: name, deb, upgrade, update_cache, autoremove, autoclean, clean",
            )
            .into());
        }
        Ok(ap)
    }

    /// `apt-get` options shared by the simulation and the real run.
    fn common_opts(p: &AptParams) -> Vec<String> {
        let mut v = vec!["-y".to_string(), "-q".to_string()];
        for o in &p.dpkg_options {
            v.push("-o".into());
            v.push(format!("Dpkg::Options::=--{o}"));
        }
        if let Some(r) = &p.default_release {
            v.push("-t".into());
            v.push(r.clone());
        }
        match p.install_recommends {
            Some(true) => v.push("--install-recommends".into()),
            Some(false) => v.push("--no-install-recommends".into()),
            None => {}
        }
        if p.allow_unauthenticated || p.force {
            v.push("--allow-unauthenticated".into());
        }
        if p.allow_downgrade || p.force {
            v.push("--allow-downgrades".into());
        }
        if p.allow_change_held || p.force {
            v.push("--allow-change-held-packages".into());
        }
        if p.state == PkgState::Fixed {
            v.push("--fix-broken".into());
        }
        v
    }

    /// The apt-get argv for an action (`simulate` adds `-s`).
    pub fn argv(p: &AptParams, action: &AptAction, simulate: bool) -> Vec<String> {
        let mut v = vec!["apt-get".to_string()];
        if simulate {
            v.push("-s".into());
        }
        v.extend(Self::common_opts(p));
        match action {
            AptAction::UpdateCache => return vec!["apt-get".into(), "update".into(), "-q".into()],
            AptAction::Install(pkgs) => {
                if p.only_upgrade {
                    v.push("--only-upgrade".into());
                }
                if p.autoremove {
                    v.push("--auto-remove".into());
                }
                v.push("install".into());
                v.push("--".into());
                v.extend(pkgs.iter().cloned());
            }
            AptAction::InstallDeb(path) => {
                v.push("install".into());
                v.push("--".into());
                // apt-get takes a local .deb only as a path (`./x.deb`, `/x.deb`).
                v.push(if path.starts_with('/') || path.starts_with('.') {
                    path.clone()
                } else {
                    format!("./{path}")
                });
            }
            AptAction::Remove(pkgs) => {
                if p.autoremove {
                    v.push("--auto-remove".into());
                }
                v.push(if p.purge { "purge" } else { "remove" }.into());
                v.push("--".into());
                v.extend(pkgs.iter().cloned());
            }
            AptAction::Upgrade(kind) => {
                if p.autoremove {
                    v.push("--auto-remove".into());
                }
                v.push(
                    match kind {
                        UpgradeKind::Safe => "upgrade",
                        UpgradeKind::Full | UpgradeKind::Dist => "dist-upgrade",
                    }
                    .into(),
                );
            }
            AptAction::Autoremove => {
                if p.purge {
                    v.push("--purge".into());
                }
                v.push("autoremove".into());
            }
            AptAction::Clean => return vec!["apt-get".into(), "clean".into()],
            AptAction::Autoclean => return vec!["apt-get".into(), "autoclean".into()],
        }
        v
    }

    /// Packages that must change for `present`/`fixed`/`latest`/`absent`, from dpkg's view.
    pub fn pending(p: &AptParams, installed: &[DpkgEntry]) -> Vec<PkgSpec> {
        let entries = |s: &PkgSpec| -> Vec<&DpkgEntry> {
            installed
                .iter()
                .filter(|e| {
                    e.package == s.name
                        && s.arch
                            .as_ref()
                            .is_none_or(|a| e.arch == *a || e.arch == "all")
                })
                .collect()
        };
        p.packages
            .iter()
            .filter(|s| {
                let es = entries(s);
                match p.state {
                    PkgState::Absent => es.iter().any(|e| {
                        if p.purge {
                            e.present_for_purge()
                        } else {
                            e.installed()
                        }
                    }),
                    // `latest` always asks apt; dpkg only says what is missing.
                    PkgState::Latest => true,
                    PkgState::Present | PkgState::Fixed => !es.iter().any(|e| {
                        e.installed()
                            && s.version
                                .as_ref()
                                .is_none_or(|v| crate::sysutil::glob_match(v, &e.version))
                    }),
                }
            })
            .cloned()
            .collect()
    }

    /// The actions before asking apt (the simulation is of the package action).
    fn package_action(p: &AptParams, st: &AptState) -> Option<AptAction> {
        if let Some(deb) = &p.deb {
            let installed_same = st.deb_info.as_ref().is_some_and(|(pkg, ver)| {
                st.installed
                    .iter()
                    .any(|e| &e.package == pkg && e.installed() && &e.version == ver)
            });
            return (!installed_same).then(|| AptAction::InstallDeb(deb.clone()));
        }
        if let Some(k) = p.upgrade {
            return Some(AptAction::Upgrade(k));
        }
        let pending = Self::pending(p, &st.installed);
        if !pending.is_empty() {
            return Some(if p.state == PkgState::Absent {
                AptAction::Remove(pending.iter().map(PkgSpec::query).collect())
            } else if p.state == PkgState::Latest {
                AptAction::Install(pending.iter().map(PkgSpec::query).collect())
            } else {
                AptAction::Install(pending.iter().map(PkgSpec::install_arg).collect())
            });
        }
        if p.autoremove && p.packages.is_empty() {
            return Some(AptAction::Autoremove);
        }
        None
    }

    fn cache_stale(p: &AptParams, st: &AptState) -> bool {
        if !p.update_cache {
            return false;
        }
        match (p.cache_valid_time, st.cache_mtime) {
            (Some(valid), Some(m)) => st.now - m > valid,
            _ => true,
        }
    }

    pub fn inspect(p: &AptParams, target: &dyn Target) -> Result<AptState, ModuleError> {
        let mut script = String::from(
            "command -v apt-get >/dev/null 2>&1 && echo apt=yes; \
             echo \"stamp=$(stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null || stat -c %Y /var/cache/apt/pkgcache.bin 2>/dev/null)\"; \
             echo \"now=$(date +%s)\"; ",
        );
        script.push_str(&format!("echo {SECTION}; "));
        let mut names: Vec<String> = p.packages.iter().map(PkgSpec::query).collect();
        if let Some(deb) = &p.deb {
            script.push_str(&format!(
                "dpkg-deb -W --showformat='${{Package}}\\t${{Version}}\\n' -- {} 2>&1; ",
                q(deb)
            ));
            script.push_str(&format!(
                "deb_pkg=$(dpkg-deb -f {} Package 2>/dev/null); ",
                q(deb)
            ));
            names.push("\"$deb_pkg\"".into());
        }
        script.push_str(&format!("echo {SECTION}; "));
        if !names.is_empty() {
            let quoted: Vec<String> = names
                .iter()
                .map(|n| if n.starts_with('"') { n.clone() } else { q(n) })
                .collect();
            script.push_str(&format!(
                "dpkg-query -W -f='${{Package}}\\t${{Status}}\\t${{Version}}\\t${{Architecture}}\\n' -- {} 2>/dev/null; ",
                quoted.join(" ")
            ));
        }
        script.push_str("exit 0");
        let out = target.run(&with_env(Command::shell(script), ENV))?;
        let text = out.stdout_str();
        let secs = sections(&text);
        let head = kv_lines(secs.first().map(String::as_str).unwrap_or(""));
        let has_apt = head.get("apt").is_some_and(|v| v == "yes");
        let cache_mtime = head.get("stamp").and_then(|s| s.parse().ok());
        let now = head
            .get("now")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(crate::common::now_secs);
        let deb_info = match &p.deb {
            Some(deb) => {
                let line = secs.get(1).map(String::as_str).unwrap_or("").trim();
                match line.split_once('\t') {
                    Some((pkg, ver)) => Some((pkg.to_string(), ver.to_string())),
                    None => {
                        return Err(ModuleError::Failed(format!(
                            "cannot read the package {deb}: {line}"
                        )))
                    }
                }
            }
            None => None,
        };
        let installed = parse_dpkg_query(secs.get(2).map(String::as_str).unwrap_or(""));
        let mut st = AptState {
            has_apt,
            cache_mtime,
            now,
            installed,
            deb_info,
            simulation: None,
        };
        if !has_apt {
            return Ok(st);
        }
        if let Some(action) = Self::package_action(p, &st) {
            let argv = Self::argv(p, &action, true);
            let out = target.run(&with_env(Command::argv(argv), ENV))?;
            st.simulation = Some(if out.success() {
                Ok(parse_apt_simulation(&out.stdout_str()))
            } else {
                Err(err_text(&out))
            });
        }
        Ok(st)
    }

    pub fn plan(p: &AptParams, st: &AptState) -> Result<Plan<AptAction>, ModuleError> {
        if !st.has_apt {
            return Err(ModuleError::Failed(
                "apt-get was not found on the host: the apt module needs a Debian-based system"
                    .into(),
            ));
        }
        let mut plan = Plan::nothing();
        let stale = Self::cache_stale(p, st);
        if stale {
            plan.actions.push(AptAction::UpdateCache);
        }
        let mut installed = Vec::new();
        let mut upgraded = Vec::new();
        let mut removed = Vec::new();
        let (mut before, mut after) = (String::new(), String::new());
        if let Some(action) = Self::package_action(p, st) {
            let ops = match &st.simulation {
                Some(Ok(ops)) => ops.clone(),
                // The cache is about to be refreshed: apt may well know the packages then.
                Some(Err(_)) if stale => Vec::new(),
                Some(Err(msg)) => {
                    return Err(ModuleError::Failed(format!(
                        "apt-get could not {}: {msg}",
                        match &action {
                            AptAction::Remove(_) => "remove the packages",
                            AptAction::Upgrade(_) => "upgrade",
                            _ => "install the packages",
                        }
                    )))
                }
                None => Vec::new(),
            };
            let unknown = matches!(&st.simulation, Some(Err(_)));
            for op in &ops {
                match op {
                    SimOp::Inst { name, old, new } => {
                        if let Some(o) = old {
                            before.push_str(&format!("{name}={o}\n"));
                            upgraded.push(Value::String(format!("{name}={new}")));
                        } else {
                            installed.push(Value::String(format!("{name}={new}")));
                        }
                        after.push_str(&format!("{name}={new}\n"));
                    }
                    SimOp::Remove { name, old, .. } => {
                        before.push_str(&format!(
                            "{name}{}\n",
                            old.as_ref().map(|o| format!("={o}")).unwrap_or_default()
                        ));
                        removed.push(Value::String(match old {
                            Some(o) => format!("{name}={o}"),
                            None => name.clone(),
                        }));
                    }
                }
            }
            if unknown {
                // Without a usable cache the simulation failed; show what was asked for.
                match &action {
                    AptAction::Install(pkgs) => {
                        for pk in pkgs {
                            after.push_str(&format!("{pk} (after the cache update)\n"));
                            installed.push(Value::String(pk.clone()));
                        }
                    }
                    AptAction::InstallDeb(d) => after.push_str(&format!("{d}\n")),
                    _ => after.push_str("(known after the cache update)\n"),
                }
            }
            if !ops.is_empty() || unknown {
                plan.actions.push(action);
            }
        }
        if p.clean {
            plan.actions.push(AptAction::Clean);
        }
        if p.autoclean {
            plan.actions.push(AptAction::Autoclean);
        }
        if !before.is_empty() || !after.is_empty() {
            plan.diffs.push(Diff::new("packages", before, after));
        }
        plan.data
            .insert("installed".into(), Value::Array(installed));
        plan.data.insert("upgraded".into(), Value::Array(upgraded));
        plan.data.insert("removed".into(), Value::Array(removed));
        plan.data.insert("cache_updated".into(), false.into());
        plan.data.insert(
            "cache_update_time".into(),
            st.cache_mtime.map(Value::from).unwrap_or(Value::Null),
        );
        Ok(plan)
    }

    /// Whether the plan changes anything beyond a cache refresh that Ansible does not count when
    /// packages were asked for.
    fn counts_as_change(p: &AptParams, plan: &Plan<AptAction>) -> bool {
        let only_update = plan
            .actions
            .iter()
            .all(|a| matches!(a, AptAction::UpdateCache));
        if !only_update {
            return true;
        }
        // A cache update alone is a change; next to package work it is not.
        p.packages.is_empty() && p.deb.is_none() && p.upgrade.is_none() && !p.autoremove
    }

    fn apply(
        p: &AptParams,
        plan: &Plan<AptAction>,
        target: &dyn Target,
    ) -> Result<Map<String, Value>, ModuleError> {
        let mut data = Map::new();
        let (mut stdout, mut stderr) = (String::new(), String::new());
        for a in &plan.actions {
            let argv = Self::argv(p, a, false);
            let out = target.run(&with_env(Command::argv(argv.clone()), ENV))?;
            if *a == AptAction::UpdateCache {
                if !out.success() {
                    return Err(ModuleError::Failed(format!(
                        "Failed to update apt cache: {}",
                        err_text(&out)
                    )));
                }
                let now = target.run(&Command::shell(
                    "stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null || date +%s",
                ))?;
                data.insert("cache_updated".into(), true.into());
                if let Ok(t) = now.stdout_str().trim().parse::<i64>() {
                    data.insert("cache_update_time".into(), t.into());
                }
                // Keep apt's own "periodic" stamp current, as Ansible does, so that
                // `cache_valid_time` sees this update.
                let _ = target.run(&Command::shell(
                    "mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp",
                ));
                continue;
            }
            stdout.push_str(&out.stdout_str());
            stderr.push_str(&out.stderr_str());
            if !out.success() {
                return Err(ModuleError::Failed(format!(
                    "'{}' failed (rc {}): {}",
                    argv.join(" "),
                    out.rc,
                    err_text(&out)
                )));
            }
        }
        data.insert("stdout".into(), stdout.clone().into());
        data.insert(
            "stdout_lines".into(),
            Value::Array(crate::common::lines(&stdout)),
        );
        data.insert("stderr".into(), stderr.clone().into());
        data.insert(
            "stderr_lines".into(),
            Value::Array(crate::common::lines(&stderr)),
        );
        Ok(data)
    }

    /// Run with already parsed parameters (`package` delegates here).
    pub fn run_params(
        p: &AptParams,
        target: &dyn Target,
        mode: RunMode,
    ) -> Result<Outcome, ModuleError> {
        let st = Self::inspect(p, target)?;
        let plan = Self::plan(p, &st)?;
        let counts = Self::counts_as_change(p, &plan);
        let mut outcome = if plan.is_noop() || !counts {
            Outcome::ok()
        } else {
            Outcome::changed()
        };
        outcome.data = plan.data.clone();
        if mode.diff && counts {
            outcome.diffs = plan.diffs.clone();
        }
        if !mode.check && !plan.is_noop() {
            let extra = Self::apply(p, &plan, target)?;
            outcome.data.extend(extra);
        }
        Ok(outcome)
    }
}

impl Module for AptModule {
    fn name(&self) -> &'static str {
        "apt"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = Self::parse(args)?;
        Self::run_params(&p, target, mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> AptParams {
        AptModule::parse(v.as_object().unwrap()).unwrap()
    }

    const SIM_INSTALL: &str = "NOTE: This is only a simulation!
Reading package lists...
Inst libcurl4 (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Inst curl (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Inst tree (2.1.0-1 Debian:12.15/oldstable [amd64])
Inst libc6 [2.36-9+deb12u4] (2.36-9+deb12u10 Debian:12.15/oldstable [amd64]) []
Conf libcurl4 (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Conf tree (2.1.0-1 Debian:12.15/oldstable [amd64])
";

    #[test]
    fn parses_simulation() {
        let ops = parse_apt_simulation(SIM_INSTALL);
        assert_eq!(ops.len(), 4);
        assert_eq!(
            ops[2],
            SimOp::Inst {
                name: "tree".into(),
                old: None,
                new: "2.1.0-1".into()
            }
        );
        assert_eq!(
            ops[3],
            SimOp::Inst {
                name: "libc6".into(),
                old: Some("2.36-9+deb12u4".into()),
                new: "2.36-9+deb12u10".into()
            }
        );
        let ops = parse_apt_simulation(
            "Remv openssh-server [1:9.2p1-2+deb12u10]\nPurg sudo [1.9.13p3-1+deb12u4]\n",
        );
        assert_eq!(
            ops,
            vec![
                SimOp::Remove {
                    name: "openssh-server".into(),
                    old: Some("1:9.2p1-2+deb12u10".into()),
                    purge: false
                },
                SimOp::Remove {
                    name: "sudo".into(),
                    old: Some("1.9.13p3-1+deb12u4".into()),
                    purge: true
                }
            ]
        );
    }

    #[test]
    fn parses_dpkg_query() {
        let e = parse_dpkg_query(
            "openssh-server\tinstall ok installed\t1:9.2p1-2+deb12u10\tamd64\nvim\tdeinstall ok config-files\t2:9.0\tamd64\n",
        );
        assert_eq!(e.len(), 2);
        assert!(e[0].installed());
        assert!(!e[1].installed());
        assert!(e[1].present_for_purge());
        assert_eq!(e[0].version, "1:9.2p1-2+deb12u10");
    }

    #[test]
    fn specs() {
        assert_eq!(
            PkgSpec::parse("nginx=1.22*"),
            PkgSpec {
                name: "nginx".into(),
                arch: None,
                version: Some("1.22*".into())
            }
        );
        let s = PkgSpec::parse("libc6:i386");
        assert_eq!(s.arch.as_deref(), Some("i386"));
        assert_eq!(s.install_arg(), "libc6:i386");
        let p = params(json!({"name": "tree, curl=7.88*"}));
        assert_eq!(p.packages.len(), 2);
        assert!(AptModule::parse(json!({}).as_object().unwrap()).is_err());
        assert!(AptModule::parse(
            json!({"name": "x", "state": "build-dep"})
                .as_object()
                .unwrap()
        )
        .is_err());
    }

    fn state(installed: &str, sim: Option<Result<&str, &str>>) -> AptState {
        AptState {
            has_apt: true,
            cache_mtime: Some(1000),
            now: 2000,
            installed: parse_dpkg_query(installed),
            deb_info: None,
            simulation: sim.map(|r| r.map(parse_apt_simulation).map_err(str::to_string)),
        }
    }

    #[test]
    fn present_plans_from_simulation() {
        let p = params(json!({"name": ["tree", "curl", "openssh-server"]}));
        let st = state(
            "openssh-server\tinstall ok installed\t1:9.2\tamd64\n",
            Some(Ok(SIM_INSTALL)),
        );
        assert_eq!(
            AptModule::pending(&p, &st.installed)
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
            vec!["tree", "curl"]
        );
        let plan = AptModule::plan(&p, &st).unwrap();
        assert_eq!(
            plan.actions,
            vec![AptAction::Install(vec!["tree".into(), "curl".into()])]
        );
        assert_eq!(plan.diffs[0].before, "libc6=2.36-9+deb12u4\n");
        assert!(plan.diffs[0].after.contains("tree=2.1.0-1\n"));
        assert_eq!(plan.data["installed"].as_array().unwrap().len(), 3);
        assert_eq!(plan.data["upgraded"], json!(["libc6=2.36-9+deb12u10"]));
        let argv = AptModule::argv(&p, &plan.actions[0], false);
        assert_eq!(
            argv,
            vec![
                "apt-get",
                "-y",
                "-q",
                "-o",
                "Dpkg::Options::=--force-confdef",
                "-o",
                "Dpkg::Options::=--force-confold",
                "install",
                "--",
                "tree",
                "curl"
            ]
        );
    }

    #[test]
    fn already_installed_is_noop_and_pins_are_checked() {
        let p = params(json!({"name": "tree"}));
        let st = state("tree\tinstall ok installed\t2.1.0-1\tamd64\n", None);
        assert!(AptModule::plan(&p, &st).unwrap().is_noop());
        let p = params(json!({"name": "tree=2.0*"}));
        assert_eq!(AptModule::pending(&p, &st.installed).len(), 1);
        let p = params(json!({"name": "tree=2.1*"}));
        assert!(AptModule::pending(&p, &st.installed).is_empty());
        // Half-installed counts as missing.
        let st = state("tree\tinstall ok half-configured\t2.1.0-1\tamd64\n", None);
        assert_eq!(
            AptModule::pending(&params(json!({"name": "tree"})), &st.installed).len(),
            1
        );
    }

    #[test]
    fn absent_and_purge() {
        let p = params(json!({"name": "vim", "state": "absent"}));
        let st = state("vim\tdeinstall ok config-files\t2:9.0\tamd64\n", None);
        assert!(AptModule::plan(&p, &st).unwrap().is_noop());
        let p = params(json!({"name": "vim", "state": "absent", "purge": true}));
        assert_eq!(AptModule::pending(&p, &st.installed).len(), 1);
        let st = state(
            "vim\tdeinstall ok config-files\t2:9.0\tamd64\n",
            Some(Ok("Purg vim [2:9.0]\n")),
        );
        let plan = AptModule::plan(&p, &st).unwrap();
        assert_eq!(plan.actions, vec![AptAction::Remove(vec!["vim".into()])]);
        assert_eq!(plan.diffs[0], Diff::new("packages", "vim=2:9.0\n", ""));
        assert_eq!(AptModule::argv(&p, &plan.actions[0], true)[1], "-s");
        assert!(AptModule::argv(&p, &plan.actions[0], false).contains(&"purge".to_string()));
    }

    #[test]
    fn latest_and_cache() {
        let p = params(
            json!({"name": "tree", "state": "latest", "update_cache": true, "cache_valid_time": 3600}),
        );
        // Up to date: apt's simulation installs nothing; cache fresh (1000 s old).
        let st = state("tree\tinstall ok installed\t2.1.0-1\tamd64\n", Some(Ok("")));
        assert!(AptModule::plan(&p, &st).unwrap().is_noop());
        // Stale cache, package current: the update runs but is not a change.
        let mut st2 = st.clone();
        st2.now = 100_000;
        let plan = AptModule::plan(&p, &st2).unwrap();
        assert_eq!(plan.actions, vec![AptAction::UpdateCache]);
        assert!(!AptModule::counts_as_change(&p, &plan));
        // Cache update alone is a change.
        let p = params(json!({"update_cache": true}));
        let plan = AptModule::plan(&p, &st2).unwrap();
        assert!(AptModule::counts_as_change(&p, &plan));
    }

    #[test]
    fn simulation_failure() {
        let p = params(json!({"name": "nosuchpkg"}));
        let st = state("", Some(Err("E: Unable to locate package nosuchpkg")));
        let e = AptModule::plan(&p, &st).unwrap_err();
        assert!(e.to_string().contains("Unable to locate package nosuchpkg"));
        // With a cache update first, the install is planned anyway.
        let p = params(json!({"name": "nosuchpkg", "update_cache": true}));
        let plan = AptModule::plan(&p, &st).unwrap();
        assert_eq!(plan.actions.len(), 2);
        assert_eq!(plan.diffs[0].after, "nosuchpkg (after the cache update)\n");
    }
}
