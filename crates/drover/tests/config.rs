//! `ansible.cfg` and the `ANSIBLE_*` variables, end to end: each setting
//! drover honours changes what a real run does, against real sshd hosts
//! or this machine.
//!
//! Regression tests for issue 16 ("Real Ansible content runs unchanged,
//! part 1": ansible.cfg and the environment).

mod support;

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use drover_test_harness::{SUDO_PASSWORD, SUDO_USER, TestBed, is_root};
use support::{exited, text};

/// A project directory holding `files`.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("temporary directory");
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    for (name, content) in files {
        let path = directory.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("directory");
        std::fs::write(path, content).expect("file written");
    }
    directory
}

fn drover(directory: &Path, arguments: &[&str], environment: &[(&str, &str)]) -> Output {
    let mut command = support::command(Some(directory));
    command.args(arguments).envs(environment.iter().copied());
    command.output().expect("drover runs")
}

/// `[defaults]` naming how to reach one host of `bed`, which the inventory
/// names only by address.
fn reach(bed: &TestBed, host_key_checking: &str) -> String {
    format!(
        "[defaults]\ninventory = hosts.ini\nremote_user = {}\nremote_port = {}\n\
         private_key_file = {}\nhost_key_checking = {host_key_checking}\n",
        bed.user,
        bed.hosts[0].port,
        bed.client_key.display()
    )
}

fn address_only(bed: &TestBed) -> String {
    format!("[web]\nhost1 ansible_host={}\n", bed.hosts[0].address)
}

#[test]
fn issue_16_inventory_user_port_key_and_host_key_checking_come_from_ansible_cfg() {
    let bed = TestBed::start(1);
    let directory = project(&[
        ("ansible.cfg", &reach(&bed, "False")),
        ("hosts.ini", &address_only(&bed)),
    ]);
    let output = drover(directory.path(), &["run", "all", "--", "id -un"], &[]);
    let stdout = exited(&output, 0);
    assert!(
        stdout.contains(&format!("host1 (1): {}", bed.user)),
        "{stdout}"
    );
    // The environment wins over the file: host keys are checked again, and
    // this host's key is in no known_hosts file.
    let output = drover(
        directory.path(),
        &["run", "all", "--known-hosts", "/dev/null", "--", "id -un"],
        &[("ANSIBLE_HOST_KEY_CHECKING", "yes")],
    );
    let stdout = exited(&output, 4);
    assert!(stdout.contains("unreachable"), "{stdout}");
}

#[test]
fn issue_16_ssh_args_are_honoured_and_what_drover_cannot_honour_is_named() {
    let bed = TestBed::start(1);
    let config = format!(
        "[defaults]\ninventory = hosts.ini\n\n[ssh_connection]\n\
         ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=no \
         -o User={} -p {} -i {} -o ForwardAgent=yes\npipelining = True\n",
        bed.user,
        bed.hosts[0].port,
        bed.client_key.display()
    );
    let directory = project(&[("ansible.cfg", &config), ("hosts.ini", &address_only(&bed))]);
    let output = drover(directory.path(), &["run", "all", "--", "id -un"], &[]);
    let stdout = exited(&output, 0);
    assert!(
        stdout.contains(&format!("host1 (1): {}", bed.user)),
        "{stdout}"
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("ansible.cfg:5:1: drover's ssh client cannot honour `-o ForwardAgent=yes`"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("warning:").count(),
        1,
        "only ForwardAgent: {stderr}"
    );
}

#[test]
fn issue_16_settings_drover_cannot_honour_are_warned_about_with_their_line() {
    let directory = project(&[(
        "ansible.cfg",
        "[defaults]\nnocows = 1\nstdout_callback = yaml\n\n[colors]\nok = green\n",
    )]);
    let output = drover(
        directory.path(),
        &["run", "localhost", "--", "true"],
        &[("ANSIBLE_STRATEGY", "free")],
    );
    exited(&output, 0);
    let stderr = text(&output.stderr);
    for expected in [
        "ansible.cfg:3:1: drover does not honour `[defaults] stdout_callback`",
        "ansible.cfg:6:1: drover does not honour `[colors] ok`",
        "drover does not honour $ANSIBLE_STRATEGY",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(!stderr.contains("nocows"), "{stderr}");
}

#[test]
fn issue_16_a_malformed_setting_is_refused_at_its_line() {
    let directory = project(&[("ansible.cfg", "[defaults]\n# forks\nforks = many\n")]);
    let output = drover(directory.path(), &["run", "localhost", "--", "true"], &[]);
    exited(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("ansible.cfg:3:1: `many` is not a whole number, as `forks` must be"),
        "{stderr}"
    );
    let directory = project(&[("ansible.cfg", "[defaults]\nforks = 5\nforks = 6\n")]);
    let output = drover(directory.path(), &["run", "localhost", "--", "true"], &[]);
    exited(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("`forks` is set twice in `[defaults]`"),
        "{stderr}"
    );
    assert!(stderr.contains("ansible.cfg:3:1"), "{stderr}");
}

#[test]
fn issue_16_a_connect_timeout_comes_from_ansible_cfg() {
    // A server that accepts connections and never speaks.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("an address").port();
    let directory = project(&[
        (
            "ansible.cfg",
            &format!("[defaults]\ninventory = hosts.ini\ntimeout = 1\nremote_port = {port}\n"),
        ),
        ("hosts.ini", "silent ansible_host=127.0.0.1\n"),
    ]);
    let output = drover(directory.path(), &["run", "all", "--", "true"], &[]);
    drop(listener);
    let stdout = exited(&output, 4);
    assert!(stdout.contains("timed out after 1 s"), "{stdout}");
}

#[test]
fn issue_16_ansible_config_names_the_file_and_its_paths_are_relative_to_it() {
    let directory = project(&[
        (
            "project/ansible.cfg",
            "[defaults]\nvault_password_file = secrets/pass\n",
        ),
        ("project/secrets/pass", "letmein\n"),
        ("elsewhere/.keep", ""),
    ]);
    let plain = directory.path().join("elsewhere/plain.txt");
    std::fs::write(&plain, "the plain text\n").expect("written");
    let config = directory.path().join("project/ansible.cfg");
    let config = config.display().to_string();
    let elsewhere = directory.path().join("elsewhere");
    let environment = [("ANSIBLE_CONFIG", config.as_str())];
    exited(
        &drover(&elsewhere, &["vault", "encrypt", "plain.txt"], &environment),
        0,
    );
    assert!(
        std::fs::read_to_string(&plain)
            .unwrap()
            .starts_with("$ANSIBLE_VAULT;1.1;AES256"),
        "encrypted with the configured password"
    );
    let output = drover(&elsewhere, &["vault", "view", "plain.txt"], &environment);
    assert_eq!(exited(&output, 0), "the plain text\n");
}

#[test]
fn issue_16_a_world_writable_directory_does_not_configure_drover() {
    let directory = project(&[("ansible.cfg", "[defaults]\nforks = many\n")]);
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o777))
        .expect("chmod");
    let output = drover(directory.path(), &["run", "localhost", "--", "true"], &[]);
    exited(&output, 0);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("not reading ./ansible.cfg: this directory is world-writable"),
        "{stderr}"
    );
}

