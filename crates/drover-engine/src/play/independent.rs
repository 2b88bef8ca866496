//! Linear semantics without lockstep waiting.
//!
//! The linear strategy runs each task on every host before the next task
//! starts anywhere, so every task waits for the slowest host. Where no
//! task of a stretch can see another host (no `run_once`, `delegate_to`,
//! `throttle`, no mention of `hostvars` or of the play's host lists, no
//! variable that could hide one, no failure limit that ends the play for
//! all), what one host does cannot change what another does: each host
//! then runs the stretch at its own pace, `forks` at a time.
//!
//! What is printed stays the linear strategy's: a task's header and its
//! hosts' results, in host order, come out once every host has passed that
//! task (and its changes sent ahead have come back, see `held.rs`); what
//! the results make of each host (the recap, handlers notified, a failed
//! host out of the play) is as if the hosts had gone in step.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;

use drover_playbook::{Action, Play, Task};
use futures::StreamExt as _;

use super::{Runner, held};
use crate::host::{HostState, Participation};
use crate::read_ahead;
use crate::task::{Outcome, TaskEnvironment};
use crate::vars::{self, PlayVars};
use crate::{Status, Vars};

/// Words through which a task could see other hosts.
const ACROSS_HOSTS: [&str; 3] = ["hostvars", "ansible_play_", "play_hosts"];

/// A host's outcome of a task (with its loop items'), once it ran there.
type Done = Option<(Vec<Outcome>, Outcome)>;

/// Whether the hosts of `play` may ever run a stretch at their own pace:
/// not under the free strategy (they always do), not where a failure
/// limit ends the play for all, not in a blue-green probe, and not where
/// a variable could show other hosts. Asked once per task list: it
/// looks through every variable.
pub(crate) fn may_walk(play: &Play, play_vars: &PlayVars, states: &[HostState]) -> bool {
    play.strategy != drover_playbook::PlayStrategy::Free
        && !play.any_errors_fatal
        && play.max_fail_percentage.is_none()
        && !states.iter().any(|state| state.probe.is_some())
        && !variables_see_other_hosts(play_vars, states)
}

/// The end (exclusive) of the stretch of tasks from `start` that the hosts
/// may run at their own pace; `start` when there is none worth it (fewer
/// than two tasks, or fewer than two hosts).
pub(crate) fn stretch_end(tasks: &[Task], start: usize, states: &[HostState]) -> usize {
    if states.iter().filter(|state| state.active()).count() < 2 {
        return start;
    }
    let end = start
        + tasks[start..]
            .iter()
            .take_while(|task| on_its_own(task))
            .count();
    if end - start < 2 { start } else { end }
}

/// A task that acts only through its own host's session (or only
/// reports) and cannot see other hosts.
fn on_its_own(task: &Task) -> bool {
    held::follows_changes(task) && task.throttle.is_none() && !mentions_other_hosts(&text_of(task))
}

/// Everything templated in `task`.
fn text_of(task: &Task) -> String {
    let arguments = match &task.action {
        Action::Module { arguments, .. } => serde_json::to_string(arguments).unwrap_or_default(),
        _ => String::new(),
    };
    format!(
        "{arguments} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        task.name,
        task.when,
        task.vars,
        task.loop_over,
        task.changed_when,
        task.failed_when,
        task.until
    )
}

fn mentions_other_hosts(text: &str) -> bool {
    ACROSS_HOSTS.iter().any(|word| text.contains(word))
}

/// Whether a variable a task may use could show other hosts: a play's,
/// a role's, an extra one, or a host's own from the inventory.
fn variables_see_other_hosts(play_vars: &PlayVars, states: &[HostState]) -> bool {
    let text = |vars: &Vars| serde_json::to_string(vars).unwrap_or_default();
    [
        &play_vars.role_defaults,
        &play_vars.play_vars,
        &play_vars.vars_files,
        &play_vars.role_vars,
        &play_vars.extra_vars,
    ]
    .iter()
    .any(|vars| mentions_other_hosts(&text(vars)))
        || states
            .iter()
            .any(|state| mentions_other_hosts(&text(&state.inventory_vars)))
}

/// One stretch's shared bookkeeping: every host's outcomes, how far each
/// host's outcomes are final, how many tasks have been printed, and
/// whether the next one's header already has been.
struct Ledger {
    outcomes: Vec<Vec<Done>>,
    final_until: Vec<usize>,
    printed: usize,
    announced: bool,
}

impl Runner {
    /// Runs `tasks[range]` on every active host, each at its own pace;
    /// prints each task's results once all hosts have passed it.
    /// `covered_until` is where what was read ahead stops holding.
    pub(crate) async fn run_on_their_own(
        &self,
        tasks: &[Task],
        range: Range<usize>,
        states: &mut [HostState],
        play_vars: &PlayVars,
        play: &Play,
        covered_until: usize,
    ) {
        let stretch = &tasks[range.clone()];
        // `reached` notes `--start-at-task`: asked in order, once each.
        let runs: Vec<bool> = stretch
            .iter()
            .map(|task| self.control.reached(task) && self.control.selected(task))
            .collect();
        let first_tag = self.next_tags(stretch.len() as u64);
        let names: Vec<String> = states.iter().map(|state| state.name.clone()).collect();
        let ledger = RefCell::new(Ledger {
            outcomes: vec![vec![None; states.len()]; stretch.len()],
            final_until: states
                .iter()
                .map(|state| if state.active() { 0 } else { stretch.len() })
                .collect(),
            printed: 0,
            announced: false,
        });
        let hostvars = vars::shared(play_vars, states);
        let inventory = self.inventory.current();
        let environment = self.task_environment(&inventory, None);
        let walk = Walk {
            tasks,
            range,
            runs: &runs,
            first_tag,
            play_vars,
            play,
            hostvars: &hostvars,
            environment: &environment,
            ledger: &ledger,
            names: &names,
            covered_until,
        };
        let forks = self.options.forks.get();
        let _: Vec<()> = futures::stream::iter(
            states
                .iter_mut()
                .enumerate()
                .filter(|(_, state)| state.active()),
        )
        .map(|(index, state)| self.walk(&walk, index, state))
        .buffer_unordered(forks)
        .collect()
        .await;
        let ledger = ledger.into_inner();
        for (task, outcomes) in stretch.iter().zip(ledger.outcomes) {
            for (state, done) in states.iter_mut().zip(outcomes) {
                if let Some((items, outcome)) = done {
                    super::results::Results::mark(state, &outcome, Some(task));
                    self.apply(task, state, &items, &outcome);
                }
            }
        }
    }

