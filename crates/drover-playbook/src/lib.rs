//! Ansible playbooks, parsed and validated into a typed model.
//!
//! Loading reads the playbook and everything it pulls in statically
//! (`import_playbook`, `import_tasks`, static `include_tasks`, roles and
//! their dependencies), checks every module name, argument, keyword and
//! template, and reports **every** problem with its file, line and column.
//! Nothing runs here.
#![deny(missing_docs)]

mod ansible_names;
mod arguments;
pub mod catalog;
mod checks;
mod error;
mod loader;
mod model;
mod play;
mod rollout;
mod stack_file;
mod task;

use std::path::{Path, PathBuf};

pub use ansible_names::{known_to_ansible, short_name as short_module_name};
pub use catalog::{ArgumentKind, ArgumentSpec, Catalog, ModuleSpec};
pub use error::{Error, Errors, SourceLocation};
pub use model::{
    Action, Asynchronous, Batch, Loop, LoopKind, Play, PlayStrategy, Playbook, Prompt, Role,
    Section, Task, TaskSettings, Vars,
};
pub use rollout::{OnFailure, Rollout, Strategy, parse as parse_rollout};
pub use task::resolve_task_file;

/// Where to look for roles besides `roles/` next to the playbook.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--roles-path` directories.
    pub roles_path: Vec<PathBuf>,
    /// `--strict`: what Ansible finds only when a task runs (an argument
    /// its module does not take, a module drover does not implement, a
    /// file missing on the controller) is an error before any host is
    /// touched, not a warning.
    pub strict: bool,
}

/// Loads and validates the playbook at `path`.
pub fn load(path: &Path, catalog: &dyn Catalog, options: &LoadOptions) -> Result<Playbook, Errors> {
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut loader = loader::Loader::new(catalog, options.roles_path.clone(), base);
    loader.errors.strict = options.strict;
    let mut plays = Vec::new();
    loader.playbook(path, &mut plays, None);
    for play in &plays {
        checks::check_notify(play, &mut loader.errors);
    }
    if plays.is_empty() && loader.errors.is_empty() {
        loader.errors.invalid(
            error::SourceLocation::new(path, 1, 1),
            "the playbook holds no plays",
            Some("start a play with `- hosts: PATTERN` and a `tasks:` list".to_owned()),
        );
    }
    if loader.errors.is_empty() {
        Ok(Playbook {
            path: path.to_path_buf(),
            plays,
            warnings: loader.errors.warnings,
        })
    } else {
        Err(loader.errors)
    }
}

/// Loads a task file at run time (`include_tasks` with a templated name).
pub fn load_task_file(
    path: &Path,
    catalog: &dyn Catalog,
    template: &Task,
) -> Result<Vec<Task>, Errors> {
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut loader = loader::Loader::new(catalog, Vec::new(), base.clone());
    let context = task::Context {
        path: path.to_path_buf(),
        base,
        settings: template.settings.clone(),
        tags: template.tags.clone(),
        when: Vec::new(),
        vars: template.vars.clone(),
        role: template.role.clone(),
        handlers: false,
    };
    let tasks = loader.task_file(path, &context, Some(template.location.clone()));
    if loader.errors.is_empty() {
        Ok(tasks)
    } else {
        Err(loader.errors)
    }
}

#[cfg(test)]
mod tests;
