//! Docker Swarm as the swarm modules see it, through the docker CLI on a
//! manager: the node's place in a swarm, services and their tasks, the
//! nodes' addresses, and waiting until services converge, with a play's
//! `rollout:` gating each replica as it comes up (`swarm_rollout.rs`).
//!
//! Swarm runs an update by itself once a service's spec changes; the
//! modules only change specs and then watch. Whatever Swarm decides (a
//! rollback, a pause) is read from the service's `UpdateStatus` and becomes
//! the task's failure, naming the service and Swarm's reason.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use drover_ssh::quote;
use serde_json::{Map, Value as Json, json};

use crate::swarm_rollout::Gates;
use crate::{Error, ModuleContext, ModuleResult};

/// This node's place in a swarm, from `docker info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NodeState {
    /// `inactive`, `pending`, `active`, `error` or `locked`.
    pub(crate) local: String,
    /// Whether the node is a manager.
    pub(crate) manager: bool,
    /// The node's ID in its swarm.
    pub(crate) node_id: String,
    /// The swarm's ID (managers only).
    pub(crate) cluster_id: String,
    /// The managers it knows, as `ADDRESS:PORT`.
    pub(crate) managers: Vec<String>,
}

impl NodeState {
    /// Whether the node is in a swarm.
    pub(crate) fn joined(&self) -> bool {
        self.local == "active" || self.local == "pending" || self.local == "locked"
    }

