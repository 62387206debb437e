//! The command line: flags parsed by clap, then turned into a run. `main.rs` only maps the
//! result to an exit code.

use crate::diagnostics::Diagnostics;
use crate::executor::tags::TagFilter;
use crate::executor::{Executor, RunOptions};
use crate::inventory::Inventory;
use crate::output::printer::{Printer, PrinterOptions};
use crate::output::{Event, EventSink};
use crate::playbook::{load_playbooks, Action, Task};
use crate::template::Templater;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// Exit codes, the same as ansible-playbook's where they exist, so wrappers keep working.
pub mod exit {
    pub const OK: u8 = 0;
    /// A generic error (I/O on the controller, an internal error).
    pub const ERROR: u8 = 1;
    /// One or more hosts failed.
    pub const HOSTS_FAILED: u8 = 2;
    /// One or more hosts were unreachable (and none failed).
    pub const HOSTS_UNREACHABLE: u8 = 3;
    /// The inventory, a playbook, a role or a template is invalid; no host was touched.
    pub const PARSE_ERROR: u8 = 4;
    /// Bad or incomplete command-line options.
    pub const BAD_OPTIONS: u8 = 5;
}

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  every host converged (or would, with --check)
  1  an error on the controller
  2  one or more hosts failed
  3  one or more hosts were unreachable (none failed)
  4  invalid inventory, playbook, role or template: no host was touched
  5  bad command-line options

Examples:
  converge site.yml -i inventory/hosts --check --diff   # what would change
  converge site.yml -i inventory/hosts                  # converge every host
  converge site.yml -i hosts --limit web --tags nginx   # a subset
  converge inventory -i inventory/hosts --graph         # how the inventory is read";

#[derive(Parser, Debug)]
#[command(
    name = "converge",
    version,
    about = "Converge hosts to the state your Ansible-style playbooks declare, over SSH, with no agent.",
    after_help = EXIT_CODES_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Playbook files to run, in order.
    #[arg(value_name = "PLAYBOOK", required = true)]
    pub playbooks: Vec<PathBuf>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show the inventory as converge reads it (like ansible-inventory).
    Inventory(InventoryArgs),
}

#[derive(Args, Debug, Clone)]
pub struct InventoryArgs {
    /// Inventory file, directory or comma-separated host list; repeatable.
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<String>,
    /// Print every group and host, with variables, as JSON.
    #[arg(long, conflicts_with = "graph")]
    pub list: bool,
    /// Print the group tree.
    #[arg(long)]
    pub graph: bool,
    /// One host's variables as JSON.
    #[arg(long, value_name = "HOST", conflicts_with_all = ["list", "graph"])]
    pub host: Option<String>,
    /// With --graph: start at this group.
    #[arg(value_name = "GROUP")]
    pub group: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Inventory file, directory or comma-separated host list; repeatable.
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<String>,
    /// Dry run: report what would change, change nothing.
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show the changes made (or, with --check, the changes that would be made) as diffs.
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// Only hosts matching this pattern (`web`, `web:&prod`, `all:!db1`, `@file`).
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub limit: Option<String>,
    /// Only tasks with these tags (comma-separated; repeatable).
    #[arg(short = 't', long, value_name = "TAGS")]
    pub tags: Vec<String>,
    /// Skip tasks with these tags.
    #[arg(long, value_name = "TAGS")]
    pub skip_tags: Vec<String>,
    /// Extra variables (highest precedence): `k=v`, a YAML/JSON mapping, or `@file.yml`.
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
    /// Hosts worked on at once.
    #[arg(short = 'f', long, default_value_t = 100, value_name = "N")]
    pub forks: usize,
    /// Check the playbooks, roles and templates, then stop.
    #[arg(long)]
    pub syntax_check: bool,
    /// List the hosts each play would run on, then stop.
    #[arg(long)]
    pub list_hosts: bool,
    /// List the tasks of each play, then stop.
    #[arg(long)]
    pub list_tasks: bool,
    /// More detail (-v results, -vv, -vvv connection details).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Colors: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// SSH host key checking: strict (default), accept-new or off.
    #[arg(long, value_name = "MODE", value_parser = ["strict", "accept-new", "off"])]
    pub host_key_checking: Option<String>,
    /// Connection type for hosts whose variables do not set `ansible_connection` (ssh, local).
    #[arg(short = 'c', long, value_name = "TYPE", value_parser = ["ssh", "local", "smart", "paramiko"])]
    pub connection: Option<String>,
    /// Remote user for hosts whose variables do not set `ansible_user`.
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub remote_user: Option<String>,
    /// Private key for hosts whose variables do not set `ansible_ssh_private_key_file`.
    #[arg(long = "private-key", value_name = "FILE")]
    pub private_key: Option<String>,
    /// Run tasks with privilege escalation (become).
    #[arg(short = 'b', long = "become")]
    pub r#become: bool,
    /// The user to become (default root).
    #[arg(long, value_name = "USER")]
    pub become_user: Option<String>,
    /// Seconds to wait for an SSH connection.
    #[arg(short = 'T', long, default_value_t = 10, value_name = "SECONDS")]
    pub timeout: u64,
}

