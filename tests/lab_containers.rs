//! Containers on a real Docker host of the lab (h2; `tests/lab/lab.sh up 3 --docker-room`),
//! with real dockerd and nginx, through `playbooks/identidock.yml` and every Docker module.
//!
//! One test, in order (each step starts from the state the previous one left):
//! 1. deploy identidock: nginx serves the app, which calls dnmonster and redis; the secret from
//!    the controller's environment reaches the container and appears nowhere in converge's output
//!    (every report format is written too);
//! 2. a second run is `changed=0` and every container ID is unchanged;
//! 3. a new version rolls while a bounded request loop (≥ 2,000 requests) runs against nginx:
//!    zero failed requests; the old containers got their pre-stop signals in order, then TERM;
//! 4. a broken image (its /health never passes) leaves the old version serving, the run failed
//!    with the health check's output, the containers and proxy untouched;
//! 5. `-e rollback=true` goes back to the previous image, a second rollback changes nothing;
//! 6. drift made by hand (a container stopped, one removed, one recreated with other env, an
//!    extra container with the service's label, the proxy config edited) is reported in check
//!    mode without touching anything, and corrected by the next run;
//! 7. a docker-compose file converged through `docker_services`;
//! 8. docker_network, docker_volume, docker_image (load, local), docker_container with most
//!    options, through the Engine API and through the CLI fallback: second runs `changed=0`,
//!    live updates in place (same container ID);
//! 9. a private registry (Debian's docker-registry with htpasswd auth): a wrong password is
//!    refused without being shown, `docker_login` stores the credentials, `docker_image` pulls
//!    with them; the password appears in no output;
//! 10. none of the secrets is in any report file or in the run history's database.
//!
//! FAILS (never skips) when `CONVERGE_LAB` is unset.

mod common;
use common::lab::Lab;
use common::Run;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HOST: &str = "h2";
const SECRET: &str = "idk-secret-5e8d1c0a77";

/// One HTTP GET from the controller: (status, X-App-Version, body).
fn get(addr: &str, port: u16, path: &str) -> Result<(u16, String, String), String> {
    let sa = format!("{addr}:{port}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    let mut s =
        TcpStream::connect_timeout(&sa, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP header")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status")?;
    let version = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-app-version:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    Ok((status, version, body.to_string()))
}

/// The IDs of the project's containers by name.
fn containers(lab: &Lab) -> Vec<String> {
    let out = lab.sh(HOST, "docker ps -a --filter label=converge.project=identidock --format '{{.Names}} {{.ID}} {{.State}}' | sort");
    out.lines().map(str::to_string).collect()
}

struct Stack<'a> {
    lab: &'a Lab,
    inventory: String,
}

impl Stack<'_> {
    fn run(&self, extra: &[&str]) -> Run {
        let mut args = vec![
            "playbooks/identidock.yml",
            "-i",
            self.inventory.as_str(),
            "-l",
            HOST,
        ];
        args.extend_from_slice(extra);
        self.lab.converge(&args, &[("IDENTIDOCK_SECRET", SECRET)])
    }

    fn version(&self) -> String {
        let (status, v, _) = get(self.lab.addr(HOST), 80, "/health").expect("nginx answers");
        assert_eq!(status, 200, "health through nginx");
        v
    }
}

/// Requests against nginx from 4 threads until `stop` (bounded: 60 s, 40,000 requests).
fn load(addr: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(usize, Vec<String>)> {
    std::thread::spawn(move || {
        let done = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (addr, stop, done) = (addr.clone(), stop.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut failures = Vec::new();
                    while !stop.load(Ordering::SeqCst)
                        && started.elapsed() < Duration::from_secs(60)
                        && done.load(Ordering::SeqCst) < 40_000
                    {
                        match get(&addr, 80, "/health") {
                            Ok((200, _, _)) => {}
                            Ok((s, _, b)) => failures.push(format!("HTTP {s}: {}", b.trim())),
                            Err(e) => failures.push(e),
                        }
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                    failures
                })
            })
            .collect();
        let failures = workers
            .into_iter()
            .flat_map(|w| w.join().expect("load worker"))
            .collect();
        (done.load(Ordering::SeqCst), failures)
    })
}

