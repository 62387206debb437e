//! `pre_stop_sequence`: waits and signals, in the order written, before a container is stopped
//! (`1m:USR2:30s:USR1:50s`: wait a minute, send USR2, wait 30 s, send USR1, wait 50 s).

use crate::docker::spec::{duration_ns, normalize_signal};
use std::time::Duration;

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeqStep {
    Wait(Duration),
    Signal(String),
}

/// Signals Docker accepts by name (without `SIG`).
const SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// Parse a sequence; an unknown word is an error that names it.
pub fn parse_sequence(text: &str) -> Result<Vec<SeqStep>, String> {
    let mut out = Vec::new();
    for word in text.split(':').map(str::trim).filter(|w| !w.is_empty()) {
        if word.starts_with(|c: char| c.is_ascii_digit()) {
            let ns =
                duration_ns(word).ok_or_else(|| format!("`{word}` is not a duration (30s, 1m)"))?;
            out.push(SeqStep::Wait(Duration::from_nanos(ns as u64)));
        } else {
            let sig = normalize_signal(word);
            if !SIGNALS.contains(&sig.trim_start_matches("SIG")) {
                return Err(format!(
                    "`{word}` is neither a duration nor a signal (USR1, TERM, ...)"
                ));
            }
            out.push(SeqStep::Signal(sig));
        }
    }
    Ok(out)
}

/// How long a sequence waits in all.
pub fn total_wait(seq: &[SeqStep]) -> Duration {
    seq.iter()
        .map(|s| match s {
            SeqStep::Wait(d) => *d,
            SeqStep::Signal(_) => Duration::ZERO,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences() {
        assert_eq!(
            parse_sequence("1m:USR2:30s:usr1:50s").unwrap(),
            [
                SeqStep::Wait(Duration::from_secs(60)),
                SeqStep::Signal("SIGUSR2".into()),
                SeqStep::Wait(Duration::from_secs(30)),
                SeqStep::Signal("SIGUSR1".into()),
                SeqStep::Wait(Duration::from_secs(50)),
            ]
        );
        assert_eq!(
            total_wait(&parse_sequence("1s:HUP:500ms").unwrap()),
            Duration::from_millis(1500)
        );
        assert!(parse_sequence("1m:USR3").unwrap_err().contains("`USR3`"));
        assert!(parse_sequence("1x").unwrap_err().contains("not a duration"));
    }
}
