//! `drover rollout status` and `undo`: the releases the `container` module
//! records on each host (`/var/lib/drover/releases/APP.json`).
//!
//! Both are small playbooks run by the engine, so they reach hosts exactly
//! as `drover play` does: `status` reads each host's record and prints a
//! table; `undo` runs each host's previous release again through the
//! `container` module, which records the undone one as the new previous.

use std::io::Write as _;
use std::sync::{Arc, Mutex};

use drover_engine::{Event, Reporter};
use drover_modules::ModuleCatalog;
use drover_playbook::LoadOptions;
use serde_json::Value as Json;

use crate::cli::RolloutCommand;
use crate::commands::play::{base_options, execute};
use crate::commands::play_output::TextReporter;
use crate::commands::targets::select_hosts;
use crate::exit;
use crate::output::usage_error;

const STATUS: &str = r"- name: release status of APP
  hosts: all
  gather_facts: no
  become: yes
  tasks:
    - name: release
      command: cat /var/lib/drover/releases/APP.json
      changed_when: false
      failed_when: false
";

const UNDO: &str = r#"- name: undo the last release of APP
  hosts: all
  gather_facts: no
  become: yes
  tasks:
    - name: the release record is read
      command: cat /var/lib/drover/releases/APP.json
      register: record
      changed_when: false

    - name: the previous release is known
      assert:
        that: (record.stdout | from_json).previous is mapping
        fail_msg: "APP has no previous release on this host"

    - name: the previous release of APP runs again
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
pub(crate) fn run(command: &RolloutCommand) -> anyhow::Result<u8> {
    let (arguments, template, table) = match command {
        RolloutCommand::Status(arguments) => (arguments, STATUS, true),
        RolloutCommand::Undo(arguments) => (arguments, UNDO, false),
    };
    // The name goes into a path and a playbook: keep it to a plain word.
    if arguments.app.is_empty()
        || !arguments
            .app
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "-_.".contains(character))
    {
        return Ok(usage_error(format!(
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
    let Some((inventory, _)) = select_hosts(&arguments.inventory.sources, "all", None) else {
        return Ok(exit::USAGE_OR_CONFIG);
    };
    let options = match base_options(&arguments.connection, arguments.limit.clone()) {
        Ok(options) => options,
        Err(message) => return Ok(usage_error(message)),
    };
    let collector = Arc::new(Collector::default());
    let reporter: Arc<dyn Reporter> = if table {
        collector.clone()
    } else {
        Arc::new(TextReporter::new(false))
    };
    let code = match execute(&playbook, inventory, options, reporter)? {
        Ok(code) => code,
        Err(code) => return Ok(code),
    };
    if table {
        print_table(&arguments.app, &collector.rows())?;
    }
    Ok(code)
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
        if let Event::HostResult { host, result, .. } = event
            && let Ok(mut rows) = self.rows.lock()
        {
            rows.push((host, result));
        }
    }
}

fn print_table(app: &str, rows: &[(String, Json)]) -> std::io::Result<()> {
    let mut lines = vec![[
        "HOST".to_owned(),
        "CURRENT".to_owned(),
        "DEPLOYED".to_owned(),
        "BY".to_owned(),
        "PREVIOUS".to_owned(),
    ]];
    for (host, result) in rows {
        let record: Option<Json> = result["stdout"]
            .as_str()
            .and_then(|text| serde_json::from_str(text).ok());
        let field = |release: &str, key: &str| {
            record
                .as_ref()
                .and_then(|record| record[release][key].as_str())
                .unwrap_or("-")
                .to_owned()
        };
        lines.push(match &record {
            Some(_) => [
                host.clone(),
                field("current", "image"),
                field("current", "time"),
                field("current", "deployed_by"),
                field("previous", "image"),
            ],
            None if result["unreachable"] == true => [
                host.clone(),
                "unreachable".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
            ],
            None => [
                host.clone(),
                format!("no release of {app}"),
                "-".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
            ],
        });
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
    Ok(())
}
