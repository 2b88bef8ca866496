//! `docker_swarm_service`: one Swarm service present (with its image,
//! replicas, published ports, environment, labels, command, health check,
//! placement, restart, update and rollback settings) or absent, from a
//! manager, with community.docker's argument names. The service is created,
//! or updated in only what differs; then the task waits until Swarm has
//! converged it, and fails, naming Swarm's reason, when Swarm rolled the
//! update back or paused it. A play's `rollout:` of the service sets its
//! update settings and gates its replicas (`crate::swarm_rollout`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Dict, Integer, List, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::{Map, Value as Json, json};

use super::Module;
use crate::arguments::Arguments;
use crate::health::duration;
use crate::swarm::{self, Before, Watch, node_state, require_manager, spec_image};
use crate::swarm_rollout::{Gates, UpdateSettings, rolls_out};
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// A Go duration's nanoseconds, as Swarm keeps them, from `30`, `"30s"`…
fn nanoseconds(value: &Json) -> Option<u64> {
    duration(value).and_then(|duration| u64::try_from(duration.as_nanos()).ok())
}

/// `KEY=VALUE` words of a mapping or a list.
fn words(value: Option<&Json>) -> Vec<String> {
    let mut words: Vec<String> = match value {
        Some(Json::Object(map)) => map
            .iter()
            .map(|(key, value)| format!("{key}={}", drover_template::as_text(value)))
            .collect(),
        Some(Json::Array(items)) => items.iter().map(drover_template::as_text).collect(),
        _ => Vec::new(),
    };
    words.sort();
    words
}

