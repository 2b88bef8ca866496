//! The rollout strategies on four full hosts, two running the app on docker
//! (dv-1, dv-3) and two on podman (dv-2, dv-4), driven by the example
//! playbooks in `playbooks/`: a canary promoted step by step and one that
//! fails its first step, a big-bang deploy rolled back everywhere, and a
//! blue-green deploy behind nginx that never sends traffic to a broken
//! release, switches without a failed request, and is undone at once.
//!
//! Regression tests for issue 6 ("Container rollouts and deployment
//! strategies").

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use drover_test_harness::full::{FullBed, Options};
use serde_json::Value as Json;

use super::{on_host, recap, repository, text};

/// The bed, the per-host runtimes and the images, for every run.
struct Fleet {
    bed: FullBed,
    runtimes: PathBuf,
    image_dir: String,
    run_directory: PathBuf,
    _scratch: tempfile::TempDir,
}

impl Fleet {
    fn command(&self, arguments: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_drover"));
        command
            .current_dir(repository())
            .args(&arguments[..arguments.len().min(2)])
            .arg("-i")
            .arg(&self.bed.inventory)
            .arg("-i")
            .arg(&self.runtimes)
            .arg("--known-hosts")
            .arg(&self.bed.known_hosts)
            .args(arguments.iter().skip(2))
            .env("NO_COLOR", "1")
            .env("DROVER_RUN_DIR", &self.run_directory)
            .env_remove("SSH_AUTH_SOCK");
        command
    }

    /// `drover play PLAYBOOK --output json -e version=V -e image_dir=...`.
    fn play_command(&self, playbook: &str, version: &str) -> Command {
        let mut command = self.command(&["play", playbook]);
        command.args([
            "--output",
            "json",
            "-e",
            &format!("version={version}"),
            "-e",
            &self.image_dir,
        ]);
        command
    }

    fn play(&self, playbook: &str, version: &str) -> (Output, Vec<Json>) {
        let output = self
            .play_command(playbook, version)
            .output()
            .expect("drover runs");
        let events = events(&output);
        (output, events)
    }

    /// The body `GET /` answers on `host`'s `port`, if it answers 200.
    fn fetch(&self, host: &str, port: u16) -> Option<String> {
        let address = self
            .bed
            .hosts
            .iter()
            .find(|candidate| candidate.name == host)
            .map(|host| SocketAddr::from((host.address, port)))?;
        fetch(&address)
    }

    fn serving(&self, port: u16) -> Vec<Option<String>> {
        HOSTS.iter().map(|host| self.fetch(host, port)).collect()
    }

