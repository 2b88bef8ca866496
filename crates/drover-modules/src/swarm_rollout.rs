//! A play's `rollout:` on a Swarm service (`rollout: {service: NAME, …}`):
//! the service's update runs as one Swarm update whose settings drover
//! chooses, and drover gates each new replica as it comes up.
//!
//! - `rolling` updates `batch` replicas at a time; `canary` one at a time,
//!   so the first new replica is the canary and passes its gate before the
//!   next one starts.
//! - Swarm waits between batches for as long as the readiness check can
//!   take (plus the rollout's `pause`): the gate of one batch ends before
//!   the next batch begins.
//! - Tasks are replaced stop-first (a port published in host mode admits
//!   one task per node), so at most `batch` replicas are down at once.
//! - A replica that fails its gate (more than `max_failures` of them) makes
//!   drover roll the service back with `docker service rollback`; Swarm's
//!   own failures (a task that dies or fails its health check) roll it back
//!   too (`failure_action: rollback`).
//!
//! It is one update, not one per batch, so that a rollback returns to the
//! exact spec the service had before the play: Swarm keeps one previous
//! spec, and a second update would replace it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use drover_playbook::{Rollout, Strategy};
use drover_ssh::quote;
use serde_json::{Value as Json, json};

use crate::health::HealthSpec;
use crate::swarm::{ServiceTask, node_addresses, spec_image};
use crate::{Error, ModuleContext};

/// The update settings a rollout gives Swarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpdateSettings {
    /// Replicas replaced at once.
    pub(crate) parallelism: usize,
    /// The wait after each batch: the gate's time and the pause.
    pub(crate) delay: Duration,
}

impl UpdateSettings {
    /// The settings for `rollout` on a service of `replicas` replicas.
    pub(crate) fn of(rollout: &Rollout, replicas: usize) -> Self {
        let parallelism = match rollout.strategy {
            Strategy::Canary => 1,
            _ => rollout.batch.of(replicas).max(1),
        };
        let gate = rollout
            .readiness
            .as_ref()
            .and_then(|check| HealthSpec::parse(check).ok())
            .map_or(Duration::ZERO, |spec| longest(&spec));
        Self {
            parallelism,
            delay: gate + Duration::from_secs_f64(rollout.pause.max(0.0)) + Duration::from_secs(2),
        }
    }

    /// A compose file that sets these on one service of a stack, deployed
    /// after the stack's own files so that it wins.
    pub(crate) fn compose_override(&self, service: &str) -> String {
        let body = json!({
            "version": "3.8",
            "services": {service: {"deploy": {"update_config": {
                "parallelism": self.parallelism,
                "delay": format!("{}ms", self.delay.as_millis()),
                "failure_action": "rollback",
                "order": "stop-first",
            }}}},
        });
        // JSON is YAML.
        body.to_string()
    }
}

/// The longest a health check can take before it decides.
fn longest(spec: &HealthSpec) -> Duration {
    let probe = spec.period.max(spec.timeout);
    spec.initial_delay + probe * (spec.success_threshold + spec.failure_threshold)
}

/// Whether the play rolls out `service` (a service's full name, or a
/// stack's service key, which becomes `STACK_KEY`).
pub(crate) fn rolls_out<'a>(context: &'a ModuleContext<'_>, names: &[&str]) -> Option<&'a Rollout> {
    context.service_rollout.as_deref().filter(|rollout| {
        names
            .iter()
            .any(|name| rollout.service.as_deref() == Some(*name))
    })
}

/// The readiness gates of one service's rollout: each new replica, once
/// running, is checked from the manager at its node's address.
pub(crate) struct Gates<'a> {
    /// The service's full name.
    pub(crate) service: String,
    rollout: &'a Rollout,
    /// Tasks that ran before the change: not the rollout's to check.
    old_tasks: BTreeSet<String>,
    /// Tasks checked already.
    checked: BTreeSet<String>,
    /// Replicas that failed, described.
    failed: Vec<String>,
    /// The image the service ran before.
    previous: String,
    addresses: BTreeMap<String, String>,
}

impl<'a> Gates<'a> {
    /// Gates for `service`, which ran `old_tasks` on `previous` before.
    pub(crate) fn new(
        service: String,
        rollout: &'a Rollout,
        old_tasks: &[ServiceTask],
        previous: String,
    ) -> Self {
        Self {
            service,
            rollout,
            old_tasks: old_tasks.iter().map(|task| task.id.clone()).collect(),
            checked: BTreeSet::new(),
            failed: Vec::new(),
            previous,
            addresses: BTreeMap::new(),
        }
    }

