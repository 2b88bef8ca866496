//! `include_vars`: variables from YAML or JSON files on this machine (vault
//! files too), set on the host for the rest of the run. A file is looked
//! for in the role's `vars/`, then as the other controller files are; a
//! `dir` is read file by file in name order, later files winning.

use std::path::{Path, PathBuf};

use drover_playbook::catalog::{
    ArgumentKind::{Integer, List, String as Text},
    ArgumentSpec as A,
};
use serde_json::{Map, Value as Json};

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

fn run(arguments: &Arguments<'_>, context: &ModuleContext<'_>) -> Result<ModuleResult, Error> {
    let file = arguments.string_of(&["file", "_raw_params"])?;
    let files = match (file, arguments.string("dir")?) {
        (Some(file), _) => vec![located(context, &file, false)?],
        (None, Some(directory)) => {
            let directory = located(context, &directory, true)?;
            directory_files(arguments, &directory)?
        }
        (None, None) => {
            return Err(Error::Arguments(
                "`include_vars` needs a file (free-form, or `file:`) or `dir:`".to_owned(),
            ));
        }
    };
    let mut variables = Map::new();
    for file in &files {
        let loaded = drover_inventory::read_vars_file(file).map_err(|error| {
            Error::Arguments(format!("include_vars `{}`: {error}", file.display()))
        })?;
        variables.extend(loaded);
    }
    let facts = match arguments.string("name")? {
        Some(name) => Map::from_iter([(name, Json::Object(variables))]),
        None => variables,
    };
    let included: Vec<Json> = files
        .iter()
        .map(|file| Json::from(file.display().to_string()))
        .collect();
    Ok(ModuleResult::ok()
        .with("ansible_facts", Json::Object(facts))
        .with("ansible_included_var_files", Json::Array(included)))
}

/// `name` as a path on this machine: the role's `vars/`, then the other
/// places controller files are looked for.
fn located(context: &ModuleContext<'_>, name: &str, directory: bool) -> Result<PathBuf, Error> {
    context
        .find_file(name, "vars")
        .filter(|path| path.is_dir() == directory)
        .ok_or_else(|| {
            Error::Arguments(format!(
                "include_vars: could not find `{name}` in the role's or playbook's `vars/`"
            ))
        })
}

/// The files of `dir` that `files_matching`, `ignore_files`, `extensions`
/// and `depth` let through, in name order.
fn directory_files(arguments: &Arguments<'_>, directory: &Path) -> Result<Vec<PathBuf>, Error> {
    let matching = arguments
        .string("files_matching")?
        .map(|pattern| regex::Regex::new(&pattern))
        .transpose()
        .map_err(|error| Error::Arguments(format!("`files_matching`: {error}")))?;
    let ignored = arguments.list("ignore_files")?;
    let mut extensions = arguments.list("extensions")?;
    if extensions.is_empty() {
        extensions = vec!["yaml".to_owned(), "yml".to_owned(), "json".to_owned()];
    }
    let depth = arguments.unsigned("depth")?.unwrap_or(0);
    let mut files = Vec::new();
    walk(directory, depth, 1, &mut files);
    files.retain(|file| {
        let name = file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let extension = file
            .extension()
            .map(|extension| extension.to_string_lossy().into_owned())
            .unwrap_or_default();
        extensions.contains(&extension)
            && !ignored.contains(&name)
            && matching
                .as_ref()
                .is_none_or(|pattern| pattern.is_match(&name))
    });
    files.sort();
    Ok(files)
}

/// Every file under `directory`, `depth` levels down at most (0: all).
fn walk(directory: &Path, depth: u64, level: u64, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if depth == 0 || level < depth {
                walk(&path, depth, level + 1, files);
            }
        } else {
            files.push(path);
        }
    }
}

const INCLUDE_VARS: &[A] = &[
    A::new("file", Text),
    A::new("dir", Text),
    A::new("name", Text),
    A::new("files_matching", Text),
    A::new("ignore_files", List),
    A::new("extensions", List),
    A::new("depth", Integer),
    A::new("hash_behaviour", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[module!(&["include_vars"], &[INCLUDE_VARS], sync run).free_form()];
