//! `docker_swarm`: a Docker Swarm formed (`present`: this node initialises
//! it and manages it), joined (`join`, as a worker or a manager by the
//! token given), left (`absent`), or a node removed from it (`remote`, on
//! a manager), as community.docker's module does. A node already where it
//! should be is left alone; the join tokens come back as
//! `swarm_facts.JoinTokens` for the other nodes' `join`.

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, List, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::{Value as Json, json};

use super::Module;
use crate::arguments::Arguments;
use crate::swarm::{NodeState, node_state};
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// `ADDRESS:PORT`, with Swarm's port 2377 when none is given.
fn with_port(address: &str) -> String {
    if address
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
    {
        address.to_owned()
    } else {
        format!("{address}:2377")
    }
}

/// `--advertise-addr`, `--listen-addr` and `--data-path-addr`, as given.
fn address_flags(arguments: &Arguments<'_>) -> Result<String, Error> {
    let mut addresses = String::new();
    for (flag, name) in [
        ("--advertise-addr", "advertise_addr"),
        ("--listen-addr", "listen_addr"),
        ("--data-path-addr", "data_path_addr"),
    ] {
        if let Some(value) = arguments.string(name)? {
            let _ = write!(addresses, " {flag} {}", quote(&value));
        }
    }
    Ok(addresses)
}

/// `docker swarm init`, for a node in no swarm.
fn init(arguments: &Arguments<'_>) -> Result<String, Error> {
    let mut init = format!("docker swarm init{}", address_flags(arguments)?);
    for pool in arguments.list("default_addr_pool")? {
        let _ = write!(init, " --default-addr-pool {}", quote(&pool));
    }
    if let Some(size) = arguments.unsigned("subnet_size")? {
        let _ = write!(init, " --default-addr-pool-mask-length {size}");
    }
    Ok(init)
}

/// `docker swarm join`, unless the node is in the swarm of `remote_addrs`
/// already; a failed result when it is in another one.
fn join(
    node: &NodeState,
    arguments: &Arguments<'_>,
) -> Result<Result<Option<String>, ModuleResult>, Error> {
    let remotes: Vec<String> = arguments
        .list("remote_addrs")?
        .iter()
        .map(|address| with_port(address))
        .collect();
    let Some(first) = remotes.first() else {
        return Err(Error::Arguments(
            "`state: join` needs `remote_addrs`".to_owned(),
        ));
    };
    if node.joined() {
        if node
            .managers
            .iter()
            .any(|manager| remotes.contains(manager))
        {
            return Ok(Ok(None));
        }
        return Ok(Err(ModuleResult::failed(format!(
            "this node is in another swarm (its managers: {}); leave it first (`state: absent`)",
            node.managers.join(", ")
        ))));
    }
    let token = arguments.required("join_token")?;
    Ok(Ok(Some(format!(
        "docker swarm join --token {}{} {}",
        quote(&token),
        address_flags(arguments)?,
        quote(first)
    ))))
}

/// The command that brings the node to `state`, when it is not there;
/// a failed result when it cannot get there from where it is.
fn plan(
    state: &str,
    node: &NodeState,
    arguments: &Arguments<'_>,
) -> Result<Result<Option<String>, ModuleResult>, Error> {
    Ok(Ok(match state {
        "present" if node.manager => None,
        "present" if node.joined() => {
            return Ok(Err(ModuleResult::failed(
                "this node is a worker in a swarm; leave it first (`state: absent`) to form a new one",
            )));
        }
        "present" => Some(init(arguments)?),
        "join" => return join(node, arguments),
        "absent" if node.joined() => Some(format!(
            "docker swarm leave{}",
            if arguments.boolean("force", false)? {
                " --force"
            } else {
                ""
            }
        )),
        "remote" => {
            let id = arguments.required("node_id")?;
            Some(format!(
                "if docker node inspect {id} >/dev/null 2>&1; then docker node rm --force {id}; else exit 3; fi",
                id = quote(&id)
            ))
        }
        _ => None,
    }))
}

/// A command as the result names it: without the join token, a secret.
fn action(command: &str) -> String {
    command
        .split(" --token")
        .next()
        .unwrap_or(command)
        .to_owned()
}

