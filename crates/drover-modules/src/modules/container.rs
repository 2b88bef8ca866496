//! `container` (and `docker_container`, `podman_container`): a container in
//! the state asked for, through the docker or podman CLI on the host.
//!
//! The wanted configuration is written, as JSON, into a label of the
//! container (`drover.spec`). A container is left alone when that label and
//! its image match what is asked, and recreated when either differs, which
//! works the same for docker and podman whatever their `inspect` layouts.
//! Every (re)creation records a release in `/var/lib/drover/releases/NAME.json`
//! (the current and previous image, configuration, time and deployer), for
//! `drover rollout status` and `undo`.

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Integer, List, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::{Map, Value as Json, json};

use super::Module;
use crate::arguments::Arguments;
use crate::remote::run_checked;
use crate::replacement;
use crate::{Diff, Error, ModuleContext, ModuleResult};

const SPEC_LABEL: &str = "drover.spec";

/// What the container should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    pub(crate) name: String,
    pub(crate) image: String,
    pub(crate) state: String,
    pub(crate) pull: String,
    /// Seconds a container gets to stop before it is killed.
    pub(crate) stop_timeout: u64,
    /// Everything that shapes the container, as it is stored in the label.
    pub(crate) configuration: Json,
}

/// A mapping argument (`env`, `labels`) with every value as text.
fn text_mapping(value: Option<&Json>) -> Map<String, Json> {
    match value {
        Some(Json::Object(map)) => map
            .iter()
            .map(|(key, value)| {
                let text = drover_template::as_text(value);
                (key.clone(), Json::from(text))
            })
            .collect(),
        _ => Map::new(),
    }
}

/// `command`: a list of words, or a line split as a shell would.
fn command_words(value: Option<&Json>) -> Result<Vec<String>, Error> {
    Ok(match value {
        Some(Json::Array(words)) => words.iter().map(drover_template::as_text).collect(),
        Some(Json::String(text)) => shlex::split(text)
            .ok_or_else(|| Error::Arguments(format!("cannot split the command `{text}`")))?,
        _ => Vec::new(),
    })
}

impl Spec {
    pub(crate) fn read(arguments: &Arguments<'_>) -> Result<Self, Error> {
        let name = arguments.required("name")?;
        let state = arguments
            .string("state")?
            .unwrap_or_else(|| "started".to_owned());
        if !["started", "stopped", "present", "absent"].contains(&state.as_str()) {
            return Err(Error::Arguments(format!(
                "`state` must be started, stopped, present or absent, not `{state}`"
            )));
        }
        let image = arguments.string("image")?.unwrap_or_default();
        if image.is_empty() && state != "absent" {
            return Err(Error::Arguments(
                "`container` needs `image` unless `state` is absent".to_owned(),
            ));
        }
        let mapping = |name: &str| text_mapping(arguments.raw(name));
        let ports = arguments.list("ports")?;
        let command = command_words(arguments.raw("command"))?;
        let configuration = json!({
            "image": image,
            "ports": ports,
            "env": mapping("env"),
            "volumes": arguments.list("volumes")?,
            "command": command,
            "restart_policy": arguments.string("restart_policy")?.unwrap_or_default(),
            "labels": mapping("labels"),
            "network": arguments.string("network")?.unwrap_or_default(),
            "healthcheck": arguments.raw("healthcheck").cloned().unwrap_or(Json::Null),
        });
        Ok(Self {
            name,
            image,
            state,
            pull: arguments
                .string("pull")?
                .unwrap_or_else(|| "missing".to_owned()),
            stop_timeout: arguments.unsigned("stop_timeout")?.unwrap_or(10),
            configuration,
        })
    }

