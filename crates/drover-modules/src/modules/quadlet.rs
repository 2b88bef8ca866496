//! `quadlet`: a podman Quadlet unit (`/etc/containers/systemd/NAME.container`)
//! that systemd turns into `NAME.service`, written only when it differs,
//! followed by `systemctl daemon-reload` and the service started, restarted
//! (when the unit changed) or stopped. Quadlet needs podman 4.4 or later.
//!
//! Like `container`, every change records a release
//! (`/var/lib/drover/releases/NAME.json`, with the unit text before it), so
//! a failed rollout can write the previous unit back.

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{List, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::{Value as Json, json};

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, path_state_and_content, run_checked, write_file};
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// Where rootful Quadlet units live.
const DIRECTORY: &str = "/etc/containers/systemd";

/// The unit text from the module's fields (or `content`, taken as is).
fn unit(arguments: &Arguments<'_>, name: &str) -> Result<String, Error> {
    if let Some(content) = arguments.string("content")? {
        return Ok(content);
    }
    let image = arguments.required("image")?;
    let mut text = format!(
        "# Written by drover's quadlet module.\n[Unit]\nDescription={name} (podman, by drover)\n\n\
         [Container]\nContainerName={name}\nImage={image}\n"
    );
    for port in arguments.list("ports")? {
        let _ = writeln!(text, "PublishPort={port}");
    }
    for volume in arguments.list("volumes")? {
        let _ = writeln!(text, "Volume={volume}");
    }
    for (kind, key) in [("env", "Environment"), ("labels", "Label")] {
        if let Some(Json::Object(pairs)) = arguments.raw(kind) {
            for (name, value) in pairs {
                let value = drover_template::as_text(value);
                let _ = writeln!(text, "{key}={}", systemd_quote(&format!("{name}={value}")));
            }
        }
    }
    if let Some(network) = arguments.string("network")? {
        let _ = writeln!(text, "Network={network}");
    }
    if let Some(command) = arguments.string("command")? {
        let _ = writeln!(text, "Exec={command}");
    }
    let restart = arguments
        .string("restart_policy")?
        .unwrap_or_else(|| "always".to_owned());
    let restart = match restart.as_str() {
        "unless-stopped" => "always".to_owned(),
        "no" => "no".to_owned(),
        other => other.to_owned(),
    };
    let _ = write!(
        text,
        "\n[Service]\nRestart={restart}\n\n[Install]\nWantedBy=multi-user.target default.target\n"
    );
    Ok(text)
}

/// A value systemd reads as one word: in double quotes when it has spaces
/// or quotes, with `\` and `"` escaped.
fn systemd_quote(value: &str) -> String {
    if value
        .chars()
        .any(|character| character.is_whitespace() || "\"'\\".contains(character))
    {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        value.to_owned()
    }
}

/// What the service needs to reach `state`: stopped or started, and
/// restarted when its unit changed while it ran.
fn action(state: &str, active: bool, differs: bool) -> Option<&'static str> {
    match (state, active, differs) {
        ("stopped", true, _) => Some("stop"),
        ("stopped", false, _) | ("present", _, _) | (_, true, false) => None,
        (_, true, true) => Some("restart"),
        (_, false, _) => Some("start"),
    }
}

