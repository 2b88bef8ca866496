//! A run record boiled down to what the report shows.
//!
//! The shape, one JSON object per run:
//! - what ran: `name` (the record's file), `command`, `target`,
//!   `inventory`, `user`, `machine`, `directory`, `started`, `duration`,
//!   `exit_code` (`null` for a run that never ended);
//! - `hosts` and `tasks` (`name`, `location`, `play`, and `step`: a
//!   rollout's own step, a gate or a rollback), each listed once;
//! - `results`: `[task, host, status, start, duration, detail]` arrays,
//!   `status` one letter (`o`k, `c`hanged, `f`ailed, `u`nreachable,
//!   `s`kipped, `i`gnored), `start` in seconds from the run's start,
//!   `detail` an index into `details` or -1;
//! - `details`: a failure's `message`, a `diff`.
//!
//! Long messages and diffs are cut, so that a report of a thousand hosts
//! stays a few megabytes.

use std::collections::HashMap;
use std::path::Path;
use std::time::SystemTime;

use serde_json::{Value as Json, json};

/// The most characters of a message or a diff the report keeps.
const DETAIL_LIMIT: usize = 4000;

/// What is read from a record while going through it.
#[derive(Default)]
struct Builder {
    header: Json,
    started: Option<SystemTime>,
    end: Json,
    play: String,
    hosts: Vec<String>,
    host_index: HashMap<String, usize>,
    tasks: Vec<Json>,
    results: Vec<Json>,
    details: Vec<Json>,
}

/// Reads the record at `path`.
pub(crate) fn load(path: &Path) -> std::io::Result<Json> {
    let mut builder = Builder::default();
    for event in crate::records::events(path)? {
        builder.take(&event);
    }
    let name = path
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    Ok(builder.finish(&name))
}

impl Builder {
    fn take(&mut self, event: &Json) {
        match event["event"].as_str() {
            Some("run") => {
                self.started = event["started"]
                    .as_str()
                    .and_then(|text| humantime::parse_rfc3339_weak(text).ok());
                self.header = event.clone();
                // An ad-hoc run has one task: its command.
                if event["command"] == "run" {
                    self.tasks.push(json!({
                        "name": format!("{} (ad hoc)", event["pattern"].as_str().unwrap_or_default()),
                        "location": "", "play": "", "step": false,
                    }));
                }
            }
            Some("play_start") => {
                self.play = event["play"].as_str().unwrap_or_default().to_owned();
            }
            Some("task_start") => {
                let location = event["location"].as_str().unwrap_or_default();
                self.tasks.push(json!({
                    "name": event["task"], "location": location, "play": self.play,
                    "step": location.is_empty(),
                }));
            }
            Some("host_result") if event["item"].is_null() => self.result(event),
            Some("run_end") => self.end = event.clone(),
            _ => {}
        }
    }

    /// One host's result of the current task.
    fn result(&mut self, event: &Json) {
        let host = event["host"].as_str().unwrap_or_default().to_owned();
        let next = self.hosts.len();
        let host = *self.host_index.entry(host.clone()).or_insert_with(|| {
            self.hosts.push(host);
            next
        });
        let task = self.tasks.len().saturating_sub(1);
        // The words of the output: a skipped task is `skipping`, an
        // ignored failure `failed` with `ignored`.
        let status = match event["status"].as_str().unwrap_or_default() {
            "changed" => "c",
            "failed" if event["ignored"] == true => "i",
            "failed" => "f",
            "unreachable" => "u",
            "skipping" | "skipped" => "s",
            _ => "o",
        };
        // A playbook's result has `duration` (seconds); an ad-hoc one `duration_ms`.
        let duration = event["duration"]
            .as_f64()
            .or_else(|| event["duration_ms"].as_f64().map(|ms| ms / 1000.0))
            .unwrap_or(0.0);
        let start = event["started"]
            .as_str()
            .and_then(|text| humantime::parse_rfc3339_weak(text).ok())
            .zip(self.started)
            .and_then(|(started, run)| started.duration_since(run).ok())
            .map_or_else(
                || (event["at"].as_f64().unwrap_or(0.0) - duration).max(0.0),
                |offset| offset.as_secs_f64(),
            );
        let detail = self.detail(event, status);
        let round = |seconds: f64| (seconds * 1000.0).round() / 1000.0;
        self.results.push(json!([
            task,
            host,
            status,
            round(start),
            round(duration),
            detail
        ]));
    }

