//! Running playbooks: the plain run, `converge plan` (check + diff, quiet, Terraform-style exit
//! codes) and `--drift-correct` (locked check run, then apply). Every run can write reports and
//! is recorded in the run history.

use crate::cli::{exit, ColorChoice, ReportArgs, RunArgs};
use crate::executor::tags::TagFilter;
use crate::executor::{ConnectionDefaults, Executor, RunOptions, RunSummary};
use crate::history::{self, History, HistorySink, RunLock};
use crate::inventory::Inventory;
use crate::output::printer::{Printer, PrinterOptions};
use crate::output::{Event, EventSink, Fanout, Silent};
use crate::playbook::{load_playbooks_with_extra_vars, Action, Playbook, Task};
use crate::report::{
    self, Format, Mode, Redactor, ReportCollector, RunMeta, RunReport, RunStatus, Secrets,
};
use crate::template::Templater;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// Everything read and validated before any host is touched.
struct Loaded {
    inventory: Inventory,
    books: Vec<Playbook>,
    templater: Arc<Templater>,
    extra_vars: Map<String, Value>,
}

/// `-e` values: `k=v` pairs, a JSON/YAML mapping, or `@file`.
pub fn parse_extra_vars(items: &[String]) -> Result<Map<String, Value>, String> {
    let mut vars = Map::new();
    for item in items {
        let item = item.trim();
        if let Some(path) = item.strip_prefix('@') {
            let node =
                crate::yaml::load_path(std::path::Path::new(path)).map_err(|d| d.to_string())?;
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
            let parsed = crate::playbook::kv::parse_kv(item, false, &[])
                .map_err(|e| format!("-e {item}: {e}"))?;
            vars.extend(parsed);
        }
    }
    Ok(vars)
}

