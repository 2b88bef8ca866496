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
    /// Every inventory host's variables, by name: `hostvars` for hosts
    /// outside the play (a load balancer's template names its backends).
    pub(crate) inventory_hostvars: Arc<Vars>,
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

/// What every host sees alike during one task: `hostvars`, every inventory
/// host's variables, with the facts of the hosts in the play.
pub(crate) fn shared(play: &PlayVars, hosts: &[HostState]) -> Arc<Vars> {
    let mut all = Vars::clone(&play.inventory_hostvars);
    for host in hosts {
        let mut vars = Vars::clone(&host.inventory_vars);
        vars.extend(host.facts.clone());
        vars.insert("inventory_hostname".to_owned(), json!(host.name));
        all.insert(host.name.clone(), Json::Object(vars));
    }
    let mut layer = Vars::new();
    layer.insert("hostvars".to_owned(), Json::Object(all));
    // The hosts of this batch that are still in the play.
    let batch: Vec<Json> = hosts
        .iter()
        .filter(|host| !host.lost())
        .map(|host| json!(host.name))
        .collect();
    layer.insert("ansible_play_batch".to_owned(), Json::Array(batch));
    Arc::new(layer)
}

// A scenario test reads top to bottom as one story; the limit on function
// size is for the product's code.
#[cfg(test)]
#[allow(clippy::too_many_lines)]
mod tests {
    use std::sync::Arc;

    use drover_ssh::{HostSession, Transport};
    use serde_json::{Value as Json, json};

    use super::{PlayVars, layers, shared};
    use crate::Vars;
    use crate::host::HostState;

    fn vars(value: Json) -> Vars {
        let Json::Object(map) = value else {
            panic!("not an object")
        };
        map
    }

    /// Each layer sets `x` and one name of its own; the highest layer must win `x`.
    #[test]
    fn precedence_follows_ansible_order() {
        let layer = |name: &str| Arc::new(vars(json!({"x": name, name: true})));
        let play = PlayVars {
            role_defaults: layer("role_defaults"),
            play_vars: layer("play_vars"),
            vars_files: layer("vars_files"),
            role_vars: layer("role_vars"),
            extra_vars: Arc::new(Vars::new()),
            shared_magic: Arc::new(Vars::new()),
            inventory_hostvars: Arc::new(Vars::new()),
        };
        let mut host = HostState::new(
            "web1".to_owned(),
            Arc::new(HostSession::new(
                Transport::Local,
                drover_ssh::Handshakes::default(),
            )),
            layer("inventory"),
        );
        let templar = drover_template::Templar::new(std::env::temp_dir());
        let winner = |play: &PlayVars, host: &HostState, task: &Vars| {
            let scope = templar.scope(layers(
                play,
                host,
                task,
                &shared(play, std::slice::from_ref(host)),
            ));
            scope.get("x").unwrap().unwrap()
        };
        let task_vars = vars(json!({"x": "task"}));
        assert_eq!(winner(&play, &host, &Vars::new()), json!("role_vars"));
        assert_eq!(winner(&play, &host, &task_vars), json!("task"));
        host.facts.insert("x".to_owned(), json!("set_fact"));
        assert_eq!(winner(&play, &host, &task_vars), json!("set_fact"));
        let play = PlayVars {
            extra_vars: Arc::new(vars(json!({"x": "extra"}))),
            ..play
        };
        assert_eq!(winner(&play, &host, &task_vars), json!("extra"));
        // Without the higher layers, each lower one shows through in order.
        let bare = PlayVars {
            role_vars: Arc::new(Vars::new()),
            vars_files: Arc::new(Vars::new()),
            extra_vars: Arc::new(Vars::new()),
            ..play
        };
        host.facts.clear();
        assert_eq!(winner(&bare, &host, &Vars::new()), json!("play_vars"));
        let bare = PlayVars {
            play_vars: Arc::new(Vars::new()),
            ..bare
        };
        assert_eq!(winner(&bare, &host, &Vars::new()), json!("inventory"));
        host.inventory_vars = Arc::new(Vars::new());
        assert_eq!(winner(&bare, &host, &Vars::new()), json!("role_defaults"));
        let scope = templar.scope(layers(
            &bare,
            &host,
            &Vars::new(),
            &shared(&bare, std::slice::from_ref(&host)),
        ));
        assert_eq!(
            scope.get("inventory_hostname").unwrap().unwrap(),
            json!("web1")
        );
        assert!(scope.get("hostvars").unwrap().unwrap()["web1"].is_object());
    }
}
