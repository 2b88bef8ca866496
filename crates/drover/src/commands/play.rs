//! `drover play`: validate a whole playbook, then run it.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use drover_engine::{Reporter, RunOptions};
use drover_modules::ModuleCatalog;
use drover_playbook::{Action, LoadOptions, Playbook, Task};
use serde_json::Value as Json;

use crate::cli::{ConnectionArgs, OutputFormat, PlayArgs};
use crate::commands::options::{
    become_method, become_password, connection_defaults, resolve_limit,
};
use crate::commands::play_output::{JsonReporter, TextReporter};
use crate::commands::targets::select_hosts;
use crate::diagnostics::{playbook_report, playbook_warning};
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::output::eprint_report;

/// Validates and runs the playbook.
pub(crate) fn run(arguments: &PlayArgs, verbose: bool) -> Outcome {
    let options = LoadOptions {
        roles_path: arguments.roles_path.clone(),
        strict: arguments.strict,
    };
    let playbook = load_or_report(&arguments.playbook, &options)?;
    let extra_vars = parse_extra_vars(&arguments.extra_vars)?;
    let mut stdout = std::io::stdout().lock();
    if arguments.syntax_check {
        writeln!(stdout, "\nplaybook: {}", arguments.playbook.display())?;
        return Ok(exit::SUCCESS);
    }
    if arguments.list_tasks || arguments.list_tags {
        list(&mut stdout, &playbook, arguments)?;
        return Ok(exit::SUCCESS);
    }
    let (mut inventory, _) = select_hosts(&arguments.inventory.sources, "all", None)?;
    add_implicit_localhost(&mut inventory, &playbook);
    if arguments.list_hosts {
        list_hosts(&mut stdout, &playbook, &inventory, arguments)?;
        return Ok(exit::SUCCESS);
    }
    drop(stdout);
    let run_options = RunOptions {
        check: arguments.check,
        diff: arguments.diff,
        extra_vars,
        tags: arguments.tags.clone(),
        skip_tags: arguments.skip_tags.clone(),
        start_at_task: arguments.start_at_task.clone(),
        force_handlers: arguments.force_handlers,
        ..base_options(&arguments.connection, arguments.limit.clone())?
    };
    let reporter: Arc<dyn Reporter> = match arguments.output {
        OutputFormat::Text => Arc::new(TextReporter::new(verbose)),
        OutputFormat::Json => Arc::new(JsonReporter::new()),
    };
    let header = serde_json::json!({
        "command": "play",
        "playbook": arguments.playbook,
        "inventory": arguments.inventory.sources,
        "limit": arguments.limit,
        "check": arguments.check,
    });
    let (record, playbook_path) = (&arguments.record, &arguments.playbook);
    let junit = arguments.junit.as_deref();
    crate::junit::around(junit, playbook_path, reporter, |reporter| {
        crate::records::recorded(record, playbook_path, header, reporter, |reporter| {
            let retry = arguments.retry_failed;
            execute_and_retry(&playbook, inventory, run_options, reporter, retry)
        })
    })
}

/// As in Ansible, a play may name `localhost` (or `127.0.0.1`) without
/// the inventory listing it: the implicit localhost, reached locally, which
/// `all` does not include.
fn add_implicit_localhost(inventory: &mut drover_inventory::Inventory, playbook: &Playbook) {
    for play in &playbook.plays {
        for term in play.hosts.split([',', ':']) {
            let term = term.trim().trim_start_matches(['&', '!']);
            if drover_inventory::LOCALHOST_NAMES.contains(&term) {
                inventory.host_or_implicit_localhost(term);
            }
        }
    }
}

