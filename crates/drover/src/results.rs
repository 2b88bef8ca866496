//! Per-host results of an ad-hoc run, and how they are printed.
//!
//! Text output groups hosts whose output is identical, as `dshbak -c`
//! does, and compresses their names (`web1,web3-web9`). JSON output is one
//! object per host per line (NDJSON), for machines.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::json;

/// How a host's command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Status {
    /// Exit status 0.
    Ok,
    /// A non-zero exit status, a signal or a timeout.
    Failed,
    /// The host could not be reached or logged into.
    Unreachable,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Unreachable => "unreachable",
        }
    }
}

/// One host's outcome.
#[derive(Debug, Clone)]
pub(crate) struct HostResult {
    pub(crate) host: String,
    pub(crate) status: Status,
    pub(crate) exit_status: Option<u32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) duration: Duration,
    /// Why the host failed or was unreachable, beyond its output.
    pub(crate) message: Option<String>,
}

/// Prints one JSON object per host, in host order.
pub(crate) fn print_json(results: &[HostResult]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    for result in results {
        let line = result_json(result);
        writeln!(stdout, "{}", drover_vault::mask(&line.to_string()))
            .context("cannot write to stdout")?;
    }
    Ok(())
}

/// One host's outcome as `--output json` prints it (and a run record
/// keeps it, as a `host_result` event).
pub(crate) fn result_json(result: &HostResult) -> serde_json::Value {
    json!({
        "host": result.host,
        "status": result.status.name(),
        "rc": result.exit_status,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "duration_ms": u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX),
        "message": result.message,
    })
}

/// The counts of an ad-hoc run by status, as its record's `recap` event.
pub(crate) fn recap_json(results: &[HostResult]) -> serde_json::Value {
    let count = |status: Status| {
        results
            .iter()
            .filter(|result| result.status == status)
            .count()
    };
    json!({
        "event": "recap",
        "hosts": results.iter().map(|result| json!({
            "host": result.host,
            "ok": u32::from(result.status == Status::Ok),
            "changed": 0,
            "unreachable": u32::from(result.status == Status::Unreachable),
            "failed": u32::from(result.status == Status::Failed),
            "skipped": 0, "rescued": 0, "ignored": 0,
        })).collect::<Vec<_>>(),
        "ok": count(Status::Ok),
        "failed": count(Status::Failed),
        "unreachable": count(Status::Unreachable),
    })
}

/// Prints results grouped by identical output, failures apart, then a summary.
pub(crate) fn print_text(results: &[HostResult], elapsed: Duration) -> anyhow::Result<()> {
    let text = drover_vault::mask(&render_text(results, elapsed));
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("cannot write to stdout")
}

/// What identifies a group: hosts print together when all of this is equal.
type GroupKey<'a> = (Status, Option<u32>, &'a str, &'a str, Option<&'a str>);

