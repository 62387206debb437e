//! `user`: local accounts, with `ansible.builtin.user`'s options, through the shadow tools every
//! Linux host has (`useradd`, `usermod`, `userdel`) — no Python on the host.
//!
//! Inspect is one command: `getent passwd NAME`, `id -gn`/`id -Gn NAME` (primary and all groups),
//! the shadow hash when `password` or `password_lock` needs comparing, and whether a group named
//! like the user exists (useradd would refuse to create it again; Ansible then passes `-N`).
//! Plan compares field by field and shows a `key: value` diff of the account (a password change
//! shows as `password: (changed)`, never the hash). After a change the account is read again so
//! that the registered `uid`, `group`, `home`, ... are the real ones.
//!
//! Not supported: `generate_ssh_key` and friends, `expires`, SELinux users, non-Linux platforms.

use crate::args::{ArgError, ArgKind, ArgSpec, Args, Params};
use crate::common::kv_text;
use crate::contract::{Diff, Module, ModuleError, Outcome, Plan, RunMode};
use crate::sysutil::{err_text, finish, kv_lines, q, sh};
use crate::target::{Command, Target};
use serde_json::{Map, Value};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str)
        .required()
        .aliases(&["user"]),
    ArgSpec::new("state", ArgKind::Str).choices(&["present", "absent"]),
    ArgSpec::new("uid", ArgKind::Int),
    ArgSpec::new("non_unique", ArgKind::Bool),
    ArgSpec::new("group", ArgKind::Str),
    ArgSpec::new("groups", ArgKind::List),
    ArgSpec::new("append", ArgKind::Bool),
    ArgSpec::new("shell", ArgKind::Str),
    ArgSpec::new("home", ArgKind::Str),
    ArgSpec::new("create_home", ArgKind::Bool).aliases(&["createhome"]),
    ArgSpec::new("move_home", ArgKind::Bool),
    ArgSpec::new("skeleton", ArgKind::Str),
    ArgSpec::new("system", ArgKind::Bool),
    ArgSpec::new("password", ArgKind::Str),
    ArgSpec::new("update_password", ArgKind::Str).choices(&["always", "on_create"]),
    ArgSpec::new("password_lock", ArgKind::Bool),
    ArgSpec::new("comment", ArgKind::Str),
    ArgSpec::new("remove", ArgKind::Bool),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("local", ArgKind::Bool),
    ArgSpec::new("generate_ssh_key", ArgKind::Bool),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserParams {
    pub name: String,
    pub present: bool,
    pub uid: Option<i64>,
    pub non_unique: bool,
    pub group: Option<String>,
    /// `None`: not managed; `Some(empty)`: no supplementary groups.
    pub groups: Option<Vec<String>>,
    pub append: bool,
    pub shell: Option<String>,
    pub home: Option<String>,
    pub create_home: bool,
    pub move_home: bool,
    pub skeleton: Option<String>,
    pub system: bool,
    pub password: Option<String>,
    pub update_always: bool,
    pub password_lock: Option<bool>,
    pub comment: Option<String>,
    pub remove: bool,
    pub force: bool,
}

/// A `getent passwd` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
}

/// Parse one `name:x:uid:gid:gecos:home:shell` line.
pub fn parse_passwd(line: &str) -> Option<PasswdEntry> {
    let f: Vec<&str> = line.trim_end_matches('\n').split(':').collect();
    if f.len() < 7 {
        return None;
    }
    Some(PasswdEntry {
        name: f[0].to_string(),
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        gecos: f[4].to_string(),
        home: f[5].to_string(),
        shell: f[6].to_string(),
    })
}

/// What inspect saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserState {
    pub entry: Option<PasswdEntry>,
    pub primary_group: String,
    /// All groups (`id -Gn`), primary included.
    pub groups: Vec<String>,
    /// The shadow hash, when it was needed and readable.
    pub shadow: Option<String>,
    /// A group with the user's name exists.
    pub name_group_exists: bool,
}