const FACTS_PLAYBOOK: &str = r#"
- hosts: localhost
  tasks:
    - debug:
        msg: "family={{ ansible_facts.os_family | default('none') }}"
- hosts: localhost
  gather_facts: true
  tasks:
    - debug:
        msg: "again={{ ansible_facts.os_family | default('none') }}"
"#;

#[test]
fn issue_16_gathering_explicit_gathers_only_where_a_play_asks() {
    let directory = project(&[
        ("ansible.cfg", "[defaults]\ngathering = explicit\n"),
        ("site.yml", FACTS_PLAYBOOK),
    ]);
    let output = drover(directory.path(), &["play", "site.yml"], &[]);
    let stdout = exited(&output, 0);
    assert!(stdout.contains("family=none"), "{stdout}");
    assert!(stdout.contains("again=Debian"), "{stdout}");
    // ANSIBLE_GATHERING wins over the file.
    let output = drover(
        directory.path(),
        &["play", "site.yml"],
        &[("ANSIBLE_GATHERING", "implicit")],
    );
    let stdout = exited(&output, 0);
    assert!(stdout.contains("family=Debian"), "{stdout}");
}

#[test]
fn issue_16_roles_path_and_retry_files_come_from_ansible_cfg() {
    let directory = project(&[
        (
            "ansible.cfg",
            "[defaults]\nroles_path = ./shelf\nretry_files_enabled = True\n",
        ),
        (
            "shelf/greet/tasks/main.yml",
            "- debug:\n    msg: hello from the shelf\n",
        ),
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: false\n  roles: [greet]\n  post_tasks:\n    - fail:\n        msg: stop\n",
        ),
    ]);
    let output = drover(directory.path(), &["play", "site.yml"], &[]);
    let stdout = exited(&output, 2);
    assert!(stdout.contains("hello from the shelf"), "{stdout}");
    let retry = std::fs::read_to_string(directory.path().join("site.retry")).expect("a retry file");
    assert_eq!(retry, "localhost\n");
}

const HANDLERS_PLAYBOOK: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - command: /bin/true
      notify: mark
    - fail:
        msg: stop
  handlers:
    - name: mark
      copy:
        dest: "{{ playbook_dir }}/marked"
        content: "yes"
"#;

#[test]
fn issue_16_force_handlers_runs_a_failed_hosts_handlers() {
    let directory = project(&[("site.yml", HANDLERS_PLAYBOOK)]);
    let marked = directory.path().join("marked");
    exited(&drover(directory.path(), &["play", "site.yml"], &[]), 2);
    assert!(
        !marked.exists(),
        "no handler runs on a failed host by default"
    );
    let output = drover(
        directory.path(),
        &["play", "site.yml", "--force-handlers"],
        &[],
    );
    let stdout = exited(&output, 2);
    assert!(
        marked.exists(),
        "--force-handlers ran the handler:\n{stdout}"
    );
    assert_eq!(
        support::recap(&stdout, "localhost")[3],
        1,
        "still failed:\n{stdout}"
    );
    std::fs::remove_file(&marked).expect("removed");
    let output = drover(
        directory.path(),
        &["play", "site.yml"],
        &[("ANSIBLE_FORCE_HANDLERS", "1")],
    );
    exited(&output, 2);
    assert!(marked.exists(), "ANSIBLE_FORCE_HANDLERS ran the handler");
}

