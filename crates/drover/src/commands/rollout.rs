//! `drover rollout status`, `undo`, `promote` and `abort`: the releases the
//! `container` module (and a blue-green rollout) record on each host
//! (`/var/lib/drover/releases/APP.json`), and rollouts paused for a decision.
//!
//! Both are small playbooks run by the engine, so they reach hosts exactly
//! as `drover play` does: `status` reads each host's record and prints a
//! table; `undo` runs each host's previous release again through the
//! `container` module, which records the undone one as the new previous.

use std::io::Write as _;
use std::sync::{Arc, Mutex};

use drover_engine::promotion::{self, Decision};
use drover_engine::{Event, Reporter};
use drover_modules::ModuleCatalog;
use drover_playbook::LoadOptions;
use serde_json::Value as Json;

use crate::cli::{DecisionArgs, RolloutCommand, UndoArgs};
use crate::commands::play::{base_options, execute, load_or_report, parse_extra_vars};
use crate::commands::play_output::TextReporter;
use crate::commands::targets::select_hosts;
use crate::exit;
use crate::failure::{Failure, Outcome};

const STATUS: &str = r"- name: release status of APP
  hosts: all
  gather_facts: no
  become: yes
  tasks:
    - name: release
      # A blue-green app's record (its live slot) first, else the container's.
      # Then, after a line of its own, the last failed release attempt.
      shell: >-
        { cat /var/lib/drover/releases/APP.rollout.json 2>/dev/null || cat /var/lib/drover/releases/APP.json; };
        printf '\n#failed\n'; cat /var/lib/drover/releases/APP.failed.json 2>/dev/null;
        printf '\n#swarm %s\n' $(docker info --format '{{ '{{' }}.Swarm.LocalNodeState{{ '}}' }}' 2>/dev/null); true
      changed_when: false
      failed_when: false
";

const UNDO: &str = r#"- name: undo the last release of APP
  hosts: all
  gather_facts: no
  become: yes
  tasks:
    # A Swarm service's record is on the manager that deployed it: the
    # swarm's other nodes have none, and nothing of theirs to undo.
    - name: the host's place in a swarm is read
      shell: >-
        test -e /var/lib/drover/releases/APP.json ||
        docker info --format '{{ '{{' }}.Swarm.LocalNodeState{{ '}}' }}' 2>/dev/null || true
      register: swarm_node
      changed_when: false

    - name: a swarm node without a release of APP is left alone
      meta: end_host
      when: swarm_node.stdout == 'active'

    - name: the release record is read
      command: cat /var/lib/drover/releases/APP.json
      register: record
      changed_when: false

    - name: the previous release is known
      assert:
        that: (record.stdout | from_json).previous is mapping
        fail_msg: "APP has no previous release on this host"

    - name: the previous image of the Swarm service APP runs again
      docker_swarm_service:
        name: APP
        image: "{{ (record.stdout | from_json).previous.image }}"
      when: (record.stdout | from_json).current.swarm | default(false)

    - name: the previous release of APP runs again
      when: not ((record.stdout | from_json).current.swarm | default(false))
      container:
        name: APP
        image: "{{ previous.image }}"
        ports: "{{ previous.ports }}"
        env: "{{ previous.env }}"
        volumes: "{{ previous.volumes }}"
        command: "{{ previous.command }}"
        restart_policy: "{{ previous.restart_policy }}"
        labels: "{{ previous.labels }}"
        network: "{{ previous.network }}"
        healthcheck: "{{ previous.healthcheck }}"
        pull: never
        runtime: "{{ (record.stdout | from_json).current.runtime | default('auto') }}"
      vars:
        previous: "{{ (record.stdout | from_json).previous.configuration }}"
"#;

