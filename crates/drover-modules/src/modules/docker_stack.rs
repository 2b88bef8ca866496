//! `docker_stack`: a compose file deployed as a Swarm stack from a manager
//! (`docker stack deploy`, with `prune`), or removed, as community.docker's
//! module does; then, unlike it, the task waits until every service runs
//! all its replicas and Swarm has finished updating it, and reports each
//! service's replicas. An update that Swarm rolled back or paused fails the
//! task, naming the service and Swarm's reason.
//!
//! The compose files are paths on the host or mappings (`compose`), or
//! files on the controller (`src`, found as `copy` finds its source, and
//! checked when the playbook loads: see `drover_playbook::stack_file`).
//! A play's `rollout:` of one of the stack's services sets that service's
//! update settings and gates its replicas (`crate::swarm_rollout`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, List, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::{Map, Value as Json};

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, PathState, write_file};
use crate::swarm::{self, Change, spec_image};
use crate::swarm_rollout::{Gates, UpdateSettings, rolls_out};
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// Where drover keeps a stack's compose files on the host.
const STACKS: &str = "/var/lib/drover/stacks";

/// The compose files of the task: their paths on the host, once written
/// there, and their text (for the services' names).
struct Files {
    paths: Vec<String>,
    texts: Vec<String>,
}

/// One compose file: where it is (or goes) on the host, its text, and
/// whether drover writes it there.
struct ComposeFile {
    path: String,
    text: String,
    write: bool,
}