/// What `run` ends with: an exit code; errors already printed.
pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Some(Command::Inventory(args)) => inventory_command(&args),
        None => playbook_command(&cli.playbooks, &cli.run),
    }
}

fn print_diags(d: &Diagnostics) {
    eprint!("{d}");
}

fn inventory_command(args: &InventoryArgs) -> u8 {
    let inv = match Inventory::load(&args.inventory) {
        Ok(i) => i,
        Err(d) => {
            print_diags(&d);
            return exit::PARSE_ERROR;
        }
    };
    if let Some(h) = &args.host {
        return match inv.host_vars(h, None) {
            Ok(v) if inv.host(h).is_some() => {
                println!("{}", serde_json::to_string_pretty(&Value::Object(v)).unwrap_or_default());
                exit::OK
            }
            Ok(_) => {
                eprintln!("error: host `{h}` is not in the inventory");
                exit::BAD_OPTIONS
            }
            Err(d) => {
                print_diags(&d);
                exit::PARSE_ERROR
            }
        };
    }
    if args.graph {
        print!("{}", inv.to_graph(args.group.as_deref()));
    } else {
        println!("{}", serde_json::to_string_pretty(&inv.to_list_json()).unwrap_or_default());
    }
    exit::OK
}

/// `-e` values: `k=v` pairs, a JSON/YAML mapping, or `@file`.
pub fn parse_extra_vars(items: &[String]) -> Result<Map<String, Value>, String> {
    let mut vars = Map::new();
    for item in items {
        let item = item.trim();
        if let Some(path) = item.strip_prefix('@') {
            let node = crate::yaml::load_path(std::path::Path::new(path)).map_err(|d| d.to_string())?;
            match node.to_json() {
                Value::Object(m) => vars.extend(m),
                Value::Null => {}
                _ => return Err(format!("-e @{path}: the file must hold a mapping")),
            }
        } else if item.starts_with('{') {
            let file = crate::source::SourceFile::new("(-e)", item);
            let node = crate::yaml::load(&file).map_err(|d| d.to_string())?;
            match node.to_json() {
                Value::Object(m) => vars.extend(m),
                _ => return Err(format!("-e {item}: not a mapping")),
            }
        } else {
            let parsed = crate::playbook::kv::parse_kv(item, false, &[]).map_err(|e| format!("-e {item}: {e}"))?;
            vars.extend(parsed);
        }
    }
    Ok(vars)
}

