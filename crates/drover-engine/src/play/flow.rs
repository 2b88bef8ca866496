//! Control flow across hosts: blocks with `rescue` and `always`, `meta`
//! actions, and handlers.

use drover_playbook::{Play, Task};
use serde_json::json;

use super::Runner;
use crate::host::{HostState, Participation};
use crate::task::{Outcome, Verdict, when};
use crate::vars::{self, PlayVars};
use crate::{Event, Status};

impl Runner {
    /// The active hosts for which every `when` of `task` holds, and those
    /// where a condition could not be evaluated: they fail, as they would
    /// on a task.
    fn hosts_where(
        &self,
        task: &Task,
        states: &mut [HostState],
        play_vars: &PlayVars,
    ) -> (Vec<usize>, Vec<usize>) {
        let hostvars = vars::shared(play_vars, states);
        let verdicts: Vec<(usize, Verdict)> = states
            .iter()
            .enumerate()
            .filter(|(_, state)| state.active())
            .map(|(index, state)| {
                let scope = self
                    .templar
                    .scope(vars::layers(play_vars, state, &task.vars, &hostvars));
                (index, when(task, &self.templar, &scope))
            })
            .collect();
        let (mut holding, mut failed) = (Vec::new(), Vec::new());
        if verdicts
            .iter()
            .any(|(_, verdict)| matches!(verdict, Verdict::Failed(_)))
        {
            self.reporter.event(Event::TaskStart {
                name: task.display_name(),
                location: format!("{}:{}", task.location.path.display(), task.location.line),
                handler: false,
            });
        }
        for (index, verdict) in verdicts {
            match verdict {
                Verdict::Runs => holding.push(index),
                Verdict::Skipped(_) => {}
                Verdict::Failed(message) => {
                    let outcome = Outcome::in_task(task, message, None);
                    self.record(&mut states[index], &outcome, Some(task));
                    failed.push(index);
                }
            }
        }
        (holding, failed)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn run_block(
        &self,
        task: &Task,
        block: &[Task],
        rescue: &[Task],
        always: &[Task],
        states: &mut [HostState],
        play_vars: &PlayVars,
        play: &Play,
    ) {
        // The block's own `when` decides which hosts enter it; the others
        // wait. A host whose condition could not be evaluated has failed
        // inside the block, as Ansible has it fail the block's first task:
        // its `rescue` and `always` run for it.
        let failed_before: Vec<bool> = states.iter().map(HostState::failed).collect();
        let (mut entering, failed) = self.hosts_where(task, states, play_vars);
        entering.extend(failed);
        let waiting = pause(states, |index, _| !entering.contains(&index));
        self.run_tasks(block, states, play_vars, play).await;
        let block_failed: Vec<usize> = entering
            .iter()
            .copied()
            .filter(|index| states[*index].failed() && !failed_before[*index])
            .collect();
        if !rescue.is_empty() && !block_failed.is_empty() {
            let succeeded = pause(states, |index, _| !block_failed.contains(&index));
            for index in &block_failed {
                states[*index].revive();
                self.results.rescued(&states[*index].name);
            }
            self.run_tasks(rescue, states, play_vars, play).await;
            resume(states, &succeeded);
        }
        if !always.is_empty() {
            // `always` runs even on hosts the block (or rescue) failed.
            let failed: Vec<usize> = entering
                .iter()
                .copied()
                .filter(|index| states[*index].failed() && !failed_before[*index])
                .collect();
            for index in &failed {
                states[*index].revive();
            }
            self.run_tasks(always, states, play_vars, play).await;
            for index in failed {
                states[index].settle(Participation::Failed);
            }
        }
        resume(states, &waiting);
    }

    pub(super) async fn meta(
        &self,
        what: &str,
        task: &Task,
        states: &mut [HostState],
        play_vars: &PlayVars,
        play: &Play,
    ) {
        match what {
            "flush_handlers" => self.flush_handlers(play, states, play_vars).await,
            "end_play" => states
                .iter_mut()
                .filter(|state| !state.lost())
                .for_each(|state| state.participation = Participation::Ended),
            "end_host" => {
                for index in self.hosts_where(task, states, play_vars).0 {
                    states[index].participation = Participation::Ended;
                }
            }
            "clear_facts" => states.iter_mut().for_each(|state| state.facts.clear()),
            _ => {}
        }
    }

    pub(super) fn fail_all(&self, task: &Task, states: &mut [HostState], message: &str) {
        self.reporter.event(Event::TaskStart {
            name: task.display_name(),
            location: format!("{}", task.location),
            handler: false,
        });
        for state in states.iter_mut().filter(|state| state.active()) {
            let outcome = Outcome::new(Status::Failed, json!({"failed": true, "msg": message}));
            self.record(state, &outcome, Some(task));
        }
    }

    /// Runs notified handlers, in the order they are defined, on the hosts that notified them.
    pub(super) async fn flush_handlers(
        &self,
        play: &Play,
        states: &mut [HostState],
        play_vars: &PlayVars,
    ) {
        // Time has passed since the last window was read ahead.
        crate::read_ahead::forget(states);
        // `force_handlers`: a host that failed still runs what it notified,
        // and stays failed afterwards.
        let forced: Vec<(usize, Participation)> =
            if play.force_handlers.unwrap_or(self.options.force_handlers) {
                states
                    .iter_mut()
                    .enumerate()
                    .filter(|(_, state)| state.failed() && !state.notified.is_empty())
                    .map(|(index, state)| (index, state.revive()))
                    .collect()
            } else {
                Vec::new()
            };
        for handler in &play.handlers {
            let names: Vec<&str> = handler
                .name
                .iter()
                .map(String::as_str)
                .chain(handler.listen.iter().map(String::as_str))
                .collect();
            let notified: Vec<bool> = states
                .iter()
                .map(|state| {
                    state.active()
                        && state
                            .notified
                            .iter()
                            .any(|name| names.contains(&name.as_str()))
                })
                .collect();
            if !notified.contains(&true) {
                continue;
            }
            let waiting = pause(states, |index, _| !notified[index]);
            self.run_module_task(handler, states, play_vars, &[], None)
                .await;
            resume(states, &waiting);
        }
        for (index, before) in forced {
            states[index].settle(before);
        }
        for state in states.iter_mut() {
            state.notified.clear();
        }
    }
}

/// Pauses the active hosts for which `leave_out` holds; returns them.
pub(super) fn pause(
    states: &mut [HostState],
    leave_out: impl Fn(usize, &HostState) -> bool,
) -> Vec<usize> {
    let mut paused = Vec::new();
    for (index, state) in states.iter_mut().enumerate() {
        if state.active() && leave_out(index, state) {
            state.participation = Participation::Paused;
            paused.push(index);
        }
    }
    paused
}

pub(super) fn resume(states: &mut [HostState], paused: &[usize]) {
    for index in paused {
        states[*index].participation = Participation::Active;
    }
}
