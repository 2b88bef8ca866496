//! What the play's tasks did: each outcome reported (censored under
//! `no_log`), counted for the recap, and reflected in the host's
//! participation. The one place results pass through, so that censoring
//! and counting cannot be skipped by a new caller.

use std::sync::{Arc, Mutex};

use drover_playbook::Task;
use serde_json::{Value as Json, json};

use crate::host::{HostState, Participation, Stats};
use crate::task::Outcome;
use crate::{Event, HostReport, Reporter, Status};

/// What Ansible prints in place of a `no_log` result.
const CENSORED: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// Reports and counts outcomes.
pub(crate) struct Results {
    reporter: Arc<dyn Reporter>,
    /// Per-host counts, in the order hosts were first seen.
    recap: Mutex<Vec<(String, Stats)>>,
}

impl Results {
    pub(crate) fn new(reporter: Arc<dyn Reporter>) -> Self {
        Self {
            reporter,
            recap: Mutex::new(Vec::new()),
        }
    }

    /// The counts so far, host by host.
    pub(crate) fn recap(&self) -> Vec<(String, Stats)> {
        self.recap
            .lock()
            .map(|recap| recap.clone())
            .unwrap_or_default()
    }

    /// Changes the counts of `host`, adding it on first use.
    pub(crate) fn count(&self, host: &str, change: impl FnOnce(&mut Stats)) {
        let Ok(mut recap) = self.recap.lock() else {
            return;
        };
        if let Some((_, stats)) = recap.iter_mut().find(|(name, _)| name == host) {
            change(stats);
        } else {
            let mut stats = Stats::default();
            change(&mut stats);
            recap.push((host.to_owned(), stats));
        }
    }

    /// A failure a `rescue:` section took over.
    pub(crate) fn rescued(&self, host: &str) {
        self.count(host, |stats| {
            stats.failed = stats.failed.saturating_sub(1);
            stats.rescued += 1;
        });
    }

    /// Reports an outcome, counts it, and takes a failed or unreachable
    /// host out of the play.
    pub(crate) fn record(&self, state: &mut HostState, outcome: &Outcome, task: Option<&Task>) {
        self.record_as(state, outcome, task, true);
    }

    fn record_as(
        &self,
        state: &mut HostState,
        outcome: &Outcome,
        task: Option<&Task>,
        report: bool,
    ) {
        // A probe only learns whether anything would change.
        if let Some(probe) = &mut state.probe {
            probe.would_change |= matches!(
                outcome.status,
                Status::Changed | Status::Failed | Status::Unreachable
            );
            return;
        }
        self.tell(&state.name, outcome, task, report);
        Self::mark(state, outcome, task);
    }

    /// Reports `host`'s outcome (unless `report` is false) and counts it:
    /// the part of recording that needs no more of the host than its name.
    pub(crate) fn tell(&self, host: &str, outcome: &Outcome, task: Option<&Task>, report: bool) {
        if report {
            self.report(host, outcome, task);
        }
        if outcome.item.is_some() {
            return;
        }
        // An ignored failure that changed something counts as changed too,
        // as Ansible counts it.
        let changed = outcome.result.get("changed") == Some(&serde_json::Value::Bool(true));
        self.count(host, |stats| match outcome.status {
            Status::Ok => stats.ok += 1,
            Status::Changed => {
                stats.ok += 1;
                stats.changed += 1;
            }
            Status::Skipped => stats.skipped += 1,
            Status::Ignored => {
                stats.ok += 1;
                stats.ignored += 1;
                stats.changed += u32::from(changed);
            }
            Status::Failed => stats.failed += 1,
            Status::Unreachable => stats.unreachable += 1,
        });
    }

    /// What an outcome makes of its host: changed, or out of the play.
    pub(crate) fn mark(state: &mut HostState, outcome: &Outcome, task: Option<&Task>) {
        if outcome.item.is_some() {
            return;
        }
        if crate::task::changed_the_host(outcome) {
            state.changed = true;
        }
        let ignore_unreachable =
            task.is_some_and(|task| task.settings.ignore_unreachable == Some(true));
        match outcome.status {
            Status::Failed => state.participation = Participation::Failed,
            Status::Unreachable if !ignore_unreachable => {
                state.participation = Participation::Unreachable;
            }
            _ => {}
        }
    }

    /// The result event, with everything `no_log` hides left out.
    fn report(&self, host: &str, outcome: &Outcome, task: Option<&Task>) {
        let no_log = task.is_some_and(|task| task.settings.no_log == Some(true));
        let result = if no_log {
            json!({
                "censored": CENSORED,
                "changed": outcome.result.get("changed").cloned().unwrap_or(Json::Bool(false)),
            })
        } else {
            outcome.result.clone()
        };
        self.reporter.event(Event::HostResult(Box::new(HostReport {
            host: host.to_owned(),
            status: outcome.status,
            item: if no_log {
                outcome.item.as_ref().map(|_| "(censored)".to_owned())
            } else {
                outcome.item.clone()
            },
            result,
            diff: if no_log { None } else { outcome.diff.clone() },
            // A templated target is shown only once rendered, which the
            // report does not see: it is left out rather than shown raw.
            delegated_to: task
                .and_then(|task| task.delegate_to.clone())
                .filter(|target| !drover_template::is_template(target)),
            module: outcome.module.clone().or_else(|| {
                task.and_then(|task| match &task.action {
                    drover_playbook::Action::Module { name, .. } => Some(name.clone()),
                    _ => None,
                })
            }),
            problem: if no_log {
                None
            } else {
                outcome.problem.clone()
            },
            timing: outcome.timing,
        })));
    }
}
