//! `add_host`: adds a host to the run's inventory, for the plays that
//! follow. It touches no host: it returns what to add (`add_host`), and the
//! engine adds it, as Ansible's strategy does.

use drover_playbook::catalog::{
    ArgumentKind::{List, String as Text},
    ArgumentSpec as A,
};
use serde_json::{Map, Value as Json, json};

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// The names under which `add_host` takes the host and its groups.
const HOST_NAMES: [&str; 3] = ["name", "host", "hostname"];
const GROUP_NAMES: [&str; 3] = ["groups", "group", "groupname"];

/// `add_host`: a host (`name`, with an optional `:port`), its groups, and
/// every other argument as one of its variables.
// The registry's signature: every module may fail on its arguments.
#[allow(clippy::unnecessary_wraps)]
fn run(arguments: &Arguments<'_>, _: &ModuleContext<'_>) -> Result<ModuleResult, Error> {
    let all = arguments.all();
    let Some(name) = HOST_NAMES
        .iter()
        .find_map(|key| all.get(*key))
        .map(drover_template::as_text)
    else {
        return Ok(ModuleResult::failed("add_host needs `name`"));
    };
    let mut host_vars: Map<String, Json> = all
        .iter()
        .filter(|(key, _)| {
            !HOST_NAMES.contains(&key.as_str()) && !GROUP_NAMES.contains(&key.as_str())
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    // `web1:2222` is the host `web1` on port 2222.
    let (name, port) = match name.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => {
            (host.to_owned(), port.parse::<u16>().ok())
        }
        _ => (name, None),
    };
    if let Some(port) = port {
        host_vars.insert("ansible_port".to_owned(), json!(port));
    }
    let groups: Vec<String> = GROUP_NAMES
        .iter()
        .find_map(|key| all.get(*key))
        .map(names)
        .unwrap_or_default();
    Ok(ModuleResult::changed().with(
        "add_host",
        json!({"host_name": name, "groups": groups, "host_vars": host_vars}),
    ))
}

/// A list of names, or one string of comma-separated names.
pub(crate) fn names(value: &Json) -> Vec<String> {
    match value {
        Json::Array(items) => items.iter().map(drover_template::as_text).collect(),
        other => drover_template::as_text(other)
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

const ADD_HOST: &[A] = &[
    A::new("name", Text).aliases(&["host", "hostname"]),
    A::new("groups", List).aliases(&["group", "groupname"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[module!(&["add_host"], &[ADD_HOST], sync run).any_arguments()];
