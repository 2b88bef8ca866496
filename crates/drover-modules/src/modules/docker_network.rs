//! `docker_network` (and `podman_network`): a network present (with its
//! driver, subnets, options and labels, and the containers connected to
//! it) or absent, through the docker or podman CLI on the host. As
//! community.docker's module does, a network whose driver, internal flag or
//! subnets differ is made again, and the containers named are connected.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Dict, List, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::Value as Json;

use super::Module;
use super::container::{choose_runtime, requested_runtime};
use super::docker_volume::{inspected_pairs, pairs};
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// The subnets (and gateways) `ipam_config` asks for: `SUBNET GATEWAY`.
fn wanted_subnets(value: Option<&Json>) -> Vec<(String, Option<String>)> {
    value
        .and_then(Json::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|entry| {
                    Some((
                        entry["subnet"].as_str()?.to_owned(),
                        entry["gateway"].as_str().map(str::to_owned),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The subnets an inspected network has.
fn found_subnets(network: &Json) -> Vec<String> {
    let config = &network["IPAM"]["Config"];
    let podman = &network["subnets"];
    let entries = config
        .as_array()
        .or(podman.as_array())
        .cloned()
        .unwrap_or_default();
    entries
        .iter()
        .filter_map(|entry| {
            entry["Subnet"]
                .as_str()
                .or(entry["subnet"].as_str())
                .map(str::to_owned)
        })
        .collect()
}

pub(crate) async fn run(
    module: &str,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let present = arguments.present()?;
    let driver = arguments
        .string("driver")?
        .unwrap_or_else(|| "bridge".to_owned());
    let internal = arguments.boolean("internal", false)?;
    let subnets = wanted_subnets(arguments.raw("ipam_config"));
    let options = pairs(arguments.raw("driver_options"));
    let labels = pairs(arguments.raw("labels"));
    let connected = arguments.list("connected")?;
    let script = format!(
        "{}\n$rt network inspect {} 2>/dev/null || true",
        choose_runtime(&requested_runtime(module, arguments)?),
        quote(&name)
    );
    let output = context.exec_read_only(&script).await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (first, rest) = stdout.split_once('\n').unwrap_or((&stdout, ""));
    let rt = first
        .strip_prefix("runtime=")
        .unwrap_or_default()
        .trim()
        .to_owned();
    if rt.is_empty() || rt == "none" {
        return Ok(ModuleResult::failed(
            "neither docker nor podman is installed on the host",
        ));
    }
    let found: Option<Json> = serde_json::from_str::<Json>(rest)
        .ok()
        .and_then(|json| json.as_array()?.first().cloned());
    let differs = found.as_ref().is_some_and(|network| {
        let found_driver = network["Driver"].as_str().or(network["driver"].as_str());
        let found_internal = network["Internal"]
            .as_bool()
            .or(network["internal"].as_bool());
        found_driver != Some(driver.as_str())
            || found_internal.unwrap_or(false) != internal
            || (!subnets.is_empty()
                && subnets
                    .iter()
                    .map(|(subnet, _)| subnet.clone())
                    .collect::<Vec<_>>()
                    != found_subnets(network))
            || labels.iter().any(|label| {
                !inspected_pairs(&network["Labels"]).contains(label)
                    && !inspected_pairs(&network["labels"]).contains(label)
            })
    });
    let mut commands = Vec::new();
    let remove = format!("$rt network rm {} >/dev/null", quote(&name));
    let mut create = format!("$rt network create --driver {}", quote(&driver));
    if internal {
        create.push_str(" --internal");
    }
    if arguments.boolean("attachable", false)? && rt == "docker" {
        create.push_str(" --attachable");
    }
    for (subnet, gateway) in &subnets {
        create.push_str(&format!(" --subnet {}", quote(subnet)));
        if let Some(gateway) = gateway {
            create.push_str(&format!(" --gateway {}", quote(gateway)));
        }
    }
    for option in &options {
        create.push_str(&format!(" --opt {}", quote(option)));
    }
    for label in &labels {
        create.push_str(&format!(" --label {}", quote(label)));
    }
    create.push_str(&format!(" {} >/dev/null", quote(&name)));
    match (present, &found) {
        (false, Some(_)) => commands.push(remove),
        (true, None) => commands.push(create.clone()),
        (true, Some(_)) if differs || arguments.boolean("force", false)? => {
            commands.extend([remove, create.clone()]);
        }
        _ => {}
    }
    if present {
        let attached: Vec<String> = found
            .as_ref()
            .and_then(|network| network["Containers"].as_object())
            .map(|containers| {
                containers
                    .values()
                    .filter_map(|container| container["Name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let recreated = commands
            .iter()
            .any(|command| command.contains("network create"));
        for container in &connected {
            if recreated || !attached.contains(container) {
                commands.push(format!(
                    "$rt network connect {} {}",
                    quote(&name),
                    quote(container)
                ));
            }
        }
    }
    if commands.is_empty() {
        return Ok(ModuleResult::ok().with("network", found.unwrap_or_default()));
    }
    if context.check_mode {
        return Ok(ModuleResult::changed());
    }
    let output = context
        .exec(&format!("rt={rt}; {}", commands.join(" && ")), None)
        .await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "{rt} network failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(ModuleResult::changed())
}

const DOCKER_NETWORK: &[A] = &[
    A::new("name", Text).aliases(&["network_name"]).required(),
    A::new("driver", Text),
    A::new("driver_options", Dict),
    A::new("ipam_config", Raw),
    A::new("ipam_driver", Text),
    A::new("internal", Bool),
    A::new("attachable", Bool),
    A::new("enable_ipv6", Bool),
    A::new("labels", Dict),
    A::new("connected", List).aliases(&["containers"]),
    A::new("appends", Bool).aliases(&["incremental"]),
    A::new("force", Bool),
    A::new("scope", Text),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("runtime", Text).choices(&["docker", "podman", "auto"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["docker_network", "podman_network"],
    &[DOCKER_NETWORK],
    named run
)];

#[cfg(test)]
mod tests {
    use super::{found_subnets, wanted_subnets};
    use serde_json::json;

    #[test]
    fn subnets_are_read_from_docker_and_podman_alike() {
        let wanted = wanted_subnets(Some(
            &json!([{"subnet": "172.30.0.0/16", "gateway": "172.30.0.1"}]),
        ));
        assert_eq!(
            wanted,
            [("172.30.0.0/16".to_owned(), Some("172.30.0.1".to_owned()))]
        );
        assert_eq!(
            found_subnets(&json!({"IPAM": {"Config": [{"Subnet": "172.30.0.0/16"}]}})),
            ["172.30.0.0/16"]
        );
        assert_eq!(
            found_subnets(&json!({"subnets": [{"subnet": "10.89.0.0/24"}]})),
            ["10.89.0.0/24"]
        );
    }
}
