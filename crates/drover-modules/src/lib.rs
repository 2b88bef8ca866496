//! drover's modules.
//!
//! Each module is one file under `modules/`. It takes typed arguments,
//! queries the host's current state, works out what would change, and
//! changes it only if needed. In check mode it stops after the plan; in diff
//! mode it reports the change as a unified diff. Nothing but a POSIX shell
//! and core utilities is needed on the host.
#![deny(missing_docs)]

mod arguments;
mod catalog;
mod context;
pub mod facts;
pub mod health;
mod image_archive;
mod modules;
mod mysql;

/// Where a task started with `async` and `poll: 0` keeps its output on
/// the host, for `async_status`.
pub use modules::async_status::JOB_DIRECTORY as ASYNC_JOB_DIRECTORY;
mod packages;
mod postgres;
mod read_ahead;
mod registry;
pub mod releases;
mod remote;
mod replacement;
mod swarm;
mod swarm_rollout;
mod tar_header;

pub use catalog::ModuleCatalog;
pub use context::{Diff, ModuleContext, ModuleResult};
pub use read_ahead::{
    PathQuery, first_query, follows_changes_sent_ahead, opaque, reads_ahead, rider, touches_host,
};

use serde_json::Value as Json;

/// Why a module could not run at all (as opposed to reporting a failure).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The host could not be reached.
    #[error(transparent)]
    Transport(#[from] drover_ssh::Error),
    /// The host could not do what the task asked (a file it would not
    /// write, a `validate` command that refused the content).
    #[error("{0}")]
    Failed(String),
    /// An argument is missing or has the wrong type after templating
    /// (naming the module and the argument; a hint follows `\nhint: `).
    #[error("{0}")]
    Arguments(String),
}

/// Runs module `name` with (already templated) `arguments`.
pub async fn run(
    name: &str,
    arguments: &serde_json::Map<String, Json>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let Some(module) = modules::find(name) else {
        return Err(Error::Arguments(format!(
            "`{name}` is not implemented by drover\nhint: see `docs/modules.md` for the modules drover has"
        )));
    };
    // Every name in the registry has its spec in the catalog.
    let spec = catalog::spec(name);
    if let Some(spec) = spec {
        check(spec, arguments)?;
    }
    let arguments = arguments::Arguments::with_spec(name, spec, arguments);
    (module.run)(name, &arguments, context).await
}

/// Checks the rendered `arguments` against the module's table, as the
/// playbook's literal ones were checked when it was loaded: a template
/// that renders to a value the module does not take fails here, naming
/// the module and the argument, before the module runs.
fn check(
    spec: &drover_playbook::catalog::ModuleSpec,
    arguments: &serde_json::Map<String, Json>,
) -> Result<(), Error> {
    let problems = drover_playbook::catalog::check_arguments(spec, arguments);
    if problems.is_empty() {
        return Ok(());
    }
    let (messages, hints): (Vec<String>, Vec<Option<String>>) = problems
        .into_iter()
        .map(|problem| (problem.message, problem.hint))
        .unzip();
    let hints: Vec<String> = hints.into_iter().flatten().collect();
    let mut message = messages.join("; ");
    if !hints.is_empty() {
        message = format!("{message}\nhint: {}", hints.join("; "));
    }
    Err(Error::Arguments(message))
}