    /// `create` with every option, under `container_name` (the temporary
    /// name a new release starts under beside the live one).
    pub(crate) fn create_command(&self, runtime: &str, container_name: &str) -> String {
        let mut command = format!("{runtime} create --name {}", quote(container_name));
        let _ = write!(
            command,
            " --label {}",
            quote(&format!("{SPEC_LABEL}={}", self.configuration))
        );
        let configuration = &self.configuration;
        let strings = |key: &str| -> Vec<String> {
            configuration[key]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| item.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        for (flag, key) in [("-p", "ports"), ("-v", "volumes")] {
            for value in strings(key) {
                let _ = write!(command, " {flag} {}", quote(&value));
            }
        }
        for (flag, key) in [("-e", "env"), ("--label", "labels")] {
            if let Some(map) = configuration[key].as_object() {
                for (name, value) in map {
                    let _ = write!(
                        command,
                        " {flag} {}",
                        quote(&format!("{name}={}", value.as_str().unwrap_or_default()))
                    );
                }
            }
        }
        for (flag, key) in [("--restart", "restart_policy"), ("--network", "network")] {
            if let Some(value) = configuration[key]
                .as_str()
                .filter(|value| !value.is_empty())
            {
                let _ = write!(command, " {flag} {}", quote(value));
            }
        }
        if let Some(health) = configuration["healthcheck"].as_object() {
            command.push_str(&health_options(health));
        }
        let _ = write!(command, " {}", quote(&self.image));
        for word in strings("command") {
            let _ = write!(command, " {}", quote(&word));
        }
        command
    }
}

/// `--health-*` options from a compose-style `healthcheck` mapping.
fn health_options(health: &Map<String, Json>) -> String {
    let mut options = String::new();
    match health.get("test") {
        Some(Json::Array(words)) => {
            let words: Vec<String> = words
                .iter()
                .filter_map(|word| word.as_str().map(str::to_owned))
                .collect();
            match words.first().map(String::as_str) {
                Some("NONE") => options.push_str(" --no-healthcheck"),
                Some("CMD-SHELL") => {
                    let _ = write!(options, " --health-cmd {}", quote(&words[1..].join(" ")));
                }
                Some("CMD") => {
                    let line: Vec<String> = words[1..].iter().map(|word| quote(word)).collect();
                    let _ = write!(options, " --health-cmd {}", quote(&line.join(" ")));
                }
                _ => {}
            }
        }
        Some(Json::String(test)) => {
            let _ = write!(options, " --health-cmd {}", quote(test));
        }
        _ => {}
    }
    for (key, flag) in [
        ("interval", "--health-interval"),
        ("timeout", "--health-timeout"),
        ("retries", "--health-retries"),
        ("start_period", "--health-start-period"),
    ] {
        if let Some(value) = health.get(key) {
            let value = drover_template::as_text(value);
            let _ = write!(options, " {flag} {}", quote(&value));
        }
    }
    options
}

/// What the host has now.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Current {
    pub(crate) runtime: String,
    /// The local image's id for the wanted reference, if it is there.
    pub(crate) image_id: String,
    pub(crate) exists: bool,
    pub(crate) container_image_id: String,
    pub(crate) running: bool,
    /// The container never ran, or its last start failed: a failed
    /// release's leftover, which is replaced, never started as it is.
    pub(crate) broken: bool,
    /// A next release (`NAME.drover-next`) is there: a replacement that a
    /// killed run left half done.
    pub(crate) next_exists: bool,
    pub(crate) spec: Option<Json>,
    pub(crate) release: Option<Json>,
}

/// The engine a module's name (`docker_container`, `podman_image`) or its
/// `runtime` argument asks for; `auto` lets the host decide.
pub(crate) fn requested_runtime(module: &str, arguments: &Arguments<'_>) -> Result<String, Error> {
    Ok(if module.starts_with("docker_") {
        "docker".to_owned()
    } else if module.starts_with("podman_") {
        "podman".to_owned()
    } else {
        arguments
            .string("runtime")?
            .unwrap_or_else(|| "auto".to_owned())
    })
}

/// Shell that sets `$rt` to the engine asked for or, for `auto`, docker,
/// else podman, and prints `runtime=$rt`; with neither it prints
/// `runtime=none` and stops.
pub(crate) fn choose_runtime(runtime: &str) -> String {
    let choose = match runtime {
        "docker" | "podman" => format!("rt={runtime}"),
        _ => "if command -v docker >/dev/null 2>&1; then rt=docker; elif command -v podman >/dev/null 2>&1; then rt=podman; else echo runtime=none; exit 0; fi".to_owned(),
    };
    format!("{choose}\necho \"runtime=$rt\"")
}

