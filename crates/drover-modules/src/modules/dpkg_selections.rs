//! `dpkg_selections`: a package's dpkg selection (`install`, `hold`,
//! `deinstall`, `purge`), set with `dpkg --set-selections` only when it
//! differs, as Ansible's module does; `hold` keeps apt from upgrading it.

use bytes::Bytes;
use drover_playbook::catalog::{ArgumentKind::String as Text, ArgumentSpec as A};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::{Diff, Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let selection = arguments.required("selection")?;
    let output = context
        .exec_read_only(&format!(
            "dpkg --get-selections {} 2>/dev/null; true",
            quote(&name)
        ))
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(current) = stdout
        .lines()
        .find_map(|line| {
            line.split_whitespace()
                .nth(1)
                .filter(|_| line.starts_with(name.as_str()))
        })
        .map(str::to_owned)
    else {
        return Ok(ModuleResult::failed(format!(
            "Failed to find package '{name}' to perform selection '{selection}'."
        )));
    };
    if current == selection {
        return Ok(ModuleResult::ok()
            .with("before", current)
            .with("after", selection));
    }
    let result = ModuleResult::changed()
        .with("before", current.clone())
        .with("after", selection.clone())
        .with_diff(
            context.diff,
            Diff {
                before: format!("{current}\n"),
                after: format!("{selection}\n"),
                before_header: name.clone(),
                after_header: name.clone(),
            },
        );
    if context.check_mode {
        return Ok(result);
    }
    let output = context
        .exec(
            "dpkg --set-selections",
            Some(Bytes::from(format!("{name} {selection}\n"))),
        )
        .await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "dpkg --set-selections failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(result)
}

const DPKG_SELECTIONS: &[A] = &[
    A::new("name", Text).required(),
    A::new("selection", Text)
        .choices(&["install", "hold", "deinstall", "purge"])
        .required(),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["dpkg_selections"], &[DPKG_SELECTIONS], run)];
