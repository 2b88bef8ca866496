//! `timezone`: the system time zone (and whether the hardware clock keeps
//! local time), set with `timedatectl` where systemd runs, as Ansible's
//! module does, or else in `/etc/timezone` and the `/etc/localtime` link.

use std::fmt::Write as _;

use drover_playbook::catalog::{ArgumentKind::String as Text, ArgumentSpec as A};
use drover_ssh::quote;
use serde_json::json;

use super::Module;
use crate::arguments::Arguments;
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// Prints how the zone is kept (`systemd` or `files`), the zone, whether
/// the hardware clock keeps local time, and whether `name` is a known zone.
fn query_script(name: Option<&str>) -> String {
    let mut script = String::from(
        "if zone=$(timedatectl show -p Timezone --value 2>/dev/null) && [ -n \"$zone\" ]; then\n\
         echo \"systemd $zone\"; echo \"rtc $(timedatectl show -p LocalRTC --value 2>/dev/null)\"\n\
         else zone=$(cat /etc/timezone 2>/dev/null || readlink /etc/localtime | sed 's|.*/zoneinfo/||')\n\
         echo \"files $zone\"; grep -q '^UTC' /etc/adjtime 2>/dev/null && echo 'rtc no' || echo 'rtc unknown'; fi\n",
    );
    if let Some(name) = name {
        let _ = writeln!(
            script,
            "[ -f /usr/share/zoneinfo/{} ] && echo known",
            quote(name)
        );
    }
    script
}

/// What [`query_script`] found.
#[derive(Debug, PartialEq, Eq)]
struct Current {
    systemd: bool,
    zone: String,
    local_rtc: Option<bool>,
    known: bool,
}

fn parse(output: &str) -> Current {
    let mut current = Current {
        systemd: false,
        zone: String::new(),
        local_rtc: None,
        known: false,
    };
    for line in output.lines() {
        match line.split_once(' ') {
            Some(("systemd", zone)) => (current.systemd, current.zone) = (true, zone.to_owned()),
            Some(("files", zone)) => current.zone = zone.trim().to_owned(),
            Some(("rtc", "yes")) => current.local_rtc = Some(true),
            Some(("rtc", "no")) => current.local_rtc = Some(false),
            _ if line == "known" => current.known = true,
            _ => {}
        }
    }
    current
}

/// The commands that set `zone` (and the clock) the way the host keeps them.
fn set_script(current: &Current, zone: Option<&str>, local_rtc: Option<bool>) -> String {
    let mut script = Vec::new();
    if let Some(zone) = zone {
        let quoted = quote(zone);
        script.push(if current.systemd {
            format!("timedatectl set-timezone {quoted}")
        } else {
            format!(
                "ln -sfn /usr/share/zoneinfo/{quoted} /etc/localtime && \
                 if [ -e /etc/timezone ]; then echo {quoted} > /etc/timezone; fi"
            )
        });
    }
    if let Some(local) = local_rtc {
        let yes = if local { "yes" } else { "no" };
        script.push(if current.systemd {
            format!("timedatectl set-local-rtc {yes}")
        } else {
            let mode = if local { "--localtime" } else { "--utc" };
            format!("hwclock --systohc {mode}")
        });
    }
    script.join(" && ")
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let zone = arguments.string("name")?;
    let local_rtc = match arguments.string("hwclock")?.as_deref() {
        None => None,
        Some("local" | "localtime") => Some(true),
        Some(_) => Some(false),
    };
    if zone.is_none() && local_rtc.is_none() {
        return Err(Error::Arguments(
            "`timezone` needs `name` or `hwclock`".to_owned(),
        ));
    }
    let output = context
        .exec_read_only(&query_script(zone.as_deref()))
        .await?;
    let current = parse(&String::from_utf8_lossy(&output.stdout));
    if zone.is_some() && !current.known {
        return Ok(ModuleResult::failed(format!(
            "`{}` is not a time zone this host knows (no /usr/share/zoneinfo/{0}); is tzdata installed?",
            zone.as_deref().unwrap_or_default()
        )));
    }
    let zone = zone.filter(|zone| *zone != current.zone);
    let local_rtc = local_rtc.filter(|local| current.local_rtc != Some(*local));
    let before = json!({"name": current.zone, "hwclock": rtc_name(current.local_rtc)});
    if zone.is_none() && local_rtc.is_none() {
        return Ok(ModuleResult::ok().with("diff", json!({"before": before, "after": before})));
    }
    let after = json!({
        "name": zone.clone().unwrap_or_else(|| current.zone.clone()),
        "hwclock": rtc_name(local_rtc.or(current.local_rtc)),
    });
    let result = ModuleResult::changed().with_diff(
        context.diff,
        Diff {
            before: format!("{before:#}\n"),
            after: format!("{after:#}\n"),
            before_header: "time zone".to_owned(),
            after_header: "time zone".to_owned(),
        },
    );
    if context.check_mode {
        return Ok(result);
    }
    let output = context
        .exec(&set_script(&current, zone.as_deref(), local_rtc), None)
        .await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "setting the time zone failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(result)
}

fn rtc_name(local: Option<bool>) -> &'static str {
    match local {
        Some(true) => "local",
        Some(false) => "UTC",
        None => "unknown",
    }
}

const TIMEZONE: &[A] = &[
    A::new("name", Text),
    A::new("hwclock", Text)
        .aliases(&["rtc"])
        .choices(&["local", "UTC"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["timezone"], &[TIMEZONE], run)];

#[cfg(test)]
mod tests {
    use super::{Current, parse, set_script};

    #[test]
    fn systemd_hosts_are_set_with_timedatectl_others_through_files() {
        let current = parse("systemd Etc/UTC\nrtc no\nknown\n");
        assert_eq!(
            current,
            Current {
                systemd: true,
                zone: "Etc/UTC".to_owned(),
                local_rtc: Some(false),
                known: true
            }
        );
        assert_eq!(
            set_script(&current, Some("Europe/Berlin"), Some(true)),
            "timedatectl set-timezone Europe/Berlin && timedatectl set-local-rtc yes"
        );
        let files = parse("files America/New_York\nrtc unknown\n");
        assert!(!files.systemd && !files.known);
        assert!(
            set_script(&files, Some("Asia/Tokyo"), None)
                .starts_with("ln -sfn /usr/share/zoneinfo/Asia/Tokyo /etc/localtime")
        );
    }
}
