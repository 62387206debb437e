//! `group`: local groups (`ansible.builtin.group`), with `getent group` to inspect and
//! `groupadd`/`groupmod`/`groupdel` to change — what every Linux host has, no Python needed.
//! Docker hosts need it for the `docker` group and for application accounts.

use crate::args::{ArgKind, ArgSpec, Args, Params};
use crate::common::kv_text;
use crate::contract::{Diff, Module, ModuleError, Outcome, Plan, RunMode};
use crate::sysutil::{err_text, finish, q, sh};
use crate::target::{Command, Target};
use serde_json::{Map, Value};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str).required(),
    ArgSpec::new("gid", ArgKind::Int),
    ArgSpec::new("state", ArgKind::Str).choices(&["present", "absent"]),
    ArgSpec::new("system", ArgKind::Bool),
    ArgSpec::new("non_unique", ArgKind::Bool),
    ArgSpec::new("local", ArgKind::Bool),
    ArgSpec::new("force", ArgKind::Bool),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupParams {
    pub name: String,
    pub gid: Option<i64>,
    pub present: bool,
    pub system: bool,
    pub non_unique: bool,
    pub force: bool,
}

/// A `getent group` line: `name:x:gid:member,member`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

pub fn parse_group(line: &str) -> Option<GroupEntry> {
    let f: Vec<&str> = line.trim_end_matches('\n').split(':').collect();
    if f.len() < 4 {
        return None;
    }
    Some(GroupEntry {
        name: f[0].to_string(),
        gid: f[2].parse().ok()?,
        members: f[3]
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupAction {
    Add(Vec<String>),
    Modify(Vec<String>),
    Delete(Vec<String>),
}

/// The `group` module.
pub struct GroupModule;

impl GroupModule {
    pub fn parse(args: &Args) -> Result<GroupParams, ModuleError> {
        let p = Params::new(SPEC, args)?;
        Ok(GroupParams {
            name: p.req_str("name")?,
            gid: p.int("gid"),
            present: p.str_or("state", "present") == "present",
            system: p.bool_or("system", false),
            non_unique: p.bool_or("non_unique", false),
            force: p.bool_or("force", false),
        })
    }

    pub fn plan(p: &GroupParams, cur: Option<&GroupEntry>) -> Plan<GroupAction> {
        let mut plan = Plan::nothing();
        let path = format!("group {}", p.name);
        plan.data.insert("name".into(), p.name.clone().into());
        plan.data.insert(
            "state".into(),
            if p.present { "present" } else { "absent" }.into(),
        );
        match (cur, p.present) {
            (None, true) => {
                let mut a = Vec::new();
                let mut after = vec![("name", p.name.clone()), ("state", "present".into())];
                if let Some(g) = p.gid {
                    a.extend(["-g".to_string(), g.to_string()]);
                    if p.non_unique {
                        a.push("-o".into());
                    }
                    after.push(("gid", g.to_string()));
                    plan.data.insert("gid".into(), g.into());
                }
                if p.system {
                    a.push("-r".into());
                }
                a.push(p.name.clone());
                plan.actions.push(GroupAction::Add(a));
                plan.diffs.push(Diff::new(
                    &path,
                    kv_text(&[("name", p.name.clone()), ("state", "absent".into())]),
                    kv_text(&after),
                ));
                plan.data.insert("system".into(), p.system.into());
            }
            (Some(e), true) => {
                plan.data.insert("gid".into(), e.gid.into());
                if let Some(g) = p.gid {
                    if g != i64::from(e.gid) {
                        let mut a = vec!["-g".to_string(), g.to_string()];
                        if p.non_unique {
                            a.push("-o".into());
                        }
                        a.push(p.name.clone());
                        plan.actions.push(GroupAction::Modify(a));
                        plan.diffs.push(Diff::new(
                            &path,
                            kv_text(&[("name", p.name.clone()), ("gid", e.gid.to_string())]),
                            kv_text(&[("name", p.name.clone()), ("gid", g.to_string())]),
                        ));
                        plan.data.insert("gid".into(), g.into());
                    }
                }
            }
            (Some(e), false) => {
                let mut a = Vec::new();
                if p.force {
                    a.push("-f".to_string());
                }
                a.push(p.name.clone());
                plan.actions.push(GroupAction::Delete(a));
                plan.diffs.push(Diff::new(
                    &path,
                    kv_text(&[
                        ("name", p.name.clone()),
                        ("state", "present".into()),
                        ("gid", e.gid.to_string()),
                    ]),
                    kv_text(&[("name", p.name.clone()), ("state", "absent".into())]),
                ));
            }
            (None, false) => {}
        }
        plan
    }
}

impl Module for GroupModule {
    fn name(&self) -> &'static str {
        "group"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = Self::parse(args)?;
        let out = sh(target, &format!("getent group {}; exit 0", q(&p.name)))?;
        let cur = out.stdout_str().lines().find_map(parse_group);
        let plan = Self::plan(&p, cur.as_ref());
        finish(plan, mode, |plan| {
            for a in &plan.actions {
                let (prog, args) = match a {
                    GroupAction::Add(v) => ("groupadd", v),
                    GroupAction::Modify(v) => ("groupmod", v),
                    GroupAction::Delete(v) => ("groupdel", v),
                };
                let mut argv = vec![prog.to_string()];
                argv.extend(args.iter().cloned());
                let out = target.run(&Command::argv(argv))?;
                if !out.success() {
                    return Err(ModuleError::Failed(format!(
                        "{prog} failed for group {} (rc {}): {}",
                        p.name,
                        out.rc,
                        err_text(&out)
                    )));
                }
            }
            let mut data = Map::new();
            if p.present {
                let out = sh(target, &format!("getent group {}; exit 0", q(&p.name)))?;
                if let Some(e) = out.stdout_str().lines().find_map(parse_group) {
                    data.insert("gid".into(), Value::from(e.gid));
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

    fn params(v: Value) -> GroupParams {
        GroupModule::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn parse_and_plan() {
        let e = parse_group("docker:x:998:alice,bob\n").unwrap();
        assert_eq!((e.gid, e.members.len()), (998, 2));
        assert_eq!(parse_group("app:x:1001:").unwrap().members.len(), 0);
        let p = params(json!({"name": "app", "gid": 1001, "system": true}));
        let plan = GroupModule::plan(&p, None);
        assert_eq!(
            plan.actions,
            vec![GroupAction::Add(
                ["-g", "1001", "-r", "app"].map(String::from).to_vec()
            )]
        );
        let cur = parse_group("app:x:1001:").unwrap();
        assert!(GroupModule::plan(&p, Some(&cur)).is_noop());
        let p = params(json!({"name": "app", "gid": 1002}));
        assert_eq!(
            GroupModule::plan(&p, Some(&cur)).actions,
            vec![GroupAction::Modify(
                ["-g", "1002", "app"].map(String::from).to_vec()
            )]
        );
        let p = params(json!({"name": "app", "state": "absent"}));
        assert_eq!(GroupModule::plan(&p, Some(&cur)).actions.len(), 1);
        assert!(GroupModule::plan(&p, None).is_noop());
    }
}
