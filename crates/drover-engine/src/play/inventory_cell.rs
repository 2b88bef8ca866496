//! The inventory a run works from, which `add_host` and `group_by` change
//! as the run goes: each change makes a new inventory, and whoever asks
//! afterwards gets it. A play that is running keeps its hosts.

use std::sync::{Arc, RwLock};

use drover_inventory::Inventory;
use serde_json::Value as Json;

/// The run's current inventory.
pub(crate) struct InventoryCell(RwLock<Arc<Inventory>>);

impl InventoryCell {
    pub(crate) fn new(inventory: Arc<Inventory>) -> Self {
        Self(RwLock::new(inventory))
    }

    /// The inventory as it stands now.
    pub(crate) fn current(&self) -> Arc<Inventory> {
        self.0.read().expect("inventory lock").clone()
    }

    /// Applies what `add_host` and `group_by` results ask for: a host with
    /// its groups and variables, or a host put into a group (under parents).
    pub(crate) fn apply(&self, host: &str, result: &Json) {
        let adds_host = result.get("add_host");
        let adds_group = result.get("add_group").and_then(Json::as_str);
        if adds_host.is_none() && adds_group.is_none() {
            return;
        }
        let mut guard = self.0.write().expect("inventory lock");
        let mut inventory = (**guard).clone();
        if let Some(added) = adds_host {
            add_host(&mut inventory, added);
        }
        if let Some(group) = adds_group {
            let parents: Vec<&str> = result
                .get("parent_groups")
                .and_then(Json::as_array)
                .map_or_else(
                    || vec!["all"],
                    |parents| parents.iter().filter_map(Json::as_str).collect(),
                );
            let child = inventory.add_group(group);
            for parent in parents {
                if parent != "all" {
                    let parent = inventory.add_group(parent);
                    // A relation that would loop is left out, as at load.
                    let _ = inventory.add_child(parent, child, None);
                }
            }
            if inventory.host_id(host).is_some() {
                inventory.add_host(host, Some(child), None, None);
            }
        }
        *guard = Arc::new(inventory);
    }
}

/// `add_host`'s `{host_name, groups, host_vars}`.
fn add_host(inventory: &mut Inventory, added: &Json) {
    let Some(name) = added.get("host_name").and_then(Json::as_str) else {
        return;
    };
    let id = inventory.add_host(name, None, None, None);
    if let Some(Json::Object(vars)) = added.get("host_vars") {
        for (key, value) in vars {
            inventory.set_host_variable(id, key, value.clone());
        }
    }
    for group in added
        .get("groups")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
    {
        let group = inventory.add_group(group);
        inventory.add_host(name, Some(group), None, None);
    }
}