    fn read(swarm: &Json) -> Self {
        let text = |key: &str| swarm[key].as_str().unwrap_or_default().to_owned();
        Self {
            local: text("LocalNodeState"),
            manager: swarm["ControlAvailable"].as_bool().unwrap_or(false),
            node_id: text("NodeID"),
            cluster_id: swarm["Cluster"]["ID"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            managers: swarm["RemoteManagers"]
                .as_array()
                .map(|managers| {
                    managers
                        .iter()
                        .filter_map(|manager| manager["Addr"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// The node's swarm state; a failed result when the host has no docker
/// engine that answers (podman has no swarm mode).
pub(crate) async fn node_state(
    context: &ModuleContext<'_>,
) -> Result<Result<NodeState, ModuleResult>, Error> {
    let output = context
        .exec_read_only("docker info --format '{{json .Swarm}}' 2>&1")
        .await?;
    let text = String::from_utf8_lossy(&output.stdout);
    match serde_json::from_str::<Json>(text.trim()) {
        Ok(swarm) if output.success() => Ok(Ok(NodeState::read(&swarm))),
        _ => Ok(Err(ModuleResult::failed(format!(
            "docker does not answer on the host (Swarm needs the docker engine): {}",
            text.trim()
        )))),
    }
}

/// Fails with the host's words unless the node manages a swarm.
pub(crate) fn require_manager(state: &NodeState) -> Option<ModuleResult> {
    (!state.manager).then(|| {
        ModuleResult::failed(if state.joined() {
            "this node is a Swarm worker: run the task on a manager (such as `hosts: managers`)"
        } else {
            "this node is not in a swarm: form one first with `docker_swarm: state=present`"
        })
    })
}

/// What a task that acts on a swarm's services finds first: `Some` result
/// to end with when the host is not a manager (`ok` when the task removes
/// something and the host is in no swarm: nothing of it is there).
pub(crate) async fn unless_manager(
    context: &ModuleContext<'_>,
    present: bool,
) -> Result<Option<ModuleResult>, Error> {
    let node = match node_state(context).await? {
        Ok(node) => node,
        Err(failed) => return Ok(Some(failed)),
    };
    if !node.joined() && !present {
        return Ok(Some(ModuleResult::ok()));
    }
    Ok(require_manager(&node))
}

/// Runs a docker command that changes the swarm; `Some` failed result,
/// with docker's words, when it fails.
pub(crate) async fn change_swarm(
    context: &ModuleContext<'_>,
    command: &str,
    what: &str,
) -> Result<Option<ModuleResult>, Error> {
    let output = context.exec(&format!("{command} 2>&1"), None).await?;
    Ok((!output.success()).then(|| {
        ModuleResult::failed(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stdout).trim()
        ))
    }))
}

/// `docker service inspect` of the services named, those that exist.
pub(crate) async fn services(
    context: &ModuleContext<'_>,
    names: &[String],
) -> Result<BTreeMap<String, Json>, Error> {
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    let words: Vec<String> = names.iter().map(|name| quote(name)).collect();
    let output = context
        .exec(
            &format!(
                "for s in {}; do docker service inspect --format '{{{{json .}}}}' \"$s\" 2>/dev/null; done; true",
                words.join(" ")
            ),
            None,
        )
        .await?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Json>(line).ok())
        .filter_map(|service| Some((service["Spec"]["Name"].as_str()?.to_owned(), service)))
        .collect())
}

/// The names of a stack's services.
pub(crate) async fn stack_services(
    context: &ModuleContext<'_>,
    stack: &str,
) -> Result<Vec<String>, Error> {
    let output = context
        .exec(
            &format!(
                "docker service ls --filter label=com.docker.stack.namespace={} --format '{{{{.Name}}}}'",
                quote(stack)
            ),
            None,
        )
        .await?;
    let mut names: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    names.sort();
    Ok(names)
}

/// An image without its digest (`app:2@sha256:…` is `app:2`), as Swarm
/// shows a task's image beside the spec's.
pub(crate) fn plain_image(image: &str) -> &str {
    image.split('@').next().unwrap_or(image)
}

/// The image a service's spec (or its previous spec) runs.
pub(crate) fn spec_image(spec: &Json) -> String {
    plain_image(
        spec["TaskTemplate"]["ContainerSpec"]["Image"]
            .as_str()
            .unwrap_or_default(),
    )
    .to_owned()
}

/// What must change for Swarm to replace a service's tasks: the tasks'
/// template, the ports, the mode. Labels and the update settings alone
/// change the spec and replace nothing.
fn task_shape(spec: &Json) -> Json {
    json!([spec["TaskTemplate"], spec["EndpointSpec"], spec["Mode"]])
}

/// Writes a release record (`drover rollout status`, `undo`) for each
/// service whose image the task changed: the image now, and the one
/// before as the previous release.
pub(crate) async fn record_releases(
    context: &ModuleContext<'_>,
    before: &BTreeMap<String, Json>,
    after: &BTreeMap<String, Json>,
) -> Result<(), Error> {
    for (name, service) in after {
        let image = spec_image(&service["Spec"]);
        let old = before.get(name).map(|service| spec_image(&service["Spec"]));
        if old.as_deref() == Some(image.as_str()) {
            continue;
        }
        let output = context
            .exec(&crate::releases::read_script(name), None)
            .await?;
        let text = String::from_utf8_lossy(&output.stdout);
        let recorded = text
            .trim()
            .strip_prefix("release=")
            .and_then(|record| serde_json::from_str::<Json>(record).ok())
            .filter(|record| record["current"]["swarm"] == true);
        // A service deployed before drover recorded it: what ran is the previous release.
        let earlier = recorded.or_else(|| {
            old.map(|image| json!({"current": {"image": image, "swarm": true, "service": name}}))
        });
        let replicas = service["Spec"]["Mode"]["Replicated"]["Replicas"].clone();
        let current = json!({"image": image, "swarm": true, "service": name, "replicas": replicas});
        let record = crate::releases::record(name, current, earlier.as_ref());
        crate::releases::write(context, name, &record).await?;
    }
    Ok(())
}

/// One of a service's tasks that Swarm wants running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceTask {
    /// The task's ID.
    pub(crate) id: String,
    /// Its slot's name, such as `app_web.2`.
    pub(crate) name: String,
    /// The node's host name.
    pub(crate) node: String,
    /// Its image, without a digest.
    pub(crate) image: String,
    /// Its state's first word, lower case: `running`, `starting`, `failed`…
    pub(crate) state: String,
    /// Swarm's error for it, if any.
    pub(crate) error: String,
}

/// The tasks of `service` that Swarm wants running.
pub(crate) async fn tasks(
    context: &ModuleContext<'_>,
    service: &str,
) -> Result<Vec<ServiceTask>, Error> {
    let output = context
        .exec(
            &format!(
                "docker service ps {} --no-trunc --filter desired-state=running \
                 --format '{{{{.ID}}}}\t{{{{.Name}}}}\t{{{{.Node}}}}\t{{{{.Image}}}}\t{{{{.CurrentState}}}}\t{{{{.Error}}}}'",
                quote(service)
            ),
            None,
        )
        .await?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(parse_task)
        .collect())
}

fn parse_task(line: &str) -> Option<ServiceTask> {
    let mut fields = line.split('\t');
    let mut next = || fields.next().map(str::trim).unwrap_or_default().to_owned();
    let (id, name, node, image, state, error) = (next(), next(), next(), next(), next(), next());
    if id.is_empty() {
        return None;
    }
    Some(ServiceTask {
        id,
        name,
        node,
        image: plain_image(&image).to_owned(),
        state: state
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        error,
    })
}

/// Each node's host name and the address it has in the swarm.
pub(crate) async fn node_addresses(
    context: &ModuleContext<'_>,
) -> Result<BTreeMap<String, String>, Error> {
    let output = context
        .exec(
            "docker node inspect --format '{{.Description.Hostname}} {{.Status.Addr}} \
             {{if .ManagerStatus}}{{.ManagerStatus.Addr}}{{end}}' $(docker node ls -q)",
            None,
        )
        .await?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (host, address) = (words.next()?, words.next()?);
            // A manager listening on every address reports 0.0.0.0 as its
            // own; its manager address is the one others reach.
            let address = match (address, words.next()) {
                ("0.0.0.0", Some(manager)) => {
                    manager.rsplit_once(':').map_or(manager, |(host, _)| host)
                }
                _ => address,
            };
            Some((host.to_owned(), address.to_owned()))
        })
        .collect())
}