/// `PUBLISHED:TARGET/PROTOCOL/MODE` for each port.
fn ports(value: &Json, published: &str, target: &str, protocol: &str, mode: &str) -> Vec<String> {
    let mut ports: Vec<String> = value
        .as_array()
        .map(|ports| {
            ports
                .iter()
                .map(|port| {
                    format!(
                        "{}:{}/{}/{}",
                        port[published].as_u64().unwrap_or(0),
                        port[target].as_u64().unwrap_or(0),
                        port[protocol].as_str().unwrap_or("tcp"),
                        port[mode].as_str().unwrap_or("ingress")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    ports.sort();
    ports
}

/// One setting the module manages: how the spec holds it, how the task
/// asks for it, and the flags that set it.
struct Setting {
    name: &'static str,
    found: Json,
    wanted: Option<Json>,
    flags: Box<dyn Fn(&Json, &Json) -> String + Send + Sync>,
}

/// A spec's update or rollback settings, from `update_config` names.
fn update_settings(config: &Json) -> Json {
    json!({
        "parallelism": config["Parallelism"].as_u64().unwrap_or(0),
        "delay": config["Delay"].as_u64().unwrap_or(0),
        "failure_action": config["FailureAction"].as_str().unwrap_or("pause"),
        "monitor": config["Monitor"].as_u64().unwrap_or(0),
        "order": config["Order"].as_str().unwrap_or("stop-first"),
    })
}

fn wanted_update_settings(config: &Json, found: &Json) -> Json {
    let mut wanted = found.clone();
    for (key, value) in config.as_object().into_iter().flatten() {
        wanted[key] = match key.as_str() {
            "delay" | "monitor" => json!(nanoseconds(value).unwrap_or(0)),
            "parallelism" => json!(value.as_u64().unwrap_or(1)),
            _ => value.clone(),
        };
    }
    wanted
}

fn update_flags(prefix: &'static str) -> Box<dyn Fn(&Json, &Json) -> String + Send + Sync> {
    Box::new(move |_, wanted| {
        format!(
            " --{prefix}-parallelism {} --{prefix}-delay {}ns --{prefix}-failure-action {} --{prefix}-monitor {}ns --{prefix}-order {}",
            wanted["parallelism"],
            wanted["delay"],
            quote(wanted["failure_action"].as_str().unwrap_or("pause")),
            wanted["monitor"],
            quote(wanted["order"].as_str().unwrap_or("stop-first"))
        )
    })
}

/// Flags that move a list of words from `found` to `wanted`.
fn list_flags(
    add: &'static str,
    remove: &'static str,
    key_only: bool,
) -> Box<dyn Fn(&Json, &Json) -> String + Send + Sync> {
    Box::new(move |found, wanted| {
        let (found, wanted) = (words(Some(found)), words(Some(wanted)));
        let mut flags = String::new();
        for word in found.iter().filter(|word| !wanted.contains(word)) {
            let word = if key_only {
                word.split('=').next().unwrap_or(word)
            } else {
                word
            };
            let _ = write!(flags, " --{remove} {}", quote(word));
        }
        for word in wanted.iter().filter(|word| !found.contains(word)) {
            let _ = write!(flags, " --{add} {}", quote(word));
        }
        flags
    })
}

/// Every setting, as the spec has it and as the task asks.
fn settings(spec: &Json, arguments: &Arguments<'_>) -> Result<Vec<Setting>, Error> {
    let container = &spec["TaskTemplate"]["ContainerSpec"];
    let health = &container["Healthcheck"];
    let raw = |name: &str| {
        arguments
            .raw(name)
            .filter(|value| !value.is_null())
            .cloned()
    };
    let publish = raw("publish").map(|value| {
        let mut listed = Vec::new();
        for port in value.as_array().into_iter().flatten() {
            let mut port = port.clone();
            if port["published_port"].is_string() {
                port["published_port"] = json!(
                    port["published_port"]
                        .as_str()
                        .and_then(|p| p.parse::<u64>().ok())
                );
            }
            listed.push(port);
        }
        json!(ports(
            &Json::Array(listed),
            "published_port",
            "target_port",
            "protocol",
            "mode"
        ))
    });
    let mut all = vec![
        Setting {
            name: "image",
            found: json!(spec_image(spec)),
            wanted: arguments
                .string("image")?
                .map(|image| json!(swarm::plain_image(&image))),
            flags: Box::new(|_, wanted| {
                format!(" --image {}", quote(wanted.as_str().unwrap_or_default()))
            }),
        },
        Setting {
            name: "replicas",
            found: spec["Mode"]["Replicated"]["Replicas"].clone(),
            wanted: arguments
                .number("replicas")?
                .filter(|count| *count >= 0.0)
                .map(|count| json!(count as u64)),
            flags: Box::new(|_, wanted| format!(" --replicas {wanted}")),
        },
        Setting {
            name: "env",
            found: json!(words(Some(&container["Env"]))),
            wanted: raw("env").map(|env| json!(words(Some(&env)))),
            flags: list_flags("env-add", "env-rm", true),
        },
        Setting {
            name: "labels",
            found: json!(words(Some(&spec["Labels"]))),
            wanted: raw("labels").map(|labels| json!(words(Some(&labels)))),
            flags: list_flags("label-add", "label-rm", true),
        },
        Setting {
            name: "container_labels",
            found: json!(words(Some(&container["Labels"]))),
            wanted: raw("container_labels").map(|labels| json!(words(Some(&labels)))),
            flags: list_flags("container-label-add", "container-label-rm", true),
        },
        Setting {
            name: "publish",
            found: json!(ports(
                &spec["EndpointSpec"]["Ports"],
                "PublishedPort",
                "TargetPort",
                "Protocol",
                "PublishMode"
            )),
            wanted: publish,
            flags: Box::new(|found, wanted| {
                let mut flags = String::new();
                for port in found
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|port| !wanted.as_array().is_some_and(|w| w.contains(port)))
                {
                    let text = port.as_str().unwrap_or_default();
                    let published = text.split(':').next().unwrap_or_default();
                    let _ = write!(flags, " --publish-rm {}", quote(published));
                }
                for port in wanted
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|port| !found.as_array().is_some_and(|f| f.contains(port)))
                {
                    let _ = write!(
                        flags,
                        " --publish-add {}",
                        quote(&publish_flag(port.as_str().unwrap_or_default()))
                    );
                }
                flags
            }),
        },
        Setting {
            name: "constraints",
            found: json!(words(Some(
                &spec["TaskTemplate"]["Placement"]["Constraints"]
            ))),
            wanted: raw("placement").map(|placement| json!(words(Some(&placement["constraints"])))),
            flags: list_flags("constraint-add", "constraint-rm", false),
        },
        Setting {
            name: "args",
            found: container["Args"].clone(),
            wanted: raw("args"),
            flags: Box::new(|_, wanted| {
                format!(" --args {}", quote(&words(Some(wanted)).join(" ")))
            }),
        },
        Setting {
            name: "healthcheck",
            found: json!({"test": health["Test"], "interval": health["Interval"].as_u64().unwrap_or(0),
                "timeout": health["Timeout"].as_u64().unwrap_or(0), "retries": health["Retries"].as_u64().unwrap_or(0)}),
            wanted: raw("healthcheck").map(|check| wanted_health(&check)),
            flags: Box::new(|_, wanted| health_flags(wanted)),
        },
    ];
    for (name, field, prefix) in [
        ("update_config", "UpdateConfig", "update"),
        ("rollback_config", "RollbackConfig", "rollback"),
    ] {
        let found = update_settings(&spec[field]);
        all.push(Setting {
            name,
            wanted: raw(name).map(|config| wanted_update_settings(&config, &found)),
            found,
            flags: update_flags(prefix),
        });
    }
    Ok(all)
}

fn setting<'a>(settings: &'a [Setting], name: &str) -> Option<&'a Setting> {
    settings.iter().find(|setting| setting.name == name)
}

/// `PUBLISHED:TARGET/PROTOCOL/MODE` as `--publish` takes it.
fn publish_flag(port: &str) -> String {
    let mut parts = port.split(['/', ':']);
    let (published, target, protocol, mode) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("tcp"),
        parts.next().unwrap_or("ingress"),
    );
    format!("published={published},target={target},protocol={protocol},mode={mode}")
}

