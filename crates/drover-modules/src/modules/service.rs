//! `service`: a service started, stopped, restarted or reloaded, and
//! enabled at boot or not. Drives systemd when the host runs it, and the
//! `service` command with init scripts (`update-rc.d`/`chkconfig`) when
//! it does not. `systemd` adds `daemon_reload` and `masked`.

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::{Map, Value as Json};

use super::Module;
use crate::arguments::Arguments;
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// What the service should be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Started,
    Stopped,
    Restarted,
    Reloaded,
}

/// A request, read from the arguments.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) name: String,
    pub(crate) action: Option<Action>,
    pub(crate) enabled: Option<bool>,
    pub(crate) masked: Option<bool>,
    pub(crate) daemon_reload: bool,
    pub(crate) no_block: bool,
}

impl Request {
    pub(crate) fn read(arguments: &Arguments<'_>) -> Result<Self, Error> {
        let action = match arguments.string("state")?.as_deref() {
            None => None,
            Some("started" | "running") => Some(Action::Started),
            Some("stopped") => Some(Action::Stopped),
            Some("restarted") => Some(Action::Restarted),
            Some("reloaded") => Some(Action::Reloaded),
            Some(other) => {
                return Err(Error::Arguments(format!(
                    "`state` must be started, stopped, restarted or reloaded, not `{other}`"
                )));
            }
        };
        let optional = |name: &str| -> Result<Option<bool>, Error> {
            match arguments.raw(name) {
                None => Ok(None),
                Some(_) => arguments.boolean(name, false).map(Some),
            }
        };
        Ok(Self {
            name: arguments.string("name")?.unwrap_or_default(),
            action,
            enabled: optional("enabled")?,
            masked: optional("masked")?,
            daemon_reload: arguments.boolean("daemon_reload", false)?,
            no_block: arguments.boolean("no_block", false)?,
        })
    }
}

/// What the query found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    /// `systemd`, or `sysv` for init scripts.
    pub(crate) manager: String,
    pub(crate) exists: bool,
    pub(crate) active: bool,
    pub(crate) enabled: bool,
    pub(crate) masked: bool,
    /// systemd's properties, returned as `status`.
    pub(crate) properties: Map<String, Json>,
}

/// One script: which manager, and the service's state under it.
pub(crate) fn query_script(name: &str) -> String {
    let unit = quote(name);
    format!(
        "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then\n\
         echo manager=systemd\n\
         systemctl show {unit} --no-pager --property=LoadState,ActiveState,SubState,UnitFileState,MainPID,Description,FragmentPath\n\
         else\n\
         echo manager=sysv\n\
         if [ -x /etc/init.d/{unit} ]; then echo LoadState=loaded; else echo LoadState=not-found; fi\n\
         if service {unit} status >/dev/null 2>&1; then echo ActiveState=active; else echo ActiveState=inactive; fi\n\
         if ls /etc/rc[2345].d/S*{unit} >/dev/null 2>&1; then echo UnitFileState=enabled; else echo UnitFileState=disabled; fi\n\
         fi\n"
    )
}

pub(crate) fn parse_status(output: &str) -> Status {
    let mut status = Status::default();
    for line in output.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key == "manager" {
            value.clone_into(&mut status.manager);
            continue;
        }
        status.properties.insert(key.to_owned(), Json::from(value));
        match key {
            "LoadState" => {
                status.exists = value != "not-found";
                status.masked |= value == "masked";
            }
            "ActiveState" => status.active = matches!(value, "active" | "activating" | "reloading"),
            // What Ansible's module counts as enabled. A unit enabled only
            // for this boot (`enabled-runtime`, as postgresql@15-main is),
            // `indirect` or an `alias` is enabled for good when asked,
            // as Ansible does.
            "UnitFileState" => {
                status.enabled = matches!(value, "enabled" | "static" | "generated" | "transient");
                status.masked |= value.starts_with("masked");
            }
            _ => {}
        }
    }
    status
}

