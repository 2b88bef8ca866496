//! Facts compared key by key with Ansible's `setup` on the same hosts
//! (issue 16): the same play runs under both tools, and each writes every
//! host's `ansible_facts` to a file.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use drover_test_harness::full::FullBed;
use serde_json::{Map, Value as Json};

use super::{drover, text};

/// Facts whose values change between two gatherings a few seconds apart:
/// compared by their shape (the same keys, or the same mount points).
const MOVING: [&str; 6] = [
    "date_time",
    "loadavg",
    "memfree_mb",
    "memory_mb",
    "uptime_seconds",
    "mounts",
];

/// Facts drover does not gather, with the reason.
const NOT_GATHERED: [(&str, &str); 1] = [(
    "devices",
    "the block device tree (partitions, holders, sizes, sectors) is not read",
)];

/// Every host's facts as one tool wrote them.
fn facts_of(directory: &Path, host: &str) -> Map<String, Json> {
    let path = directory.join(format!("{host}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    match serde_json::from_str(&text) {
        Ok(Json::Object(map)) => map,
        other => panic!("{}: not a JSON object: {other:?}", path.display()),
    }
}

/// The keys of an object, or of each object in a list.
fn shape(value: &Json) -> Json {
    match value {
        Json::Object(map) => Json::Array(map.keys().map(|key| Json::from(key.as_str())).collect()),
        Json::Array(list) => Json::Array(list.iter().map(shape).collect()),
        Json::Number(_) => Json::from("number"),
        other => other.clone(),
    }
}

/// Whether drover's value of `key` agrees with Ansible's, as far as the
/// fact can agree between two gatherings.
fn agrees(key: &str, ansible: &Json, ours: &Json) -> bool {
    match key {
        _ if MOVING.contains(&key) => shape(ansible) == shape(ours),
        // Ansible sets LANG for its modules; the sudo command line is each tool's own.
        "env" => {
            let strip = |value: &Json| {
                let mut map = value.as_object().cloned().unwrap_or_default();
                for name in ["SUDO_COMMAND", "LANG", "LC_ALL", "LC_MESSAGES"] {
                    map.remove(name);
                }
                map
            };
            strip(ansible) == strip(ours)
        }
        // Sets, in no order.
        "virtualization_tech_guest" | "virtualization_tech_host" | "interfaces" => {
            let set = |value: &Json| -> BTreeSet<String> {
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(ToString::to_string)
                    .collect()
            };
            set(ansible) == set(ours)
        }
        _ => ansible == ours,
    }
}

pub(super) fn facts_match_ansible_setup(bed: &FullBed) {
    let Some(ansible) = super::ansible_playbook() else {
        return;
    };
    let work = tempfile::tempdir().expect("a directory");
    let directories = [work.path().join("ansible"), work.path().join("drover")];
    for directory in &directories {
        std::fs::create_dir_all(directory).expect("a directory");
    }
    let playbook = "tests/system/playbooks/facts-compare.yml";
    let out = |directory: &Path| format!("out={}", directory.display());
    let output = super::ansible_command(&ansible, bed)
        .args([playbook, "-e", &out(&directories[0])])
        .output()
        .expect("ansible-playbook runs");
    assert!(
        output.status.success(),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let output = drover(
        bed,
        &bed.inventory,
        &["play", playbook, "-e", &out(&directories[1])],
    );
    assert!(
        output.status.success(),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let mut report = String::new();
    for host in &bed.hosts {
        let theirs = facts_of(&directories[0], &host.name);
        let ours = facts_of(&directories[1], &host.name);
        let mut equal = Vec::new();
        let mut different = Vec::new();
        for (key, value) in &theirs {
            if NOT_GATHERED.iter().any(|(name, _)| name == key) {
                continue;
            }
            match ours.get(key) {
                Some(mine) if agrees(key, value, mine) => equal.push(key.as_str()),
                Some(mine) => different.push(format!("{key}: Ansible {value}, drover {mine}")),
                None => different.push(format!("{key}: Ansible {value}, drover has none")),
            }
        }
        let _ = writeln!(
            report,
            "{}: {} of {} facts agree ({} compared by shape); not gathered: {}",
            host.name,
            equal.len(),
            theirs.len(),
            MOVING.len(),
            NOT_GATHERED.map(|(name, _)| name).join(", ")
        );
        assert!(
            different.is_empty(),
            "{}: facts that differ from Ansible's:\n{}",
            host.name,
            different.join("\n")
        );
    }
    eprintln!("{report}");
}
