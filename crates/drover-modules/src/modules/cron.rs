//! `cron`: a named job (or environment variable) in a user's crontab or in
//! a file under `/etc/cron.d`. Entries carry the same `#Ansible: NAME`
//! marker line Ansible writes, so either tool manages the other's entries.

use bytes::Bytes;
use std::path::Path;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, PathState, path_state_and_content, write_file};
use crate::{Diff, Error, ModuleContext, ModuleResult};

const MARKER: &str = "#Ansible: ";

/// Replaces (or removes, when `line` is `None`) the entry named `name`;
/// a new entry goes at the end.
pub(crate) fn update(content: &str, name: &str, line: Option<&str>) -> String {
    let marker = format!("{MARKER}{name}");
    let mut lines: Vec<String> = Vec::new();
    let mut found = false;
    let mut source = content.lines();
    while let Some(current) = source.next() {
        if current == marker {
            let _ = source.next();
            if let (Some(line), false) = (line, found) {
                lines.push(marker.clone());
                lines.push(line.to_owned());
            }
            found = true;
            continue;
        }
        lines.push(current.to_owned());
    }
    if let (Some(line), false) = (line, found) {
        lines.push(marker);
        lines.push(line.to_owned());
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

/// The job's line: schedule (or `@special`), the user for `/etc/cron.d`
/// files, and the command; commented out when disabled.
fn job_line(
    arguments: &Arguments<'_>,
    user: Option<&str>,
    in_cron_d: bool,
) -> Result<String, Error> {
    let job = arguments.required("job")?;
    let schedule = match arguments.string("special_time")? {
        Some(special) => format!("@{special}"),
        None => {
            let field = |name: &str| -> Result<String, Error> {
                Ok(arguments.string(name)?.unwrap_or_else(|| "*".to_owned()))
            };
            format!(
                "{} {} {} {} {}",
                field("minute")?,
                field("hour")?,
                field("day")?,
                field("month")?,
                field("weekday")?
            )
        }
    };
    let mut line = if in_cron_d {
        format!("{schedule} {} {job}", user.unwrap_or("root"))
    } else {
        format!("{schedule} {job}")
    };
    if arguments.boolean("disabled", false)? {
        line.insert(0, '#');
    }
    Ok(line)
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let present = arguments.present()?;
    let user = arguments.string("user")?;
    // A relative `cron_file` is in /etc/cron.d.
    let cron_file = arguments
        .string("cron_file")?
        .map(|file| Path::new("/etc/cron.d").join(file).display().to_string());
    let line = if !present {
        None
    } else if arguments.boolean("env", false)? {
        Some(format!("{name}={}", arguments.required("job")?))
    } else {
        Some(job_line(arguments, user.as_deref(), cron_file.is_some())?)
    };
    let user_flag = user
        .as_deref()
        .map_or_else(String::new, |user| format!(" -u {}", quote(user)));
    let (state, old) = current(context, cron_file.as_deref(), &user_flag).await?;
    let new = update(&old, &name, line.as_deref());
    let where_written = cron_file
        .clone()
        .unwrap_or_else(|| format!("crontab of {}", user.as_deref().unwrap_or("the login user")));
    if new == old {
        return Ok(ModuleResult::ok().with("jobs", jobs(&new)));
    }
    let result = ModuleResult::changed().with("jobs", jobs(&new)).with_diff(
        context.diff,
        Diff::of_file(&where_written, old, new.clone()),
    );
    if context.check_mode {
        return Ok(result);
    }
    let output = match (&cron_file, &state) {
        (Some(file), _) if new.is_empty() => {
            context
                .exec(&format!("rm -f -- {}", quote(file)), None)
                .await?
        }
        (Some(file), Some(state)) => {
            let attributes = Attributes {
                mode: Some(0o644),
                ..Attributes::default()
            };
            write_file(context, file, Bytes::from(new), &attributes, state, false).await?;
            return Ok(result);
        }
        _ => {
            context
                .exec(&format!("crontab{user_flag} -"), Some(Bytes::from(new)))
                .await?
        }
    };
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "writing the crontab failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(result)
}

/// The entries as they are: the `cron_file` (with its state), or the
/// user's crontab.
async fn current(
    context: &ModuleContext<'_>,
    cron_file: Option<&str>,
    user_flag: &str,
) -> Result<(Option<PathState>, String), Error> {
    if let Some(file) = cron_file {
        let (state, content) = path_state_and_content(context, file, true).await?;
        return Ok((Some(state), content.unwrap_or_default()));
    }
    let output = context
        .exec(&format!("crontab -l{user_flag} 2>/dev/null; true"), None)
        .await?;
    Ok((None, String::from_utf8_lossy(&output.stdout).into_owned()))
}

/// The names of the managed entries.
fn jobs(content: &str) -> Vec<String> {
    content
        .lines()
        .filter_map(|line| line.strip_prefix(MARKER))
        .map(str::to_owned)
        .collect()
}

const CRON: &[A] = &[
    A::new("name", Text).required(),
    A::new("job", Text).aliases(&["value"]),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("user", Text),
    A::new("minute", Text),
    A::new("hour", Text),
    A::new("day", Text).aliases(&["dom"]),
    A::new("month", Text),
    A::new("weekday", Text).aliases(&["dow"]),
    A::new("special_time", Text).choices(&[
        "annually", "daily", "hourly", "monthly", "reboot", "weekly", "yearly",
    ]),
    A::new("disabled", Bool),
    A::new("env", Bool),
    A::new("cron_file", Text),
    A::new("backup", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["cron"], &[CRON], run)];

#[cfg(test)]
mod tests {
    use super::update;

    #[test]
    fn named_entries_are_added_replaced_and_removed() {
        let added = update("MAILTO=root\n", "backup", Some("0 2 * * * /usr/bin/backup"));
        assert_eq!(
            added,
            "MAILTO=root\n#Ansible: backup\n0 2 * * * /usr/bin/backup\n"
        );
        assert_eq!(
            update(&added, "backup", Some("0 2 * * * /usr/bin/backup")),
            added
        );
        assert_eq!(
            update(&added, "backup", Some("0 3 * * * /usr/bin/backup")),
            "MAILTO=root\n#Ansible: backup\n0 3 * * * /usr/bin/backup\n"
        );
        assert_eq!(update(&added, "backup", None), "MAILTO=root\n");
    }
}
