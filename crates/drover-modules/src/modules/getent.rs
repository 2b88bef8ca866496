//! `getent`: entries of a name service database (`passwd`, `group`,
//! `hosts`, `services` ...) as `getent_DATABASE` facts, keyed by each
//! entry's first field, as Ansible's module gives them.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::{Map, Value as Json, json};

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// The databases whose fields `:` separates; others split on white space.
const COLON_SEPARATED: [&str; 4] = ["passwd", "shadow", "group", "gshadow"];

/// `getent` output as Ansible shapes it: the first field is the key, the
/// rest its list; a repeated key keeps its first entry, and the others go
/// to `getent_DATABASE_dups`, a list per key.
fn entries(output: &str, split: Option<&str>) -> (Map<String, Json>, Map<String, Json>) {
    let mut found = Map::new();
    let mut duplicates = Map::new();
    for line in output.lines().filter(|line| !line.is_empty()) {
        let fields: Vec<&str> = match split {
            Some(separator) => line.split(separator).collect(),
            None => line.split_whitespace().collect(),
        };
        let Some((key, rest)) = fields.split_first() else {
            continue;
        };
        let value = json!(rest);
        if found.contains_key(*key) {
            if let Some(list) = duplicates
                .entry((*key).to_owned())
                .or_insert_with(|| json!([]))
                .as_array_mut()
            {
                list.push(value);
            }
        } else {
            found.insert((*key).to_owned(), value);
        }
    }
    (found, duplicates)
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let database = arguments.required("database")?;
    let key = arguments.string("key")?;
    let mut command = format!("getent {}", quote(&database));
    if let Some(service) = arguments.string("service")? {
        command = format!("getent -s {} {}", quote(&service), quote(&database));
    }
    if let Some(key) = &key {
        command.push(' ');
        command.push_str(&quote(key));
    }
    let output = context.exec_read_only(&command).await?;
    let split = arguments.string("split")?.or_else(|| {
        COLON_SEPARATED
            .contains(&database.as_str())
            .then(|| ":".to_owned())
    });
    match output.exit_status {
        Some(0) => {}
        Some(2) if !arguments.boolean("fail_key", true)? => {}
        Some(2) => {
            return Ok(ModuleResult::failed(
                "One or more supplied key could not be found in the database.",
            ));
        }
        Some(1) => {
            return Ok(ModuleResult::failed(
                "Missing arguments, or database unknown.",
            ));
        }
        Some(3) => {
            return Ok(ModuleResult::failed(
                "Enumeration not supported on this database.",
            ));
        }
        _ => {
            return Ok(ModuleResult::failed(format!(
                "getent failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
    }
    let (found, duplicates) = entries(&String::from_utf8_lossy(&output.stdout), split.as_deref());
    let mut facts = Map::new();
    facts.insert(format!("getent_{database}"), Json::Object(found));
    if !duplicates.is_empty() {
        facts.insert(format!("getent_{database}_dups"), Json::Object(duplicates));
    }
    Ok(ModuleResult::ok().with("ansible_facts", Json::Object(facts)))
}

const GETENT: &[A] = &[
    A::new("database", Text).required(),
    A::new("key", Text),
    A::new("split", Text),
    A::new("fail_key", Bool),
    A::new("service", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["getent"], &[GETENT], run)];

#[cfg(test)]
mod tests {
    use super::entries;

    #[test]
    fn entries_are_keyed_by_their_first_field() {
        let (found, duplicates) = entries(
            "root:x:0:0:root:/root:/bin/bash\nbin:x:2:2::/bin:\n",
            Some(":"),
        );
        assert_eq!(found["root"][4], "/root");
        assert_eq!(found["bin"][3], "");
        assert!(duplicates.is_empty());
        let (found, duplicates) = entries("127.0.0.1 localhost\n127.0.0.1 other\n", None);
        assert_eq!(found["127.0.0.1"][0], "localhost");
        assert_eq!(duplicates["127.0.0.1"][0][0], "other");
    }
}
