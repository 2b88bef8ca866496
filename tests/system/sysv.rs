//! The `service` module on a host without systemd: light hosts share this
//! machine, whose PID 1 is not systemd, so `service` must fall back to the
//! `service` command, init scripts and `update-rc.d`.

use std::process::Command;

use drover_test_harness::TestBed;

/// An LSB init script that "runs" while its marker file exists.
fn init_script(name: &str) -> String {
    format!(
        "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: {name}\n# Required-Start:\n# Required-Stop:\n\
         # Default-Start: 2 3 4 5\n# Default-Stop: 0 1 6\n# Short-Description: drover test service\n### END INIT INFO\n\
         marker=/run/{name}.running\n\
         case \"$1\" in\n  start) touch $marker ;;\n  stop) rm -f $marker ;;\n  restart|reload|force-reload) touch $marker ;;\n\
           status) [ -e $marker ] ;;\n  *) exit 3 ;;\nesac\n"
    )
}

#[test]
fn issue_5_service_falls_back_to_init_scripts_without_systemd() {
    if !drover_test_harness::is_root() || std::path::Path::new("/run/systemd/system").exists() {
        eprintln!("skipped: needs root on a machine whose PID 1 is not systemd");
        return;
    }
    let name = format!("drover-sysv-{}", std::process::id());
    let script = std::path::PathBuf::from(format!("/etc/init.d/{name}"));
    std::fs::write(&script, init_script(&name)).expect("init script written");
    Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .expect("chmod");
    let bed = TestBed::start(1);
    let project = tempfile::tempdir().expect("a project directory");
    let playbook = project.path().join("site.yml");
    let play = |state: &str, enabled: &str| {
        std::fs::write(
            &playbook,
            format!(
                "- hosts: all\n  gather_facts: no\n  become: yes\n  tasks:\n    - name: the service\n      \
                 service: name={name} state={state} enabled={enabled}\n"
            ),
        )
        .expect("playbook written");
        let output = Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(["play", "--output", "json", "-i"])
            .arg(bed.inventory_file())
            .arg("--known-hosts")
            .arg(&bed.known_hosts)
            .arg(&playbook)
            .output()
            .expect("drover runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|event| event["event"] == "host_result")
            .map(|event| event["status"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    let marker = std::path::PathBuf::from(format!("/run/{name}.running"));
    let links = || {
        std::fs::read_dir("/etc/rc2.d").is_ok_and(|entries| {
            entries
                .flatten()
                .any(|entry| entry.file_name().to_string_lossy().ends_with(&name))
        })
    };
    assert_eq!(play("started", "yes"), "changed");
    assert!(
        marker.exists() && links(),
        "started through the init script, and enabled"
    );
    assert_eq!(play("started", "yes"), "ok", "a second run changes nothing");
    assert_eq!(play("stopped", "no"), "changed");
    assert!(!marker.exists(), "stopped");
    assert_eq!(play("stopped", "no"), "ok");
    let _ = Command::new("update-rc.d")
        .args(["-f", &name, "remove"])
        .status();
    let _ = std::fs::remove_file(&script);
}
