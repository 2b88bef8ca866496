//! Regression tests for issue 19 ("an HTML report seen in a real
//! browser"): `drover report` writes one self-contained page from run
//! records, and headless Chromium renders it without a script error,
//! showing the hosts, the tasks, a diff, a failure with its `file:line`,
//! and, given two runs, the task whose status changed.

mod support;

use std::fmt::Write as _;
use std::path::Path;

/// Three local hosts; web2 fails one task unless `fixed`.
const PLAYBOOK: &str = r#"- hosts: web
  gather_facts: no
  tasks:
    - name: write the page
      copy:
        content: "hello {{ inventory_hostname }}\n"
        dest: "{{ playbook_dir }}/{{ inventory_hostname }}.txt"
    - name: check the page
      command: "{{ '/bin/false' if inventory_hostname == 'web2' and not (fixed | default(false) | bool) else '/bin/true' }}"
      changed_when: false
    - name: after
      debug:
        msg: done
"#;

const INVENTORY: &str = "[web]\nweb1 ansible_connection=local\nweb2 ansible_connection=local\nweb3 ansible_connection=local\n";

/// A project with the playbook and its inventory.
fn project() -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("a directory");
    std::fs::write(directory.path().join("site.yml"), PLAYBOOK).expect("the playbook");
    std::fs::write(directory.path().join("hosts.ini"), INVENTORY).expect("the inventory");
    directory
}

/// `drover play site.yml -i hosts.ini EXTRA...` in `directory`.
fn play(directory: &Path, extra: &[&str]) -> String {
    let mut arguments = vec!["play", "site.yml", "-i", "hosts.ini", "--diff"];
    arguments.extend_from_slice(extra);
    let output = support::drover(directory, &arguments);
    support::text(&output.stdout)
}

/// The rendered page, checked for a script error.
fn rendered(page: &Path) -> Option<String> {
    let dom = support::chromium_dom(page)?;
    assert!(!dom.contains("data-error"), "a script error:\n{dom}");
    assert!(
        dom.contains(r#"data-rendered="yes""#),
        "not rendered:\n{dom}"
    );
    Some(dom)
}

#[test]
fn issue_19_the_report_shows_hosts_tasks_a_diff_and_a_failure_in_chromium() {
    let project = project();
    let directory = project.path();
    play(directory, &[]);
    let output = support::drover(directory, &["report", "-o", "report.html"]);
    support::exited(&output, 0);
    let page = directory.join("report.html");
    let html = std::fs::read_to_string(&page).expect("written");
    // Self-contained: nothing to fetch.
    for fetch in ["src=\"http", "href=\"http", "@import", "fetch("] {
        assert!(!html.contains(fetch), "the page fetches {fetch}");
    }
    let Some(dom) = rendered(&page) else {
        return;
    };
    for host in ["web1", "web2", "web3"] {
        assert!(
            dom.contains(&format!(r#"data-host="{host}""#)),
            "{host} missing"
        );
    }
    for task in ["write the page", "check the page", "after"] {
        assert!(dom.contains(task), "task {task} missing");
    }
    assert!(dom.contains("+hello web1"), "the diff is missing");
    assert!(
        dom.contains("non-zero return code"),
        "the failure is missing"
    );
    assert!(
        dom.contains("site.yml:8"),
        "the failure's file:line is missing"
    );
}

#[test]
fn issue_19_two_runs_show_the_task_whose_status_changed() {
    let project = project();
    let directory = project.path();
    play(directory, &["-e", "fixed=true"]);
    play(directory, &[]);
    let runs = std::fs::read_dir(directory.join(".drover/runs"))
        .expect("recorded")
        .map(|entry| entry.expect("an entry").path())
        .collect::<Vec<_>>();
    let mut runs: Vec<String> = runs.iter().map(|path| path.display().to_string()).collect();
    runs.sort();
    let mut arguments = vec!["report", "-o", "two.html"];
    arguments.extend(runs.iter().map(String::as_str));
    support::exited(&support::drover(directory, &arguments), 0);
    let Some(dom) = rendered(&directory.join("two.html")) else {
        return;
    };
    let compare = dom
        .split(r#"<section id="compare">"#)
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap_or_else(|| panic!("no comparison:\n{dom}"));
    assert!(
        compare.contains(r#"<b id="new-failures">1</b>"#),
        "{compare}"
    );
    // The file was written the first time only; web2's check now fails.
    let rows: Vec<&str> = compare
        .split(r#"<tr class="status-changed">"#)
        .skip(1)
        .collect();
    let row = rows
        .iter()
        .find(|row| row.contains("check the page"))
        .unwrap_or_else(|| panic!("no changed row for the check:\n{compare}"));
    assert!(row.contains("web2"), "{row}");
    assert!(
        row.find(">ok<")
            .zip(row.find(">failed<"))
            .is_some_and(|(ok, failed)| ok < failed),
        "ok before, failed after: {row}"
    );
    assert_eq!(
        rows.len(),
        4,
        "the file on three hosts, the check on web2:\n{compare}"
    );
    assert!(
        dom.contains(r#"<section id="latest">"#),
        "no latest run per host"
    );
}

/// A record of `hosts` × `tasks`, each host changing every task, as a
/// large run would leave it.
fn large_record(hosts: usize, tasks: usize) -> String {
    let mut record = String::from(
        r#"{"event":"run","command":"play","playbook":"big.yml","started":"2026-11-30T10:00:00.000Z","at":0}"#,
    );
    record.push('\n');
    for task in 0..tasks {
        let _ = writeln!(
            record,
            r#"{{"event":"task_start","task":"task number {task}","location":"big.yml:{}","handler":false}}"#,
            task * 3 + 4
        );
        for host in 0..hosts {
            let _ = writeln!(
                record,
                r#"{{"event":"host_result","host":"host{host:04}","status":"changed","item":null,"result":{{"changed":true,"dest":"/srv/app/file{task}"}},"diff":null,"started":"2026-11-30T10:00:{:02}.000Z","duration":0.{:03}}}"#,
                task % 60,
                (host * 7 + task) % 1000
            );
        }
    }
    record.push_str(r#"{"event":"run_end","exit_code":0,"duration":61.0}"#);
    record
}

#[test]
fn issue_19_a_thousand_hosts_by_fifty_tasks_stay_under_five_megabytes() {
    let directory = tempfile::tempdir().expect("a directory");
    let record = directory.path().join("big.ndjson");
    std::fs::write(&record, large_record(1000, 50)).expect("a record");
    let output = support::drover(
        directory.path(),
        &["report", "-o", "big.html", &record.display().to_string()],
    );
    support::exited(&output, 0);
    let page = directory.path().join("big.html");
    let size = std::fs::metadata(&page).expect("written").len();
    assert!(size < 5 * 1024 * 1024, "{size} bytes");
    let Some(dom) = rendered(&page) else {
        return;
    };
    assert!(
        dom.contains("1000 of 1000 hosts"),
        "the grid did not draw every host"
    );
}
