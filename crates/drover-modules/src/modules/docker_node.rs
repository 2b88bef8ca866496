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

use crate::swarm::{Before, Watch, converge, node_state, require_manager};
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// The node's labels, availability and role, one per line, for a diff.
fn describe(labels: &BTreeMap<String, String>, availability: &str, role: &str) -> String {
    let mut text = format!("availability: {availability}\nrole: {role}\n");
    for (key, value) in labels {
        let _ = writeln!(text, "label {key}={value}");
    }
    text
}

fn labels_of(spec: &Json) -> BTreeMap<String, String> {
    spec["Labels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The labels the task asks for, given the node's.
fn wanted_labels(
    arguments: &Arguments<'_>,
    found: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Error> {
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
        found.clone()
    };
    if arguments.raw("labels").is_some() || replace {
        labels.extend(given);
    }
    for key in arguments.list("labels_to_remove")? {
        labels.remove(&key);
    }
    Ok(labels)
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
    let labels = labels_of(&spec);
    let availability = spec["Availability"].as_str().unwrap_or_default().to_owned();
    let role = spec["Role"].as_str().unwrap_or_default().to_owned();
    let wanted = wanted_labels(arguments, &labels)?;
    let wanted_availability = arguments
        .string("availability")?
        .unwrap_or_else(|| availability.clone());
    let wanted_role = arguments.string("role")?.unwrap_or_else(|| role.clone());
    let mut flags = String::new();
    for key in labels.keys().filter(|key| !wanted.contains_key(*key)) {
        let _ = write!(flags, " --label-rm {}", quote(key));
    }
    for (key, value) in wanted
        .iter()
        .filter(|(key, value)| labels.get(*key) != Some(value))
    {
        let _ = write!(flags, " --label-add {}", quote(&format!("{key}={value}")));
    }
    if wanted_availability != availability {
        let _ = write!(flags, " --availability {}", quote(&wanted_availability));
    }
    if wanted_role != role {
        let _ = write!(flags, " --role {}", quote(&wanted_role));
    }
    let node_facts = serde_json::json!({"Labels": wanted, "Availability": wanted_availability, "Role": wanted_role});
    if flags.is_empty() {
        return Ok(ModuleResult::ok().with("node", node_facts));
    }
    let diff = Diff {
        before: describe(&labels, &availability, &role),
        after: describe(&wanted, &wanted_availability, &wanted_role),
        before_header: format!("{hostname} (before)"),
        after_header: format!("{hostname} (after)"),
    };
    let changed = ModuleResult::changed()
        .with("node", node_facts)
        .with_diff(context.diff, diff);
    if context.check_mode {
        return Ok(changed);
    }
    // The services with tasks on the node: draining moves them elsewhere.
    let listed = context
        .exec(
            &format!(
                "docker node ps {node} --filter desired-state=running --format '{{{{.Name}}}}'"
            ),
            None,
        )
        .await?;
    let mut moving: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|task| task.rsplit_once('.').map(|(service, _)| service.to_owned()))
        .collect();
    moving.sort();
    moving.dedup();
    let output = context
        .exec(
            &format!("docker node update{flags} {node} >/dev/null"),
            None,
        )
        .await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "docker node update {hostname} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    if wanted_availability == "drain" && availability != "drain" {
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
        timeout: Duration::from_secs(120),
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
