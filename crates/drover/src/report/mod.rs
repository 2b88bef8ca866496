//! `drover report`: one self-contained HTML file from run records (see
//! `crate::records`), to read after a run without a server.
//!
//! The records are boiled down here to what the page shows, in a compact
//! shape (hosts and tasks listed once, each result a small array), and the
//! page (`page.html`, its CSS and JavaScript inline, nothing fetched)
//! draws it: each run's summary, a grid of hosts by tasks that filters by
//! host pattern and status, each host's timeline, the slowest tasks, every
//! diff and failure with its `file:line`, a rollout's steps and gates, and,
//! given several runs, what changed between the last two and each host's
//! latest run. At 1,000 hosts by 50 tasks the file stays near 2 MB.

mod model;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::cli::ReportArgs;
use crate::exit;
use crate::failure::{Failure, Outcome};

/// The page, with `/*DATA*/` where the runs go.
const PAGE: &str = include_str!("page.html");

/// Writes the report.
pub(crate) fn run(arguments: &ReportArgs) -> Outcome {
    let paths = chosen(arguments)?;
    let mut runs = Vec::new();
    for path in &paths {
        let run = model::load(path).map_err(|error| {
            Failure::usage(format!(
                "cannot read the run record `{}`: {error}",
                path.display()
            ))
        })?;
        runs.push(run);
    }
    let html = page(&serde_json::Value::Array(runs));
    std::fs::write(&arguments.output, html).map_err(|error| {
        Failure::usage(format!(
            "cannot write the report `{}`: {error}",
            arguments.output.display()
        ))
    })?;
    writeln!(
        std::io::stdout().lock(),
        "wrote {} ({} run{})",
        arguments.output.display(),
        paths.len(),
        if paths.len() == 1 { "" } else { "s" }
    )?;
    Ok(exit::SUCCESS)
}

/// The page with `runs` in it. The data is JSON inside a `<script>`
/// element: `</` is written `<\/` so that no text in it can end the
/// element, and it is masked as all output is.
pub(crate) fn page(runs: &serde_json::Value) -> String {
    let data = drover_vault::mask(&runs.to_string()).replace("</", "<\\/");
    PAGE.replace("/*DATA*/", &data)
}

/// The records to report: those named (a path, or a name in the records
/// directory), or else the latest there.
fn chosen(arguments: &ReportArgs) -> Result<Vec<PathBuf>, Failure> {
    if arguments.runs.is_empty() {
        let latest = crate::records::list_files(&arguments.record).pop();
        return latest.map(|path| vec![path]).ok_or_else(|| {
            Failure::usage(format!(
                "no run records in `{}`\nhint: run a playbook first, or name a record (`drover runs` lists them)",
                arguments.record.display()
            ))
        });
    }
    arguments
        .runs
        .iter()
        .map(|run| {
            let given = Path::new(run);
            if given.is_file() {
                return Ok(given.to_path_buf());
            }
            let kept = arguments.record.join(run);
            if kept.is_file() {
                return Ok(kept);
            }
            Err(Failure::usage(format!(
                "no run record `{run}` here or in `{}`\nhint: `drover runs` lists the records",
                arguments.record.display()
            )))
        })
        .collect()
}
