//! Images reach hosts over SSH without a registry: drover serves them
//! through a port forwarded over each host's connection, on a docker host
//! (dv-1) and a podman host (dv-2). A first push sends the image; a second
//! one, of an image that differs only in its top layer, sends that layer; a
//! corrupt or truncated archive fails with its reason and leaves the hosts
//! as they were; an image from the controller's own podman store goes the
//! same way; a host whose SSH server will not forward gets the whole
//! archive; and a rolling rollout deploys a release that arrived by push.
//!
//! Regression tests for issue 14 ("images reach hosts over SSH without a
//! registry").

use std::path::Path;
use std::process::Command;

use drover_test_harness::full::{FullBed, Options, app_image};
use serde_json::Value as Json;

use super::{on_host, repository, results, text};

const HOSTS: [&str; 2] = ["dv-1", "dv-2"];

struct Bed {
    bed: FullBed,
    runtimes: std::path::PathBuf,
    scratch: tempfile::TempDir,
}

impl Bed {
    /// Runs `playbook` with `--output json`; its exit code and events.
    fn play(&self, playbook: &Path, extra: &[&str]) -> (Option<i32>, Vec<Json>) {
        let output = super::play_command(&self.bed, &self.runtimes, playbook)
            .args([
                "-e",
                &format!("image_dir={}", self.scratch.path().display()),
            ])
            .args(extra)
            .output()
            .expect("drover runs");
        let events = text(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        (output.status.code(), events)
    }

    /// Pushes `drover/app:VERSION` (from `archive`, in the scratch
    /// directory, or from the controller's engine); each host's result.
    fn push(&self, version: u32, archive: &str, source: &str) -> (Option<i32>, Vec<Json>) {
        let playbook = self.scratch.path().join("push.yml");
        std::fs::write(
            &playbook,
            "- hosts: all\n  gather_facts: no\n  become: yes\n  tasks:\n    - name: push\n      container_image:\n\
             \x20       name: drover/app:{{ version }}\n        source: '{{ source }}'\n\
             \x20       load_path: '{{ image_dir }}/{{ archive }}'\n        runtime: '{{ app_runtime }}'\n",
        )
        .expect("the playbook is written");
        let (code, events) = self.play(
            &playbook,
            &[
                "-e",
                &format!("version={version}"),
                "-e",
                &format!("archive={archive}"),
                "-e",
                &format!("source={source}"),
            ],
        );
        let pushed = results(&events, "push").into_iter().cloned().collect();
        (code, pushed)
    }

    /// The ids of every image on `host`, sorted.
    fn images(&self, host: &str) -> String {
        on_host(
            &self.bed,
            host,
            "{ docker images -q --no-trunc 2>/dev/null; podman images -q --no-trunc 2>/dev/null; } | sort -u",
        )
    }
}

fn archive_size(bed: &Bed, version: u32) -> u64 {
    std::fs::metadata(bed.scratch.path().join(format!("app-v{version}.tar")))
        .expect("the archive is there")
        .len()
}

#[test]
fn issue_14_images_reach_hosts_over_ssh_without_a_registry() {
    let Some((_one_bed_at_a_time, bed)) = super::take_bed(Options {
        count: 2,
        engines: true,
        release: None,
    }) else {
        return;
    };
    let scratch = tempfile::tempdir().expect("a scratch directory");
    for (version, healthy) in [(1, true), (2, true), (3, true), (4, true)] {
        app_image(scratch.path(), version, healthy).expect("the app image is built");
    }
    let runtimes = super::write_runtimes(scratch.path(), &[("dv-1", "docker"), ("dv-2", "podman")]);
    let bed = Bed {
        bed,
        runtimes,
        scratch,
    };
    only_missing_layers_travel(&bed);
    a_corrupt_or_truncated_archive_changes_no_host(&bed);
    a_rollout_deploys_a_pushed_release(&bed);
    an_image_from_the_controllers_engine_is_pushed(&bed);
    without_forwarding_the_whole_archive_is_loaded(&bed);
}

/// v1 whole, then v2, which shares v1's bottom layer: only its top layer
/// and configuration travel, under 10% of the archive. Pushed again, it is
/// left alone.
fn only_missing_layers_travel(bed: &Bed) {
    let (code, first) = bed.push(1, "app-v1.tar", "load");
    assert_eq!(code, Some(0), "{first:?}");
    let whole = archive_size(bed, 1);
    for result in &first {
        let sent = result["result"]["bytes_sent"].as_u64().expect("bytes sent");
        assert!(
            sent > whole * 9 / 10 && sent <= whole,
            "a first push sends the image ({sent} of {whole} bytes): {result}"
        );
    }
    let (code, second) = bed.push(2, "app-v2.tar", "load");
    assert_eq!(code, Some(0), "{second:?}");
    for result in &second {
        let sent = result["result"]["bytes_sent"].as_u64().expect("bytes sent");
        assert!(
            sent * 10 < whole,
            "a second push sends under 10% ({sent} of {whole} bytes): {result}"
        );
        assert_eq!(
            result["result"]["blobs_sent"], 2,
            "the top layer and the configuration"
        );
    }
    for host in HOSTS {
        let served = on_host(
            &bed.bed,
            host,
            "rt=$(command -v docker >/dev/null && docker image inspect drover/app:2 >/dev/null 2>&1 && echo docker || echo podman); \
             $rt run --rm drover/app:2 cat /www/index.html",
        );
        assert_eq!(served, "app v2\n", "{host} has v2 as built");
    }
    let (code, again) = bed.push(2, "app-v2.tar", "load");
    assert_eq!(code, Some(0));
    for result in again {
        assert_eq!(
            result["status"], "ok",
            "the same image is left alone: {result}"
        );
    }
}

/// A layer whose bytes changed, and an archive cut in half: the task fails
/// with the reason, before the hosts are asked anything.
fn a_corrupt_or_truncated_archive_changes_no_host(bed: &Bed) {
    let before: Vec<String> = HOSTS.iter().map(|host| bed.images(host)).collect();
    let mut bytes = std::fs::read(bed.scratch.path().join("app-v3.tar")).expect("v3");
    let middle = bytes.len() / 2;
    std::fs::write(bed.scratch.path().join("truncated.tar"), &bytes[..middle]).expect("written");
    // A byte inside the busybox binary of the bottom layer.
    bytes[middle] ^= 0xff;
    std::fs::write(bed.scratch.path().join("corrupt.tar"), &bytes).expect("written");
    for archive in ["corrupt.tar", "truncated.tar"] {
        let (code, pushed) = bed.push(3, archive, "load");
        assert_eq!(code, Some(2), "{archive}: {pushed:?}");
        for result in pushed {
            let message = result["result"]["msg"].as_str().unwrap_or_default();
            assert!(
                message.contains(archive) && message.contains("is corrupt or truncated"),
                "{archive}: {message}"
            );
        }
    }
    let after: Vec<String> = HOSTS.iter().map(|host| bed.images(host)).collect();
    assert_eq!(before, after, "no host's images changed");
}

/// The example playbook rolls v3 out, one host at a time, its image pushed.
fn a_rollout_deploys_a_pushed_release(bed: &Bed) {
    let playbook = repository().join("playbooks/deploy-without-registry.yml");
    let (code, events) = bed.play(&playbook, &["-e", "version=3"]);
    assert_eq!(code, Some(0), "{events:?}");
    let pushed = results(
        &events,
        "the image is on the host (only its missing layers travel)",
    );
    assert_eq!(pushed.len(), HOSTS.len());
    for result in pushed {
        let sent = result["result"]["bytes_sent"].as_u64().expect("bytes sent");
        assert!(sent * 10 < archive_size(bed, 3), "{result}");
    }
    for host in HOSTS {
        assert_eq!(
            on_host(&bed.bed, host, "curl -s http://127.0.0.1:8080/"),
            "app v3\n",
            "{host} serves v3"
        );
    }
}

/// `source: engine`: v4 loaded into the controller's podman is saved from
/// there and pushed; nothing is left in the controller's temporary files.
fn an_image_from_the_controllers_engine_is_pushed(bed: &Bed) {
    let load = Command::new("podman")
        .args(["load", "-q", "-i"])
        .arg(bed.scratch.path().join("app-v4.tar"))
        .output();
    if !load.is_ok_and(|load| load.status.success()) {
        assert!(
            std::env::var_os("DROVER_REQUIRE_FULL_HOSTS").is_none(),
            "podman is required on the controller for `source: engine`"
        );
        eprintln!("skipped `source: engine`: no podman on the controller");
        return;
    }
    let (code, pushed) = bed.push(4, "unused.tar", "engine");
    assert_eq!(code, Some(0), "{pushed:?}");
    for result in pushed {
        let sent = result["result"]["bytes_sent"].as_u64().expect("bytes sent");
        assert!(sent * 10 < archive_size(bed, 4), "{result}");
    }
    let _ = Command::new("podman")
        .args(["rmi", "drover/app:4"])
        .output();
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .expect("the temporary directory")
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with(".drover-image-")
        })
        .count();
    assert_eq!(leftovers, 0);
}

/// With `AllowTcpForwarding no` on dv-2's sshd, v1 goes there whole.
fn without_forwarding_the_whole_archive_is_loaded(bed: &Bed) {
    on_host(
        &bed.bed,
        "dv-2",
        "echo 'AllowTcpForwarding no' > /etc/ssh/sshd_config.d/20-no-forwarding.conf && \
         podman rmi -f drover/app:1 >/dev/null 2>&1; systemctl reload ssh",
    );
    let (code, pushed) = bed.push(1, "app-v1.tar", "load");
    assert_eq!(code, Some(0), "{pushed:?}");
    let dv2 = pushed
        .iter()
        .find(|result| result["host"] == "dv-2")
        .expect("dv-2's result");
    assert_eq!(dv2["status"], "changed", "{dv2}");
    assert!(dv2["result"]["bytes_sent"].is_null(), "loaded whole: {dv2}");
    assert_ne!(
        on_host(
            &bed.bed,
            "dv-2",
            "podman image inspect --format '{{.Id}}' drover/app:1"
        ),
        ""
    );
}
