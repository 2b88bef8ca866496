//! Conditions fail the host the same way wherever they are written: a
//! block's `when` that cannot be evaluated fails the host (its `rescue`
//! runs, as it would after a failed task), where it used to read as false
//! and skip the block silently. Run on this machine through the local
//! connection.
//!
//! Regression tests for issue 15 ("one function evaluates conditions").

mod support;

#[test]
fn issue_15_a_block_whose_when_cannot_be_evaluated_fails_the_host() {
    let directory = tempfile::tempdir().expect("a directory");
    std::fs::write(
        directory.path().join("hosts.ini"),
        "localhost ansible_connection=local\n",
    )
    .expect("the inventory is written");
    std::fs::write(
        directory.path().join("site.yml"),
        "- hosts: all\n  gather_facts: no\n  tasks:\n\
         \x20   - name: a guarded block\n      when: no_such_variable == 1\n      block:\n\
         \x20       - name: inside the block\n          debug: {msg: inside}\n      rescue:\n\
         \x20       - name: rescued\n          debug: {msg: rescued}\n\
         \x20   - name: a guarded block without rescue\n      when: no_such_variable == 1\n      block:\n\
         \x20       - name: inside again\n          debug: {msg: inside}\n\
         \x20   - name: never\n      debug: {msg: never}\n",
    )
    .expect("the playbook is written");
    let output = support::drover(directory.path(), &["play", "site.yml", "-i", "hosts.ini"]);
    let stdout = support::text(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "the host fails: {stdout}");
    assert!(
        stdout.contains(
            "the condition `no_such_variable == 1` could not be evaluated: `no_such_variable` is undefined, in task `a guarded block` at site.yml:4"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("TASK [a guarded block]"), "{stdout}");
    assert!(stdout.contains("TASK [rescued]"), "rescue runs: {stdout}");
    assert!(
        !stdout.contains("TASK [inside"),
        "no task of either block runs: {stdout}"
    );
    assert!(
        !stdout.contains("TASK [never]"),
        "the failed host stops: {stdout}"
    );
    assert!(
        stdout.contains("failed=1") && stdout.contains("rescued=1"),
        "{stdout}"
    );
}