fn playbook_command(playbooks: &[PathBuf], args: &RunArgs) -> u8 {
    for p in playbooks {
        if !p.is_file() {
            eprintln!("error: the playbook {} could not be found", p.display());
            return exit::BAD_OPTIONS;
        }
    }
    let extra_vars = match parse_extra_vars(&args.extra_vars) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_OPTIONS;
        }
    };
    let templater = Arc::new(Templater::new());
    // Everything is read and validated before any host is touched.
    let inventory = Inventory::load(&args.inventory);
    let books = load_playbooks(playbooks, &templater);
    let (inventory, (books, warnings)) = match (inventory, books) {
        (Ok(i), Ok(b)) => (i, b),
        (i, b) => {
            if let Err(d) = i {
                print_diags(&d);
            }
            if let Err(d) = b {
                print_diags(&d);
            }
            return exit::PARSE_ERROR;
        }
    };
    for w in inventory.warnings() {
        match &w.span {
            Some(s) => eprintln!("[WARNING]: {}: {}", s.location(), w.message),
            None => eprintln!("[WARNING]: {}", w.message),
        }
    }
    for w in &warnings {
        eprintln!("[WARNING]: {w}");
    }
    if args.syntax_check {
        for p in playbooks {
            println!("\nplaybook: {}", p.display());
        }
        return exit::OK;
    }
    if args.list_hosts || args.list_tasks {
        list(&inventory, &books, args);
        return exit::OK;
    }
    let mut popts = PrinterOptions::detect(args.verbose, args.diff, args.check);
    match args.color {
        ColorChoice::Always => popts.color = true,
        ColorChoice::Never => popts.color = false,
        ColorChoice::Auto => {}
    }
    let printer = Printer::stdout(popts);
    let opts = RunOptions {
        check: args.check,
        diff: args.diff,
        forks: args.forks.max(1),
        limit: args.limit.clone(),
        tags: TagFilter::new(&args.tags, &args.skip_tags),
        extra_vars,
        verbosity: args.verbose,
        defaults: crate::executor::ConnectionDefaults {
            connection: args.connection.clone(),
            remote_user: args.remote_user.clone(),
            private_key: args.private_key.clone(),
            r#become: args.r#become,
            become_user: args.become_user.clone(),
        },
        connect: crate::connection::ConnectOptions {
            host_key_checking: args.host_key_checking.clone(),
            connect_timeout: std::time::Duration::from_secs(args.timeout.max(1)),
            command_timeout: None,
        },
    };
    printer.emit(&Event::RunStart {
        playbooks: playbooks.iter().map(|p| p.display().to_string()).collect(),
        inventory: args.inventory.clone(),
        check: args.check,
        diff: args.diff,
    });
    let summary = Executor::new(&inventory, templater, &opts, &printer).run(&books);
    for e in &summary.errors {
        eprintln!("error: {e}");
    }
    if summary.any_failed {
        exit::HOSTS_FAILED
    } else if summary.any_unreachable {
        exit::HOSTS_UNREACHABLE
    } else if !summary.errors.is_empty() {
        exit::ERROR
    } else {
        exit::OK
    }
}

fn list(inventory: &Inventory, books: &[crate::playbook::Playbook], args: &RunArgs) {
    for book in books {
        println!("\nplaybook: {}", book.path.display());
        for (i, play) in book.plays.iter().enumerate() {
            let mut hosts = inventory.select(&play.hosts);
            if let Some(l) = &args.limit {
                hosts = inventory.limit(hosts, l).unwrap_or_default();
            }
            println!("\n  play #{} ({}): {}\tTAGS: [{}]", i + 1, play.hosts, play.name, play.tags.join(","));
            if args.list_hosts {
                println!("    pattern: ['{}']", play.hosts);
                println!("    hosts ({}):", hosts.len());
                for h in &hosts {
                    println!("      {h}");
                }
            }
            if args.list_tasks {
                println!("    tasks:");
                let filter = TagFilter::new(&args.tags, &args.skip_tags);
                for list in [&play.pre_tasks, &play.role_tasks, &play.tasks, &play.post_tasks] {
                    print_tasks(list, &filter, 6);
                }
            }
        }
    }
}

fn print_tasks(tasks: &[Task], filter: &TagFilter, indent: usize) {
    for t in tasks {
        match &t.action {
            Action::Block { block, rescue, always } => {
                for l in [block, rescue, always] {
                    print_tasks(l, filter, indent);
                }
            }
            _ if filter.selects(&t.tags) => {
                let name = match &t.origin.role {
                    Some(r) => format!("{r} : {}", t.display_name()),
                    None => t.display_name(),
                };
                println!("{}{name}\tTAGS: [{}]", " ".repeat(indent), t.tags.join(", "));
            }
            _ => {}
        }
    }
}