fn query_script(spec: &Spec, runtime: &str) -> String {
    let choose = choose_runtime(runtime);
    format!(
        "{choose}\n\
         {wait}\n\
         echo \"image=$($rt image inspect --format '{{{{.Id}}}}' {image} 2>/dev/null)\"\n\
         $rt container inspect --format 'container={{{{.Image}}}} {{{{.State.Running}}}} {{{{.State.Status}}}} {{{{.State.ExitCode}}}}' {name} 2>/dev/null\n\
         printf 'error=%s\\n' \"$($rt container inspect --format '{{{{.State.Error}}}}' {name} 2>/dev/null | tr -d '\\n')\"\n\
         $rt container inspect --format 'next={{{{.State.Status}}}}' {next} 2>/dev/null\n\
         printf 'spec=%s\\n' \"$($rt container inspect --format '{{{{index .Config.Labels \"{SPEC_LABEL}\"}}}}' {name} 2>/dev/null)\"\n\
         {release}\n",
        image = quote(&spec.image),
        name = quote(&spec.name),
        next = quote(&replacement::next_name(&spec.name)),
        wait = replacement::wait_script(&spec.name),
        release = crate::releases::read_script(&spec.name),
    )
}

fn parse(output: &str) -> Current {
    let mut current = Current::default();
    for line in output.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key {
            "runtime" => current.runtime = value.to_owned(),
            "image" => current.image_id = value.trim_start_matches("sha256:").to_owned(),
            "container" => {
                current.exists = true;
                let mut words = value.split_whitespace();
                current.container_image_id = words
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("sha256:")
                    .to_owned();
                current.running = words.next() == Some("true");
                let status = words.next().unwrap_or_default();
                let exit_code = words.next().unwrap_or("0");
                current.broken |= !current.running
                    && (status == "created" || status == "configured" || exit_code == "127");
            }
            "error" => current.broken |= !value.trim().is_empty() && !current.running,
            "next" => current.next_exists = true,
            "spec" => current.spec = serde_json::from_str(value).ok(),
            "release" => current.release = serde_json::from_str(value).ok(),
            _ => {}
        }
    }
    current
}

/// What the host has now, after finishing a replacement a killed run left
/// half done (outside check mode).
async fn query(spec: &Spec, runtime: &str, context: &ModuleContext<'_>) -> Result<Current, Error> {
    let script = query_script(spec, runtime);
    let output = context.exec(&script, None).await?;
    let current = parse(&String::from_utf8_lossy(&output.stdout));
    if !current.next_exists || context.check_mode || current.runtime == "none" {
        return Ok(current);
    }
    run_checked(
        context,
        &replacement::repair_script(&current.runtime, &spec.name),
    )
    .await?;
    let output = context.exec(&script, None).await?;
    Ok(parse(&String::from_utf8_lossy(&output.stdout)))
}

pub(crate) async fn run(
    module: &str,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let spec = Spec::read(arguments)?;
    let runtime = requested_runtime(module, arguments)?;
    let mut current = query(&spec, &runtime, context).await?;
    if current.runtime == "none" {
        return Ok(ModuleResult::failed(
            "neither docker nor podman is installed on the host",
        ));
    }
    let rt = current.runtime.clone();
    let mut result = ModuleResult::ok().with("runtime", rt.clone());
    if spec.state == "absent" {
        return remove(&spec, &current, context, result).await;
    }
    if let Some(failed) = ensure_image(&spec, &mut current, context).await? {
        return Ok(failed);
    }
    let same_spec = current.spec.as_ref() == Some(&spec.configuration);
    let same_image = !current.image_id.is_empty() && current.image_id == current.container_image_id;
    let recreate = !current.exists || !same_spec || !same_image || current.broken;
    let command = if recreate {
        None
    } else if spec.state == "started" && !current.running {
        Some(format!("{rt} start {}", quote(&spec.name)))
    } else if spec.state == "stopped" && current.running {
        Some(format!(
            "{rt} stop -t {} {}",
            spec.stop_timeout,
            quote(&spec.name)
        ))
    } else {
        return Ok(result.with("container", spec.name.clone()));
    };
    result.changed = true;
    result = result
        .with("recreated", recreate)
        .with_diff(context.diff, diff(&spec, &current));
    if context.check_mode {
        return Ok(result);
    }
    if let Some(command) = command {
        run_checked(context, &command).await?;
    } else {
        match replace(&spec, &current, context).await? {
            Ok(release) => result = result.with("release", release),
            Err(failed) => return Ok(failed.with("container", spec.name.clone())),
        }
    }
    // A started container must also pass its health check, if it has one.
    if let (Some(health), "started") = (arguments.raw("health"), spec.state.as_str()) {
        let spec_of_health = crate::health::HealthSpec::parse(health)?;
        let checked = super::health_check::check(&spec_of_health, context).await?;
        let health = checked.values.get("health").cloned().unwrap_or(Json::Null);
        result = result.with("health", health);
        if checked.failed {
            result.failed = true;
            result.message = checked.message;
        }
    }
    Ok(result.with("container", spec.name.clone()))
}

