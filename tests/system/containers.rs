//! The container modules on full hosts running docker (dv-1) and podman
//! (dv-2), inside systemd-nspawn: images loaded from archives built here,
//! containers created, left alone, recreated on a change, and removed, with
//! a release recorded on each host.
//!
//! The first part of issue 6 ("Container rollouts"); rollouts come later.

use drover_test_harness::full::Options;
use serde_json::Value as Json;

use super::{on_host, play, recap, results};

#[test]
fn issue_6_containers_on_docker_and_podman_converge_and_record_releases() {
    let _one_bed_at_a_time = super::FULL_BED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(bed) = super::start_bed(Options {
        count: 2,
        engines: true,
        release: None,
    }) else {
        return;
    };
    let images = tempfile::tempdir().expect("a directory for the images");
    super::app_images(images.path());
    let image_dir = format!("image_dir={}", images.path().display());
    let playbook = "tests/system/playbooks/containers.yml";
    let run = |version: &str, extra: &[&str]| {
        let mut arguments = vec!["-e", &image_dir, "-e"];
        let version = format!("version={version}");
        arguments.push(&version);
        arguments.extend(extra);
        play(&bed, playbook, &arguments)
    };
    let first = run("1", &[]);
    for (host, changed, _) in recap(&first) {
        assert_eq!(
            changed, 2,
            "{host}: the image is loaded and the container created"
        );
    }
    for result in results(&first, "the app answers") {
        assert_eq!(result["result"]["content"], "app v1\n");
    }
    let again = run("1", &[]);
    for (host, changed, _) in recap(&again) {
        assert_eq!(changed, 0, "{host}: the same container is left alone");
    }
    let check = run("2", &["--check", "--diff"]);
    for result in results(&check, "the app runs") {
        assert_eq!(result["status"], "changed");
        let diff = result["diff"].as_str().unwrap_or_default();
        assert!(
            diff.contains("-  \"image\": \"drover/app:1\"")
                && diff.contains("+  \"image\": \"drover/app:2\""),
            "{diff}"
        );
    }
    assert_eq!(
        on_host(&bed, "dv-2", "curl -s http://127.0.0.1:8080/"),
        "app v1\n",
        "check mode changed nothing"
    );
    let upgrade = run("2", &[]);
    for result in results(&upgrade, "the app answers") {
        assert_eq!(result["result"]["content"], "app v2\n");
    }
    for host in ["dv-1", "dv-2"] {
        let release: Json =
            serde_json::from_str(&release_record(&bed, host)).expect("the release record is JSON");
        assert_eq!(release["current"]["image"], "drover/app:2", "{host}");
        assert_eq!(release["previous"]["image"], "drover/app:1", "{host}");
        assert!(
            release["current"]["time"]
                .as_str()
                .unwrap_or_default()
                .ends_with('Z')
        );
        assert_ne!(
            release["current"]["deployed_by"], "unknown",
            "the deployer is named"
        );
    }
    // `rollout status` shows both releases; `undo` brings v1 back, and v2 becomes the previous one.
    let status = rollout(&bed, "status");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let table = String::from_utf8_lossy(&status.stdout).into_owned();
    for host in ["dv-1", "dv-2"] {
        let line = table
            .lines()
            .find(|line| line.starts_with(host))
            .unwrap_or_default();
        assert!(
            line.contains("drover/app:2") && line.ends_with("drover/app:1"),
            "{table}"
        );
    }
    let undo = rollout(&bed, "undo");
    assert!(
        undo.status.success(),
        "{}",
        String::from_utf8_lossy(&undo.stdout)
    );
    for host in ["dv-1", "dv-2"] {
        assert_eq!(
            on_host(&bed, host, "curl -s http://127.0.0.1:8080/"),
            "app v1\n",
            "{host} runs v1 again"
        );
        let release: Json =
            serde_json::from_str(&release_record(&bed, host)).expect("the release record is JSON");
        assert_eq!(release["current"]["image"], "drover/app:1");
        assert_eq!(release["previous"]["image"], "drover/app:2");
    }
    rolling_deploys_are_gated_and_roll_back(&bed, &image_dir);
    compose_projects_converge(&bed, &image_dir);
    docker_resources_match_ansible(&bed);
    // v3 starts but never serves /healthz: the deploy fails, naming the check.
    let broken = super::drover(
        &bed,
        &bed.inventory,
        &[
            "play",
            playbook,
            "--output",
            "json",
            "-e",
            &image_dir,
            "-e",
            "version=3",
            "--limit",
            "dv-1",
        ],
    );
    assert_eq!(
        broken.status.code(),
        Some(2),
        "a failed health gate fails the run"
    );
    let stdout = String::from_utf8_lossy(&broken.stdout);
    assert!(
        stdout
            .contains("health check http http://127.0.0.1:8080/healthz failed 6 time(s) in a row"),
        "{stdout}"
    );
    let removed = run("2", &["-e", "app_state=absent"]);
    for (host, changed, _) in recap(&removed) {
        assert_eq!(changed, 1, "{host}: the container is removed");
    }
    assert_eq!(
        on_host(&bed, "dv-1", "docker ps -aq --filter name=^app$").trim(),
        ""
    );
    assert_eq!(
        on_host(&bed, "dv-2", "podman ps -aq --filter name=^app$").trim(),
        ""
    );
}