/// Parse the inspection script's `key=value` output.
pub fn parse_user_inspect(text: &str) -> UserState {
    let kv = kv_lines(text);
    UserState {
        entry: kv.get("passwd").and_then(|l| parse_passwd(l)),
        primary_group: kv.get("pgroup").cloned().unwrap_or_default(),
        groups: kv
            .get("groups")
            .map(|g| g.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        shadow: kv.get("shadow").cloned(),
        name_group_exists: kv.get("name_group").is_some_and(|v| v == "yes"),
    }
}

/// One step of change: the tool and its arguments (argv without the program).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAction {
    Add(Vec<String>),
    Modify(Vec<String>),
    Delete(Vec<String>),
}

/// The `user` module.
pub struct UserModule;

impl UserModule {
    pub fn parse(args: &Args) -> Result<UserParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        if p.bool_or("generate_ssh_key", false) {
            return Err(ArgError::new(
                Some("generate_ssh_key"),
                "is not supported by converge yet",
            )
            .into());
        }
        let groups = p.list("groups").map(|g| {
            g.into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        });
        Ok(UserParams {
            name: p.req_str("name")?,
            present: p.str_or("state", "present") == "present",
            uid: p.int("uid"),
            non_unique: p.bool_or("non_unique", false),
            group: p.str("group").filter(|s| !s.is_empty()),
            groups,
            append: p.bool_or("append", false),
            shell: p.str("shell").filter(|s| !s.is_empty()),
            home: p.str("home").filter(|s| !s.is_empty()),
            create_home: p.bool_or("create_home", true),
            move_home: p.bool_or("move_home", false),
            skeleton: p.str("skeleton").filter(|s| !s.is_empty()),
            system: p.bool_or("system", false),
            password: p.str("password"),
            update_always: p.str_or("update_password", "always") == "always",
            password_lock: p.bool("password_lock"),
            comment: p.str("comment"),
            remove: p.bool_or("remove", false),
            force: p.bool_or("force", false),
        })
    }

    pub fn inspect_script(p: &UserParams) -> String {
        let n = q(&p.name);
        let mut s = format!(
            "if ent=$(getent passwd {n}); then echo \"passwd=$ent\"; echo \"pgroup=$(id -gn {n})\"; echo \"groups=$(id -Gn {n})\"; "
        );
        if p.password.is_some() || p.password_lock.is_some() {
            s.push_str(&format!(
                "echo \"shadow=$(getent shadow {n} 2>/dev/null | cut -d: -f2)\"; "
            ));
        }
        s.push_str(&format!(
            "fi; getent group {n} >/dev/null 2>&1 && echo name_group=yes; exit 0"
        ));
        s
    }

    fn group_matches(want: &str, st: &UserState) -> bool {
        let gid = st.entry.as_ref().map(|e| e.gid);
        want == st.primary_group || want.parse::<u32>().ok().is_some_and(|g| Some(g) == gid)
    }

    /// The supplementary groups now (all groups minus the primary one).
    fn current_supplementary(st: &UserState) -> Vec<String> {
        let mut g: Vec<String> = st
            .groups
            .iter()
            .filter(|g| **g != st.primary_group)
            .cloned()
            .collect();
        g.sort();
        g.dedup();
        g
    }

    pub fn plan(p: &UserParams, st: &UserState) -> Result<Plan<UserAction>, ModuleError> {
        let mut plan = Plan::nothing();
        let d = &mut plan.data;
        d.insert("name".into(), p.name.clone().into());
        d.insert(
            "state".into(),
            if p.present { "present" } else { "absent" }.into(),
        );
        if p.password.is_some() {
            d.insert("password".into(), "NOT_LOGGING_PASSWORD".into());
        }
        let Some(e) = &st.entry else {
            if !p.present {
                return Ok(plan);
            }
            let mut a: Vec<String> = Vec::new();
            let mut after = vec![("name", p.name.clone()), ("state", "present".to_string())];
            if let Some(u) = p.uid {
                a.extend(["-u".into(), u.to_string()]);
                if p.non_unique {
                    a.push("-o".into());
                }
                after.push(("uid", u.to_string()));
            }
            match &p.group {
                Some(g) => {
                    a.extend(["-g".into(), g.clone()]);
                    after.push(("group", g.clone()));
                }
                // useradd would try to create the group and fail: no user group.
                None if st.name_group_exists => a.push("-N".into()),
                None => {}
            }
            if let Some(gs) = &p.groups {
                if !gs.is_empty() {
                    a.extend(["-G".into(), gs.join(",")]);
                    after.push(("groups", gs.join(",")));
                }
            }
            if let Some(s) = &p.shell {
                a.extend(["-s".into(), s.clone()]);
                after.push(("shell", s.clone()));
            }
            if let Some(h) = &p.home {
                a.extend(["-d".into(), h.clone()]);
                after.push(("home", h.clone()));
            }
            if let Some(c) = &p.comment {
                a.extend(["-c".into(), c.clone()]);
                after.push(("comment", c.clone()));
            }
            if let Some(pw) = &p.password {
                a.extend(["-p".into(), pw.clone()]);
                after.push(("password", "(set)".into()));
            }
            if p.system {
                a.push("-r".into());
            }
            if p.create_home {
                a.push("-m".into());
                if let Some(sk) = &p.skeleton {
                    a.extend(["-k".into(), sk.clone()]);
                }
            } else {
                a.push("-M".into());
            }
            a.push(p.name.clone());
            plan.actions.push(UserAction::Add(a));
            if p.password_lock == Some(true) {
                plan.actions
                    .push(UserAction::Modify(vec!["-L".into(), p.name.clone()]));
            }
            plan.diffs.push(Diff::new(
                &format!("user {}", p.name),
                kv_text(&[("name", p.name.clone()), ("state", "absent".into())]),
                kv_text(&after),
            ));
            return Ok(plan);
        };
        if !p.present {
            let mut a = Vec::new();
            if p.remove {
                a.push("-r".into());
            }
            if p.force {
                a.push("-f".into());
            }
            a.push(p.name.clone());
            plan.actions.push(UserAction::Delete(a));
            plan.diffs.push(Diff::new(
                &format!("user {}", p.name),
                kv_text(&[
                    ("name", p.name.clone()),
                    ("state", "present".into()),
                    ("uid", e.uid.to_string()),
                    ("home", e.home.clone()),
                ]),
                kv_text(&[("name", p.name.clone()), ("state", "absent".into())]),
            ));
            return Ok(plan);
        }
        let mut a: Vec<String> = Vec::new();
        let mut before: Vec<(&str, String)> = vec![("name", p.name.clone())];
        let mut after: Vec<(&str, String)> = vec![("name", p.name.clone())];
        if let Some(u) = p.uid {
            if u != i64::from(e.uid) {
                a.extend(["-u".into(), u.to_string()]);
                if p.non_unique {
                    a.push("-o".into());
                }
                before.push(("uid", e.uid.to_string()));
                after.push(("uid", u.to_string()));
            }
        }
        if let Some(g) = &p.group {
            if !Self::group_matches(g, st) {
                a.extend(["-g".into(), g.clone()]);
                before.push(("group", st.primary_group.clone()));
                after.push(("group", g.clone()));
            }
        }
        if let Some(want) = &p.groups {
            let cur = Self::current_supplementary(st);
            let mut want_sorted: Vec<String> = want
                .iter()
                .filter(|g| !Self::group_matches(g, st))
                .cloned()
                .collect();
            want_sorted.sort();
            want_sorted.dedup();
            let missing: Vec<String> = want_sorted
                .iter()
                .filter(|g| !cur.contains(g))
                .cloned()
                .collect();
            let differs = if p.append {
                !missing.is_empty()
            } else {
                want_sorted != cur
            };
            if differs {
                if p.append {
                    a.push("-a".into());
                }
                a.extend(["-G".into(), want.join(",")]);
                let new: Vec<String> = if p.append {
                    let mut n = cur.clone();
                    n.extend(missing);
                    n.sort();
                    n
                } else {
                    want_sorted.clone()
                };
                before.push(("groups", cur.join(",")));
                after.push(("groups", new.join(",")));
            }
        }
        if let Some(s) = &p.shell {
            if *s != e.shell {
                a.extend(["-s".into(), s.clone()]);
                before.push(("shell", e.shell.clone()));
                after.push(("shell", s.clone()));
            }
        }
        if let Some(h) = &p.home {
            if h.trim_end_matches('/') != e.home.trim_end_matches('/') {
                a.extend(["-d".into(), h.clone()]);
                if p.move_home {
                    a.push("-m".into());
                }
                before.push(("home", e.home.clone()));
                after.push(("home", h.clone()));
            }
        }
        if let Some(c) = &p.comment {
            if *c != e.gecos {
                a.extend(["-c".into(), c.clone()]);
                before.push(("comment", e.gecos.clone()));
                after.push(("comment", c.clone()));
            }
        }
        if let (Some(pw), true) = (&p.password, p.update_always) {
            if st.shadow.as_deref() != Some(pw.as_str()) {
                a.extend(["-p".into(), pw.clone()]);
                before.push(("password", "(old)".into()));
                after.push(("password", "(changed)".into()));
            }
        }
        if let Some(lock) = p.password_lock {
            let locked = st.shadow.as_deref().is_some_and(|s| s.starts_with('!'));
            if lock != locked {
                a.push(if lock { "-L" } else { "-U" }.into());
                before.push(("password_lock", locked.to_string()));
                after.push(("password_lock", lock.to_string()));
            }
        }
        if !a.is_empty() {
            a.push(p.name.clone());
            plan.actions.push(UserAction::Modify(a));
            plan.diffs.push(Diff::new(
                &format!("user {}", p.name),
                kv_text(&before),
                kv_text(&after),
            ));
        }
        Self::insert_entry(&mut plan.data, st);
        Ok(plan)
    }

    fn insert_entry(d: &mut Map<String, Value>, st: &UserState) {
        if let Some(e) = &st.entry {
            d.insert("uid".into(), e.uid.into());
            d.insert("group".into(), e.gid.into());
            d.insert("home".into(), e.home.clone().into());
            d.insert("shell".into(), e.shell.clone().into());
            d.insert("comment".into(), e.gecos.clone().into());
            let sup = Self::current_supplementary(st);
            d.insert("groups".into(), sup.join(",").into());
        }
    }

    fn apply(
        p: &UserParams,
        plan: &Plan<UserAction>,
        target: &dyn Target,
    ) -> Result<Map<String, Value>, ModuleError> {
        for a in &plan.actions {
            let (prog, args) = match a {
                UserAction::Add(v) => ("useradd", v),
                UserAction::Modify(v) => ("usermod", v),
                UserAction::Delete(v) => ("userdel", v),
            };
            let mut argv = vec![prog.to_string()];
            argv.extend(args.iter().cloned());
            let out = target.run(&Command::argv(argv))?;
            // userdel exits 12 when the home directory could not be removed (e.g. missing).
            let ok = out.success() || (prog == "userdel" && out.rc == 12);
            if !ok {
                return Err(ModuleError::Failed(format!(
                    "{prog} failed for user {} (rc {}): {}",
                    p.name,
                    out.rc,
                    err_text(&out)
                )));
            }
        }
        let mut data = Map::new();
        if p.present {
            let st = parse_user_inspect(&sh(target, &Self::inspect_script(p))?.stdout_str());
            Self::insert_entry(&mut data, &st);
            if p.create_home {
                data.insert("create_home".into(), true.into());
            }
        }
        Ok(data)
    }
}

