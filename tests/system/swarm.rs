//! Issue 20 ("Docker Swarm from the same playbooks"): three hosts with
//! engines, one manager (dv-1) and two workers, form a swarm; the test app
//! runs as a stack of three replicas published in host mode (these hosts
//! lack the overlay networking the routing mesh needs); a rolling update is
//! watched by a prober on every node; a broken release fails drover's
//! readiness gate and is rolled back; a service whose health check fails is
//! rolled back by Swarm itself; a drained node's replicas move; and the
//! nodes leave.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use drover_test_harness::full::{FullBed, Options};
use serde_json::Value as Json;

use super::{drover, recap, text};

/// What the app answers on `address:port` (`None` when it does not).
fn answer(address: Ipv4Addr, port: u16) -> Option<String> {
    let timeout = Duration::from_millis(500);
    let mut stream =
        TcpStream::connect_timeout(&SocketAddr::from((address, port)), timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    (head.split_whitespace().nth(1) == Some("200")).then(|| body.trim().to_owned())
}

/// Polls every node's port until stopped; returns the most nodes it found
/// down in one round, and how many rounds it made.
struct Prober {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(usize, usize)>,
}

impl Prober {
    fn start(addresses: Vec<Ipv4Addr>, port: u16) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut most_down, mut rounds) = (0, 0);
            while !stopping.load(Ordering::Relaxed) {
                let down = addresses
                    .iter()
                    .filter(|address| answer(**address, port).is_none())
                    .count();
                most_down = most_down.max(down);
                rounds += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            (most_down, rounds)
        });
        Self { stop, thread }
    }

    fn finish(self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the prober ends")
    }
}

/// The bed's inventory with the swarm's groups.
fn swarm_inventory(bed: &FullBed, directory: &Path) -> PathBuf {
    let mut inventory = std::fs::read_to_string(&bed.inventory).expect("the bed's inventory");
    inventory.push_str("\n[managers]\ndv-1\n[workers]\ndv-2\ndv-3\n");
    let path = directory.join("swarm.ini");
    std::fs::write(&path, inventory).expect("the inventory is written");
    path
}

/// `drover play PLAYBOOK --output json -e ...` on the swarm.
fn swarm_play(
    bed: &FullBed,
    inventory: &Path,
    playbook: &str,
    extra: &[&str],
) -> (Output, Vec<Json>) {
    let mut arguments = vec!["play", playbook, "--output", "json"];
    for variable in extra {
        // `--check` and the like go as they are; the rest are variables.
        if !variable.starts_with("--") {
            arguments.push("-e");
        }
        arguments.push(variable);
    }
    let output = drover(bed, inventory, &arguments);
    let events = text(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    (output, events)
}

fn succeeded(playbook: &str, (output, events): (Output, Vec<Json>)) -> Vec<Json> {
    assert!(
        output.status.success(),
        "{playbook} failed: {}\n{}",
        text(&output.stderr),
        super::failures(&events)
    );
    events
}

/// `drover rollout ACTION app_web` on the swarm.
fn rollout(bed: &FullBed, inventory: &Path, action: &str) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(["rollout", action, "app_web", "-i"])
        .arg(inventory)
        .arg("--known-hosts")
        .arg(&bed.known_hosts)
        .env("DROVER_RECORD", "no")
        .output()
        .expect("drover runs")
}

fn changed(events: &[Json]) -> u64 {
    recap(events).iter().map(|(_, changed, _)| changed).sum()
}

fn answers(bed: &FullBed, port: u16) -> Vec<Option<String>> {
    bed.hosts
        .iter()
        .map(|host| answer(host.address, port))
        .collect()
}

