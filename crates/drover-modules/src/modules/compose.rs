//! `compose` (and `docker_compose_v2`): a compose project in a directory on
//! the host brought up, stopped, restarted or taken down, through whichever
//! compose tool the host has: `docker compose`, `docker-compose` or
//! `podman-compose`.
//!
//! Compose itself converges a project, so the module asks the engine which
//! of the project's containers exist (by the `com.docker.compose.project`
//! label every one of those tools sets) before and after, and reports a
//! change only when that list moved.

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, List, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::modules::container::requested_runtime;
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// What the module was asked for.
struct Project {
    source: String,
    name: String,
    files: Vec<String>,
    services: Vec<String>,
    state: String,
    pull: String,
    remove_orphans: bool,
    remove_volumes: bool,
    runtime: String,
}

impl Project {
    fn read(module: &str, arguments: &Arguments<'_>) -> Result<Self, Error> {
        let source = arguments.required("project_src")?;
        let name = match arguments.string("project_name")? {
            Some(name) => name,
            None => default_name(&source),
        };
        if name.is_empty() {
            return Err(Error::Arguments(format!(
                "cannot name the project after `{source}`; give `project_name`"
            )));
        }
        Ok(Self {
            name,
            files: arguments.list("files")?,
            services: arguments.list("services")?,
            state: arguments
                .string("state")?
                .unwrap_or_else(|| "present".to_owned()),
            pull: arguments
                .string("pull")?
                .unwrap_or_else(|| "policy".to_owned()),
            remove_orphans: arguments.boolean("remove_orphans", false)?,
            remove_volumes: arguments.boolean("remove_volumes", false)?,
            runtime: requested_runtime(module, arguments)?,
            source,
        })
    }

    /// `cd SRC && $compose -p NAME -f FILE ...`: the start of every command.
    fn prefix(&self) -> String {
        let mut prefix = format!(
            "cd {} && $compose -p {}",
            quote(&self.source),
            quote(&self.name)
        );
        for file in &self.files {
            let _ = write!(prefix, " -f {}", quote(file));
        }
        prefix
    }

    fn services(&self) -> String {
        let mut words = String::new();
        for service in &self.services {
            words.push(' ');
            words.push_str(&quote(service));
        }
        words
    }

    /// The command that brings the project to `state`.
    fn command(&self) -> String {
        let prefix = self.prefix();
        let services = self.services();
        match self.state.as_str() {
            "absent" => {
                let mut command = format!("{prefix} down");
                if self.remove_orphans {
                    command.push_str(" --remove-orphans");
                }
                if self.remove_volumes {
                    command.push_str(" -v");
                }
                command
            }
            "stopped" => format!("{prefix} stop{services}"),
            "restarted" => format!("{prefix} restart{services}"),
            _ => {
                let mut command = String::new();
                if self.pull == "always" {
                    let _ = write!(command, "{prefix} pull{services} && ");
                }
                let _ = write!(command, "{prefix} up -d");
                if self.remove_orphans {
                    command.push_str(" --remove-orphans");
                }
                command.push_str(&services);
                command
            }
        }
    }

    /// Shell that picks the tool (`$compose`) and its engine (`$rt`) and
    /// prints `tool=...` (`tool=none`, and stops, when there is none).
    fn choose(&self) -> String {
        let docker = "if docker compose version >/dev/null 2>&1; then rt=docker; compose='docker compose'; \
                      elif command -v docker-compose >/dev/null 2>&1; then rt=docker; compose=docker-compose; fi";
        let podman = "if command -v podman-compose >/dev/null 2>&1; then rt=podman; compose=podman-compose; fi";
        let choose = match self.runtime.as_str() {
            "docker" => docker.to_owned(),
            "podman" => podman.to_owned(),
            _ => format!("{docker}\n[ -n \"$compose\" ] || {{ {podman}; }}"),
        };
        format!(
            "compose=\n{choose}\n[ -n \"$compose\" ] || {{ echo tool=none; exit 0; }}\n\
             echo \"tool=$compose\""
        )
    }

