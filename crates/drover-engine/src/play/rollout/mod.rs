//! A play's `rollout:`: batches by strategy, a readiness gate after each
//! batch, and what happens when too many hosts fail it (stop, go on, or
//! roll back every host changed so far, the last batch first).

use std::sync::Arc;
use std::time::Duration;

use drover_modules::ModuleContext;
use drover_modules::health::HealthSpec;
use drover_playbook::{OnFailure, Play, Rollout, Strategy};
use drover_ssh::ExecRequest;
use serde_json::{Map, Value as Json, json};

use super::{Runner, batches};
use crate::host::{HostState, Participation};
use crate::promotion::{self, Decision};
use crate::task::Outcome;
use crate::vars::{self, PlayVars};
use crate::{Error, Status, Vars};

pub(crate) mod blue_green;
mod groups;

/// The hosts of each batch, in order.
pub(crate) fn rollout_batches(hosts: &[usize], rollout: &Rollout) -> Vec<Vec<usize>> {
    match rollout.strategy {
        Strategy::BigBang => vec![hosts.to_vec()],
        // Steps say how many hosts have changed after each step; hosts no
        // step reaches stay as they are.
        Strategy::Canary | Strategy::Toggle => {
            let mut result = Vec::new();
            let mut done = 0;
            for step in &rollout.steps {
                let target = step.of(hosts.len()).max(1).min(hosts.len());
                if target > done {
                    result.push(hosts[done..target].to_vec());
                    done = target;
                }
            }
            result
        }
        _ => batches(hosts, std::slice::from_ref(&rollout.batch)),
    }
}

/// How many hosts may fail readiness before `on_failure` acts.
pub(crate) fn allowed_failures(rollout: &Rollout, total: usize) -> usize {
    rollout.max_failures.of(total)
}

/// The seconds to wait between batches.
pub(crate) fn pause(rollout: &Rollout) -> Duration {
    Duration::from_secs_f64(rollout.pause)
}

/// The two health gates of a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// A batch's hosts, once deployed, before the next batch.
    Readiness,
    /// Every host deployed so far, after the pause between batches.
    Liveness,
}

impl std::fmt::Display for Gate {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Readiness => "readiness",
            Self::Liveness => "liveness",
        })
    }
}

impl Runner {
    /// Checks every active host of a batch for readiness; returns how many
    /// failed. The check is templated for each host (a blue-green gate
    /// names the idle slot's `{{ rollout_port }}`).
    pub(crate) async fn readiness_gate(
        &self,
        rollout: &Rollout,
        states: &mut [HostState],
        play_vars: &PlayVars,
    ) -> Result<usize, Error> {
        match &rollout.readiness {
            Some(readiness) => {
                self.gate(Gate::Readiness, readiness, states, play_vars)
                    .await
            }
            None => Ok(0),
        }
    }

    /// Checks that every host deployed so far is still alive (`liveness`):
    /// a host that passed readiness and then died fails, and counts towards
    /// `on_failure`. Returns how many failed.
    pub(crate) async fn liveness_gate(
        &self,
        rollout: &Rollout,
        rolled_out: &mut [Vec<HostState>],
        play_vars: &PlayVars,
    ) -> Result<usize, Error> {
        let Some(liveness) = &rollout.liveness else {
            return Ok(0);
        };
        let mut failed = 0;
        for batch in rolled_out.iter_mut() {
            failed += self
                .gate(Gate::Liveness, liveness, batch, play_vars)
                .await?;
        }
        Ok(failed)
    }

