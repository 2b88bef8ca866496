//! Real Ansible content that nobody here wrote (`../shared/corpus`): for
//! every playbook of *Ansible for DevOps*, and a one-line playbook for
//! each of the Galaxy roles, drover's `--syntax-check` verdict is
//! Ansible's. Ansible (ansible-core 2.19 with the collections of the
//! `ansible` package, from `.venv`) is the oracle.
//!
//! Regression tests for issue 16 ("Real Ansible content runs unchanged,
//! part 1").

#![allow(clippy::print_stderr)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The corpus, read in place; `None` where this checkout has none.
fn corpus() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if path.join("README.md").is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("DROVER_REQUIRE_ORACLES").is_none(),
        "DROVER_REQUIRE_ORACLES is set but the corpus is not at {}",
        path.display()
    );
    eprintln!("skipped: no corpus at {}", path.display());
    None
}

/// Every playbook under `root`: a YAML file outside a role whose plays name
/// their `hosts` (or import other playbooks).
fn playbooks(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                let inside_a_role = ["roles", "group_vars", "host_vars", "molecule"];
                if !inside_a_role.contains(&name.as_str()) && !name.starts_with('.') {
                    pending.push(path);
                }
            } else if path
                .extension()
                .is_some_and(|extension| extension == "yml" || extension == "yaml")
                && is_playbook(&path)
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn is_playbook(path: &Path) -> bool {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().any(|line| {
        let line = line.trim_end();
        line.starts_with("- hosts:")
            || line.starts_with("  hosts:")
            || line.starts_with("- import_playbook:")
            || line.starts_with("- ansible.builtin.import_playbook:")
    })
}

/// One case: what is checked, and the command line of each tool.
struct Case {
    name: String,
    playbook: PathBuf,
    roles_path: Option<PathBuf>,
}

/// Whether `tool` (drover or ansible-playbook) accepts the case's syntax;
/// with its output when it refuses.
fn verdict(tool: &Path, case: &Case, drover: bool) -> (bool, String) {
    let mut command = if drover {
        support::command(case.playbook.parent())
    } else {
        let mut command = Command::new(tool);
        if let Some(directory) = case.playbook.parent() {
            command.current_dir(directory);
        }
        command
    };
    if drover {
        command.arg("play");
    }
    command
        .arg("--syntax-check")
        .args(["-i", "localhost,"])
        .arg(&case.playbook)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "0");
    if let Some(roles) = &case.roles_path {
        if drover {
            command.arg("--roles-path").arg(roles);
        } else {
            command.env("ANSIBLE_ROLES_PATH", roles);
        }
    }
    let output = command.output().expect("the tool runs");
    let said = format!(
        "{}{}",
        support::text(&output.stdout),
        support::text(&output.stderr)
    );
    (output.status.success(), said)
}

/// The corpus's cases: its playbooks, then a playbook per role.
fn cases(corpus: &Path, scratch: &Path) -> Vec<Case> {
    let mut cases: Vec<Case> = playbooks(&corpus.join("playbooks"))
        .into_iter()
        .map(|playbook| Case {
            name: playbook
                .strip_prefix(corpus)
                .unwrap_or(&playbook)
                .display()
                .to_string(),
            playbook,
            // Their roles are the Galaxy roles of the corpus.
            roles_path: Some(corpus.join("roles")),
        })
        .collect();
    let mut roles: Vec<String> = std::fs::read_dir(corpus.join("roles"))
        .expect("the corpus's roles")
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    roles.sort();
    for role in roles {
        let playbook = scratch.join(format!("{role}.yml"));
        std::fs::write(
            &playbook,
            format!("- hosts: all\n  become: true\n  roles: [{role}]\n"),
        )
        .expect("the role's playbook is written");
        cases.push(Case {
            name: format!("roles/{role}"),
            playbook,
            roles_path: Some(corpus.join("roles")),
        });
    }
    cases
}

/// Cases where drover's verdict is not yet Ansible's, each with the reason.
/// The test fails when one of them starts to agree (take it off the list)
/// and when a case not listed disagrees.
const NOT_YET: &[(&str, &str)] = &[];

/// Both tools' verdicts on every case, three cases at a time, by name.
fn verdicts(cases: &[Case], ansible: &Path, drover: &Path) -> Vec<(String, Verdict, Verdict)> {
    let results = Mutex::new(Vec::new());
    let next = Mutex::new(0);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                loop {
                    let index = {
                        let mut next = next.lock().expect("the counter");
                        *next += 1;
                        *next - 1
                    };
                    let Some(case) = cases.get(index) else {
                        return;
                    };
                    let theirs = verdict(ansible, case, false);
                    let ours = verdict(drover, case, true);
                    results
                        .lock()
                        .expect("the results")
                        .push((case.name.clone(), theirs, ours));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("the results");
    results.sort_by(|a, b| a.0.cmp(&b.0));
    results
}

/// Whether a tool accepts a case, and what it said.
type Verdict = (bool, String);

/// What is not as `NOT_YET` says: a disagreement not listed, or a listed
/// case that agrees now.
fn surprises(results: &[(String, Verdict, Verdict)]) -> Vec<String> {
    let first = |said: &str| {
        said.lines()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("")
            .to_owned()
    };
    let word = |accepts: bool| if accepts { "accepts" } else { "refuses" };
    let mut surprises = Vec::new();
    for (name, theirs, ours) in results {
        let listed = NOT_YET.iter().any(|(listed, _)| listed == name);
        let agree = theirs.0 == ours.0;
        if agree && listed {
            surprises.push(format!("{name}: agrees now; take it off NOT_YET"));
        }
        if !agree && !listed {
            surprises.push(format!(
                "{name}: Ansible {} ({}), drover {} ({})",
                word(theirs.0),
                first(&theirs.1),
                word(ours.0),
                first(&ours.1),
            ));
        }
    }
    surprises
}

#[test]
fn issue_16_syntax_check_agrees_with_ansible_on_the_corpus() {
    let (Some(corpus), Some(ansible)) = (corpus(), support::ansible_tool("ansible-playbook"))
    else {
        return;
    };
    let drover = PathBuf::from(env!("CARGO_BIN_EXE_drover"));
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let results = verdicts(&cases(&corpus, scratch.path()), &ansible, &drover);
    let accepted = |ours: bool| {
        results
            .iter()
            .filter(|(_, theirs, mine)| if ours { mine.0 } else { theirs.0 })
            .count()
    };
    let agreeing = results
        .iter()
        .filter(|(_, theirs, ours)| theirs.0 == ours.0)
        .count();
    eprintln!(
        "{} cases: Ansible accepts {}, drover {}; they agree on {agreeing}",
        results.len(),
        accepted(false),
        accepted(true)
    );
    let surprises = surprises(&results);
    assert!(surprises.is_empty(), "{}", surprises.join("\n"));
}
