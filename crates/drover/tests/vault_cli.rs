//! Ansible Vault end to end: files and strings that `ansible-vault` (from
//! `PyPI`, the oracle) encrypted are read by `drover play`, what `drover
//! vault` encrypts `ansible-vault` reads, and no secret (a vault value, a
//! become password) is ever printed, in text, JSON or `-vvv` output.
//!
//! Regression tests for issue 7 ("Trustworthy under faults, bad input and
//! secrets").
#![allow(clippy::print_stderr)]
// A scenario test reads top to bottom as one story; the limit on function
// size is for the product's code and its test harness.
#![allow(clippy::too_many_lines)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use drover_test_harness::{SUDO_PASSWORD, SUDO_USER, TestBed};
use support::{drover, text};

const DB_PASSWORD: &str = "Tr0ub4dor&3-db-secret";
const API_TOKEN: &str = "tok-5512-api-secret";

fn run_tool(tool: &Path, directory: &Path, arguments: &[&str]) -> String {
    let output = Command::new(tool)
        .current_dir(directory)
        .args(arguments)
        .env("ANSIBLE_LOCAL_TEMP", directory.join(".ansible-tmp"))
        .env("ANSIBLE_HOME", directory.join(".ansible-home"))
        .output()
        .expect("the Ansible tool runs");
    assert!(
        output.status.success(),
        "{} {arguments:?}: {}",
        tool.display(),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// A project: a password file, an inventory of one light host reached as
/// the user who needs a sudo password, and a target directory.
struct Project {
    directory: tempfile::TempDir,
    _bed: TestBed,
}

impl Project {
    fn new() -> Self {
        let bed = TestBed::start(1);
        let directory = tempfile::tempdir().expect("a directory");
        std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o777))
            .expect("a shared directory");
        let host = &bed.hosts[0];
        let inventory = format!(
            "[web]\nhost1 ansible_host={} ansible_port={} ansible_user={SUDO_USER} ansible_ssh_private_key_file={}\n",
            host.address,
            host.port,
            bed.client_key.display()
        );
        std::fs::write(directory.path().join("hosts.ini"), inventory).expect("inventory");
        std::fs::copy(&bed.known_hosts, directory.path().join("known_hosts")).expect("known hosts");
        std::fs::write(directory.path().join("password"), "vault pass phrase\n").expect("password");
        Self {
            directory,
            _bed: bed,
        }
    }

    fn path(&self) -> &Path {
        self.directory.path()
    }

    fn write(&self, name: &str, content: &str) {
        let path = self.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
        std::fs::write(path, content).expect("a project file");
    }
}