    /// Where the last project that came up is kept, resolved by `config`.
    fn snapshot(&self) -> String {
        format!("{}/{}.compose.yml", crate::releases::RELEASES, self.name)
    }

    /// Shell that keeps the project's resolved configuration (`config`,
    /// with every path made absolute) as the snapshot.
    fn snapshot_script(&self) -> String {
        let snapshot = quote(&self.snapshot());
        let temporary = quote(&format!("{}.drover-tmp", self.snapshot()));
        format!(
            "{}
mkdir -p {} && {} config > {temporary} && mv -f {temporary} {snapshot}",
            self.choose(),
            crate::releases::RELEASES,
            self.prefix(),
        )
    }

    /// Shell that brings the snapshot up again, in the project's directory.
    fn restore_script(&self) -> String {
        format!(
            "{}
[ -s {snapshot} ] || {{ echo 'no snapshot'; exit 3; }}
             cd {} && $compose -p {} -f {snapshot} up -d --remove-orphans 2>&1",
            self.choose(),
            quote(&self.source),
            quote(&self.name),
            snapshot = quote(&self.snapshot()),
        )
    }

    /// [`Self::choose`], then one `ID STATE NAME` line per container of the project.
    fn query(&self) -> String {
        format!(
            "{}\n$rt ps -a --filter label=com.docker.compose.project={} \
             --format '{{{{.ID}}}} {{{{.State}}}} {{{{.Names}}}}' | sort",
            self.choose(),
            quote(&self.name)
        )
    }
}

/// Compose's own default: the directory's name, lower-cased, keeping only
/// letters, digits, `-` and `_`.
fn default_name(source: &str) -> String {
    source
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_lowercase()
        .chars()
        .filter(|character| character.is_ascii_alphanumeric() || "-_".contains(*character))
        .collect()
}

/// The tool, and the project's containers as `ID STATE NAME` lines.
fn parse(output: &str) -> (String, Vec<String>) {
    let mut lines = output.lines();
    let tool = lines
        .next()
        .and_then(|line| line.strip_prefix("tool="))
        .unwrap_or("none")
        .to_owned();
    let containers = lines
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (id, state) = (words.next()?, words.next()?);
            let name = words.last().unwrap_or_default();
            Some(format!("{id} {} {name}", state_word(state)))
        })
        .collect();
    (tool, containers)
}

/// docker prints a container's state as `running`; podman 4 prints its
/// status (`Up 3 seconds ago`), which changes by itself: both become one
/// steady word.
fn state_word(state: &str) -> String {
    match state.to_ascii_lowercase().as_str() {
        "up" | "running" => "running".to_owned(),
        other => other.to_owned(),
    }
}

fn running(containers: &[String]) -> usize {
    containers
        .iter()
        .filter(|line| line.split_whitespace().nth(1) == Some("running"))
        .count()
}

/// Whether, in check mode, the state would change.
async fn would_change(
    project: &Project,
    containers: &[String],
    context: &ModuleContext<'_>,
) -> Result<bool, Error> {
    Ok(match project.state.as_str() {
        "absent" => !containers.is_empty(),
        "stopped" => running(containers) > 0,
        "restarted" => true,
        _ => running(containers) < service_count(project, context).await?,
    })
}

/// How many services the project brings up: those named, else all of them.
async fn service_count(project: &Project, context: &ModuleContext<'_>) -> Result<usize, Error> {
    if !project.services.is_empty() {
        return Ok(project.services.len());
    }
    let script = format!(
        "{}\n{} config --services",
        project.choose(),
        project.prefix()
    );
    let output = context.exec(&script, None).await?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .count())
}

