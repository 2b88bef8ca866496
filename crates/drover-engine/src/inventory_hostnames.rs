//! `with_inventory_hostnames`: the one `with_*` loop that needs the
//! inventory; the others are `drover_template::loop_lookups`.

use serde_json::Value as Json;

/// `with_inventory_hostnames`: the inventory's hosts matching each pattern.
pub(crate) fn inventory_hostnames(
    value: &Json,
    inventory: &drover_inventory::Inventory,
) -> Result<Vec<Json>, String> {
    let mut items = Vec::new();
    let terms = match value {
        Json::Array(items) => items.clone(),
        Json::Null => Vec::new(),
        other => vec![other.clone()],
    };
    for term in terms {
        let pattern = drover_template::as_text(&term);
        let selection = inventory
            .select(&pattern)
            .map_err(|error| format!("with_inventory_hostnames `{pattern}`: {error}"))?;
        for host in selection.hosts {
            let name = Json::from(inventory.host(host).name.as_str());
            if !items.contains(&name) {
                items.push(name);
            }
        }
    }
    Ok(items)
}