    async fn gate(
        &self,
        kind: Gate,
        check: &Json,
        states: &mut [HostState],
        play_vars: &PlayVars,
    ) -> Result<usize, Error> {
        if !states.iter().any(HostState::active) {
            return Ok(0);
        }
        let described =
            HealthSpec::parse(check).map_or_else(|_| kind.to_string(), |spec| spec.describe());
        self.announce(format!("{} [{described}]", kind.to_string().to_uppercase()));
        let request = ExecRequest {
            reuse_shell: true,
            ..ExecRequest::new(String::new())
        };
        let hostvars = vars::shared(play_vars, states);
        let specs: Vec<Option<Result<HealthSpec, String>>> = states
            .iter()
            .map(|state| {
                state.active().then(|| {
                    let scope =
                        self.templar
                            .scope(vars::layers(play_vars, state, &Vars::new(), &hostvars));
                    let rendered = self
                        .templar
                        .render(check, &scope)
                        .map_err(|error| error.to_string())?;
                    HealthSpec::parse(&rendered).map_err(|error| error.to_string())
                })
            })
            .collect();
        let checks = states.iter().zip(&specs).map(|(state, spec)| async {
            match spec {
                Some(Ok(spec)) => Some(Ok((spec, spec.run(&state.session, &request).await))),
                Some(Err(error)) => Some(Err(error.clone())),
                None => None,
            }
        });
        let outcomes = futures::future::join_all(checks).await;
        let mut failed = 0;
        for (state, outcome) in states.iter_mut().zip(outcomes) {
            let Some(outcome) = outcome else { continue };
            let outcome = gate_outcome(kind, &state.name, outcome);
            if outcome.status == Status::Failed {
                failed += 1;
                let reason = outcome.result["msg"]
                    .as_str()
                    .map_or_else(|| kind.to_string(), str::to_owned);
                self.note_failed_releases(state, &reason).await;
            }
            self.record(state, &outcome, None);
        }
        Ok(failed)
    }

