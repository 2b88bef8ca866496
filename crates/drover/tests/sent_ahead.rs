//! Regression tests for issue 18 ("Fast over real networks"): a file
//! task's change goes to the host with the next flight instead of one of
//! its own, and the run still reads as the linear strategy defines it.
//! A change that fails there is its own task's failure; nothing after it
//! runs on that host; a `rescue` sees it; the recap and the files left are
//! Ansible's (run on the same hosts as the oracle, when it is installed).

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Output;

use drover_test_harness::TestBed;

/// The second host's directory change fails: its path runs through a file.
const FAILING: &str = r#"
- hosts: all
  gather_facts: no
  vars:
    dir: "TARGET/{{ inventory_hostname }}"
  tasks:
    - command: /bin/true
      changed_when: false
    - file: path={{ dir }} state=directory mode=0755
    - copy: content="x\n" dest={{ dir }}/file mode=0644
    - name: the failing change
      file:
        path: "{{ dir }}/{{ 'file/sub' if inventory_hostname == 'host2' else 'sub' }}"
        state: directory
      register: made
    - name: settings
      lineinfile: path={{ dir }}/settings line=port=1 create=yes mode=0644
    - name: after
      command: touch {{ dir }}/after
    - name: done
      debug: msg=done
"#;

/// The same failure inside a block, which its `rescue` handles.
const RESCUED: &str = r#"
- hosts: all
  gather_facts: no
  vars:
    dir: "TARGET/{{ inventory_hostname }}"
  tasks:
    - command: /bin/true
      changed_when: false
    - file: path={{ dir }} state=directory mode=0755
    - block:
        - copy: content="x\n" dest={{ dir }}/file mode=0644
        - name: the failing change
          file:
            path: "{{ dir }}/{{ 'file/sub' if inventory_hostname == 'host2' else 'sub' }}"
            state: directory
          register: made
        - copy: content="y\n" dest={{ dir }}/later mode=0644
      rescue:
        - copy:
            content: "{{ 'failed' if made is failed else 'not failed' }}\n"
            dest: "{{ dir }}/rescued"
            mode: "0644"
    - command: touch {{ dir }}/after
"#;

/// A directory `name` in `parent` that the test bed's user may write in.
fn writable_directory(parent: &Path, name: &str) -> std::path::PathBuf {
    let directory = parent.join(name);
    std::fs::create_dir(&directory).expect("a directory");
    std::fs::set_permissions(&directory, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    directory
}

/// Runs `playbook` (its `TARGET` made a fresh directory) with drover.
fn drover(bed: &TestBed, playbook: &str) -> (Output, tempfile::TempDir) {
    let directory = tempfile::tempdir().expect("a directory");
    let target = writable_directory(directory.path(), "target");
    let playbook = playbook.replace("TARGET", &target.display().to_string());
    std::fs::write(directory.path().join("site.yml"), playbook).expect("the playbook");
    let output = support::play_on_bed(bed, directory.path())
        .env("DROVER_LOG", "drover_ssh::flight=debug")
        .output()
        .expect("drover runs");
    (output, directory)
}

/// Runs `playbook` the same way with Ansible, when it is installed.
fn ansible(bed: &TestBed, playbook: &str) -> Option<(Output, tempfile::TempDir)> {
    let ansible = support::ansible_tool("ansible-playbook")?;
    let directory = tempfile::tempdir().expect("a directory");
    let target = writable_directory(directory.path(), "target");
    let playbook = playbook.replace("TARGET", &target.display().to_string());
    std::fs::write(directory.path().join("site.yml"), playbook).expect("the playbook");
    let output = std::process::Command::new(ansible)
        .current_dir(directory.path())
        .args(["site.yml", "-i"])
        .arg(bed.inventory_file())
        .env("ANSIBLE_HOST_KEY_CHECKING", "True")
        .env(
            "ANSIBLE_SSH_ARGS",
            format!("-o UserKnownHostsFile={}", bed.known_hosts.display()),
        )
        .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
        .env("ANSIBLE_REMOTE_TMP", "/tmp/.ansible-remote-tmp")
        .env("ANSIBLE_STDOUT_CALLBACK", "default")
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible-playbook runs");
    Some((output, directory))
}

/// Runs `playbook` with Ansible too, when it is installed: its recap and
/// the files it leaves are drover's (`stdout` and `left`).
fn like_ansible(bed: &TestBed, playbook: &str, stdout: &str, left: &[String]) {
    let Some((theirs, their_directory)) = ansible(bed, playbook) else {
        return;
    };
    let theirs = support::text(&theirs.stdout);
    for host in ["host1", "host2"] {
        assert_eq!(
            support::recap(stdout, host),
            support::recap(&theirs, host),
            "{host}: drover's recap (left) and Ansible's (right):\n{stdout}\n{theirs}"
        );
    }
    assert_eq!(left, left_on_hosts(their_directory.path()));
}

/// The names under each host's directory, sorted, with file contents.
fn left_on_hosts(directory: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for host in ["host1", "host2"] {
        let base = directory.join("target").join(host);
        let mut names: Vec<String> = std::fs::read_dir(&base)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        for name in names {
            let content = std::fs::read_to_string(base.join(&name)).unwrap_or_default();
            found.push(format!("{host}/{name}: {content:?}"));
        }
    }
    found
}

/// The lines of `output` from the task header `task` to the next header.
fn under_task<'a>(output: &'a str, task: &str) -> Vec<&'a str> {
    output
        .lines()
        .skip_while(|line| !line.starts_with(&format!("TASK [{task}")))
        .skip(1)
        .take_while(|line| !line.starts_with("TASK [") && !line.starts_with("PLAY RECAP"))
        .collect()
}