#[test]
fn containers_services_and_zero_downtime_updates_on_a_real_host() {
    let lab = Lab::open(true);
    let addr = lab.addr(HOST).to_string();
    let inventory = lab
        .inventory(
            "identidock.ini",
            "docker_hosts",
            &[HOST],
            &[
                "identidock_base=lab/debian:12",
                "identidock_base_import=/var/cache/converge-lab/base-bookworm",
            ],
        )
        .display()
        .to_string();
    let stack = Stack {
        lab: &lab,
        inventory: inventory.clone(),
    };

    // 1. Deploy, with every report written (they are checked for the secrets at the end).
    let (reports, report_args) = common::every_report(lab.home.path(), "deploy");
    let mut deploy = vec!["--diff", "-vvv"];
    deploy.extend(report_args.iter().map(String::as_str));
    let first = stack.run(&deploy).ok();
    assert!(
        !first.text().contains(SECRET),
        "the secret leaked into converge's output"
    );
    assert!(
        first.stdout.contains("env.APP_SECRET: (secret)"),
        "{}",
        first.stdout
    );
    let (status, version, page) = get(&addr, 80, "/?name=alice").expect("nginx answers");
    assert_eq!((status, version.as_str()), (200, "1"), "{page}");
    assert!(page.contains("/monster/alice"), "{page}");
    let (status, _, svg) = get(&addr, 80, "/monster/alice").expect("monster");
    assert!(status == 200 && svg.starts_with("<svg"), "{status} {svg}");
    let env = lab.sh(
        HOST,
        "docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' identidock-web-1",
    );
    assert!(
        env.lines().any(|l| l == format!("APP_SECRET={SECRET}")),
        "the secret reaches the container"
    );
    let conf = lab.sh(HOST, "cat /etc/nginx/conf.d/identidock.conf");
    assert_eq!(
        conf.matches("server 198.19.").count(),
        2,
        "two upstreams:\n{conf}"
    );

    // 2. Nothing to do; the same containers.
    let before = containers(&lab);
    assert_eq!(before.len(), 4, "{before:?}");
    stack.run(&[]).ok().assert_no_change();
    assert_eq!(containers(&lab), before);

    // 3. A new version, under load.
    let old_hostnames: Vec<String> = before
        .iter()
        .filter(|l| l.starts_with("identidock-web-"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_string())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let loader = load(addr.clone(), stop.clone());
    let t0 = Instant::now();
    let roll = stack.run(&["-e", "identidock_version=2", "--diff"]);
    // Keep the load going until at least 2,000 requests have run (bounded by `load`).
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let (requests, failures) = loader.join().expect("load");
    let roll = roll.ok();
    assert!(
        roll.stdout.contains("image: identidock/app:1 ("),
        "{}",
        roll.stdout
    );
    assert!(
        requests >= 2000 || t0.elapsed() > Duration::from_secs(55),
        "only {requests} requests ran during the update"
    );
    assert!(
        requests >= 2000,
        "only {requests} requests: the update was too quick to prove anything"
    );
    assert!(
        failures.is_empty(),
        "{} of {requests} requests failed during the update: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    eprintln!(
        "rolling update: {requests} requests through nginx in {:.1} s, none failed",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(stack.version(), "2");
    let signals = lab.sh(HOST, "cat /var/log/containers/web/signals.log");
    for h in &old_hostnames {
        let mine: Vec<&str> = signals
            .lines()
            .filter(|l| l.contains(h.as_str()))
            .filter_map(|l| l.split_whitespace().nth(2))
            .collect();
        assert_eq!(
            mine,
            ["SIGUSR2", "SIGUSR1", "SIGTERM"],
            "signals of the old container {h}:\n{signals}"
        );
    }
    let after_roll = containers(&lab);
    stack
        .run(&["-e", "identidock_version=2"])
        .ok()
        .assert_no_change();

    // 4. A broken image: the old version keeps serving.
    let conf_before = lab.sh(HOST, "cat /etc/nginx/conf.d/identidock.conf");
    let broken = stack.run(&[
        "-e",
        "identidock_version=3",
        "-e",
        "identidock_healthy=0",
        "-e",
        "identidock_health_timeout=4s",
    ]);
    assert_ne!(
        broken.code,
        0,
        "a rollout that never gets healthy must fail:\n{}",
        broken.text()
    );
    assert!(
        broken.stdout.contains("never became ready")
            && broken.stdout.contains("HTTP 503")
            && broken.stdout.contains("the old containers keep serving"),
        "{}",
        broken.stdout
    );
    assert_eq!(stack.version(), "2");
    assert_eq!(
        containers(&lab),
        after_roll,
        "the failed rollout left containers behind"
    );
    assert_eq!(
        lab.sh(HOST, "cat /etc/nginx/conf.d/identidock.conf"),
        conf_before,
        "the failed rollout touched the proxy"
    );

    // 5. Back to the previous image, in one command; again is a no-op; then forward.
    stack
        .run(&["-e", "identidock_version=2", "-e", "rollback=true"])
        .ok();
    assert_eq!(stack.version(), "1");
    stack
        .run(&["-e", "identidock_version=2", "-e", "rollback=true"])
        .ok()
        .assert_no_change();
    stack.run(&["-e", "identidock_version=2"]).ok();
    assert_eq!(stack.version(), "2");

    // 6. Drift by hand.
    lab.sh(
        HOST,
        "docker stop -t 1 identidock-web-1 >/dev/null && docker rm -f identidock-dnmonster-1 >/dev/null && \
         docker rm -f identidock-redis-1 >/dev/null && \
         docker run -d --name identidock-redis-1 --network identidock --network-alias redis \
           --label converge.project=identidock --label converge.service=redis --label converge.replica=1 \
           -e EXTRA=by-hand identidock/redis:1 >/dev/null && \
         docker run -d --name intruder --label converge.project=identidock --label converge.service=web \
           identidock/redis:1 >/dev/null && \
         echo '# edited by hand' >> /etc/nginx/conf.d/identidock.conf",
    );
    let drifted = containers(&lab);
    let conf_drifted = lab.sh(HOST, "cat /etc/nginx/conf.d/identidock.conf");
    let check = stack
        .run(&["-e", "identidock_version=2", "--check", "--diff"])
        .ok();
    for what in [
        "--- before: container identidock-dnmonster-1 (absent)",
        "-state: exited",
        "+state: running",
        "-env.EXTRA: by-hand",
        "--- before: container intruder (as it is)",
    ] {
        assert!(
            check.stdout.contains(what),
            "check mode reports `{what}`:\n{}",
            check.stdout
        );
    }
    assert_eq!(containers(&lab), drifted, "check mode changed containers");
    assert_eq!(
        lab.sh(HOST, "cat /etc/nginx/conf.d/identidock.conf"),
        conf_drifted,
        "check mode changed the proxy"
    );
    stack.run(&["-e", "identidock_version=2"]).ok();
    let fixed = containers(&lab);
    assert_eq!(fixed.len(), 4, "{fixed:?}");
    assert!(fixed.iter().all(|l| l.ends_with(" running")), "{fixed:?}");
    assert!(!lab
        .sh(HOST, "cat /etc/nginx/conf.d/identidock.conf")
        .contains("edited by hand"));
    assert!(!lab
        .sh(
            HOST,
            "docker inspect -f '{{.Config.Env}}' identidock-redis-1"
        )
        .contains("EXTRA"));
    assert_eq!(stack.version(), "2");
    stack
        .run(&["-e", "identidock_version=2"])
        .ok()
        .assert_no_change();

    // 7. A compose file.
    let compose_inv = lab
        .inventory("compose.ini", "docker_hosts", &[HOST], &[])
        .display()
        .to_string();
    let env = [("COMPOSE_TOKEN", "compose-token-31337")];
    let args = [
        "tests/lab_playbooks/compose.yml",
        "-i",
        compose_inv.as_str(),
        "--diff",
    ];
    let c1 = lab.converge(&args, &env).ok();
    assert!(!c1.text().contains("compose-token-31337"), "{}", c1.text());
    let (status, _, body) =
        get(&addr, 18080, "/health").expect("the compose service answers on its published port");
    assert_eq!(status, 200, "{body}");
    let labels = lab.sh(
        HOST,
        "docker ps --filter label=converge.project=shop --format '{{.Names}}' | sort",
    );
    assert_eq!(labels, "shop-api-1\nshop-api-2\nshop-cache-1");
    lab.converge(&args, &env).ok().assert_no_change();

    // 8. The modules one by one, through the API and through the CLI.
    lab.sh(
        HOST,
        "for api in socket cli; do docker tag identidock/dnmonster:1 lab/dn:saved-$api && \
         docker save -o /tmp/lab-dn-$api.tar lab/dn:saved-$api && docker rmi lab/dn:saved-$api >/dev/null; done",
    );
    for (api, port, subnet) in [
        ("socket", "16380", "198.19.150.0/24"),
        ("cli", "16381", "198.19.151.0/24"),
    ] {
        let mut env = vec![("LAB_TOKEN", "lab-token-4242")];
        if api == "cli" {
            env.push(("CONVERGE_DOCKER_API", "cli"));
        }
        let e = [
            format!("api={api}"),
            format!("port={port}"),
            format!("subnet={subnet}"),
        ];
        let run = |extra: &[&str]| {
            let mut a = vec![
                "tests/lab_playbooks/docker_modules.yml",
                "-i",
                compose_inv.as_str(),
                "-v",
            ];
            for x in &e {
                a.extend(["-e", x.as_str()]);
            }
            a.extend_from_slice(extra);
            lab.converge(&a, &env)
        };
        let r1 = run(&[]).ok();
        let expected = if api == "cli" {
            "docker CLI"
        } else {
            "Docker API on unix:/var/run/docker.sock"
        };
        assert!(r1.stdout.contains(expected), "{api}: {}", r1.stdout);
        assert!(
            !r1.text().contains("lab-token-4242"),
            "{api}: the token leaked"
        );
        run(&[]).ok().assert_no_change();
        let id = lab.sh(
            HOST,
            &format!("docker inspect -f '{{{{.Id}}}}' mods-redis-{api}"),
        );
        let upd = run(&["-e", "restart=always", "-e", "memory=300m", "--diff"]).ok();
        assert!(
            upd.stdout.contains("+restart_policy: always"),
            "{}",
            upd.stdout
        );
        assert_eq!(lab.sh(HOST, &format!("docker inspect -f '{{{{.Id}}}} {{{{.HostConfig.RestartPolicy.Name}}}} {{{{.HostConfig.Memory}}}}' mods-redis-{api}")), format!("{id} always 314572800"), "updated in place");
        assert_eq!(
            lab.sh(
                HOST,
                &format!("docker exec mods-redis-{api} redis-cli -p 6380 ping")
            ),
            "PONG"
        );
    }

    // 9. A private registry.
    lab.sh(
        HOST,
        "command -v docker-registry >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry apache2-utils >/dev/null; \
         mkdir -p /srv/registry && htpasswd -Bbn labuser lab-registry-pw > /srv/registry/htpasswd && \
         printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /srv/registry/data\nhttp:\n  addr: 127.0.0.1:5000\nauth:\n  htpasswd:\n    realm: lab\n    path: /srv/registry/htpasswd\n' > /srv/registry/config.yml && \
         { [ -s /srv/registry/pid ] && kill -0 \"$(cat /srv/registry/pid)\" 2>/dev/null || \
           { setsid docker-registry serve /srv/registry/config.yml > /srv/registry/log 2>&1 < /dev/null & echo $! > /srv/registry/pid; }; } && \
         bash -c 'for i in $(seq 100); do (echo > /dev/tcp/127.0.0.1/5000) 2>/dev/null && exit 0; sleep 0.1; done; cat /srv/registry/log; exit 1' && \
         echo lab-registry-pw | docker login -u labuser --password-stdin 127.0.0.1:5000 >/dev/null && \
         docker tag identidock/dnmonster:1 127.0.0.1:5000/team/dn:1 && docker push 127.0.0.1:5000/team/dn:1 >/dev/null && \
         docker rmi 127.0.0.1:5000/team/dn:1 >/dev/null && docker logout 127.0.0.1:5000 >/dev/null",
    );
    let reg = [
        "tests/lab_playbooks/registry.yml",
        "-i",
        compose_inv.as_str(),
        "--diff",
        "-v",
    ];
    let wrong = lab.converge(&reg, &[("REG_PW", "not-the-password-77")]);
    assert_ne!(
        wrong.code,
        0,
        "a wrong password must be refused:\n{}",
        wrong.text()
    );
    assert!(
        wrong
            .stdout
            .contains("login to 127.0.0.1:5000 as labuser refused"),
        "{}",
        wrong.stdout
    );
    assert!(
        !wrong.text().contains("not-the-password-77"),
        "the wrong password was shown"
    );
    let good = lab.converge(&reg, &[("REG_PW", "lab-registry-pw")]).ok();
    assert!(
        !good.text().contains("lab-registry-pw"),
        "the password was shown:\n{}",
        good.text()
    );
    assert!(
        good.stdout
            .contains("+127.0.0.1:5000: credentials of labuser"),
        "{}",
        good.stdout
    );
    assert!(lab
        .sh(
            HOST,
            "docker image inspect -f '{{.Id}}' 127.0.0.1:5000/team/dn:1"
        )
        .starts_with("sha256:"));
    lab.converge(&reg, &[("REG_PW", "lab-registry-pw")])
        .ok()
        .assert_no_change();

    // 10. No `_env:` secret in any report or anywhere in the run history's files.
    for entry in std::fs::read_dir(lab.home.path()).expect("home") {
        let path = entry.expect("entry").path();
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        for s in [SECRET, "lab-registry-pw", "not-the-password-77"] {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "{s} leaked into {}",
                path.display()
            );
        }
    }
    assert!(
        std::fs::read_to_string(&reports[1])
            .expect("json report")
            .contains("identidock"),
        "the json report was written"
    );
}
