//! `drover inventory`: the inventory as `ansible-inventory` shows it.

use std::io::Write;

use anyhow::Context as _;
use drover_inventory::{Inventory, Selection, to_ansible_json};
use serde_json::Value;

use crate::cli::InventoryArgs;
use crate::diagnostics::inventory_report;
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::output::{eprint_report, print_warnings};

/// Loads the inventory and prints what was asked for.
pub(crate) fn run(arguments: &InventoryArgs) -> Outcome {
    let inventory = match Inventory::load(&arguments.inventory.sources) {
        Ok(inventory) => inventory,
        Err(error) => {
            eprint_report(&inventory_report(&error));
            return Err(Failure::Reported);
        }
    };
    print_warnings(inventory.warnings());
    let text = if arguments.list {
        let mut document = inventory.to_list_json();
        if let Some(limit) = &arguments.limit {
            let Some(selection) = select(&inventory, limit) else {
                return Err(Failure::Reported);
            };
            restrict(&inventory, &mut document, &selection);
        }
        render(&document, arguments.yaml)?
    } else if let Some(group) = &arguments.graph {
        let Some(graph) = inventory.graph(group) else {
            eprint_report(&miette::miette!(
                help = "`--graph` takes a group name; `drover inventory --graph` draws `all`",
                "no group named `{group}`"
            ));
            return Err(Failure::Reported);
        };
        graph
    } else if let Some(host) = &arguments.host {
        let Some(selection) = select(&inventory, host) else {
            return Err(Failure::Reported);
        };
        let [id] = selection.hosts.as_slice() else {
            eprint_report(&miette::miette!(
                help = "give one host's exact name; `drover inventory --list` shows them",
                "`{host}` does not name exactly one host"
            ));
            return Err(Failure::Reported);
        };
        render(
            &Value::Object(inventory.host_variables(*id)),
            arguments.yaml,
        )?
    } else {
        unreachable!("clap requires one of --list, --graph and --host")
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}").context("cannot write to stdout")?;
    Ok(exit::SUCCESS)
}

/// Evaluates a host pattern, reporting a bad one on stderr.
fn select(inventory: &Inventory, pattern: &str) -> Option<Selection> {
    match inventory.select(pattern) {
        Ok(selection) => Some(selection),
        Err(error) => {
            eprint_report(&inventory_report(&error));
            None
        }
    }
}

/// Drops hosts outside the selection from a `--list` document, as `ansible-inventory --limit` does.
fn restrict(inventory: &Inventory, document: &mut Value, selection: &Selection) {
    let keep: Vec<&str> = selection
        .hosts
        .iter()
        .map(|id| inventory.host(*id).name.as_str())
        .collect();
    let Value::Object(groups) = document else {
        return;
    };
    for (name, group) in groups.iter_mut() {
        if name == "_meta" {
            if let Some(Value::Object(hostvars)) = group.get_mut("hostvars") {
                hostvars.retain(|host, _| keep.contains(&host.as_str()));
            }
        } else if let Some(Value::Array(hosts)) = group.get_mut("hosts") {
            hosts.retain(|host| host.as_str().is_some_and(|host| keep.contains(&host)));
        }
    }
    groups.retain(|name, group| {
        name == "_meta"
            || group.as_object().is_some_and(|entry| {
                entry
                    .get("hosts")
                    .and_then(Value::as_array)
                    .is_some_and(|hosts| !hosts.is_empty())
                    || entry.contains_key("children")
            })
    });
}

fn render(value: &Value, yaml: bool) -> anyhow::Result<String> {
    if yaml {
        let text = serde_saphyr::to_string(value).context("cannot render YAML")?;
        Ok(text.trim_end().to_owned())
    } else {
        Ok(to_ansible_json(value))
    }
}