/// Reads `compose` and `src` into files on the host, in the order given
/// (written there unless in check mode, when only their text is needed).
async fn compose_files(
    stack: &str,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<Result<Files, ModuleResult>, Error> {
    let directory = format!("{STACKS}/{stack}");
    let mut files = Files {
        paths: Vec::new(),
        texts: Vec::new(),
    };
    let mut entries: Vec<ComposeFile> = Vec::new();
    let compose = arguments.raw("compose").map(listed).unwrap_or_default();
    for (index, entry) in compose.into_iter().enumerate() {
        match entry {
            Json::String(path) => {
                let text = context.exec(&format!("cat {}", quote(&path)), None).await?;
                if !text.success() {
                    return Ok(Err(ModuleResult::failed(format!(
                        "cannot read the compose file {path} on the host"
                    ))));
                }
                let text = String::from_utf8_lossy(&text.stdout).into_owned();
                entries.push(ComposeFile {
                    path,
                    text,
                    write: false,
                });
            }
            // JSON is YAML: the mapping is written as it is.
            mapping @ Json::Object(_) => {
                entries.push(ComposeFile {
                    path: format!("{directory}/inline-{index}.yml"),
                    text: mapping.to_string(),
                    write: true,
                });
            }
            other => {
                return Err(Error::Arguments(format!(
                    "`compose` takes paths on the host and mappings, not {other}"
                )));
            }
        }
    }
    match controller_files(&directory, arguments, context)? {
        Ok(sources) => entries.extend(sources),
        Err(failed) => return Ok(Err(failed)),
    }
    if entries.is_empty() {
        return Err(Error::Arguments(
            "`docker_stack` needs `compose` or `src`".to_owned(),
        ));
    }
    for entry in entries {
        if entry.write && !context.check_mode {
            write_private(context, &directory, &entry.path, &entry.text).await?;
        }
        files.paths.push(entry.path);
        files.texts.push(entry.text);
    }
    Ok(Ok(files))
}

/// The `src` files, read on the controller, each to be written into
/// `directory` on the host.
fn controller_files(
    directory: &str,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<Result<Vec<ComposeFile>, ModuleResult>, Error> {
    let mut files = Vec::new();
    for source in arguments.list("src")? {
        let Some(found) = context.find_file(&source, "files") else {
            return Ok(Err(ModuleResult::failed(format!(
                "the stack file `{source}` does not exist on the controller"
            ))));
        };
        let text = std::fs::read_to_string(&found).map_err(|error| {
            Error::Arguments(format!("cannot read `{}`: {error}", found.display()))
        })?;
        let name = found.file_name().map_or_else(
            || "stack.yml".into(),
            |name| name.to_string_lossy().into_owned(),
        );
        let path = format!("{directory}/{name}");
        files.push(ComposeFile {
            path,
            text,
            write: true,
        });
    }
    Ok(Ok(files))
}

fn listed(value: &Json) -> Vec<Json> {
    match value {
        Json::Array(items) => items.clone(),
        Json::Null => Vec::new(),
        single => vec![single.clone()],
    }
}

async fn write_private(
    context: &ModuleContext<'_>,
    directory: &str,
    path: &str,
    text: &str,
) -> Result<(), Error> {
    context
        .exec(
            &format!(
                "mkdir -p {} && chmod 700 {}",
                quote(directory),
                quote(directory)
            ),
            None,
        )
        .await?;
    let attributes = Attributes {
        mode: Some(0o600),
        ..Attributes::default()
    };
    write_file(
        context,
        path,
        bytes::Bytes::from(text.to_owned()),
        &attributes,
        &PathState::absent(),
        false,
    )
    .await?;
    Ok(())
}

/// The services the compose texts define: their keys, and each one's
/// image and replicas when given.
fn compose_services(texts: &[String]) -> BTreeMap<String, (Option<String>, Option<u64>)> {
    let mut services = BTreeMap::new();
    for text in texts {
        let Ok(tree) = drover_inventory::yaml_tree::parse(text, std::path::Path::new("compose"))
        else {
            continue;
        };
        let json = tree.to_json();
        let Some(defined) = json["services"].as_object() else {
            continue;
        };
        for (key, service) in defined {
            let entry: &mut (Option<String>, Option<u64>) =
                services.entry(key.clone()).or_default();
            if let Some(image) = service["image"].as_str() {
                entry.0 = Some(image.to_owned());
            }
            if let Some(replicas) = service["deploy"]["replicas"].as_u64() {
                entry.1 = Some(replicas);
            }
        }
    }
    services
}

/// `SERVICE image replicas` lines, for a diff.
fn describe(services: &BTreeMap<String, Json>) -> String {
    let mut text = String::new();
    for (name, service) in services {
        let replicas = service["Spec"]["Mode"]["Replicated"]["Replicas"]
            .as_u64()
            .map_or_else(|| "global".to_owned(), |count| format!("replicas={count}"));
        let _ = writeln!(text, "{name} {} {replicas}", spec_image(&service["Spec"]));
    }
    text
}

/// The play's rollout of one of this stack's services, if any: its full
/// name, its compose key, and the rollout.
fn rollout_here<'a>(
    context: &'a ModuleContext<'_>,
    stack: &str,
    services: &BTreeMap<String, (Option<String>, Option<u64>)>,
) -> Option<(String, String, &'a drover_playbook::Rollout)> {
    services.keys().find_map(|key| {
        let full = format!("{stack}_{key}");
        rolls_out(context, &[&full, key]).map(|rollout| (full, key.clone(), rollout))
    })
}

/// `docker stack deploy` of the files, with the task's options.
fn deploy_command(stack: &str, arguments: &Arguments<'_>, files: &Files) -> Result<String, Error> {
    let resolve = arguments
        .string("resolve_image")?
        .unwrap_or_else(|| "always".to_owned());
    let mut deploy = format!("docker stack deploy --resolve-image {}", quote(&resolve));
    if arguments.boolean("prune", false)? {
        deploy.push_str(" --prune");
    }
    if arguments.boolean("with_registry_auth", false)? {
        deploy.push_str(" --with-registry-auth");
    }
    for path in &files.paths {
        let _ = write!(deploy, " -c {}", quote(path));
    }
    let _ = write!(deploy, " {}", quote(stack));
    Ok(deploy)
}

/// For the service a play rolls out: a last compose file with the
/// rollout's update settings (deployed after the others, so it wins), and
/// the service's tasks before the deploy (not the rollout's to gate).
async fn prepare_rollout(
    context: &ModuleContext<'_>,
    stack: &str,
    (full, key, rollout): (&str, &str, &drover_playbook::Rollout),
    defined: &BTreeMap<String, (Option<String>, Option<u64>)>,
    files: &mut Files,
) -> Result<Vec<swarm::ServiceTask>, Error> {
    let replicas = defined
        .get(key)
        .and_then(|(_, replicas)| *replicas)
        .unwrap_or(1);
    let settings = UpdateSettings::of(rollout, usize::try_from(replicas).unwrap_or(1));
    let directory = format!("{STACKS}/{stack}");
    let path = format!("{directory}/drover-rollout.yml");
    write_private(context, &directory, &path, &settings.compose_override(key)).await?;
    files.paths.push(path);
    swarm::tasks(context, full).await
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let stack = arguments.required("name")?;
    if let Some(ended) = swarm::unless_manager(context, arguments.present()?).await? {
        return Ok(ended);
    }
    let names = swarm::stack_services(context, &stack).await?;
    let before = swarm::services(context, &names).await?;
    if !arguments.present()? {
        return remove(&stack, &before, arguments, context).await;
    }
    let mut files = match compose_files(&stack, arguments, context).await? {
        Ok(files) => files,
        Err(failed) => return Ok(failed),
    };
    let defined = compose_services(&files.texts);
    if context.check_mode {
        return Ok(would_change(&stack, &before, &defined));
    }
    let rollout = rollout_here(context, &stack, &defined);
    let mut gates = None;
    if let Some((full, key, rollout)) = &rollout {
        let old_tasks =
            prepare_rollout(context, &stack, (full, key, rollout), &defined, &mut files).await?;
        let previous = before.get(full).map(|service| spec_image(&service["Spec"]));
        gates = Some(Gates::new(
            full.clone(),
            rollout,
            &old_tasks,
            previous.unwrap_or_default(),
        ));
    }
    let deploy = deploy_command(&stack, arguments, &files)?;
    let what = format!("docker stack deploy {stack}");
    if let Some(failed) = swarm::change_swarm(context, &deploy, &what).await? {
        return Ok(failed);
    }
    finish(context, arguments, &stack, (&names, &before), gates).await
}

/// After the deploy: whether a service was added, removed or changed, and,
/// unless `wait: no`, the services seen through to convergence.
async fn finish(
    context: &ModuleContext<'_>,
    arguments: &Arguments<'_>,
    stack: &str,
    (names, before): (&[String], &BTreeMap<String, Json>),
    gates: Option<Gates<'_>>,
) -> Result<ModuleResult, Error> {
    let now_names = swarm::stack_services(context, stack).await?;
    let after = swarm::services(context, &now_names).await?;
    let changed = now_names != names
        || after.iter().any(|(name, service)| {
            before
                .get(name)
                .is_none_or(|old| old["Spec"] != service["Spec"])
        });
    let diff = Diff {
        before: describe(before),
        after: describe(&after),
        before_header: format!("stack {stack} (before)"),
        after_header: format!("stack {stack} (after)"),
    };
    let replicas = if arguments.boolean("wait", true)? {
        let change = Change {
            before,
            after: &after,
            gates,
            timeout: Duration::from_secs(arguments.unsigned("timeout")?.unwrap_or(300)),
            prefix: format!("stack {stack}: "),
        };
        match swarm::see_through(context, change).await? {
            Ok(replicas) => replicas,
            Err(failed) => return Ok(failed),
        }
    } else {
        swarm::record_releases(context, before, &after).await?;
        Map::new()
    };
    Ok(ModuleResult {
        changed,
        ..ModuleResult::ok()
    }
    .with("replicas", Json::Object(replicas))
    .with("services", Json::from(now_names))
    .with_diff(context.diff && changed, diff))
}

/// In check mode: whether the compose files would add a service, or change
/// one's image or replicas. (Other differences show only when deployed:
/// Swarm alone turns a compose file into a spec.)
fn would_change(
    stack: &str,
    before: &BTreeMap<String, Json>,
    defined: &BTreeMap<String, (Option<String>, Option<u64>)>,
) -> ModuleResult {
    let changed = defined.iter().any(|(key, (image, replicas))| {
        let Some(service) = before.get(&format!("{stack}_{key}")) else {
            return true;
        };
        let spec = &service["Spec"];
        image
            .as_deref()
            .is_some_and(|image| swarm::plain_image(image) != spec_image(spec))
            || replicas
                .is_some_and(|count| spec["Mode"]["Replicated"]["Replicas"].as_u64() != Some(count))
    });
    ModuleResult {
        changed,
        ..ModuleResult::ok()
    }
}

/// `state: absent`: the stack removed, and gone before the task ends.
async fn remove(
    stack: &str,
    before: &BTreeMap<String, Json>,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    if before.is_empty() {
        return Ok(ModuleResult::ok());
    }
    if context.check_mode {
        return Ok(ModuleResult::changed());
    }
    let retries = arguments.unsigned("absent_retries")?.unwrap_or(60);
    let interval = arguments.unsigned("absent_retries_interval")?.unwrap_or(1);
    let script = format!(
        "docker stack rm {name} >/dev/null && i=0; \
         while [ -n \"$(docker service ls -q --filter label=com.docker.stack.namespace={name})\" ] || \
               [ -n \"$(docker network ls -q --filter label=com.docker.stack.namespace={name})\" ]; do \
           i=$((i+1)); [ $i -le {retries} ] || {{ echo 'the stack is still there'; exit 1; }}; sleep {interval}; done",
        name = quote(stack)
    );
    let output = context.exec(&script, None).await?;
    if output.success() {
        Ok(ModuleResult::changed())
    } else {
        Ok(ModuleResult::failed(format!(
            "docker stack rm {stack} failed: {}{}",
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

const DOCKER_STACK: &[A] = &[
    A::new("name", Text).required(),
    A::new("compose", Raw),
    A::new("src", List),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("prune", Bool),
    A::new("with_registry_auth", Bool),
    A::new("resolve_image", Text).choices(&["always", "changed", "never"]),
    A::new("absent_retries", Integer),
    A::new("absent_retries_interval", Integer),
    A::new("wait", Bool),
    A::new("timeout", Integer),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["docker_stack"], &[DOCKER_STACK], run)];

#[cfg(test)]
mod tests {
    use super::compose_services;

    #[test]
    fn services_are_read_from_every_compose_file_the_later_winning() {
        let services = compose_services(&[
            "services:\n  web:\n    image: app:1\n    deploy: {replicas: 3}\n  db:\n    image: pg:16\n".to_owned(),
            "services:\n  web:\n    image: app:2\n".to_owned(),
        ]);
        assert_eq!(services["web"], (Some("app:2".to_owned()), Some(3)));
        assert_eq!(services["db"], (Some("pg:16".to_owned()), None));
    }
}
