//! `docker_services state: absent` drains like an update (issue 14): each container of the
//! project gets its service's `pre_stop_sequence` (here USR2, a second, USR1, a second) and
//! only then `docker stop` (TERM), before it is removed. The containers log every signal they
//! get into their `log_folder` on the host, which outlives them.
//!
//! Needs a docker-room lab (`tests/lab/lab.sh up 1 --docker-room`, `CONVERGE_LAB`); FAILS
//! without it. Docker is installed on the first host by `playbooks/docker-host.yml` first.

mod common;
use common::lab::Lab;

const LOG: &str = "/var/log/containers/worker/signals.log";

#[test]
fn state_absent_runs_the_pre_stop_sequence_before_the_stop() {
    let lab = Lab::open(true);
    let host = lab.hosts[0].0.clone();
    let inv = lab.inventory("drain.ini", "docker_hosts", &[host.as_str()], &[]);
    let inv = inv.display().to_string();
    lab.converge(&["playbooks/docker-host.yml", "-i", &inv], &[])
        .ok();

    let pb = "tests/lab_playbooks/services_drain.yml";
    lab.sh(&host, &format!("rm -f {LOG}"));
    lab.converge(&[pb, "-i", &inv], &[]).ok();
    let ps = "docker ps -a --filter label=converge.project=drain --format '{{.ID}} {{.State}}'";
    let running = lab.sh(&host, ps);
    let ids: Vec<&str> = running
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(ids.len(), 2, "two replicas running:\n{running}");
    assert!(
        running.lines().all(|l| l.ends_with(" running")),
        "{running}"
    );
    let hostnames: Vec<String> = ids
        .iter()
        .map(|id| {
            lab.sh(
                &host,
                &format!("docker inspect --format '{{{{.Config.Hostname}}}}' {id}"),
            )
        })
        .collect();

    // Check mode says what would go and touches nothing.
    let check = lab
        .converge(
            &[pb, "-i", &inv, "-e", "drain_state=absent", "--check"],
            &[],
        )
        .ok();
    assert!(check.changed(&host) >= 1, "{}", check.text());
    assert_eq!(lab.sh(&host, ps), running, "check mode removed containers");
    assert_eq!(lab.sh(&host, &format!("cat {LOG} 2>/dev/null || true")), "");

    let t0 = std::time::Instant::now();
    let removed = lab
        .converge(&[pb, "-i", &inv, "-e", "drain_state=absent"], &[])
        .ok();
    assert!(removed.changed(&host) >= 1, "{}", removed.text());
    assert!(
        t0.elapsed() >= std::time::Duration::from_secs(4),
        "two containers, two seconds of pre-stop waits each: {:?}",
        t0.elapsed()
    );
    assert_eq!(lab.sh(&host, ps), "", "containers left after state: absent");
    let signals = lab.sh(&host, &format!("cat {LOG}"));
    for h in &hostnames {
        let mine: Vec<&str> = signals
            .lines()
            .filter(|l| l.starts_with(h.as_str()))
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        assert_eq!(
            mine,
            ["SIGUSR2", "SIGUSR1", "SIGTERM"],
            "signals of container {h}, in order:\n{signals}"
        );
    }

    // Nothing left to remove.
    lab.converge(&[pb, "-i", &inv, "-e", "drain_state=absent"], &[])
        .ok()
        .assert_no_change();
}
