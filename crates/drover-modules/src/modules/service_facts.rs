//! `service_facts`: every service the host knows, as `ansible_facts.services`
//! keyed by unit name, with its state (`running`, `stopped`, ...), its
//! status (`enabled`, `disabled`, `static`, `not-found` ...) and its source,
//! shaped as Ansible's module shapes them; from systemd in one command, or
//! from `service --status-all` where systemd does not run.

use serde_json::{Map, Value as Json, json};

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// Loaded units, then unit files, then the active state of every unit file
/// (one `systemctl show` for all, where Ansible runs one per unit not loaded).
const SCRIPT: &str = "\
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
echo '## units'; systemctl list-units --no-pager --type service --all --plain --no-legend
echo '## files'; files=$(systemctl list-unit-files --no-pager --type service --all --plain --no-legend)
printf '%s\\n' \"$files\"
echo '## active'; systemctl show --property=Id,ActiveState $(printf '%s\\n' \"$files\" | awk '/\\.service/ && $1 !~ /@\\.service$/ {print $1}') 2>/dev/null
else echo '## sysv'; service --status-all 2>&1; fi
";

/// Unit statuses that the unit files never overwrite, as in Ansible.
const BAD_STATES: [&str; 3] = ["not-found", "masked", "failed"];

fn section<'a>(output: &'a str, name: &str) -> impl Iterator<Item = &'a str> {
    output
        .split("## ")
        .find_map(|part| part.strip_prefix(name))
        .unwrap_or_default()
        .lines()
        .skip(1)
}

/// The services from what [`SCRIPT`] printed.
fn services(output: &str) -> Map<String, Json> {
    let mut services = Map::new();
    for line in section(output, "units").filter(|line| line.contains(".service")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 4 {
            continue;
        }
        let status = BAD_STATES
            .iter()
            .find(|bad| fields[..fields.len() - 1].contains(bad))
            .map_or(fields[2], |bad| *bad);
        let state = if fields[3] == "running" {
            "running"
        } else {
            "stopped"
        };
        services.insert(
            fields[0].to_owned(),
            entry(fields[0], state, status, "systemd"),
        );
    }
    let active = active_states(output);
    for line in section(output, "files").filter(|line| line.contains(".service")) {
        let mut fields = line.split_whitespace();
        let (Some(name), Some(status)) = (fields.next(), fields.next()) else {
            continue;
        };
        match services.get_mut(name) {
            None => {
                let state = active.get(name).map_or("unknown", String::as_str);
                services.insert(name.to_owned(), entry(name, state, status, "systemd"));
            }
            Some(known) if !BAD_STATES.contains(&known["status"].as_str().unwrap_or_default()) => {
                known["status"] = json!(status);
            }
            Some(_) => {}
        }
    }
    for line in section(output, "sysv") {
        // `[ + ]  ssh`, `[ - ]  cron`, `[ ? ]  hwclock.sh`
        let Some((mark, name)) = line.trim().split_once(']') else {
            continue;
        };
        let state = match mark.trim_start_matches('[').trim() {
            "+" => "running",
            "-" => "stopped",
            _ => "unknown",
        };
        let name = name.trim();
        services.insert(
            name.to_owned(),
            json!({"name": name, "state": state, "source": "sysv"}),
        );
    }
    services
}

/// `Id → ActiveState` from `systemctl show`'s blocks.
fn active_states(output: &str) -> std::collections::HashMap<String, String> {
    let mut states = std::collections::HashMap::new();
    let mut id = None;
    for line in section(output, "active") {
        if let Some(value) = line.strip_prefix("Id=") {
            id = Some(value.to_owned());
        } else if let (Some(value), Some(name)) = (line.strip_prefix("ActiveState="), id.take()) {
            states.insert(name, value.to_owned());
        }
    }
    states
}

fn entry(name: &str, state: &str, status: &str, source: &str) -> Json {
    json!({"name": name, "state": state, "status": status, "source": source})
}

pub(crate) async fn run(
    _arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let output = context.exec_read_only(SCRIPT).await?;
    let services = services(&String::from_utf8_lossy(&output.stdout));
    Ok(ModuleResult::ok().with("ansible_facts", json!({ "services": services })))
}

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["service_facts"], &[], run)];

#[cfg(test)]
mod tests {
    use super::services;

    #[test]
    fn units_then_unit_files_as_ansible_merges_them() {
        let output = "## units\n\
            cron.service loaded active running Regular background program processing daemon\n\
            gone.service not-found inactive dead gone.service\n\
            ssh.service loaded inactive dead OpenBSD Secure Shell server\n\
            ## files\n\
            cron.service enabled enabled\n\
            gone.service disabled enabled\n\
            ntp.service disabled enabled\n\
            getty@.service enabled enabled\n\
            ## active\n\
            Id=ntp.service\nActiveState=inactive\n\n";
        let found = services(output);
        assert_eq!(found["cron.service"]["state"], "running");
        assert_eq!(found["cron.service"]["status"], "enabled");
        assert_eq!(found["gone.service"]["status"], "not-found");
        assert_eq!(found["ssh.service"]["state"], "stopped");
        assert_eq!(found["ntp.service"]["state"], "inactive");
        assert_eq!(found["ntp.service"]["status"], "disabled");
        assert_eq!(found["getty@.service"]["state"], "unknown");
        let sysv = services("## sysv\n [ + ]  ssh\n [ - ]  cron\n");
        assert_eq!(sysv["ssh"]["state"], "running");
        assert_eq!(sysv["cron"]["source"], "sysv");
    }
}