/// A play variable that could show other hosts: the hosts go in step.
const IN_STEP: &str = "    in_step: \"{{ hostvars | length }}\"\n  tasks:";

#[test]
fn issue_18_a_change_sent_ahead_that_fails_is_its_own_tasks_failure() {
    let bed = TestBed::start(2);
    a_change_sent_ahead_fails(&bed, FAILING);
}

#[test]
fn issue_18_a_change_sent_ahead_that_fails_in_step_is_its_own_tasks_failure() {
    let bed = TestBed::start(2);
    a_change_sent_ahead_fails(&bed, &FAILING.replacen("  tasks:", IN_STEP, 1));
}

/// Runs `playbook` (`FAILING`, the hosts at their own pace or in step)
/// and checks what a change sent ahead that fails leaves.
fn a_change_sent_ahead_fails(bed: &TestBed, playbook: &str) {
    let (output, directory) = drover(bed, playbook);
    let stdout = support::text(&output.stdout);
    let stderr = support::text(&output.stderr);
    assert!(!output.status.success(), "{stdout}");
    // The failure is reported under its own task, not the flight's.
    let failing = under_task(&stdout, "the failing change");
    assert!(
        failing
            .iter()
            .any(|line| line.contains("host2") && line.contains("Not a directory")),
        "{stdout}"
    );
    for later in ["settings", "after", "done"] {
        assert!(
            under_task(&stdout, later)
                .iter()
                .all(|line| !line.contains("host2")),
            "host2 ran `{later}` after its failure:\n{stdout}"
        );
    }
    // Nothing after the failed change ran on host2.
    let left = left_on_hosts(directory.path());
    assert!(
        !left.iter().any(|line| line.starts_with("host2/after")),
        "{left:?}"
    );
    assert!(
        !left.iter().any(|line| line.starts_with("host2/settings")),
        "{left:?}"
    );
    assert!(
        left.iter().any(|line| line.starts_with("host1/after")),
        "{left:?}"
    );
    // The changes went ahead: one flight carried them.
    assert!(
        stderr.lines().any(|line| line.contains("ahead=3")),
        "{stderr}"
    );
    assert_eq!(support::recap(&stdout, "host2")[3], 1, "{stdout}");

    like_ansible(bed, playbook, &stdout, &left);
}

#[test]
fn issue_18_a_rescue_sees_the_change_sent_ahead_that_failed() {
    let bed = TestBed::start(2);
    a_rescue_sees_the_failed_change(&bed, RESCUED);
}

#[test]
fn issue_18_in_step_a_rescue_sees_the_change_sent_ahead_that_failed() {
    let bed = TestBed::start(2);
    a_rescue_sees_the_failed_change(&bed, &RESCUED.replacen("  tasks:", IN_STEP, 1));
}

/// Runs `playbook` (`RESCUED`, at their own pace or in step) and checks
/// that the rescue saw the failed change.
fn a_rescue_sees_the_failed_change(bed: &TestBed, playbook: &str) {
    let (output, directory) = drover(bed, playbook);
    let stdout = support::text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let left = left_on_hosts(directory.path());
    assert!(
        left.contains(&"host2/rescued: \"failed\\n\"".to_owned()),
        "{left:?}"
    );
    assert!(
        !left.iter().any(|line| line.starts_with("host2/later")),
        "{left:?}"
    );
    assert!(
        !left.iter().any(|line| line.starts_with("host1/rescued")),
        "{left:?}"
    );
    assert_eq!(support::recap(&stdout, "host2")[5], 1, "{stdout}");

    like_ansible(bed, playbook, &stdout, &left);
}
