//! The YAML (and JSON) inventory format: groups holding `hosts`, `vars` and
//! `children`, nested to any depth, read with Ansible's rules and leniency
//! (a string where a mapping belongs names one entry; unknown keys warn).

use std::path::Path;

use crate::error::Error;
use crate::ini::expand_host_pattern;
use crate::inventory::{GroupId, Inventory};
use crate::yaml_tree::{self, Node, NodeValue};

/// Reads the YAML inventory `text` (the contents of `path`) into `inventory`.
pub(crate) fn parse(inventory: &mut Inventory, text: &str, path: &Path) -> Result<(), Error> {
    let root = yaml_tree::parse(text, path)?;
    let NodeValue::Mapping(groups) = &root.value else {
        let message = if root.value == NodeValue::Null {
            "the YAML inventory is empty".to_owned()
        } else {
            format!(
                "a YAML inventory must be a mapping of groups, found a {}",
                root.type_name()
            )
        };
        return Err(syntax(path, &root, message, "start the file with `all:`"));
    };
    if let Some((key, _)) = groups.iter().find(|(key, _)| key.key_text() == "plugin") {
        return Err(syntax(
            path,
            key,
            "inventory plugin configuration files are not supported".to_owned(),
            "generate the inventory with a script that prints JSON, and pass the script with `-i`",
        ));
    }
    let mut reader = Reader { inventory, path };
    for (name, data) in groups {
        reader.group(name, data)?;
    }
    Ok(())
}

fn syntax(path: &Path, node: &Node, message: String, hint: &str) -> Error {
    Error::Syntax {
        location: node
            .location(path)
            .with_length(node.as_scalar_text().map_or(1, |text| text.chars().count())),
        message,
        hint: Some(hint.to_owned()),
    }
}

struct Reader<'a> {
    inventory: &'a mut Inventory,
    path: &'a Path,
}

impl Reader<'_> {
    fn warn(&mut self, node: &Node, message: String) {
        self.inventory.warn(Some(node.location(self.path)), message);
    }

    /// Reads one group; returns its id, or `None` when the entry was skipped.
    fn group(&mut self, name_node: &Node, data: &Node) -> Result<Option<GroupId>, Error> {
        let name = name_node.key_text();
        let entries = match &data.value {
            NodeValue::Mapping(entries) => entries.as_slice(),
            NodeValue::Null => &[],
            _ => {
                self.warn(
                    data,
                    format!("skipping `{name}`: a group must be a mapping or empty"),
                );
                return Ok(None);
            }
        };
        let group = self.inventory.add_group(&name);
        for (key, value) in entries {
            let section = key.key_text();
            let value = self.normalise_section(&name, &section, key, value)?;
            let items = match &value.value {
                NodeValue::Mapping(items) => items,
                NodeValue::Null => continue,
                _ => {
                    self.warn(
                        key,
                        format!("skipping key `{section}` in group `{name}`: it is not a mapping"),
                    );
                    continue;
                }
            };
            match section.as_str() {
                "vars" => {
                    for (variable, value) in items {
                        self.inventory.set_group_variable(
                            group,
                            &variable.key_text(),
                            value.to_json(),
                        );
                    }
                }
                "children" => self.children(group, items)?,
                "hosts" => self.hosts(group, items)?,
                _ => self.warn(
                    key,
                    format!(
                        "skipping unexpected key `{section}` in group `{name}`: only `vars`, \
                         `children` and `hosts` are valid"
                    ),
                ),
            }
        }
        Ok(Some(group))
    }

    /// A bare string under `hosts:` (or `children:`, `vars:`) names one entry.
    fn normalise_section(
        &self,
        group: &str,
        section: &str,
        key: &Node,
        value: &Node,
    ) -> Result<Node, Error> {
        if !matches!(section, "vars" | "children" | "hosts") {
            return Ok(value.clone());
        }
        match &value.value {
            NodeValue::String(_) => Ok(Node {
                value: NodeValue::Mapping(vec![(
                    value.clone(),
                    Node {
                        value: NodeValue::Null,
                        ..value.clone()
                    },
                )]),
                ..value.clone()
            }),
            NodeValue::Mapping(_) | NodeValue::Null => Ok(value.clone()),
            _ => Err(syntax(
                self.path,
                key,
                format!(
                    "`{section}` of group `{group}` must be a mapping, found a {}",
                    value.type_name()
                ),
                "write one entry per line as `name:` (hosts, children) or `name: value` (vars)",
            )),
        }
    }

    fn children(&mut self, parent: GroupId, items: &[(Node, Node)]) -> Result<(), Error> {
        for (child_name, child_data) in items {
            let location = child_name.location(self.path);
            let child = match self.group(child_name, child_data)? {
                Some(child) => child,
                None => self
                    .inventory
                    .group_id(&child_name.key_text())
                    .ok_or_else(|| {
                        syntax(
                            self.path,
                            child_name,
                            format!("`{}` is not a known group", child_name.key_text()),
                            "a child group must be a mapping or empty",
                        )
                    })?,
            };
            self.inventory.add_child(parent, child, Some(&location))?;
        }
        Ok(())
    }

    fn hosts(&mut self, group: GroupId, items: &[(Node, Node)]) -> Result<(), Error> {
        for (pattern_node, variables) in items {
            let NodeValue::String(pattern) = &pattern_node.value else {
                return Err(syntax(
                    self.path,
                    pattern_node,
                    format!(
                        "host pattern `{}` must be a string",
                        pattern_node.key_text()
                    ),
                    "enclose numeric host names in quotes",
                ));
            };
            let location = pattern_node
                .location(self.path)
                .with_length(pattern.chars().count());
            let (names, port) = expand_host_pattern(pattern, &location)?;
            let variables = match &variables.value {
                NodeValue::Mapping(entries) => entries.as_slice(),
                NodeValue::Null => &[],
                _ => {
                    return Err(syntax(
                        self.path,
                        variables,
                        format!(
                            "variables of host `{pattern}` must be a mapping, found a {}",
                            variables.type_name()
                        ),
                        "write host variables as `name: value` lines under the host",
                    ));
                }
            };
            for name in names {
                let host = self
                    .inventory
                    .add_host(&name, Some(group), port, Some(self.path));
                for (key, value) in variables {
                    self.inventory
                        .set_host_variable(host, &key.key_text(), value.to_json());
                }
            }
        }
        Ok(())
    }
}
