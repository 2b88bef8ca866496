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

#[test]
fn issue_6_a_feature_flag_goes_to_one_host_then_all() {
    let bed = TestBed::start(3);
    let directory = tempfile::tempdir().expect("a directory");
    std::fs::set_permissions(
        directory.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("a shared directory");
    let playbook = directory.path().join("site.yml");
    std::fs::write(
        &playbook,
        PLAYBOOK.replace("DIR", &directory.path().display().to_string()),
    )
    .expect("playbook written");
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