/// How many replicas a service wants: its replicated count, or, for a
/// global service, as many as it has tasks.
fn desired(service: &Json, tasks: &[ServiceTask]) -> usize {
    service["Spec"]["Mode"]["Replicated"]["Replicas"]
        .as_u64()
        .and_then(|count| usize::try_from(count).ok())
        .unwrap_or(tasks.len())
}

/// How many of a service's tasks run its spec's image, and how many it wants.
fn running(service: &Json, tasks: &[ServiceTask]) -> (usize, usize) {
    let image = spec_image(&service["Spec"]);
    let running = tasks
        .iter()
        .filter(|task| task.state == "running" && task.image == image)
        .count();
    (running, desired(service, tasks))
}

/// A service as it was before the task changed it, and whether the change
/// makes Swarm replace its tasks: enough to tell whether, and when, Swarm
/// took the change up, and what became of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Before {
    /// Whether the change replaces tasks (an update Swarm runs).
    updates: bool,
    /// When its last update began, before the change.
    update_started: Option<String>,
    /// The image the change asks for.
    image: String,
}

impl Before {
    /// Notes a service as inspected before the change (`before`) and just
    /// after it (`after`), before Swarm could have rolled it back.
    pub(crate) fn of(before: Option<&Json>, after: Option<&Json>) -> Self {
        Self {
            updates: before.zip(after).is_some_and(|(before, after)| {
                task_shape(&before["Spec"]) != task_shape(&after["Spec"])
            }),
            update_started: before.and_then(|service| {
                service["UpdateStatus"]["StartedAt"]
                    .as_str()
                    .map(str::to_owned)
            }),
            image: after
                .map(|service| spec_image(&service["Spec"]))
                .unwrap_or_default(),
        }
    }
}

/// Why the tasks of `image` failed: Swarm's errors for them.
async fn task_errors(
    context: &ModuleContext<'_>,
    service: &str,
    image: &str,
) -> Result<String, Error> {
    let output = context
        .exec(
            &format!(
                "docker service ps {} --no-trunc --format '{{{{.Name}}}}\t{{{{.Node}}}}\t{{{{.Image}}}}\t{{{{.Error}}}}'",
                quote(service)
            ),
            None,
        )
        .await?;
    let errors: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
            let [name, node, task_image, error] = fields[..] else {
                return None;
            };
            (plain_image(task_image) == image && !error.is_empty())
                .then(|| format!("{} on {node}: {error}", name.trim_start_matches("\\_ ")))
        })
        .collect();
    Ok(errors.into_iter().take(3).collect::<Vec<_>>().join("; "))
}

/// What to wait for: services, each with how it was before the change.
pub(crate) struct Watch<'a> {
    /// The services, by name, and how each was before.
    pub(crate) services: BTreeMap<String, Before>,
    /// How long to wait.
    pub(crate) timeout: Duration,
    /// A rollout's gates, when the play rolls one of them out.
    pub(crate) gates: Option<Gates<'a>>,
}

/// A change a task made to services, to see through: how they were, how
/// they are just after it, the rollout's gates, and how long to wait.
pub(crate) struct Change<'a> {
    /// Before, by name.
    pub(crate) before: &'a BTreeMap<String, Json>,
    /// Just after, by name: the services watched.
    pub(crate) after: &'a BTreeMap<String, Json>,
    /// A rollout's gates, when the play rolls one of them out.
    pub(crate) gates: Option<Gates<'a>>,
    /// How long to wait.
    pub(crate) timeout: Duration,
    /// What the task's failure message starts with (such as `stack app: `).
    pub(crate) prefix: String,
}

