//! `debug`: print a message or a variable.

use serde_json::Value as Json;

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
