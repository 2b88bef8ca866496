//! The `feature` module on light hosts: a flag turned on for one host, then
//! for all, each change notifying a reload, and nothing changing twice.

use std::process::Command;

use drover_test_harness::TestBed;

const PLAYBOOK: &str = r#"- hosts: all
  gather_facts: no
  vars:
    flags: "DIR/{{ inventory_hostname }}.json"
  tasks:
    - name: the new checkout is on
      feature:
        name: new_checkout
        path: "{{ flags }}"
        state: "{{ flag_state }}"
      notify: reload the app
  handlers:
    - name: reload the app
      shell: echo reloaded >> "{{ flags }}.reloads"
"#;

/// A directory the light hosts' user may write to (they share this machine).
fn shared_directory() -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("a directory");
    std::fs::set_permissions(
        directory.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("a shared directory");
    directory
}

/// `template` as `site.yml` in `directory`, its `DIR` naming the directory.
fn write_playbook(directory: &tempfile::TempDir, template: &str) -> std::path::PathBuf {
    let playbook = directory.path().join("site.yml");
    std::fs::write(
        &playbook,
        template.replace("DIR", &directory.path().display().to_string()),
    )
    .expect("playbook written");
    playbook
}

#[test]
fn issue_6_a_feature_flag_goes_to_one_host_then_all() {
    let bed = TestBed::start(3);
    let directory = shared_directory();
    let playbook = write_playbook(&directory, PLAYBOOK);
    let play = |state: &str, limit: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_drover"));
        command
            .args(["play", "-i"])
            .arg(bed.inventory_file())
            .arg("--known-hosts")
            .arg(&bed.known_hosts)
            .arg(&playbook)
            .args(["-e", &format!("flag_state={state}")]);
        if let Some(limit) = limit {
            command.args(["--limit", limit]);
        }
        let output = command.output().expect("drover runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
    };
    let flag = |host: &str| -> Option<bool> {
        let text = std::fs::read_to_string(directory.path().join(format!("{host}.json"))).ok()?;
        let flags: serde_json::Value = serde_json::from_str(&text).ok()?;
        flags["new_checkout"].as_bool()
    };
    let reloads = |host: &str| {
        std::fs::read_to_string(directory.path().join(format!("{host}.json.reloads")))
            .map_or(0, |text| text.lines().count())
    };
    play("on", Some("host1"));
    assert_eq!(
        (flag("host1"), flag("host2"), flag("host3")),
        (Some(true), None, None)
    );
    play("on", None);
    play("on", None);
    for host in ["host1", "host2", "host3"] {
        assert_eq!(flag(host), Some(true));
        assert_eq!(
            reloads(host),
            1,
            "{host} reloaded once, when its flag changed"
        );
    }
    play("off", None);
    assert_eq!(flag("host2"), Some(false));
    assert_eq!(reloads("host2"), 2);
}

