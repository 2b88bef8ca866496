//! Regression tests for issue 8 ("Scale and speed"): consecutive file tasks
//! have their queries read ahead in one round trip, and a task still sees
//! what the tasks before it changed.

mod support;

use support::changed_per_host;

use std::os::unix::fs::PermissionsExt as _;
use std::process::Output;

use drover_test_harness::TestBed;

const PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: no
  vars:
    path: "TARGET/{{ inventory_hostname }}.conf"
  tasks:
    - copy: content="one\n" dest={{ path }} force=no
    - lineinfile: path={{ path }} line=two
    - blockinfile:
        path: "{{ path }}"
        block: three
    - file: path={{ path }} mode=0600
    - name: a condition that holds nowhere leaves its query unused
      file: path={{ path }} state=absent
      when: false
"#;

/// Runs the playbook, with a log line for every command sent to a host.
fn play(bed: &TestBed, directory: &std::path::Path) -> Output {
    support::play_on_bed(bed, directory)
        .env("DROVER_LOG", "drover_ssh=trace")
        .output()
        .expect("drover runs")
}

/// How many commands were sent to any host.
fn commands(output: &Output) -> usize {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.contains(" exec ") && line.contains("bytes="))
        .count()
}

#[test]
fn issue_8_file_tasks_are_asked_about_together_and_see_each_others_changes() {
    let bed = TestBed::start(2);
    let directory = tempfile::tempdir().expect("a directory");
    let target = directory.path().join("target");
    std::fs::create_dir(&target).expect("a target directory");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    std::fs::write(
        directory.path().join("site.yml"),
        PLAYBOOK.replace("TARGET", &target.display().to_string()),
    )
    .expect("the playbook");
    let expected = "one\ntwo\n# BEGIN ANSIBLE MANAGED BLOCK\nthree\n# END ANSIBLE MANAGED BLOCK\n";
    let read =
        |host: &str| std::fs::read_to_string(target.join(format!("{host}.conf"))).expect("written");

    // Each task changes the file the next one reads: each must read it anew.
    let first = play(&bed, directory.path());
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    assert_eq!(changed_per_host(&support::text(&first.stdout)), [4, 4]);
    assert_eq!(read("host1"), expected);

    // Settled: the four queries are one command per host.
    let second = play(&bed, directory.path());
    assert_eq!(
        changed_per_host(&support::text(&second.stdout)),
        [0, 0],
        "{}\n{}",
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&second.stdout)
    );
    assert_eq!(
        commands(&second),
        2,
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    // Drift on one host: its tasks after the first change ask again.
    std::fs::write(target.join("host2.conf"), "one\n").expect("drift");
    let third = play(&bed, directory.path());
    assert_eq!(
        changed_per_host(&support::text(&third.stdout)),
        [0, 2],
        "{}",
        String::from_utf8_lossy(&third.stdout)
    );
    assert_eq!(read("host2"), expected);
    let mode = std::fs::metadata(target.join("host2.conf"))
        .expect("there")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
