//! `copy`: put content (inline or from a local file) at a path, idempotently by checksum.

use std::fmt::Write as _;

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, Raw, String as Text},
    ArgumentSpec as A,
};

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, PathKind, checksum, converge, path_state_and_content};
use crate::{Diff, Error, ModuleContext, ModuleResult, PathQuery};
use serde_json::Value as Json;

/// Diffs of files larger than this are not shown.
const DIFF_LIMIT: u64 = 1 << 20;

/// What `run` asks first, when it reads the destination whole: inline
/// content, or a controller file, small enough (for a read-ahead).
pub(crate) fn first_query(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Option<PathQuery> {
    let destination = arguments.required("dest").ok()?;
    if destination.ends_with('/') || arguments.boolean("remote_src", false).ok()? {
        return None;
    }
    let size = match (arguments.raw("content"), arguments.string("src").ok()?) {
        (Some(Json::String(text)), _) => text.len(),
        (None, Some(source)) => {
            let local = context.find_file(&source, "files")?;
            usize::try_from(
                std::fs::metadata(local)
                    .ok()
                    .filter(std::fs::Metadata::is_file)?
                    .len(),
            )
            .ok()?
        }
        (Some(_), _) | (None, None) => return None,
    };
    (context.diff || size <= SMALL_FILE).then(|| PathQuery::content(destination))
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let mut destination = arguments.required("dest")?;
    if arguments.boolean("remote_src", false)? {
        return copy_on_host(arguments, context, &destination).await;
    }
    let (content, source_name) = match (arguments.raw("content"), arguments.string("src")?) {
        (Some(content), _) => {
            // Ansible writes a mapping or a list as `json.dumps` does, and
            // anything else as Python's `str` (`True`, `5`).
            let text = match content {
                Json::String(text) => text.clone(),
                Json::Bool(flag) => if *flag { "True" } else { "False" }.to_owned(),
                Json::Null => "None".to_owned(),
                Json::Number(number) => number.to_string(),
                other => drover_template::python_json(other),
            };
            (Bytes::from(text), None)
        }
        (None, Some(source)) => {
            let Some(local) = context.find_file(&source, "files") else {
                return Ok(ModuleResult::failed(format!(
                    "could not find `{source}` (looked in files/ and next to the playbook)"
                )));
            };
            if local.is_dir() {
                return Ok(ModuleResult::failed(
                    "copying directories is not supported yet; use a file or `synchronize`",
                ));
            }
            let bytes = std::fs::read(&local).map_err(|error| {
                Error::Arguments(format!("cannot read `{}`: {error}", local.display()))
            })?;
            (
                Bytes::from(bytes),
                local
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned()),
            )
        }
        (None, None) => {
            return Err(Error::Arguments(
                "`copy` needs `src` or `content`".to_owned(),
            ));
        }
    };
    if destination.ends_with('/') {
        destination.push_str(source_name.as_deref().unwrap_or("content"));
    }
    put(
        arguments,
        context,
        &destination,
        content,
        source_name.as_deref(),
    )
    .await
}

/// Files up to this size are compared by content rather than by checksum.
pub(crate) const SMALL_FILE: usize = 64 * 1024;