/// `state: absent`: the container goes, with any next release beside it.
async fn remove(
    spec: &Spec,
    current: &Current,
    context: &ModuleContext<'_>,
    mut result: ModuleResult,
) -> Result<ModuleResult, Error> {
    if !current.exists && !current.next_exists {
        return Ok(result);
    }
    result.changed = true;
    if !context.check_mode {
        run_checked(context, &remove_command(&current.runtime, spec)).await?;
    }
    Ok(result)
}

/// Pulls the image when the pull policy says so. Returns a failed result
/// (with the attempt recorded on the host) when the image cannot be had.
async fn ensure_image(
    spec: &Spec,
    current: &mut Current,
    context: &ModuleContext<'_>,
) -> Result<Option<ModuleResult>, Error> {
    let pull = match spec.pull.as_str() {
        "always" => true,
        // In check mode an earlier task (`container_image`) may not have
        // loaded the image yet: that counts as a change, not a failure.
        "never" if current.image_id.is_empty() && !context.check_mode => {
            let message = format!(
                "image {} is not on the host and `pull` is never",
                spec.image
            );
            record_failure(spec, &message, context).await;
            return Ok(Some(ModuleResult::failed(message)));
        }
        _ => current.image_id.is_empty(),
    };
    if !pull || context.check_mode {
        return Ok(None);
    }
    let rt = &current.runtime;
    let image = quote(&spec.image);
    let output = context
        .exec(
            &format!("{rt} pull -q {image} >/dev/null && {rt} image inspect --format '{{{{.Id}}}}' {image}"),
            None,
        )
        .await?;
    if !output.success() {
        let message = format!(
            "cannot pull {}: {}",
            spec.image,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        record_failure(spec, &message, context).await;
        return Ok(Some(ModuleResult::failed(message)));
    }
    current.image_id = String::from_utf8_lossy(&output.stdout)
        .trim()
        .trim_start_matches("sha256:")
        .to_owned();
    Ok(None)
}

/// Puts the new release in place of the old one (see [`replacement`]).
/// Returns its release record, or the failed result: one that reports a
/// change, with the release it tried to replace, whenever the old
/// container was stopped on the way, so that a rollout rolls this host
/// back too.
async fn replace(
    spec: &Spec,
    current: &Current,
    context: &ModuleContext<'_>,
) -> Result<Result<Json, ModuleResult>, Error> {
    let rt = &current.runtime;
    let order = replacement::order(
        current.exists,
        current.running,
        current.spec.as_ref(),
        &spec.configuration,
    );
    let release = release_record(spec, current);
    let script = replacement::script(&replacement::Plan {
        runtime: rt,
        name: &spec.name,
        create: &spec.create_command(rt, &replacement::next_name(&spec.name)),
        order,
        start: spec.state == "started",
        stop_timeout: spec.stop_timeout,
        on_success: &crate::releases::write_script(&spec.name, &release),
    });
    let output = context.exec(&script, None).await?;
    let report = replacement::Report::parse(&format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ));
    if output.success() && report.replaced {
        return Ok(Ok(release));
    }
    let message = report.message(&spec.name);
    record_failure(spec, &message, context).await;
    let mut failed = ModuleResult::failed(message).with("restored", report.restored);
    failed.changed = report.touched_old;
    let previous_known = release["previous"]["configuration"].is_object();
    if report.touched_old && previous_known {
        failed = failed.with("release", release);
    }
    Ok(Err(failed))
}