    /// What a module acting on a release a task made runs with: the host's
    /// session, the task's escalation, no variables of its own.
    fn release_context<'a>(
        &'a self,
        state: &'a HostState,
        deployed: &crate::host::Deployed,
        scope: &'a drover_template::Scope,
    ) -> ModuleContext<'a> {
        ModuleContext {
            session: &state.session,
            check_mode: self.options.check,
            diff: false,
            become_user: deployed.become_user.clone(),
            environment: Vec::new(),
            search_paths: vec![self.base.clone()],
            templar: &self.templar,
            scope,
            service_rollout: None,
        }
    }

    /// Notes on the host, for `drover rollout status`, that the releases
    /// this rollout made there failed their gate, and why.
    async fn note_failed_releases(&self, state: &HostState, reason: &str) {
        let scope = self.templar.scope(vec![Arc::new(Map::new())]);
        for deployed in &state.deployed {
            let Some(app) = deployed.release["app"].as_str() else {
                continue;
            };
            let context = self.release_context(state, deployed, &scope);
            let image = deployed.release["current"]["image"]
                .as_str()
                .unwrap_or_default();
            drover_modules::releases::note_failure(&context, app, image, reason).await;
        }
    }

    /// After a rollout batch's tasks: the readiness gate, the switch of a
    /// blue-green batch, and what `on_failure` says when too many hosts
    /// failed; then the pause before the next batch. Returns whether the
    /// rollout stops here.
    pub(crate) async fn after_batch(
        &self,
        play: &Play,
        mut states: Vec<HostState>,
        rolled_out: &mut Vec<Vec<HostState>>,
        play_vars: &PlayVars,
        next: Option<Vec<String>>,
    ) -> Result<bool, Error> {
        let Some(rollout) = &play.rollout else {
            return Ok(false);
        };
        self.readiness_gate(rollout, &mut states, play_vars).await?;
        if rollout.strategy == Strategy::BlueGreen {
            let app = rollout.app.clone().unwrap_or_default();
            self.switch(play, &app, &mut states, play_vars).await;
        }
        rolled_out.push(states);
        self.liveness_gate(rollout, rolled_out, play_vars).await?;
        if self
            .over_budget(play, rollout, rolled_out, play_vars, next.as_deref())
            .await?
        {
            return Ok(true);
        }
        let Some(next) = next else {
            return Ok(false);
        };
        // A step that changed nothing has nothing to watch: no pause.
        let changed = rolled_out
            .last()
            .is_some_and(|batch| batch.iter().any(|state| state.changed));
        if !changed {
            return Ok(false);
        }
        if rollout.manual {
            if self
                .wait_for_decision(play, rolled_out, Some(&next))
                .await?
                == Decision::Abort
            {
                self.control.abort();
                self.roll_back(play, rolled_out, play_vars).await;
                return Ok(true);
            }
        } else {
            tokio::time::sleep(pause(rollout)).await;
        }
        // The hosts deployed so far must have stayed alive through the pause.
        if rollout.liveness.is_none() {
            return Ok(false);
        }
        self.liveness_gate(rollout, rolled_out, play_vars).await?;
        self.over_budget(play, rollout, rolled_out, play_vars, Some(&next))
            .await
    }

    /// When more hosts have failed than `max_failures` allows, does what
    /// `on_failure` says; returns whether the rollout stops.
    async fn over_budget(
        &self,
        play: &Play,
        rollout: &Rollout,
        rolled_out: &mut [Vec<HostState>],
        play_vars: &PlayVars,
        next: Option<&[String]>,
    ) -> Result<bool, Error> {
        let total =
            rolled_out.iter().map(Vec::len).sum::<usize>() + next.map_or(0, <[String]>::len);
        let failed = rolled_out
            .iter()
            .flatten()
            .filter(|state| state.lost())
            .count();
        if failed <= allowed_failures(rollout, total) {
            return Ok(false);
        }
        let decision = match rollout.on_failure {
            OnFailure::Continue => Decision::Promote,
            OnFailure::Rollback => Decision::Abort,
            OnFailure::Pause => self.wait_for_decision(play, rolled_out, next).await?,
        };
        if decision == Decision::Abort {
            if rollout.on_failure == OnFailure::Pause {
                self.control.abort();
            }
            self.roll_back(play, rolled_out, play_vars).await;
            return Ok(true);
        }
        Ok(false)
    }

    /// Waits for `drover rollout promote` or `abort`.
    async fn wait_for_decision(
        &self,
        play: &Play,
        rolled_out: &[Vec<HostState>],
        next: Option<&[String]>,
    ) -> Result<Decision, Error> {
        let name = promotion::file_name(
            play.rollout
                .as_ref()
                .and_then(|rollout| rollout.app.as_deref())
                .or(play.name.as_deref())
                .unwrap_or("rollout"),
        );
        let changed: Vec<&str> = rolled_out
            .iter()
            .flatten()
            .map(|state| state.name.as_str())
            .collect();
        let failed: Vec<&str> = rolled_out
            .iter()
            .flatten()
            .filter(|state| state.lost())
            .map(|state| state.name.as_str())
            .collect();
        self.announce(format!(
                "PAUSED: run `drover rollout promote {name}` to go on, or `drover rollout abort {name}` to roll back"
            ));
        let details = json!({"done": changed, "failed": failed, "next": next});
        promotion::wait(&promotion::directory(), &name, details).await
    }

    /// Undoes what this rollout did, the last batch first: a blue-green
    /// host switches back to its old slot, each container runs its release
    /// from before (or goes, if it is new), and the play's `rollback:` tasks
    /// run on every host the rollout reached.
    pub(crate) async fn roll_back(
        &self,
        play: &Play,
        rolled_out: &mut [Vec<HostState>],
        play_vars: &PlayVars,
    ) {
        self.announce(if self.control.aborted() {
            "ROLLBACK (aborted by `drover rollout abort`)".to_owned()
        } else {
            "ROLLBACK".to_owned()
        });
        let app = play
            .rollout
            .as_ref()
            .and_then(|rollout| rollout.app.clone())
            .unwrap_or_default();
        for batch in rolled_out.iter_mut().rev() {
            self.switch_back(play, &app, batch, play_vars).await;
            for state in batch.iter_mut() {
                self.roll_back_containers(state).await;
            }
            if !play.rollback.is_empty() {
                let before: Vec<Participation> = batch.iter_mut().map(HostState::revive).collect();
                self.run_tasks(&play.rollback, batch, play_vars, play).await;
                self.flush_handlers(play, batch, play_vars).await;
                for (state, before) in batch.iter_mut().zip(before) {
                    state.settle(before);
                }
            }
        }
    }

    /// `drover rollout undo APP --playbook`: every host of this blue-green
    /// play switches back to its previous slot, once that slot is ready.
    pub(crate) async fn undo(
        &self,
        play: &Play,
        rollout: &Rollout,
        mut states: Vec<HostState>,
        play_vars: &PlayVars,
    ) -> Result<(), Error> {
        self.read_slots(rollout, &mut states, true).await;
        self.readiness_gate(rollout, &mut states, play_vars).await?;
        let app = rollout.app.clone().unwrap_or_default();
        self.switch(play, &app, &mut states, play_vars).await;
        futures::future::join_all(states.iter().map(|state| state.session.close())).await;
        Ok(())
    }

    /// Runs the release before each one this rollout made on one host, its
    /// last release first; a container that did not exist before goes.
    async fn roll_back_containers(&self, state: &mut HostState) {
        let scope = self.templar.scope(vec![Arc::new(Map::new())]);
        let deployed = std::mem::take(&mut state.deployed);
        for release in deployed.iter().rev() {
            let Some((module, arguments)) = rollback_arguments(&release.release) else {
                continue;
            };
            let context = self.release_context(state, release, &scope);
            let outcome = match drover_modules::run(module, &arguments, &context).await {
                Ok(result) => Outcome::new(
                    if result.failed {
                        Status::Failed
                    } else if result.changed {
                        Status::Changed
                    } else {
                        Status::Ok
                    },
                    json!({
                        "changed": result.changed, "failed": result.failed,
                        "msg": result.message.unwrap_or_else(|| format!("rolled back {}", arguments["name"].as_str().unwrap_or_default())),
                        "image": arguments.get("image").cloned().unwrap_or(Json::Null),
                    }),
                ),
                Err(error) => Outcome::failed(format!("rollback failed: {error}")),
            };
            self.record(state, &outcome, None);
        }
    }
}