    /// One host's way through the stretch.
    async fn walk(&self, walk: &Walk<'_>, index: usize, state: &mut HostState) {
        let stretch = &walk.tasks[walk.range.clone()];
        let mut covered_until = walk.covered_until;
        for (position, task) in stretch.iter().enumerate() {
            if !walk.runs[position] {
                continue;
            }
            if !state.active() || self.interrupted() {
                break;
            }
            let at = walk.range.start + position;
            if at >= covered_until {
                state.session.forget_read_ahead();
            }
            let (riding, end) = read_ahead::window(walk.tasks, at);
            covered_until = end;
            self.print_header_early(walk, position);
            let on_host = super::OnHost {
                riding: &riding,
                ahead: held::sends_ahead(walk.play, task)
                    .then_some(walk.first_tag + position as u64),
                play_vars: walk.play_vars,
                hostvars: walk.hostvars,
                environment: walk.environment,
            };
            let (items, outcome) = self.run_on_host(task, state, &on_host).await;
            if let Some(participation) = stops(task, &outcome) {
                state.participation = participation;
            }
            walk.ledger.borrow_mut().outcomes[position][index] = Some((items, outcome));
            Self::take_stretch_failure(walk, index, state);
            let final_until = state
                .session
                .earliest_pending()
                .map_or(position + 1, |tag| {
                    usize::try_from(tag - walk.first_tag).unwrap_or(0)
                });
            walk.ledger.borrow_mut().final_until[index] = final_until;
            self.print_ready(walk);
        }
        state.session.flush().await;
        Self::take_stretch_failure(walk, index, state);
        walk.ledger.borrow_mut().final_until[index] = stretch.len();
        self.print_ready(walk);
    }

    /// A change this host sent ahead that failed: it is its task's
    /// failure, and the host's later outcomes are dropped.
    fn take_stretch_failure(walk: &Walk<'_>, index: usize, state: &mut HostState) {
        let Some((tag, outcome)) = held::take_failure(state) else {
            return;
        };
        let failed_at = usize::try_from(tag - walk.first_tag).unwrap_or(0);
        let stretch = &walk.tasks[walk.range.clone()];
        let mut ledger = walk.ledger.borrow_mut();
        for (position, task) in stretch.iter().enumerate().skip(failed_at) {
            let kept = (position == failed_at).then(|| (Vec::new(), outcome.clone()));
            held::register_instead(state, task, kept.as_ref().map(|(_, outcome)| outcome));
            ledger.outcomes[position][index] = kept;
        }
        ledger.final_until[index] = stretch.len();
    }

    /// Prints every task all hosts have passed and not printed yet.
    fn print_ready(&self, walk: &Walk<'_>) {
        let mut ledger = walk.ledger.borrow_mut();
        let ready = ledger.final_until.iter().copied().min().unwrap_or(0);
        while ledger.printed < ready {
            let position = ledger.printed;
            let task = &walk.tasks[walk.range.start + position];
            let done: Vec<(usize, &(Vec<Outcome>, Outcome))> = ledger.outcomes[position]
                .iter()
                .enumerate()
                .filter_map(|(index, done)| done.as_ref().map(|done| (index, done)))
                .collect();
            if !done.is_empty() && !ledger.announced {
                self.reporter.event(super::task_start(task, false));
            }
            for (index, (items, outcome)) in done {
                self.tell(task, &walk.names[index], items, outcome);
            }
            ledger.printed += 1;
            ledger.announced = false;
        }
    }

    /// Prints the header of the task at `position` as a host starts it,
    /// when everything before it has been printed: on a long task, the
    /// operator sees what runs, as in lockstep.
    fn print_header_early(&self, walk: &Walk<'_>, position: usize) {
        let mut ledger = walk.ledger.borrow_mut();
        if ledger.printed == position && !ledger.announced {
            ledger.announced = true;
            self.reporter.event(super::task_start(
                &walk.tasks[walk.range.start + position],
                false,
            ));
        }
    }
}

/// Where `outcome` leaves its host, when it takes it out of the play.
fn stops(task: &Task, outcome: &Outcome) -> Option<Participation> {
    match outcome.status {
        Status::Failed => Some(Participation::Failed),
        Status::Unreachable if task.settings.ignore_unreachable != Some(true) => {
            Some(Participation::Unreachable)
        }
        _ => None,
    }
}

/// What every host's walk through one stretch shares.
struct Walk<'a> {
    tasks: &'a [Task],
    range: Range<usize>,
    runs: &'a [bool],
    /// The tag of the stretch's first task; each next task's is one more.
    first_tag: u64,
    play_vars: &'a PlayVars,
    play: &'a Play,
    hostvars: &'a Arc<Vars>,
    environment: &'a TaskEnvironment<'a>,
    ledger: &'a RefCell<Ledger>,
    names: &'a [String],
    covered_until: usize,
}
