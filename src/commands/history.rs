//! `converge history [show RUN]` and `converge drift`: reading the run history.

use crate::cli::{exit, DriftArgs, HistoryArgs};
use crate::history::{self, History, ListFilter};
use crate::report::{self, Format, RunStatus};

fn open(path: Option<&std::path::Path>) -> Result<History, u8> {
    history::resolve_path(path)
        .and_then(|p| History::open(&p))
        .map_err(|e| {
            eprintln!("error: cannot open the run history: {e:#}");
            exit::ERROR
        })
}

pub fn history(args: &HistoryArgs) -> u8 {
    let mut h = match open(args.report.history.as_deref()) {
        Ok(h) => h,
        Err(c) => return c,
    };
    match args.show.as_slice() {
        [] => {}
        [cmd, run] if cmd == "show" => {
            let shown = h.resolve(run).and_then(|id| h.show(&id));
            let report = match shown {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return exit::BAD_OPTIONS;
                }
            };
            let format = match args.report.formats.first().map(|f| f.parse::<Format>()) {
                None => Format::Text,
                Some(Ok(f)) => f,
                Some(Err(e)) => {
                    eprintln!("error: {e:#}");
                    return exit::BAD_OPTIONS;
                }
            };
            return match report::render(format, &report, args.report.template.as_deref()) {
                Ok(text) => {
                    print!("{text}");
                    exit::OK
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    exit::ERROR
                }
            };
        }
        other => {
            eprintln!("error: unexpected arguments {other:?}; use `converge history show RUN`");
            return exit::BAD_OPTIONS;
        }
    }
    let status = match args.status.as_deref().map(RunStatus::parse) {
        None => None,
        Some(Some(s)) => Some(s),
        Some(None) => {
            eprintln!("error: unknown status (ok, failed, running, incomplete)");
            return exit::BAD_OPTIONS;
        }
    };
    let filter = ListFilter {
        host: args.host.clone(),
        playbook: args.playbook.clone(),
        status,
        mode: None,
        limit: args.limit,
    };
    match h.list(&filter) {
        Ok(runs) if args.json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&runs).unwrap_or_default()
            );
            exit::OK
        }
        Ok(runs) => {
            print!("{}", history::list_text(&runs));
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::ERROR
        }
    }
}

pub fn drift(args: &DriftArgs) -> u8 {
    let mut h = match open(args.history.as_deref()) {
        Ok(h) => h,
        Err(c) => return c,
    };
    match h.drift(args.host.as_deref()) {
        Ok(d) if args.json => {
            println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default());
            exit::OK
        }
        Ok(d) => {
            print!("{}", history::drift_text(&d));
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::ERROR
        }
    }
}
