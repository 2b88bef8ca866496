//! A blue-green rollout on each host: two slots (say `blue` on 8081 and
//! `green` on 8082), one live. The play's tasks deploy into the idle slot
//! (they see `rollout_slot` and `rollout_port`), the readiness gate checks
//! it, and only then do the play's `switch:` tasks move traffic to it. The
//! old slot keeps running, so switching back is instant.
//!
//! Which slot is live is recorded on the host in the app's rollout record
//! (`/var/lib/drover/releases/APP.rollout.json`, apart from the containers'
//! own records), with the slot before it for `drover rollout undo`. A host whose live slot already matches the play
//! (the tasks, run in check mode against it, would change nothing) is left
//! alone, so the same rollout run twice changes nothing.

use drover_modules::ModuleContext;
use drover_playbook::{Play, Rollout};
use serde_json::{Value as Json, json};

use crate::host::{HostState, Participation, Probe};
use crate::play::Runner;
use crate::slots::{Slot, Slots};
use crate::task::Outcome;
use crate::vars::{self, PlayVars};
use crate::{Status, Vars};

/// Sets `rollout_slot`/`rollout_port` to `slot` and `rollout_live_slot`/
/// `rollout_live_port` to the live one (null before the first switch).
fn expose(state: &mut HostState, slot: &Slot, live: Option<&Slot>) {
    state
        .facts
        .insert("rollout_slot".to_owned(), json!(slot.name));
    state
        .facts
        .insert("rollout_port".to_owned(), json!(slot.port));
    state.facts.insert(
        "rollout_live_slot".to_owned(),
        live.map_or(Json::Null, |live| json!(live.name)),
    );
    state.facts.insert(
        "rollout_live_port".to_owned(),
        live.map_or(Json::Null, |live| json!(live.port)),
    );
}

/// Moves the hosts `keep` chooses out of `states`.
pub(crate) fn take(
    states: &mut Vec<HostState>,
    keep: impl Fn(&HostState) -> bool,
) -> Vec<HostState> {
    let (chosen, rest) = std::mem::take(states)
        .into_iter()
        .partition(|state| keep(state));
    *states = rest;
    chosen
}

impl Runner {
    /// Reads each host's record and picks the slot to deploy to (with
    /// `undo`, the previous one); a host that cannot be read, or has no
    /// previous slot to undo to, fails.
    pub(crate) async fn read_slots(&self, rollout: &Rollout, states: &mut [HostState], undo: bool) {
        let app = rollout.app.clone().unwrap_or_default();
        self.announce(format!("SLOTS [{app}]"));
        // A host that cannot be read has its failure recorded already.
        let records = self.read_records(&app, states).await;
        for (state, record) in states.iter_mut().zip(records) {
            if !state.active() {
                continue;
            }
            let outcome = match Slots::from_record(record, &rollout.slots, undo) {
                Some(slots) => {
                    expose(state, &slots.target, slots.live.as_ref());
                    let message = match &slots.live {
                        Some(live) => {
                            format!("{} is live; {} is idle", live.name, slots.target.name)
                        }
                        None => format!("no slot is live yet; deploying to {}", slots.target.name),
                    };
                    state.slots = Some(slots);
                    Outcome::ok(json!({"changed": false, "msg": message}))
                }
                None => Outcome::failed(format!(
                    "{app} has no previous slot to switch back to on {}",
                    state.name
                )),
            };
            self.record(state, &outcome, None);
        }
    }

