//! `docker_swarm_service`: one Swarm service present (with its image,
//! replicas, published ports, environment, labels, command, health check,
//! placement, restart, update and rollback settings) or absent, from a
//! manager, with community.docker's argument names. The service is created,
//! or updated in only what differs; then the task waits until Swarm has
//! converged it, and fails, naming Swarm's reason, when Swarm rolled the
//! update back or paused it. A play's `rollout:` of the service sets its
//! update settings and gates its replicas (`crate::swarm_rollout`).

use std::fmt::Write as _;
use std::time::Duration;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Dict, Integer, List, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::{Value as Json, json};

use super::Module;
use crate::arguments::Arguments;
use crate::health::duration;
use crate::swarm::{self, Change, spec_image};
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

/// The flags that take a setting from what the spec has (first) to what
/// the task asks (second).
type Flags = Box<dyn Fn(&Json, &Json) -> String + Send + Sync>;

/// One setting the module manages: how the spec holds it, how the task
/// asks for it, and the flags that set it.
struct Setting {
    name: &'static str,
    found: Json,
    wanted: Option<Json>,
    flags: Flags,
}

impl Setting {
    fn new(name: &'static str, found: Json, wanted: Option<Json>, flags: Flags) -> Self {
        Self {
            name,
            found,
            wanted,
            flags,
        }
    }
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

fn update_flags(prefix: &'static str) -> Flags {
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
fn list_flags(add: &'static str, remove: &'static str, key_only: bool) -> Flags {
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

/// `--publish-rm` and `--publish-add` flags between two port lists.
fn publish_flags() -> Flags {
    Box::new(|found, wanted| {
        let listed = |ports: &Json| -> Vec<String> {
            ports
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|port| port.as_str().map(str::to_owned))
                .collect()
        };
        let (found, wanted) = (listed(found), listed(wanted));
        let mut flags = String::new();
        for port in found.iter().filter(|port| !wanted.contains(port)) {
            let published = port.split(':').next().unwrap_or_default();
            let _ = write!(flags, " --publish-rm {}", quote(published));
        }
        for port in wanted.iter().filter(|port| !found.contains(port)) {
            let _ = write!(flags, " --publish-add {}", quote(&publish_flag(port)));
        }
        flags
    })
}

/// The ports `publish` asks for, as [`ports`] lists them.
fn wanted_ports(publish: &Json) -> Json {
    let listed: Vec<Json> = publish
        .as_array()
        .into_iter()
        .flatten()
        .map(|port| {
            let mut port = port.clone();
            if let Some(text) = port["published_port"].as_str() {
                port["published_port"] = json!(text.parse::<u64>().ok());
            }
            port
        })
        .collect();
    json!(ports(
        &Json::Array(listed),
        "published_port",
        "target_port",
        "protocol",
        "mode"
    ))
}

/// A count the task gives as a whole number (a negative one, as
/// community.docker's `-1`, means none).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn whole(count: f64) -> Option<u64> {
    (count >= 0.0).then(|| count.round() as u64)
}

/// An argument the task gives, unless it is null.
fn given(arguments: &Arguments<'_>, name: &str) -> Option<Json> {
    arguments
        .raw(name)
        .filter(|value| !value.is_null())
        .cloned()
}

/// Every setting, as the spec has it and as the task asks.
fn settings(spec: &Json, arguments: &Arguments<'_>) -> Result<Vec<Setting>, Error> {
    let mut all = container_settings(spec, arguments)?;
    all.extend(service_settings(spec, arguments));
    for (name, field, prefix) in [
        ("update_config", "UpdateConfig", "update"),
        ("rollback_config", "RollbackConfig", "rollback"),
    ] {
        let found = update_settings(&spec[field]);
        let wanted = given(arguments, name).map(|config| wanted_update_settings(&config, &found));
        all.push(Setting::new(name, found, wanted, update_flags(prefix)));
    }
    Ok(all)
}

/// What each replica's container runs: the image, how many, the
/// environment, the arguments and the health check.
fn container_settings(spec: &Json, arguments: &Arguments<'_>) -> Result<Vec<Setting>, Error> {
    let container = &spec["TaskTemplate"]["ContainerSpec"];
    let health = &container["Healthcheck"];
    let image = arguments
        .string("image")?
        .map(|image| json!(swarm::plain_image(&image)));
    let replicas = arguments
        .number("replicas")?
        .and_then(whole)
        .map(Json::from);
    Ok(vec![
        Setting::new(
            "image",
            json!(spec_image(spec)),
            image,
            Box::new(|_, wanted| {
                format!(" --image {}", quote(wanted.as_str().unwrap_or_default()))
            }),
        ),
        Setting::new(
            "replicas",
            spec["Mode"]["Replicated"]["Replicas"].clone(),
            replicas,
            Box::new(|_, wanted| format!(" --replicas {wanted}")),
        ),
        Setting::new(
            "env",
            json!(words(Some(&container["Env"]))),
            given(arguments, "env").map(|env| json!(words(Some(&env)))),
            list_flags("env-add", "env-rm", true),
        ),
        Setting::new(
            "args",
            container["Args"].clone(),
            given(arguments, "args"),
            Box::new(|_, wanted| {
                let words: Vec<String> = wanted
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|word| quote(&drover_template::as_text(word)))
                    .collect();
                format!(" --args {}", quote(&words.join(" ")))
            }),
        ),
        Setting::new(
            "healthcheck",
            json!({"test": health["Test"], "interval": health["Interval"].as_u64().unwrap_or(0),
                "timeout": health["Timeout"].as_u64().unwrap_or(0), "retries": health["Retries"].as_u64().unwrap_or(0)}),
            given(arguments, "healthcheck").map(|check| wanted_health(&check)),
            Box::new(|_, wanted| health_flags(wanted)),
        ),
    ])
}

