//! A fixed, synthetic report (fixed id, timestamps and durations) covering every case the
//! renderers handle: changes with diffs, loops, failures with awkward characters, ignored
//! failures, skipped and unpredictable tasks, an unreachable host and a secret to redact. The
//! golden-file tests and the CLI's tests render it; it is not used at run time.

use super::model::{
    DiffReport, HostRecap, Mode, PlayReport, RunMeta, RunReport, RunStatus, Status, TaskReport,
    TaskResult,
};
use super::redact::Redactor;
use serde_json::json;

/// The secret value planted in the sample (in a diff, a message and data).
pub const SAMPLE_SECRET: &str = "hunter2-Sup3r-Secret";

fn diff(path: &str, before: &str, after: &str) -> DiffReport {
    let d = converge_modules::Diff::new(path, before, after);
    DiffReport {
        before_header: path.to_string(),
        after_header: path.to_string(),
        before: Some(before.to_string()),
        after: Some(after.to_string()),
        unified: super::diff::unified_diff(&d),
    }
}

fn res(host: &str, status: Status, ms: u64) -> TaskResult {
    let mut r = TaskResult::new(host, status);
    r.duration_ms = ms;
    r
}

/// The sample report, not yet redacted: the secret is still inside; [`sample_report`] redacts.
pub fn sample_report_unredacted() -> RunReport {
    let meta = RunMeta {
        id: "0190f3a2-7c1e-7a3b-9d4e-1f2a3b4c5d6e".into(),
        started_at: "2024-05-01T02:00:00Z".into(),
        finished_at: Some("2024-05-01T02:01:05Z".into()),
        duration_ms: Some(65_432),
        status: RunStatus::Failed,
        mode: Mode::Check,
        diff: true,
        playbooks: vec!["playbooks/site.yml".into()],
        inventory: vec!["inventory/prod.ini".into()],
        converge_version: "0.1.0".into(),
        git_commit: Some("3f2c1a9b8e7d6c5b4a39281706f5e4d3c2b1a098".into()),
    };
    let mut report = RunReport::new(meta);

    let mut motd = res("web1", Status::Changed, 120);
    motd.diffs.push(diff(
        "/etc/motd",
        "Welcome\nmanaged by hand\n",
        "Welcome\nmanaged by converge\n",
    ));
    let mut motd2 = res("web2", Status::Changed, 98);
    motd2.diffs.push(diff(
        "/etc/motd",
        "Welcome\n",
        "Welcome\nmanaged by converge\n",
    ));

    let mut env_file = res("web1", Status::Changed, 310);
    env_file.diffs.push(diff(
        "/srv/app/.env",
        "DB_HOST=db1\nDB_PASSWORD=old\n",
        &format!("DB_HOST=db1\nDB_PASSWORD={SAMPLE_SECRET}\n"),
    ));
    env_file.data = json!({"changed": true, "dest": "/srv/app/.env", "db_password": "plain-in-data", "stdout": format!("wrote {SAMPLE_SECRET}")});
    let mut env_fail = res("web2", Status::Failed, 2_004);
    env_fail.msg = Some(format!(
        "Destination /srv/app not writable: <Permission \"denied\"> & 'retry' failed\nsecret was {SAMPLE_SECRET}\nline with ``` fence"
    ));

    let mut pkgs = res("web1", Status::Changed, 4_500);
    let mut item_a = res("web1", Status::Changed, 2_000);
    item_a.item = Some("nginx".into());
    item_a.diffs.push(diff("packages", "", "nginx 1.24.0\n"));
    let mut item_b = res("web1", Status::Ok, 2_500);
    item_b.item = Some("curl".into());
    pkgs.items = vec![item_a, item_b];
    let pkgs2 = res("web2", Status::Ok, 3_100);

    let mut migrate = res("web1", Status::Skipped, 0);
    migrate.check_mode_unknown = true;
    let mut migrate2 = res("web2", Status::Skipped, 0);
    migrate2.check_mode_unknown = true;

    let mut probe = res("web1", Status::Failed, 15);
    probe.ignored = true;
    probe.msg = Some("probe returned rc=1".into());

    let mut gather = res("db1", Status::Unreachable, 10_000);
    gather.msg = Some("ssh: connect to host db1 port 22: Connection timed out".into());

    report.plays.push(PlayReport {
        name: "Web servers".into(),
        hosts: vec!["web1".into(), "web2".into()],
        tasks: vec![
            TaskReport {
                name: "Message of the day".into(),
                role: Some("base".into()),
                handler: false,
                results: vec![motd, motd2],
            },
            TaskReport {
                name: "Install packages".into(),
                role: None,
                handler: false,
                results: vec![pkgs, pkgs2],
            },
            TaskReport {
                name: "Application environment | .env".into(),
                role: None,
                handler: false,
                results: vec![env_file, env_fail],
            },
            TaskReport {
                name: "Run migrations".into(),
                role: None,
                handler: false,
                results: vec![migrate, migrate2],
            },
            TaskReport {
                name: "Probe <health>".into(),
                role: None,
                handler: false,
                results: vec![probe],
            },
        ],
    });
    report.plays.push(PlayReport {
        name: "Databases".into(),
        hosts: vec!["db1".into()],
        tasks: vec![TaskReport {
            name: "Gathering Facts".into(),
            role: None,
            handler: false,
            results: vec![gather],
        }],
    });
    let recap = |ok, changed, unreachable, failed, skipped, ignored| HostRecap {
        ok,
        changed,
        unreachable,
        failed,
        skipped,
        rescued: 0,
        ignored,
    };
    report.recap.insert("db1".into(), recap(0, 0, 1, 0, 0, 0));
    report.recap.insert("web1".into(), recap(4, 3, 0, 0, 1, 1));
    report.recap.insert("web2".into(), recap(2, 1, 0, 1, 1, 0));
    report
        .warnings
        .push("no hosts matched the pattern \"caches\"".into());
    report.compute_totals();
    report
}

/// The sample report, redacted with a redactor that knows [`SAMPLE_SECRET`].
pub fn sample_report() -> RunReport {
    let mut r = sample_report_unredacted();
    r.redact(&sample_redactor());
    r
}

/// A redactor that knows [`SAMPLE_SECRET`].
pub fn sample_redactor() -> Redactor {
    Redactor::with_secrets([SAMPLE_SECRET])
}
