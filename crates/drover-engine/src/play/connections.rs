//! Each host's session for a play: its transport, from its inventory
//! variables and the play's connection settings, and the handshake budgets
//! per SSH server shared by every session, delegated ones included.

use std::sync::Arc;

use drover_playbook::Play;
use drover_ssh::{ConnectionDefaults, Handshakes, HostSession};
use serde_json::Value as Json;

use crate::host::HostState;

pub(crate) struct Connections {
    inventory: Arc<super::inventory_cell::InventoryCell>,
    defaults: ConnectionDefaults,
    handshakes: Handshakes,
    /// Each host's facts at the end of its last play: as in Ansible, what
    /// one play gathered or set is there for the plays after it.
    facts: std::sync::Mutex<std::collections::HashMap<String, crate::Vars>>,
}

impl Connections {
    pub(crate) fn new(
        inventory: Arc<super::inventory_cell::InventoryCell>,
        defaults: ConnectionDefaults,
    ) -> Self {
        Self {
            inventory,
            defaults,
            handshakes: Handshakes::default(),
            facts: std::sync::Mutex::default(),
        }
    }

    /// The facts (and registered results) a host kept from an earlier play.
    pub(crate) fn kept_facts(&self, name: &str) -> Option<crate::Vars> {
        self.facts.lock().ok()?.get(name).cloned()
    }

    /// Keeps the hosts' facts for the plays that follow.
    pub(crate) fn keep_facts(&self, states: &[HostState]) {
        let mut kept = self.facts.lock().expect("facts lock");
        for state in states {
            kept.insert(state.name.clone(), state.facts.clone());
        }
    }

    /// Host `id` at the start of `play`: its variables (with
    /// `group_names`) and a session not yet connected.
    pub(crate) fn host_state(&self, id: usize, play: &Play) -> HostState {
        let inventory = self.inventory.current();
        let name = inventory.host(id).name.clone();
        let mut vars = inventory.host_variables(id);
        // As Ansible: every group but `all`, sorted.
        let mut group_names: Vec<String> = inventory
            .host_groups(id)
            .into_iter()
            .map(|group| inventory.group(group).name.clone())
            .filter(|group| group != "all")
            .collect();
        group_names.sort();
        let group_names: Vec<Json> = group_names.into_iter().map(Json::from).collect();
        vars.insert("group_names".to_owned(), Json::Array(group_names));
        if play.settings.connection.as_deref() == Some("local") {
            vars.insert("ansible_connection".to_owned(), Json::from("local"));
        }
        let mut defaults = self.defaults.clone();
        if let Some(user) = &play.settings.remote_user {
            defaults.user = Some(user.clone());
        }
        let transport = drover_ssh::transport_for(&name, &vars, &defaults);
        let facts = self.facts.lock().expect("facts lock").get(&name).cloned();
        let mut state = HostState::new(
            name,
            Arc::new(HostSession::new(transport, self.handshakes.clone())),
            Arc::new(vars),
        );
        if let Some(facts) = facts {
            state.facts = facts;
        }
        state
    }

    /// A session to `target` for `delegate_to`: an inventory host with its
    /// variables, or any other name as it is.
    pub(crate) fn delegate(&self, target: &str) -> Arc<HostSession> {
        let inventory = self.inventory.current();
        let vars = inventory
            .host_id(target)
            .map(|id| inventory.host_variables(id))
            .unwrap_or_default();
        let transport = drover_ssh::transport_for(target, &vars, &self.defaults);
        Arc::new(HostSession::new(transport, self.handshakes.clone()))
    }
}