    /// Runs the play's tasks in check mode against each host's live slot;
    /// a host where nothing would change is up to date and sits this
    /// rollout out. The others then see their idle slot.
    pub(crate) async fn probe(
        &self,
        play: &Play,
        states: &mut Vec<HostState>,
        play_vars: &PlayVars,
    ) {
        let mut probed = take(states, |state| {
            state.active()
                && state
                    .slots
                    .as_ref()
                    .is_some_and(|slots| slots.live.is_some())
        });
        for state in &mut probed {
            if let Some(live) = state.slots.as_ref().and_then(|slots| slots.live.clone()) {
                expose(state, &live, Some(&live));
            }
        }
        let would_change = self.dry_run(play, &mut probed, play_vars).await;
        self.announce("UP TO DATE?");
        for (state, would_change) in probed.iter_mut().zip(would_change) {
            // Back to the idle slot, where a host that differs deploys.
            if let Some(slots) = state.slots.clone() {
                expose(state, &slots.target, slots.live.as_ref());
            }
            let live = state.slots.as_ref().and_then(|slots| slots.live.clone());
            let message = match (&live, would_change) {
                (Some(live), false) => {
                    format!("the live slot {} already matches; nothing to do", live.name)
                }
                _ => "the live slot differs; deploying to the idle slot".to_owned(),
            };
            if !would_change {
                state.participation = Participation::Ended;
            }
            let outcome = Outcome::ok(json!({"changed": false, "msg": message}));
            self.record(state, &outcome, None);
        }
        states.append(&mut probed);
    }

    /// Runs the play's tasks in check mode, unreported, on `states`, leaving
    /// their facts, notifications and releases as they were; returns, host
    /// by host, whether anything would change.
    pub(crate) async fn dry_run(
        &self,
        play: &Play,
        states: &mut [HostState],
        play_vars: &PlayVars,
    ) -> Vec<bool> {
        let saved: Vec<(Vars, Vec<String>)> = states
            .iter()
            .map(|state| (state.facts.clone(), state.notified.clone()))
            .collect();
        for state in states.iter_mut() {
            state.probe = Some(Probe::default());
        }
        for section in &play.sections {
            self.run_tasks(&section.tasks, states, play_vars, play)
                .await;
        }
        states
            .iter_mut()
            .zip(saved)
            .map(|(state, (facts, notified))| {
                state.facts = facts;
                state.notified = notified;
                state.deployed.clear();
                state.probe.take().is_none_or(|probe| probe.would_change)
            })
            .collect()
    }

    /// Runs the `switch:` tasks on every active host of a blue-green batch
    /// (ready, since the gate has passed) and records the new live slot.
    pub(crate) async fn switch(
        &self,
        play: &Play,
        app: &str,
        states: &mut Vec<HostState>,
        play_vars: &PlayVars,
    ) {
        let mut switching = take(states, |state| state.active() && state.slots.is_some());
        if switching.is_empty() {
            return;
        }
        for state in &mut switching {
            if let Some(slots) = &mut state.slots {
                slots.switched = true;
            }
        }
        self.run_tasks(&play.switch, &mut switching, play_vars, play)
            .await;
        self.flush_handlers(play, &mut switching, play_vars).await;
        self.announce(format!("RECORD LIVE SLOT [{app}]"));
        for state in switching.iter_mut().filter(|state| state.active()) {
            let Some(slots) = &state.slots else { continue };
            let image = state
                .deployed
                .last()
                .and_then(|deployed| deployed.release["current"]["image"].as_str())
                .map(str::to_owned);
            let record = slots.switched_record(app, image.as_deref());
            let outcome = self
                .write_record(play, state, app, &record, play_vars)
                .await;
            self.record(state, &outcome, None);
        }
        states.append(&mut switching);
    }