#[test]
fn issue_7_vaulted_files_and_strings_are_used_and_never_printed() {
    let Some(ansible_vault) = support::ansible_tool("ansible-vault") else {
        return;
    };
    let project = Project::new();
    let directory = project.path();
    project.write(
        "group_vars/web/vault.yml",
        &format!("db_password: {DB_PASSWORD}\nansible_become_password: {SUDO_PASSWORD}\n"),
    );
    run_tool(
        &ansible_vault,
        directory,
        &[
            "encrypt",
            "--vault-password-file",
            "password",
            "group_vars/web/vault.yml",
        ],
    );
    let token = run_tool(
        &ansible_vault,
        directory,
        &[
            "encrypt_string",
            "--vault-password-file",
            "password",
            "--name",
            "api_token",
            API_TOKEN,
        ],
    );
    let token = token.replace('\n', "\n    ");
    let playbook = format!(
        "- hosts: web\n  gather_facts: no\n  vars:\n    {token}\n  tasks:\n\
         \x20   - name: the secrets reach the host\n\
         \x20     copy:\n        content: \"{{{{ db_password }}}} {{{{ api_token }}}}\\n\"\n        dest: {dir}/secrets.txt\n\
         \x20   - name: a debug of a secret shows no secret\n      debug:\n        var: db_password\n\
         \x20   - name: a command that echoes a secret shows no secret\n      command: echo token={{{{ api_token }}}}\n\
         \x20   - name: sudo takes the vaulted password\n      command: id -u\n      become: yes\n      register: whoami\n\
         \x20   - name: root ran it\n      assert:\n        that: whoami.stdout == '0'\n",
        dir = directory.display()
    );
    project.write("site.yml", &playbook);
    let runs = [
        vec![
            "play",
            "site.yml",
            "-i",
            "hosts.ini",
            "--known-hosts",
            "known_hosts",
            "--vault-password-file",
            "password",
        ],
        vec![
            "play",
            "site.yml",
            "-i",
            "hosts.ini",
            "--known-hosts",
            "known_hosts",
            "--vault-id",
            "default@password",
            "--output",
            "json",
        ],
        vec![
            "-vvv",
            "play",
            "site.yml",
            "-i",
            "hosts.ini",
            "--known-hosts",
            "known_hosts",
            "--vault-password-file",
            "password",
            "--diff",
        ],
    ];
    for arguments in runs {
        let output = drover(directory, &arguments);
        let everything = format!("{}{}", text(&output.stdout), text(&output.stderr));
        assert!(output.status.success(), "{arguments:?}:\n{everything}");
        for secret in [DB_PASSWORD, API_TOKEN, SUDO_PASSWORD] {
            assert!(
                !everything.contains(secret),
                "{arguments:?} printed a secret:\n{everything}"
            );
        }
        assert!(
            everything.contains("********"),
            "{arguments:?}:\n{everything}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(directory.join("secrets.txt")).expect("the file was written"),
        format!("{DB_PASSWORD} {API_TOKEN}\n")
    );
    // Issue 19: the three runs' records hold no secret either, nor does
    // the report made of them.
    let records: Vec<std::path::PathBuf> = std::fs::read_dir(directory.join(".drover/runs"))
        .expect("the runs were recorded")
        .map(|entry| entry.expect("an entry").path())
        .collect();
    assert_eq!(records.len(), 3, "{records:?}");
    for record in &records {
        let kept = std::fs::read_to_string(record).expect("a record");
        assert!(kept.contains("********"), "{kept}");
        for secret in [DB_PASSWORD, API_TOKEN, SUDO_PASSWORD] {
            assert!(
                !kept.contains(secret),
                "{} holds a secret:\n{kept}",
                record.display()
            );
        }
    }
    let mut arguments = vec![
        "report".to_owned(),
        "-o".to_owned(),
        "report.html".to_owned(),
    ];
    arguments.extend(records.iter().map(|record| record.display().to_string()));
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let report = drover(directory, &arguments);
    assert!(report.status.success(), "{}", text(&report.stderr));
    let page = std::fs::read_to_string(directory.join("report.html")).expect("a report");
    for secret in [DB_PASSWORD, API_TOKEN, SUDO_PASSWORD] {
        assert!(!page.contains(secret), "the report holds a secret");
    }
}

#[test]
fn issue_7_what_drover_vault_encrypts_ansible_vault_reads() {
    let Some(ansible_vault) = support::ansible_tool("ansible-vault") else {
        return;
    };
    let directory = tempfile::tempdir().expect("a directory");
    let directory = directory.path();
    std::fs::write(directory.join("password"), "pass one\n").expect("password");
    let client = directory.join("client.sh");
    std::fs::write(&client, "#!/bin/sh\necho \"pass for $2\"\n").expect("client");
    std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).expect("client");
    std::fs::write(directory.join("plain.yml"), "key: value\n").expect("plain");
    std::fs::write(directory.join("labelled.yml"), "other: thing\n").expect("plain");

    let encrypted = drover(
        directory,
        &[
            "vault",
            "encrypt",
            "--vault-password-file",
            "password",
            "plain.yml",
        ],
    );
    assert!(encrypted.status.success(), "{}", text(&encrypted.stderr));
    let file = std::fs::read_to_string(directory.join("plain.yml")).expect("the file");
    assert!(file.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"), "{file}");
    assert_eq!(
        run_tool(
            &ansible_vault,
            directory,
            &["view", "--vault-password-file", "password", "plain.yml"]
        ),
        "key: value\n"
    );

    let labelled = drover(
        directory,
        &[
            "vault",
            "encrypt",
            "--vault-id",
            "prod@client.sh",
            "labelled.yml",
        ],
    );
    assert!(labelled.status.success(), "{}", text(&labelled.stderr));
    let file = std::fs::read_to_string(directory.join("labelled.yml")).expect("the file");
    assert!(
        file.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"),
        "{file}"
    );
    assert_eq!(
        run_tool(
            &ansible_vault,
            directory,
            &["view", "--vault-id", "prod@client.sh", "labelled.yml"]
        ),
        "other: thing\n"
    );

    let string = drover(
        directory,
        &[
            "vault",
            "encrypt_string",
            "--vault-password-file",
            "password",
            "--name",
            "token",
            "s3cr3t value",
        ],
    );
    assert!(string.status.success(), "{}", text(&string.stderr));
    std::fs::write(directory.join("string.yml"), string.stdout).expect("string");
    let Some(ansible) = support::ansible_tool("ansible") else {
        return;
    };
    let shown = run_tool(
        &ansible,
        directory,
        &[
            "localhost",
            "-m",
            "debug",
            "-a",
            "var=token",
            "-e",
            "@string.yml",
            "--vault-password-file",
            "password",
        ],
    );
    assert!(shown.contains("\"token\": \"s3cr3t value\""), "{shown}");

    let viewed = drover(
        directory,
        &[
            "vault",
            "view",
            "--vault-password-file",
            "password",
            "plain.yml",
        ],
    );
    assert_eq!(text(&viewed.stdout), "key: value\n");
    let decrypted = drover(
        directory,
        &[
            "vault",
            "decrypt",
            "--vault-password-file",
            "password",
            "plain.yml",
        ],
    );
    assert!(decrypted.status.success());
    assert_eq!(
        std::fs::read_to_string(directory.join("plain.yml")).expect("the file"),
        "key: value\n"
    );
}

#[test]
fn issue_7_a_wrong_or_missing_vault_password_stops_before_any_host() {
    let directory = tempfile::tempdir().expect("a directory");
    let directory = directory.path();
    std::fs::write(directory.join("password"), "right\n").expect("password");
    std::fs::write(directory.join("wrong"), "wrong\n").expect("password");
    std::fs::write(directory.join("secret.yml"), "a: 1\n").expect("vars");
    let encrypted = drover(
        directory,
        &[
            "vault",
            "encrypt",
            "--vault-password-file",
            "password",
            "secret.yml",
        ],
    );
    assert!(encrypted.status.success());
    // The host does not exist: reaching for it would fail differently.
    std::fs::write(
        directory.join("hosts.ini"),
        "nowhere ansible_host=192.0.2.1\n",
    )
    .expect("inventory");
    std::fs::write(
        directory.join("site.yml"),
        "- hosts: all\n  vars_files: [secret.yml]\n  tasks:\n    - ping:\n",
    )
    .expect("playbook");
    for (arguments, message) in [
        (
            vec!["--vault-password-file", "wrong"],
            "no vault password decrypts this",
        ),
        (vec![], "no vault password was given"),
    ] {
        let mut all = vec!["play", "site.yml", "-i", "hosts.ini"];
        all.extend(arguments);
        let output = drover(directory, &all);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("secret.yml") && stderr.contains(message),
            "{stderr}"
        );
        assert!(stderr.contains("help: "), "a hint: {stderr}");
        assert!(stderr.contains("[site.yml:2:15]"), "where: {stderr}");
        assert!(!text(&output.stdout).contains("PLAY ["), "nothing ran");
    }
}

