//! `converge modules`: the modules converge implements itself; `converge modules --needs
//! PLAYBOOK...`: the ones those playbooks would run as Ansible's own (`src/ansible_modules/`).

use crate::cli::{exit, ModulesArgs};
use crate::playbook::{catalog, load_playbooks, Action, Task};
use crate::template::Templater;
use std::collections::BTreeMap;

pub fn run(args: &ModulesArgs) -> u8 {
    if args.needs.is_empty() {
        let mut names = catalog::all_names();
        names.sort_unstable();
        names.dedup();
        for n in names {
            println!("{n}");
        }
        return exit::OK;
    }
    let templater = Templater::new();
    let books = match load_playbooks(&args.needs, &templater) {
        Ok((books, _warnings)) => books,
        Err(d) => {
            eprint!("{d}");
            return exit::PARSE_ERROR;
        }
    };
    let mut found = BTreeMap::new();
    for play in books.iter().flat_map(|b| &b.plays) {
        for list in [
            &play.pre_tasks,
            &play.role_tasks,
            &play.tasks,
            &play.post_tasks,
            &play.handlers,
        ] {
            collect(list, &mut found);
        }
    }
    if found.is_empty() {
        println!("(none: every module these playbooks use is native)");
    }
    let width = found.keys().map(String::len).max().unwrap_or(0);
    for (name, path) in found {
        println!("{name:width$}  {path}");
    }
    exit::OK
}

fn collect(tasks: &[Task], found: &mut BTreeMap<String, String>) {
    for t in tasks {
        match &t.action {
            Action::Module {
                module,
                ansible: Some(m),
                ..
            } => {
                let name = match m.fqcn() {
                    fqcn if fqcn == *module => fqcn,
                    fqcn => format!("{module} -> {fqcn}"),
                };
                found.insert(name, m.path.display().to_string());
            }
            Action::Block {
                block,
                rescue,
                always,
            } => {
                collect(block, found);
                collect(rescue, found);
                collect(always, found);
            }
            _ => {}
        }
    }
}
