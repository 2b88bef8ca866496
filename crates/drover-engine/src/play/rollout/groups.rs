//! A blue-green rollout across groups of hosts: `groups: {blue: web_blue,
//! green: web_green}`. One group serves; the play's tasks deploy to the
//! other (its hosts see `rollout_group`, `rollout_slot` and
//! `rollout_hosts`), the readiness gate checks every one of its hosts, and
//! only then do the `switch:` tasks run, once, usually delegated to the
//! load balancer. The old group keeps running, so `drover rollout undo`
//! switches back at once. Every host of both groups records which group
//! is live (`/var/lib/drover/releases/APP.rollout.json`).

use drover_playbook::{Play, Rollout};
use drover_ssh::ExecRequest;
use serde_json::{Value as Json, json};

use super::blue_green::take;
use crate::Error;
use crate::host::HostState;
use crate::play::Runner;
use crate::slots::switched_record;
use crate::task::Outcome;
use crate::vars::PlayVars;

/// One side: its slot name and inventory group.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Side {
    slot: String,
    group: String,
}

/// The side a record names as `current` (or `previous`).
fn side_of(record: &Json, which: &str, configured: &[(String, String)]) -> Option<Side> {
    let slot = record[which]["slot"].as_str()?;
    configured
        .iter()
        .find(|(name, _)| name == slot)
        .map(|(slot, group)| Side {
            slot: slot.clone(),
            group: group.clone(),
        })
}

/// The live side and the one to deploy to, from the hosts' records (the
/// first record that names one decides). With `undo`, the target is the
/// previous side.
fn sides(
    records: &[Json],
    configured: &[(String, String)],
    undo: bool,
) -> (Option<Side>, Option<Side>, Json) {
    let record = records
        .iter()
        .find(|record| side_of(record, "current", configured).is_some())
        .cloned()
        .unwrap_or(Json::Null);
    let live = side_of(&record, "current", configured);
    let target = if undo {
        side_of(&record, "previous", configured)
    } else {
        configured
            .iter()
            .find(|(slot, _)| live.as_ref().is_none_or(|live| &live.slot != slot))
            .map(|(slot, group)| Side {
                slot: slot.clone(),
                group: group.clone(),
            })
    };
    (live, target, record)
}

/// One run of a group blue-green play: what every step needs.
struct GroupRun<'a> {
    play: &'a Play,
    rollout: &'a Rollout,
    play_vars: &'a PlayVars,
    app: String,
    undo: bool,
    /// The group serving now, if any.
    live: Option<Side>,
    /// The group deployed to (or, undoing, switched back to).
    target: Side,
    /// The record the hosts hold.
    record: Json,
    /// The target group's hosts.
    hosts: Vec<String>,
}

fn in_group(state: &HostState, group: &str) -> bool {
    state.inventory_vars["group_names"]
        .as_array()
        .is_some_and(|groups| groups.iter().any(|name| name == group))
}

/// Sets the variables the tasks and `switch:` see.
fn expose(state: &mut HostState, side: &Side, live: Option<&Side>, hosts: &[String]) {
    let facts = &mut state.facts;
    facts.insert("rollout_slot".to_owned(), json!(side.slot));
    facts.insert("rollout_group".to_owned(), json!(side.group));
    facts.insert("rollout_hosts".to_owned(), json!(hosts));
    facts.insert(
        "rollout_live_slot".to_owned(),
        live.map_or(Json::Null, |live| json!(live.slot)),
    );
    facts.insert(
        "rollout_live_group".to_owned(),
        live.map_or(Json::Null, |live| json!(live.group)),
    );
}

impl Runner {
    /// Runs a group blue-green play (or, with `undo`, switches it back).
    pub(crate) async fn group_blue_green(
        &self,
        play: &Play,
        rollout: &Rollout,
        mut states: Vec<HostState>,
        play_vars: &PlayVars,
        undo: bool,
    ) -> Result<(), Error> {
        let app = rollout.app.clone().unwrap_or_default();
        let records = self.read_records(&app, &mut states).await;
        let (live, target, record) = sides(&records, &rollout.groups, undo);
        let Some(target) = target else {
            return Err(Error::Play(format!(
                "{app} has no previous group to switch back to"
            )));
        };
        let hosts: Vec<String> = states
            .iter()
            .filter(|state| in_group(state, &target.group))
            .map(|state| state.name.clone())
            .collect();
        if hosts.is_empty() {
            return Err(Error::Play(format!(
                "the blue_green group `{}` has no hosts in this play (hosts: {})",
                target.group, play.hosts
            )));
        }
        let run = GroupRun {
            play,
            rollout,
            play_vars,
            app,
            undo,
            live,
            target,
            record,
            hosts,
        };
        self.announce(format!(
            "GROUPS [{}]: {} is live; {} {}",
            run.app,
            run.live
                .as_ref()
                .map_or("no group", |live| live.group.as_str()),
            if undo {
                "switching back to"
            } else {
                "deploying to"
            },
            run.target.group
        ));
        if !undo && self.live_group_is_up_to_date(&run, &mut states).await {
            return Ok(());
        }
        let Some(mut deploying) = self.deploy_group(&run, &mut states).await? else {
            return Ok(());
        };
        if self.switch_group(&run, &mut deploying).await {
            states.append(&mut deploying);
            self.record_live_group(&run, &mut states).await;
        }
        Ok(())
    }

