//! Faults during `drover play`, against real sshd hosts: a host whose sshd
//! dies mid-task, a connection dropped between tasks, a host that never
//! sends an SSH banner, a full disk under `copy`, a wrong sudo password,
//! and SIGTERM to drover; and the retry file of the hosts that failed.
//!
//! Regression tests for issue 7 ("Trustworthy under faults, bad input and
//! secrets").

mod support;

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use drover_test_harness::{SUDO_USER, TestBed, is_root};
use support::{recap, text};

/// A project directory every host user may write to, with `site.yml`.
struct Project {
    root: tempfile::TempDir,
}

impl Project {
    fn new(playbook: &str) -> Self {
        let root = tempfile::tempdir().expect("a directory");
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o777))
            .expect("a shared directory");
        let playbook = playbook.replace("TARGET", &root.path().display().to_string());
        std::fs::write(root.path().join("site.yml"), playbook).expect("the playbook");
        Self { root }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn command(&self, inventory: &Path, known_hosts: &Path, extra: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_drover"));
        command
            .current_dir(self.root.path())
            .args(["play", "site.yml", "-i"])
            .arg(inventory)
            .arg("--known-hosts")
            .arg(known_hosts)
            .args(extra)
            .env("NO_COLOR", "1")
            .env_remove("SSH_AUTH_SOCK");
        command
    }

    fn play(&self, bed: &TestBed, extra: &[&str]) -> Output {
        self.command(&bed.inventory_file(), &bed.known_hosts, extra)
            .output()
            .expect("drover runs")
    }

    fn spawn(&self, bed: &TestBed, extra: &[&str]) -> Child {
        self.command(&bed.inventory_file(), &bed.known_hosts, extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("drover starts")
    }

    /// Waits (up to a minute) until every one of `files` exists.
    fn wait_for(&self, files: &[&str]) {
        let deadline = Instant::now() + Duration::from_mins(1);
        while !files.iter().all(|file| self.path(file).exists()) {
            assert!(Instant::now() < deadline, "{files:?} never appeared");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Files drover's uploads leave while they are being written.
    fn temporary_files(&self) -> Vec<String> {
        std::fs::read_dir(self.root.path())
            .expect("the project")
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            // `.drover` itself holds the run records (issue 19); a
            // temporary file is `.drover.XXXXXXXX`.
            .filter(|name| name.starts_with(".drover.") || name.starts_with("tmp."))
            .collect()
    }
}

#[test]
fn issue_7_a_host_whose_sshd_dies_mid_task_is_unreachable_and_the_rest_finish() {
    let mut bed = TestBed::start(3);
    let project = Project::new(
        "- hosts: all\n  gather_facts: no\n  tasks:\n\
         \x20   - shell: touch TARGET/{{ inventory_hostname }}.started; sleep 2\n\
         \x20   - file: path=TARGET/{{ inventory_hostname }}.second state=touch\n",
    );
    let child = project.spawn(&bed, &["--retry-failed"]);
    project.wait_for(&["host1.started", "host2.started", "host3.started"]);
    bed.hosts[2].kill_sessions();
    bed.hosts[2].kill();
    let output = child.wait_with_output().expect("drover ends");
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(4), "{stdout}");
    assert_eq!(
        recap(&stdout, "host3")[2],
        1,
        "host3 is unreachable:\n{stdout}"
    );
    for host in ["host1", "host2"] {
        assert_eq!(recap(&stdout, host)[..4], [2, 2, 0, 0], "{host}:\n{stdout}");
        assert!(project.path(&format!("{host}.second")).exists());
    }
    assert!(!project.path("host3.second").exists());
    assert_eq!(
        std::fs::read_to_string(project.path("site.retry")).expect("the retry file"),
        "host3\n"
    );
    let listed = project
        .command(
            &bed.inventory_file(),
            &bed.known_hosts,
            &["--list-hosts", "--limit", "@site.retry"],
        )
        .output()
        .expect("drover runs");
    let listed = text(&listed.stdout);
    assert!(
        listed.contains("hosts (1):") && listed.contains("host3"),
        "{listed}"
    );
}

#[test]
fn issue_7_a_connection_dropped_between_tasks_reconnects_and_runs_each_task_once() {
    let bed = TestBed::start(2);
    let project = Project::new(
        "- hosts: all\n  gather_facts: no\n  tasks:\n\
         \x20   - shell: echo once >> TARGET/{{ inventory_hostname }}.first\n\
         \x20   - pause: seconds=2\n\
         \x20   - shell: echo once >> TARGET/{{ inventory_hostname }}.third\n",
    );
    let child = project.spawn(&bed, &[]);
    project.wait_for(&["host1.first", "host2.first"]);
    // The pause runs on the controller; host1's connection dies under it.
    std::thread::sleep(Duration::from_millis(300));
    bed.hosts[0].kill_sessions();
    let output = child.wait_with_output().expect("drover ends");
    support::exited(&output, 0);
    for host in ["host1", "host2"] {
        for task in ["first", "third"] {
            assert_eq!(
                std::fs::read_to_string(project.path(&format!("{host}.{task}"))).expect("ran"),
                "once\n",
                "{host} ran its {task} task exactly once"
            );
        }
    }
}

#[test]
fn issue_7_a_host_that_never_sends_a_banner_is_cut_off_by_the_timeout() {
    let bed = TestBed::start(1);
    // Accepts connections and says nothing, for as long as the test runs.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let port = silent.local_addr().expect("an address").port();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().take(4) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let project = Project::new("- hosts: all\n  gather_facts: no\n  tasks:\n    - ping:\n");
    let inventory = project.path("hosts.ini");
    std::fs::write(
        &inventory,
        format!(
            "{}\nsilent ansible_host=127.0.0.1 ansible_port={port}\n",
            std::fs::read_to_string(bed.inventory_file()).expect("the bed's inventory")
        ),
    )
    .expect("an inventory");
    let output = project
        .command(&inventory, &bed.known_hosts, &["--connect-timeout", "2"])
        .output()
        .expect("drover runs");
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(4), "{stdout}");
    assert_eq!(recap(&stdout, "silent")[2], 1, "{stdout}");
    assert_eq!(recap(&stdout, "host1")[..4], [1, 0, 0, 0], "{stdout}");
    assert!(stdout.to_lowercase().contains("timed out"), "{stdout}");
    drop(holder);
}

