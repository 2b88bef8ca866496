//! A play's `rollout:`: batches by strategy, a readiness gate after each
//! batch, and what happens when too many hosts fail it (stop, go on, or
//! roll back every host changed so far, the last batch first).

use std::sync::Arc;
use std::time::Duration;

use drover_modules::ModuleContext;
use drover_modules::health::HealthSpec;
use drover_playbook::{Batch, Rollout};
use drover_ssh::ExecRequest;
use serde_json::{Map, Value as Json, json};

use super::{Runner, batches};
use crate::host::HostState;
use crate::task::Outcome;
use crate::{Error, Event, Status};

/// The hosts of each batch, in order.
pub(crate) fn rollout_batches(hosts: &[usize], rollout: &Rollout) -> Vec<Vec<usize>> {
    match rollout.strategy.as_str() {
        "big_bang" => vec![hosts.to_vec()],
        // Steps say how many hosts have changed after each step; hosts no
        // step reaches stay as they are.
        "canary" | "toggle" => {
            let mut result = Vec::new();
            let mut done = 0;
            for step in &rollout.steps {
                let target = size(step, hosts.len()).max(1).min(hosts.len());
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

/// A count, or a percentage of `total` (rounded down).
fn size(batch: &Batch, total: usize) -> usize {
    match batch {
        Batch::Count(count) => *count,
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        Batch::Percent(percent) => (total as f64 * percent / 100.0).floor() as usize,
    }
}

/// How many hosts may fail readiness before `on_failure` acts.
pub(crate) fn allowed_failures(rollout: &Rollout, total: usize) -> usize {
    size(&rollout.max_failures, total)
}

/// The seconds to wait between batches.
pub(crate) fn pause(rollout: &Rollout) -> Duration {
    Duration::from_secs_f64(rollout.pause)
}

impl Runner {
    /// Checks every active host of a batch; returns how many failed.
    pub(crate) async fn readiness_gate(
        &self,
        rollout: &Rollout,
        states: &mut [HostState],
    ) -> Result<usize, Error> {
        let Some(readiness) = &rollout.readiness else {
            return Ok(0);
        };
        let spec = HealthSpec::parse(readiness)
            .map_err(|error| Error::Play(format!("rollout readiness: {error}")))?;
        self.reporter.event(Event::TaskStart {
            name: format!("READINESS [{}]", spec.describe()),
            location: String::new(),
            handler: false,
        });
        let request = ExecRequest {
            reuse_shell: true,
            ..ExecRequest::new(String::new())
        };
        let checks = states
            .iter()
            .map(|state| async { state.active().then(|| spec.run(&state.session, &request)) });
        let mut outcomes = Vec::new();
        for check in futures::future::join_all(checks).await {
            outcomes.push(match check {
                Some(future) => Some(future.await),
                None => None,
            });
        }
        let mut failed = 0;
        for (state, outcome) in states.iter_mut().zip(outcomes) {
            let Some(outcome) = outcome else { continue };
            let outcome = match outcome {
                Ok(health) if health.healthy => Outcome {
                    status: Status::Ok,
                    result: json!({"changed": false, "health": health.to_json()}),
                    diff: None,
                    item: None,
                },
                Ok(health) => Outcome {
                    status: Status::Failed,
                    result: json!({
                        "changed": false, "failed": true, "health": health.to_json(),
                        "msg": format!("readiness check {} failed {} time(s) in a row on {} (last: {})",
                            spec.describe(), spec.failure_threshold, state.name,
                            if health.last.is_empty() { "no answer" } else { &health.last }),
                    }),
                    diff: None,
                    item: None,
                },
                Err(error) => Outcome {
                    status: Status::Failed,
                    result: json!({"changed": false, "failed": true, "msg": format!("readiness check {}: {error}", spec.describe())}),
                    diff: None,
                    item: None,
                },
            };
            if outcome.status == Status::Failed {
                failed += 1;
            }
            self.record(state, &outcome, None);
        }
        Ok(failed)
    }

    /// Runs the release before each one this rollout made, on every host of
    /// `done` (the last batch first, each host's last release first); a
    /// container that did not exist before is removed.
    pub(crate) async fn roll_back(&self, done: &mut [Vec<HostState>]) {
        self.reporter.event(Event::TaskStart {
            name: "ROLLBACK".to_owned(),
            location: String::new(),
            handler: false,
        });
        let scope = self.templar.scope(vec![Arc::new(Map::new())]);
        for batch in done.iter_mut().rev() {
            for state in batch.iter_mut() {
                let deployed = std::mem::take(&mut state.deployed);
                for release in deployed.iter().rev() {
                    let Some(arguments) = rollback_arguments(&release.release) else {
                        continue;
                    };
                    let context = ModuleContext {
                        session: &state.session,
                        check_mode: self.options.check,
                        diff: false,
                        become_user: release.become_user.clone(),
                        environment: Vec::new(),
                        search_paths: vec![self.base.clone()],
                        templar: &self.templar,
                        scope: &scope,
                    };
                    let outcome = match drover_modules::run("container", &arguments, &context).await
                    {
                        Ok(result) => Outcome {
                            status: if result.failed {
                                Status::Failed
                            } else if result.changed {
                                Status::Changed
                            } else {
                                Status::Ok
                            },
                            result: json!({
                                "changed": result.changed, "failed": result.failed,
                                "msg": result.message.unwrap_or_else(|| format!("rolled back {}", arguments["name"].as_str().unwrap_or_default())),
                                "image": arguments.get("image").cloned().unwrap_or(Json::Null),
                            }),
                            diff: None,
                            item: None,
                        },
                        Err(error) => Outcome {
                            status: Status::Failed,
                            result: json!({"changed": false, "failed": true, "msg": format!("rollback failed: {error}")}),
                            diff: None,
                            item: None,
                        },
                    };
                    // Reported, and counted, without taking the host out again.
                    let was_failed = state.failed;
                    self.record(state, &outcome, None);
                    state.failed = was_failed || outcome.status == Status::Failed;
                }
            }
        }
    }
}

/// The `container` arguments that bring back the release before `release`.
fn rollback_arguments(release: &Json) -> Option<Map<String, Json>> {
    let name = release["app"].as_str()?;
    let runtime = release["current"]["runtime"].as_str().unwrap_or("auto");
    let mut arguments = match release["previous"]["configuration"].as_object() {
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
    Some(arguments)
}

#[cfg(test)]
mod tests {
    use drover_playbook::{Batch, Rollout};
    use serde_json::json;

    use super::{rollback_arguments, rollout_batches};

    fn rollout(strategy: &str, batch: Batch, steps: Vec<Batch>) -> Rollout {
        Rollout {
            strategy: strategy.to_owned(),
            batch,
            steps,
            pause: 0.0,
            readiness: None,
            max_failures: Batch::Count(0),
            on_failure: "rollback".to_owned(),
        }
    }

    #[test]
    fn strategies_make_their_batches() {
        let hosts = [1, 2, 3, 4];
        assert_eq!(
            rollout_batches(&hosts, &rollout("rolling", Batch::Count(1), vec![])),
            vec![vec![1], vec![2], vec![3], vec![4]]
        );
        assert_eq!(
            rollout_batches(&hosts, &rollout("big_bang", Batch::Count(1), vec![])),
            vec![vec![1, 2, 3, 4]]
        );
        let steps = vec![Batch::Count(1), Batch::Percent(25.0), Batch::Percent(100.0)];
        assert_eq!(
            rollout_batches(&hosts, &rollout("canary", Batch::Count(1), steps)),
            vec![vec![1], vec![2, 3, 4]]
        );
        let partial = vec![Batch::Count(1), Batch::Percent(50.0)];
        assert_eq!(
            rollout_batches(&hosts, &rollout("toggle", Batch::Count(1), partial)),
            vec![vec![1], vec![2]]
        );
    }

    #[test]
    fn rollback_brings_back_the_previous_configuration_or_removes() {
        let release = json!({"app": "web", "current": {"runtime": "podman"},
            "previous": {"configuration": {"image": "app:1", "ports": ["80:80"]}}});
        let arguments = rollback_arguments(&release).unwrap();
        assert_eq!(arguments["image"], "app:1");
        assert_eq!(arguments["runtime"], "podman");
        assert_eq!(arguments["pull"], "never");
        let first = json!({"app": "web", "current": {"runtime": "docker"}, "previous": null});
        assert_eq!(rollback_arguments(&first).unwrap()["state"], "absent");
    }
}
