//! `converge-bench plan`: how long converge takes to read, validate and plan a large run before
//! it touches any host. Generates a 2,000-task playbook and a 200-host inventory in a temporary
//! directory, then times: loading the inventory, loading and validating the playbook (module
//! arguments, template syntax, roles), and planning (hosts per play, every host's merged
//! inventory variables, the task list after tag selection). A command that prints figures, not
//! a test: see docs/benchmarks.md.

use converge::executor::tags::TagFilter;
use converge::inventory::Inventory;
use converge::playbook::{load_playbooks, Action, Task};
use converge::template::Templater;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const TASKS: usize = 2000;
const HOSTS: usize = 200;

fn generate(dir: &std::path::Path) -> std::io::Result<()> {
    let mut inv = String::new();
    for g in 0..10 {
        let _ = writeln!(inv, "[group{g}]");
        for h in 0..HOSTS / 10 {
            let _ = writeln!(
                inv,
                "host-{g}-{h} ansible_host=198.18.{g}.{} ansible_user=root",
                h + 10
            );
        }
        let _ = writeln!(inv, "[group{g}:vars]\nrack=r{g}\n");
    }
    inv.push_str("[all:vars]\ndomain=example.test\n");
    std::fs::write(dir.join("hosts.ini"), inv)?;
    std::fs::create_dir_all(dir.join("templates"))?;
    std::fs::write(
        dir.join("templates/app.conf.j2"),
        "{% for i in range(3) %}line {{ i }} {{ inventory_hostname }}\n{% endfor %}",
    )?;
    let mut pb = String::from(
        "- hosts: all\n  gather_facts: false\n  vars:\n    base: /srv/app\n  tasks:\n",
    );
    for i in 0..TASKS {
        let t = match i % 8 {
            0 => format!("    - name: dir {i}\n      file: path={{{{ base }}}}/d{i} state=directory mode=0755\n      tags: [dirs]\n"),
            1 => format!("    - name: copy {i}\n      copy:\n        dest: \"{{{{ base }}}}/f{i}\"\n        content: \"{{{{ inventory_hostname }}}} {i}\\n\"\n        mode: \"0644\"\n"),
            2 => format!("    - name: template {i}\n      template: src=app.conf.j2 dest={{{{ base }}}}/t{i}.conf\n"),
            3 => format!("    - name: line {i}\n      lineinfile:\n        path: /etc/app.conf\n        regexp: '^key{i}='\n        line: key{i}={{{{ rack | default('none') }}}}\n      when: rack is defined\n"),
            4 => format!("    - name: stat {i}\n      stat: path=/etc/f{i}\n      register: st{i}\n"),
            5 => format!("    - name: command {i}\n      command: touch /tmp/x{i} creates=/tmp/x{i}\n"),
            6 => format!("    - name: loop {i}\n      file: path={{{{ base }}}}/{{{{ item }}}} state=directory\n      loop: [a{i}, b{i}]\n"),
            _ => format!("    - block:\n        - debug: msg=\"{{{{ domain }}}} {i}\"\n      rescue:\n        - fail: msg=never\n"),
        };
        pb.push_str(&t);
    }
    std::fs::write(dir.join("site.yml"), pb)
}

fn count(tasks: &[Task], filter: &TagFilter) -> usize {
    tasks
        .iter()
        .map(|t| match &t.action {
            Action::Block {
                block,
                rescue,
                always,
            } => count(block, filter) + count(rescue, filter) + count(always, filter),
            _ => usize::from(filter.selects(&t.tags)),
        })
        .sum()
}

fn ms(d: Duration) -> String {
    format!("{:8.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "plan".into());
    if mode != "plan" {
        eprintln!("usage: converge-bench plan");
        std::process::exit(5);
    }
    let dir = std::env::temp_dir().join(format!("converge-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| generate(&dir)) {
        eprintln!("error: cannot write the generated playbook: {e}");
        std::process::exit(1);
    }
    let runs = 5;
    let mut rows: Vec<[Duration; 4]> = Vec::new();
    let mut planned = 0;
    for _ in 0..runs {
        let t0 = Instant::now();
        let inv = match Inventory::load(&[dir.join("hosts.ini").display().to_string()]) {
            Ok(i) => i,
            Err(d) => {
                eprint!("{d}");
                std::process::exit(4);
            }
        };
        let t1 = Instant::now();
        let templater = Templater::new();
        let (books, _) = match load_playbooks(&[dir.join("site.yml")], &templater) {
            Ok(b) => b,
            Err(d) => {
                eprint!("{d}");
                std::process::exit(4);
            }
        };
        let t2 = Instant::now();
        let filter = TagFilter::new(&[], &[]);
        planned = 0;
        for play in books.iter().flat_map(|b| &b.plays) {
            let hosts = inv.select(&play.hosts);
            let per_host = count(&play.tasks, &filter);
            for h in &hosts {
                let vars = inv
                    .host_vars(h, Some(&play.playbook_dir))
                    .map(|v| v.len())
                    .unwrap_or(0);
                planned += per_host + usize::from(vars == usize::MAX);
            }
        }
        let t3 = Instant::now();
        rows.push([t1 - t0, t2 - t1, t3 - t2, t3 - t0]);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let median = |i: usize| {
        let mut v: Vec<Duration> = rows.iter().map(|r| r[i]).collect();
        v.sort();
        v[v.len() / 2]
    };
    println!("converge-bench plan: {TASKS} tasks x {HOSTS} hosts = {planned} host-tasks planned (median of {runs} runs)");
    println!("  load inventory            {}", ms(median(0)));
    println!("  load + validate playbook  {}", ms(median(1)));
    println!("  plan (hosts, vars, tags)  {}", ms(median(2)));
    println!("  total                     {}", ms(median(3)));
}