/// Waits until the changed services converge; then records the releases
/// whose image changed and returns each service's replicas. When they do
/// not converge, notes the failed attempt (for `drover rollout status`)
/// and returns the task's failure, a change.
pub(crate) async fn see_through(
    context: &ModuleContext<'_>,
    change: Change<'_>,
) -> Result<Result<Map<String, Json>, ModuleResult>, Error> {
    let rolled_out = change.gates.as_ref().map(|gates| gates.service.clone());
    let watch = Watch {
        services: change
            .after
            .keys()
            .map(|name| {
                (
                    name.clone(),
                    Before::of(change.before.get(name), change.after.get(name)),
                )
            })
            .collect(),
        timeout: change.timeout,
        gates: change.gates,
    };
    match converge(context, watch).await? {
        Ok(replicas) => {
            record_releases(context, change.before, change.after).await?;
            Ok(Ok(replicas))
        }
        Err(why) => {
            // The attempt is noted under the service rolled out, or the only one.
            let subject = rolled_out.or_else(|| {
                (change.after.len() == 1)
                    .then(|| change.after.keys().next().cloned())
                    .flatten()
            });
            if let Some(subject) = subject {
                let image = change
                    .after
                    .get(&subject)
                    .map(|service| spec_image(&service["Spec"]));
                crate::releases::note_failure(context, &subject, &image.unwrap_or_default(), &why)
                    .await;
            }
            let mut failed = ModuleResult::failed(format!("{}{why}", change.prefix));
            failed.changed = true;
            Ok(Err(failed))
        }
    }
}

/// How one service stands.
enum Standing {
    Converged(String),
    Waiting(String),
    Failed(String),
}

/// Waits until every watched service runs all its replicas on its spec and
/// Swarm has finished updating it. Returns each service's `RUNNING/WANTED`,
/// or why it did not converge (Swarm rolled it back or paused it, a gate
/// failed, or the time ran out).
pub(crate) async fn converge(
    context: &ModuleContext<'_>,
    mut watch: Watch<'_>,
) -> Result<Result<Map<String, Json>, String>, Error> {
    let deadline = tokio::time::Instant::now() + watch.timeout;
    let names: Vec<String> = watch.services.keys().cloned().collect();
    let began = tokio::time::Instant::now();
    let mut reasons: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let found = services(context, &names).await?;
        let mut replicas = Map::new();
        let mut waiting = Vec::new();
        for (name, before) in &watch.services {
            let Some(service) = found.get(name) else {
                return Ok(Err(format!("the service {name} is gone")));
            };
            let tasks = tasks(context, name).await?;
            if let Some(gates) = watch.gates.as_mut().filter(|gates| gates.service == *name)
                && let Some(failure) = gates.check(context, service, &tasks).await?
            {
                return Ok(Err(failure));
            }
            if service["UpdateStatus"]["State"] == "rollback_started"
                && let Some(message) = service["UpdateStatus"]["Message"].as_str()
            {
                reasons.insert(name.clone(), message.to_owned());
            }
            let reason = reasons.get(name).map(String::as_str);
            match standing(name, service, &tasks, before, (began.elapsed(), reason)) {
                Standing::Converged(count) => {
                    replicas.insert(name.clone(), Json::from(count));
                }
                Standing::Waiting(why) => waiting.push(why),
                Standing::Failed(why) => {
                    let errors = task_errors(context, name, &before.image).await?;
                    if errors.is_empty() {
                        return Ok(Err(why));
                    }
                    return Ok(Err(format!("{why}; {errors}")));
                }
            }
        }
        if waiting.is_empty() {
            return Ok(Ok(replicas));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Err(format!(
                "the services did not converge in {}s: {}",
                watch.timeout.as_secs(),
                waiting.join("; ")
            )));
        }
        // Swarm's reason for a rollback shows only while it starts: look often.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether `service` has converged, is still moving, or Swarm gave up on
