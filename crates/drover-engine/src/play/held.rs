//! Results held back while changes sent ahead of them are unconfirmed.
//!
//! A file task whose module already knows what to do (from answers read
//! ahead) queues its change in the host's session instead of waiting a
//! round trip to learn that it worked: the change goes with the host's
//! next flight, guarded so that nothing after a failed change runs (see
//! `drover_ssh`'s `deferred.rs`). Until that flight is back, the task's
//! result, and every result after it, is provisional. The runner keeps
//! them here, in order, and reports and counts them (and takes
//! notifications from them) only once no host has a change of theirs in
//! doubt. Output and the recap come out as the linear strategy defines
//! them; only the time each line appears moves.
//!
//! A change that failed becomes its task's failure on its host; that
//! host's results after it are dropped, as if the tasks never ran, which
//! on the host they did not. Before any task that could observe a
//! provisional result otherwise (it runs elsewhere or once, sets
//! variables, controls the play, or may end it for every host), and at
//! the end of every task list, the runner sends what is queued and
//! settles everything held.

use std::collections::{HashMap, VecDeque};

use drover_playbook::{Action, Play, Task};

use super::Runner;
use crate::Event;
use crate::host::{HostState, Participation};
use crate::task::Outcome;

/// A task's results on every host it ran on, and its start, when that is
/// not reported yet.
pub(crate) struct Entry<'a> {
    pub(crate) tag: u64,
    pub(crate) task: &'a Task,
    pub(crate) start: Option<Event>,
    pub(crate) outcomes: Vec<(usize, Vec<Outcome>, Outcome)>,
}

/// The results held back, oldest first.
#[derive(Default)]
pub(crate) struct Held<'a> {
    entries: VecDeque<Entry<'a>>,
    /// Per host (by index): the tag of the task whose change sent ahead
    /// failed, and what that task reports instead.
    failures: HashMap<usize, (u64, Outcome)>,
}

impl<'a> Held<'a> {
    /// Whether nothing is held: a task's start can be reported at once.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn push(&mut self, entry: Entry<'a>) {
        self.entries.push_back(entry);
    }
}

/// Whether `task`'s own changes may go ahead of their results: a file task
/// (its module starts with a query) that runs once per host, on the host,
/// whose failure nothing takes back (`ignore_errors`, `failed_when`) and
/// whose failure does not end the play for the others.
pub(crate) fn sends_ahead(play: &Play, task: &Task) -> bool {
    matches!(&task.action, Action::Module { name, .. } if drover_modules::reads_ahead(name))
        && task.loop_over.is_none()
        && task.until.is_none()
        && task.delegate_to.is_none()
        && !task.run_once
        && task.asynchronous.is_none()
        && task.failed_when.is_none()
        && task.settings.ignore_errors != Some(true)
        && task.settings.any_errors_fatal != Some(true)
        && !play.any_errors_fatal
        && play.max_fail_percentage.is_none()
}

/// Whether `task` may run while changes sent ahead wait for their flight:
/// it acts only through its own host's session, or only reports.
pub(crate) fn follows_changes(task: &Task) -> bool {
    matches!(&task.action, Action::Module { name, .. }
        if drover_modules::follows_changes_sent_ahead(name))
        && task.delegate_to.is_none()
        && !task.run_once
        && task.asynchronous.is_none()
        && task.settings.any_errors_fatal != Some(true)
}

/// The change `state`'s session sent ahead that failed, if any: the tag
/// of the task that queued it, and what that task reports instead. The
/// host leaves the play at once: nothing more runs there.
pub(crate) fn take_failure(state: &mut HostState) -> Option<(u64, Outcome)> {
    let failure = state.session.take_failure()?;
    let outcome = if failure.unreachable {
        state.participation = Participation::Unreachable;
        Outcome::unreachable(&failure.message)
    } else {
        state.participation = Participation::Failed;
        Outcome::failed(failure.message)
    };
    Some((failure.tag, outcome))
}

/// What `task` registered on `state`, once its change sent ahead (or an
/// earlier one) failed: the failure (`outcome`), or nothing for a task
/// that, as far as the host knows, never ran.
pub(crate) fn register_instead(state: &mut HostState, task: &Task, outcome: Option<&Outcome>) {
    let Some(name) = &task.register else {
        return;
    };
    match outcome {
        Some(outcome) => {
            let result = drover_template::untrusted(&outcome.result);
            state.facts.insert(name.clone(), result);
        }
        None => {
            state.facts.remove(name);
        }
    }
}

impl Runner {
    /// A new tag for a task's changes sent ahead: later tasks, larger tags.
    pub(crate) fn next_tag(&self) -> u64 {
        self.next_tags(1)
    }

    /// The first of `count` new consecutive tags, one for each task of a
    /// stretch.
    pub(crate) fn next_tags(&self, count: u64) -> u64 {
        self.tags
            .fetch_add(count, std::sync::atomic::Ordering::Relaxed)
            + 1
    }

    /// Begins `task`: its tag, the tag its changes go ahead under (if they
    /// may), and its start, unless reported now (nothing is held before it).
    pub(crate) fn begin(
        &self,
        task: &Task,
        held: Option<&(&Play, &mut Held<'_>)>,
        handler: bool,
    ) -> (u64, Option<u64>, Option<Event>) {
        let start = super::task_start(task, handler);
        let Some((play, held)) = held else {
            self.reporter.event(start);
            return (0, None, None);
        };
        let tag = self.next_tag();
        let ahead = sends_ahead(play, task).then_some(tag);
        if held.is_empty() {
            self.reporter.event(start);
            return (tag, ahead, None);
        }
        (tag, ahead, Some(start))
    }

    /// Notes the changes sent ahead that failed, and takes their hosts out
    /// of the tasks still to come at once: nothing more runs there.
    fn take_failures(states: &mut [HostState], held: &mut Held<'_>) {
        for (index, state) in states.iter_mut().enumerate() {
            if let Some(failure) = take_failure(state) {
                held.failures.entry(index).or_insert(failure);
            }
        }
    }

    /// Reports and settles the held results no host's pending change is
    /// older than.
    pub(crate) fn release_ready(&self, states: &mut [HostState], held: &mut Held<'_>) {
        Self::take_failures(states, held);
        let blocking = states
            .iter()
            .filter_map(|state| state.session.earliest_pending())
            .min();
        while let Some(entry) = held
            .entries
            .pop_front_if(|entry| blocking.is_none_or(|blocking| entry.tag < blocking))
        {
            if let Some(start) = entry.start {
                self.reporter.event(start);
            }
            for (index, mut items, mut outcome) in entry.outcomes {
                let state = &mut states[index];
                match held.failures.get(&index) {
                    Some((tag, failure)) if *tag == entry.tag => {
                        items.clear();
                        outcome = failure.clone();
                        register_instead(state, entry.task, Some(&outcome));
                    }
                    Some((tag, _)) if *tag < entry.tag => {
                        register_instead(state, entry.task, None);
                        continue;
                    }
                    _ => {}
                }
                self.settle(entry.task, state, &items, &outcome);
            }
        }
        if held.entries.is_empty() {
            held.failures.clear();
        }
    }

    /// Sends every change still queued, each host's in one flight, and
    /// settles everything held.
    pub(crate) async fn release_all(&self, states: &mut [HostState], held: &mut Held<'_>) {
        let waiting = states
            .iter()
            .filter(|state| state.session.earliest_pending().is_some())
            .map(|state| state.session.flush());
        futures::future::join_all(waiting).await;
        self.release_ready(states, held);
    }
}