    /// Runs the tasks in check mode against the live group: when nothing
    /// would change, the rollout has nothing to do.
    async fn live_group_is_up_to_date(
        &self,
        run: &GroupRun<'_>,
        states: &mut Vec<HostState>,
    ) -> bool {
        let Some(live) = &run.live else {
            return false;
        };
        let mut serving = take(states, |state| in_group(state, &live.group));
        for state in &mut serving {
            expose(state, live, Some(live), &run.hosts);
        }
        let would_change = self.dry_run(run.play, &mut serving, run.play_vars).await;
        states.append(&mut serving);
        let up_to_date = !would_change.contains(&true);
        if up_to_date {
            self.announce(format!(
                "UP TO DATE: the live group {} already matches",
                live.group
            ));
        }
        up_to_date
    }

    /// Deploys to the target group (unless undoing) and gates its
    /// readiness; the group's hosts when enough of them are ready, else
    /// `None` (rolled back).
    async fn deploy_group(
        &self,
        run: &GroupRun<'_>,
        states: &mut Vec<HostState>,
    ) -> Result<Option<Vec<HostState>>, Error> {
        let mut deploying = take(states, |state| in_group(state, &run.target.group));
        for state in &mut deploying {
            expose(state, &run.target, run.live.as_ref(), &run.hosts);
        }
        if !run.undo {
            if run
                .play
                .gather_facts
                .unwrap_or(self.options.gather_by_default)
            {
                self.gather_facts(&mut deploying, run.play, run.play_vars)
                    .await;
            }
            self.run_sections(run.play, &mut deploying, run.play_vars)
                .await;
        }
        self.readiness_gate(run.rollout, &mut deploying, run.play_vars)
            .await?;
        let failed = deploying.iter().filter(|state| !state.active()).count();
        if failed > super::allowed_failures(run.rollout, deploying.len())
            || failed == deploying.len()
        {
            if !run.undo {
                self.roll_back(run.play, &mut [deploying], run.play_vars)
                    .await;
            }
            return Ok(None);
        }
        Ok(Some(deploying))
    }

    /// Runs the `switch:` tasks once, on the first ready host of the new
    /// group; whether they succeeded.
    async fn switch_group(&self, run: &GroupRun<'_>, deploying: &mut Vec<HostState>) -> bool {
        let mut switching = take(deploying, HostState::active);
        let mut rest = switching.split_off(1);
        self.run_tasks(&run.play.switch, &mut switching, run.play_vars, run.play)
            .await;
        self.flush_handlers(run.play, &mut switching, run.play_vars)
            .await;
        let switched = switching.iter().all(HostState::active);
        switching.append(&mut rest);
        deploying.append(&mut switching);
        switched
    }

    /// Every reachable host of both groups records the new live group.
    async fn record_live_group(&self, run: &GroupRun<'_>, states: &mut [HostState]) {
        let image = states
            .iter()
            .find_map(|state| state.deployed.last())
            .and_then(|deployed| deployed.release["current"]["image"].as_str())
            .map(str::to_owned);
        let record = switched_record(
            &run.app,
            json!({"slot": run.target.slot, "group": run.target.group}),
            &run.target.slot,
            image.as_deref(),
            &run.record,
            run.undo,
        );
        self.announce(format!("RECORD LIVE GROUP [{}]", run.app));
        for state in states.iter_mut().filter(|state| !state.unreachable()) {
            let outcome = self
                .write_record(run.play, state, &run.app, &record, run.play_vars)
                .await;
            self.record(state, &outcome, None);
        }
    }

    /// Each host's rollout record of `app` (null when it has none); a host
    /// that cannot be read is recorded as failed or unreachable.
    pub(crate) async fn read_records(&self, app: &str, states: &mut [HostState]) -> Vec<Json> {
        let command = format!(
            "cat {}/{} 2>/dev/null || true",
            drover_modules::releases::RELEASES,
            drover_ssh::quote(&format!("{app}.rollout.json"))
        );
        let request = ExecRequest {
            reuse_shell: true,
            ..ExecRequest::new(command)
        };
        let answers =
            futures::future::join_all(states.iter().map(|state| state.session.exec(&request)))
                .await;
        let mut records = Vec::new();
        for (state, answer) in states.iter_mut().zip(answers) {
            match answer {
                Ok(output) => {
                    records.push(serde_json::from_slice(&output.stdout).unwrap_or(Json::Null));
                }
                Err(error) => {
                    let outcome = Outcome::transport(&error);
                    self.record(state, &outcome, None);
                    records.push(Json::Null);
                }
            }
        }
        records
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::sides;

    fn configured() -> Vec<(String, String)> {
        vec![
            ("blue".to_owned(), "web_blue".to_owned()),
            ("green".to_owned(), "web_green".to_owned()),
        ]
    }

    #[test]
    fn the_idle_group_is_the_one_not_live_and_undo_goes_back() {
        let (live, target, _) = sides(&[json!(null)], &configured(), false);
        assert_eq!((live, target.unwrap().group), (None, "web_blue".to_owned()));
        let records = [
            json!(null),
            json!({"current": {"slot": "blue"}, "previous": {"slot": "green"}}),
        ];
        let (live, target, _) = sides(&records, &configured(), false);
        assert_eq!(live.unwrap().group, "web_blue");
        assert_eq!(target.unwrap().group, "web_green");
        let (_, back, _) = sides(&records, &configured(), true);
        assert_eq!(back.unwrap().group, "web_green");
    }
}
