//! Regression tests for issue 19 ("Every run recorded"): each `drover
//! play` and `drover run` leaves an NDJSON record under `.drover/runs`,
//! written as the run goes; `drover runs` lists them; the oldest beyond
//! the number kept go; flags and `ansible.cfg` choose where, or none.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

/// A local play: one change, one report, one `no_log` secret.
const PLAYBOOK: &str = r#"- hosts: localhost
  connection: local
  gather_facts: no
  tasks:
    - name: write a file
      copy:
        content: "hello\n"
        dest: "{{ playbook_dir }}/hello.txt"
    - name: say so
      debug:
        msg: written
    - name: a secret
      command: echo s3cr3t-kept-out
      no_log: true
      changed_when: false
"#;

/// A directory with the playbook in it.
fn project() -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("a directory");
    std::fs::write(directory.path().join("site.yml"), PLAYBOOK).expect("the playbook");
    directory
}

/// The records in `directory`, oldest first.
fn records(directory: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .map(|entry| entry.expect("an entry").path())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// A record's events, each line parsed.
fn events(record: &Path) -> Vec<Json> {
    std::fs::read_to_string(record)
        .expect("a record")
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect()
}

#[test]
fn issue_19_a_play_leaves_a_record_that_runs_lists() {
    let project = project();
    let directory = project.path();
    support::exited(&support::drover(directory, &["play", "site.yml"]), 0);
    let kept = records(&directory.join(".drover/runs"));
    assert_eq!(kept.len(), 1, "{kept:?}");
    let events = events(&kept[0]);
    let first = &events[0];
    assert_eq!(first["event"], "run");
    assert_eq!(first["command"], "play");
    assert_eq!(first["playbook"], "site.yml");
    assert!(
        first["started"]
            .as_str()
            .is_some_and(|started| started.ends_with('Z'))
    );
    assert!(first["user"].is_string(), "{first}");
    let results: Vec<&Json> = events
        .iter()
        .filter(|event| event["event"] == "host_result")
        .collect();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["status"], "changed");
    for result in &results {
        assert!(result["duration"].as_f64().is_some(), "{result}");
        assert!(result["started"].is_string(), "{result}");
    }
    assert!(events.iter().any(|event| event["event"] == "recap"));
    let last = events.last().expect("events");
    assert_eq!(last["event"], "run_end");
    assert_eq!(last["exit_code"], 0);
    let record = std::fs::read_to_string(&kept[0]).expect("a record");
    assert!(!record.contains("s3cr3t-kept-out"), "{record}");
    support::exited(
        &support::drover(directory, &["report", "-o", "report.html"]),
        0,
    );
    let page = std::fs::read_to_string(directory.join("report.html")).expect("a report");
    assert!(
        !page.contains("s3cr3t-kept-out"),
        "the no_log result reached the report"
    );
    assert!(page.contains("write a file"), "the report is of this run");

    let listing = support::exited(&support::drover(directory, &["runs"]), 0);
    let line = listing
        .lines()
        .find(|line| line.contains("site.yml"))
        .unwrap_or_else(|| panic!("{listing}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    // STARTED COMMAND TARGET HOSTS CHANGED FAILED UNREACHABLE DURATION EXIT RECORD
    assert_eq!(
        words[1..7],
        ["play", "site.yml", "1", "1", "0", "0"],
        "{listing}"
    );
    assert_eq!(words[8], "0", "{listing}");
}

#[test]
fn issue_19_an_ad_hoc_run_is_recorded_where_it_runs() {
    let directory = tempfile::tempdir().expect("a directory");
    let output = support::drover(
        directory.path(),
        &["run", "localhost", "-i", "localhost,", "--", "echo hi"],
    );
    support::exited(&output, 0);
    let kept = records(&directory.path().join(".drover/runs"));
    assert_eq!(kept.len(), 1, "{kept:?}");
    let events = events(&kept[0]);
    assert_eq!(events[0]["command"], "run");
    assert_eq!(events[0]["pattern"], "localhost");
    let result = events
        .iter()
        .find(|event| event["event"] == "host_result")
        .expect("a host result");
    assert_eq!(result["stdout"], "hi\n");
    assert_eq!(events.last().expect("events")["event"], "run_end");
}

#[test]
fn issue_19_only_the_kept_number_of_records_stay() {
    let project = project();
    let directory = project.path();
    for _ in 0..3 {
        support::exited(
            &support::drover(directory, &["play", "site.yml", "--keep-runs", "2"]),
            0,
        );
    }
    assert_eq!(records(&directory.join(".drover/runs")).len(), 2);
}

#[test]
fn issue_19_flags_and_configuration_choose_where_records_go_or_none() {
    let project = project();
    let directory = project.path();
    support::exited(
        &support::drover(directory, &["play", "site.yml", "--no-record"]),
        0,
    );
    assert!(!directory.join(".drover").exists());
    support::exited(
        &support::drover(directory, &["play", "site.yml", "--record", "kept"]),
        0,
    );
    assert_eq!(records(&directory.join("kept")).len(), 1);
    std::fs::write(directory.join("ansible.cfg"), "[drover]\nrecord = no\n").expect("config");
    support::exited(&support::drover(directory, &["play", "site.yml"]), 0);
    assert!(!directory.join(".drover").exists());
    std::fs::write(
        directory.join("ansible.cfg"),
        "[drover]\nrecord_dir = elsewhere\n",
    )
    .expect("config");
    support::exited(&support::drover(directory, &["play", "site.yml"]), 0);
    assert_eq!(records(&directory.join("elsewhere")).len(), 1);
}

#[test]
fn issue_19_a_killed_run_leaves_a_readable_record() {
    let directory = tempfile::tempdir().expect("a directory");
    std::fs::write(
        directory.path().join("site.yml"),
        "- hosts: localhost\n  connection: local\n  gather_facts: no\n  tasks:\n    - name: long\n      command: sleep 30\n",
    )
    .expect("the playbook");
    let mut child = support::command(Some(directory.path()))
        .args(["play", "site.yml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("drover starts");
    let runs = directory.path().join(".drover/runs");
    // Written as the run goes: the task's start is there while it runs.
    let mut started = false;
    for _ in 0..200 {
        if let Some(record) = records(&runs).first()
            && std::fs::read_to_string(record).is_ok_and(|text| text.contains("task_start"))
        {
            started = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().expect("killed");
    child.wait().expect("ended");
    assert!(started, "the record never showed the task starting");
    let kept = records(&runs);
    let events = events(&kept[0]);
    assert_eq!(events.last().expect("events")["event"], "task_start");
    let listing = support::exited(&support::drover(directory.path(), &["runs"]), 0);
    let line = listing
        .lines()
        .find(|line| line.contains("site.yml"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert_eq!(
        line.split_whitespace().nth(8),
        Some("-"),
        "no exit code: {listing}"
    );
}

#[test]
fn issue_19_runs_without_records_says_where_it_looked() {
    let directory = tempfile::tempdir().expect("a directory");
    let output = support::drover(directory.path(), &["runs"]);
    let stderr = support::text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(".drover/runs"), "{stderr}");
    assert!(stderr.contains("hint"), "{stderr}");
}

#[test]
fn issue_19_junit_has_a_test_case_per_host_and_task() {
    let directory = tempfile::tempdir().expect("a directory");
    std::fs::write(
        directory.path().join("site.yml"),
        "- hosts: localhost\n  connection: local\n  gather_facts: no\n  tasks:\n\
         \x20   - name: write <a> file\n      copy: {content: \"x\\n\", dest: \"{{ playbook_dir }}/x\"}\n\
         \x20   - name: never\n      debug: msg=no\n      when: false\n\
         \x20   - name: break\n      command: /bin/false\n",
    )
    .expect("the playbook");
    let output = support::drover(
        directory.path(),
        &["play", "site.yml", "--junit", "report.xml", "--no-record"],
    );
    support::exited(&output, 2);
    let xml = std::fs::read_to_string(directory.path().join("report.xml")).expect("written");
    // Well-formed, every event of it.
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut cases = 0;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(element) if element.name().as_ref() == "testcase" => {
                cases += 1;
            }
            _ => {}
        }
    }
    assert_eq!(cases, 3, "{xml}");
    assert!(
        xml.contains(r#"<testsuite name="site" tests="3" failures="1" errors="0" skipped="1""#),
        "{xml}"
    );
    assert!(
        xml.contains(
            r#"classname="site.yml:5" name="[localhost] localhost: write &lt;a&gt; file""#
        ),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<failure message="non-zero return code" type="failure">"#),
        "{xml}"
    );
    assert!(
        xml.contains("<skipped>Conditional result was False</skipped>"),
        "{xml}"
    );
}