/// Runs `drover rollout ...`.
pub(crate) fn run(command: &RolloutCommand) -> Outcome {
    let (arguments, template, table) = match command {
        RolloutCommand::Status(arguments) => (&**arguments, STATUS, true),
        RolloutCommand::Undo(undo) if undo.playbook.is_some() => return switch_back(undo),
        RolloutCommand::Undo(undo) => (&undo.rollout, UNDO, false),
        RolloutCommand::Promote(arguments) => return decide(arguments, Decision::Promote),
        RolloutCommand::Abort(arguments) => return decide(arguments, Decision::Abort),
    };
    // The name goes into a path and a playbook: keep it to a plain word.
    if arguments.app.is_empty()
        || !arguments
            .app
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "-_.".contains(character))
    {
        return Err(Failure::usage(format!(
            "`{}` is not an app name (letters, digits, `-`, `_` and `.`)",
            arguments.app
        )));
    }
    let directory = tempfile::tempdir()?;
    let path = directory.path().join("rollout.yml");
    std::fs::write(&path, template.replace("APP", &arguments.app))?;
    let playbook = drover_playbook::load(&path, &ModuleCatalog, &LoadOptions::default()).map_err(
        |errors| anyhow::anyhow!("the built-in rollout playbook is invalid: {errors:?}"),
    )?;
    let (inventory, _) = select_hosts(&arguments.inventory.sources, "all", None)?;
    let options = base_options(&arguments.connection, arguments.limit.clone())?;
    let collector = Arc::new(Collector::default());
    let reporter: Arc<dyn Reporter> = if table {
        collector.clone()
    } else {
        Arc::new(TextReporter::new(false))
    };
    let command = if table {
        "rollout status"
    } else {
        "rollout undo"
    };
    let header = serde_json::json!({
        "command": command,
        "app": arguments.app,
        "inventory": arguments.inventory.sources,
    });
    // The built-in playbook is nowhere: the record goes here.
    let here = std::path::Path::new("rollout.yml");
    let code = crate::records::recorded(&arguments.record, here, header, reporter, |reporter| {
        execute(&playbook, inventory, options, reporter)
    })?;
    if table {
        print_table(&arguments.app, &collector.rows())?;
    }
    Ok(code)
}

/// `drover rollout undo APP --playbook P`: the engine runs only P's
/// blue-green play of APP, switching each host back to its previous slot.
fn switch_back(undo: &UndoArgs) -> Outcome {
    let Some(path) = &undo.playbook else {
        return Err(Failure::Reported);
    };
    let arguments = &undo.rollout;
    let playbook = load_or_report(path, &LoadOptions::default())?;
    let has_app = playbook.plays.iter().any(|play| {
        play.rollout.as_ref().is_some_and(|rollout| {
            rollout.strategy == drover_playbook::Strategy::BlueGreen
                && rollout.app.as_deref() == Some(&arguments.app)
        })
    });
    if !has_app {
        return Err(Failure::usage(format!(
            "`{}` has no blue_green rollout of `{}`; without `--playbook`, undo runs each container's previous release",
            path.display(),
            arguments.app
        )));
    }
    let extra_vars = parse_extra_vars(&undo.extra_vars)?;
    let (inventory, _) = select_hosts(&arguments.inventory.sources, "all", None)?;
    let options = drover_engine::RunOptions {
        extra_vars,
        rollout_undo: Some(arguments.app.clone()),
        ..base_options(&arguments.connection, arguments.limit.clone())?
    };
    let header = serde_json::json!({
        "command": "rollout undo",
        "app": arguments.app,
        "playbook": path,
        "inventory": arguments.inventory.sources,
    });
    let reporter: Arc<dyn Reporter> = Arc::new(TextReporter::new(false));
    crate::records::recorded(&arguments.record, path, header, reporter, |reporter| {
        execute(&playbook, inventory, options, reporter)
    })
}