/// The service around its containers: labels, published ports, placement.
fn service_settings(spec: &Json, arguments: &Arguments<'_>) -> Vec<Setting> {
    let container = &spec["TaskTemplate"]["ContainerSpec"];
    let constraints = &spec["TaskTemplate"]["Placement"]["Constraints"];
    vec![
        Setting::new(
            "labels",
            json!(words(Some(&spec["Labels"]))),
            given(arguments, "labels").map(|labels| json!(words(Some(&labels)))),
            list_flags("label-add", "label-rm", true),
        ),
        Setting::new(
            "container_labels",
            json!(words(Some(&container["Labels"]))),
            given(arguments, "container_labels").map(|labels| json!(words(Some(&labels)))),
            list_flags("container-label-add", "container-label-rm", true),
        ),
        Setting::new(
            "publish",
            json!(ports(
                &spec["EndpointSpec"]["Ports"],
                "PublishedPort",
                "TargetPort",
                "Protocol",
                "PublishMode"
            )),
            given(arguments, "publish").map(|publish| wanted_ports(&publish)),
            publish_flags(),
        ),
        Setting::new(
            "constraints",
            json!(words(Some(constraints))),
            given(arguments, "placement")
                .map(|placement| json!(words(Some(&placement["constraints"])))),
            list_flags("constraint-add", "constraint-rm", false),
        ),
    ]
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

/// The update settings a play's rollout of the service gives it.
fn roll_out(settings: &mut [Setting], rollout: &drover_playbook::Rollout) {
    let replicas = setting(settings, "replicas")
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

/// `docker service update` with the flags of every setting that differs;
/// `None` when none does.
fn update(
    name: &str,
    arguments: &Arguments<'_>,
    settings: &[Setting],
) -> Result<Option<String>, Error> {
    let mut flags = String::new();
    for setting in settings {
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
    Ok((!flags.is_empty())
        .then(|| format!("docker service update --detach{flags} {}", quote(name))))
}

fn diff(name: &str, existed: bool, settings: &[Setting]) -> Diff {
    Diff {
        before: if existed {
            describe(settings, |setting| Some(&setting.found))
        } else {
            String::new()
        },
        after: describe(settings, |setting| {
            setting.wanted.as_ref().or(Some(&setting.found))
        }),
        before_header: format!("{name} (before)"),
        after_header: format!("{name} (after)"),
    }
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    if let Some(ended) = swarm::unless_manager(context, arguments.present()?).await? {
        return Ok(ended);
    }
    let before = swarm::services(context, std::slice::from_ref(&name)).await?;
    let found = before.get(&name);
    if !arguments.present()? {
        let command = found.map(|_| format!("docker service rm {} >/dev/null", quote(&name)));
        return crate::remote::change(context, command, "docker service rm").await;
    }
    let spec = found.map_or(Json::Null, |service| service["Spec"].clone());
    let mut settings = settings(&spec, arguments)?;
    let rollout = rolls_out(context, &[&name]);
    if let Some(rollout) = rollout {
        roll_out(&mut settings, rollout);
    }
    let command = match found {
        None => create(&name, arguments, &settings)?,
        Some(_) => match update(&name, arguments, &settings)? {
            Some(command) => command,
            None => return Ok(ModuleResult::ok().with("swarm_service", spec)),
        },
    };
    let diff = diff(&name, found.is_some(), &settings);
    if context.check_mode {
        return Ok(ModuleResult::changed().with_diff(context.diff, diff));
    }
    let old_tasks = swarm::tasks(context, &name).await?;
    let what = command.split(" --").next().unwrap_or(&command);
    if let Some(failed) = swarm::change_swarm(context, &command, &format!("`{what}`")).await? {
        return Ok(failed);
    }
    let after = swarm::services(context, std::slice::from_ref(&name)).await?;
    let previous = found
        .map(|service| spec_image(&service["Spec"]))
        .unwrap_or_default();
    let change = Change {
        before: &before,
        after: &after,
        gates: rollout.map(|rollout| Gates::new(name.clone(), rollout, &old_tasks, previous)),
        timeout: Duration::from_secs(arguments.unsigned("timeout")?.unwrap_or(300)),
        prefix: String::new(),
    };
    let replicas = match swarm::see_through(context, change).await? {
        Ok(replicas) => replicas,
        Err(failed) => return Ok(failed),
    };
    let spec = after
        .get(&name)
        .map_or(Json::Null, |service| service["Spec"].clone());
    Ok(ModuleResult::changed()
        .with("swarm_service", spec)
        .with("replicas", Json::Object(replicas))
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
