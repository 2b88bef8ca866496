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
use crate::host::HostState;
use crate::play::Runner;
use crate::slots::switched_record;
use crate::task::Outcome;
use crate::vars::PlayVars;
use crate::{Error, Event};

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
    #[allow(clippy::too_many_lines)] // to be split (issue 15)
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
        self.reporter.event(Event::TaskStart {
            name: format!(
                "GROUPS [{app}]: {} is live; {} {}",
                live.as_ref().map_or("no group", |live| live.group.as_str()),
                if undo {
                    "switching back to"
                } else {
                    "deploying to"
                },
                target.group
            ),
            location: String::new(),
            handler: false,
        });
        if !undo && let Some(live) = &live {
            let mut serving = take(&mut states, |state| in_group(state, &live.group));
            for state in &mut serving {
                expose(state, live, Some(live), &hosts);
            }
            let would_change = self.dry_run(play, &mut serving, play_vars).await;
            let up_to_date = !would_change.contains(&true);
            states.append(&mut serving);
            if up_to_date {
                self.reporter.event(Event::TaskStart {
                    name: format!("UP TO DATE: the live group {} already matches", live.group),
                    location: String::new(),
                    handler: false,
                });
                return Ok(());
            }
        }
        let mut deploying = take(&mut states, |state| in_group(state, &target.group));
        for state in &mut deploying {
            expose(state, &target, live.as_ref(), &hosts);
        }
        if !undo {
            if play.gather_facts {
                self.gather_facts(&mut deploying, &play.gather_subset).await;
            }
            self.run_sections(play, &mut deploying, play_vars).await;
        }
        self.readiness_gate(rollout, &mut deploying, play_vars)
            .await?;
        let failed = deploying.iter().filter(|state| !state.active()).count();
        if failed > super::allowed_failures(rollout, deploying.len()) || failed == deploying.len() {
            if !undo {
                self.roll_back(play, &mut [deploying], play_vars).await;
            }
            return Ok(());
        }
        let image = deploying
            .iter()
            .find_map(|state| state.deployed.last())
            .and_then(|deployed| deployed.release["current"]["image"].as_str())
            .map(str::to_owned);
        // The switch runs once, on the first ready host of the new group.
        let mut switching = take(&mut deploying, HostState::active);
        let mut rest = switching.split_off(1);
        self.run_tasks(&play.switch, &mut switching, play_vars, play)
            .await;
        self.flush_handlers(play, &mut switching, play_vars).await;
        let switched = switching.iter().all(HostState::active);
        switching.append(&mut rest);
        deploying.append(&mut switching);
        if switched {
            let record = switched_record(
                &app,
                json!({"slot": target.slot, "group": target.group}),
                &target.slot,
                image.as_deref(),
                &record,
                undo,
            );
            states.append(&mut deploying);
            self.reporter.event(Event::TaskStart {
                name: format!("RECORD LIVE GROUP [{app}]"),
                location: String::new(),
                handler: false,
            });
            for state in states.iter_mut().filter(|state| !state.unreachable()) {
                let outcome = self
                    .write_record(play, state, &app, &record, play_vars)
                    .await;
                self.record(state, &outcome, None);
            }
        }
        Ok(())
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
