//! `tempfile`: a new temporary file or directory on the host, named as
//! Ansible's module names them (`ansible.` and a random part), made by
//! `mktemp` so that no two tasks get the same one.

use drover_playbook::catalog::{ArgumentKind::String as Text, ArgumentSpec as A};
use drover_ssh::quote;
use serde_json::json;

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let directory_wanted = arguments.string("state")?.as_deref() == Some("directory");
    let prefix = arguments
        .string("prefix")?
        .unwrap_or_else(|| "ansible.".to_owned());
    let suffix = arguments.string("suffix")?.unwrap_or_default();
    if prefix.contains('/') || suffix.contains('/') {
        return Ok(ModuleResult::failed(
            "`prefix` and `suffix` cannot hold a `/`",
        ));
    }
    if context.check_mode {
        return Ok(ModuleResult::changed().message("a temporary path would be made"));
    }
    let parent = match arguments.string("path")? {
        Some(path) => quote(&path),
        None => "\"${TMPDIR:-/tmp}\"".to_owned(),
    };
    let template = quote(&format!("{prefix}XXXXXXXX"));
    let suffix = if suffix.is_empty() {
        String::new()
    } else {
        format!(" --suffix={}", quote(&suffix))
    };
    let kind = if directory_wanted { " -d" } else { "" };
    let output = context
        .exec(
            &format!("cd {parent} && mktemp{kind}{suffix} \"$PWD\"/{template}"),
            None,
        )
        .await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "could not make a temporary {}: {}",
            if directory_wanted {
                "directory"
            } else {
                "file"
            },
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Ok(ModuleResult::changed().with("path", json!(path)))
}

const TEMPFILE: &[A] = &[
    A::new("state", Text).choices(&["file", "directory"]),
    A::new("path", Text),
    A::new("prefix", Text),
    A::new("suffix", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["tempfile"], &[TEMPFILE], run)];