#[test]
fn issue_16_transport_local_and_connection_flag_reach_this_machine() {
    let directory = project(&[
        (
            "ansible.cfg",
            "[defaults]\ninventory = hosts.ini\ntransport = local\n",
        ),
        ("hosts.ini", "box\n"),
    ]);
    let marker = directory.path().join("touched");
    let command = format!("touch {}", marker.display());
    exited(
        &drover(directory.path(), &["run", "box", "--", &command], &[]),
        0,
    );
    assert!(marker.exists(), "the command ran here");
    std::fs::remove_file(directory.path().join("ansible.cfg")).expect("removed");
    std::fs::remove_file(&marker).expect("removed");
    let output = drover(
        directory.path(),
        &[
            "run",
            "box",
            "-i",
            "hosts.ini",
            "-c",
            "local",
            "--",
            &command,
        ],
        &[],
    );
    exited(&output, 0);
    assert!(marker.exists(), "-c local ran the command here");
}

/// A host whose user may sudo only with its password.
fn sudo_project(bed: &TestBed, config: &str) -> tempfile::TempDir {
    let host = &bed.hosts[0];
    let inventory = format!(
        "host1 ansible_host={} ansible_port={} ansible_user={SUDO_USER} ansible_ssh_private_key_file={}\n",
        host.address,
        host.port,
        bed.client_key.display()
    );
    let mut text = format!("[defaults]\ninventory = hosts.ini\n{config}");
    let _ = writeln!(text);
    project(&[
        ("ansible.cfg", &text),
        ("hosts.ini", &inventory),
        ("pass", SUDO_PASSWORD),
    ])
}

#[test]
fn issue_16_become_settings_and_the_become_password_file() {
    if !is_root() {
        eprintln!("skipped: the sudo user exists only when the tests run as root");
        return;
    }
    let bed = TestBed::start(1);
    let known = bed.known_hosts.display().to_string();
    let directory = sudo_project(&bed, "\n[privilege_escalation]\nbecome = True\n");
    let arguments = [
        "run",
        "all",
        "--known-hosts",
        &known,
        "-m",
        "command",
        "-a",
        "id -un",
    ];
    let output = drover(directory.path(), &arguments, &[]);
    exited(&output, 2);
    let mut with_password = arguments.to_vec();
    with_password.extend(["--become-password-file", "pass"]);
    let output = drover(directory.path(), &with_password, &[]);
    let stdout = exited(&output, 0);
    assert!(stdout.contains("host1 (1): root"), "{stdout}");
    assert!(!text(&output.stderr).contains(SUDO_PASSWORD) && !stdout.contains(SUDO_PASSWORD));
    let output = drover(
        directory.path(),
        &with_password,
        &[("ANSIBLE_BECOME_USER", "nobody")],
    );
    let stdout = exited(&output, 0);
    assert!(stdout.contains("host1 (1): nobody"), "{stdout}");
}

#[test]
fn issue_16_ask_become_pass_reads_the_password_from_the_terminal() {
    if !is_root() || !Path::new("/usr/bin/script").exists() {
        eprintln!("skipped: needs root (for the sudo user) and script(1)");
        return;
    }
    let bed = TestBed::start(1);
    let directory = sudo_project(&bed, "");
    let line = format!(
        "{} run all -b -K --known-hosts {} -m command -a 'id -un'",
        env!("CARGO_BIN_EXE_drover"),
        bed.known_hosts.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(directory.path())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script runs");
    // Type the password once drover asks, as a person would: typed any
    // earlier, the terminal would echo it before drover turns echo off.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    while !text(&seen).contains("BECOME password: ") {
        let mut byte = [0_u8; 1];
        let read = std::io::Read::read(&mut stdout, &mut byte).expect("drover writes");
        assert_eq!(read, 1, "drover ended before asking:\n{}", text(&seen));
        seen.push(byte[0]);
    }
    // The prompt is printed just before echo is turned off; give the
    // terminal a moment to take the change, as a person typing would.
    std::thread::sleep(std::time::Duration::from_millis(500));
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{SUDO_PASSWORD}").expect("password typed");
    }
    std::io::Read::read_to_end(&mut stdout, &mut seen).expect("the rest");
    child.wait().expect("script ends");
    let output = std::process::Output {
        status: std::process::ExitStatus::default(),
        stdout: seen,
        stderr: Vec::new(),
    };
    let stdout = text(&output.stdout);
    assert!(stdout.contains("BECOME password: "), "{stdout}");
    assert!(stdout.contains("host1 (1): root"), "{stdout}");
    assert!(!stdout.contains(SUDO_PASSWORD), "{stdout}");
}
