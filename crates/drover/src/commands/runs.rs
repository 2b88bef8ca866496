//! `drover runs`: the run records in a directory, newest last, a line each
//! (see `crate::records`).

use std::io::Write as _;
use std::path::Path;

use crate::cli::RunsArgs;
use crate::exit;
use crate::failure::{Failure, Outcome};

/// What `drover runs` shows of one record.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Summary {
    pub(crate) started: String,
    pub(crate) command: String,
    /// The playbook, or the ad-hoc run's host pattern.
    pub(crate) target: String,
    pub(crate) hosts: usize,
    /// Hosts with at least one change, failure or unreachable result.
    pub(crate) changed: usize,
    pub(crate) failed: usize,
    pub(crate) unreachable: usize,
    /// `None` when the run did not end (it was killed, or still runs).
    pub(crate) exit_code: Option<i64>,
    pub(crate) duration: Option<f64>,
}

/// Lists the records.
pub(crate) fn run(arguments: &RunsArgs) -> Outcome {
    let files = crate::records::list_files(&arguments.record);
    if files.is_empty() {
        return Err(Failure::usage(format!(
            "no run records in `{}`\nhint: records are written by `drover play` and `drover run` \
             (under `.drover/runs` beside the playbook, or here for `drover run`); \
             name another directory with `--record DIR`",
            arguments.record.display()
        )));
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{:<24}  {:<7}  {:<28}  {:>5}  {:>7}  {:>6}  {:>11}  {:>8}  {:>6}  RECORD",
        "STARTED",
        "COMMAND",
        "TARGET",
        "HOSTS",
        "CHANGED",
        "FAILED",
        "UNREACHABLE",
        "DURATION",
        "EXIT"
    )?;
    for file in files {
        let summary = summarize(&file).unwrap_or_default();
        let name = file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        writeln!(
            stdout,
            "{:<24}  {:<7}  {:<28}  {:>5}  {:>7}  {:>6}  {:>11}  {:>8}  {:>6}  {}",
            summary.started,
            summary.command,
            summary.target,
            summary.hosts,
            summary.changed,
            summary.failed,
            summary.unreachable,
            summary
                .duration
                .map_or_else(|| "-".to_owned(), |duration| format!("{duration:.1}s")),
            summary
                .exit_code
                .map_or_else(|| "-".to_owned(), |code| code.to_string()),
            name.unwrap_or_default()
        )?;
    }
    Ok(exit::SUCCESS)
}

/// Reads a record's first line, its recaps and its end.
pub(crate) fn summarize(path: &Path) -> std::io::Result<Summary> {
    let mut summary = Summary::default();
    let mut hosts = std::collections::BTreeMap::<String, [u64; 3]>::new();
    for event in crate::records::events(path)? {
        let text = |key: &str| event[key].as_str().unwrap_or_default().to_owned();
        match event["event"].as_str() {
            Some("run") => {
                summary.started = text("started");
                summary.command = text("command");
                // A playbook, an ad-hoc run's pattern, or a rollout's app.
                summary.target = ["playbook", "pattern", "app"]
                    .iter()
                    .find_map(|key| event[*key].as_str())
                    .unwrap_or_default()
                    .to_owned();
            }
            // A playbook of several plays prints a recap at its end only;
            // each host's counts are its last.
            Some("recap") => {
                for host in event["hosts"].as_array().into_iter().flatten() {
                    let count = |key: &str| host[key].as_u64().unwrap_or(0);
                    hosts.insert(
                        host["host"].as_str().unwrap_or_default().to_owned(),
                        [count("changed"), count("failed"), count("unreachable")],
                    );
                }
            }
            Some("run_end") => {
                summary.exit_code = event["exit_code"].as_i64();
                summary.duration = event["duration"].as_f64();
            }
            _ => {}
        }
    }
    summary.hosts = hosts.len();
    summary.changed = hosts.values().filter(|counts| counts[0] > 0).count();
    summary.failed = hosts.values().filter(|counts| counts[1] > 0).count();
    summary.unreachable = hosts.values().filter(|counts| counts[2] > 0).count();
    Ok(summary)
}