    /// Checks every new replica that runs and has not been checked. When
    /// more fail than `max_failures` allows, rolls the service back and
    /// returns why.
    pub(crate) async fn check(
        &mut self,
        context: &ModuleContext<'_>,
        service: &Json,
        tasks: &[ServiceTask],
    ) -> Result<Option<String>, Error> {
        let image = spec_image(&service["Spec"]);
        let fresh: Vec<&ServiceTask> = tasks
            .iter()
            .filter(|task| task.state == "running" && task.image == image)
            .filter(|task| !self.old_tasks.contains(&task.id) && !self.checked.contains(&task.id))
            .collect();
        let Some(readiness) = &self.rollout.readiness else {
            return Ok(None);
        };
        for task in fresh {
            self.checked.insert(task.id.clone());
            if !self.addresses.contains_key(&task.node) {
                self.addresses = node_addresses(context).await?;
            }
            if let Some(failure) = self.gate(context, readiness, task).await? {
                self.failed.push(failure);
            }
        }
        let replicas = service["Spec"]["Mode"]["Replicated"]["Replicas"]
            .as_u64()
            .and_then(|count| usize::try_from(count).ok())
            .unwrap_or(tasks.len());
        if self.failed.len() <= self.rollout.max_failures.of(replicas) {
            return Ok(None);
        }
        let rolled_back = self.roll_back(context).await?;
        Ok(Some(format!("{}; {rolled_back}", self.failed.join("; "))))
    }

    /// Checks one replica; returns why it failed, if it did.
    async fn gate(
        &self,
        context: &ModuleContext<'_>,
        readiness: &Json,
        task: &ServiceTask,
    ) -> Result<Option<String>, Error> {
        let address = self.addresses.get(&task.node).cloned().unwrap_or_default();
        let mut replica = drover_template::Vars::new();
        replica.insert(
            "replica".to_owned(),
            json!({"name": task.name, "node": task.node, "address": address, "task": task.id}),
        );
        let scope = context.scope.with_layer(Arc::new(replica));
        let where_ = format!("replica {} on {} ({address})", task.name, task.node);
        let spec = context
            .templar
            .render(readiness, &scope)
            .map_err(|error| error.to_string())
            .and_then(|rendered| HealthSpec::parse(&rendered).map_err(|error| error.to_string()));
        let spec = match spec {
            Ok(spec) => spec,
            Err(error) => return Ok(Some(format!("readiness of {where_}: {error}"))),
        };
        let request = context.request("", None);
        let outcome = spec.run(context.session, &request).await?;
        Ok((!outcome.healthy).then(|| {
            format!(
                "readiness failed on {where_}: {} ({})",
                spec.describe(),
                if outcome.last.is_empty() {
                    "no answer"
                } else {
                    &outcome.last
                }
            )
        }))
    }

    /// `docker service rollback`, then waits for Swarm to finish it;
    /// returns what became of the service.
    async fn roll_back(&self, context: &ModuleContext<'_>) -> Result<String, Error> {
        let service = quote(&self.service);
        let started = context
            .exec(
                &format!("docker service rollback --detach {service} 2>&1"),
                None,
            )
            .await?;
        if !started.success() {
            return Ok(format!(
                "rolling {} back failed: {}",
                self.service,
                String::from_utf8_lossy(&started.stdout).trim()
            ));
        }
        let settled =
            crate::swarm::rolled_back(context, &self.service, Duration::from_mins(5)).await?;
        Ok(if settled {
            format!("{} was rolled back to {}", self.service, self.previous)
        } else {
            format!(
                "{} is rolling back to {} (not finished after 300s)",
                self.service, self.previous
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::UpdateSettings;
    use std::time::Duration;

    fn rollout(text: &str) -> drover_playbook::Rollout {
        drover_playbook::parse_rollout(&serde_json::from_str(text).expect("JSON"))
            .expect("a rollout")
    }

    #[test]
    fn a_canary_goes_one_replica_at_a_time_and_swarm_waits_for_each_gate() {
        let canary = rollout(
            r#"{"service": "web", "strategy": "canary", "pause": 3,
                "readiness": {"http": {"url": "http://x/"}, "period": 1, "timeout": 1, "failure_threshold": 3}}"#,
        );
        let settings = UpdateSettings::of(&canary, 10);
        assert_eq!(settings.parallelism, 1);
        // 4 probes of 1 s (1 success, 3 failures), the pause, and a margin.
        assert_eq!(settings.delay, Duration::from_secs(4 + 3 + 2));
        let rolling = rollout(r#"{"service": "web", "strategy": "rolling", "batch": "50%"}"#);
        assert_eq!(UpdateSettings::of(&rolling, 10).parallelism, 5);
        let text = UpdateSettings::of(&rolling, 10).compose_override("web");
        assert!(text.contains(r#""parallelism":5"#), "{text}");
    }
}
