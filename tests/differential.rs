//! The differential suite: every playbook under `tests/differential/` runs with
//! `ansible-playbook` and with `converge` on identical starting trees (a `NAME.tree/` directory
//! beside the playbook, or an empty one). The check-mode change lists, the recap counters and
//! the resulting trees must agree. Ansible comes from the virtualenv `tests/setup.sh` makes
//! (`CONVERGE_PEERS_VENV`); without it these tests fail, they are not skipped.
//!
//! A case that differs on purpose says so in a `# converge-differs: <what>: <why>` line, where
//! `<what>` is `tree`, `recap` or `check`; that comparison is then reported, not asserted.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    if !from.exists() {
        return;
    }
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else if e.file_name() != ".keep" {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

struct Outcome {
    check_changed: Vec<String>,
    check_recap: String,
    recap: String,
    second_recap: String,
    tree: String,
    stdout: String,
}

/// `TASK [name]` headers followed by `changed:` lines: the tasks that (would) change.
fn changed_tasks(out: &str) -> Vec<String> {
    let mut current = String::new();
    let mut result = Vec::new();
    for line in out.lines() {
        if let Some(rest) = line
            .strip_prefix("TASK [")
            .or_else(|| line.strip_prefix("RUNNING HANDLER ["))
        {
            current = rest
                .split("] ")
                .next()
                .unwrap_or(rest)
                .trim_end_matches(']')
                .to_string();
        } else if line.starts_with("changed: [") && result.last() != Some(&current) {
            result.push(current.clone());
        }
    }
    result
}

fn recap_line(out: &str) -> String {
    recap(out)
        .get("localhost")
        .map(|m| format!("{m:?}"))
        .unwrap_or_else(|| format!("no recap in:\n{out}"))
}

fn run_tool(tool: &str, case: &Path, root: &Path) -> Outcome {
    let dir = case.parent().unwrap();
    let root_var = format!("root={}", root.display());
    let run = |check: bool| -> String {
        let mut cmd = if tool == "ansible" {
            let mut c = Command::new(peers_venv().join("bin/ansible-playbook"));
            c.env("ANSIBLE_NOCOLOR", "1")
                .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
                .env("ANSIBLE_LOCALHOST_WARNING", "0")
                .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "0")
                .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
                .env("ANSIBLE_DEPRECATION_WARNINGS", "0");
            c
        } else {
            let mut c = Command::new(converge_bin());
            c.env("NO_COLOR", "1");
            c
        };
        cmd.arg(case)
            .args(["-i", "localhost,", "-c", "local", "-e", &root_var])
            .current_dir(dir);
        if check {
            cmd.args(["--check"]);
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {tool}: {e} (run tests/setup.sh)"));
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let before = tree_hash(root);
    let check_out = run(true);
    assert_eq!(
        before,
        tree_hash(root),
        "{tool} --check changed the tree of {}:\n{check_out}",
        case.display()
    );
    let out = run(false);
    let tree = tree_hash(root);
    let second = run(false);
    Outcome {
        check_changed: changed_tasks(&check_out),
        check_recap: recap_line(&check_out),
        recap: recap_line(&out),
        second_recap: recap_line(&second),
        tree,
        stdout: out,
    }
}

fn differs(case_text: &str, what: &str) -> Option<String> {
    case_text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("# converge-differs:")?.trim();
        let (w, why) = rest.split_once(':')?;
        (w.trim() == what).then(|| why.trim().to_string())
    })
}

fn compare(name: &str) {
    assert!(
        peers_venv().join("bin/ansible-playbook").exists(),
        "ansible-playbook not found in {} (run tests/setup.sh)",
        peers_venv().display()
    );
    let case = repo()
        .join("tests/differential")
        .join(format!("{name}.yml"));
    let text = std::fs::read_to_string(&case).unwrap();
    let start = case.with_extension("tree");
    let tmp = tempfile::tempdir().unwrap();
    let (ra, rc) = (tmp.path().join("ansible"), tmp.path().join("converge"));
    copy_tree(&start, &ra);
    copy_tree(&start, &rc);
    let a = run_tool("ansible", &case, &ra);
    let c = run_tool("converge", &case, &rc);
    let mut failures = Vec::new();
    let mut check = |what: &str, left: &str, right: &str| {
        if left == right {
            return;
        }
        match differs(&text, what) {
            Some(why) => eprintln!("{name}: {what} differs on purpose: {why}"),
            None => failures.push(format!(
                "{what} differs:\n  ansible:  {left}\n  converge: {right}"
            )),
        }
    };
    check(
        "check",
        &format!("{:?}", a.check_changed),
        &format!("{:?}", c.check_changed),
    );
    check("check", &a.check_recap, &c.check_recap);
    check("recap", &a.recap, &c.recap);
    check("recap", &a.second_recap, &c.second_recap);
    let (ta, tc) = (
        a.tree.replace(&ra.display().to_string(), "ROOT"),
        c.tree.replace(&rc.display().to_string(), "ROOT"),
    );
    check("tree", &ta, &tc);
    assert!(
        failures.is_empty(),
        "{name}:\n{}\n--- ansible output:\n{}\n--- converge output:\n{}",
        failures.join("\n"),
        a.stdout,
        c.stdout
    );
}

macro_rules! cases {
    ($($fn_name:ident => $file:literal),* $(,)?) => {
        $(#[test] fn $fn_name() { compare($file); })*
    };
}

cases! {
    files => "01-files",
    copy => "02-copy",
    template => "03-template",
    lineinfile => "04-lineinfile",
    blockinfile_replace => "05-blockinfile-replace",
    loops => "06-loops",
    when_register => "07-when-register",
    set_fact_filters => "08-set-fact-filters",
    block_rescue => "09-block-rescue",
    handlers => "10-handlers",
    include_tasks => "11-include-tasks",
    roles => "12-roles",
    failed_when => "13-failed-when",
    vars_precedence => "14-vars-precedence",
    absent_and_recurse => "15-absent-and-recurse",
    assert_debug => "16-assert-debug",
    environment => "17-environment",
}
