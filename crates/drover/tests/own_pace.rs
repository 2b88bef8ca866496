//! Regression tests for issue 18 ("Fast over real networks"): under the
//! linear strategy, hosts run a stretch of tasks that cannot see each other
//! at their own pace, and the output still reads in linear order; a
//! stretch that could see other hosts keeps them in step.

mod support;

use std::os::unix::fs::PermissionsExt as _;

use drover_test_harness::TestBed;

/// host1's first task waits (up to `SECONDS`) for host2's second task.
/// In lockstep host2 cannot start its second task before host1 has ended
/// its first, so host1 gives up and fails.
const PLAYBOOK: &str = r"
- hosts: all
  gather_facts: no
  tasks:
    - name: wait for the other host
      shell: >-
        if [ {{ inventory_hostname }} = host1 ]; then
        for i in $(seq $((SECONDS * 10))); do [ -e TARGET/marker ] && exit 0; sleep 0.1; done;
        exit 1; fi
    - name: mark
      file: path=TARGET/marker state=touch mode=0644
      when: inventory_hostname == 'host2'EXTRA
    - name: done
      debug:
        msg: done
";

/// Runs the playbook with `extra` added to the second task's condition.
fn play(bed: &TestBed, extra: &str, seconds: u32) -> (String, std::process::ExitStatus) {
    let directory = tempfile::tempdir().expect("a directory");
    let target = directory.path().join("target");
    std::fs::create_dir(&target).expect("a directory");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let playbook = PLAYBOOK
        .replace("TARGET", &target.display().to_string())
        .replace("SECONDS", &seconds.to_string())
        .replace("EXTRA", extra);
    std::fs::write(directory.path().join("site.yml"), playbook).expect("the playbook");
    let output = support::play_on_bed(bed, directory.path())
        .output()
        .expect("drover runs");
    (support::text(&output.stdout), output.status)
}

/// The task headers and host lines of `output`, in order.
fn outline(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|line| {
            line.starts_with("TASK [")
                || line.starts_with("ok: ")
                || line.starts_with("changed: ")
                || line.starts_with("skipping: ")
                || line.starts_with("fatal: ")
        })
        .map(|line| {
            line.split_once(" *")
                .map_or(line, |(head, _)| head)
                .split(" =>")
                .next()
                .unwrap_or(line)
                .to_owned()
        })
        .collect()
}

#[test]
fn issue_18_hosts_run_a_stretch_at_their_own_pace_and_print_in_linear_order() {
    let bed = TestBed::start(2);
    let (stdout, status) = play(&bed, "", 20);
    assert!(status.success(), "host1 waited in lockstep:\n{stdout}");
    assert_eq!(
        outline(&stdout),
        [
            "TASK [wait for the other host]",
            "changed: [host1]",
            "changed: [host2]",
            "TASK [mark]",
            "skipping: [host1]",
            "changed: [host2]",
            "TASK [done]",
            "ok: [host1]",
            "ok: [host2]",
        ],
        "{stdout}"
    );
    assert_eq!(support::recap(&stdout, "host1"), [2, 1, 0, 0, 1, 0, 0]);
    assert_eq!(support::recap(&stdout, "host2"), [3, 2, 0, 0, 0, 0, 0]);
}

#[test]
fn issue_18_a_stretch_that_looks_at_other_hosts_keeps_them_in_step() {
    let bed = TestBed::start(2);
    let (stdout, status) = play(&bed, " and hostvars | length == 2", 2);
    assert!(!status.success(), "{stdout}");
    assert!(
        outline(&stdout)
            .iter()
            .any(|line| line.starts_with("fatal: [host1]")),
        "{stdout}"
    );
}
