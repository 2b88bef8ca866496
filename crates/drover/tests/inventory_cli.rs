//! `drover inventory` end to end: output snapshots, Ansible as an oracle,
//! and the diagnostics for bad input.
//!
//! Regression tests for issue 2 ("`drover inventory` equals `ansible-inventory`").

use std::path::{Path, PathBuf};
use std::process::Command;

/// The inventory fixtures, relative to the fixtures directory.
const FIXTURES: [&str; 7] = [
    "ini_basic/hosts",
    "ini_nested/hosts.ini",
    "yaml_basic/inventory.yml",
    "json_basic/inventory.json",
    "script/inventory.sh",
    "directory",
    "pending_children/hosts",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../drover-inventory/tests/fixtures")
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../inventory")
}

/// Runs drover in `directory` and returns `(exit code, stdout, stderr)`.
fn drover(directory: &Path, arguments: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_drover"))
        .current_dir(directory)
        .args(arguments)
        .env("NO_COLOR", "1")
        .env_remove("DROVER_INVENTORY")
        .output()
        .expect("drover runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn transcript(directory: &Path, arguments: &[&str]) -> String {
    let (code, stdout, stderr) = drover(directory, arguments);
    format!("exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
}

/// Snapshots `drover inventory ACTION` for every fixture, named `PREFIX_FIXTURE`.
fn snapshot_every_fixture(action: &str, prefix: &str) {
    for fixture in FIXTURES {
        let name = fixture.replace(['/', '.'], "_");
        insta::assert_snapshot!(
            format!("{prefix}_{name}"),
            transcript(&fixtures(), &["inventory", "-i", fixture, action])
        );
    }
}

#[test]
fn issue_2_list_output_of_every_fixture() {
    snapshot_every_fixture("--list", "list");
}

#[test]
fn issue_2_graph_output_of_every_fixture() {
    snapshot_every_fixture("--graph", "graph");
}

#[test]
fn issue_2_host_shows_merged_variables() {
    insta::assert_snapshot!(transcript(
        &fixtures(),
        &["inventory", "-i", "ini_nested/hosts.ini", "--host", "node1"]
    ));
}

#[test]
fn issue_2_several_sources_and_host_lists_merge() {
    insta::assert_snapshot!(transcript(
        &fixtures(),
        &[
            "inventory",
            "-i",
            "json_basic/inventory.json",
            "-i",
            "app1,extra:2222,",
            "--list",
        ]
    ));
}

#[test]
fn issue_2_limit_restricts_the_listing() {
    insta::assert_snapshot!(transcript(
        &fixtures(),
        &[
            "inventory",
            "-i",
            "yaml_basic/inventory.yml",
            "--list",
            "--limit",
            "webservers:&both",
        ]
    ));
}

/// Where `ansible-inventory` is, if it is installed: `$DROVER_ANSIBLE_BIN`,
/// the project's `.venv` (which `.ci/run` creates), or `PATH`.
fn ansible_inventory() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("DROVER_ANSIBLE_BIN")
            .map(|directory| PathBuf::from(directory).join("ansible-inventory")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/ansible-inventory")),
    ];
    let found = candidates.into_iter().flatten().find(|path| path.is_file());
    found.or_else(|| {
        Command::new("ansible-inventory")
            .arg("--version")
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|_| PathBuf::from("ansible-inventory"))
    })
}

fn ansible(binary: &Path, directory: &Path, arguments: &[&str]) -> String {
    let output = Command::new(binary)
        .current_dir(directory)
        .args(arguments)
        .output()
        .expect("ansible-inventory runs");
    assert!(
        output.status.success(),
        "ansible-inventory {arguments:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Sorts every list, so that walk order (which Ansible leaves to a set) does not matter.
fn normalised(text: &str) -> serde_json::Value {
    fn walk(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Array(items) => {
                let mut items: Vec<_> = items.into_iter().map(walk).collect();
                items.sort_by_key(ToString::to_string);
                serde_json::Value::Array(items)
            }
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.into_iter()
                    .map(|(key, value)| (key, walk(value)))
                    .collect(),
            ),
            other => other,
        }
    }
    walk(serde_json::from_str(text).expect("valid JSON"))
}