/// The commands that bring `status` to `request`, in order; none when
/// nothing must change (a reload or a restart always runs).
pub(crate) fn plan(request: &Request, status: &Status) -> Vec<String> {
    let unit = quote(&request.name);
    let systemd = status.manager == "systemd";
    let block = if request.no_block { " --no-block" } else { "" };
    let mut commands = Vec::new();
    if let (Some(masked), true) = (request.masked, systemd)
        && masked != status.masked
    {
        commands.push(format!(
            "systemctl {} {unit}",
            if masked { "mask" } else { "unmask" }
        ));
    }
    if let Some(enabled) = request.enabled
        && enabled != status.enabled
    {
        commands.push(if systemd {
            format!("systemctl {} {unit}", if enabled { "enable" } else { "disable" })
        } else {
            let verb = if enabled { "enable" } else { "disable" };
            format!(
                "if command -v update-rc.d >/dev/null 2>&1; then update-rc.d {unit} defaults >/dev/null 2>&1; update-rc.d {unit} {verb}; \
                 else chkconfig {unit} {}; fi",
                if enabled { "on" } else { "off" }
            )
        });
    }
    let verb = match (request.action, status.active) {
        // Reloading a stopped service starts it, as Ansible does.
        (Some(Action::Started | Action::Reloaded), false) => Some("start"),
        (Some(Action::Stopped), true) => Some("stop"),
        (Some(Action::Restarted), _) => Some("restart"),
        (Some(Action::Reloaded), true) => Some("reload"),
        _ => None,
    };
    if let Some(verb) = verb {
        commands.push(if systemd {
            format!("systemctl{block} {verb} {unit}")
        } else {
            format!("service {unit} {verb}")
        });
    }
    commands
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let request = Request::read(arguments)?;
    if request.name.is_empty() {
        return Err(Error::Arguments(
            "the service module needs `name`".to_owned(),
        ));
    }
    if request.daemon_reload
        && !context.check_mode
        && let Some(failed) = apply(context, &["systemctl daemon-reload".to_owned()]).await?
    {
        return Ok(failed);
    }
    let output = context.exec(&query_script(&request.name), None).await?;
    let status = parse_status(&String::from_utf8_lossy(&output.stdout));
    let nothing_asked =
        request.action.is_none() && request.enabled.is_none() && request.masked.is_none();
    if !status.exists && request.masked != Some(true) && !(nothing_asked && request.daemon_reload) {
        return Ok(ModuleResult::failed(format!(
            "Could not find the requested service {}: host",
            request.name
        )));
    }
    let commands = plan(&request, &status);
    let mut result = if commands.is_empty() {
        ModuleResult::ok()
    } else {
        ModuleResult::changed()
    };
    result = result
        .with("name", request.name.clone())
        .with("status", Json::Object(status.properties.clone()))
        .with_diff(
            context.diff && !commands.is_empty(),
            Diff::of_file(
                &request.name,
                describe(status.active, status.enabled),
                describe_after(&request, &status),
            ),
        );
    if let Some(action) = request.action {
        let word = match action {
            Action::Stopped => "stopped",
            _ => "started",
        };
        result = result.with("state", word);
    }
    if let Some(enabled) = request.enabled {
        result = result.with("enabled", enabled);
    }
    if context.check_mode || commands.is_empty() {
        return Ok(result);
    }
    Ok(apply(context, &commands).await?.unwrap_or(result))
}

/// Runs the planned commands in one script, stopping at the first that
/// fails; the failed result when one did.
async fn apply(
    context: &ModuleContext<'_>,
    commands: &[String],
) -> Result<Option<ModuleResult>, Error> {
    let mut script = String::from("set -e\n");
    for command in commands {
        let _ = writeln!(script, "{command}");
    }
    let output = context.exec(&script, None).await?;
    Ok((!output.success()).then(|| {
        ModuleResult::failed(format!(
            "`{}` failed: {}",
            commands.join("; "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }))
}

fn describe(active: bool, enabled: bool) -> String {
    format!(
        "state: {}\nenabled: {enabled}\n",
        if active { "started" } else { "stopped" }
    )
}

fn describe_after(request: &Request, status: &Status) -> String {
    let active = match request.action {
        Some(Action::Stopped) => false,
        Some(_) => true,
        None => status.active,
    };
    describe(active, request.enabled.unwrap_or(status.enabled))
}

const SERVICE: &[A] = &[
    A::new("name", Text).aliases(&["service", "unit"]),
    A::new("state", Text).choices(&["started", "stopped", "restarted", "reloaded"]),
    A::new("enabled", Bool),
    A::new("daemon_reload", Bool).aliases(&["daemon-reload"]),
    A::new("masked", Bool),
    A::new("no_block", Bool),
    A::new("scope", Text).choices(&["system"]),
    A::new("force", Bool),
    A::new("use", Text),
    A::new("pattern", Text),
    A::new("sleep", Integer),
    A::new("arguments", Text).aliases(&["args"]),
    A::new("runlevel", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["service", "systemd", "systemd_service"],
    &[SERVICE],
    run
)];

#[cfg(test)]
mod tests {
    use super::{Action, Request, parse_status, plan};

    fn request(action: Option<Action>, enabled: Option<bool>) -> Request {
        Request {
            name: "nginx".to_owned(),
            action,
            enabled,
            masked: None,
            daemon_reload: false,
            no_block: false,
        }
    }

    #[test]
    fn systemd_is_driven_only_where_the_state_differs() {
        let running = parse_status(
            "manager=systemd\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n",
        );
        assert!(running.exists && running.active && running.enabled);
        assert!(plan(&request(Some(Action::Started), Some(true)), &running).is_empty());
        assert_eq!(
            plan(&request(Some(Action::Stopped), Some(false)), &running),
            ["systemctl disable nginx", "systemctl stop nginx"]
        );
        assert_eq!(
            plan(&request(Some(Action::Reloaded), None), &running),
            ["systemctl reload nginx"]
        );
    }

    #[test]
    fn without_systemd_the_service_command_and_update_rc_d_are_used() {
        let stopped = parse_status(
            "manager=sysv\nLoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\n",
        );
        let commands = plan(&request(Some(Action::Started), Some(true)), &stopped);
        assert!(commands[0].contains("update-rc.d nginx enable"));
        assert_eq!(commands[1], "service nginx start");
        let missing = parse_status("manager=systemd\nLoadState=not-found\nActiveState=inactive\n");
        assert!(!missing.exists);
    }
}
