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
    let arguments = arguments::Arguments::new(name, arguments);
    match name {
        "command" | "shell" | "raw" => modules::command::run(name, &arguments, context).await,
        "script" => modules::script::run(&arguments, context).await,
        "copy" => modules::copy::run(&arguments, context).await,
        "template" => modules::template::run(&arguments, context).await,
        "file" => modules::file::run(&arguments, context).await,
        "lineinfile" => modules::lineinfile::run(&arguments, context).await,
        "blockinfile" => modules::blockinfile::run(&arguments, context).await,
        "stat" => modules::stat::run(&arguments, context).await,
        "fetch" => modules::fetch::run(&arguments, context).await,
        "wait_for" => modules::wait_for::run(&arguments, context).await,
        "apt" => modules::apt::run(&arguments, context).await,
        "dnf" | "yum" => modules::dnf::run(name, &arguments, context).await,
        "service" | "systemd" | "systemd_service" => {
            modules::service::run(&arguments, context).await
        }
        "user" => modules::user::run(&arguments, context).await,
        "group" => modules::group::run(&arguments, context).await,
        "authorized_key" => modules::authorized_key::run(&arguments, context).await,
        "uri" => modules::uri::run(&arguments, context).await,
        "cron" => modules::cron::run(&arguments, context).await,
        "get_url" => modules::get_url::run(&arguments, context).await,
        "git" => modules::git::run(&arguments, context).await,
        "hostname" => modules::hostname::run(&arguments, context).await,
        "sysctl" => modules::sysctl::run(&arguments, context).await,
        "unarchive" => modules::unarchive::run(&arguments, context).await,
        "container" | "docker_container" | "podman_container" => {
            modules::container::run(name, &arguments, context).await
        }
        "container_image" | "docker_image" | "podman_image" => {
            modules::container_image::run(name, &arguments, context).await
        }
        "compose" | "docker_compose_v2" => modules::compose::run(name, &arguments, context).await,
        "quadlet" => modules::quadlet::run(&arguments, context).await,
        "health_check" => modules::health_check::run(&arguments, context).await,
        "feature" => modules::feature::run(&arguments, context).await,
        "package" => modules::package::run(&arguments, context).await,
        "setup" | "gather_facts" => modules::setup::run(&arguments, context).await,
        // Like Ansible's, `ping` proves the host answers (and runs commands).
        "ping" => {
            let output = context.exec("true", None).await?;
            if output.success() {
                Ok(ModuleResult::ok().with(
                    "ping",
                    Json::from(
                        arguments
                            .string("data")?
                            .unwrap_or_else(|| "pong".to_owned()),
                    ),
                ))
            } else {
                Ok(ModuleResult::failed("the host did not run `true`"))
            }
        }
        "debug" => modules::debug::run(&arguments, context),
        "assert" => modules::assert::run(&arguments, context),
        "fail" => Ok(ModuleResult::failed(
            arguments
                .string("msg")?
                .unwrap_or_else(|| "Failed as requested from task".to_owned()),
        )),
        "pause" => modules::pause::run(&arguments, context).await,
        other => Err(Error::Arguments(format!(
            "module `{other}` cannot run here"
        ))),
    }
}