/// `--list-hosts`: each play's pattern and the hosts it matches (narrowed
/// by `--limit`).
fn list_hosts(
    stdout: &mut impl std::io::Write,
    playbook: &Playbook,
    inventory: &drover_inventory::Inventory,
    arguments: &PlayArgs,
) -> Result<(), Failure> {
    let limit = arguments.limit.as_deref().map(resolve_limit).transpose()?;
    writeln!(stdout, "\nplaybook: {}", arguments.playbook.display())?;
    for (index, play) in playbook.plays.iter().enumerate() {
        let mut hosts = inventory
            .select(&play.hosts)
            .map(|selection| selection.hosts)
            .unwrap_or_default();
        if let Some(limit) = &limit {
            let allowed = inventory
                .select(limit)
                .map(|selection| selection.hosts)
                .unwrap_or_default();
            hosts.retain(|host| allowed.contains(host));
        }
        writeln!(stdout, "{}", play_header(index, play))?;
        writeln!(
            stdout,
            "    pattern: ['{}']\n    hosts ({}):",
            play.hosts,
            hosts.len()
        )?;
        for host in hosts {
            writeln!(stdout, "      {}", inventory.host(host).name)?;
        }
    }
    Ok(())
}

/// Writes the failed and unreachable hosts to `PLAYBOOK.retry` (or removes
/// it when none failed); returns the file's path when written.
fn write_retry_file(
    playbook: &Path,
    summary: &drover_engine::Summary,
) -> std::io::Result<Option<std::path::PathBuf>> {
    let path = playbook.with_extension("retry");
    let failed: Vec<&str> = summary
        .stats
        .iter()
        .filter(|(_, stats)| stats.failed > 0 || stats.unreachable > 0)
        .map(|(host, _)| host.as_str())
        .collect();
    if failed.is_empty() {
        let _ = std::fs::remove_file(&path);
        return Ok(None);
    }
    std::fs::write(&path, failed.join("\n") + "\n")?;
    Ok(Some(path))
}

/// Loads and validates a playbook; on failure, prints every problem.
pub(crate) fn load_or_report(path: &Path, options: &LoadOptions) -> Result<Playbook, Failure> {
    match drover_playbook::load(path, &ModuleCatalog, options) {
        Ok(playbook) => {
            for warning in &playbook.warnings {
                eprint_report(&playbook_warning(warning));
            }
            Ok(playbook)
        }
        Err(errors) => {
            for error in &errors.errors {
                eprint_report(&playbook_report(error));
            }
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "error: {} problem(s) in `{}`; nothing was run",
                    errors.errors.len(),
                    path.display()
                );
            }
            Err(Failure::Reported)
        }
    }
}

/// What every playbook run takes from the connection flags and `--limit`;
/// nothing checked, diffed, tagged or extra.
pub(crate) fn base_options(
    connection: &ConnectionArgs,
    limit: Option<String>,
) -> Result<RunOptions, Failure> {
    let limit = limit.map(|limit| resolve_limit(&limit)).transpose()?;
    Ok(RunOptions {
        forks: connection.forks(),
        check: false,
        diff: false,
        extra_vars: serde_json::Map::new(),
        limit,
        tags: Vec::new(),
        skip_tags: Vec::new(),
        start_at_task: None,
        connection: connection_defaults(connection)?,
        become_forced: connection.become_root,
        become_user: connection.become_user.clone(),
        become_method: become_method(connection),
        become_password: become_password(connection)?,
        gather_by_default: connection.gathering == crate::config::Gathering::Implicit,
        force_handlers: false,
        rollout_undo: None,
    })
}

/// Runs a loaded playbook; its exit code, or why the run could not start.
pub(crate) fn execute(
    playbook: &Playbook,
    inventory: drover_inventory::Inventory,
    options: RunOptions,
    reporter: Arc<dyn Reporter>,
) -> Outcome {
    execute_and_retry(playbook, inventory, options, reporter, false)
}

/// [`execute`], and with `retry_failed` the failed hosts written to
/// `PLAYBOOK.retry`.
fn execute_and_retry(
    playbook: &Playbook,
    inventory: drover_inventory::Inventory,
    options: RunOptions,
    reporter: Arc<dyn Reporter>,
    retry_failed: bool,
) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let summary = runtime.block_on(drover_engine::run(
        playbook,
        Arc::new(inventory),
        Arc::new(options),
        reporter,
    ));
    let summary = summary.map_err(|error| Failure::usage(error.to_string()))?;
    if retry_failed && let Some(path) = write_retry_file(&playbook.path, &summary)? {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("to retry the failed hosts: --limit @{}", path.display());
        }
    }
    Ok(summary.exit_code())
}