/// A `healthcheck` argument as the spec holds one.
fn wanted_health(check: &Json) -> Json {
    // The CLI's `--health-cmd` always makes a shell test: a `CMD` list
    // becomes its words, quoted, in one.
    let test = match &check["test"] {
        Json::String(command) => json!(["CMD-SHELL", command]),
        Json::Array(words) if words.first().and_then(Json::as_str) == Some("CMD") => {
            let words: Vec<String> = words[1..]
                .iter()
                .map(|word| quote(&drover_template::as_text(word)))
                .collect();
            json!(["CMD-SHELL", words.join(" ")])
        }
        other => other.clone(),
    };
    let time = |key: &str| check.get(key).and_then(nanoseconds).unwrap_or(0);
    json!({"test": test, "interval": time("interval"), "timeout": time("timeout"),
        "retries": check["retries"].as_u64().unwrap_or(0)})
}

fn health_flags(wanted: &Json) -> String {
    let test: Vec<String> = wanted["test"]
        .as_array()
        .into_iter()
        .flatten()
        .map(drover_template::as_text)
        .collect();
    let command = match test.split_first() {
        Some((kind, rest)) if kind == "CMD-SHELL" => rest.join(" "),
        Some((kind, rest)) if kind == "CMD" => rest
            .iter()
            .map(|word| quote(word))
            .collect::<Vec<_>>()
            .join(" "),
        _ => return " --no-healthcheck".to_owned(),
    };
    format!(
        " --health-cmd {} --health-interval {}ns --health-timeout {}ns --health-retries {}",
        quote(&command),
        wanted["interval"],
        wanted["timeout"],
        wanted["retries"]
    )
}