pub(crate) async fn run(
    module: &str,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let project = Project::read(module, arguments)?;
    let before = context.exec(&project.query(), None).await?;
    let (tool, containers) = parse(&String::from_utf8_lossy(&before.stdout));
    if tool == "none" {
        return Ok(ModuleResult::failed(format!(
            "no compose tool on the host for {}: install the docker compose plugin, docker-compose or podman-compose",
            project.runtime
        )));
    }
    let result = ModuleResult::ok()
        .with("tool", tool.clone())
        .with("project_name", project.name.clone());
    if context.check_mode {
        let changed = would_change(&project, &containers, context).await?;
        return Ok(ModuleResult {
            changed,
            ..result.with("containers", containers)
        });
    }
    let script = format!("{}\n{} 2>&1", project.choose(), project.command());
    let output = context.exec(&script, None).await?;
    if !output.success() {
        let text = String::from_utf8_lossy(&output.stdout);
        let message = text.lines().skip(1).collect::<Vec<_>>().join("\n");
        let message = format!("`{tool} {}` failed: {}", project.state, message.trim());
        if project.state != "present" {
            return Ok(ModuleResult::failed(message));
        }
        return restore(&project, message, context).await;
    }
    let after = context.exec(&project.query(), None).await?;
    let (_, now) = parse(&String::from_utf8_lossy(&after.stdout));
    if project.state == "present" {
        // Some tools (podman-compose) end well when a container did not
        // start: the services must be running.
        let wanted = service_count(&project, context).await?;
        if running(&now) < wanted {
            let message = format!(
                "`{tool} present`: {} of {wanted} services run after `up`",
                running(&now)
            );
            return restore(&project, message, context).await;
        }
        // The project as it runs now, resolved, is what a failed `up` later
        // brings back (best effort: without it there is nothing to restore).
        let _ = context.exec(&project.snapshot_script(), None).await;
    }
    let changed = project.state == "restarted" || now != containers;
    let diff = Diff {
        before: containers.join("\n") + "\n",
        after: now.join("\n") + "\n",
        before_header: format!("{} (before)", project.name),
        after_header: format!("{} (after)", project.name),
    };
    Ok(ModuleResult {
        changed,
        ..result.with("containers", now)
    }
    .with_diff(context.diff && changed, diff))
}

/// After a failed `up`: the project that last came up comes up again from
/// its snapshot, in the same task. The task fails either way, reporting a
/// change (compose may have replaced containers before it failed).
async fn restore(
    project: &Project,
    message: String,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let restored = context.exec(&project.restore_script(), None).await?;
    let message = match restored.exit_status {
        Some(0) => format!("{message}; the project as it last came up runs again"),
        Some(3) => format!("{message}; no earlier project is known to bring back"),
        _ => format!(
            "{message}; bringing the earlier project back failed too: {}",
            String::from_utf8_lossy(&restored.stdout).trim()
        ),
    };
    crate::releases::note_failure(context, &project.name, "", &message).await;
    let mut failed = ModuleResult::failed(message).with("restored", restored.success());
    failed.changed = true;
    Ok(failed)
}

const COMPOSE: &[A] = &[
    A::new("project_src", Text).required(),
    A::new("project_name", Text),
    A::new("files", List),
    A::new("services", List),
    A::new("state", Text).choices(&["present", "stopped", "restarted", "absent"]),
    A::new("pull", Text).choices(&["always", "missing", "never", "policy"]),
    A::new("remove_orphans", Bool),
    A::new("remove_volumes", Bool),
    A::new("runtime", Text).choices(&["docker", "podman", "auto"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[module!(&["compose", "docker_compose_v2"], &[COMPOSE], named run)];

#[cfg(test)]
mod tests {
    use super::{default_name, parse, running};

    #[test]
    fn the_project_is_named_after_its_directory_as_compose_does() {
        assert_eq!(default_name("/srv/My App/"), "myapp");
        assert_eq!(default_name("/srv/web_1"), "web_1");
    }

    #[test]
    fn containers_are_read_from_docker_and_podman_alike() {
        let (tool, containers) = parse("tool=docker compose\nabc running web-1\ndef exited db-1\n");
        assert_eq!(tool, "docker compose");
        assert_eq!(containers.len(), 2);
        assert_eq!(running(&containers), 1);
        assert_eq!(parse("tool=none\n").0, "none");
    }
}