/// How a host's readiness (or liveness) check went, as a task outcome.
fn gate_outcome(
    kind: Gate,
    host: &str,
    outcome: Result<
        (
            &HealthSpec,
            Result<drover_modules::health::HealthOutcome, drover_modules::Error>,
        ),
        String,
    >,
) -> Outcome {
    let (status, result) = match outcome {
        Err(error) => (
            Status::Failed,
            json!({"changed": false, "failed": true, "msg": format!("{kind} check: {error}")}),
        ),
        Ok((_, Ok(health))) if health.healthy => (
            Status::Ok,
            json!({"changed": false, "health": health.to_json()}),
        ),
        Ok((spec, Ok(health))) => (
            Status::Failed,
            json!({
                "changed": false, "failed": true, "health": health.to_json(),
                "msg": format!("{kind} check {} failed {} time(s) in a row on {host} (last: {})",
                    spec.describe(), spec.failure_threshold,
                    if health.last.is_empty() { "no answer" } else { &health.last }),
            }),
        ),
        Ok((spec, Err(error))) => (
            Status::Failed,
            json!({"changed": false, "failed": true, "msg": format!("{kind} check {}: {error}", spec.describe())}),
        ),
    };
    Outcome::new(status, result)
}

/// The module (`container` or `quadlet`) and arguments that bring back the
/// release before `release`; with none before, they remove it.
fn rollback_arguments(release: &Json) -> Option<(&'static str, Map<String, Json>)> {
    let name = release["app"].as_str()?;
    let previous = &release["previous"];
    if release["kind"] == "quadlet" {
        let mut arguments = match previous["unit"].as_str() {
            Some(unit) => Map::from_iter([
                ("content".to_owned(), Json::from(unit)),
                ("image".to_owned(), previous["image"].clone()),
                ("state".to_owned(), Json::from("started")),
            ]),
            None => Map::from_iter([("state".to_owned(), Json::from("absent"))]),
        };
        arguments.insert("name".to_owned(), Json::from(name));
        return Some(("quadlet", arguments));
    }
    let runtime = release["current"]["runtime"].as_str().unwrap_or("auto");
    let mut arguments = match previous["configuration"].as_object() {
        Some(configuration) => {
            let mut arguments = configuration.clone();
            arguments.insert("pull".to_owned(), Json::from("never"));
            arguments.insert("state".to_owned(), Json::from("started"));
            arguments
        }
        None => Map::from_iter([("state".to_owned(), Json::from("absent"))]),
    };
    arguments.insert("name".to_owned(), Json::from(name));
    arguments.insert("runtime".to_owned(), Json::from(runtime));
    Some(("container", arguments))
}