/// `docker service create` for a service that does not exist yet.
fn create(name: &str, arguments: &Arguments<'_>, settings: &[Setting]) -> Result<String, Error> {
    let Some(image) = arguments.string("image")? else {
        return Err(Error::Arguments(format!(
            "creating the service {name} needs `image`"
        )));
    };
    let mut command = format!("docker service create --detach --name {}", quote(name));
    if arguments.string("mode")?.as_deref() == Some("global") {
        command.push_str(" --mode global");
    }
    for network in arguments.list("networks")? {
        let _ = write!(command, " --network {}", quote(&network));
    }
    let empty = json!([]);
    for setting in settings
        .iter()
        .filter(|setting| !matches!(setting.name, "image" | "args"))
    {
        if let Some(wanted) = &setting.wanted {
            command.push_str(&create_flags(&(setting.flags)(&empty, wanted)));
        }
    }
    let _ = write!(command, " {}", quote(&image));
    if let Some(args) = setting(settings, "args").and_then(|args| args.wanted.as_ref()) {
        for word in args.as_array().into_iter().flatten() {
            let _ = write!(command, " {}", quote(&drover_template::as_text(word)));
        }
    }
    Ok(command)
}

/// `service update` flags (`--env-add`) as `service create` spells them
/// (`--env`).
fn create_flags(flags: &str) -> String {
    flags
        .replace("--env-add", "--env")
        .replace("--label-add", "--label")
        .replace("--container-label-add", "--container-label")
        .replace("--publish-add", "--publish")
        .replace("--constraint-add", "--constraint")
}