fn render_text(results: &[HostResult], elapsed: Duration) -> String {
    // Groups in order of their first host, successes first, then failures, then unreachable.
    let mut groups: Vec<(GroupKey<'_>, Vec<&str>)> = Vec::new();
    let mut positions: HashMap<GroupKey<'_>, usize> = HashMap::new();
    for result in results {
        let key = (
            result.status,
            result.exit_status,
            result.stdout.as_str(),
            result.stderr.as_str(),
            result.message.as_deref(),
        );
        let position = *positions.entry(key).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[position].1.push(&result.host);
    }
    groups.sort_by_key(|((status, ..), _)| *status);
    let mut text = String::new();
    for (key, hosts) in &groups {
        render_group(&mut text, *key, hosts);
    }
    let count = |wanted: Status| {
        results
            .iter()
            .filter(|result| result.status == wanted)
            .count()
    };
    let _ = writeln!(
        text,
        "{} hosts: {} ok, {} failed, {} unreachable in {:.2} s",
        results.len(),
        count(Status::Ok),
        count(Status::Failed),
        count(Status::Unreachable),
        elapsed.as_secs_f64()
    );
    text
}

/// One group of hosts that answered alike: a heading with the hosts, then
/// the answer (on the heading's line when it is one line).
fn render_group(text: &mut String, key: GroupKey<'_>, hosts: &[&str]) {
    let (status, exit_status, stdout, stderr, message) = key;
    let label = match status {
        Status::Ok => String::new(),
        Status::Failed => match exit_status {
            Some(code) => format!("FAILED rc={code} "),
            None => "FAILED ".to_owned(),
        },
        Status::Unreachable => "UNREACHABLE ".to_owned(),
    };
    let _ = write!(text, "{label}{} ({}):", compress_hosts(hosts), hosts.len());
    let mut body = String::new();
    if let Some(message) = message {
        body.push_str(message);
        body.push('\n');
    }
    body.push_str(stdout);
    if !stderr.is_empty() {
        if !body.is_empty() && !body.ends_with('\n') {
            body.push('\n');
        }
        for line in stderr.lines() {
            let _ = writeln!(body, "stderr: {line}");
        }
    }
    let lines: Vec<&str> = body.lines().collect();
    match lines.as_slice() {
        [] => text.push('\n'),
        [single] => {
            let _ = writeln!(text, " {single}");
        }
        many => {
            text.push('\n');
            for line in many {
                let _ = writeln!(text, "  {line}");
            }
        }
    }
}

/// `web1,web3,web4,web5,db` becomes `db,web1,web3-web5`: runs of consecutive
/// numbers with the same prefix, suffix and width collapse to `first-last`.
pub(crate) fn compress_hosts(hosts: &[&str]) -> String {
    let mut parsed: Vec<(String, String, usize, u64, &str)> = hosts
        .iter()
        .map(|host| match split_number(host) {
            Some((prefix, digits, suffix)) => (
                prefix.to_owned(),
                suffix.to_owned(),
                digits.len(),
                digits.parse().unwrap_or(u64::MAX),
                *host,
            ),
            None => ((*host).to_owned(), String::new(), 0, 0, *host),
        })
        .collect();
    parsed.sort();
    let mut pieces: Vec<String> = Vec::new();
    let mut index = 0;
    while index < parsed.len() {
        let (prefix, suffix, width, number, name) = &parsed[index];
        let mut end = index;
        while *width > 0
            && end + 1 < parsed.len()
            && parsed[end + 1].0 == *prefix
            && parsed[end + 1].1 == *suffix
            && parsed[end + 1].2 == *width
            && parsed[end + 1].3 == parsed[end].3 + 1
        {
            end += 1;
        }
        if end > index + 1 || (end == index + 1 && *number + 1 == parsed[end].3) {
            pieces.push(format!("{name}-{}", parsed[end].4));
        } else {
            pieces.push((*name).to_owned());
        }
        index = end + 1;
    }
    pieces.join(",")
}

/// Splits `web01.lan` into `("web", "01", ".lan")` at its last run of digits.
fn split_number(host: &str) -> Option<(&str, &str, &str)> {
    let end = host.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = host[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |index| index + 1);
    Some((&host[..start], &host[start..end], &host[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_compress_into_runs() {
        assert_eq!(
            compress_hosts(&["h3", "h1", "h4", "h5", "h9", "db"]),
            "db,h1,h3-h5,h9"
        );
        assert_eq!(
            compress_hosts(&["web01.lan", "web02.lan", "web10.lan"]),
            "web01.lan-web02.lan,web10.lan"
        );
        assert_eq!(compress_hosts(&["a"]), "a");
    }

    fn result(host: &str, status: Status, code: Option<u32>, stdout: &str) -> HostResult {
        HostResult {
            host: host.to_owned(),
            status,
            exit_status: code,
            stdout: stdout.to_owned(),
            stderr: String::new(),
            duration: Duration::from_millis(5),
            message: None,
        }
    }

    #[test]
    fn identical_output_is_grouped_and_failures_stand_apart() {
        let results = [
            result("h1", Status::Ok, Some(0), "same\n"),
            result("h2", Status::Ok, Some(0), "same\n"),
            result("h3", Status::Ok, Some(0), "other\nlines\n"),
            result("h4", Status::Failed, Some(3), ""),
        ];
        let text = render_text(&results, Duration::from_millis(1500));
        assert_eq!(
            text,
            "h1-h2 (2): same\nh3 (1):\n  other\n  lines\nFAILED rc=3 h4 (1):\n\
             4 hosts: 3 ok, 1 failed, 0 unreachable in 1.50 s\n"
        );
    }
}
