//! Facts a module returned (`setup`, `gather_facts`), merged into a host's variables.

use serde_json::{Map, Value as Json};

use crate::Vars;

/// Adds `gathered` (un-prefixed names, as under `ansible_facts`) to a host's
/// facts: each as a top-level `ansible_NAME` variable and under `ansible_facts`,
/// as Ansible injects them.
pub(crate) fn merge(facts: &mut Vars, gathered: &Map<String, Json>) {
    let gathered = &drover_template::untrusted_map(gathered);
    for (key, value) in gathered {
        // `ansible_local` keeps its name; every other fact gains the prefix.
        let name = if key.starts_with("ansible_") {
            key.clone()
        } else {
            format!("ansible_{key}")
        };
        facts.insert(name, value.clone());
    }
    let namespace = facts
        .entry("ansible_facts".to_owned())
        .or_insert_with(|| Json::Object(Map::new()));
    if let Json::Object(namespace) = namespace {
        namespace.extend(gathered.clone());
    } else {
        *namespace = Json::Object(gathered.clone());
    }
}

/// Adds facts another module returned (`getent_passwd`, `packages`) as
/// Ansible injects them: top-level under their own names, and under
/// `ansible_facts` without an `ansible_` prefix.
pub(crate) fn inject(facts: &mut Vars, returned: &Map<String, Json>) {
    let returned = drover_template::untrusted_map(returned);
    for (key, value) in &returned {
        facts.insert(key.clone(), value.clone());
    }
    let namespace = facts
        .entry("ansible_facts".to_owned())
        .or_insert_with(|| Json::Object(Map::new()));
    if let Json::Object(namespace) = namespace {
        for (key, value) in returned {
            let name = key.strip_prefix("ansible_").unwrap_or(&key).to_owned();
            namespace.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn gathered_facts_are_top_level_and_namespaced() {
        let mut facts = crate::Vars::new();
        let gathered = json!({"os_family": "Debian"});
        super::merge(&mut facts, gathered.as_object().unwrap());
        assert_eq!(facts["ansible_os_family"], "Debian");
        assert_eq!(facts["ansible_facts"]["os_family"], "Debian");
    }
}