/// A host whose podman has no Quadlet (or no podman at all).
fn no_quadlet(podman: &str) -> ModuleResult {
    ModuleResult::failed(format!(
        "this host's podman has no Quadlet ({}); it needs podman 4.4 or later",
        if podman.is_empty() {
            "podman is not installed"
        } else {
            podman
        }
    ))
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let state = arguments
        .string("state")?
        .unwrap_or_else(|| "started".to_owned());
    let path = format!("{DIRECTORY}/{name}.container");
    let service = format!("{name}.service");
    let answer = probe(context, &service, &name).await?;
    let value = |key: &str| crate::remote::output_value(&answer, key);
    if value("quadlet") != "yes" && state != "absent" {
        return Ok(no_quadlet(&value("podman")));
    }
    let active = value("active") == "active";
    let (existing, current) = path_state_and_content(context, &path, true).await?;
    let mut result = ModuleResult::ok()
        .with("unit", path.clone())
        .with("service", service.clone());
    if state == "absent" {
        result.changed = existing.exists();
        if result.changed {
            remove(context, &service, &path).await?;
        }
        return Ok(result);
    }
    let wanted = unit(arguments, &name)?;
    let differs = current.as_deref() != Some(wanted.as_str());
    let action = action(&state, active, differs);
    result.changed = differs || action.is_some();
    result = result.with_diff(
        context.diff && differs,
        Diff::of_file(&path, current.clone().unwrap_or_default(), wanted.clone()),
    );
    if context.check_mode || !result.changed {
        return Ok(result);
    }
    let systemctl = |action: &str| format!("systemctl {action} {}", quote(&service));
    match (differs, action) {
        (false, Some(action)) => run_checked(context, &systemctl(action)).await?,
        (false, None) => {}
        (true, _) => install(context, &path, &wanted, &existing).await?,
    }
    if !differs {
        return Ok(result);
    }
    let release = release_record(&name, &wanted, arguments, &value("release"))?;
    let Some(action) = action else {
        return finish(context, &name, result, release).await;
    };
    let started = context.exec(&systemctl(action), None).await?;
    if started.success() {
        return finish(context, &name, result, release).await;
    }
    // The new unit does not start: the previous one comes back, in this task.
    let reason = format!(
        "{service} did not start with the new unit: {}",
        String::from_utf8_lossy(&started.stderr).trim()
    );
    let restored = restore(context, &path, &service, current.as_deref(), active).await?;
    failed_release(context, arguments, &name, reason, restored, release).await
}

/// What a release whose service did not start reports: a failure that
/// changed the host, noted as a failed attempt, with the release (when a
/// unit came before it) for a rollout to roll back.
async fn failed_release(
    context: &ModuleContext<'_>,
    arguments: &Arguments<'_>,
    name: &str,
    reason: String,
    restored: bool,
    release: Json,
) -> Result<ModuleResult, Error> {
    let message = if restored {
        format!("{reason}; the previous unit runs again")
    } else {
        format!("{reason}; the previous unit could not be started again")
    };
    let image = arguments.string("image")?.unwrap_or_default();
    crate::releases::note_failure(context, name, &image, &message).await;
    let mut failed = ModuleResult::failed(message).with("restored", restored);
    failed.changed = true;
    if release["previous"]["unit"].is_string() {
        failed = failed.with("release", release);
    }
    Ok(failed)
}

/// Whether the host has Quadlet, its podman, whether the service is
/// active, and the app's release record, as `KEY=VALUE` lines.
async fn probe(context: &ModuleContext<'_>, service: &str, name: &str) -> Result<String, Error> {
    let probe = context
        .exec(
            &format!(
                "if [ -x /usr/lib/systemd/system-generators/podman-system-generator ] || [ -x /usr/libexec/podman/quadlet ]; \
                 then echo quadlet=yes; else echo quadlet=no; fi; \
                 echo \"podman=$(podman --version 2>/dev/null)\"; \
                 echo \"active=$(systemctl is-active {service} 2>/dev/null)\"; \
                 {release}",
                service = quote(service),
                release = crate::releases::read_script(name),
            ),
            None,
        )
        .await?;
    Ok(String::from_utf8_lossy(&probe.stdout).into_owned())
}

/// `state: absent`: the service stopped and its unit gone (not in check mode).
async fn remove(context: &ModuleContext<'_>, service: &str, path: &str) -> Result<(), Error> {
    if context.check_mode {
        return Ok(());
    }
    run_checked(
        context,
        &format!(
            "systemctl stop {} 2>/dev/null; rm -f -- {} && systemctl daemon-reload",
            quote(service),
            quote(path)
        ),
    )
    .await
}