/// A compose project comes up on docker-compose and podman-compose, is
/// left alone when up, stops, and goes.
/// `docker_network` and `docker_volume` leave what Ansible's
/// community.docker modules leave: Ansible converges the first engine
/// host, drover the second, twice each (regression test for issue 17).
fn docker_resources_match_ansible(bed: &drover_test_harness::full::FullBed) {
    let Some(ansible) = super::ansible_playbook() else {
        return;
    };
    let playbook = "tests/system/playbooks/docker-resources.yml";
    let (theirs, ours) = (&bed.hosts[0].name, &bed.hosts[1].name);
    for _ in 0..2 {
        let output = super::ansible_command(&ansible, bed)
            .args([playbook, "--limit", theirs])
            .output()
            .expect("ansible-playbook runs");
        assert!(
            output.status.success(),
            "{}{}",
            super::text(&output.stdout),
            super::text(&output.stderr)
        );
    }
    play(bed, playbook, &["--limit", ours]);
    let again = play(bed, playbook, &["--limit", ours]);
    assert!(
        recap(&again).iter().all(|(_, changed, _)| *changed == 0),
        "drover's second run changed something: {:?}",
        recap(&again)
    );
    // A subnet docker picks itself depends on the networks each host had
    // before: only the one given is compared.
    let state = "docker network inspect drover-net --format \
                 '{{.Name}} {{.Driver}} {{.Internal}} {{.Attachable}} {{json .IPAM.Config}} {{json .Labels}}'; \
                 docker network inspect drover-internal --format \
                 '{{.Name}} {{.Driver}} {{.Internal}} {{.Attachable}} {{json .Labels}}'; \
                 docker network ls --format '{{.Name}}' | sort; \
                 docker volume inspect drover-data --format '{{.Name}} {{.Driver}} {{json .Labels}} {{json .Options}}'; \
                 docker volume ls --format '{{.Name}}' | sort";
    let (expected, found) = (on_host(bed, theirs, state), on_host(bed, ours, state));
    assert_eq!(
        found, expected,
        "drover (left) and Ansible (right) left different networks and volumes"
    );
    assert!(found.contains("drover-net bridge false"), "{found}");
}

fn compose_projects_converge(bed: &drover_test_harness::full::FullBed, image_dir: &str) {
    let playbook = "tests/system/playbooks/compose.yml";
    let run = |state: &str| {
        let state = format!("project_state={state}");
        play(bed, playbook, &["-e", image_dir, "-e", &state])
    };
    let up = run("present");
    for result in results(&up, "the project is in the wanted state") {
        assert_eq!(result["status"], "changed", "{result}");
    }
    assert_eq!(
        results(&up, "the project is in the wanted state")[0]["result"]["tool"],
        "docker-compose"
    );
    assert_eq!(
        results(&up, "the project is in the wanted state")[1]["result"]["tool"],
        "podman-compose"
    );
    for host in ["dv-1", "dv-2"] {
        assert_eq!(
            on_host(bed, host, "curl -s http://127.0.0.1:8090/"),
            "app v1\n",
            "{host} serves the project"
        );
    }
    for result in results(&run("present"), "the project is in the wanted state") {
        assert_eq!(
            result["status"], "ok",
            "an up project is left alone: {result}"
        );
    }
    for result in results(&run("stopped"), "the project is in the wanted state") {
        assert_eq!(result["status"], "changed", "{result}");
    }
    assert_eq!(
        on_host(
            bed,
            "dv-1",
            "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8090/ || true"
        ),
        "000"
    );
    for result in results(&run("absent"), "the project is in the wanted state") {
        assert_eq!(result["status"], "changed", "{result}");
        assert_eq!(
            result["result"]["containers"],
            serde_json::json!([]),
            "{result}"
        );
    }
}