    /// What `port` serves once it settles: nginx applies a reload a moment
    /// after `systemctl reload` returns, so the new state is awaited (for up
    /// to ten seconds) rather than expected at once.
    fn settled(&self, port: u16, expected: &[Option<String>]) -> Vec<Option<String>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let serving = self.serving(port);
            if serving == expected || Instant::now() > deadline {
                return serving;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (up to two minutes) for the run to pause; its pause file.
    fn wait_for_pause(&self, child: &mut Child) -> Json {
        let deadline = Instant::now() + Duration::from_mins(2);
        while Instant::now() < deadline {
            if let Ok(text) = std::fs::read_to_string(self.run_directory.join("app.pause"))
                && let Ok(pause) = serde_json::from_str(&text)
            {
                return pause;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the rollout ended ({status}) instead of pausing");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        panic!("the rollout never paused");
    }

    /// Waits for the paused run to take its decision (its pause file goes).
    fn wait_for_resume(&self) {
        let pause = self.run_directory.join("app.pause");
        let deadline = Instant::now() + Duration::from_secs(30);
        while pause.exists() {
            assert!(Instant::now() < deadline, "the rollout never went on");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `drover rollout promote|abort app`.
    fn decide(&self, decision: &str) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(["rollout", decision, "app"])
            .env("DROVER_RUN_DIR", &self.run_directory)
            .output()
            .expect("drover runs");
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    }
}

const HOSTS: [&str; 4] = ["dv-1", "dv-2", "dv-3", "dv-4"];

fn events(output: &Output) -> Vec<Json> {
    text(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// The body of `GET /` at `address` when it answers 200.
pub(crate) fn fetch(address: &SocketAddr) -> Option<String> {
    let timeout = Duration::from_millis(500);
    let mut stream = std::net::TcpStream::connect_timeout(address, timeout).ok()?;
    let _ = stream.set_read_timeout(Some(timeout));
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let ok = response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200");
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    ok.then_some(body)
}

#[test]
fn issue_6_canary_big_bang_and_blue_green_on_docker_and_podman() {
    let _one_bed_at_a_time = super::FULL_BED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(bed) = super::start_bed(Options {
        count: 4,
        engines: true,
        release: None,
    }) else {
        return;
    };
    let scratch = tempfile::tempdir().expect("a scratch directory");
    super::app_images(scratch.path());
    let runtimes = scratch.path().join("runtimes.yml");
    std::fs::write(
        &runtimes,
        "all:\n  hosts:\n    dv-1: {app_runtime: docker}\n    dv-2: {app_runtime: podman}\n    \
         dv-3: {app_runtime: docker}\n    dv-4: {app_runtime: podman}\n  children:\n    \
         lb: {hosts: {dv-1: {}}}\n    web_blue: {hosts: {dv-2: {}}}\n    web_green: {hosts: {dv-3: {}, dv-4: {}}}\n",
    )
    .expect("the runtimes are written");
    let fleet = Fleet {
        image_dir: format!("image_dir={}", scratch.path().display()),
        run_directory: scratch.path().join("run"),
        runtimes,
        bed,
        _scratch: scratch,
    };
    canary_waits_for_promotion_at_each_step(&fleet);
    canary_that_fails_its_first_step_touches_no_other_host(&fleet);
    big_bang_that_fails_rolls_every_host_back(&fleet);
    blue_green_switches_only_to_a_ready_slot_and_undoes_at_once(&fleet);
    blue_green_across_groups_switches_the_load_balancer(&fleet);
}

/// v2 goes to one host, waits, to half, waits, then to all; run again, it
/// changes nothing and does not wait.
fn canary_waits_for_promotion_at_each_step(fleet: &Fleet) {
    let playbook = "playbooks/rollout-canary.yml";
    let mut child = fleet
        .play_command(playbook, "2")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("drover starts");
    for (step, serving) in [(1, 1), (2, 2)] {
        let pause = fleet.wait_for_pause(&mut child);
        let expected: Vec<Option<String>> = HOSTS
            .iter()
            .enumerate()
            .map(|(index, _)| (index < serving).then(|| "app v2\n".to_owned()))
            .collect();
        assert_eq!(
            fleet.serving(8080),
            expected,
            "step {step}: only the first {serving} host(s) run v2"
        );
        assert_eq!(
            pause["step"]["done"].as_array().map(Vec::len),
            Some(serving)
        );
        let answer = fleet.decide("promote");
        assert!(answer.starts_with("app: promoted"), "{answer}");
        fleet.wait_for_resume();
    }
    let output = child.wait_with_output().expect("the rollout ends");
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert_eq!(fleet.serving(8080), vec![Some("app v2\n".to_owned()); 4]);

    let (again, events) = fleet.play(playbook, "2");
    assert!(again.status.success(), "{}", text(&again.stdout));
    for (host, changed, _) in recap(&events) {
        assert_eq!(changed, 0, "{host}: the same rollout changes nothing");
    }
}

/// v3 fails readiness on the canary: it is rolled back to v2, the run fails
/// naming the host and the check, and no other host is touched.
fn canary_that_fails_its_first_step_touches_no_other_host(fleet: &Fleet) {
    let records: Vec<String> = HOSTS[1..]
        .iter()
        .map(|host| on_host(&fleet.bed, host, "cat /var/lib/drover/releases/app.json"))
        .collect();
    let (output, events) = fleet.play("playbooks/rollout-canary.yml", "3");
    assert_eq!(
        output.status.code(),
        Some(2),
        "a failed canary fails the run"
    );
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(
            "readiness check http http://127.0.0.1:8080/healthz failed 6 time(s) in a row on dv-1"
        ),
        "the report names the host and the check: {stdout}"
    );
    assert!(
        events.iter().any(|event| event["task"] == "ROLLBACK"),
        "{stdout}"
    );
    rollout_steps_reach_the_report();
    assert_eq!(fleet.serving(8080), vec![Some("app v2\n".to_owned()); 4]);
    for (host, before) in HOSTS[1..].iter().zip(records) {
        assert_eq!(
            on_host(&fleet.bed, host, "cat /var/lib/drover/releases/app.json"),
            before,
            "{host} was never touched"
        );
        assert!(
            !events
                .iter()
                .any(|event| event["event"] == "host_result" && event["host"] == *host),
            "no task ran on {host}"
        );
    }
}

/// v3 everywhere at once fails the one readiness check; every host goes
/// back to v2, docker and podman alike.
fn big_bang_that_fails_rolls_every_host_back(fleet: &Fleet) {
    let (output, events) = fleet.play("playbooks/rollout-big-bang.yml", "3");
    assert_eq!(output.status.code(), Some(2));
    let rolled_back: Vec<&str> = rollback_results(&events);
    assert_eq!(rolled_back, HOSTS, "every host is rolled back");
    assert_eq!(fleet.serving(8080), vec![Some("app v2\n".to_owned()); 4]);
    assert_eq!(
        on_host(
            &fleet.bed,
            "dv-2",
            "podman inspect -f '{{.Config.Image}}' app"
        )
        .trim(),
        "localhost/drover/app:2"
    );
    assert_eq!(
        on_host(
            &fleet.bed,
            "dv-1",
            "docker inspect -f '{{.Config.Image}}' app"
        )
        .trim(),
        "drover/app:2"
    );
}

fn rollback_results(events: &[Json]) -> Vec<&str> {
    let mut in_rollback = false;
    let mut hosts = Vec::new();
    for event in events {
        if event["event"] == "task_start" {
            in_rollback = event["task"] == "ROLLBACK";
        } else if in_rollback && event["event"] == "host_result" {
            hosts.push(event["host"].as_str().unwrap_or_default());
        }
    }
    hosts.sort_unstable();
    hosts
}

/// Polls nginx (port 80) on every host while `run` runs; the bodies seen
/// and how many requests failed.
fn probing_nginx<T>(fleet: &Fleet, run: impl FnOnce() -> T) -> (T, Vec<String>, usize) {
    let addresses = fleet
        .bed
        .hosts
        .iter()
        .map(|host| SocketAddr::from((host.address, 80)))
        .collect();
    probing(addresses, run)
}

/// Polls every one of `addresses` while `run` runs; the bodies seen and
/// how many requests failed.
fn probing<T>(addresses: Vec<SocketAddr>, run: impl FnOnce() -> T) -> (T, Vec<String>, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut failed = 0;
            while !stop.load(Ordering::Relaxed) {
                for address in &addresses {
                    match fetch(address) {
                        Some(body) if !seen.contains(&body) => seen.push(body),
                        Some(_) => {}
                        None => failed += 1,
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            (seen, failed)
        })
    };
    let result = run();
    stop.store(true, Ordering::Relaxed);
    let (seen, failed) = prober.join().expect("the prober ends");
    (result, seen, failed)
}

fn blue_green_switches_only_to_a_ready_slot_and_undoes_at_once(fleet: &Fleet) {
    let playbook = "playbooks/rollout-blue-green.yml";
    let (first, events) = fleet.play(playbook, "2");
    assert!(first.status.success(), "{}", text(&first.stdout));
    let v2 = vec![Some("app v2\n".to_owned()); 4];
    assert_eq!(fleet.settled(80, &v2), v2);
    for result in super::results(&events, "SLOTS [app]") {
        assert_eq!(
            result["result"]["msg"], "no slot is live yet; deploying to blue",
            "the first release goes to blue"
        );
    }

    // v3 is never ready: traffic never leaves blue (v2), and green goes.
    let ((broken, _), seen, failed) = probing_nginx(fleet, || fleet.play(playbook, "3"));
    assert_eq!(broken.status.code(), Some(2), "{}", text(&broken.stdout));
    assert_eq!(seen, vec!["app v2\n".to_owned()], "only v2 was ever served");
    assert_eq!(failed, 0, "no request failed");
    assert_eq!(
        on_host(
            &fleet.bed,
            "dv-1",
            "docker ps -aq --filter name=^app-green$"
        )
        .trim(),
        "",
        "the broken release is gone from the idle slot"
    );

    // v1 is ready: every host switches to green with no failed request.
    let ((switched, _), seen, failed) = probing_nginx(fleet, || fleet.play(playbook, "1"));
    assert!(switched.status.success(), "{}", text(&switched.stdout));
    assert_eq!(failed, 0, "no request failed during the switch");
    assert!(seen.contains(&"app v1\n".to_owned()), "{seen:?}");
    let v1 = vec![Some("app v1\n".to_owned()); 4];
    assert_eq!(fleet.settled(80, &v1), v1);
    assert_eq!(
        fleet.serving(8081),
        vec![Some("app v2\n".to_owned()); 4],
        "the old slot keeps running"
    );

    // Undo switches back to blue at once (nothing is redeployed).
    let (undo, _, failed) = probing_nginx(fleet, || {
        fleet
            .command(&["rollout", "undo", "app"])
            .args(["--playbook", playbook, "-e", &fleet.image_dir])
            .output()
            .expect("drover runs")
    });
    assert!(undo.status.success(), "{}", text(&undo.stdout));
    assert_eq!(failed, 0, "no request failed during the undo");
    let v2 = vec![Some("app v2\n".to_owned()); 4];
    assert_eq!(fleet.settled(80, &v2), v2);
    let status = fleet
        .command(&["rollout", "status", "app"])
        .output()
        .expect("drover runs");
    let table = text(&status.stdout);
    assert!(
        table
            .lines()
            .filter(|line| line.contains("drover/app:2 (blue)")
                && line.contains("drover/app:1 (green)"))
            .count()
            == 4,
        "{table}"
    );

    // Blue runs v2 already: the same rollout changes nothing.
    let (again, events) = fleet.play(playbook, "2");
    assert!(again.status.success(), "{}", text(&again.stdout));
    for (host, changed, _) in recap(&events) {
        assert_eq!(changed, 0, "{host}: an up-to-date live slot is left alone");
    }
}

/// `playbooks/rollout-blue-green-groups.yml`: nginx on dv-1 (port 81 here)
/// in front of `web_blue` (dv-2) and `web_green` (dv-3, dv-4).
fn blue_green_across_groups_switches_the_load_balancer(fleet: &Fleet) {
    let playbook = "playbooks/rollout-blue-green-groups.yml";
    let run = |version: &str| {
        let output = fleet
            .play_command(playbook, version)
            .args(["-e", "lb_port=81"])
            .output()
            .expect("drover runs");
        let events = events(&output);
        (output, events)
    };
    let balancer = SocketAddr::from((fleet.bed.hosts[0].address, 81));
    let settled = |expected: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let body = fetch(&balancer);
            if body.as_deref() == Some(expected) || Instant::now() > deadline {
                return body;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let (first, _) = run("1");
    assert!(
        first.status.success(),
        "{}{}",
        text(&first.stdout),
        text(&first.stderr)
    );
    assert_eq!(
        settled("app v1\n").as_deref(),
        Some("app v1\n"),
        "blue serves v1"
    );
    assert_eq!(fleet.fetch("dv-3", 8090), None, "green is not deployed yet");

    let ((second, _), seen, failed) = probing(vec![balancer], || run("2"));
    assert!(second.status.success(), "{}", text(&second.stdout));
    assert_eq!(failed, 0, "no request failed during the switch");
    assert!(
        seen.iter()
            .all(|body| body == "app v1\n" || body == "app v2\n"),
        "{seen:?}"
    );
    assert_eq!(
        settled("app v2\n").as_deref(),
        Some("app v2\n"),
        "green serves v2"
    );
    assert_eq!(
        fleet.fetch("dv-2", 8090).as_deref(),
        Some("app v1\n"),
        "blue keeps running"
    );
    assert_eq!(fleet.fetch("dv-4", 8090).as_deref(), Some("app v2\n"));

    // v3 is never ready on blue: the balancer stays on green, blue goes back to v1.
    let ((broken, _), seen, failed) = probing(vec![balancer], || run("3"));
    assert_eq!(broken.status.code(), Some(2), "{}", text(&broken.stdout));
    assert_eq!((seen, failed), (vec!["app v2\n".to_owned()], 0));
    let deadline = Instant::now() + Duration::from_secs(10);
    while fleet.fetch("dv-2", 8090).is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        fleet.fetch("dv-2", 8090).as_deref(),
        Some("app v1\n"),
        "blue rolled back: {}",
        text(&broken.stdout)
    );

    let undo = fleet
        .command(&["rollout", "undo", "shop"])
        .args([
            "--playbook",
            playbook,
            "-e",
            &fleet.image_dir,
            "-e",
            "lb_port=81",
        ])
        .output()
        .expect("drover runs");
    assert!(
        undo.status.success(),
        "{}{}",
        text(&undo.stdout),
        text(&undo.stderr)
    );
    assert_eq!(
        settled("app v1\n").as_deref(),
        Some("app v1\n"),
        "back on blue at once"
    );

    let (again, events) = run("1");
    assert!(again.status.success(), "{}", text(&again.stdout));
    for (host, changed, _) in recap(&events) {
        assert_eq!(changed, 0, "{host}: the live group already runs v1");
    }
}

/// Issue 19: the canary's record (the newest beside its playbook) makes a
/// report whose rollout section lists the readiness gate and the rollback.
fn rollout_steps_reach_the_report() {
    let runs = repository().join("playbooks/.drover/runs");
    let mut records: Vec<std::path::PathBuf> = std::fs::read_dir(&runs)
        .expect("the run was recorded")
        .map(|entry| entry.expect("an entry").path())
        .collect();
    records.sort();
    let record = records.pop().expect("a record");
    let scratch = tempfile::tempdir().expect("a directory");
    let page = scratch.path().join("report.html");
    let output = Command::new(env!("CARGO_BIN_EXE_drover"))
        .arg("report")
        .arg("-o")
        .arg(&page)
        .arg(&record)
        .output()
        .expect("drover runs");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let html = std::fs::read_to_string(&page).expect("a report");
    for step in ["READINESS", "ROLLBACK"] {
        assert!(
            html.contains(&format!(r#""name":"{step}"#)),
            "the report lists no {step} step"
        );
    }
    assert!(
        html.contains(r#""step":true"#),
        "no rollout step in the report"
    );
}
