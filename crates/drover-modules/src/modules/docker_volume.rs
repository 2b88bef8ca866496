//! `docker_volume` (and `podman_volume`): a named volume present (with its
//! driver, options and labels) or absent, through the docker or podman CLI
//! on the host, as community.docker's module leaves it: a volume whose
//! driver, options or labels differ is made again only with
//! `recreate: options-changed` (or `always`).

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Dict, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::{Map, Value as Json};

use super::Module;
use super::container::{choose_runtime, requested_runtime};
use crate::arguments::Arguments;
use crate::remote::change;
use crate::{Error, ModuleContext, ModuleResult};

/// `KEY=VALUE` words of a mapping argument, sorted.
pub(crate) fn pairs(value: Option<&Json>) -> Vec<String> {
    let mut pairs: Vec<String> = value
        .and_then(Json::as_object)
        .map(|map| {
            map.iter()
                .map(|(key, value)| {
                    let value = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned);
                    format!("{key}={value}")
                })
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    pairs
}

/// The `KEY=VALUE` words of an inspected object's mapping, sorted.
pub(crate) fn inspected_pairs(value: &Json) -> Vec<String> {
    pairs(Some(value).filter(|value| value.is_object()))
}

/// The engine the host has, and what it says of the `kind` (`volume`,
/// `network`) called `name`, when there is one; the failed result when the
/// host has neither docker nor podman.
pub(crate) async fn inspect(
    context: &ModuleContext<'_>,
    module: &str,
    arguments: &Arguments<'_>,
    (kind, name): (&str, &str),
) -> Result<Result<(String, Option<Json>), ModuleResult>, Error> {
    let script = format!(
        "{}\n$rt {kind} inspect {} 2>/dev/null || true",
        choose_runtime(&requested_runtime(module, arguments)?),
        quote(name)
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
        return Ok(Err(ModuleResult::failed(
            "neither docker nor podman is installed on the host",
        )));
    }
    let found = serde_json::from_str::<Json>(rest)
        .ok()
        .and_then(|json| json.as_array()?.first().cloned());
    Ok(Ok((rt, found)))
}

pub(crate) async fn run(
    module: &str,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("volume_name")?;
    let present = arguments.present()?;
    let driver = arguments
        .string("driver")?
        .unwrap_or_else(|| "local".to_owned());
    let options = pairs(arguments.raw("driver_options"));
    let labels = pairs(arguments.raw("labels"));
    let (rt, found) = match inspect(context, module, arguments, ("volume", &name)).await? {
        Ok(found) => found,
        Err(failed) => return Ok(failed),
    };
    let found: Option<Map<String, Json>> = found.and_then(|json| json.as_object().cloned());
    let differs = found.as_ref().is_some_and(|volume| {
        volume["Driver"].as_str() != Some(driver.as_str())
            || (!options.is_empty() && inspected_pairs(&volume["Options"]) != options)
            || labels
                .iter()
                .any(|label| !inspected_pairs(&volume["Labels"]).contains(label))
    });
    let recreate = arguments
        .string("recreate")?
        .unwrap_or_else(|| "never".to_owned());
    let mut commands = Vec::new();
    let remove = format!("{rt} volume rm {}", quote(&name));
    let mut create = format!("{rt} volume create --driver {}", quote(&driver));
    for option in &options {
        let _ = write!(create, " --opt {}", quote(option));
    }
    for label in &labels {
        let _ = write!(create, " --label {}", quote(label));
    }
    let _ = write!(create, " {} >/dev/null", quote(&name));
    match (present, &found) {
        (false, Some(_)) => commands.push(remove),
        (true, None) => commands.push(create),
        (true, Some(_)) if recreate == "always" || (differs && recreate == "options-changed") => {
            commands.extend([remove, create]);
        }
        _ => {}
    }
    let script = (!commands.is_empty()).then(|| commands.join(" && "));
    let result = change(context, script, &format!("{rt} volume")).await?;
    Ok(result.with("volume", found.map(Json::Object).unwrap_or_default()))
}

const DOCKER_VOLUME: &[A] = &[
    A::new("volume_name", Text).aliases(&["name"]).required(),
    A::new("driver", Text),
    A::new("driver_options", Dict),
    A::new("labels", Dict),
    A::new("recreate", Text).choices(&["always", "never", "options-changed"]),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("runtime", Text).choices(&["docker", "podman", "auto"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["docker_volume", "podman_volume"],
    &[DOCKER_VOLUME],
    named run
)];
