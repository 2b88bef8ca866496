//! `assert`: fail unless every condition holds.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Raw, String as Text},
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
    let conditions: Vec<String> = match arguments.raw("that") {
        Some(Json::Array(items)) => items.iter().map(drover_template::as_text).collect(),
        Some(Json::String(text)) => vec![text.clone()],
        Some(Json::Bool(flag)) => vec![flag.to_string()],
        _ => return Err(Error::Arguments("`assert` needs `that`".to_owned())),
    };
    for condition in &conditions {
        match context.templar.condition(condition, context.scope) {
            Ok(true) => {}
            Ok(false) => {
                let message = arguments
                    .string("fail_msg")?
                    .unwrap_or_else(|| "Assertion failed".to_owned());
                return Ok(ModuleResult::failed(message)
                    .with("assertion", condition.clone())
                    .with("evaluated_to", false));
            }
            Err(error) => {
                return Ok(ModuleResult::failed(format!(
                    "the condition `{condition}` could not be evaluated: {error}"
                )));
            }
        }
    }
    let message = arguments
        .string("success_msg")?
        .unwrap_or_else(|| "All assertions passed".to_owned());
    Ok(ModuleResult::ok().with("msg", message))
}

const ASSERT: &[A] = &[
    A::new("that", Raw).required(),
    A::new("fail_msg", Text).aliases(&["msg"]),
    A::new("success_msg", Text),
    A::new("quiet", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["assert"], &[ASSERT], sync run)];
