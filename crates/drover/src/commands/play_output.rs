//! Printing a playbook run: Ansible-like text, or NDJSON events.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use drover_engine::{Event, HostReport, Reporter, Stats, Status};
use serde_json::{Value as Json, json};

/// Text in Ansible's layout: play and task headers, a line per host, the
/// recap; and, on standard error, a located report of each way a task
/// failed as written (once per task, however many hosts it failed on).
pub(crate) struct TextReporter {
    verbose: bool,
    started: Instant,
    /// Held while printing; the problems reported for the current task.
    reported: Mutex<Vec<String>>,
}

impl TextReporter {
    pub(crate) fn new(verbose: bool) -> Self {
        Self {
            verbose,
            started: Instant::now(),
            reported: Mutex::new(Vec::new()),
        }
    }
}

/// `TITLE ****` padded to 80 columns, as Ansible's banners are.
fn banner(title: &str) -> String {
    let stars = 79usize.saturating_sub(title.chars().count() + 1).max(3);
    format!("\n{title} {}", "*".repeat(stars))
}

fn compact(result: &Json) -> String {
    let mut shown = result.clone();
    if let Json::Object(map) = &mut shown {
        for noise in ["stdout_lines", "stderr_lines", "ansible_loop_var"] {
            map.remove(noise);
        }
    }
    serde_json::to_string(&shown).unwrap_or_default()
}

impl Reporter for TextReporter {
    fn event(&self, event: Event) {
        let Ok(mut reported) = self.reported.lock() else {
            return;
        };
        let text = match event {
            Event::PlayStart { name, .. } => banner(&format!("PLAY [{name}]")),
            Event::TaskStart { name, handler, .. } => {
                reported.clear();
                banner(&format!(
                    "{} [{name}]",
                    if handler { "RUNNING HANDLER" } else { "TASK" }
                ))
            }
            Event::HostResult(report) => {
                if let Some(problem) = &report.problem
                    && !reported.contains(&problem.message)
                {
                    crate::output::eprint_report(&crate::diagnostics::problem_report(problem));
                    reported.push(problem.message.clone());
                }
                self.host_line(&report)
            }
            Event::Recap { stats } => recap(&stats, self.started),
        };
        // A secret a task revealed (a vault value, a become password) never reaches the terminal.
        let _ = writeln!(std::io::stdout().lock(), "{}", drover_vault::mask(&text));
    }
}

impl TextReporter {
    /// `ok: [host]`, `changed: [host -> delegate] => (item=x)`, `fatal:
    /// [host]: FAILED! => {...}`, after the diff in diff mode.
    fn host_line(&self, report: &HostReport) -> String {
        let mut line = report.diff.clone().unwrap_or_default();
        let host = &report.host;
        let target = match &report.delegated_to {
            Some(delegate) => format!("[{host} -> {delegate}]"),
            None => format!("[{host}]"),
        };
        let item = report
            .item
            .as_ref()
            .map_or_else(String::new, |item| format!(" => (item={item})"));
        let detail = match report.status {
            Status::Failed | Status::Unreachable | Status::Ignored => {
                format!(" => {}", compact(&report.result))
            }
            Status::Skipped if !self.verbose => String::new(),
            _ if self.verbose || report.module.as_deref() == Some("debug") => {
                format!(" => {}", compact(&report.result))
            }
            _ => String::new(),
        };
        let head = match report.status {
            Status::Failed | Status::Ignored => format!("fatal: {target}: FAILED!{item}{detail}"),
            Status::Unreachable => format!("fatal: {target}: UNREACHABLE!{item}{detail}"),
            other => format!("{}: {target}{item}{detail}", other.word()),
        };
        line.push_str(&head);
        if report.status == Status::Ignored {
            line.push_str("\n...ignoring");
        }
        line
    }
}

/// `PLAY RECAP`: a line of counts per host, and the time the run took.
fn recap(stats: &[(String, Stats)], started: Instant) -> String {
    let mut recap = banner("PLAY RECAP");
    for (host, stat) in stats {
        let _ = write!(
            recap,
            "\n{host:<26} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4} rescued={:<4} ignored={:<4}",
            stat.ok,
            stat.changed,
            stat.unreachable,
            stat.failed,
            stat.skipped,
            stat.rescued,
            stat.ignored
        );
    }
    let _ = write!(
        recap,
        "\n\nFinished in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    recap
}

/// One JSON object per event, per line.
pub(crate) struct JsonReporter {
    lock: Mutex<()>,
}

impl JsonReporter {
    pub(crate) fn new() -> Self {
        Self {
            lock: Mutex::new(()),
        }
    }
}

impl Reporter for JsonReporter {
    fn event(&self, event: Event) {
        let value = event_json(&event);
        let _guard = self.lock.lock();
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}",
            drover_vault::mask(&value.to_string())
        );
    }
}

/// An event as `--output json` prints it (and a run record keeps it).
pub(crate) fn event_json(event: &Event) -> Json {
    match event {
        Event::PlayStart { name, hosts } => {
            json!({"event": "play_start", "play": name, "hosts": hosts})
        }
        Event::TaskStart {
            name,
            location,
            handler,
        } => {
            json!({"event": "task_start", "task": name, "location": location, "handler": handler})
        }
        Event::HostResult(report) => {
            let HostReport {
                host,
                status,
                item,
                result,
                diff,
                delegated_to,
                module,
                problem,
                timing,
            } = report.as_ref();
            json!({
                "event": "host_result", "host": host, "status": status.word(),
                "ignored": *status == Status::Ignored, "item": item,
                "result": result, "diff": diff, "delegated_to": delegated_to, "module": module,
                "problem": problem.as_ref().map(|problem| json!({
                    "message": problem.message, "hint": problem.hint,
                    "file": problem.location.path, "line": problem.location.line,
                    "column": problem.location.column,
                })),
                "started": timing.map(|timing| humantime::format_rfc3339_millis(timing.started).to_string()),
                "duration": timing.map(|timing| timing.elapsed.as_secs_f64()),
            })
        }
        Event::Recap { stats } => json!({
            "event": "recap",
            "hosts": stats.iter().map(|(host, stat)| json!({
                "host": host, "ok": stat.ok, "changed": stat.changed, "unreachable": stat.unreachable,
                "failed": stat.failed, "skipped": stat.skipped, "rescued": stat.rescued, "ignored": stat.ignored,
            })).collect::<Vec<_>>(),
        }),
    }
}