#[test]
fn issue_2_ansible_inventory_agrees_on_every_inventory() {
    let Some(binary) = ansible_inventory() else {
        assert!(
            std::env::var_os("DROVER_REQUIRE_ORACLES").is_none(),
            "DROVER_REQUIRE_ORACLES is set but ansible-inventory was not found"
        );
        eprintln!("skipped: ansible-inventory is not installed");
        return;
    };
    let mut cases: Vec<(PathBuf, Vec<&str>)> = FIXTURES
        .iter()
        .map(|fixture| (fixtures(), vec![*fixture]))
        .collect();
    cases.push((
        fixtures(),
        vec!["ini_basic/hosts", "yaml_basic/inventory.yml"],
    ));
    cases.push((fixtures(), vec!["web1,db1:2222,[::1]:2200,"]));
    cases.push((examples(), vec!["hosts.ini"]));
    cases.push((examples(), vec!["hosts.yml"]));
    for (directory, sources) in cases {
        let mut arguments = vec!["inventory"];
        for source in &sources {
            arguments.extend(["-i", source]);
        }
        for action in ["--list", "--graph"] {
            let (code, ours, stderr) = drover(&directory, &[&arguments[..], &[action]].concat());
            assert_eq!(code, 0, "{sources:?} {action}: {stderr}");
            let theirs = ansible(&binary, &directory, &[&arguments[1..], &[action]].concat());
            if action == "--list" {
                assert_eq!(normalised(&ours), normalised(&theirs), "{sources:?} --list");
            } else {
                let sorted = |text: &str| {
                    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
                    lines.sort();
                    lines
                };
                assert_eq!(sorted(&ours), sorted(&theirs), "{sources:?} --graph");
            }
        }
    }
}

/// Bad inventories: each must exit 1 with `path:line:col`, the line, a caret and a hint.
const BAD_INPUTS: [(&str, &str, &str); 12] = [
    (
        "host_var_without_equals",
        "hosts",
        "[web]\nweb1 http_port=80 oops\n",
    ),
    ("bad_range", "hosts", "[web]\nweb[01:100].example.com\n"),
    ("range_without_end", "hosts", "[web]\nweb[1:]\n"),
    (
        "undefined_child_group",
        "hosts",
        "[web]\nweb1\n\n[prod:children]\nweb\ndatabase\n",
    ),
    (
        "vars_for_undefined_group",
        "hosts",
        "[web]\nweb1\n[db:vars]\nport=5432\n",
    ),
    ("unknown_section_type", "hosts", "[web:hostz]\nweb1\n"),
    ("section_with_space", "hosts", "[web servers]\nweb1\n"),
    ("unclosed_quote", "hosts", "[web]\nweb1 motd='hello\n"),
    ("group_loop", "hosts", "[a:children]\nb\n[b:children]\na\n"),
    (
        "yaml_syntax_error",
        "hosts.yml",
        "all:\n  hosts:\n    web1: [1,\n  vars:\n",
    ),
    (
        "yaml_hosts_not_mapping",
        "hosts.yml",
        "all:\n  children:\n    web:\n      hosts: [web1, web2]\n",
    ),
    ("trailing_colon", "hosts", "[web]\nweb1:\n"),
];

#[test]
fn issue_2_bad_inventories_get_located_diagnostics() {
    for (name, file, text) in BAD_INPUTS {
        let directory = tempfile::tempdir().expect("temporary directory");
        std::fs::write(directory.path().join(file), text).expect("fixture written");
        let output = transcript(directory.path(), &["inventory", "-i", file, "--list"]);
        assert!(output.starts_with("exit: 1\n"), "{name}: {output}");
        assert!(
            output.contains(&format!("[{file}:")),
            "{name} names no location: {output}"
        );
        assert!(output.contains("help:"), "{name} has no hint: {output}");
        insta::assert_snapshot!(format!("bad_{name}"), output);
    }
}

#[test]
fn issue_2_missing_source_and_bad_arguments_are_usage_errors() {
    let here = fixtures();
    insta::assert_snapshot!(transcript(
        &here,
        &["inventory", "-i", "no-such-file", "--list"]
    ));
    let (code, _, stderr) = drover(&here, &["inventory", "-i", "ini_basic/hosts"]);
    assert_eq!(code, 1, "no action is a usage error: {stderr}");
    let (code, _, stderr) = drover(
        &here,
        &["inventory", "-i", "ini_basic/hosts", "--graph", "nope"],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("no group named `nope`"), "{stderr}");
    let (code, _, stderr) = drover(
        &here,
        &["inventory", "-i", "ini_basic/hosts", "--host", "web*"],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("does not name exactly one host"),
        "{stderr}"
    );
    let (code, stdout, _) = drover(&here, &["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("inventory"));
}

#[test]
fn issue_2_completions_and_man_page() {
    let (code, stdout, _) = drover(&fixtures(), &["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("_drover()"),
        "bash completion defines its function"
    );
    let (code, stdout, _) = drover(&fixtures(), &["man"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(".TH drover"), "{stdout}");
}