#[test]
fn issue_7_a_full_disk_fails_the_copy_and_keeps_the_old_file() {
    if !is_root() {
        eprintln!("skipped: mounting a small file system needs root");
        return;
    }
    let bed = TestBed::start(1);
    let project = Project::new(
        "- hosts: all\n  gather_facts: no\n  tasks:\n\
         \x20   - copy:\n        dest: TARGET/disk/app.conf\n        content: \"{{ 'x' * 300000 }}\"\n",
    );
    let disk = project.path("disk");
    std::fs::create_dir(&disk).expect("a mount point");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=128k,mode=0777", "tmpfs"])
        .arg(&disk)
        .status()
        .expect("mount runs");
    assert!(mounted.success(), "a small tmpfs is mounted");
    std::fs::write(disk.join("app.conf"), "old\n").expect("the old file");
    std::fs::set_permissions(
        disk.join("app.conf"),
        std::fs::Permissions::from_mode(0o666),
    )
    .expect("the old file");
    let output = project.play(&bed, &[]);
    let stdout = text(&output.stdout);
    let old = std::fs::read_to_string(disk.join("app.conf"));
    let leftovers: Vec<String> = std::fs::read_dir(&disk)
        .expect("the disk")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    let _ = Command::new("umount").arg(&disk).status();
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("No space left on device"), "{stdout}");
    assert_eq!(
        old.expect("the old file"),
        "old\n",
        "the old file is intact"
    );
    assert_eq!(
        leftovers,
        vec!["app.conf".to_owned()],
        "no temporary file is left"
    );
}