/// `drover rollout SUBCOMMAND app` on the bed.
fn rollout(bed: &drover_test_harness::full::FullBed, subcommand: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(["rollout", subcommand, "app", "-i"])
        .arg(&bed.inventory)
        .arg("--known-hosts")
        .arg(&bed.known_hosts)
        .env("NO_COLOR", "1")
        .output()
        .expect("drover runs")
}

/// A rolling rollout v1 → v2 passes its readiness gate on every host; v2 → v3
/// fails it on the first host, which is rolled back to v2, and the other
/// host is never touched.
fn rolling_deploys_are_gated_and_roll_back(
    bed: &drover_test_harness::full::FullBed,
    image_dir: &str,
) {
    let playbook = "tests/system/playbooks/rollout.yml";
    let rollout = |version: &str| {
        super::drover(
            bed,
            &bed.inventory,
            &[
                "play",
                playbook,
                "--output",
                "json",
                "-e",
                image_dir,
                "-e",
                &format!("version={version}"),
            ],
        )
    };
    // A prober polls every host throughout the rolling deploy.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let addresses: Vec<std::net::SocketAddr> = bed
        .hosts
        .iter()
        .map(|host| std::net::SocketAddr::from((host.address, 8080)))
        .collect();
    let prober = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut most_down = 0;
            let mut rounds = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let down = addresses
                    .iter()
                    .filter(|address| super::strategies::fetch(address).is_none())
                    .count();
                most_down = most_down.max(down);
                rounds += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            (most_down, rounds)
        })
    };
    let good = rollout("2");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (most_down, rounds) = prober.join().expect("the prober ends");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    assert!(rounds > 10, "the prober ran throughout ({rounds} rounds)");
    assert!(
        most_down <= 1,
        "batch 1: at most one host was not serving at any moment ({most_down})"
    );
    for host in ["dv-1", "dv-2"] {
        assert_eq!(
            on_host(bed, host, "curl -s http://127.0.0.1:8080/"),
            "app v2\n"
        );
    }
    let before = release_record(bed, "dv-2");
    let bad = rollout("3");
    assert_eq!(
        bad.status.code(),
        Some(2),
        "a failed readiness gate fails the run"
    );
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(
        stdout.contains(
            "readiness check http http://127.0.0.1:8080/healthz failed 5 time(s) in a row on dv-1"
        ),
        "the report names the host and the check: {stdout}"
    );
    assert!(stdout.contains("\"task\":\"ROLLBACK\""), "{stdout}");
    assert_eq!(
        on_host(bed, "dv-1", "curl -s http://127.0.0.1:8080/"),
        "app v2\n",
        "dv-1 is back on v2"
    );
    assert_eq!(
        on_host(bed, "dv-2", "curl -s http://127.0.0.1:8080/"),
        "app v2\n",
        "dv-2 still serves v2"
    );
    assert_eq!(
        release_record(bed, "dv-2"),
        before,
        "dv-2 was never touched"
    );
    assert!(
        !stdout
            .lines()
            .any(|line| line.contains("\"host\":\"dv-2\"") && line.contains("host_result")),
        "no task ran on dv-2"
    );
}

/// The app's release record on `host`, as the file holds it.
fn release_record(bed: &drover_test_harness::full::FullBed, host: &str) -> String {
    on_host(bed, host, "cat /var/lib/drover/releases/app.json")
}