/// `-e k=v k2=v2`, `-e '{"json": 1}'`, `-e 'yaml: 1'` and `-e @file.yml`, later ones winning.
pub(crate) fn parse_extra_vars(items: &[String]) -> Result<serde_json::Map<String, Json>, Failure> {
    read_extra_vars(items).map_err(|message| {
        Failure::usage(format!(
            "{message}\nhint: -e takes `key=value key2=value2`, JSON (`'{{\"key\": 1}}'`), YAML (`'key: 1'`) or `@file.yml`"
        ))
    })
}

fn read_extra_vars(items: &[String]) -> Result<serde_json::Map<String, Json>, String> {
    let mut vars = serde_json::Map::new();
    for item in items {
        let parsed = if let Some(file) = item.strip_prefix('@') {
            let vars = drover_inventory::read_vars_file(Path::new(file))
                .map_err(|error| format!("-e @{file}: {error}"))?;
            Json::Object(vars)
        } else if item.trim_start().starts_with('{') || item.trim_start().starts_with('[') {
            serde_json::from_str(item)
                .map_err(|error| format!("-e `{item}` is not valid JSON: {error}"))?
        } else if item.contains('=') && !item.contains(": ") {
            let mut map = serde_json::Map::new();
            for word in
                shlex::split(item).ok_or_else(|| format!("-e `{item}`: unbalanced quotes"))?
            {
                let (key, value) = word
                    .split_once('=')
                    .ok_or_else(|| format!("-e `{word}` is not `key=value`"))?;
                map.insert(key.to_owned(), Json::from(value));
            }
            Json::Object(map)
        } else {
            serde_saphyr::from_str(item).map_err(|error| format!("-e `{item}`: {error}"))?
        };
        match parsed {
            Json::Object(map) => vars.extend(map),
            _ => return Err(format!("-e `{item}` must define variables")),
        }
    }
    Ok(vars)
}

fn list(
    out: &mut impl std::io::Write,
    playbook: &Playbook,
    arguments: &PlayArgs,
) -> anyhow::Result<()> {
    writeln!(out, "\nplaybook: {}", arguments.playbook.display()).context("stdout")?;
    for (index, play) in playbook.plays.iter().enumerate() {
        writeln!(out, "{}", play_header(index, play))?;
        if arguments.list_tags {
            let mut tags: Vec<String> = play
                .sections
                .iter()
                .flat_map(|section| all_tasks(&section.tasks))
                .flat_map(|task| task.tags.clone())
                .collect();
            tags.extend(play.tags.iter().cloned());
            tags.sort();
            tags.dedup();
            writeln!(out, "      TASK TAGS: [{}]", tags.join(", "))?;
        }
        if arguments.list_tasks {
            writeln!(out, "    tasks:")?;
            for task in play
                .sections
                .iter()
                .flat_map(|section| all_tasks(&section.tasks))
            {
                // Ansible lists a task's tags sorted, inherited ones included.
                let mut tags = task.tags.clone();
                tags.sort();
                tags.dedup();
                writeln!(
                    out,
                    "      {}\tTAGS: [{}]",
                    task.display_name(),
                    tags.join(", ")
                )?;
            }
        }
    }
    Ok(())
}

/// `play #N (PATTERN): NAME<TAB>TAGS: [...]`, as `ansible-playbook` lists plays.
fn play_header(index: usize, play: &drover_playbook::Play) -> String {
    format!(
        "\n  play #{} ({}): {}\tTAGS: [{}]",
        index + 1,
        play.hosts,
        play.name.clone().unwrap_or_else(|| play.hosts.clone()),
        play.tags.join(",")
    )
}

/// Tasks with blocks flattened, in order.
fn all_tasks(tasks: &[Task]) -> Vec<&Task> {
    let mut all = Vec::new();
    for task in tasks {
        match &task.action {
            Action::Block {
                block,
                rescue,
                always,
            } => {
                all.extend(all_tasks(block));
                all.extend(all_tasks(rescue));
                all.extend(all_tasks(always));
            }
            _ => all.push(task),
        }
    }
    all
}