/// `no_log: true` hides a task's arguments and results (items, failures,
/// diffs) in text, JSON and `-vvv` output, though the task still runs.
#[test]
fn issue_7_no_log_hides_arguments_and_results_everywhere() {
    const SECRET: &str = "nolog-literal-4471";
    let directory = tempfile::tempdir().expect("a directory");
    let target = directory.path().join("written.txt");
    let playbook = format!(
        "- hosts: localhost\n  connection: local\n  gather_facts: no\n  tasks:\n\
         \x20   - command: echo {SECRET}\n      no_log: true\n\
         \x20   - shell: echo {SECRET} >&2; exit 3\n      no_log: true\n      ignore_errors: true\n\
         \x20   - debug: msg={{{{ item }}}}\n      loop: [{SECRET}]\n      no_log: true\n\
         \x20   - copy:\n        content: \"{SECRET}\\n\"\n        dest: {target}\n      no_log: true\n",
        target = target.display()
    );
    std::fs::write(directory.path().join("site.yml"), playbook).expect("the playbook");
    for arguments in [
        vec!["play", "site.yml", "-i", "localhost,"],
        vec!["play", "site.yml", "-i", "localhost,", "--output", "json"],
        vec!["-vvv", "play", "site.yml", "-i", "localhost,", "--diff"],
    ] {
        let _ = std::fs::remove_file(&target);
        let output = drover(directory.path(), &arguments);
        let everything = format!("{}{}", text(&output.stdout), text(&output.stderr));
        assert!(output.status.success(), "{arguments:?}:\n{everything}");
        assert!(
            !everything.contains(SECRET),
            "{arguments:?} printed it:\n{everything}"
        );
        assert_eq!(
            std::fs::read_to_string(&target).expect("the task ran"),
            format!("{SECRET}\n")
        );
    }
}

/// `--ask-vault-pass` asks on the terminal (here a pseudo-terminal made by
/// `script`), and the answer opens the file.
#[test]
fn issue_7_ask_vault_pass_reads_the_password_from_the_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let directory = tempfile::tempdir().expect("a directory");
    let directory = directory.path();
    std::fs::write(directory.join("password"), "typed at the prompt\n").expect("password");
    std::fs::write(directory.join("secret.yml"), "answer: 42\n").expect("plain");
    let encrypted = drover(
        directory,
        &[
            "vault",
            "encrypt",
            "--vault-password-file",
            "password",
            "secret.yml",
        ],
    );
    assert!(encrypted.status.success(), "{}", text(&encrypted.stderr));
    let view = format!(
        "{} vault view --ask-vault-pass secret.yml",
        env!("CARGO_BIN_EXE_drover")
    );
    let mut child = Command::new("script")
        .current_dir(directory)
        .args(["-qec", &view, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script runs");
    // The prompt must be up before the answer is typed.
    std::thread::sleep(std::time::Duration::from_millis(500));
    std::io::Write::write_all(
        child.stdin.as_mut().expect("a terminal"),
        b"typed at the prompt\n",
    )
    .expect("typed");
    let output = child.wait_with_output().expect("drover ends");
    let shown = text(&output.stdout);
    assert!(output.status.success(), "{shown}");
    assert!(
        shown.contains("Vault password:") && shown.contains("answer: 42"),
        "{shown}"
    );
    assert!(
        !shown.contains("typed at the prompt"),
        "the password is not echoed: {shown}"
    );
}
