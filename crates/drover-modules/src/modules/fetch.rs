//! `fetch`: copy a file from the host to the controller.

use std::path::PathBuf;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};

use super::Module;
use crate::arguments::Arguments;
use crate::remote::checksum;
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let source = arguments.required("src")?;
    let destination = arguments.required("dest")?;
    let host = context
        .scope
        .get("inventory_hostname")
        .ok()
        .flatten()
        .and_then(|name| name.as_str().map(str::to_owned))
        .unwrap_or_default();
    let local: PathBuf = if arguments.boolean("flat", false)? {
        let mut path = PathBuf::from(&destination);
        if destination.ends_with('/') {
            path.push(source.rsplit('/').next().unwrap_or(&source));
        }
        path
    } else {
        PathBuf::from(&destination)
            .join(&host)
            .join(source.trim_start_matches('/'))
    };
    let output = context
        .session
        .download(&source, context.become_user.clone())
        .await?;
    if !output.success() {
        if arguments.boolean("fail_on_missing", true)? {
            return Ok(ModuleResult::failed(format!(
                "the remote file `{source}` cannot be read"
            )));
        }
        return Ok(ModuleResult::ok().message("the remote file does not exist"));
    }
    let wanted = checksum(&output.stdout);
    let current = std::fs::read(&local).ok().map(|bytes| checksum(&bytes));
    let mut result = ModuleResult::ok()
        .with("dest", local.display().to_string())
        .with("checksum", wanted.clone());
    if current.as_deref() != Some(wanted.as_str()) {
        result.changed = true;
        if !context.check_mode {
            if let Some(parent) = local.parent() {
                std::fs::create_dir_all(parent).map_err(|error| {
                    Error::Arguments(format!("cannot create `{}`: {error}", parent.display()))
                })?;
            }
            std::fs::write(&local, &output.stdout).map_err(|error| {
                Error::Arguments(format!("cannot write `{}`: {error}", local.display()))
            })?;
        }
    }
    Ok(result)
}

const FETCH: &[A] = &[
    A::new("src", Text).required(),
    A::new("dest", Text).required(),
    A::new("flat", Bool),
    A::new("fail_on_missing", Bool),
    A::new("validate_checksum", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["fetch"], &[FETCH], run)];