/// `drover rollout promote|abort [NAME]`: answers the paused rollout.
fn decide(arguments: &DecisionArgs, decision: Decision) -> Outcome {
    let directory = promotion::directory();
    let paused = promotion::paused(&directory);
    let chosen: Vec<&promotion::Paused> = paused
        .iter()
        .filter(|rollout| {
            arguments
                .name
                .as_ref()
                .is_none_or(|name| &rollout.name == name)
        })
        .collect();
    let [rollout] = chosen.as_slice() else {
        let waiting: Vec<&str> = paused.iter().map(|rollout| rollout.name.as_str()).collect();
        return Err(Failure::usage(
            match (&arguments.name, waiting.is_empty()) {
                (_, true) => format!("no rollout is paused (looked in {})", directory.display()),
                (Some(name), false) => {
                    format!("`{name}` is not paused; paused: {}", waiting.join(", "))
                }
                (None, false) => format!(
                    "several rollouts are paused; name one of: {}",
                    waiting.join(", ")
                ),
            },
        ));
    };
    promotion::decide(&directory, &rollout.name, decision)?;
    let next = rollout.details["step"]["next"]
        .as_array()
        .map(|hosts| {
            hosts
                .iter()
                .filter_map(Json::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let mut stdout = std::io::stdout().lock();
    match decision {
        Decision::Promote if next.is_empty() => writeln!(stdout, "{}: promoted", rollout.name)?,
        Decision::Promote => writeln!(stdout, "{}: promoted; next: {next}", rollout.name)?,
        Decision::Abort => writeln!(stdout, "{}: aborted; rolling back", rollout.name)?,
    }
    Ok(exit::SUCCESS)
}

/// Collects each host's result of the status playbook's one task.
#[derive(Default)]
struct Collector {
    rows: Mutex<Vec<(String, Json)>>,
}

impl Collector {
    fn rows(&self) -> Vec<(String, Json)> {
        let mut rows = self
            .rows
            .lock()
            .map(|rows| rows.clone())
            .unwrap_or_default();
        rows.sort_by(|left, right| left.0.cmp(&right.0));
        rows
    }
}

impl Reporter for Collector {
    fn event(&self, event: Event) {
        if let Event::HostResult(report) = event
            && let Ok(mut rows) = self.rows.lock()
        {
            rows.push((report.host, report.result));
        }
    }
}

/// Prints the hosts' releases as a table, then their last failed
/// attempts.
fn print_table(app: &str, rows: &[(String, Json)]) -> std::io::Result<()> {
    let mut lines = vec![["HOST", "CURRENT", "DEPLOYED", "BY", "PREVIOUS"].map(str::to_owned)];
    let mut failures = Vec::new();
    for (host, result) in rows {
        let stdout = result["stdout"].as_str().unwrap_or_default();
        let (stdout, swarm) = stdout.split_once("\n#swarm ").unwrap_or((stdout, ""));
        let (record, failure) = stdout.split_once("#failed").unwrap_or((stdout, ""));
        if let Ok(failure) = serde_json::from_str::<Json>(failure) {
            failures.push((host.clone(), failure));
        }
        let record: Option<Json> = serde_json::from_str(record).ok();
        // A Swarm service's release is on the manager that deployed it:
        // the swarm's other nodes have nothing to show.
        if record.is_none() && swarm.trim() == "active" {
            continue;
        }
        lines.push(row(app, host, record.as_ref(), result));
    }
    let mut widths = [0; 5];
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut stdout = std::io::stdout().lock();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        writeln!(stdout, "{}", cells.join("  ").trim_end())?;
    }
    if !failures.is_empty() {
        writeln!(stdout, "\nLAST FAILED ATTEMPT")?;
    }
    for (host, failure) in failures {
        let field = |key: &str| failure[key].as_str().unwrap_or("-").to_owned();
        writeln!(
            stdout,
            "{host}  {} at {} by {}: {}",
            field("image"),
            field("time"),
            field("deployed_by"),
            field("reason")
        )?;
    }
    Ok(())
}

/// One host's row: its current release (and slot), when and by whom it
/// was deployed, and the previous one; or why there is none.
fn row(app: &str, host: &str, record: Option<&Json>, result: &Json) -> [String; 5] {
    let Some(record) = record else {
        let missing = if result["unreachable"] == true {
            "unreachable".to_owned()
        } else {
            format!("no release of {app}")
        };
        return [host.to_owned(), missing, "-".into(), "-".into(), "-".into()];
    };
    let field = |release: &str, key: &str| record[release][key].as_str().unwrap_or("-").to_owned();
    // A blue-green record also names each release's slot.
    let release = |which: &str| match (
        record[which]["slot"].as_str(),
        record[which]["swarm"] == true,
    ) {
        (Some(slot), _) => format!("{} ({slot})", field(which, "image")),
        (None, true) => format!("{} (swarm)", field(which, "image")),
        (None, false) => field(which, "image"),
    };
    [
        host.to_owned(),
        release("current"),
        field("current", "time"),
        field("current", "deployed_by"),
        release("previous"),
    ]
}
