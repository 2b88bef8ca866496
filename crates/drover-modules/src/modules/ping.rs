//! `ping`: proves, as Ansible's does, that the host answers and runs commands.

use drover_playbook::catalog::{ArgumentKind::String as Text, ArgumentSpec as A};
use serde_json::Value as Json;

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let output = context.exec("true", None).await?;
    if !output.success() {
        return Ok(ModuleResult::failed("the host did not run `true`"));
    }
    let data = arguments
        .string("data")?
        .unwrap_or_else(|| "pong".to_owned());
    Ok(ModuleResult::ok().with("ping", Json::from(data)))
}

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["ping"], &[&[A::new("data", Text)]], run)];