impl Module for UserModule {
    fn name(&self) -> &'static str {
        "user"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = Self::parse(args)?;
        let st = parse_user_inspect(&sh(target, &Self::inspect_script(&p))?.stdout_str());
        let plan = Self::plan(&p, &st)?;
        finish(plan, mode, |plan| Self::apply(&p, plan, target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> UserParams {
        UserModule::parse(v.as_object().unwrap()).unwrap()
    }

    const APP: &str =
        "passwd=app:x:1001:1001:App user:/home/app:/bin/bash\npgroup=app\ngroups=app sudo adm\n";

    #[test]
    fn parses() {
        let e = parse_passwd("root:x:0:0:root:/root:/bin/bash").unwrap();
        assert_eq!((e.uid, e.gid, e.home.as_str()), (0, 0, "/root"));
        assert!(parse_passwd("bad").is_none());
        let st = parse_user_inspect(APP);
        assert_eq!(st.groups, vec!["app", "sudo", "adm"]);
        assert_eq!(UserModule::current_supplementary(&st), vec!["adm", "sudo"]);
        let none = parse_user_inspect("name_group=yes\n");
        assert!(none.entry.is_none() && none.name_group_exists);
    }

    #[test]
    fn create() {
        let p = params(
            json!({"name": "app", "group": "app", "groups": "docker,adm", "shell": "/bin/bash", "system": true}),
        );
        let plan = UserModule::plan(&p, &parse_user_inspect("")).unwrap();
        assert_eq!(
            plan.actions,
            vec![UserAction::Add(
                [
                    "-g",
                    "app",
                    "-G",
                    "docker,adm",
                    "-s",
                    "/bin/bash",
                    "-r",
                    "-m",
                    "app"
                ]
                .map(String::from)
                .to_vec()
            )]
        );
        let p = params(json!({"name": "app", "create_home": false}));
        let plan = UserModule::plan(&p, &parse_user_inspect("name_group=yes\n")).unwrap();
        assert_eq!(
            plan.actions,
            vec![UserAction::Add(
                ["-N", "-M", "app"].map(String::from).to_vec()
            )]
        );
    }

    #[test]
    fn modify_and_idempotence() {
        let st = parse_user_inspect(APP);
        let same = params(
            json!({"name": "app", "uid": 1001, "group": "1001", "groups": ["sudo", "adm"], "shell": "/bin/bash", "comment": "App user", "home": "/home/app/"}),
        );
        assert!(UserModule::plan(&same, &st).unwrap().is_noop());
        let p = params(json!({"name": "app", "groups": ["docker"], "append": true}));
        let plan = UserModule::plan(&p, &st).unwrap();
        assert_eq!(
            plan.actions,
            vec![UserAction::Modify(
                ["-a", "-G", "docker", "app"].map(String::from).to_vec()
            )]
        );
        assert_eq!(plan.diffs[0].after, "name: app\ngroups: adm,docker,sudo\n");
        let p = params(json!({"name": "app", "groups": ["sudo"], "append": true}));
        assert!(UserModule::plan(&p, &st).unwrap().is_noop());
        let p = params(json!({"name": "app", "groups": ""}));
        assert_eq!(
            UserModule::plan(&p, &st).unwrap().actions,
            vec![UserAction::Modify(
                ["-G", "", "app"].map(String::from).to_vec()
            )]
        );
        let p = params(json!({"name": "app", "password": "$6$x$y"}));
        let mut st2 = st.clone();
        st2.shadow = Some("$6$x$y".into());
        assert!(UserModule::plan(&p, &st2).unwrap().is_noop());
        st2.shadow = Some("!".into());
        let plan = UserModule::plan(&p, &st2).unwrap();
        assert!(!plan.diffs[0].after.contains("$6$"));
        let p =
            params(json!({"name": "app", "password": "$6$new", "update_password": "on_create"}));
        assert!(UserModule::plan(&p, &st2).unwrap().is_noop());
    }

    #[test]
    fn remove() {
        let p = params(json!({"name": "app", "state": "absent", "remove": true}));
        let plan = UserModule::plan(&p, &parse_user_inspect(APP)).unwrap();
        assert_eq!(
            plan.actions,
            vec![UserAction::Delete(["-r", "app"].map(String::from).to_vec())]
        );
        assert!(UserModule::plan(&p, &parse_user_inspect(""))
            .unwrap()
            .is_noop());
    }
}