/// `playbooks/rollout-toggle.yml`: the flag goes on for one host, the run
/// waits for `drover rollout promote`, then it goes on for the rest; turned
/// off, then aborted, the play's `rollback:` tasks turn it back on.
#[test]
fn issue_6_a_toggle_rollout_turns_a_flag_on_step_by_step() {
    let bed = TestBed::start(3);
    let directory = shared_directory();
    let run_directory = directory.path().join("run");
    let flags = serde_json::json!({
        "flags_file": format!("{}/{{{{ inventory_hostname }}}}.json", directory.path().display())
    })
    .to_string();
    let start = |state: &str| {
        Command::new(env!("CARGO_BIN_EXE_drover"))
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .args(["play", "playbooks/rollout-toggle.yml", "-i"])
            .arg(bed.inventory_file())
            .arg("--known-hosts")
            .arg(&bed.known_hosts)
            .args(["-e", &flags, "-e", &format!("flag_state={state}")])
            .env("DROVER_RUN_DIR", &run_directory)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("drover starts")
    };
    let flag = |host: &str| -> Option<bool> {
        let text = std::fs::read_to_string(directory.path().join(format!("{host}.json"))).ok()?;
        let flags: serde_json::Value = serde_json::from_str(&text).ok()?;
        flags["new_checkout"].as_bool()
    };
    let wait_for_pause = || {
        let pause = run_directory.join("new_checkout.pause");
        for _ in 0..600 {
            if pause.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the toggle never paused");
    };
    let decide = |decision: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(["rollout", decision])
            .env("DROVER_RUN_DIR", &run_directory)
            .output()
            .expect("drover runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let pause = run_directory.join("new_checkout.pause");
        for _ in 0..300 {
            if !pause.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the toggle never went on");
    };
    let all = || (flag("host1"), flag("host2"), flag("host3"));

    let first = start("on");
    wait_for_pause();
    assert_eq!(all(), (Some(true), None, None), "on for one host first");
    decide("promote");
    let output = first.wait_with_output().expect("the rollout ends");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(all(), (Some(true), Some(true), Some(true)), "then for all");

    // Nothing changes on the second run, so it never waits.
    let again = start("on").wait_with_output().expect("the rollout ends");
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("changed=0"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );

    // Off on the first host, then aborted: the `rollback:` tasks turn it
    // back on there, and the other hosts were never touched.
    let off = start("off");
    wait_for_pause();
    assert_eq!(all(), (Some(false), Some(true), Some(true)));
    decide("abort");
    let output = off.wait_with_output().expect("the rollout ends");
    assert_eq!(
        output.status.code(),
        Some(2),
        "an aborted rollout fails the run"
    );
    assert_eq!(all(), (Some(true), Some(true), Some(true)));
}

const LIVENESS_PLAYBOOK: &str = r#"- hosts: all
  gather_facts: no
  rollout:
    strategy: rolling
    batch: 1
    readiness:
      command: "true"
    liveness:
      command: "test -e DIR/{{ inventory_hostname }}.alive"
      initial_delay: 1.5
      period: 0.2
      failure_threshold: 2
    on_failure: rollback
  tasks:
    - name: the release is deployed
      copy:
        content: v2
        dest: "DIR/{{ inventory_hostname }}.release"
    - name: it comes up
      file:
        path: "DIR/{{ inventory_hostname }}.alive"
        state: touch
    - name: on host2 it dies a moment later
      shell: "(sleep 0.5; rm -f DIR/{{ inventory_hostname }}.alive) >/dev/null 2>&1 &"
      when: inventory_hostname == 'host2'
  rollback:
    - name: the previous release comes back
      copy:
        content: v1
        dest: "DIR/{{ inventory_hostname }}.release"
"#;

/// A host that passes readiness and then dies fails the liveness check run
/// after its batch: the rollout stops, every host it reached gets the
/// play's `rollback:` tasks (the last batch first), and the rest are never
/// touched.
#[test]
fn issue_6_a_host_that_dies_after_readiness_fails_liveness_and_is_rolled_back() {
    let bed = TestBed::start(3);
    let directory = shared_directory();
    let playbook = write_playbook(&directory, LIVENESS_PLAYBOOK);
    let output = Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(["play", "-i"])
        .arg(bed.inventory_file())
        .arg("--known-hosts")
        .arg(&bed.known_hosts)
        .arg(&playbook)
        .env("NO_COLOR", "1")
        .output()
        .expect("drover runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("liveness check command `test -e")
            && stdout.contains("failed 2 time(s) in a row on host2"),
        "the report names the host and the check: {stdout}"
    );
    let release =
        |host: &str| std::fs::read_to_string(directory.path().join(format!("{host}.release"))).ok();
    assert_eq!(release("host1").as_deref(), Some("v1"), "host1 rolled back");
    assert_eq!(release("host2").as_deref(), Some("v1"), "host2 rolled back");
    assert_eq!(release("host3"), None, "host3 was never touched");
}
