//! Answers to read-only commands asked ahead of time, and the rider that
//! asks them.
//!
//! Over a network, every command costs a round trip, and most of a run's
//! commands are queries: does this file exist, what is in it. A module's
//! queries can often be known before it runs (the engine renders the next
//! tasks' arguments), so they are asked ahead, together, and their answers
//! kept here under the exact command line that would have produced each.
//!
//! They are asked by a *rider*: a read-only command the engine hands the
//! session before a task, which goes to the host in the same flight as
//! whatever command the task sends next, right after it in the long-lived
//! shell. So the answers describe the host as that command left it. Any
//! command that may change the host drops the kept answers and carries the
//! rider again; a query that finds no answer carries the rider if it has
//! not ridden since the last change.

use std::collections::HashMap;
use std::sync::Arc;

use crate::exec::{ExecOutput, ExecRequest};

/// Splits a rider's outputs (one per request) into each query's own
/// request and output.
pub type SplitAnswers = dyn Fn(&[ExecOutput]) -> Vec<(ExecRequest, ExecOutput)> + Send + Sync;

/// Read-only commands to send along with the host's next command.
pub struct Rider {
    /// The commands asking the queries, each framed on its own.
    pub requests: Vec<ExecRequest>,
    /// What each query would have printed, from the commands' outputs.
    pub split: Box<SplitAnswers>,
}

impl std::fmt::Debug for Rider {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Rider")
            .field("requests", &self.requests.len())
            .finish_non_exhaustive()
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

/// A host's answers asked ahead, and its rider.
#[derive(Debug, Default)]
pub(crate) struct ReadAhead {
    answers: HashMap<String, ExecOutput>,
    rider: Option<Arc<Rider>>,
    /// Whether the rider's answers are kept, from a flight since the last change.
    answered: bool,
}

impl ReadAhead {
    /// The answer kept for `request`, if any.
    pub(crate) fn answer(&self, request: &ExecRequest) -> Option<ExecOutput> {
        key(request).and_then(|key| self.answers.get(&key).cloned())
    }

    /// Keeps `output` as `request`'s answer.
    pub(crate) fn remember(&mut self, request: &ExecRequest, output: ExecOutput) {
        if let Some(key) = key(request) {
            self.answers.insert(key, output);
        }
    }

    /// Drops every answer: the host may have changed.
    pub(crate) fn forget(&mut self) {
        self.answers.clear();
        self.answered = false;
    }

    /// Replaces the rider.
    pub(crate) fn set_rider(&mut self, rider: Option<Rider>) {
        self.rider = rider.map(Arc::new);
        self.answered = false;
    }

    /// The rider to send with the next command: always with a change, and
    /// with a query only if its answers are not kept already.
    pub(crate) fn rider(&self, change: bool) -> Option<Arc<Rider>> {
        self.rider.clone().filter(|_| change || !self.answered)
    }

    /// Keeps what `rider` answered.
    pub(crate) fn take_answers(&mut self, rider: &Rider, outputs: &[ExecOutput]) {
        for (request, answer) in (rider.split)(outputs) {
            self.remember(&request, answer);
        }
        self.answered = true;
    }
}
