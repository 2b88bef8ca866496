//! `drover inventory`: the inventory as `ansible-inventory` shows it.

use std::io::Write;

use anyhow::Context as _;
use drover_inventory::{Inventory, to_ansible_json};
use serde_json::Value;

use crate::cli::InventoryArgs;
use crate::diagnostics::inventory_report;
use crate::exit;
use crate::output::print_warnings;

/// Loads the inventory and prints what was asked for.
pub(crate) fn run(arguments: &InventoryArgs) -> anyhow::Result<u8> {
    let inventory = match Inventory::load(&arguments.inventory.sources) {
        Ok(inventory) => inventory,
        Err(error) => {
            eprint_report(&inventory_report(&error));
            return Ok(exit::USAGE_OR_CONFIG);
        }
    };
    print_warnings(inventory.warnings());
    let text = if arguments.list {
        let mut document = inventory.to_list_json();
        if let Some(limit) = &arguments.limit {
            restrict(&inventory, &mut document, limit)?;
        }
        render(&document, arguments.yaml)?
    } else if let Some(group) = &arguments.graph {
        let Some(graph) = inventory.graph(group) else {
            eprint_report(&miette::miette!(
                help = "`--graph` takes a group name; `drover inventory --graph` draws `all`",
                "no group named `{group}`"
            ));
            return Ok(exit::USAGE_OR_CONFIG);
        };
        graph
    } else if let Some(host) = &arguments.host {
        let selection = inventory
            .select(host)
            .map_err(|error| anyhow::anyhow!("{}", inventory_report(&error)))?;
        let [id] = selection.hosts.as_slice() else {
            eprint_report(&miette::miette!(
                help = "give one host's exact name; `drover inventory --list` shows them",
                "`{host}` does not name exactly one host"
            ));
            return Ok(exit::USAGE_OR_CONFIG);
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

/// Drops hosts outside `limit` from a `--list` document, as `ansible-inventory --limit` does.
fn restrict(inventory: &Inventory, document: &mut Value, limit: &str) -> anyhow::Result<()> {
    let selection = inventory
        .select(limit)
        .map_err(|error| anyhow::anyhow!("{}", inventory_report(&error)))?;
    let keep: Vec<&str> = selection
        .hosts
        .iter()
        .map(|id| inventory.host(*id).name.as_str())
        .collect();
    let Value::Object(groups) = document else {
        return Ok(());
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
    Ok(())
}

fn render(value: &Value, yaml: bool) -> anyhow::Result<String> {
    if yaml {
        let text = serde_saphyr::to_string(value).context("cannot render YAML")?;
        Ok(text.trim_end().to_owned())
    } else {
        Ok(to_ansible_json(value))
    }
}

fn eprint_report(report: &miette::Report) {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{report:?}");
    }
}