/// its update (once a rollback has brought the replicas back). `since`
/// is how long the watch has run: a change Swarm has not taken up after a
/// while needed no new tasks. `reason` is what Swarm said while it
/// started rolling back (its message ends as "rollback completed").
fn standing(
    name: &str,
    service: &Json,
    tasks: &[ServiceTask],
    before: &Before,
    (since, reason): (Duration, Option<&str>),
) -> Standing {
    let status = &service["UpdateStatus"];
    let state = status["State"].as_str().unwrap_or_default();
    let started = status["StartedAt"].as_str();
    let taken_up = started.is_some() && started != before.update_started.as_deref();
    let reason = match reason.or(status["Message"].as_str()) {
        Some("rollback completed") | None => {
            "a replaced task failed, was unhealthy or ended early (Swarm's words: rollback completed)"
        }
        Some(reason) => reason,
    };
    let image = spec_image(&service["Spec"]);
    let (running, wanted) = running(service, tasks);
    let count = format!("{running}/{wanted}");
    let converged = running >= wanted && tasks.iter().all(|task| task.image == image);
    if before.updates && taken_up {
        match state {
            "paused" => {
                return Standing::Failed(format!("Swarm paused the update of {name}: {reason}"));
            }
            "rollback_paused" => {
                return Standing::Failed(format!("Swarm paused rolling back {name}: {reason}"));
            }
            "rollback_completed" if converged => {
                return Standing::Failed(format!(
                    "Swarm rolled back the update of {name} to {image} ({count} running): {reason}"
                ));
            }
            "updating" | "rollback_started" | "rollback_completed" => {
                return Standing::Waiting(format!("{name} is {}", state.replace('_', " ")));
            }
            _ => {}
        }
    } else if before.updates && since < Duration::from_secs(10) {
        return Standing::Waiting(format!("{name}: waiting for Swarm to take up the change"));
    }
    if converged {
        return Standing::Converged(count);
    }
    let errors: BTreeSet<&str> = tasks
        .iter()
        .map(|task| task.error.as_str())
        .filter(|error| !error.is_empty())
        .collect();
    let errors: Vec<&str> = errors.into_iter().collect();
    Standing::Waiting(if errors.is_empty() {
        format!("{name} runs {count}")
    } else {
        format!("{name} runs {count} ({})", errors.join(", "))
    })
}

/// Waits until a rollback of `name` has finished and its replicas run the
/// spec it went back to; returns whether it did in `timeout`.
pub(crate) async fn rolled_back(
    context: &ModuleContext<'_>,
    name: &str,
    timeout: Duration,
) -> Result<bool, Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    let names = [name.to_owned()];
    loop {
        if let Some(service) = services(context, &names).await?.get(name) {
            let state = service["UpdateStatus"]["State"]
                .as_str()
                .unwrap_or_default();
            let (running, wanted) = running(service, &tasks(context, name).await?);
            if state == "rollback_completed" && running >= wanted {
                return Ok(true);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::{Before, Standing, parse_task, standing};
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn tasks_are_read_from_service_ps() {
        let task =
            parse_task("abc\tapp_web.2\tdv-2\tdrover/app:2@sha256:ff\tRunning 3 seconds ago\t")
                .expect("a task");
        assert_eq!(
            (
                task.name.as_str(),
                task.node.as_str(),
                task.image.as_str(),
                task.state.as_str()
            ),
            ("app_web.2", "dv-2", "drover/app:2", "running")
        );
        assert!(parse_task("").is_none());
    }

    fn service(image: &str, state: &str, started: &str) -> serde_json::Value {
        json!({
            "Spec": {"TaskTemplate": {"ContainerSpec": {"Image": image}}, "Mode": {"Replicated": {"Replicas": 1}}},
            "UpdateStatus": {"State": state, "StartedAt": started, "Message": "update rolled back"},
        })
    }

    #[test]
    fn an_update_swarm_rolled_back_fails_naming_the_service_and_the_reason() {
        let before = Before::of(
            Some(&service("app:1", "completed", "t0")),
            Some(&service("app:2", "completed", "t0")),
        );
        let task = parse_task("a\tweb.1\tn1\tapp:1\tRunning now\t").expect("a task");
        let rolled_back = service("app:1", "rollback_completed", "t1");
        match standing(
            "web",
            &rolled_back,
            std::slice::from_ref(&task),
            &before,
            (Duration::ZERO, Some("update rolled back due to failure")),
        ) {
            Standing::Failed(why) => {
                assert!(why.contains("rolled back the update of web"), "{why}");
                assert!(why.contains("update rolled back"), "{why}");
            }
            _ => panic!("a rolled back update fails"),
        }
        // An old rollback that this run did not cause is not a failure.
        let unchanged = service("app:1", "rollback_completed", "t0");
        let before = Before::of(Some(&unchanged), Some(&unchanged));
        assert!(matches!(
            standing("web", &unchanged, &[task], &before, (Duration::ZERO, None)),
            Standing::Converged(count) if count == "1/1"
        ));
    }
}