/// Writes `content` to `destination` if it differs, then sets mode, owner and group.
///
/// One round trip to look (two when the destination is a directory), one
/// to write, attributes included; none more when nothing changes.
pub(crate) async fn put(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    destination: &str,
    content: Bytes,
    source_name: Option<&str>,
) -> Result<ModuleResult, Error> {
    let mut destination = destination.to_owned();
    // A small file is compared by reading the destination whole: one process
    // on the host (`tar`) rather than two (`stat`, `sha1sum`).
    let read_whole = context.diff || content.len() <= SMALL_FILE;
    let (mut state, mut before) = path_state_and_content(context, &destination, read_whole).await?;
    if state.kind == PathKind::Directory {
        destination = format!(
            "{}/{}",
            destination.trim_end_matches('/'),
            source_name.unwrap_or("content")
        );
        (state, before) = path_state_and_content(context, &destination, read_whole).await?;
    }
    let attributes = Attributes::from_arguments(arguments, &state)?;
    let wanted = checksum(&content);
    let force = arguments.boolean("force", true)?;
    let mut result = ModuleResult::ok()
        .with("dest", destination.clone())
        .with("checksum", wanted.clone());
    let differs = state.checksum.as_deref() != Some(wanted.as_str()) && (force || !state.exists());
    if differs && context.diff {
        let before = before
            .filter(|_| state.size <= DIFF_LIMIT)
            .unwrap_or_default();
        let after = if content.len() as u64 <= DIFF_LIMIT {
            String::from_utf8_lossy(&content).into_owned()
        } else {
            String::new()
        };
        result = result.with_diff(
            true,
            Diff {
                before,
                after,
                before_header: destination.clone(),
                after_header: destination.clone(),
            },
        );
    }
    let backup = arguments.boolean("backup", false)?;
    converge(
        context,
        &destination,
        &state,
        &attributes,
        backup,
        differs.then_some(content),
        result,
    )
    .await
}

/// `remote_src: yes`: the source is a file on the host; copy it there,
/// atomically, when its checksum differs from the destination's.
async fn copy_on_host(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    destination: &str,
) -> Result<ModuleResult, Error> {
    let source = arguments.required("src")?;
    let source_state = crate::remote::path_state(context, &source).await?;
    if source_state.kind != PathKind::File {
        return Ok(ModuleResult::failed(format!(
            "`{source}` is not a file on the host"
        )));
    }
    let state = crate::remote::path_state(context, destination).await?;
    let attributes = Attributes::from_arguments(arguments, &state)?;
    let result = ModuleResult::ok()
        .with("dest", destination.to_owned())
        .with(
            "checksum",
            source_state.checksum.clone().unwrap_or_default(),
        );
    if state.checksum == source_state.checksum {
        return converge(
            context,
            destination,
            &state,
            &attributes,
            false,
            None,
            result,
        )
        .await;
    }
    let mut result = result;
    result.changed = true;
    if context.check_mode {
        return Ok(result);
    }
    let mode = attributes.mode.unwrap_or(if state.exists() {
        state.mode
    } else {
        source_state.mode
    });
    let script = copy_script(&source, destination, mode, &attributes);
    let output = context.exec(&script, None).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    Ok(result)
}

/// Copies `source` to a temporary file beside `destination`, gives it its
/// mode and owners, and renames it into place.
fn copy_script(source: &str, destination: &str, mode: u32, attributes: &Attributes) -> String {
    let directory = destination.rsplit_once('/').map_or(".", |(directory, _)| {
        if directory.is_empty() { "/" } else { directory }
    });
    let mut script = format!(
        "tmp=$(mktemp {template}) || exit 1; trap 'rm -f \"$tmp\"' EXIT; cp -- {source} \"$tmp\" && chmod {mode:o} \"$tmp\"",
        template = drover_ssh::quote(&format!("{directory}/.drover.XXXXXXXX")),
        source = drover_ssh::quote(source),
    );
    if let Some(owner) = &attributes.owner {
        let _ = write!(script, " && chown {} \"$tmp\"", drover_ssh::quote(owner));
    }
    if let Some(group) = &attributes.group {
        let _ = write!(script, " && chgrp {} \"$tmp\"", drover_ssh::quote(group));
    }
    let _ = write!(
        script,
        " && mv -f \"$tmp\" {} && trap - EXIT",
        drover_ssh::quote(destination)
    );
    script
}

const COPY: &[A] = &[
    A::new("src", Text),
    A::new("content", Raw),
    A::new("dest", Text).required(),
    A::new("backup", Bool),
    A::new("force", Bool).aliases(&["thirsty"]),
    A::new("validate", Text),
    A::new("remote_src", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[module!(&["copy"], &[COPY, &super::ATTRIBUTES], run).reads_ahead(first_query)];
