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
mod packages;
mod read_ahead;
mod registry;
pub mod releases;
mod remote;
mod replacement;
mod tar_header;

pub use catalog::ModuleCatalog;
pub use context::{Diff, ModuleContext, ModuleResult};
pub use read_ahead::{PathQuery, first_query, read_ahead, reads_ahead};

use serde_json::Value as Json;

/// Why a module could not run at all (as opposed to reporting a failure).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The host could not be reached.
    #[error(transparent)]
    Transport(#[from] drover_ssh::Error),
    /// An argument is missing or has the wrong type after templating.
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
        return Err(Error::Arguments(format!("module `{name}` cannot run here")));
    };
    let arguments = arguments::Arguments::new(name, arguments);
    (module.run)(name, &arguments, context).await
}
