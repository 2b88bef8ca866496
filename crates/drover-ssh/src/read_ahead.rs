//! Answers to read-only commands asked ahead of time, and the rider that
//! asks them.
//!
//! Over a network, every command costs a round trip, and most of a run's
//! commands are queries: does this file exist, what is in it. A module's
//! queries can often be known before it runs (the engine renders the next
//! tasks' arguments), so they are asked ahead, together, and their answers
//! kept here under the exact command line that would have produced each.
//!
//! They are asked by a *rider*: read-only commands the engine hands the
//! session before a task, which go to the host in the same flight as
//! whatever command the task sends next, right after it in the long-lived
//! shell. So the answers describe the host as that command left it.
//!
//! A command that may change the host drops the answers kept, except where
//! the change says what it did ([`Touched`]) and an answer cannot have been
//! affected; whichever of the rider's queries lost their answers go with
//! that command, so the next tasks find them answered anew.

use std::collections::HashMap;

use crate::exec::{ExecOutput, ExecRequest};

/// Splits a rider's outputs (one per request) into each query's own
/// request and output.
pub type SplitAnswers = dyn Fn(&[ExecOutput]) -> Vec<(ExecRequest, ExecOutput)> + Send + Sync;

/// The commands asking some of a rider's queries (by their index), and what
/// splits their outputs; `None` when there is nothing to ask.
pub type BuildRider =
    dyn Fn(&[usize]) -> Option<(Vec<ExecRequest>, Box<SplitAnswers>)> + Send + Sync;

/// Read-only queries to send along with the host's next command.
pub struct Rider {
    /// Each query: the request a module will send for it, and the path it
    /// asks about.
    pub queries: Vec<(ExecRequest, String)>,
    /// The commands asking those of the queries whose answers are missing.
    pub build: Box<BuildRider>,
}

impl std::fmt::Debug for Rider {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Rider")
            .field("queries", &self.queries.len())
            .finish_non_exhaustive()
    }
}

/// What a change did to the host, so that the answers it cannot have
/// affected are kept.
#[derive(Debug, Clone, Copy)]
pub enum Touched<'a> {
    /// A new file was renamed onto the path (`mv`): only that directory
    /// entry changed. Another name in the same directory (the same string
    /// before the last `/`) is another entry, even through links.
    Replaced(&'a str),
    /// The path, absent before, was made as an empty directory: every path
    /// under it was absent, and still is.
    NewDirectory(&'a str),
    /// Anything may have changed: no answer holds.
    Everything,
}

impl Touched<'_> {
    /// Whether the answer about `path` holds after this change.
    fn keeps(&self, path: &str) -> bool {
        match *self {
            Touched::Everything => false,
            Touched::Replaced(replaced) => {
                let (Some((directory, name)), Some((other_directory, other_name))) =
                    (replaced.rsplit_once('/'), path.rsplit_once('/'))
                else {
                    return false;
                };
                let ordinary = |name: &str| !matches!(name, "" | "." | "..");
                directory == other_directory
                    && name != other_name
                    && ordinary(name)
                    && ordinary(other_name)
            }
            Touched::NewDirectory(directory) => {
                let directory = directory.trim_end_matches('/');
                !directory.is_empty()
                    && path
                        .strip_prefix(directory)
                        .is_some_and(|rest| rest.starts_with('/'))
                    && !path.split('/').any(|part| part == "..")
            }
        }
    }
}

/// What identifies a read-only command's output: the command line sent,
/// escalation included. Commands with input (a become password) are never
/// run ahead.
fn key(request: &ExecRequest) -> Option<String> {
    match request.wire_form() {
        Ok((command, None)) => Some(command),
        _ => None,
    }
}

/// A kept answer, and the path it is about (none when not known).
#[derive(Debug)]
struct Answer {
    output: ExecOutput,
    path: Option<String>,
}

/// A rider being sent: the queries it asks, and what splits their outputs.
pub(crate) struct Outgoing {
    pub(crate) requests: Vec<ExecRequest>,
    split: Box<SplitAnswers>,
}

/// The rider as kept: each query's key (see [`key`]) and path, computed
/// once when it is set, with its index among the rider's queries.
struct Riding {
    queries: Vec<(usize, String, String)>,
    build: Box<BuildRider>,
}

impl std::fmt::Debug for Riding {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Riding")
            .field("queries", &self.queries.len())
            .finish_non_exhaustive()
    }
}

/// A host's answers asked ahead, and its rider.
#[derive(Debug, Default)]
pub(crate) struct ReadAhead {
    answers: HashMap<String, Answer>,
    riding: Option<Riding>,
}

impl ReadAhead {
    /// The answer kept for `request`, if any.
    pub(crate) fn answer(&self, request: &ExecRequest) -> Option<ExecOutput> {
        key(request).and_then(|key| self.answers.get(&key).map(|answer| answer.output.clone()))
    }

    fn remember_about(&mut self, request: &ExecRequest, output: ExecOutput, path: Option<String>) {
        if let Some(key) = key(request) {
            self.answers.insert(key, Answer { output, path });
        }
    }

    /// Drops every answer: the host may have changed.
    pub(crate) fn forget(&mut self) {
        self.answers.clear();
    }

    /// Drops the answers `touched` may have changed.
    pub(crate) fn forget_touched(&mut self, touched: Touched<'_>) {
        self.answers.retain(|_, answer| {
            answer
                .path
                .as_deref()
                .is_some_and(|path| touched.keeps(path))
        });
    }