/// Writes `unit` to `path` and has systemd read it.
async fn install(
    context: &ModuleContext<'_>,
    path: &str,
    unit: &str,
    existing: &crate::remote::PathState,
) -> Result<(), Error> {
    let attributes = Attributes {
        mode: Some(0o644),
        ..Attributes::default()
    };
    run_checked(context, &format!("mkdir -p {DIRECTORY}")).await?;
    write_file(
        context,
        path,
        bytes::Bytes::from(unit.to_owned()),
        &attributes,
        existing,
        false,
    )
    .await?;
    run_checked(context, "systemctl daemon-reload").await
}

/// Puts the unit that was there before back (or removes the new one when
/// there was none) and starts it again if it ran; returns whether the
/// service is back in the state it was in.
async fn restore(
    context: &ModuleContext<'_>,
    path: &str,
    service: &str,
    previous: Option<&str>,
    was_active: bool,
) -> Result<bool, Error> {
    let Some(previous) = previous else {
        let command = format!(
            "systemctl stop {service} 2>/dev/null; rm -f -- {path}; systemctl daemon-reload; systemctl reset-failed {service} 2>/dev/null; true",
            service = quote(service),
            path = quote(path),
        );
        run_checked(context, &command).await?;
        return Ok(true);
    };
    let (existing, _) = path_state_and_content(context, path, false).await?;
    install(context, path, previous, &existing).await?;
    if !was_active {
        return Ok(true);
    }
    let output = context
        .exec(&format!("systemctl restart {}", quote(service)), None)
        .await?;
    Ok(output.success())
}

/// Records the release that now runs.
async fn finish(
    context: &ModuleContext<'_>,
    name: &str,
    result: ModuleResult,
    release: Json,
) -> Result<ModuleResult, Error> {
    crate::releases::write(context, name, &release).await?;
    Ok(result.with("release", release))
}

/// The release now deployed, with the one it replaces as `previous`.
fn release_record(
    name: &str,
    unit: &str,
    arguments: &Arguments<'_>,
    before: &str,
) -> Result<Json, Error> {
    let current = json!({
        "image": arguments.string("image")?,
        "unit": unit,
        "config_hash": crate::remote::checksum(unit.as_bytes()),
        "runtime": "podman",
    });
    let before = serde_json::from_str::<Json>(before).ok();
    let mut record = crate::releases::record(name, current, before.as_ref());
    record["kind"] = Json::from("quadlet");
    Ok(record)
}

const QUADLET: &[A] = &[
    A::new("name", Text).required(),
    A::new("image", Text),
    A::new("content", Text),
    A::new("state", Text).choices(&["started", "stopped", "present", "absent"]),
    A::new("ports", List).aliases(&["published_ports", "publish"]),
    A::new("env", Raw),
    A::new("volumes", List).aliases(&["volume"]),
    A::new("command", Text),
    A::new("restart_policy", Text).choices(&["no", "on-failure", "always", "unless-stopped"]),
    A::new("labels", Raw),
    A::new("network", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["quadlet"], &[QUADLET], run)];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{systemd_quote, unit};
    use crate::arguments::Arguments;

    #[test]
    fn a_unit_is_written_from_the_container_fields() {
        let values = json!({"name": "app", "image": "drover/app:2", "ports": ["8080:8080"],
            "env": {"GREETING": "hello world"}, "restart_policy": "unless-stopped"});
        let values = values.as_object().unwrap();
        let text = unit(&Arguments::new("quadlet", values), "app").unwrap();
        assert!(
            text.contains(
                "[Container]\nContainerName=app\nImage=drover/app:2\nPublishPort=8080:8080\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("Environment=\"GREETING=hello world\"\n"),
            "{text}"
        );
        assert!(text.contains("[Service]\nRestart=always\n"), "{text}");
        assert!(text.contains("WantedBy=multi-user.target"), "{text}");
    }

    #[test]
    fn values_with_spaces_or_quotes_are_quoted_for_systemd() {
        assert_eq!(systemd_quote("A=b"), "A=b");
        assert_eq!(systemd_quote("A=say \"hi\""), "\"A=say \\\"hi\\\"\"");
    }
}
