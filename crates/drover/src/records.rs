//! Run records: every `drover play` and `drover run` leaves one NDJSON
//! file of its events under `.drover/runs/` (beside the playbook, or in the
//! current directory for an ad-hoc run), so that what happened can be asked
//! after the fact without a server (`drover runs`).
//!
//! The first line describes the run (the command, its arguments, the
//! playbook and inventory, who ran it, where and when); then every event
//! the run's output is made from, as `--output json` prints it, with `at`,
//! the seconds since the start, and each host result's own start and
//! duration; the last line, `run_end`, has the exit code and the duration.
//! Each line is written and flushed as it happens, so a killed run still
//! leaves a readable record that ends with its last event. Lines are
//! masked as the output is (vault values, become passwords), and a
//! `no_log` task's result is censored before it becomes an event. The
//! directory is the user's alone (0700), and so is each record (0600).

use std::fs::File;
use std::io::{LineWriter, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use drover_engine::{Event, Reporter};
use serde_json::{Value as Json, json};

/// How many records a directory keeps unless told otherwise.
pub(crate) const RUNS_KEPT: usize = 50;

/// The file name records end with.
const EXTENSION: &str = "ndjson";

/// Where a command's record goes, and how many to keep.
#[derive(Debug, Clone)]
pub(crate) struct Recording {
    pub(crate) directory: PathBuf,
    pub(crate) keep: usize,
}

/// Where the run's record goes under `arguments`: `--record DIR`, else
/// `.drover/runs` in `beside`; `None` with `--no-record`.
fn recording(arguments: &crate::cli::RecordArgs, beside: &Path) -> Option<Recording> {
    if arguments.no_record {
        return None;
    }
    Some(Recording {
        directory: arguments
            .record
            .clone()
            .unwrap_or_else(|| beside.join(".drover").join("runs")),
        keep: arguments.keep_runs.unwrap_or(RUNS_KEPT),
    })
}

/// Every argument the command was given, for the record's first line.
pub(crate) fn command_line() -> Vec<String> {
    std::env::args().collect()
}

/// Who runs it, where: the user, this machine, the directory.
pub(crate) fn who() -> Json {
    json!({
        "user": std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .or_else(|| {
                use std::os::unix::fs::MetadataExt as _;
                let uid = std::fs::metadata("/proc/self").ok()?.uid();
                Some(format!("uid {uid}"))
            }),
        "machine": std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|name| name.trim().to_owned()),
        "directory": std::env::current_dir().ok(),
    })
}

/// One run's record, open for writing.
pub(crate) struct Record {
    file: Mutex<LineWriter<File>>,
    started: Instant,
    path: PathBuf,
}

impl Record {
    /// Creates the record of a run described by `header` in
    /// `recording.directory`, and removes the oldest records beyond
    /// `recording.keep`. A record that cannot be written is a warning, not
    /// a reason to refuse the run.
    pub(crate) fn create(recording: &Recording, header: Json) -> Option<Arc<Self>> {
        match Self::try_create(recording, header) {
            Ok(record) => Some(Arc::new(record)),
            Err(error) => {
                crate::output::print_warnings(&[drover_inventory::Warning {
                    message: format!(
                        "cannot write a run record in `{}`: {error} (run with `--no-record` or \
                         `--record DIR` to choose)",
                        recording.directory.display()
                    ),
                    location: None,
                }]);
                None
            }
        }
    }

