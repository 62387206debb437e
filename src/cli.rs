//! The command line: flags parsed by clap, then turned into a run. `main.rs` only maps the
//! result to an exit code.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
    /// Dry run for review: check + diff, quietly; exit 0 = no change, 2 = changes pending,
    /// 1 = error. Reports for pull requests with --format markdown.
    Plan(PlanArgs),
    /// List recorded runs, or show one (`history show RUN|last`).
    History(HistoryArgs),
    /// What drifted: changes found by check runs on hosts whose last apply left them converged.
    Drift(DriftArgs),
    /// List the native modules, or (--needs) those a playbook would run as Ansible's own.
    Modules(ModulesArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ModulesArgs {
    /// Playbooks whose modules converge lacks, to list with where Ansible's version was found.
    #[arg(long, value_name = "PLAYBOOK", num_args = 1..)]
    pub needs: Vec<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
    /// Playbook files, in order.
    #[arg(value_name = "PLAYBOOK", required = true)]
    pub playbooks: Vec<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug, Clone)]
pub struct HistoryArgs {
    /// `show RUN` (a run id, a unique prefix of one, or `last`).
    #[arg(value_name = "show RUN", num_args = 0..=2)]
    pub show: Vec<String>,
    /// Only runs that touched this host.
    #[arg(long)]
    pub host: Option<String>,
    /// Only runs of playbooks whose path contains this text.
    #[arg(long)]
    pub playbook: Option<String>,
    /// Only runs with this status (ok, failed, running, incomplete).
    #[arg(long)]
    pub status: Option<String>,
    /// At most this many runs, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Args, Debug, Clone)]
pub struct DriftArgs {
    /// Only this host.
    #[arg(long)]
    pub host: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// The run history database (default: $CONVERGE_HISTORY, else ~/.local/state/converge/history.db).
    #[arg(long, value_name = "PATH")]
    pub history: Option<PathBuf>,
}

/// Reports and history, for runs and plans.
#[derive(Args, Debug, Clone, Default)]
pub struct ReportArgs {
    /// Report format(s): text, json, markdown, junit, html. Repeat with --output for several.
    #[arg(long = "format", value_name = "FORMAT")]
    pub formats: Vec<String>,
    /// Where each --format goes, in the same order (standard output when missing).
    #[arg(long = "output", value_name = "FILE")]
    pub outputs: Vec<PathBuf>,
    /// A handlebars template replacing the built-in layout (markdown, junit, html).
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// The run history database (default: $CONVERGE_HISTORY, else ~/.local/state/converge/history.db).
    #[arg(long, value_name = "PATH")]
    pub history: Option<PathBuf>,
    /// Do not record this run in the history.
    #[arg(long)]
    pub no_history: bool,
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
    /// Hosts worked on at once (default: `forks` of ansible.cfg, else 100).
    #[arg(short = 'f', long, value_name = "N")]
    pub forks: Option<usize>,
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
    /// Nightly drift correction: take the run lock, run in check mode and record the drift,
    /// then apply and record the outcome; non-zero exit if a host could not be corrected.
    #[arg(long)]
    pub drift_correct: bool,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Seconds to wait for an SSH connection (default: `timeout` of ansible.cfg, else 10).
    #[arg(short = 'T', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

impl RunArgs {
    /// Fill what the command line left unset from Ansible's configuration (ansible.cfg and
    /// `ANSIBLE_*` variables), as ansible-playbook does.
    pub fn with_settings(mut self, s: &crate::settings::Settings) -> RunArgs {
        if self.inventory.is_empty() {
            self.inventory = s.inventory.clone();
        }
        self.remote_user = self.remote_user.or_else(|| s.remote_user.clone());
        self.private_key = self.private_key.or_else(|| s.private_key_file.clone());
        self.become_user = self.become_user.or_else(|| s.become_user.clone());
        self.r#become |= s.r#become == Some(true);
        if self.host_key_checking.is_none() && s.host_key_checking == Some(false) {
            self.host_key_checking = Some("off".into());
        }
        self.forks = self.forks.or(s.forks);
        self.timeout = self.timeout.or(s.timeout);
        self
    }

    pub fn forks(&self) -> usize {
        self.forks.unwrap_or(100).max(1)
    }

    pub fn timeout_secs(&self) -> u64 {
        self.timeout.unwrap_or(10).max(1)
    }
}

/// What `run` ends with: an exit code; errors already printed.
pub fn run(cli: Cli) -> u8 {
    use crate::commands;
    match cli.command {
        Some(Command::Inventory(args)) => commands::inventory::run(&args),
        Some(Command::Plan(args)) => commands::playbook::plan(
            &args.playbooks,
            &args.run.clone().with_settings(crate::settings::get()),
        ),
        Some(Command::History(args)) => commands::history::history(&args),
        Some(Command::Drift(args)) => commands::history::drift(&args),
        Some(Command::Modules(args)) => commands::modules::run(&args),
        None => commands::playbook::run(
            &cli.playbooks,
            &cli.run.clone().with_settings(crate::settings::get()),
        ),
    }
}
