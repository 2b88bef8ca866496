//! `drover run` end to end, against real sshd hosts started by the harness.
//!
//! Regression tests for issue 3 ("The SSH executor and `drover run`").

mod support;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use drover_test_harness::{TestBed, is_root};
use support::text;

fn drover(arguments: &[&str]) -> Output {
    support::command(None)
        .args(arguments)
        .output()
        .expect("drover runs")
}

/// `drover run PATTERN -i INVENTORY --known-hosts KNOWN EXTRA... -- COMMAND`.
fn run(bed: &TestBed, inventory: &Path, extra: &[&str], command: &str) -> Output {
    let inventory = inventory.display().to_string();
    let known_hosts = bed.known_hosts.display().to_string();
    let mut arguments = vec![
        "run",
        "all",
        "-i",
        &inventory,
        "--known-hosts",
        &known_hosts,
    ];
    arguments.extend(extra);
    arguments.extend(["--", command]);
    drover(&arguments)
}

#[test]
fn issue_3_identical_output_is_grouped_across_hosts() {
    let bed = TestBed::start(5);
    let output = run(
        &bed,
        &bed.inventory_file(),
        &[],
        "echo hello from $(id -un)",
    );
    let stdout = support::exited(&output, 0);
    assert!(
        stdout.contains(&format!("host1-host5 (5): hello from {}", bed.user)),
        "{stdout}"
    );
    assert!(
        stdout.contains("5 hosts: 5 ok, 0 failed, 0 unreachable"),
        "{stdout}"
    );
}

#[test]
fn issue_3_failures_and_unreachable_hosts_are_reported_apart() {
    let bed = TestBed::start(3);
    let mut inventory = bed.inventory();
    let _ = writeln!(
        inventory,
        "closed ansible_host=127.0.0.1 ansible_port=1 ansible_user={}",
        bed.user
    );
    let path = bed.directory().join("with_closed.ini");
    std::fs::write(&path, inventory).unwrap();
    let failing = bed.hosts[1].address.to_string();
    let command = format!(
        "case \"$SSH_CONNECTION\" in *\" {failing} \"*) echo broken >&2; exit 3;; esac; echo fine"
    );
    let output = run(&bed, &path, &[], &command);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(4), "unreachable wins: {stdout}");
    assert!(stdout.contains("host1,host3 (2): fine"), "{stdout}");
    assert!(stdout.contains("FAILED rc=3 host2 (1):"), "{stdout}");
    assert!(stdout.contains("stderr: broken"), "{stdout}");
    assert!(stdout.contains("UNREACHABLE closed (1):"), "{stdout}");
    assert!(
        stdout.contains("4 hosts: 2 ok, 1 failed, 1 unreachable"),
        "{stdout}"
    );

    let output = run(&bed, &path, &["--output", "json"], &command);
    let lines: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 4);
    let by_host = |name: &str| {
        lines
            .iter()
            .find(|line| line["host"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by_host("host1")["status"], "ok");
    assert_eq!(by_host("host1")["stdout"], "fine\n");
    assert_eq!(by_host("host2")["rc"], 3);
    assert_eq!(by_host("host2")["status"], "failed");
    assert_eq!(by_host("closed")["status"], "unreachable");
    assert!(by_host("host3")["duration_ms"].is_u64());
}

#[test]
fn issue_3_modules_timeouts_and_forks() {
    let bed = TestBed::start(4);
    let inventory = bed.inventory_file();
    let output = run(
        &bed,
        &inventory,
        &["-m", "command"],
        "echo '$HOME;' \"a b\"",
    );
    assert!(
        text(&output.stdout).contains("host1-host4 (4): $HOME; a b"),
        "command runs without a shell: {}",
        text(&output.stdout)
    );
    let output = run(&bed, &inventory, &["--timeout", "1", "-f", "2"], "sleep 20");
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("timed out after 1 s"), "{stdout}");
    let output = run(&bed, &inventory, &["-f", "1"], "echo one at a time");
    assert!(text(&output.stdout).contains("host1-host4 (4): one at a time"));
}

