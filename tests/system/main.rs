//! End to end on real Debian hosts: systemd as PID 1, apt reaching the
//! mirror, users and services, each host a systemd-nspawn machine with its
//! own address (see `drover_test_harness::full`).
//!
//! Regression tests for issue 5 ("Real isolated test hosts, and the system
//! modules"). They need root; without it they are skipped, unless
//! `DROVER_REQUIRE_FULL_HOSTS` is set (as `.ci/run` sets it), when they fail.
//! One bed of three hosts serves every step, in order, because each boot
//! and each apt install costs seconds.

#![allow(clippy::print_stderr)]
// A scenario test reads top to bottom as one story; the limit on function
// size is for the product's code and its test harness.
#![allow(clippy::too_many_lines)]

mod containers;
mod facts;
mod feature;
mod image_push;
mod layer;
mod never_strand;
mod quadlet;
mod repositories;
mod roles;
mod strategies;
mod swarm;
mod sysv;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use drover_test_harness::full::{FullBed, Options};
use serde_json::Value as Json;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn drover(bed: &FullBed, inventory: &Path, arguments: &[&str]) -> Output {
    // The subcommand first, then the bed's options, then the rest (which may end in `-- COMMAND`).
    Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(repository())
        .args(&arguments[..1])
        .arg("-i")
        .arg(inventory)
        .arg("--known-hosts")
        .arg(&bed.known_hosts)
        .args(&arguments[1..])
        .env("NO_COLOR", "1")
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("drover runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a playbook with `--output json`; returns its events, asserting it ran.
fn play(bed: &FullBed, playbook: &str, extra: &[&str]) -> Vec<Json> {
    let mut arguments = vec!["play", playbook, "--output", "json"];
    arguments.extend(extra);
    let output = drover(bed, &bed.inventory, &arguments);
    let events: Vec<Json> = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is a JSON event"))
        .collect();
    assert!(
        output.status.success(),
        "{playbook} failed: {}\n{}",
        text(&output.stderr),
        failures(&events)
    );
    events
}

fn failures(events: &[Json]) -> String {
    events
        .iter()
        .filter(|event| event["event"] == "host_result" && event["status"] == "failed")
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `host → (changed, failed)` from the recap.
fn recap(events: &[Json]) -> Vec<(String, u64, u64)> {
    let recap = events
        .iter()
        .find(|event| event["event"] == "recap")
        .expect("a recap");
    recap["hosts"]
        .as_array()
        .expect("recap hosts")
        .iter()
        .map(|host| {
            (
                host["host"].as_str().unwrap_or_default().to_owned(),
                host["changed"].as_u64().unwrap_or(0),
                host["failed"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// The result of `task` on every host, in host order.
fn results<'a>(events: &'a [Json], task: &str) -> Vec<&'a Json> {
    let mut current = "";
    let mut found = Vec::new();
    for event in events {
        if event["event"] == "task_start" {
            current = event["task"].as_str().unwrap_or_default();
        } else if event["event"] == "host_result" && current == task {
            found.push(event);
        }
    }
    found
}

/// A shell command on one host, as the test user; its standard output.
fn on_host(bed: &FullBed, host: &str, command: &str) -> String {
    let output = drover(
        bed,
        &bed.inventory,
        &["run", host, "-b", "--output", "json", "--", command],
    );
    let line = text(&output.stdout);
    let result: Json = serde_json::from_str(line.trim()).expect("one JSON result");
    result["stdout"].as_str().unwrap_or_default().to_owned()
}

/// `drover play PLAYBOOK --output json` on `bed`, with `runtimes` (see
/// [`write_runtimes`]) as a second inventory, from the repository.
fn play_command(bed: &FullBed, runtimes: &Path, playbook: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drover"));
    command
        .current_dir(repository())
        .arg("play")
        .arg(playbook)
        .arg("-i")
        .arg(&bed.inventory)
        .arg("-i")
        .arg(runtimes)
        .arg("--known-hosts")
        .arg(&bed.known_hosts)
        .args(["--output", "json"])
        .env("NO_COLOR", "1")
        .env_remove("SSH_AUTH_SOCK");
    command
}

/// Writes `DIRECTORY/runtimes.yml`, an inventory giving each host its
/// container engine (`app_runtime`); its path.
fn write_runtimes(directory: &Path, runtimes: &[(&str, &str)]) -> PathBuf {
    use std::fmt::Write as _;
    let mut text = String::from("all:\n  hosts:\n");
    for (host, runtime) in runtimes {
        let _ = writeln!(text, "    {host}: {{app_runtime: {runtime}}}");
    }
    let path = directory.join("runtimes.yml");
    std::fs::write(&path, text).expect("the runtimes are written");
    path
}

/// Builds the test app's images into `directory`: v1 and v2 healthy, v3
/// serving its page but not `/healthz`.
fn app_images(directory: &Path) {
    for (version, healthy) in [(1, true), (2, true), (3, false)] {
        drover_test_harness::full::app_image(directory, version, healthy)
            .expect("the app image is built");
    }
}

/// Only one full bed runs at a time (its bridge and addresses are fixed).
static FULL_BED: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The one full bed, started with `options`, with the lock that keeps it
/// the only one; `None` (the test is skipped) where full hosts cannot run.
/// The bed must go before the lock does: bind the bed after the lock.
fn take_bed(options: Options) -> Option<(std::sync::MutexGuard<'static, ()>, FullBed)> {
    let lock = FULL_BED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    start_bed(options).map(|bed| (lock, bed))
}

fn start_bed(options: Options) -> Option<FullBed> {
    if let Some(reason) = FullBed::unsupported_reason() {
        assert!(
            std::env::var_os("DROVER_REQUIRE_FULL_HOSTS").is_none(),
            "full test hosts are required but cannot run: {reason}"
        );
        eprintln!("skipped: {reason}");
        return None;
    }
    Some(FullBed::up(&FullBed::default_directory(), options).expect("the full hosts start"))
}

#[test]
fn issue_5_full_hosts_are_provisioned_and_stay_converged() {
    let _one_bed_at_a_time = FULL_BED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(bed) = start_bed(Options {
        count: 3,
        engines: false,
        release: None,
    }) else {
        return;
    };
    facts_match_what_the_hosts_report(&bed);
    facts::facts_match_ansible_setup(&bed);
    provisioning_changes_then_changes_nothing(&bed);
    check_mode_shows_the_template_diff_and_changes_nothing(&bed);
    a_service_stopped_by_hand_is_started_again(&bed);
    become_works_with_a_sudo_password(&bed);
    ansible_finds_the_same_state(&bed);
    repositories::repositories_match_ansible(&bed);
    system_modules_converge_and_stay_converged(&bed);
    let directory = bed.directory.clone();
    drop(bed);
    down_leaves_nothing_behind(&directory);
}

fn down_leaves_nothing_behind(directory: &Path) {
    assert!(!directory.exists(), "the bed's directory is gone");
    let mounts = std::fs::read_to_string("/proc/mounts").expect("mounts");
    assert!(
        !mounts.contains(&directory.display().to_string()),
        "no overlay stays mounted"
    );
    let namespaces = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip runs");
    assert!(
        !text(&namespaces.stdout).contains("dv-"),
        "no network namespace stays"
    );
    let bridge = Command::new("ip")
        .args(["link", "show", "drover0"])
        .output()
        .expect("ip runs");
    assert!(!bridge.status.success(), "the bridge is gone");
}

fn facts_match_what_the_hosts_report(bed: &FullBed) {
    let events = play(bed, "tests/system/playbooks/facts.yml", &[]);
    for result in results(&events, "setup") {
        let host = result["host"].as_str().unwrap_or_default();
        let facts = &result["result"]["ansible_facts"];
        let release = on_host(
            bed,
            host,
            ". /etc/os-release; echo \"$VERSION_CODENAME $VERSION_ID\"",
        );
        let mut release = release.split_whitespace();
        assert_eq!(facts["distribution"], "Debian", "{host}");
        assert_eq!(facts["os_family"], "Debian");
        assert_eq!(facts["pkg_mgr"], "apt");
        assert_eq!(facts["service_mgr"], "systemd");
        assert_eq!(
            facts["distribution_release"],
            release.next().unwrap_or_default()
        );
        assert_eq!(
            facts["distribution_major_version"],
            release.next().unwrap_or_default()
        );
        let vcpus: u64 = on_host(bed, host, "nproc").trim().parse().expect("nproc");
        assert_eq!(facts["processor_vcpus"], vcpus);
        let address = bed
            .hosts
            .iter()
            .find(|entry| entry.name == host)
            .expect("a bed host")
            .address;
        assert_eq!(facts["default_ipv4"]["address"], address.to_string());
        assert_eq!(facts["default_ipv4"]["interface"], "eth0");
        assert_eq!(
            facts["all_ipv4_addresses"],
            serde_json::json!([address.to_string()])
        );
        assert_eq!(facts["hostname"], on_host(bed, host, "hostname -s").trim());
        assert!(facts["memtotal_mb"].as_u64().unwrap_or(0) > 0);
        assert_eq!(facts["env"]["USER"], "root", "become applies to facts too");
    }
    let minimal = results(&events, "only the minimal subset");
    assert!(minimal.iter().all(|result| {
        result["result"]["ansible_facts"]
            .get("default_ipv4")
            .is_none()
    }));
}

fn provisioning_changes_then_changes_nothing(bed: &FullBed) {
    let first = play(bed, "playbooks/provision.yml", &[]);
    for (host, changed, failed) in recap(&first) {
        assert!(
            changed >= 6,
            "{host}: the first run changes the host ({changed})"
        );
        assert_eq!(failed, 0);
    }
    let reloads = results(&first, "reload nginx");
    assert_eq!(reloads.len(), 3, "the handler runs once per host");
    for host in &bed.hosts {
        let page = on_host(bed, &host.name, "curl -s http://127.0.0.1:8080/");
        assert!(page.contains(&host.name), "{page}");
        assert!(
            on_host(bed, &host.name, "cat ~deploy/.ssh/authorized_keys")
                .contains("deploy@drover-example")
        );
    }
    let second = play(bed, "playbooks/provision.yml", &[]);
    for (host, changed, _) in recap(&second) {
        assert_eq!(changed, 0, "{host}: the second run changes nothing");
    }
    assert!(
        results(&second, "reload nginx").is_empty(),
        "no change notifies no handler"
    );
}

fn check_mode_shows_the_template_diff_and_changes_nothing(bed: &FullBed) {
    let events = play(
        bed,
        "playbooks/provision.yml",
        &["--check", "--diff", "-e", "site_port=8081"],
    );
    let site = results(&events, "the site is configured");
    assert_eq!(site.len(), 3);
    for result in site {
        assert_eq!(result["status"], "changed");
        let diff = result["diff"].as_str().unwrap_or_default();
        assert!(
            diff.contains("-    listen 8080;") && diff.contains("+    listen 8081;"),
            "{diff}"
        );
        assert_eq!(
            diff.matches("\n-").count(),
            1,
            "exactly the one line differs: {diff}"
        );
    }
    for host in &bed.hosts {
        let config = on_host(bed, &host.name, "cat /etc/nginx/sites-enabled/drover.conf");
        assert!(
            config.contains("listen 8080;"),
            "check mode changed nothing: {config}"
        );
    }
}

fn a_service_stopped_by_hand_is_started_again(bed: &FullBed) {
    on_host(bed, "dv-2", "systemctl stop nginx");
    assert_eq!(
        on_host(bed, "dv-2", "systemctl is-active nginx || true").trim(),
        "inactive"
    );
    let events = play(bed, "playbooks/provision.yml", &[]);
    let started: Vec<(String, String)> = results(&events, "nginx is enabled and running")
        .iter()
        .map(|result| {
            (
                result["host"].as_str().unwrap_or_default().to_owned(),
                result["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        started.contains(&("dv-2".to_owned(), "changed".to_owned())),
        "{started:?}"
    );
    assert!(
        started.contains(&("dv-1".to_owned(), "ok".to_owned())),
        "{started:?}"
    );
    assert_eq!(
        on_host(bed, "dv-2", "systemctl is-active nginx").trim(),
        "active"
    );
}

fn become_works_with_a_sudo_password(bed: &FullBed) {
    let inventory = bed.sudo_inventory().expect("the sudo inventory");
    let output = drover(
        bed,
        &inventory,
        &[
            "play",
            "tests/system/playbooks/become.yml",
            "--output",
            "json",
        ],
    );
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(
        !stdout.contains(drover_test_harness::SUDO_PASSWORD),
        "the password is never printed"
    );
    let events: Vec<Json> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    for result in results(&events, "who am I after sudo") {
        assert_eq!(result["result"]["stdout"], "root");
    }
}

/// `.venv/bin/ansible-playbook`, or `None` (the step is skipped) when the
/// oracles are not installed and not required.
fn ansible_playbook() -> Option<PathBuf> {
    let ansible = repository().join(".venv/bin/ansible-playbook");
    if !ansible.exists() {
        assert!(
            std::env::var_os("DROVER_REQUIRE_ORACLES").is_none(),
            "ansible-playbook is required: run scripts/setup-oracles"
        );
        eprintln!("skipped the Ansible comparison: no .venv/bin/ansible-playbook");
        return None;
    }
    Some(ansible)
}

/// `ansible-playbook -i BED`, checking the bed's host keys, with pipelining.
fn ansible_command(ansible: &Path, bed: &FullBed) -> Command {
    let mut command = Command::new(ansible);
    command
        .current_dir(repository())
        .arg("-i")
        .arg(&bed.inventory)
        .env(
            "ANSIBLE_SSH_ARGS",
            format!("-o UserKnownHostsFile={}", bed.known_hosts.display()),
        )
        .env("ANSIBLE_HOST_KEY_CHECKING", "True")
        .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
        .env("ANSIBLE_PIPELINING", "True")
        .env(
            "ANSIBLE_LOCAL_TEMP",
            std::env::temp_dir().join("drover-ansible-local"),
        )
        .env("ANSIBLE_NOCOLOR", "1");
    command
}

fn ansible_finds_the_same_state(bed: &FullBed) {
    let Some(ansible) = ansible_playbook() else {
        return;
    };
    let output = ansible_command(&ansible, bed)
        .arg("playbooks/provision.yml")
        .output()
        .expect("ansible-playbook runs");
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let recap_lines: Vec<&str> = stdout
        .lines()
        .filter(|line| line.contains(" ok="))
        .collect();
    assert_eq!(recap_lines.len(), 3, "{stdout}");
    for line in recap_lines {
        assert!(
            line.contains("changed=0") && line.contains("failed=0"),
            "Ansible found something to change after drover: {line}"
        );
    }
}

fn system_modules_converge_and_stay_converged(bed: &FullBed) {
    let playbook = "tests/system/playbooks/modules.yml";
    // drover needs no Python on the hosts: take it away from one of them.
    on_host(bed, "dv-3", "mv /usr/bin/python3 /usr/bin/python3.hidden");
    let first = play(bed, playbook, &[]);
    for (host, changed, _) in recap(&first) {
        assert!(
            changed >= 12,
            "{host}: the first run changes the host ({changed})"
        );
    }
    let second = play(bed, playbook, &[]);
    for (host, changed, _) in recap(&second) {
        assert_eq!(changed, 0, "{host}: the second run changes nothing");
    }
    let check = play(bed, playbook, &["--check"]);
    for (host, changed, _) in recap(&check) {
        assert_eq!(
            changed, 0,
            "{host}: check mode on a converged host reports nothing"
        );
    }
    let host = "dv-3";
    assert_eq!(on_host(bed, host, "hostname").trim(), "dv-3.drover.test");
    assert_eq!(
        on_host(bed, host, "command -v python3 || echo none").trim(),
        "none"
    );
    assert!(on_host(bed, host, "id alice").contains("(ops)"));
    assert!(
        on_host(bed, host, "crontab -l -u alice")
            .contains("#Ansible: nightly report\n15 2 * * * /usr/local/bin/report")
    );
    assert_eq!(
        on_host(bed, host, "sysctl -n net.core.somaxconn").trim(),
        "1024"
    );
    assert_eq!(
        on_host(bed, host, "cat /srv/drover-modules/app/VERSION").trim(),
        "version 1"
    );
    assert_eq!(
        on_host(bed, host, "stat -c %a /srv/drover-modules/static.txt").trim(),
        "640"
    );
    assert_eq!(
        on_host(
            bed,
            host,
            "git -C /srv/drover-modules/checkout describe --tags"
        )
        .trim(),
        "v1"
    );
    assert_eq!(
        on_host(bed, host, "systemctl is-enabled cron || true").trim(),
        "disabled"
    );
    // A change by hand is put right, and only that.
    on_host(
        bed,
        host,
        "userdel -r alice; rm -f /etc/cron.d/drover-cleanup",
    );
    let repair = play(bed, playbook, &["--limit", host]);
    for task in [
        "a user with groups, a shell and an SSH key",
        "a job in /etc/cron.d",
    ] {
        let outcome = results(&repair, task);
        assert_eq!(
            outcome[0]["status"], "changed",
            "{task} puts the hand-made change right"
        );
    }
    assert_eq!(results(&repair, "the ops group")[0]["status"], "ok");
    assert!(on_host(bed, host, "id mallory 2>&1 || true").contains("no such user"));
    on_host(bed, "dv-3", "mv /usr/bin/python3.hidden /usr/bin/python3");
}