/// Notes a failed release attempt on the host (`NAME.failed.json`), for
/// `drover rollout status`. Best effort: the task fails either way.
async fn record_failure(spec: &Spec, reason: &str, context: &ModuleContext<'_>) {
    crate::releases::note_failure(context, &spec.name, &spec.image, reason).await;
}

fn diff(spec: &Spec, current: &Current) -> Diff {
    Diff {
        before: pretty(
            current.spec.as_ref(),
            &current.container_image_id,
            current.running,
        ),
        after: pretty(
            Some(&spec.configuration),
            &current.image_id,
            spec.state == "started",
        ),
        before_header: format!("container {}", spec.name),
        after_header: format!("container {}", spec.name),
    }
}

/// A graceful stop within `stop_timeout`, then removal (of a next
/// release left beside it, too).
fn remove_command(runtime: &str, spec: &Spec) -> String {
    let name = quote(&spec.name);
    let next = quote(&replacement::next_name(&spec.name));
    format!(
        "{runtime} rm -f {next} >/dev/null 2>&1; {runtime} stop -t {} {name} >/dev/null 2>&1; \
         {runtime} rm -f {name} >/dev/null 2>&1; ! {runtime} container inspect {name} >/dev/null 2>&1",
        spec.stop_timeout
    )
}

fn pretty(spec: Option<&Json>, image_id: &str, running: bool) -> String {
    let mut text = spec.map_or_else(
        || "absent".to_owned(),
        |spec| serde_json::to_string_pretty(spec).unwrap_or_default(),
    );
    let _ = write!(text, "\nimage id: {image_id}\nrunning: {running}\n");
    text
}

/// The release now deployed, with the one it replaces as `previous`.
fn release_record(spec: &Spec, current: &Current) -> Json {
    let now = json!({
        "image": spec.image,
        "image_id": current.image_id,
        "config_hash": crate::remote::checksum(spec.configuration.to_string().as_bytes()),
        "configuration": spec.configuration,
        "runtime": current.runtime,
    });
    crate::releases::record(&spec.name, now, current.release.as_ref())
}

const CONTAINER: &[A] = &[
    A::new("name", Text).required(),
    A::new("image", Text),
    A::new("state", Text).choices(&["started", "stopped", "present", "absent"]),
    A::new("ports", List).aliases(&["published_ports", "publish"]),
    A::new("env", Raw),
    A::new("volumes", List),
    A::new("command", Raw),
    A::new("restart_policy", Text),
    A::new("labels", Raw),
    A::new("network", Text).aliases(&["network_mode"]),
    A::new("healthcheck", Raw),
    A::new("pull", Text).choices(&["always", "missing", "never"]),
    A::new("runtime", Text).choices(&["docker", "podman", "auto"]),
    A::new("stop_timeout", Integer),
    A::new("health", Raw),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[module!(&["container", "docker_container", "podman_container"], &[CONTAINER], named run)];

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn docker_and_podman_answers_read_alike() {
        let docker = parse(
            "runtime=docker\nimage=sha256:abc\ncontainer=sha256:abc true\nspec={\"image\":\"a\"}\nrelease=\n",
        );
        let podman = parse(
            "runtime=podman\nimage=abc\ncontainer=abc true\nspec={\"image\":\"a\"}\nrelease=\n",
        );
        assert_eq!(docker.image_id, podman.image_id);
        assert_eq!(docker.container_image_id, "abc");
        assert!(docker.running && docker.exists);
        assert_eq!(docker.spec, podman.spec);
        let missing = parse("runtime=docker\nimage=\nspec=\nrelease=\n");
        assert!(!missing.exists && missing.spec.is_none());
    }
}
