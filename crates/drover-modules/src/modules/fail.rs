//! `fail`: fails the task, with `msg`.

use drover_playbook::catalog::{ArgumentKind::String as Text, ArgumentSpec as A};

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

fn run(arguments: &Arguments<'_>, _: &ModuleContext<'_>) -> Result<ModuleResult, Error> {
    Ok(ModuleResult::failed(
        arguments
            .string("msg")?
            .unwrap_or_else(|| "Failed as requested from task".to_owned()),
    ))
}

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["fail"], &[&[A::new("msg", Text)]], sync run)];
