//! `set_fact`: sets variables on the host, for the rest of the run. It
//! touches no host: its (templated) arguments come back as
//! `ansible_facts`, which the engine sets on the host as they are.

use drover_playbook::catalog::{ArgumentKind::Bool, ArgumentSpec as A};
use serde_json::{Map, Value as Json};

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

// The registry's signature: every module may fail on its arguments.
#[allow(clippy::unnecessary_wraps)]
fn run(arguments: &Arguments<'_>, _: &ModuleContext<'_>) -> Result<ModuleResult, Error> {
    let facts: Map<String, Json> = arguments
        .all()
        .iter()
        .filter(|(key, _)| key.as_str() != "cacheable")
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Ok(ModuleResult::ok().with("ansible_facts", Json::Object(facts)))
}

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[module!(&["set_fact"], &[&[A::new("cacheable", Bool)]], sync run).any_arguments()];