/// Load inputs; on failure the errors are printed and the exit code returned.
fn load(playbooks: &[PathBuf], args: &RunArgs) -> Result<Loaded, u8> {
    for p in playbooks {
        if !p.is_file() {
            eprintln!("error: the playbook {} could not be found", p.display());
            return Err(exit::BAD_OPTIONS);
        }
    }
    let extra_vars = parse_extra_vars(&args.extra_vars).map_err(|e| {
        eprintln!("error: {e}");
        exit::BAD_OPTIONS
    })?;
    let templater = Arc::new(Templater::new());
    let inventory = Inventory::load(&args.inventory);
    let books = load_playbooks_with_extra_vars(playbooks, &templater, &extra_vars);
    let (inventory, (books, warnings)) = match (inventory, books) {
        (Ok(i), Ok(b)) => (i, b),
        (i, b) => {
            if let Err(d) = i {
                eprint!("{d}");
            }
            if let Err(d) = b {
                eprint!("{d}");
            }
            return Err(exit::PARSE_ERROR);
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
    Ok(Loaded {
        inventory,
        books,
        templater,
        extra_vars,
    })
}

/// Values of variables whose names say they are secret, from every source known up front.
fn redactor(l: &Loaded) -> Redactor {
    let mut red = Redactor::new();
    red.add_secret_vars(l.extra_vars.iter().map(|(k, v)| (k.as_str(), v)));
    let dir = l
        .books
        .first()
        .and_then(|b| b.plays.first())
        .map(|p| p.playbook_dir.clone());
    for h in l.inventory.hosts() {
        if let Ok(vars) = l.inventory.host_vars(&h.name, dir.as_deref()) {
            red.add_secret_vars(vars.iter().map(|(k, v)| (k.as_str(), v)));
        }
    }
    for play in l.books.iter().flat_map(|b| &b.plays) {
        red.add_secret_vars(play.vars.iter().map(|(k, v)| (k.as_str(), v)));
    }
    red
}

fn options(args: &RunArgs, l: &Loaded, check: bool, diff: bool, secrets: Secrets) -> RunOptions {
    RunOptions {
        secrets,
        check,
        diff,
        forks: args.forks(),
        limit: args.limit.clone(),
        tags: TagFilter::new(&args.tags, &args.skip_tags),
        extra_vars: l.extra_vars.clone(),
        verbosity: args.verbose,
        defaults: ConnectionDefaults {
            connection: args.connection.clone(),
            remote_user: args.remote_user.clone(),
            private_key: args.private_key.clone(),
            r#become: args.r#become,
            become_user: args.become_user.clone(),
        },
        connect: crate::connection::ConnectOptions {
            host_key_checking: args.host_key_checking.clone(),
            connect_timeout: std::time::Duration::from_secs(args.timeout_secs()),
            command_timeout: None,
        },
    }
}

fn printer(args: &RunArgs, diff: bool, check: bool) -> Printer {
    let mut popts = PrinterOptions::detect(args.verbose, diff, check);
    match args.color {
        ColorChoice::Always => popts.color = true,
        ColorChoice::Never => popts.color = false,
        ColorChoice::Auto => {}
    }
    Printer::stdout(popts)
}

/// One execution of the playbooks, with its report and its history record.
fn execute(
    l: &Loaded,
    args: &RunArgs,
    playbooks: &[PathBuf],
    check: bool,
    diff: bool,
    out: Box<dyn EventSink>,
) -> (RunSummary, RunReport) {
    let mode = if check { Mode::Check } else { Mode::Apply };
    let names: Vec<String> = playbooks.iter().map(|p| p.display().to_string()).collect();
    let meta = RunMeta::for_run(mode, &names, &args.inventory);
    let red = redactor(l);
    let secrets = Secrets::new(red.clone());
    let collector = Arc::new(ReportCollector::new(meta.clone(), red.clone()));
    let mut sinks: Vec<Box<dyn EventSink>> = vec![out, Box::new(Arc::clone(&collector))];
    let history = if args.report.no_history {
        None
    } else {
        open_history(&args.report, &meta, &red)
    };
    if let Some(h) = &history {
        sinks.push(Box::new(Arc::clone(h)));
    }
    // The executor redacts every event with `secrets` before these sinks see it.
    let fan = Fanout(sinks);
    fan.emit(&Event::RunStart {
        playbooks: names,
        inventory: args.inventory.clone(),
        check,
        diff,
    });
    let opts = options(args, l, check, diff, secrets.clone());
    let mut summary =
        Executor::new(&l.inventory, Arc::clone(&l.templater), &opts, &fan).run(&l.books);
    let known = secrets.snapshot();
    for e in &mut summary.errors {
        known.redact_string(e);
    }
    if let Some(h) = &history {
        if let Some(e) = h.take_error() {
            eprintln!("[WARNING]: the run history could not be written: {e:#}");
        }
    }
    let mut report = collector.finished().unwrap_or_else(|| collector.report());
    report.redactor = known;
    (summary, report)
}

fn open_history(r: &ReportArgs, meta: &RunMeta, red: &Redactor) -> Option<Arc<HistorySink>> {
    let attempt = || -> anyhow::Result<HistorySink> {
        let path = history::resolve_path(r.history.as_deref())?;
        HistorySink::begin(History::open(&path)?, meta, red)
    };
    match attempt() {
        Ok(s) => Some(Arc::new(s)),
        Err(e) => {
            eprintln!("[WARNING]: this run is not recorded in the history: {e:#}");
            None
        }
    }
}

/// Write the requested reports (`--format`, paired in order with `--output`); `default` is
/// printed when no format was asked for.
fn write_reports(
    r: &ReportArgs,
    report: &RunReport,
    default: Option<Format>,
) -> Result<(), String> {
    let mut formats: Vec<Format> = Vec::new();
    for f in &r.formats {
        for part in f.split(',') {
            formats.push(part.trim().parse::<Format>().map_err(|e| e.to_string())?);
        }
    }
    if formats.is_empty() {
        formats.extend(default);
    }
    if r.outputs.len() > formats.len() {
        return Err("more --output files than --format values".into());
    }
    for (i, f) in formats.iter().enumerate() {
        match r.outputs.get(i) {
            Some(path) => report::write(*f, report, r.template.as_deref(), path)
                .map_err(|e| format!("{e:#}"))?,
            None => print!(
                "{}",
                report::render(*f, report, r.template.as_deref()).map_err(|e| format!("{e:#}"))?
            ),
        }
    }
    Ok(())
}

fn exit_code(s: &RunSummary) -> u8 {
    for e in &s.errors {
        eprintln!("error: {e}");
    }
    if s.any_failed {
        exit::HOSTS_FAILED
    } else if s.any_unreachable {
        exit::HOSTS_UNREACHABLE
    } else if !s.errors.is_empty() {
        exit::ERROR
    } else {
        exit::OK
    }
}

/// `converge PLAYBOOK...`
pub fn run(playbooks: &[PathBuf], args: &RunArgs) -> u8 {
    let l = match load(playbooks, args) {
        Ok(l) => l,
        Err(code) => return code,
    };
    if args.syntax_check {
        for p in playbooks {
            println!("\nplaybook: {}", p.display());
        }
        return exit::OK;
    }
    if args.list_hosts || args.list_tasks {
        list(&l.inventory, &l.books, args);
        return exit::OK;
    }
    if args.drift_correct {
        return drift_correct(&l, playbooks, args);
    }
    let (summary, report) = execute(
        &l,
        args,
        playbooks,
        args.check,
        args.diff,
        Box::new(printer(args, args.diff, args.check)),
    );
    if let Err(e) = write_reports(&args.report, &report, None) {
        eprintln!("error: {e}");
        return exit::ERROR;
    }
    exit_code(&summary)
}

/// `converge plan`: exit 0 when nothing would change, 2 when changes are pending, 1 on error.
pub fn plan(playbooks: &[PathBuf], args: &RunArgs) -> u8 {
    const NO_CHANGES: u8 = 0;
    const ERROR: u8 = 1;
    const CHANGES: u8 = 2;
    let l = match load(playbooks, args) {
        Ok(l) => l,
        Err(_) => return ERROR,
    };
    let (summary, report) = execute(&l, args, playbooks, true, true, Box::new(Silent));
    if let Err(e) = write_reports(&args.report, &report, Some(Format::Text)) {
        eprintln!("error: {e}");
        return ERROR;
    }
    for e in &summary.errors {
        eprintln!("error: {e}");
    }
    if summary.any_failed || summary.any_unreachable || !summary.errors.is_empty() {
        return ERROR;
    }
    if summary.recap.values().any(|s| s.changed > 0) {
        CHANGES
    } else {
        NO_CHANGES
    }
}

/// `--drift-correct`: under the run lock, a check run records the drift, then an apply run
/// corrects it; both are recorded.
fn drift_correct(l: &Loaded, playbooks: &[PathBuf], args: &RunArgs) -> u8 {
    let lock = history::resolve_path(args.report.history.as_deref())
        .and_then(|db| RunLock::acquire(&RunLock::path_for(&db), None));
    let _lock = match lock {
        Ok(lock) => lock,
        Err(e) => {
            eprintln!("error: cannot take the run lock: {e:#}");
            return exit::ERROR;
        }
    };
    println!("converge: drift check (check mode)");
    let (check, _) = execute(
        l,
        args,
        playbooks,
        true,
        true,
        Box::new(printer(args, true, true)),
    );
    let drifted: u32 = check.recap.values().map(|s| s.changed).sum();
    println!("converge: {drifted} change(s) found; applying");
    let (applied, report) = execute(
        l,
        args,
        playbooks,
        false,
        args.diff,
        Box::new(printer(args, args.diff, false)),
    );
    if let Err(e) = write_reports(&args.report, &report, None) {
        eprintln!("error: {e}");
    }
    if report.outcome() == RunStatus::Failed && !applied.any_failed && !applied.any_unreachable {
        return exit::ERROR;
    }
    exit_code(&applied)
}

fn list(inventory: &Inventory, books: &[Playbook], args: &RunArgs) {
    for book in books {
        println!("\nplaybook: {}", book.path.display());
        for (i, play) in book.plays.iter().enumerate() {
            let mut hosts = inventory.select(&play.hosts);
            if let Some(l) = &args.limit {
                hosts = inventory.limit(hosts, l).unwrap_or_default();
            }
            println!(
                "\n  play #{} ({}): {}\tTAGS: [{}]",
                i + 1,
                play.hosts,
                play.name,
                play.tags.join(",")
            );
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
                for list in [
                    &play.pre_tasks,
                    &play.role_tasks,
                    &play.tasks,
                    &play.post_tasks,
                ] {
                    print_tasks(list, &filter, 6);
                }
            }
        }
    }
}

fn print_tasks(tasks: &[Task], filter: &TagFilter, indent: usize) {
    for t in tasks {
        match &t.action {
            Action::Block {
                block,
                rescue,
                always,
            } => {
                for l in [block, rescue, always] {
                    print_tasks(l, filter, indent);
                }
            }
            _ if filter.selects(&t.tags) => {
                let name = match &t.origin.role {
                    Some(r) => format!("{r} : {}", t.display_name()),
                    None => t.display_name(),
                };
                println!(
                    "{}{name}\tTAGS: [{}]",
                    " ".repeat(indent),
                    t.tags.join(", ")
                );
            }
            _ => {}
        }
    }
}