    fn try_create(recording: &Recording, header: Json) -> std::io::Result<Self> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&recording.directory)?;
        let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        // Sortable by name: the time, then the process, for runs started together.
        let name = format!(
            "{}-{}.{EXTENSION}",
            now.replace([':', '-'], ""),
            std::process::id()
        );
        let path = recording.directory.join(name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        let record = Self {
            file: Mutex::new(LineWriter::new(file)),
            started: Instant::now(),
            path,
        };
        let mut header = header;
        if let Json::Object(map) = &mut header {
            map.insert("event".to_owned(), json!("run"));
            map.insert("arguments".to_owned(), json!(command_line()));
            if let Json::Object(who) = who() {
                map.extend(who);
            }
            map.insert("started".to_owned(), json!(now));
            map.insert("drover".to_owned(), json!(env!("CARGO_PKG_VERSION")));
        }
        record.write(header);
        prune(&recording.directory, recording.keep, &record.path);
        Ok(record)
    }

    /// Appends `value`, with `at` (seconds since the run started), masked.
    pub(crate) fn write(&self, mut value: Json) {
        if let Json::Object(map) = &mut value {
            let at = (self.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
            map.insert("at".to_owned(), json!(at));
        }
        let line = drover_vault::mask(&value.to_string());
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A full disk must not stop the run: the record just ends early.
        let _ = writeln!(file, "{line}");
    }

    /// The last line: how the run ended, and how long it took.
    pub(crate) fn finish(&self, exit_code: u8) {
        let duration = self.started.elapsed().as_secs_f64();
        self.write(json!({"event": "run_end", "exit_code": exit_code, "duration": duration}));
    }
}

/// Removes the oldest records in `directory` beyond `keep`, never `current`.
fn prune(directory: &Path, keep: usize, current: &Path) {
    let mut records = list_files(directory);
    let excess = records.len().saturating_sub(keep.max(1));
    records.truncate(excess);
    for path in records.iter().filter(|path| path.as_path() != current) {
        let _ = std::fs::remove_file(path);
    }
}

/// The records in `directory`, oldest first.
pub(crate) fn list_files(directory: &Path) -> Vec<PathBuf> {
    let mut records: Vec<PathBuf> = std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| {
                    path.extension()
                        .is_some_and(|extension| extension == EXTENSION)
                })
                .collect()
        })
        .unwrap_or_default();
    records.sort();
    records
}

/// The record of a run that `header` describes, in `.drover/runs` in
/// `beside` (unless `arguments` say otherwise, or say none).
pub(crate) fn start(
    arguments: &crate::cli::RecordArgs,
    beside: &Path,
    header: Json,
) -> Option<Arc<Record>> {
    recording(arguments, beside).and_then(|recording| Record::create(&recording, header))
}

/// Runs `run` with `reporter` made to also write the run's record, in
/// `.drover/runs` beside `playbook` (see [`start`]), and ends the record
/// with the exit code.
pub(crate) fn recorded(
    arguments: &crate::cli::RecordArgs,
    playbook: &Path,
    header: Json,
    reporter: Arc<dyn Reporter>,
    run: impl FnOnce(Arc<dyn Reporter>) -> crate::failure::Outcome,
) -> crate::failure::Outcome {
    let beside = playbook
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(record) = start(arguments, beside, header) else {
        return run(reporter);
    };
    let outcome = run(Arc::new(RecordingReporter::new(reporter, record.clone())));
    record.finish(
        outcome
            .as_ref()
            .map_or(crate::exit::USAGE_OR_CONFIG, |code| *code),
    );
    outcome
}

/// The events of the record at `path`, in order. A run killed while
/// writing may leave half a line at the end: what cannot be read is left
/// out, and what came before still counts.
pub(crate) fn events(path: &Path) -> std::io::Result<impl Iterator<Item = Json>> {
    let file = std::io::BufReader::new(File::open(path)?);
    Ok(std::io::BufRead::lines(file)
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str(&line).ok()))
}

/// Passes every event on to the output and into the record.
pub(crate) struct RecordingReporter {
    inner: Arc<dyn Reporter>,
    record: Arc<Record>,
}

impl RecordingReporter {
    pub(crate) fn new(inner: Arc<dyn Reporter>, record: Arc<Record>) -> Self {
        Self { inner, record }
    }
}

impl Reporter for RecordingReporter {
    fn event(&self, event: Event) {
        self.record
            .write(crate::commands::play_output::event_json(&event));
        self.inner.event(event);
    }
}