fn describe(node: &NodeState) -> String {
    match (node.joined(), node.manager) {
        (false, _) => "not in a swarm\n".to_owned(),
        (true, true) => format!("manager {} of swarm {}\n", node.node_id, node.cluster_id),
        (true, false) => format!(
            "worker {} (managers {})\n",
            node.node_id,
            node.managers.join(", ")
        ),
    }
}

/// The swarm's facts on a manager: its ID and join tokens.
async fn facts(context: &ModuleContext<'_>, node: &NodeState) -> Result<Json, Error> {
    if !node.manager {
        return Ok(json!({}));
    }
    let output = context
        .exec(
            "docker swarm join-token -q worker && docker swarm join-token -q manager",
            None,
        )
        .await?;
    let tokens = if output.success() {
        String::from_utf8_lossy(&output.stdout).into_owned()
    } else {
        String::new()
    };
    let mut tokens = tokens.lines();
    Ok(json!({
        "ID": node.cluster_id,
        "JoinTokens": {"Worker": tokens.next().unwrap_or_default(), "Manager": tokens.next().unwrap_or_default()},
    }))
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    arguments.refuse_unsupported(&[
        "autolock_managers",
        "rotate_worker_token",
        "rotate_manager_token",
        "signing_ca_cert",
        "signing_ca_key",
        "ca_force_rotate",
        "labels",
    ])?;
    let state = arguments
        .string("state")?
        .unwrap_or_else(|| "present".to_owned());
    let before = match node_state(context).await? {
        Ok(node) => node,
        Err(failed) => return Ok(failed),
    };
    if state == "remote" && !before.manager {
        return Ok(ModuleResult::failed(
            "`state: remote` removes a node from a swarm: run it on a manager",
        ));
    }
    let command = match plan(&state, &before, arguments)? {
        Ok(command) => command,
        Err(failed) => return Ok(failed),
    };
    let Some(command) = command else {
        return Ok(ModuleResult::ok()
            .with("swarm_facts", facts(context, &before).await?)
            .with("actions", Json::Array(Vec::new())));
    };
    if context.check_mode {
        return Ok(ModuleResult::changed().with("actions", json!([action(&command)])));
    }
    let output = context.exec(&format!("{command} 2>&1"), None).await?;
    if state == "remote" && output.exit_status == Some(3) {
        return Ok(ModuleResult::ok().with("actions", Json::Array(Vec::new())));
    }
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "`{}` failed: {}",
            action(&command),
            String::from_utf8_lossy(&output.stdout).trim()
        )));
    }
    finish(context, &before, &command).await
}

/// After the change: the node's place in the swarm now, the swarm's
/// facts, and the action taken (without the join token, a secret).
async fn finish(
    context: &ModuleContext<'_>,
    before: &NodeState,
    command: &str,
) -> Result<ModuleResult, Error> {
    let after = match node_state(context).await? {
        Ok(node) => node,
        Err(failed) => return Ok(failed),
    };
    let diff = Diff {
        before: describe(before),
        after: describe(&after),
        before_header: "swarm (before)".to_owned(),
        after_header: "swarm (after)".to_owned(),
    };
    Ok(ModuleResult::changed()
        .with("swarm_facts", facts(context, &after).await?)
        .with("actions", json!([action(command)]))
        .with_diff(context.diff, diff))
}

const DOCKER_SWARM: &[A] = &[
    A::new("state", Text).choices(&["present", "join", "absent", "remote"]),
    A::new("advertise_addr", Text),
    A::new("listen_addr", Text),
    A::new("data_path_addr", Text),
    A::new("remote_addrs", List),
    A::new("join_token", Text),
    A::new("force", Bool),
    A::new("node_id", Text),
    A::new("default_addr_pool", List),
    A::new("subnet_size", Text),
    A::new("autolock_managers", Bool),
    A::new("rotate_worker_token", Bool),
    A::new("rotate_manager_token", Bool),
    A::new("signing_ca_cert", Text),
    A::new("signing_ca_key", Text),
    A::new("ca_force_rotate", Text),
    A::new("labels", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["docker_swarm"], &[DOCKER_SWARM], run)];

#[cfg(test)]
mod tests {
    use super::with_port;

    #[test]
    fn a_manager_address_gets_swarms_port_when_it_has_none() {
        assert_eq!(with_port("10.0.0.1"), "10.0.0.1:2377");
        assert_eq!(with_port("10.0.0.1:4000"), "10.0.0.1:4000");
    }
}
