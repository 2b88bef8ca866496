//! Dynamic inventories: an executable `-i` source is run with `--list` and
//! its JSON read as Ansible reads it (groups with `hosts`, `vars` and
//! `children`, and host variables under `_meta.hostvars`, or from
//! `--host NAME` when the script gives no `_meta`).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::error::Error;
use crate::inventory::{GroupId, Inventory, Vars};

/// Runs the inventory script at `path` and adds what it prints to `inventory`.
pub(crate) fn parse(inventory: &mut Inventory, path: &Path) -> Result<(), Error> {
    let listing = run(path, &["--list"])?;
    let Value::Object(groups) = listing else {
        return Err(output_error(path, "the output is not a JSON object"));
    };
    let mut host_variables: Option<Vars> = None;
    let mut named_hosts: Vec<String> = Vec::new();
    for (name, data) in groups {
        if name == "_meta" {
            match data.get("hostvars") {
                Some(Value::Object(hostvars)) => host_variables = Some(hostvars.clone()),
                Some(_) | None => {
                    return Err(output_error(path, "`_meta.hostvars` is not an object"));
                }
            }
            continue;
        }
        let group = inventory.add_group(&name);
        read_group(inventory, path, group, &name, data, &mut named_hosts)?;
    }
    for name in named_hosts {
        let variables = match &host_variables {
            Some(all) => all
                .get(&name)
                .cloned()
                .unwrap_or(Value::Object(Vars::new())),
            None => run(path, &["--host", &name])?,
        };
        let Value::Object(variables) = variables else {
            return Err(output_error(
                path,
                &format!("the variables of host `{name}` are not a JSON object"),
            ));
        };
        let host = inventory.add_host(&name, None, None, Some(path));
        for (key, value) in variables {
            inventory.set_host_variable(host, &key, value);
        }
    }
    Ok(())
}

/// A group's entry as a mapping of `hosts`, `vars` and `children`: old
/// scripts print a bare list of hosts, or a bare mapping of variables.
fn group_data(name: &str, data: Value) -> Vars {
    match data {
        Value::Object(map)
            if ["hosts", "vars", "children"]
                .iter()
                .any(|key| map.contains_key(*key)) =>
        {
            map
        }
        Value::Object(map) => {
            let mut wrapped = Vars::new();
            wrapped.insert("hosts".to_owned(), Value::Array(vec![Value::from(name)]));
            wrapped.insert("vars".to_owned(), Value::Object(map));
            wrapped
        }
        other => {
            let mut wrapped = Vars::new();
            wrapped.insert("hosts".to_owned(), other);
            wrapped
        }
    }
}

fn read_group(
    inventory: &mut Inventory,
    path: &Path,
    group: GroupId,
    name: &str,
    data: Value,
    named_hosts: &mut Vec<String>,
) -> Result<(), Error> {
    let mut data = group_data(name, data);
    if let Some(hosts) = data.remove("hosts") {
        let Value::Array(hosts) = hosts else {
            return Err(output_error(path, &format!("`{name}.hosts` is not a list")));
        };
        for host in hosts {
            let Value::String(host) = host else {
                return Err(output_error(
                    path,
                    &format!("`{name}.hosts` holds a non-string"),
                ));
            };
            inventory.add_host(&host, Some(group), None, Some(path));
            if !named_hosts.contains(&host) {
                named_hosts.push(host);
            }
        }
    }
    if let Some(variables) = data.remove("vars") {
        let Value::Object(variables) = variables else {
            return Err(output_error(
                path,
                &format!("`{name}.vars` is not an object"),
            ));
        };
        for (key, value) in variables {
            inventory.set_group_variable(group, &key, value);
        }
    }
    if let Some(children) = data.remove("children") {
        let Value::Array(children) = children else {
            return Err(output_error(
                path,
                &format!("`{name}.children` is not a list"),
            ));
        };
        for child in children {
            let Value::String(child) = child else {
                return Err(output_error(
                    path,
                    &format!("`{name}.children` holds a non-string"),
                ));
            };
            let child = inventory.add_group(&child);
            inventory.add_child(group, child, None)?;
        }
    }
    Ok(())
}

fn output_error(path: &Path, message: &str) -> Error {
    Error::ScriptOutput {
        path: path.to_path_buf(),
        message: message.to_owned(),
    }
}

fn run(path: &Path, arguments: &[&str]) -> Result<Value, Error> {
    let failed = |message: String, stderr: String| Error::ScriptFailed {
        path: path.to_path_buf(),
        message,
        stderr,
    };
    let output = Command::new(path)
        .args(arguments)
        .output()
        .map_err(|error| failed(error.to_string(), String::new()))?;
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if !output.status.success() {
        return Err(failed(format!("it exited with {}", output.status), stderr));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    if arguments.first() == Some(&"--host") && stdout.trim().is_empty() {
        return Ok(Value::Object(Vars::new()));
    }
    serde_json::from_str(&stdout).map_err(|error| output_error(path, &error.to_string()))
}
