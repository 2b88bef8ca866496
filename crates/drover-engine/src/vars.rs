//! The variables a task sees, layered in Ansible's order of precedence.
//!
//! Lowest first: role defaults; inventory (groups, group_vars, host_vars);
//! play `vars`; `vars_files`; role `vars`; block and task `vars` (role
//! parameters included); magic variables; facts, `set_fact` and registered
//! results; `-e` extra vars.

use std::sync::Arc;

use serde_json::{Value as Json, json};

use crate::Vars;
use crate::host::HostState;

/// What every host of a play shares.
pub(crate) struct PlayVars {
    pub(crate) role_defaults: Arc<Vars>,
    pub(crate) play_vars: Arc<Vars>,
    pub(crate) vars_files: Arc<Vars>,
    pub(crate) role_vars: Arc<Vars>,
    pub(crate) extra_vars: Arc<Vars>,
    /// `groups`, `play_hosts`, `ansible_check_mode` ...
    pub(crate) shared_magic: Arc<Vars>,
}

/// The layers for `host` running a task with `task_vars`.
///
/// `shared` holds what every host of the task sees alike (`hostvars`, built
/// once per task); with the play's magic it is shared, not copied per host,
/// so a task on N hosts costs O(N), not O(N²).
pub(crate) fn layers(
    play: &PlayVars,
    host: &HostState,
    task_vars: &Vars,
    shared: &Arc<Vars>,
) -> Vec<Arc<Vars>> {
    let mut magic = Vars::new();
    magic.insert(
        "inventory_hostname".to_owned(),
        Json::from(host.name.clone()),
    );
    magic.insert(
        "inventory_hostname_short".to_owned(),
        Json::from(host.name.split('.').next().unwrap_or_default()),
    );
    if let Some(groups) = host.inventory_vars.get("group_names") {
        magic.insert("group_names".to_owned(), groups.clone());
    }
    vec![
        play.role_defaults.clone(),
        host.inventory_vars.clone(),
        play.play_vars.clone(),
        play.vars_files.clone(),
        play.role_vars.clone(),
        Arc::new(task_vars.clone()),
        play.shared_magic.clone(),
        shared.clone(),
        Arc::new(magic),
        Arc::new(host.facts.clone()),
        play.extra_vars.clone(),
    ]
}

/// What every host sees alike during one task: `hostvars`, every host's
/// inventory variables and facts.
pub(crate) fn shared(hosts: &[HostState]) -> Arc<Vars> {
    let mut all = serde_json::Map::new();
    for host in hosts {
        let mut vars = Vars::clone(&host.inventory_vars);
        vars.extend(host.facts.clone());
        vars.insert("inventory_hostname".to_owned(), json!(host.name));
        all.insert(host.name.clone(), Json::Object(vars));
    }
    let mut layer = Vars::new();
    layer.insert("hostvars".to_owned(), Json::Object(all));
    Arc::new(layer)
}
