//! `fail`: fails the task, with `msg`.

use drover_playbook::catalog::{ArgumentKind::String as Text, ArgumentSpec as A};

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleResult};

fn run(arguments: &Arguments<'_>) -> Result<ModuleResult, Error> {
    Ok(ModuleResult::failed(
        arguments
            .string("msg")?
            .unwrap_or_else(|| "Failed as requested from task".to_owned()),
    ))
}

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[Module::new(
    &["fail"],
    &[A::new("msg", Text)],
    |_, arguments, _| Box::pin(std::future::ready(run(arguments))),
    module_path!(),
)];
