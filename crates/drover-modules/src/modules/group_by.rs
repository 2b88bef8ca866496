//! `group_by`: puts each host into the group its `key` names, for the
//! plays that follow. It touches no host: it returns the group
//! (`add_group`), and the engine adds the host to it.

use drover_playbook::catalog::{
    ArgumentKind::{List, String as Text},
    ArgumentSpec as A,
};
use serde_json::json;

use super::Module;
use super::add_host::names;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// `group_by`: puts the host into the group `key` names (under `parents`).
#[allow(clippy::unnecessary_wraps)]
fn run(arguments: &Arguments<'_>, _: &ModuleContext<'_>) -> Result<ModuleResult, Error> {
    let all = arguments.all();
    let Some(key) = all.get("key").map(drover_template::as_text) else {
        return Ok(ModuleResult::failed("group_by needs `key`"));
    };
    // As Ansible: spaces in a group name become underscores.
    let group = key.trim().replace(' ', "_");
    let parents = all
        .get("parents")
        .map_or_else(|| vec!["all".to_owned()], names);
    Ok(ModuleResult::changed()
        .with("add_group", json!(group))
        .with("parent_groups", json!(parents)))
}

const GROUP_BY: &[A] = &[A::new("key", Text).required(), A::new("parents", List)];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["group_by"], &[GROUP_BY], sync run)];