    /// Switches every host this rollout switched back to the slot live
    /// before, and restores its record.
    pub(crate) async fn switch_back(
        &self,
        play: &Play,
        app: &str,
        batch: &mut Vec<HostState>,
        play_vars: &PlayVars,
    ) {
        let mut back = take(batch, |state| {
            !state.unreachable()
                && state
                    .slots
                    .as_ref()
                    .is_some_and(|slots| slots.switched && slots.live.is_some())
        });
        if back.is_empty() {
            return;
        }
        let before: Vec<Participation> = back.iter_mut().map(HostState::revive).collect();
        for state in &mut back {
            if let Some(slots) = state.slots.clone()
                && let Some(live) = &slots.live
            {
                expose(state, live, Some(&slots.target));
            }
        }
        self.announce(format!("SWITCH BACK [{app}]"));
        self.run_tasks(&play.switch, &mut back, play_vars, play)
            .await;
        self.flush_handlers(play, &mut back, play_vars).await;
        for state in back.iter_mut().filter(|state| state.active()) {
            let record = state
                .slots
                .as_ref()
                .map_or(Json::Null, |slots| slots.record.clone());
            let outcome = self
                .write_record(play, state, app, &record, play_vars)
                .await;
            self.record(state, &outcome, None);
        }
        for (state, before) in back.iter_mut().zip(before) {
            state.settle(before);
            if let Some(slots) = &mut state.slots {
                slots.switched = false;
            }
        }
        batch.append(&mut back);
    }

    pub(crate) async fn write_record(
        &self,
        play: &Play,
        state: &HostState,
        app: &str,
        record: &Json,
        play_vars: &PlayVars,
    ) -> Outcome {
        let hostvars = vars::shared(play_vars, std::slice::from_ref(state));
        let scope = self
            .templar
            .scope(vars::layers(play_vars, state, &Vars::new(), &hostvars));
        let context = ModuleContext {
            session: &state.session,
            check_mode: self.options.check,
            diff: false,
            become_user: crate::task::settings_escalation(&play.settings, &scope, &self.options),
            environment: Vec::new(),
            search_paths: vec![self.base.clone()],
            templar: &self.templar,
            scope: &scope,
            service_rollout: None,
        };
        if self.options.check {
            return Outcome::new(
                Status::Changed,
                json!({"changed": true, "msg": "would record the live slot"}),
            );
        }
        match drover_modules::releases::write(&context, &format!("{app}.rollout"), record).await {
            Ok(()) => Outcome::new(
                Status::Changed,
                json!({"changed": true, "msg": format!("{} is live", record["current"]["slot"].as_str().unwrap_or("no slot"))}),
            ),
            Err(error) => {
                Outcome::failed(format!("the live slot of {app} was not recorded: {error}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::slots::{Slot, Slots};

    fn configured() -> Vec<(String, u16)> {
        vec![("blue".to_owned(), 8081), ("green".to_owned(), 8082)]
    }

    #[test]
    fn the_idle_slot_is_the_one_not_live() {
        let first = Slots::from_record(serde_json::Value::Null, &configured(), false).unwrap();
        assert_eq!(first.live, None);
        assert_eq!(
            first.target,
            Slot {
                name: "blue".to_owned(),
                port: 8081
            }
        );
        let record = json!({"current": {"slot": "blue", "image": "app:1"}, "previous": null});
        let next = Slots::from_record(record.clone(), &configured(), false).unwrap();
        assert_eq!(next.target.name, "green");
        assert!(
            Slots::from_record(record, &configured(), true).is_none(),
            "nothing to undo to"
        );
    }

    #[test]
    fn switching_records_the_new_live_slot_and_undo_swaps_back() {
        let record =
            json!({"current": {"slot": "blue", "port": 8081, "image": "app:1"}, "previous": null});
        let slots = Slots::from_record(record, &configured(), false).unwrap();
        let switched = slots.switched_record("web", Some("app:2"));
        assert_eq!(switched["current"]["slot"], "green");
        assert_eq!(switched["current"]["image"], "app:2");
        assert_eq!(switched["previous"]["slot"], "blue");
        let undo = Slots::from_record(switched, &configured(), true).unwrap();
        assert_eq!(undo.target.name, "blue");
        let undone = undo.switched_record("web", None);
        assert_eq!(undone["current"]["slot"], "blue");
        assert_eq!(undone["current"]["image"], "app:1");
        assert_eq!(undone["previous"]["image"], "app:2");
    }
}
