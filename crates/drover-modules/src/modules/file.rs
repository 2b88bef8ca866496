//! `file`: directories, empty files, links, removal, and attributes.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use std::fmt::Write as _;

use crate::remote::{path_metadata, set_attributes};
use crate::{Diff, Error, ModuleContext, ModuleResult, PathQuery};

/// What `run` asks first: the path's metadata (for a read-ahead).
pub(crate) fn first_query(arguments: &Arguments<'_>) -> Option<PathQuery> {
    arguments
        .required(&["path", "dest", "name"])
        .ok()
        .map(PathQuery::metadata)
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let path = arguments.required(&["path", "dest", "name"])?;
    let state = path_metadata(context, &path).await?;
    let wanted = match arguments.string("state")? {
        Some(state) => state,
        None if arguments.string("src")?.is_some() => "link".to_owned(),
        None if state.exists() => state.kind.clone(),
        None => "file".to_owned(),
    };
    let mode = arguments.mode()?;
    let owner = arguments.string("owner")?;
    let group = arguments.string("group")?;
    let recurse = arguments.boolean("recurse", false)?;
    let mut result = ModuleResult::ok()
        .with("path", path.clone())
        .with("state", wanted.clone());
    let command = match wanted.as_str() {
        "absent" => state
            .exists()
            .then(|| format!("rm -rf -- {}", quote(&path))),
        "directory" => match state.kind.as_str() {
            "directory" => None,
            "absent" => Some(format!("mkdir -p -- {}", quote(&path))),
            other => {
                return Ok(ModuleResult::failed(format!(
                    "`{path}` exists and is a {other}, not a directory"
                )));
            }
        },
        "touch" => Some(format!("touch -- {}", quote(&path))),
        "file" => match state.kind.as_str() {
            "file" => None,
            "absent" => {
                return Ok(ModuleResult::failed(format!(
                    "file `{path}` does not exist; use `state: touch` to create it"
                )));
            }
            other => {
                return Ok(ModuleResult::failed(format!(
                    "`{path}` is a {other}, not a file"
                )));
            }
        },
        "link" => {
            let source = arguments.required(&["src"])?;
            if state.target.as_deref() == Some(source.as_str()) {
                None
            } else {
                Some(format!("ln -sfn -- {} {}", quote(&source), quote(&path)))
            }
        }
        "hard" => {
            return Err(Error::Arguments(
                "`state: hard` is not supported yet".to_owned(),
            ));
        }
        other => {
            return Err(Error::Arguments(format!(
                "`state` of `file` cannot be `{other}`"
            )));
        }
    };
    if let Some(command) = command {
        result.changed = true;
        let after = if wanted == "touch" && state.exists() {
            state.kind.clone()
        } else {
            wanted.clone()
        };
        result = result.with_diff(
            context.diff,
            Diff {
                before: format!("state: {}\n", state.kind),
                after: format!("state: {after}\n"),
                before_header: path.clone(),
                after_header: path.clone(),
            },
        );
        if !context.check_mode {
            // Create and set attributes in the same round trip.
            let mut command = command;
            if matches!(wanted.as_str(), "directory" | "touch") {
                if let Some(mode) = mode {
                    let _ = write!(command, " && chmod {mode:o} -- {}", quote(&path));
                }
                if let Some(owner) = &owner {
                    let _ = write!(command, " && chown {} -- {}", quote(owner), quote(&path));
                }
                if let Some(group) = &group {
                    let _ = write!(command, " && chgrp {} -- {}", quote(group), quote(&path));
                }
            }
            let output = context.exec(&command, None).await?;
            if !output.success() {
                return Ok(ModuleResult::failed(
                    String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                ));
            }
        }
        return Ok(result);
    }
    if wanted != "absent" && wanted != "link" && state.exists() {
        let changed = set_attributes(
            context,
            &path,
            &state,
            mode,
            owner.as_deref(),
            group.as_deref(),
            recurse && state.kind == "directory",
        )
        .await?;
        result.changed |= changed;
    }
    Ok(result)
}

const FILE: &[A] = &[
    A::new("path", Text).aliases(&["dest", "name"]).required(),
    A::new("state", Text).choices(&["absent", "directory", "file", "hard", "link", "touch"]),
    A::new("src", Text),
    A::new("recurse", Bool),
    A::new("follow", Bool),
    super::ATTRIBUTES[0],
    super::ATTRIBUTES[1],
    super::ATTRIBUTES[2],
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[Module::new(
    &["file"],
    FILE,
    |_, arguments, context| Box::pin(run(arguments, context)),
    module_path!(),
)
.reads_ahead(|arguments, _| first_query(arguments))];
