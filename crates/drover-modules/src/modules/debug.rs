//! `debug`: print a message or a variable.

use drover_playbook::catalog::{
    ArgumentKind::{Integer, Raw, String as Text},
    ArgumentSpec as A,
};
use serde_json::Value as Json;

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    if let Some(variable) = arguments.string("var")? {
        let value = context
            .templar
            .evaluate(&variable, context.scope)
            .unwrap_or_else(|_| Json::from("VARIABLE IS NOT DEFINED!"));
        return Ok(ModuleResult::ok().with(&variable, value));
    }
    let message = arguments
        .raw("msg")
        .cloned()
        .unwrap_or_else(|| Json::from("Hello world!"));
    Ok(ModuleResult::ok().with("msg", message))
}

const DEBUG: &[A] = &[
    A::new("msg", Raw),
    A::new("var", Text),
    A::new("verbosity", Integer),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["debug"], &[DEBUG], sync run)];