fn describe(settings: &[Setting], which: fn(&Setting) -> Option<&Json>) -> String {
    let mut text = String::new();
    for setting in settings {
        if let Some(value) = which(setting) {
            let _ = writeln!(text, "{}: {value}", setting.name);
        }
    }
    text
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let node = match node_state(context).await? {
        Ok(node) => node,
        Err(failed) => return Ok(failed),
    };
    // Outside any swarm, nothing of it is there to remove.
    if !node.joined() && !arguments.present()? {
        return Ok(ModuleResult::ok());
    }
    if let Some(failed) = require_manager(&node) {
        return Ok(failed);
    }
    let before = swarm::services(context, std::slice::from_ref(&name)).await?;
    let found = before.get(&name);
    if !arguments.present()? {
        let Some(_) = found else {
            return Ok(ModuleResult::ok());
        };
        let command = format!("docker service rm {} >/dev/null", quote(&name));
        return crate::remote::change(context, Some(command), "docker service rm").await;
    }
    let spec = found
        .map(|service| service["Spec"].clone())
        .unwrap_or(Json::Null);
    let mut settings = settings(&spec, arguments)?;
    let rollout = rolls_out(context, &[&name]);
    if let Some(rollout) = rollout {
        let replicas = setting(&settings, "replicas")
            .and_then(|replicas| replicas.wanted.as_ref().unwrap_or(&replicas.found).as_u64())
            .unwrap_or(1);
        let update = UpdateSettings::of(rollout, usize::try_from(replicas).unwrap_or(1));
        if let Some(config) = settings
            .iter_mut()
            .find(|setting| setting.name == "update_config")
        {
            config.wanted = Some(json!({
                "parallelism": update.parallelism,
                "delay": u64::try_from(update.delay.as_nanos()).unwrap_or(0),
                "failure_action": "rollback",
                "order": "stop-first",
                "monitor": config.found["monitor"],
            }));
        }
    }
    let command = if found.is_none() {
        create(&name, arguments, &settings)?
    } else {
        let mut flags = String::new();
        for setting in &settings {
            if let Some(wanted) = setting
                .wanted
                .as_ref()
                .filter(|wanted| **wanted != setting.found)
            {
                flags.push_str(&(setting.flags)(&setting.found, wanted));
            }
        }
        if arguments.boolean("force_update", false)? {
            flags.push_str(" --force");
        }
        if flags.is_empty() {
            return Ok(ModuleResult::ok().with("swarm_service", spec));
        }
        format!("docker service update --detach{flags} {}", quote(&name))
    };
    let diff = Diff {
        before: if found.is_some() {
            describe(&settings, |setting| Some(&setting.found))
        } else {
            String::new()
        },
        after: describe(&settings, |setting| {
            setting.wanted.as_ref().or(Some(&setting.found))
        }),
        before_header: format!("{name} (before)"),
        after_header: format!("{name} (after)"),
    };
    if context.check_mode {
        return Ok(ModuleResult::changed().with_diff(context.diff, diff));
    }
    let old_tasks = swarm::tasks(context, &name).await?;
    let output = context
        .exec(&format!("{command} 2>&1 >/dev/null"), None)
        .await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "`{}` failed: {}",
            command.split(" --").next().unwrap_or(&command),
            String::from_utf8_lossy(&output.stdout).trim()
        )));
    }
    let after = swarm::services(context, std::slice::from_ref(&name)).await?;
    let watch = Watch {
        services: BTreeMap::from([(name.clone(), Before::of(found, after.get(&name)))]),
        timeout: Duration::from_secs(arguments.unsigned("timeout")?.unwrap_or(300)),
        gates: rollout.map(|rollout| {
            Gates::new(
                name.clone(),
                rollout,
                &old_tasks,
                found
                    .map(|service| spec_image(&service["Spec"]))
                    .unwrap_or_default(),
            )
        }),
    };
    let replicas = match swarm::converge(context, watch).await? {
        Ok(replicas) => replicas,
        Err(why) => {
            let image = after
                .get(&name)
                .map(|service| spec_image(&service["Spec"]))
                .unwrap_or_default();
            crate::releases::note_failure(context, &name, &image, &why).await;
            let mut failed = ModuleResult::failed(why);
            failed.changed = true;
            return Ok(failed);
        }
    };
    swarm::record_releases(context, &before, &after).await?;
    let spec = after
        .get(&name)
        .map(|service| service["Spec"].clone())
        .unwrap_or(Json::Null);
    Ok(ModuleResult::changed()
        .with("swarm_service", spec)
        .with(
            "replicas",
            Json::Object(replicas.into_iter().collect::<Map<String, Json>>()),
        )
        .with_diff(context.diff, diff))
}

const DOCKER_SWARM_SERVICE: &[A] = &[
    A::new("name", Text).required(),
    A::new("image", Text),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("mode", Text).choices(&["replicated", "global"]),
    A::new("replicas", Integer),
    A::new("publish", Raw),
    A::new("env", Raw),
    A::new("labels", Dict),
    A::new("container_labels", Dict),
    A::new("args", List),
    A::new("healthcheck", Dict),
    A::new("update_config", Dict),
    A::new("rollback_config", Dict),
    A::new("placement", Dict),
    A::new("networks", List),
    A::new("force_update", Bool),
    A::new("resolve_image", Bool),
    A::new("timeout", Integer),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["docker_swarm_service"],
    &[DOCKER_SWARM_SERVICE],
    run
)];

#[cfg(test)]
mod tests {
    use super::{publish_flag, wanted_health, words};
    use serde_json::json;

    #[test]
    fn settings_are_compared_as_swarm_keeps_them() {
        assert_eq!(words(Some(&json!({"B": 2, "A": "x"}))), ["A=x", "B=2"]);
        assert_eq!(
            publish_flag("8080:80/tcp/host"),
            "published=8080,target=80,protocol=tcp,mode=host"
        );
        let health =
            wanted_health(&json!({"test": "wget -q localhost", "interval": "2s", "retries": 3}));
        assert_eq!(health["test"], json!(["CMD-SHELL", "wget -q localhost"]));
        assert_eq!(health["interval"], 2_000_000_000_u64);
    }
}