#[test]
fn issue_20_swarm_forms_rolls_out_rolls_back_drains_and_leaves() {
    let Some((_lock, bed)) = super::take_bed(Options {
        count: 3,
        engines: true,
        release: None,
    }) else {
        return;
    };
    let work = tempfile::tempdir().expect("a directory");
    super::app_images(work.path());
    let inventory = swarm_inventory(&bed, work.path());
    let image_dir = format!("image_dir={}", work.path().display());
    let run = |playbook: &str, extra: &[&str]| swarm_play(&bed, &inventory, playbook, extra);
    let play = |playbook: &str, extra: &[&str]| succeeded(playbook, run(playbook, extra));

    // The swarm forms; a second run changes nothing.
    let swarm = "tests/system/playbooks/swarm.yml";
    let formed = play(swarm, &[&image_dir]);
    assert!(
        changed(&formed) >= 3,
        "the swarm forms and the workers join"
    );
    assert_eq!(
        changed(&play(swarm, &[&image_dir])),
        0,
        "the swarm is left alone"
    );
    // (Ad-hoc commands are templates: docker's own `{{ }}` formats are left out.)
    let nodes = super::on_host(&bed, "dv-1", "docker node ls");
    assert_eq!(
        nodes
            .lines()
            .filter(|line| line.contains(" Ready "))
            .count(),
        3,
        "{nodes}"
    );

    // The stack's three replicas serve on every node; the same stack again changes nothing.
    let stack = "tests/system/playbooks/swarm-stack.yml";
    let first = play(stack, &["version=1"]);
    let replicas = super::results(&first, "the stack runs");
    assert_eq!(replicas[0]["result"]["replicas"]["app_web"], "3/3");
    assert_eq!(answers(&bed, 8080), vec![Some("app v1".to_owned()); 3]);
    assert_eq!(
        changed(&play(stack, &["version=1"])),
        0,
        "the same stack changes nothing"
    );
    // Check mode says v2 would change the stack, and changes nothing.
    let check = play(stack, &["version=2", "--check"]);
    assert_eq!(changed(&check), 1, "check mode sees the new image");
    assert_eq!(answers(&bed, 8080), vec![Some("app v1".to_owned()); 3]);

    // A rolling update, one replica at a time: a prober on every node never finds two down.
    let addresses: Vec<Ipv4Addr> = bed.hosts.iter().map(|host| host.address).collect();
    let prober = Prober::start(addresses.clone(), 8080);
    let updated = play(stack, &["version=2"]);
    let (most_down, rounds) = prober.finish();
    assert_eq!(changed(&updated), 1);
    assert!(rounds > 10, "the prober ran throughout ({rounds} rounds)");
    assert!(
        most_down <= 1,
        "at most one replica (the batch) was down at once, not {most_down}"
    );
    assert_eq!(answers(&bed, 8080), vec![Some("app v2".to_owned()); 3]);

    // v3 serves / but not /healthz: drover's readiness gate fails on the
    // first new replica, and the service is rolled back to v2.
    let (output, events) = run(stack, &["version=3"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let failure = super::failures(&events);
    assert!(
        failure.contains("readiness failed on replica app_web.")
            && failure.contains(":8080/healthz")
            && failure.contains("rolled back to drover/app:2"),
        "the failure names the replica, the check and the rollback: {failure}"
    );
    assert_eq!(
        answers(&bed, 8080),
        vec![Some("app v2".to_owned()); 3],
        "every node serves v2"
    );
    assert_eq!(
        changed(&play(stack, &["version=2"])),
        0,
        "after the rollback, v2 is what runs"
    );

    // `rollout status` shows the service's releases, on its manager only.
    let status = rollout(&bed, &inventory, "status");
    let table = text(&status.stdout);
    assert!(status.status.success(), "{}", text(&status.stderr));
    let row = table
        .lines()
        .find(|line| line.starts_with("dv-1"))
        .unwrap_or_default();
    assert!(
        row.contains("drover/app:2 (swarm)") && row.ends_with("drover/app:1 (swarm)"),
        "{table}"
    );
    assert!(
        !table.lines().any(|line| line.starts_with("dv-2")),
        "a worker has no release of its own: {table}"
    );
    assert!(
        table.contains("readiness failed on replica"),
        "the failed attempt is shown: {table}"
    );

    // `rollout undo` brings the previous image back on every node.
    let undo = rollout(&bed, &inventory, "undo");
    assert!(
        undo.status.success(),
        "{}{}",
        text(&undo.stdout),
        text(&undo.stderr)
    );
    assert_eq!(
        answers(&bed, 8080),
        vec![Some("app v1".to_owned()); 3],
        "undo brings v1 back"
    );
    play(stack, &["version=2"]);

    // A single service whose own health check fails in v3: Swarm rolls it back.
    let service = "tests/system/playbooks/swarm-service.yml";
    assert_eq!(changed(&play(service, &["version=2"])), 1);
    assert_eq!(
        changed(&play(service, &["version=2"])),
        0,
        "the same service changes nothing"
    );
    let (output, events) = run(service, &["version=3"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let failure = super::failures(&events);
    assert!(
        failure.contains("Swarm rolled back the update of solo to drover/app:2")
            && (failure.contains("update rolled back due to")
                || failure.contains("a replaced task failed")),
        "the failure names the service and Swarm's reason: {failure}"
    );
    let serving: Vec<Option<String>> = answers(&bed, 8081)
        .into_iter()
        .flatten()
        .map(Some)
        .collect();
    assert_eq!(
        serving,
        vec![Some("app v2".to_owned()); 2],
        "both replicas serve v2"
    );

    // A canary rollout of the same service: one replica at a time, each gated.
    let prober = Prober::start(addresses.clone(), 8081);
    let canary = play("tests/system/playbooks/swarm-canary.yml", &["version=1"]);
    let (most_down, _) = prober.finish();
    assert_eq!(changed(&canary), 1);
    let serving: Vec<String> = answers(&bed, 8081).into_iter().flatten().collect();
    assert_eq!(serving, ["app v1", "app v1"], "both replicas serve v1");
    assert!(
        most_down <= 2,
        "one of the two replicas (and the free node) at most: {most_down}"
    );
    let settings = super::on_host(
        &bed,
        "dv-1",
        "docker service inspect solo | grep -o '\"Parallelism\": [0-9]*' | head -1",
    );
    assert!(
        settings.trim().ends_with(": 1"),
        "the canary goes one replica at a time: {settings}"
    );

    // Two replicas leave a node free: draining a worker that runs one moves it there.
    play(stack, &["version=2", "replicas=2"]);
    let running_on =
        "docker service ps app_web --filter desired-state=running | awk 'NR > 1 {print $4}'";
    let placed = super::on_host(&bed, "dv-1", running_on);
    let drained = ["dv-2", "dv-3"]
        .into_iter()
        .find(|node| placed.lines().any(|line| line == *node))
        .unwrap_or_else(|| panic!("a worker runs a replica: {placed}"));
    let node = format!("node={drained}");
    let prober = Prober::start(addresses, 8080);
    let drain = play(
        "tests/system/playbooks/swarm-node.yml",
        &[&node, "availability=drain"],
    );
    let (most_down, _) = prober.finish();
    assert!(most_down < 3, "some node served throughout the drain");
    let moved = &super::results(&drain, "the node's availability is set")[0]["result"]["replicas"];
    assert_eq!(moved["app_web"], "2/2", "{moved}");
    let now = super::on_host(&bed, "dv-1", running_on);
    assert!(
        !now.lines().any(|line| line == drained),
        "{drained} runs nothing: {now}"
    );
    assert_eq!(
        answers(&bed, 8080).iter().flatten().count(),
        2,
        "two replicas serve"
    );
    play(
        "tests/system/playbooks/swarm-node.yml",
        &[&node, "availability=active"],
    );

    // The nodes leave; leaving again changes nothing.
    let leave = "tests/system/playbooks/swarm-leave.yml";
    assert!(changed(&play(leave, &[])) >= 3);
    assert_eq!(changed(&play(leave, &[])), 0);
    for host in ["dv-1", "dv-2", "dv-3"] {
        let state = super::on_host(
            &bed,
            host,
            "docker info 2>/dev/null | grep 'Swarm:'; docker ps -q | wc -l",
        );
        assert_eq!(
            state.split_whitespace().collect::<Vec<_>>(),
            ["Swarm:", "inactive", "0"],
            "{host}"
        );
    }
}
