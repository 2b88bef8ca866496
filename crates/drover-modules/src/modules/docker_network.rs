//! `docker_network` (and `podman_network`): a network present (with its
//! driver, subnets, options and labels, and the containers connected to
//! it) or absent, through the docker or podman CLI on the host. As
//! community.docker's module does, a network whose driver, internal flag or
//! subnets differ is made again, and the containers named are connected.

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Dict, List, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::Value as Json;

use super::Module;
use super::docker_volume::{inspect, inspected_pairs, pairs};
use crate::arguments::Arguments;
use crate::remote::change;
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

/// The network the task asks for.
struct Wanted {
    name: String,
    driver: String,
    internal: bool,
    attachable: bool,
    subnets: Vec<(String, Option<String>)>,
    options: Vec<String>,
    labels: Vec<String>,
}

impl Wanted {
    fn read(arguments: &Arguments<'_>) -> Result<Self, Error> {
        Ok(Self {
            name: arguments.required("name")?,
            driver: arguments
                .string("driver")?
                .unwrap_or_else(|| "bridge".to_owned()),
            internal: arguments.boolean("internal", false)?,
            attachable: arguments.boolean("attachable", false)?,
            subnets: wanted_subnets(arguments.raw("ipam_config")),
            options: pairs(arguments.raw("driver_options")),
            labels: pairs(arguments.raw("labels")),
        })
    }

    /// Whether `network` (as inspected) must be made again.
    fn differs(&self, network: &Json) -> bool {
        let driver = network["Driver"].as_str().or(network["driver"].as_str());
        let internal = network["Internal"]
            .as_bool()
            .or(network["internal"].as_bool());
        let subnets: Vec<String> = self
            .subnets
            .iter()
            .map(|(subnet, _)| subnet.clone())
            .collect();
        driver != Some(self.driver.as_str())
            || internal.unwrap_or(false) != self.internal
            || (!subnets.is_empty() && subnets != found_subnets(network))
            || self.labels.iter().any(|label| {
                !inspected_pairs(&network["Labels"]).contains(label)
                    && !inspected_pairs(&network["labels"]).contains(label)
            })
    }

    /// `$rt network create ...` for it.
    fn create(&self, rt: &str) -> String {
        let mut create = format!("$rt network create --driver {}", quote(&self.driver));
        if self.internal {
            create.push_str(" --internal");
        }
        if self.attachable && rt == "docker" {
            create.push_str(" --attachable");
        }
        for (subnet, gateway) in &self.subnets {
            let _ = write!(create, " --subnet {}", quote(subnet));
            if let Some(gateway) = gateway {
                let _ = write!(create, " --gateway {}", quote(gateway));
            }
        }
        for option in &self.options {
            let _ = write!(create, " --opt {}", quote(option));
        }
        for label in &self.labels {
            let _ = write!(create, " --label {}", quote(label));
        }
        let _ = write!(create, " {} >/dev/null", quote(&self.name));
        create
    }
}

/// The names of the containers `network` (as inspected) has attached.
fn attached(network: Option<&Json>) -> Vec<String> {
    network
        .and_then(|network| network["Containers"].as_object())
        .map(|containers| {
            containers
                .values()
                .filter_map(|container| container["Name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) async fn run(
    module: &str,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let wanted = Wanted::read(arguments)?;
    arguments.refuse_unsupported(&["enable_ipv6", "ipam_driver", "appends"])?;
    let present = arguments.present()?;
    let (rt, found) = match inspect(context, module, arguments, ("network", &wanted.name)).await? {
        Ok(found) => found,
        Err(failed) => return Ok(failed),
    };
    let remove = format!("$rt network rm {} >/dev/null", quote(&wanted.name));
    let mut commands = Vec::new();
    match (present, &found) {
        (false, Some(_)) => commands.push(remove),
        (true, None) => commands.push(wanted.create(&rt)),
        (true, Some(network))
            if wanted.differs(network) || arguments.boolean("force", false)? =>
        {
            commands.extend([remove, wanted.create(&rt)]);
        }
        _ => {}
    }
    if present {
        let recreated = !commands.is_empty();
        let attached = attached(found.as_ref());
        for container in arguments.list("connected")? {
            if recreated || !attached.contains(&container) {
                commands.push(format!(
                    "$rt network connect {} {}",
                    quote(&wanted.name),
                    quote(&container)
                ));
            }
        }
    }
    let script = (!commands.is_empty()).then(|| format!("rt={rt}; {}", commands.join(" && ")));
    let result = change(context, script, &format!("{rt} network")).await?;
    Ok(result.with("network", found.unwrap_or_default()))
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
