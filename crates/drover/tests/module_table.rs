//! A module's table is the one word on what it takes, at load time and at
//! run time alike: every choice it lists runs (`file` listed `state: hard`
//! and refused it when the task ran), an alias reaches the module under
//! its argument's name, and a template that renders to a value the table
//! refuses fails the task with the module, the argument and the task's
//! place, reported like a load error. Run on this machine through the
//! local connection.
//!
//! Regression tests for issue 15 ("one module, one file").

mod support;

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

/// Two hosts, both this machine through the local connection.
fn inventory(directory: &Path) {
    std::fs::write(
        directory.join("hosts.ini"),
        "one ansible_connection=local\ntwo ansible_connection=local\n",
    )
    .expect("the inventory is written");
}

#[test]
fn issue_15_every_choice_in_the_table_runs_and_aliases_reach_the_module() {
    let directory = tempfile::tempdir().expect("a directory");
    inventory(directory.path());
    let base = directory.path().display();
    std::fs::write(
        directory.path().join("site.yml"),
        format!(
            "- hosts: one\n  gather_facts: no\n  tasks:\n\
             \x20   - copy: {{dest: '{base}/original', content: \"one\\n\"}}\n\
             \x20   - file: {{src: '{base}/original', dest: '{base}/hard', state: hard}}\n\
             \x20   - file: {{name: '{base}/touched', state: touch, mode: '0600'}}\n\
             \x20   - lineinfile: {{destfile: '{base}/touched', line: added}}\n"
        ),
    )
    .expect("the playbook is written");
    let play = || support::drover(directory.path(), &["play", "site.yml", "-i", "hosts.ini"]);
    let first = play();
    let stdout = support::text(&first.stdout);
    assert_eq!(first.status.code(), Some(0), "{stdout}");
    assert_eq!(
        support::recap(&stdout, "one")[1],
        4,
        "all four change: {stdout}"
    );
    let original = std::fs::metadata(directory.path().join("original")).expect("the original");
    let hard = std::fs::metadata(directory.path().join("hard")).expect("the hard link");
    assert_eq!(
        (hard.dev(), hard.ino()),
        (original.dev(), original.ino()),
        "`hard` is a hard link to `original`"
    );
    assert_eq!(hard.nlink(), 2);
    let touched = directory.path().join("touched");
    assert_eq!(
        std::fs::read_to_string(&touched).expect("the touched file"),
        "added\n",
        "`destfile` reached lineinfile as its `path`"
    );
    assert_eq!(
        std::fs::metadata(&touched)
            .expect("the touched file")
            .mode()
            & 0o777,
        0o600,
        "`name` reached file as its `path`"
    );
    let again = play();
    let stdout = support::text(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{stdout}");
    // `touch` always touches, as in Ansible; the others settle.
    assert_eq!(support::recap(&stdout, "one")[1], 1, "{stdout}");
}

#[test]
fn issue_15_a_rendered_value_the_table_refuses_fails_with_the_task_place() {
    let directory = tempfile::tempdir().expect("a directory");
    inventory(directory.path());
    let base = directory.path().display();
    std::fs::write(
        directory.path().join("site.yml"),
        format!(
            "- hosts: all\n  gather_facts: no\n  vars:\n    wanted: hardlink\n  tasks:\n\
             \x20   - name: a link\n      file:\n        path: '{base}/link'\n        state: \"{{{{ wanted }}}}\"\n\
             \x20   - name: never\n      debug: {{msg: never}}\n"
        ),
    )
    .expect("the playbook is written");
    let output = support::drover(directory.path(), &["play", "site.yml", "-i", "hosts.ini"]);
    let (stdout, stderr) = (support::text(&output.stdout), support::text(&output.stderr));
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(
            "argument `state` of `file` must be one of absent, directory, file, hard, link, touch, not `hardlink`, in task `a link` at site.yml:6"
        ),
        "the result names the module, the argument and the task's place: {stdout}"
    );
    assert!(!stdout.contains("TASK [never]"), "{stdout}");
    assert_eq!(
        stderr.matches("must be one of").count(),
        1,
        "one report for the task, not one per host: {stderr}"
    );
    assert!(
        stderr.contains("[site.yml:6:7]") && stderr.contains("- name: a link"),
        "the report shows the task's line, as a load error does: {stderr}"
    );
    assert!(stderr.contains("help: did you mean `hard`?"), "{stderr}");
    let json = support::drover(
        directory.path(),
        &["play", "site.yml", "-i", "hosts.ini", "--output", "json"],
    );
    let problem = support::text(&json.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|event| {
            event
                .get("problem")
                .filter(|value| !value.is_null())
                .cloned()
        })
        .expect("a result with a problem");
    assert_eq!(problem["line"], 6);
    assert_eq!(problem["file"], "site.yml");
}

/// What Ansible finds only when a task runs (an argument the module does
/// not take, a module drover does not implement) is a warning with its
/// place, and fails only the task that runs; `--strict` refuses it before
/// anything runs. Regression test for issue 16.
#[test]
fn issue_16_what_ansible_finds_when_a_task_runs_fails_only_that_task() {
    let directory = tempfile::tempdir().expect("a directory");
    inventory(directory.path());
    std::fs::write(
        directory.path().join("site.yml"),
        "- hosts: one\n  gather_facts: no\n  tasks:\n\
         \x20   - name: on other systems\n      apt: {name: git, allow_change_held_packages: true}\n      when: false\n\
         \x20   - name: not here either\n      snap: {name: hello}\n      when: false\n\
         \x20   - name: this one runs\n      jenkins_plugin: {name: git}\n",
    )
    .expect("the playbook is written");
    let output = support::drover(directory.path(), &["play", "site.yml", "-i", "hosts.ini"]);
    let (stdout, stderr) = (support::text(&output.stdout), support::text(&output.stderr));
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    assert_eq!(support::recap(&stdout, "one")[3..5], [1, 2], "{stdout}");
    assert!(
        stderr.contains("! module `apt` has no argument `allow_change_held_packages`")
            && stderr.contains("! `snap` is not implemented by drover; the task fails if it runs"),
        "warnings at load time: {stderr}"
    );
    assert!(
        stdout.contains(
            "`jenkins_plugin` is not implemented by drover, in task `this one runs` at site.yml:10"
        ),
        "{stdout}"
    );
    let strict = support::drover(
        directory.path(),
        &["play", "site.yml", "-i", "hosts.ini", "--strict"],
    );
    let stderr = support::text(&strict.stderr);
    assert_eq!(strict.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("3 problem(s)"), "{stderr}");
    assert!(!support::text(&strict.stdout).contains("TASK ["));
}
