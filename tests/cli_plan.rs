//! `converge plan`, reports and the run history through the CLI: Terraform-style exit codes,
//! secrets redacted in every format and in the database, history and drift listings.

mod common;
use common::*;
use std::process::Command;

fn run_with_history(args: &[&str], cwd: &std::path::Path, db: &std::path::Path) -> Run {
    let out = Command::new(converge_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("CONVERGE_HISTORY", db)
        .output()
        .expect("run converge");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const SECRET: &str = "s3cr3t-Value-4242";

fn playbook(dir: &std::path::Path) -> std::path::PathBuf {
    let pb = dir.join("pb.yml");
    std::fs::write(
        &pb,
        format!(
            "- hosts: localhost\n  gather_facts: false\n  vars:\n    db_password: {SECRET}\n  tasks:\n    - copy:\n        dest: \"{{{{ root }}}}/app.conf\"\n        content: \"user=app\\npassword={{{{ db_password }}}}\\n\"\n    - copy:\n        dest: \"{{{{ root }}}}/token\"\n        content: \"{{{{ db_password }}}}-token\\n\"\n      no_log: true\n"
        ),
    )
    .unwrap();
    pb
}

#[test]
fn plan_exit_codes_reports_and_redaction() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.db");
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let pb = playbook(tmp.path());
    let root_var = format!("root={}", root.display());
    let base = [
        pb.to_str().unwrap(),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        &root_var,
    ];

    // Changes pending: exit 2, reports in every format, nothing written to the host.
    let md = tmp.path().join("plan.md");
    let json = tmp.path().join("plan.json");
    let junit = tmp.path().join("plan.xml");
    let html = tmp.path().join("plan.html");
    let mut args = vec!["plan"];
    args.extend(base);
    let outs = [
        md.to_str().unwrap(),
        json.to_str().unwrap(),
        junit.to_str().unwrap(),
        html.to_str().unwrap(),
    ];
    for (f, o) in ["markdown", "json", "junit", "html"].iter().zip(outs) {
        args.extend(["--format", f, "--output", o]);
    }
    let r = run_with_history(&args, tmp.path(), &db);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(!root.join("app.conf").exists(), "plan changed the host");
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(markdown.contains("<details>"), "{markdown}");
    assert!(
        markdown.contains("+user=app"),
        "the diff is in the PR comment: {markdown}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["schema"], "converge.report/v1");
    assert!(std::fs::read_to_string(&junit)
        .unwrap()
        .contains("<testcase"));

    // Apply, then plan again: no change pending, exit 0.
    let r = run_with_history(&base, tmp.path(), &db);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let mut args = vec!["plan"];
    args.extend(base);
    let r = run_with_history(&args, tmp.path(), &db);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);

    // Bad input: exit 1.
    let bad = tmp.path().join("bad.yml");
    std::fs::write(
        &bad,
        "- hosts: localhost\n  tasks:\n    - nonexistent_module: {}\n",
    )
    .unwrap();
    let r = run_with_history(
        &["plan", bad.to_str().unwrap(), "-i", "localhost,"],
        tmp.path(),
        &db,
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);

    // The secret is nowhere: not in any report, not in the output, not in the database.
    for f in [&md, &json, &junit, &html] {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains(SECRET), "secret leaked into {}", f.display());
    }
    assert!(!r.stdout.contains(SECRET) && !r.stderr.contains(SECRET));
    for entry in std::fs::read_dir(tmp.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("history.db")
        {
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "secret in {}",
                p.display()
            );
        }
    }

    // History lists the three recorded runs of this playbook; drift sees the host in sync.
    let r = run_with_history(&["history", "--playbook", "pb.yml"], tmp.path(), &db);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout.lines().filter(|l| l.contains("pb.yml")).count(),
        3,
        "{}",
        r.stdout
    );
    let r = run_with_history(&["drift"], tmp.path(), &db);
    assert!(r.stdout.contains("localhost: in sync"), "{}", r.stdout);

    // A hand edit is drift: found by plan, listed by `converge drift`, corrected by
    // --drift-correct, which records both runs.
    std::fs::write(root.join("app.conf"), "edited\n").unwrap();
    let mut args = vec!["plan"];
    args.extend(base);
    assert_eq!(run_with_history(&args, tmp.path(), &db).code, 2);
    let r = run_with_history(&["drift"], tmp.path(), &db);
    assert!(
        r.stdout.contains("app.conf") || r.stdout.contains("copy"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("in sync"), "{}", r.stdout);
    let mut args = base.to_vec();
    args.push("--drift-correct");
    let r = run_with_history(&args, tmp.path(), &db);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(std::fs::read_to_string(root.join("app.conf"))
        .unwrap()
        .starts_with("user=app"));
    let r = run_with_history(&["drift"], tmp.path(), &db);
    assert!(
        r.stdout.contains("localhost: converged by run"),
        "after the correction: {}",
        r.stdout
    );
    let r = run_with_history(&["history", "--playbook", "pb.yml"], tmp.path(), &db);
    assert_eq!(
        r.stdout.lines().filter(|l| l.contains("pb.yml")).count(),
        6,
        "check + apply recorded: {}",
        r.stdout
    );
}