#[cfg(test)]
mod tests {
    use drover_playbook::{Batch, OnFailure, Rollout, Strategy};
    use serde_json::json;

    use super::{rollback_arguments, rollout_batches};

    fn rollout(strategy: Strategy, batch: Batch, steps: Vec<Batch>) -> Rollout {
        Rollout {
            strategy,
            app: None,
            slots: Vec::new(),
            groups: Vec::new(),
            manual: false,
            batch,
            steps,
            pause: 0.0,
            readiness: None,
            liveness: None,
            max_failures: Batch::Count(0),
            on_failure: OnFailure::Rollback,
            service: None,
        }
    }

    #[test]
    fn strategies_make_their_batches() {
        let hosts = [1, 2, 3, 4];
        assert_eq!(
            rollout_batches(&hosts, &rollout(Strategy::Rolling, Batch::Count(1), vec![])),
            vec![vec![1], vec![2], vec![3], vec![4]]
        );
        assert_eq!(
            rollout_batches(&hosts, &rollout(Strategy::BigBang, Batch::Count(1), vec![])),
            vec![vec![1, 2, 3, 4]]
        );
        let steps = vec![Batch::Count(1), Batch::Percent(25.0), Batch::Percent(100.0)];
        assert_eq!(
            rollout_batches(&hosts, &rollout(Strategy::Canary, Batch::Count(1), steps)),
            vec![vec![1], vec![2, 3, 4]]
        );
        let partial = vec![Batch::Count(1), Batch::Percent(50.0)];
        assert_eq!(
            rollout_batches(&hosts, &rollout(Strategy::Toggle, Batch::Count(1), partial)),
            vec![vec![1], vec![2]]
        );
    }

    #[test]
    fn rollback_brings_back_the_previous_configuration_or_removes() {
        let release = json!({"app": "web", "current": {"runtime": "podman"},
            "previous": {"configuration": {"image": "app:1", "ports": ["80:80"]}}});
        let (module, arguments) = rollback_arguments(&release).unwrap();
        assert_eq!(module, "container");
        assert_eq!(arguments["image"], "app:1");
        assert_eq!(arguments["runtime"], "podman");
        assert_eq!(arguments["pull"], "never");
        let first = json!({"app": "web", "current": {"runtime": "docker"}, "previous": null});
        assert_eq!(rollback_arguments(&first).unwrap().1["state"], "absent");
        let quadlet = json!({"app": "web", "kind": "quadlet",
            "previous": {"unit": "[Container]\nImage=app:1\n", "image": "app:1"}});
        let (module, arguments) = rollback_arguments(&quadlet).unwrap();
        assert_eq!(module, "quadlet");
        assert_eq!(arguments["content"], "[Container]\nImage=app:1\n");
    }
}
