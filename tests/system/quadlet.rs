//! The `quadlet` module on a full host running Debian trixie, whose podman
//! (5.x) has Quadlet: the app runs as a systemd service from a `.container`
//! unit, is left alone when nothing changed, is upgraded by a new unit, and
//! is rolled back to the previous unit when a release fails readiness, and
//! a unit whose service does not start is replaced by the previous one
//! within its task (issue 14).
//! (Debian bookworm's podman 4.3 predates Quadlet.)
//!
//! A regression test for issue 6 ("Container rollouts").

use drover_test_harness::full::Options;
use serde_json::Value as Json;

use super::{on_host, play, recap, results};

#[test]
fn issue_6_quadlet_runs_the_app_as_a_systemd_service() {
    let _one_bed_at_a_time = super::FULL_BED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(bed) = super::start_bed(Options {
        count: 1,
        engines: true,
        release: Some("trixie"),
    }) else {
        return;
    };
    let images = tempfile::tempdir().expect("a directory for the images");
    super::app_images(images.path());
    let image_dir = format!("image_dir={}", images.path().display());
    let playbook = "tests/system/playbooks/quadlet.yml";
    let arguments = |version: &'static str| -> Vec<String> {
        vec![
            "-e".into(),
            image_dir.clone(),
            "-e".into(),
            format!("version={version}"),
        ]
    };
    let run = |version: &'static str, extra: &[&str]| {
        let mut all = arguments(version);
        all.extend(extra.iter().map(|text| (*text).to_owned()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        play(&bed, playbook, &all)
    };
    // A run expected to fail: its output, unchecked.
    let failing = |version: &'static str, extra: &[&str]| {
        let mut all = vec![
            "play".to_owned(),
            playbook.to_owned(),
            "--output".into(),
            "json".into(),
        ];
        all.extend(arguments(version));
        all.extend(extra.iter().map(|text| (*text).to_owned()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        super::drover(&bed, &bed.inventory, &all)
    };
    let serving = || on_host(&bed, "dv-1", "curl -s http://127.0.0.1:8080/");

    let first = run("1", &[]);
    assert_eq!(
        recap(&first)[0].1,
        2,
        "the image is loaded and the unit written"
    );
    assert_eq!(
        on_host(&bed, "dv-1", "systemctl is-active app.service").trim(),
        "active"
    );
    assert_eq!(serving(), "app v1\n");
    let unit = on_host(&bed, "dv-1", "cat /etc/containers/systemd/app.container");
    assert!(
        unit.contains("Environment=\"GREETING=hello world\""),
        "{unit}"
    );

    assert_eq!(recap(&run("1", &[]))[0].1, 0, "nothing changes twice");

    let check = run("2", &["--check", "--diff"]);
    let diff = results(&check, "the app runs as a systemd service")[0]["diff"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        diff.contains("-Image=localhost/drover/app:1")
            && diff.contains("+Image=localhost/drover/app:2"),
        "{diff}"
    );
    assert_eq!(serving(), "app v1\n", "check mode changed nothing");

    run("2", &[]);
    assert_eq!(serving(), "app v2\n");
    let release: Json = serde_json::from_str(&on_host(
        &bed,
        "dv-1",
        "cat /var/lib/drover/releases/app.json",
    ))
    .expect("the release record is JSON");
    assert_eq!(release["kind"], "quadlet");
    assert_eq!(release["previous"]["image"], "localhost/drover/app:1");

    // v3 never serves /healthz: the gate fails and the v2 unit comes back.
    let broken = failing("3", &[]);
    assert_eq!(
        broken.status.code(),
        Some(2),
        "{}",
        super::text(&broken.stdout)
    );
    assert!(super::text(&broken.stdout).contains("ROLLBACK"));
    let unit = on_host(&bed, "dv-1", "cat /etc/containers/systemd/app.container");
    assert!(unit.contains("Image=localhost/drover/app:2"), "{unit}");
    assert_eq!(serving(), "app v2\n", "rolled back to v2");

    // v1 whose command is not in the image: the service does not start, and
    // the task itself writes the v2 unit back and starts it (issue 14).
    let unstartable = failing("1", &["-e", "exec=/bin/no-such-command"]);
    let stdout = super::text(&unstartable.stdout);
    assert_eq!(unstartable.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("the previous unit runs again"), "{stdout}");
    let unit = on_host(&bed, "dv-1", "cat /etc/containers/systemd/app.container");
    assert!(unit.contains("Image=localhost/drover/app:2"), "{unit}");
    assert_eq!(serving(), "app v2\n", "v2 runs again");

    let removed = play(&bed, "tests/system/playbooks/quadlet-remove.yml", &[]);
    assert_eq!(recap(&removed)[0].1, 1);
    assert_eq!(
        on_host(
            &bed,
            "dv-1",
            "test -e /etc/containers/systemd/app.container && echo left || echo gone"
        )
        .trim(),
        "gone"
    );
    assert_ne!(
        on_host(&bed, "dv-1", "systemctl is-active app.service || true").trim(),
        "active"
    );
}
