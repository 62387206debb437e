//! The history database schema and its migrations. `schema_version` holds the version the file
//! is at; each migration moves it up by one inside a transaction, so an old database is brought
//! up to date when a newer converge opens it, and a newer database is refused by an older one.

use anyhow::{bail, Context, Result};
use rusqlite::{Connection, OptionalExtension};

/// Migration `i` takes the database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 → 1
    r#"
    CREATE TABLE runs (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        id               TEXT NOT NULL UNIQUE,
        started_at       TEXT NOT NULL,
        finished_at      TEXT,
        duration_ms      INTEGER,
        playbook         TEXT NOT NULL,
        inventory        TEXT NOT NULL,
        git_commit       TEXT,
        mode             TEXT NOT NULL CHECK (mode IN ('check', 'apply')),
        status           TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'incomplete')),
        changed          INTEGER NOT NULL DEFAULT 0,
        failed           INTEGER NOT NULL DEFAULT 0,
        converge_version TEXT NOT NULL,
        pid              INTEGER NOT NULL,
        pid_start        INTEGER,
        hostname         TEXT NOT NULL
    );
    CREATE INDEX runs_status ON runs (status);
    CREATE TABLE results (
        run_id        TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq           INTEGER NOT NULL,
        host          TEXT NOT NULL,
        play_idx      INTEGER NOT NULL,
        play          TEXT NOT NULL,
        task_idx      INTEGER NOT NULL,
        task          TEXT NOT NULL,
        status        TEXT NOT NULL,
        changed       INTEGER NOT NULL,
        ignored       INTEGER NOT NULL DEFAULT 0,
        rescued       INTEGER NOT NULL DEFAULT 0,
        diff_redacted TEXT,
        msg           TEXT,
        duration_ms   INTEGER NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    CREATE INDEX results_host ON results (host, run_id);
    "#,
];

/// The version this converge writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Creates or upgrades the schema.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .context("creating the schema_version table")?;
    let current: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()
        .context("reading the history schema version")?
        .flatten()
        .unwrap_or(0);
    if current > VERSION {
        bail!(
            "the history database is at schema version {current}, newer than this converge understands ({VERSION}); upgrade converge or use another --history file"
        );
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn
            .transaction()
            .context("starting a history schema migration")?;
        tx.execute_batch(sql)
            .with_context(|| format!("migrating the history schema to version {}", from + 1))?;
        tx.execute("DELETE FROM schema_version", [])
            .context("updating schema_version")?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [from as i64 + 1],
        )
        .context("updating schema_version")?;
        tx.commit()
            .with_context(|| format!("committing the history schema version {}", from + 1))?;
    }
    Ok(())
}
