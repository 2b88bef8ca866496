//! Regression tests for issue 18 ("Fast over real networks"): a task's
//! flights carry the next tasks' queries, so a settled run of the
//! benchmark's shape costs two round trips per host after connecting, and
//! what rides along never answers for a state a change has replaced.

mod support;

use support::changed_per_host;

use std::os::unix::fs::PermissionsExt as _;
use std::process::Output;

use drover_test_harness::TestBed;

/// The benchmark playbook's shape (`bench/playbook/bench.yml`).
const PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: no
  vars:
    dir: "TARGET/{{ inventory_hostname }}"
  tasks:
    - command: /bin/true
      changed_when: false
    - file: path={{ dir }} state=directory mode=0755
    - copy:
        content: "hello {{ inventory_hostname }}\n"
        dest: "{{ dir }}/hello.txt"
        mode: "0644"
    - lineinfile:
        path: "{{ dir }}/settings"
        regexp: "^port="
        line: "port=8080"
        create: yes
        mode: "0644"
    - command: touch {{ dir }}/stamp creates={{ dir }}/stamp
    - stat: path={{ dir }}/hello.txt
      register: hello
    - assert:
        that: hello.stat.exists and hello.stat.checksum == "CHECKSUM"
    - shell: cat {{ dir }}/hello.txt > /dev/null
      changed_when: false
    - file: path={{ dir }}/stamp mode=0600
"#;

/// Runs the playbook with a trace line for every flight, and `extra` arguments.
fn play(bed: &TestBed, directory: &std::path::Path, extra: &[&str]) -> Output {
    support::play_on_bed(bed, directory)
        .args(extra)
        .env("DROVER_LOG", "drover_ssh::flight=debug")
        .output()
        .expect("drover runs")
}

/// A directory `name` in `parent` that the test bed's user may write in.
fn writable_directory(parent: &std::path::Path, name: &str) -> std::path::PathBuf {
    let directory = parent.join(name);
    std::fs::create_dir(&directory).expect("a directory");
    std::fs::set_permissions(&directory, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    directory
}

/// How many flights (commands, with whatever rode along) went to any host.
fn flights(output: &Output) -> usize {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.contains(" flight ") && line.contains("wait_ms="))
        .count()
}

/// The SHA-1 of `text`, as `stat` reports a file's checksum.
fn sha1(text: &str) -> String {
    let output = std::process::Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("sha1sum runs");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .expect("a checksum")
        .to_owned()
}

#[test]
fn issue_18_a_settled_run_costs_two_flights_per_host_and_riders_see_each_change() {
    let bed = TestBed::start(2);
    let directory = tempfile::tempdir().expect("a directory");
    let target = writable_directory(directory.path(), "target");
    // Both hosts' content differs only in the name; the assert checks host1's.
    let playbook = PLAYBOOK
        .replace("TARGET", &target.display().to_string())
        .replace("CHECKSUM", "{{ checksums[inventory_hostname] }}");
    std::fs::write(directory.path().join("site.yml"), playbook).expect("the playbook");
    let checksums = format!(
        "{{\"checksums\": {{\"host1\": \"{}\", \"host2\": \"{}\"}}}}",
        sha1("hello host1\n"),
        sha1("hello host2\n")
    );
    let extra = ["-e", checksums.as_str()];

    // The first run changes five things per host. Each change is a flight
    // that carries the next tasks' queries, and the stat after the touch
    // must see the copy's file: the assert proves the answer was fresh.
    let first = play(&bed, directory.path(), &extra);
    let stdout = support::text(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}\n{}",
        support::text(&first.stderr)
    );
    assert_eq!(changed_per_host(&stdout), [5, 5], "{stdout}");
    assert_eq!(flights(&first), 2 * 4, "{}", support::text(&first.stderr));
    let hello = target.join("host1/hello.txt");
    assert_eq!(
        std::fs::read_to_string(&hello).expect("copied"),
        "hello host1\n"
    );
    let stamp = target.join("host1/stamp");
    assert_eq!(
        std::fs::metadata(&stamp)
            .expect("there")
            .permissions()
            .mode()
            & 0o777,
        0o600,
        "the last task saw the stamp the touch made"
    );

    // Settled: the command with the first tasks' queries, and the shell
    // with the last task's. Nothing else goes to the host.
    let second = play(&bed, directory.path(), &extra);
    let stdout = support::text(&second.stdout);
    assert!(second.status.success(), "{stdout}");
    assert_eq!(changed_per_host(&stdout), [0, 0], "{stdout}");
    assert_eq!(flights(&second), 2 * 2, "{}", support::text(&second.stderr));

    // Drift on one host, between the runs: it is seen, and mended.
    std::fs::remove_file(target.join("host2/stamp")).expect("drift");
    std::fs::write(target.join("host2/settings"), "port=9090\n").expect("drift");
    let third = play(&bed, directory.path(), &extra);
    let stdout = support::text(&third.stdout);
    // The settings, the stamp made again, and the new stamp's mode.
    assert_eq!(changed_per_host(&stdout), [0, 3], "{stdout}");
    assert_eq!(
        std::fs::read_to_string(target.join("host2/settings")).expect("there"),
        "port=8080\n"
    );
    assert!(target.join("host2/stamp").exists());
}

/// `creates` relative to `chdir` is looked for there, as in Ansible, and a
/// read-ahead does not answer for it from elsewhere.
#[test]
fn issue_18_creates_relative_to_chdir_is_looked_for_in_chdir() {
    let bed = TestBed::start(1);
    let directory = tempfile::tempdir().expect("a directory");
    let work = writable_directory(directory.path(), "work");
    std::fs::write(work.join("made"), "").expect("the file `creates` names");
    let playbook = format!(
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - command: touch ran\n      args:\n        chdir: {work}\n        creates: made\n    - command: touch ran-too\n      args:\n        chdir: {work}\n        creates: not-made\n",
        work = work.display()
    );
    std::fs::write(directory.path().join("site.yml"), playbook).expect("the playbook");
    let output = play(&bed, directory.path(), &[]);
    let stdout = support::text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(changed_per_host(&stdout), [1], "{stdout}");
    assert!(!work.join("ran").exists(), "`made` is there: skipped");
    assert!(work.join("ran-too").exists(), "`not-made` is not: run");
}

/// `-vv` shows one line per flight, with the bytes each way and the wait.
#[test]
fn issue_18_double_verbose_traces_each_flight() {
    let bed = TestBed::start(1);
    let directory = tempfile::tempdir().expect("a directory");
    std::fs::write(
        directory.path().join("site.yml"),
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - command: /bin/true\n",
    )
    .expect("the playbook");
    let output = support::play_on_bed(&bed, directory.path())
        .arg("-vv")
        .env_remove("DROVER_LOG")
        .output()
        .expect("drover runs");
    let stderr = support::text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let line = stderr
        .lines()
        .find(|line| line.contains(" flight ") && line.contains("flight=1"))
        .unwrap_or_else(|| panic!("no flight line in:\n{stderr}"));
    for field in ["host=", "sent=", "received=", "wait_ms="] {
        assert!(line.contains(field), "{field} missing from `{line}`");
    }
    assert!(
        stderr.lines().any(|line| line.contains(" connected ")),
        "{stderr}"
    );
}