#[test]
fn issue_7_a_wrong_sudo_password_fails_clearly_and_does_not_hang() {
    let bed = TestBed::start(1);
    let project = Project::new(
        "- hosts: all\n  gather_facts: no\n  become: yes\n  tasks:\n    - command: id -u\n",
    );
    let host = &bed.hosts[0];
    let inventory = project.path("hosts.ini");
    std::fs::write(
        &inventory,
        format!(
            "host1 ansible_host={} ansible_port={} ansible_user={SUDO_USER} ansible_ssh_private_key_file={} ansible_become_password=not-the-password\n",
            host.address,
            host.port,
            bed.client_key.display()
        ),
    )
    .expect("an inventory");
    let output = project
        .command(&inventory, &bed.known_hosts, &[])
        .output()
        .expect("drover runs");
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("sudo"), "the message names sudo: {stdout}");
    assert!(stdout.to_lowercase().contains("password"), "{stdout}");
    assert!(
        !stdout.contains("not-the-password"),
        "the password is never shown"
    );
    assert!(
        !stdout.contains("timed out"),
        "it failed, it did not hang: {stdout}"
    );
}

#[test]
fn issue_7_sigterm_lets_running_commands_finish_and_prints_the_recap() {
    let bed = TestBed::start(2);
    let project = Project::new(
        "- hosts: all\n  gather_facts: no\n  tasks:\n\
         \x20   - shell: touch TARGET/{{ inventory_hostname }}.started; sleep 2; echo done > TARGET/{{ inventory_hostname }}.first\n\
         \x20   - copy: content=late dest=TARGET/{{ inventory_hostname }}.second\n",
    );
    let child = project.spawn(&bed, &[]);
    project.wait_for(&["host1.started", "host2.started"]);
    let signalled = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    let output = child.wait_with_output().expect("drover ends");
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(99), "{stdout}");
    assert!(stdout.contains("INTERRUPTED"), "{stdout}");
    assert!(stdout.contains("PLAY RECAP"), "{stdout}");
    for host in ["host1", "host2"] {
        assert_eq!(
            std::fs::read_to_string(project.path(&format!("{host}.first"))).expect("finished"),
            "done\n",
            "{host}: the running command finished"
        );
        assert!(
            !project.path(&format!("{host}.second")).exists(),
            "{host}: no new task"
        );
    }
    assert_eq!(project.temporary_files(), Vec::<String>::new());
}

/// sshd drops handshakes beyond its `MaxStartups`: here 2, against 24
/// connections to one server at once. Dropped handshakes are retried after
/// a pause, so every host succeeds (issue 8's handshake pacing).
#[test]
fn issue_8_handshakes_dropped_by_max_startups_are_retried() {
    let mut bed = TestBed::start(1);
    bed.hosts[0].restart_with_max_startups("2");
    let host = &bed.hosts[0];
    let project = Project::new("");
    let inventory = project.path("hosts.ini");
    let mut lines = String::new();
    for index in 1..=24 {
        let _ = writeln!(
            lines,
            "alias{index} ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file={}",
            host.address,
            host.port,
            drover_test_harness::TEST_USER,
            bed.client_key.display()
        );
    }
    std::fs::write(&inventory, lines).expect("an inventory");
    let output = Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(["-vv", "run", "all", "-i"])
        .arg(&inventory)
        .arg("--known-hosts")
        .arg(&bed.known_hosts)
        .args(["-f", "24", "--", "true"])
        .env("NO_COLOR", "1")
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("drover runs");
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("24 hosts: 24 ok"), "{stdout}");
    assert!(
        stderr.contains("handshake dropped; retrying"),
        "sshd dropped some handshakes, and drover retried them:\n{stderr}"
    );
}

#[test]
fn issue_17_wait_for_connection_waits_for_a_host_to_come_back() {
    let mut bed = TestBed::start(1);
    let project = Project::new(
        "- hosts: all\n  gather_facts: no\n  tasks:\n\
         \x20   - wait_for_connection: {timeout: 60, sleep: 1}\n\
         \x20   - command: touch TARGET/back\n",
    );
    // The host is down when the play starts, and comes back a little later.
    bed.hosts[0].kill();
    let child = project.spawn(&bed, &[]);
    std::thread::sleep(Duration::from_secs(3));
    bed.hosts[0].restart_with_max_startups("10:30:100");
    let output = child.wait_with_output().expect("drover ends");
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        text(&output.stderr)
    );
    assert!(project.path("back").exists(), "{stdout}");
    assert_eq!(recap(&stdout, "host1")[2], 0, "not unreachable: {stdout}");
}
