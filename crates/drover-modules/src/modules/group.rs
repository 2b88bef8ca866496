//! `group`: a local group present (with its gid) or absent.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// The `groupadd`, `groupmod` or `groupdel` command bringing the group
/// (`current_gid`, `None` when it does not exist) to what is asked.
pub(crate) fn plan(
    name: &str,
    present: bool,
    gid: Option<&str>,
    system: bool,
    current_gid: Option<&str>,
) -> Option<String> {
    let quoted = quote(name);
    match (present, current_gid) {
        (false, None) => None,
        (false, Some(_)) => Some(format!("groupdel {quoted}")),
        (true, None) => {
            let mut command = String::from("groupadd");
            if let Some(gid) = gid {
                command.push_str(" -g ");
                command.push_str(&quote(gid));
            }
            if system {
                command.push_str(" -r");
            }
            Some(format!("{command} {quoted}"))
        }
        (true, Some(current)) => gid
            .filter(|gid| *gid != current)
            .map(|gid| format!("groupmod -g {} {quoted}", quote(gid))),
    }
}

/// The group's gid before and after, for diff mode.
fn group_diff(name: &str, present: bool, gid: Option<&str>, current: Option<&str>) -> Diff {
    let state =
        |gid: Option<&str>| gid.map_or_else(|| "absent\n".to_owned(), |gid| format!("gid={gid}\n"));
    let after = present.then(|| gid.or(current).unwrap_or_default());
    Diff::of_file(&format!("group {name}"), state(current), state(after))
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let present = arguments.present()?;
    let gid = arguments.string("gid")?;
    let output = context
        .exec(
            &format!("getent group {} | cut -d: -f3", quote(&name)),
            None,
        )
        .await?;
    let current = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let current = (!current.is_empty()).then_some(current);
    let command = plan(
        &name,
        present,
        gid.as_deref(),
        arguments.boolean("system", false)?,
        current.as_deref(),
    );
    let mut result = if command.is_some() {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    };
    result = result
        .with("name", name.clone())
        .with("state", if present { "present" } else { "absent" })
        .with_diff(
            context.diff && command.is_some(),
            group_diff(&name, present, gid.as_deref(), current.as_deref()),
        );
    if let (Some(command), false) = (&command, context.check_mode) {
        let output = context.exec(command, None).await?;
        if !output.success() {
            return Ok(ModuleResult::failed(format!(
                "`{command}` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
    }
    if let Some(gid) = gid.or(current).filter(|_| present) {
        result = result.with(
            "gid",
            gid.parse::<u64>().map_or_else(
                |_| serde_json::Value::from(gid.clone()),
                serde_json::Value::from,
            ),
        );
    }
    Ok(result)
}

const GROUP: &[A] = &[
    A::new("name", Text).required(),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("gid", Integer),
    A::new("system", Bool),
    A::new("force", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["group"], &[GROUP], run)];

#[cfg(test)]
mod tests {
    #[test]
    fn groups_change_only_when_they_differ() {
        assert_eq!(
            super::plan("web", true, None, false, None).as_deref(),
            Some("groupadd web")
        );
        assert_eq!(
            super::plan("web", true, Some("2000"), true, None).as_deref(),
            Some("groupadd -g 2000 -r web")
        );
        assert_eq!(
            super::plan("web", true, Some("2000"), false, Some("2000")),
            None
        );
        assert_eq!(
            super::plan("web", true, Some("2001"), false, Some("2000")).as_deref(),
            Some("groupmod -g 2001 web")
        );
        assert_eq!(
            super::plan("web", false, None, false, Some("2000")).as_deref(),
            Some("groupdel web")
        );
        assert_eq!(super::plan("web", false, None, false, None), None);
    }
}
