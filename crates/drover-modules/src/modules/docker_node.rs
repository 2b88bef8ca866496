//! `docker_node`: a Swarm node's labels, availability (`active`, `pause`,
//! `drain`) and role, set from a manager as community.docker's module
//! does. Only what differs is changed. Draining waits until Swarm has
//! moved the node's tasks away, so the next task sees them elsewhere.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Dict, List, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::Value as Json;

use super::Module;
use crate::arguments::Arguments;
use std::time::Duration;

use crate::swarm::{Before, Watch, change_swarm, converge, node_state, require_manager};
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// What the module sets on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeSpec {
    labels: BTreeMap<String, String>,
    availability: String,
    role: String,
}

impl NodeSpec {
    /// The node's, from its inspected spec.
    fn found(spec: &Json) -> Self {
        Self {
            labels: spec["Labels"]
                .as_object()
                .map(|labels| {
                    labels
                        .iter()
                        .map(|(key, value)| {
                            (key.clone(), value.as_str().unwrap_or_default().to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default(),
            availability: spec["Availability"].as_str().unwrap_or_default().to_owned(),
            role: spec["Role"].as_str().unwrap_or_default().to_owned(),
        }
    }

    /// What the task asks, given what the node has.
    fn wanted(&self, arguments: &Arguments<'_>) -> Result<Self, Error> {
        let given: BTreeMap<String, String> = arguments
            .raw("labels")
            .and_then(Json::as_object)
            .map(|labels| {
                labels
                    .iter()
                    .map(|(key, value)| (key.clone(), drover_template::as_text(value)))
                    .collect()
            })
            .unwrap_or_default();
        let replace = arguments.string("labels_state")?.as_deref() == Some("replace");
        let mut labels = if replace {
            BTreeMap::new()
        } else {
            self.labels.clone()
        };
        labels.extend(given);
        for key in arguments.list("labels_to_remove")? {
            labels.remove(&key);
        }
        Ok(Self {
            labels,
            availability: arguments
                .string("availability")?
                .unwrap_or_else(|| self.availability.clone()),
            role: arguments
                .string("role")?
                .unwrap_or_else(|| self.role.clone()),
        })
    }

    /// `docker node update` flags from this to `wanted`.
    fn flags(&self, wanted: &Self) -> String {
        let mut flags = String::new();
        for key in self
            .labels
            .keys()
            .filter(|key| !wanted.labels.contains_key(*key))
        {
            let _ = write!(flags, " --label-rm {}", quote(key));
        }
        for (key, value) in wanted
            .labels
            .iter()
            .filter(|(key, value)| self.labels.get(*key) != Some(value))
        {
            let _ = write!(flags, " --label-add {}", quote(&format!("{key}={value}")));
        }
        if wanted.availability != self.availability {
            let _ = write!(flags, " --availability {}", quote(&wanted.availability));
        }
        if wanted.role != self.role {
            let _ = write!(flags, " --role {}", quote(&wanted.role));
        }
        flags
    }

    /// One line each, for a diff.
    fn describe(&self) -> String {
        let mut text = format!("availability: {}\nrole: {}\n", self.availability, self.role);
        for (key, value) in &self.labels {
            let _ = writeln!(text, "label {key}={value}");
        }
        text
    }

    fn to_json(&self) -> Json {
        serde_json::json!({"Labels": self.labels, "Availability": self.availability, "Role": self.role})
    }
}

/// The services with tasks on `node`: draining moves them elsewhere.
async fn services_on(context: &ModuleContext<'_>, node: &str) -> Result<Vec<String>, Error> {
    let listed = context
        .exec(
            &format!(
                "docker node ps {} --filter desired-state=running --format '{{{{.Name}}}}'",
                quote(node)
            ),
            None,
        )
        .await?;
    let mut services: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|task| task.rsplit_once('.').map(|(service, _)| service.to_owned()))
        .collect();
    services.sort();
    services.dedup();
    Ok(services)
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let hostname = arguments.required("hostname")?;
    let manager = match node_state(context).await? {
        Ok(state) => state,
        Err(failed) => return Ok(failed),
    };
    if let Some(failed) = require_manager(&manager) {
        return Ok(failed);
    }
    let node = quote(&hostname);
    let output = context
        .exec(
            &format!("docker node inspect --format '{{{{json .Spec}}}}' {node} 2>&1"),
            None,
        )
        .await?;
    let text = String::from_utf8_lossy(&output.stdout);
    let Ok(spec) = serde_json::from_str::<Json>(text.trim()) else {
        return Ok(ModuleResult::failed(format!(
            "no node {hostname} in the swarm: {}",
            text.trim()
        )));
    };
    let found = NodeSpec::found(&spec);
    let wanted = found.wanted(arguments)?;
    let flags = found.flags(&wanted);
    if flags.is_empty() {
        return Ok(ModuleResult::ok().with("node", wanted.to_json()));
    }
    let diff = Diff {
        before: found.describe(),
        after: wanted.describe(),
        before_header: format!("{hostname} (before)"),
        after_header: format!("{hostname} (after)"),
    };
    let changed = ModuleResult::changed()
        .with("node", wanted.to_json())
        .with_diff(context.diff, diff);
    if context.check_mode {
        return Ok(changed);
    }
    let moving = services_on(context, &hostname).await?;
    let update = format!("docker node update{flags} {node}");
    let what = format!("docker node update {hostname}");
    if let Some(failed) = change_swarm(context, &update, &what).await? {
        return Ok(failed);
    }
    if wanted.availability == "drain" && found.availability != "drain" {
        return drained(context, &hostname, &moving, changed).await;
    }
    Ok(changed)
}

/// After draining: waits until the node runs nothing and the services
/// that ran there run all their replicas elsewhere.
async fn drained(
    context: &ModuleContext<'_>,
    hostname: &str,
    moving: &[String],
    changed: ModuleResult,
) -> Result<ModuleResult, Error> {
    let wait = format!(
        "i=0; while [ -n \"$(docker node ps {} --filter desired-state=running -q)\" ]; do \
         i=$((i+1)); [ $i -lt 240 ] || exit 1; sleep 0.5; done",
        quote(hostname)
    );
    if !context.exec(&wait, None).await?.success() {
        return Ok(ModuleResult::failed(format!(
            "{hostname} is drained, but Swarm still runs tasks on it after 120s"
        )));
    }
    let watch = Watch {
        services: moving
            .iter()
            .map(|name| (name.clone(), Before::default()))
            .collect(),
        timeout: Duration::from_mins(2),
        gates: None,
    };
    match converge(context, watch).await? {
        Ok(replicas) => Ok(changed.with("replicas", Json::Object(replicas))),
        Err(why) => Ok(ModuleResult {
            changed: true,
            ..ModuleResult::failed(format!(
                "{hostname} is drained, but its tasks found no other place: {why}"
            ))
        }),
    }
}

const DOCKER_NODE: &[A] = &[
    A::new("hostname", Text).required(),
    A::new("labels", Dict),
    A::new("labels_state", Text).choices(&["merge", "replace"]),
    A::new("labels_to_remove", List),
    A::new("availability", Text).choices(&["active", "pause", "drain"]),
    A::new("role", Text).choices(&["manager", "worker"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["docker_node"], &[DOCKER_NODE], run)];
