//! Drift: what changed on a host since converge last left it converged.
//!
//! For each host: the last *apply* run that finished without a failure on that host is the
//! baseline. The latest *check* run after it tells whether the host still matches: every task
//! that check run found `changed` is drift, with its diff. "Since when" is the earliest check run
//! of the unbroken series of drifting checks that ends with the latest one.

use super::History;
use anyhow::{Context, Result};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::fmt::Write;

/// A run, by id and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRef {
    pub id: String,
    /// `finished_at` of an apply run, `started_at` of a check run.
    pub at: String,
}

/// One task the latest check run would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftTask {
    pub play: String,
    pub task: String,
    pub diff: Option<String>,
    pub msg: Option<String>,
}

/// The drift of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostDrift {
    pub host: String,
    /// The last apply run that left the host converged.
    pub last_apply: RunRef,
    /// The latest check run after it, if any (no check since: the state is unknown).
    pub last_check: Option<RunRef>,
    /// When the drift was first seen (the first of the consecutive drifting checks).
    pub drifting_since: Option<String>,
    /// What the latest check would change; empty when the host is in sync.
    pub tasks: Vec<DriftTask>,
}

impl HostDrift {
    pub fn drifted(&self) -> bool {
        !self.tasks.is_empty()
    }
}

impl History {
    /// The drift of every host with a converged apply in the history (or only of `host`),
    /// hosts in name order.
    pub fn drift(&mut self, host: Option<&str>) -> Result<Vec<HostDrift>> {
        self.flush()?;
        let hosts: Vec<String> = {
            let mut st = self
                .conn
                .prepare(
                    "SELECT DISTINCT host FROM results WHERE ?1 IS NULL OR host = ?1 ORDER BY host",
                )
                .context("listing hosts")?;
            let rows = st
                .query_map([host], |r| r.get(0))
                .context("listing hosts")?;
            rows.collect::<rusqlite::Result<_>>()
                .context("listing hosts")?
        };
        let mut out = Vec::new();
        for h in hosts {
            if let Some(d) = self.host_drift(&h)? {
                out.push(d);
            }
        }
        Ok(out)
    }

    fn host_drift(&mut self, host: &str) -> Result<Option<HostDrift>> {
        // The last finished apply with results for the host and no unhandled failure on it.
        let apply: Option<(i64, String, String)> = self
            .conn
            .query_row(
                "SELECT r.seq, r.id, COALESCE(r.finished_at, r.started_at) FROM runs r
                 WHERE r.mode = 'apply' AND r.status IN ('ok', 'failed')
                   AND EXISTS (SELECT 1 FROM results x WHERE x.run_id = r.id AND x.host = ?1)
                   AND NOT EXISTS (SELECT 1 FROM results x WHERE x.run_id = r.id AND x.host = ?1
                                   AND x.status IN ('failed', 'unreachable')
                                   AND x.ignored = 0 AND x.rescued = 0)
                 ORDER BY r.seq DESC LIMIT 1",
                [host],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .with_context(|| format!("finding the last converged apply of {host}"))?;
        let Some((apply_seq, apply_id, apply_at)) = apply else {
            return Ok(None);
        };
        // Finished check runs after it that saw the host, newest first, with their changes.
        let checks: Vec<(String, String, i64)> = {
            let mut st = self
                .conn
                .prepare(
                    "SELECT r.id, r.started_at,
                            (SELECT COUNT(*) FROM results x
                             WHERE x.run_id = r.id AND x.host = ?1 AND x.changed = 1)
                     FROM runs r
                     WHERE r.mode = 'check' AND r.status IN ('ok', 'failed') AND r.seq > ?2
                       AND EXISTS (SELECT 1 FROM results x WHERE x.run_id = r.id AND x.host = ?1)
                     ORDER BY r.seq DESC",
                )
                .context("finding check runs")?;
            let rows = st
                .query_map(params![host, apply_seq], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .context("finding check runs")?;
            rows.collect::<rusqlite::Result<_>>()
                .context("reading check runs")?
        };
        let mut drift = HostDrift {
            host: host.to_string(),
            last_apply: RunRef {
                id: apply_id,
                at: apply_at,
            },
            last_check: None,
            drifting_since: None,
            tasks: Vec::new(),
        };
        let Some((check_id, check_at, changed)) = checks.first().cloned() else {
            return Ok(Some(drift));
        };
        drift.last_check = Some(RunRef {
            id: check_id.clone(),
            at: check_at,
        });
        if changed == 0 {
            return Ok(Some(drift));
        }
        drift.drifting_since = checks
            .iter()
            .take_while(|(_, _, n)| *n > 0)
            .last()
            .map(|(_, at, _)| at.clone());
        let mut st = self
            .conn
            .prepare(
                "SELECT play, task, diff_redacted, msg FROM results
                 WHERE run_id = ?1 AND host = ?2 AND changed = 1 ORDER BY seq",
            )
            .context("reading drifted tasks")?;
        let rows = st
            .query_map(params![check_id, host], |r| {
                Ok(DriftTask {
                    play: r.get(0)?,
                    task: r.get(1)?,
                    diff: r.get(2)?,
                    msg: r.get(3)?,
                })
            })
            .context("reading drifted tasks")?;
        drift.tasks = rows
            .collect::<rusqlite::Result<_>>()
            .context("reading drifted tasks")?;
        Ok(Some(drift))
    }
}

/// A plain-text drift report for `converge drift`: one block per host, diffs included.
pub fn drift_text(drifts: &[HostDrift]) -> String {
    let mut out = String::new();
    if drifts.is_empty() {
        out.push_str("no host has a converged apply run in the history yet\n");
        return out;
    }
    for d in drifts {
        match (&d.last_check, d.drifted()) {
            (None, _) => {
                let _ = writeln!(
                    out,
                    "{}: converged by run {} at {}; not checked since",
                    d.host, d.last_apply.id, d.last_apply.at
                );
            }
            (Some(c), false) => {
                let _ = writeln!(
                    out,
                    "{}: in sync (checked {} by run {})",
                    d.host, c.at, c.id
                );
            }
            (Some(c), true) => {
                let _ = writeln!(
                    out,
                    "{}: drifted since {}: {} {} would change (check run {} at {}; last converged by run {} at {})",
                    d.host,
                    d.drifting_since.as_deref().unwrap_or(&c.at),
                    d.tasks.len(),
                    if d.tasks.len() == 1 { "task" } else { "tasks" },
                    c.id,
                    c.at,
                    d.last_apply.id,
                    d.last_apply.at
                );
                for t in &d.tasks {
                    let _ = writeln!(out, "  ~ {} / {}", t.play, t.task);
                    if let Some(diff) = &t.diff {
                        for line in diff.lines() {
                            let _ = writeln!(out, "    {line}");
                        }
                    }
                }
            }
        }
    }
    out
}