    /// A failure's message and a diff, kept once; the index, or -1.
    fn detail(&mut self, event: &Json, status: &str) -> i64 {
        let failed = matches!(status, "f" | "u" | "i");
        let message = failed.then(|| {
            let result = &event["result"];
            let message = result["msg"]
                .as_str()
                .or_else(|| event["message"].as_str())
                .or_else(|| event["stderr"].as_str())
                .or_else(|| result["stderr"].as_str())
                .unwrap_or_default();
            cut(message)
        });
        let diff = event["diff"].as_str().map(cut);
        if message.is_none() && diff.is_none() {
            return -1;
        }
        self.details.push(json!({"message": message, "diff": diff}));
        i64::try_from(self.details.len() - 1).unwrap_or(-1)
    }

    fn finish(self, name: &str) -> Json {
        let header = &self.header;
        let mut counts = json!({"o": 0, "c": 0, "f": 0, "u": 0, "s": 0, "i": 0});
        for result in &self.results {
            if let Some(status) = result[2].as_str() {
                counts[status] = json!(counts[status].as_u64().unwrap_or(0) + 1);
            }
        }
        // A playbook, an ad-hoc run's pattern, or a rollout's app.
        let target = ["playbook", "pattern", "app"]
            .iter()
            .find_map(|key| header.get(*key))
            .cloned();
        json!({
            "name": name,
            "command": header["command"],
            "target": target,
            "inventory": header["inventory"],
            "user": header["user"],
            "machine": header["machine"],
            "directory": header["directory"],
            "started": header["started"],
            "duration": self.end["duration"],
            "exit_code": self.end["exit_code"],
            "hosts": self.hosts,
            "tasks": self.tasks,
            "results": self.results,
            "details": self.details,
            "counts": counts,
        })
    }
}

/// `text`, cut to [`DETAIL_LIMIT`] characters.
fn cut(text: &str) -> String {
    match text.char_indices().nth(DETAIL_LIMIT) {
        Some((end, _)) => format!("{}\n… (cut)", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_19_a_record_boils_down_to_hosts_tasks_and_results() {
        let directory = tempfile::tempdir().expect("a directory");
        let path = directory.path().join("run.ndjson");
        let lines = [
            r#"{"event":"run","command":"play","playbook":"site.yml","started":"2026-11-30T10:00:00.000Z","at":0}"#,
            r#"{"event":"play_start","play":"web","hosts":["a","b"],"at":0.1}"#,
            r#"{"event":"task_start","task":"copy","location":"site.yml:5","handler":false,"at":0.1}"#,
            r#"{"event":"host_result","host":"a","status":"changed","item":null,"result":{},"diff":"-x\n+y\n","started":"2026-11-30T10:00:01.000Z","duration":0.5,"at":1.6}"#,
            r#"{"event":"host_result","host":"b","status":"failed","item":null,"result":{"msg":"denied"},"diff":null,"started":"2026-11-30T10:00:01.500Z","duration":0.25,"at":1.8}"#,
            r#"{"event":"task_start","task":"READINESS [http]","location":"","handler":false,"at":2}"#,
            r#"{"event":"host_result","host":"a","status":"skipping","item":null,"result":{},"diff":null,"duration":0,"at":2}"#,
            r#"{"event":"host_result","host":"b","status":"failed","ignored":true,"item":null,"result":{"msg":"no"},"diff":null,"duration":0,"at":2}"#,
            r#"{"event":"run_end","exit_code":2,"duration":2.5,"at":2.5}"#,
            r#"{"event":"host_res"#,
        ];
        std::fs::write(&path, lines.join("\n")).expect("written");
        let run = load(&path).expect("read");
        assert_eq!(run["hosts"], json!(["a", "b"]));
        assert_eq!(run["tasks"][0]["location"], "site.yml:5");
        assert_eq!(run["tasks"][1]["step"], true);
        assert_eq!(run["results"][0], json!([0, 0, "c", 1.0, 0.5, 0]));
        assert_eq!(run["results"][1], json!([0, 1, "f", 1.5, 0.25, 1]));
        assert_eq!(run["details"][0]["diff"], "-x\n+y\n");
        assert_eq!(run["details"][1]["message"], "denied");
        assert_eq!(run["exit_code"], 2);
        assert_eq!(run["counts"]["c"], 1);
        assert_eq!(run["results"][2][2], "s");
        assert_eq!(run["results"][3][2], "i");
    }
}