/// Secrets the run only learns while it runs: a secret-named variable whose value comes from the
/// controller's environment through `vars_files`, and what a `no_log` task read (registered, then
/// shown by `debug` and written into a file with `--diff`). None reaches the terminal, a report
/// or the database; the host still gets the real values.
#[test]
fn secrets_learned_during_the_run_are_masked_everywhere() {
    const TOKEN: &str = "tok-from-env-8d7c6b";
    const KEY: &str = "key-read-by-no-log-5f4e3d";
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.db");
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(tmp.path().join("key.txt"), format!("{KEY}\n")).unwrap();
    std::fs::write(
        tmp.path().join("secrets.yml"),
        "api_token: \"{{ lookup('env', 'CONVERGE_TEST_TOKEN') }}\"\n",
    )
    .unwrap();
    let pb = tmp.path().join("learn.yml");
    std::fs::write(
        &pb,
        "- hosts: localhost\n  gather_facts: false\n  vars_files: [secrets.yml]\n  tasks:\n\
         \x20   - copy:\n        dest: \"{{ root }}/a.conf\"\n        content: \"token={{ api_token }}\\n\"\n\
         \x20   - command: cat key.txt\n      register: key\n      no_log: true\n      changed_when: false\n\
         \x20   - debug: var=key.stdout\n\
         \x20   - debug:\n        msg: \"the key is {{ key.stdout }}\"\n\
         \x20   - copy:\n        dest: \"{{ root }}/b.conf\"\n        content: \"{{ key.stdout }}\\n\"\n",
    )
    .unwrap();
    let root_var = format!("root={}", root.display());
    let (outs, report_args) = every_report(tmp.path(), "run");
    let mut args = vec![
        pb.to_str().unwrap(),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        &root_var,
        "--diff",
        "-v",
    ];
    args.extend(report_args.iter().map(String::as_str));
    let out = Command::new(converge_bin())
        .args(&args)
        .current_dir(tmp.path())
        .env("NO_COLOR", "1")
        .env("CONVERGE_HISTORY", &db)
        .env("CONVERGE_TEST_TOKEN", TOKEN)
        .output()
        .expect("run converge");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        std::fs::read_to_string(root.join("a.conf")).unwrap(),
        format!("token={TOKEN}\n"),
        "the host gets the real value"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("b.conf")).unwrap(),
        format!("{KEY}\n")
    );
    assert!(stdout.contains("the key is ********"), "{stdout}");
    assert!(stdout.contains("+token=********"), "{stdout}");
    let mut places: Vec<(String, Vec<u8>)> = vec![
        ("stdout".into(), out.stdout.clone()),
        ("stderr".into(), out.stderr.clone()),
    ];
    for o in &outs {
        places.push((o.display().to_string(), std::fs::read(o).unwrap()));
    }
    for entry in std::fs::read_dir(tmp.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.to_string_lossy().contains("history.db") {
            places.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    for (what, bytes) in &places {
        for s in [TOKEN, KEY] {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "{s} leaked into {what}"
            );
        }
    }
}