#[test]
fn issue_3_unknown_host_keys_are_refused_unless_asked() {
    let bed = TestBed::start(2);
    let inventory = bed.inventory_file().display().to_string();
    let fresh = bed
        .directory()
        .join("fresh_known_hosts")
        .display()
        .to_string();
    let refused = drover(&[
        "run",
        "all",
        "-i",
        &inventory,
        "--known-hosts",
        &fresh,
        "--",
        "true",
    ]);
    let stdout = text(&refused.stdout);
    assert_eq!(refused.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("is not in"), "{stdout}");
    assert!(
        stdout.contains("accept-new"),
        "the hint names the way out: {stdout}"
    );
    let accepted = drover(&[
        "run",
        "all",
        "-i",
        &inventory,
        "--known-hosts",
        &fresh,
        "--host-key-checking",
        "accept-new",
        "--",
        "true",
    ]);
    assert_eq!(
        accepted.status.code(),
        Some(0),
        "{}",
        text(&accepted.stdout)
    );
    let again = drover(&[
        "run",
        "all",
        "-i",
        &inventory,
        "--known-hosts",
        &fresh,
        "--",
        "true",
    ]);
    assert_eq!(again.status.code(), Some(0), "keys were recorded");
}

#[test]
fn issue_3_become_runs_as_root() {
    if !is_root() {
        eprintln!("skipped: needs root to set up sudo");
        return;
    }
    let bed = TestBed::start(2);
    let output = run(&bed, &bed.inventory_file(), &["-b"], "id -u");
    assert!(
        text(&output.stdout).contains("host1-host2 (2): 0"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn issue_3_a_killed_sshd_makes_only_its_host_unreachable() {
    let mut bed = TestBed::start(3);
    let inventory = bed.inventory_file().display().to_string();
    let known_hosts = bed.known_hosts.display().to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_drover"))
        .args([
            "run",
            "all",
            "-i",
            &inventory,
            "--known-hosts",
            &known_hosts,
            "--",
            "sleep 2; echo done",
        ])
        .env_remove("SSH_AUTH_SOCK")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    bed.hosts[2].kill_sessions();
    bed.hosts[2].kill();
    let output = child.wait_with_output().unwrap();
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("host1-host2 (2): done"), "{stdout}");
    assert!(stdout.contains("UNREACHABLE host3 (1):"), "{stdout}");
}

#[test]
fn issue_3_localhost_runs_without_ssh() {
    let output = drover(&["run", "localhost", "-i", "localhost,", "--", "echo local"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stdout).lines().next(),
        Some("localhost (1): local")
    );
    let missing = drover(&["run", "all", "-i", "localhost,"]);
    assert_eq!(
        missing.status.code(),
        Some(1),
        "no command is a usage error"
    );
}

#[test]
fn issue_3_proxy_jump_from_ansible_ssh_common_args() {
    let bed = TestBed::start(2);
    let bastion = &bed.hosts[0];
    let inner = &bed.hosts[1];
    let inventory = format!(
        "inner ansible_host={} ansible_port={} ansible_user={user} ansible_ssh_private_key_file={key} \
         ansible_ssh_common_args='-o ProxyJump={user}@{}:{}'\n",
        inner.address,
        inner.port,
        bastion.address,
        bastion.port,
        user = bed.user,
        key = bed.client_key.display(),
    );
    let path = bed.directory().join("jump.ini");
    std::fs::write(&path, inventory).unwrap();
    // The jump host has no key of its own in the inventory: it gets `--private-key`.
    let key = bed.client_key.display().to_string();
    let output = run(
        &bed,
        &path,
        &["--private-key", &key],
        "echo through $SSH_CONNECTION",
    );
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("inner (1): through"), "{stdout}");
}