    /// Replaces the rider. A query that cannot be kept (it has input) is
    /// never asked ahead.
    pub(crate) fn set_rider(&mut self, rider: Option<Rider>) {
        self.riding = rider.map(|rider| Riding {
            queries: rider
                .queries
                .iter()
                .enumerate()
                .filter_map(|(index, (request, path))| Some((index, key(request)?, path.clone())))
                .collect(),
            build: rider.build,
        });
    }

    /// What to send with the next command: the rider's queries whose
    /// answers are not kept.
    pub(crate) fn outgoing(&self) -> Option<Outgoing> {
        let riding = self.riding.as_ref()?;
        let missing: Vec<usize> = riding
            .queries
            .iter()
            .filter(|(_, key, _)| !self.answers.contains_key(key))
            .map(|(index, _, _)| *index)
            .collect();
        if missing.is_empty() {
            return None;
        }
        let (requests, split) = (riding.build)(&missing)?;
        Some(Outgoing { requests, split })
    }

    /// Keeps what `outgoing` answered, each answer with its path.
    pub(crate) fn take_answers(&mut self, outgoing: &Outgoing, outputs: &[ExecOutput]) {
        for (request, answer) in (outgoing.split)(outputs) {
            let path = key(&request).and_then(|key| {
                let riding = self.riding.as_ref()?;
                let (_, _, path) = riding.queries.iter().find(|(_, each, _)| *each == key)?;
                Some(path.clone())
            });
            self.remember_about(&request, answer, path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ReadAhead, Rider, Touched};
    use crate::exec::{ExecOutput, ExecRequest};

    /// A rider asking about `paths`, each query `stat PATH`, whose build
    /// records which queries it was asked to send.
    fn rider(paths: &[&str]) -> (Rider, std::sync::Arc<std::sync::Mutex<Vec<Vec<usize>>>>) {
        let built = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = built.clone();
        let queries: Vec<(ExecRequest, String)> = paths
            .iter()
            .map(|path| (ExecRequest::new(format!("stat {path}")), (*path).to_owned()))
            .collect();
        let requests: Vec<ExecRequest> =
            queries.iter().map(|(request, _)| request.clone()).collect();
        let rider = Rider {
            queries,
            build: Box::new(move |wanted: &[usize]| {
                record.lock().expect("lock").push(wanted.to_vec());
                let asked: Vec<ExecRequest> =
                    wanted.iter().map(|&at| requests[at].clone()).collect();
                let answered = asked.clone();
                Some((
                    asked,
                    Box::new(move |outputs: &[ExecOutput]| {
                        answered
                            .iter()
                            .cloned()
                            .zip(outputs.iter().cloned())
                            .collect()
                    }),
                ))
            }),
        };
        (rider, built)
    }

    /// Sends what the read-ahead wants sent, answering every query.
    fn fly(read_ahead: &mut ReadAhead) {
        if let Some(outgoing) = read_ahead.outgoing() {
            let outputs: Vec<ExecOutput> = outgoing
                .requests
                .iter()
                .map(|_| ExecOutput {
                    exit_status: Some(0),
                    ..ExecOutput::default()
                })
                .collect();
            read_ahead.take_answers(&outgoing, &outputs);
        }
    }

    #[test]
    fn issue_18_only_the_queries_a_change_touched_are_asked_again() {
        let mut read_ahead = ReadAhead::default();
        let (rider, built) = rider(&["/srv/app/a", "/srv/app/b", "/srv/other/c"]);
        read_ahead.set_rider(Some(rider));
        fly(&mut read_ahead);
        assert!(
            read_ahead
                .answer(&ExecRequest::new("stat /srv/app/b"))
                .is_some()
        );
        // Replacing `a` leaves `b` (same directory) but not `c` (maybe a link).
        read_ahead.forget_touched(Touched::Replaced("/srv/app/a"));
        fly(&mut read_ahead);
        // Everything answered: nothing more to send.
        assert!(read_ahead.outgoing().is_none());
        // Any other change drops everything.
        read_ahead.forget();
        fly(&mut read_ahead);
        assert_eq!(
            *built.lock().expect("lock"),
            [vec![0, 1, 2], vec![0, 2], vec![0, 1, 2]]
        );
    }

    #[test]
    fn issue_18_a_file_renamed_into_place_leaves_its_neighbours() {
        let replaced = Touched::Replaced("/srv/app/hello.txt");
        assert!(replaced.keeps("/srv/app/bench.conf"));
        assert!(!replaced.keeps("/srv/app/hello.txt"));
        assert!(
            !replaced.keeps("/srv/app"),
            "the directory's entries changed"
        );
        assert!(
            !replaced.keeps("/srv/other/hello.txt"),
            "maybe a link to it"
        );
        assert!(!replaced.keeps("/srv/app/sub/file"));
        assert!(!replaced.keeps("/srv/app/."));
        assert!(!Touched::Replaced("/srv/app/").keeps("/srv/app/x"));
    }

    #[test]
    fn issue_18_a_new_directory_leaves_what_was_absent_under_it() {
        let made = Touched::NewDirectory("/srv/app/");
        assert!(made.keeps("/srv/app/hello.txt"));
        assert!(made.keeps("/srv/app/deep/file"));
        assert!(!made.keeps("/srv/app"));
        assert!(!made.keeps("/srv/application"));
        assert!(!made.keeps("/srv/other"), "maybe a link into it");
        assert!(!made.keeps("/srv/app/../other"));
    }
}
