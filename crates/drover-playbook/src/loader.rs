//! Reading files into YAML nodes, and the shared state of one load.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use drover_inventory::yaml_tree::{self, Node, NodeValue};
use serde_json::Value as Json;

use crate::catalog::Catalog;
use crate::error::{Error, Errors, SourceLocation};
use crate::model::{Role, Task, Vars};

/// How deep `import_tasks`, roles and `import_playbook` may nest.
pub(crate) const MAX_NESTING: usize = 32;

/// The state of loading one playbook: what is known, and what went wrong.
pub(crate) struct Loader<'a> {
    pub(crate) catalog: &'a dyn Catalog,
    pub(crate) errors: Errors,
    pub(crate) roles_path: Vec<PathBuf>,
    pub(crate) templar: drover_template::Templar,
    /// The playbook's directory: the last place controller files are looked for.
    pub(crate) base: PathBuf,
    /// Handlers that roles bring, collected while their tasks are read.
    pub(crate) role_handlers: Vec<Task>,
    /// The roles read in this play, by directory and the `vars_from` and
    /// `defaults_from` files they were read with.
    pub(crate) roles: HashMap<(PathBuf, String), Arc<Role>>,
    pub(crate) depth: usize,
    /// The Swarm service the play being read rolls out, if any: its stack
    /// file's image must carry a tag.
    pub(crate) rolled_out_service: Option<String>,
}

impl<'a> Loader<'a> {
    pub(crate) fn new(catalog: &'a dyn Catalog, roles_path: Vec<PathBuf>, base: PathBuf) -> Self {
        Self {
            catalog,
            errors: Errors::default(),
            roles_path,
            templar: drover_template::Templar::new(base.clone()),
            base,
            role_handlers: Vec::new(),
            roles: HashMap::new(),
            depth: 0,
            rolled_out_service: None,
        }
    }

    /// Reads and parses a YAML file, recording any error.
    pub(crate) fn read_yaml(
        &mut self,
        path: &Path,
        referred_at: Option<SourceLocation>,
    ) -> Option<Node> {
        let text = match drover_inventory::read_text(path) {
            Ok(text) => text,
            Err(drover_inventory::Error::Read { source, .. }) => {
                self.errors.push(Error::Read {
                    path: path.to_path_buf(),
                    message: source.to_string(),
                    location: referred_at,
                });
                return None;
            }
            Err(error) => {
                self.errors.push(Error::from_inventory(error));
                return None;
            }
        };
        match yaml_tree::parse(&text, path) {
            Ok(node) => Some(node),
            Err(error) => {
                self.errors.push(Error::from_inventory(error));
                None
            }
        }
    }

    /// Reads a variables file (a mapping, or nothing).
    pub(crate) fn read_vars(&mut self, path: &Path, referred_at: Option<SourceLocation>) -> Vars {
        let Some(node) = self.read_yaml(path, referred_at) else {
            return Vars::new();
        };
        match node.to_json() {
            Json::Object(map) => map,
            Json::Null => Vars::new(),
            _ => {
                self.errors.invalid(
                    node.location(path),
                    "a variables file must hold a mapping",
                    Some("write one `name: value` per line".to_owned()),
                );
                Vars::new()
            }
        }
    }

    /// Checks the template syntax of every string in `value`.
    pub(crate) fn check_templates(&mut self, value: &Json, location: &SourceLocation) {
        match value {
            Json::String(text) => {
                if let Err(error) = self.templar.check_template(text) {
                    self.errors.invalid(
                        location.clone(),
                        format!("{error} in `{text}`"),
                        error.hint(),
                    );
                }
            }
            Json::Array(items) => items
                .iter()
                .for_each(|item| self.check_templates(item, location)),
            // An inline `!vault` value must open with the given passwords.
            Json::Object(map) if let Some(envelope) = drover_template::vaulted(map) => {
                if let Err(error) = drover_vault::decrypt(envelope) {
                    self.errors.invalid(
                        location.clone(),
                        format!("cannot decrypt a `!vault` value: {error}"),
                        error.hint().map(str::to_owned),
                    );
                }
            }
            Json::Object(map) => map
                .values()
                .for_each(|item| self.check_templates(item, location)),
            _ => {}
        }
    }

    /// Checks that `expression` (a `when:` and the like) parses.
    pub(crate) fn check_expression(&mut self, expression: &str, location: &SourceLocation) {
        let bare = expression.trim();
        let result = if drover_template::is_template(bare) {
            self.templar.check_template(bare)
        } else {
            self.templar.check_expression(bare)
        };
        if let Err(error) = result {
            self.errors.invalid(
                location.clone(),
                format!("{error} in the condition `{expression}`"),
                Some(
                    "conditions are bare Jinja expressions, such as `x is defined and x > 1`"
                        .to_owned(),
                ),
            );
        }
    }
}

/// The entries of a mapping node, or `None`.
pub(crate) fn mapping(node: &Node) -> Option<&[(Node, Node)]> {
    match &node.value {
        NodeValue::Mapping(entries) => Some(entries),
        _ => None,
    }
}

/// The items of a sequence node; null is empty, anything else `None`.
pub(crate) fn sequence(node: &Node) -> Option<&[Node]> {
    match &node.value {
        NodeValue::Sequence(items) => Some(items),
        NodeValue::Null => Some(&[]),
        _ => None,
    }
}

/// A scalar as text (`yes` stays as written for strings; booleans as `True`/`False`).
pub(crate) fn text(node: &Node) -> Option<String> {
    match &node.value {
        NodeValue::Bool(flag) => Some(if *flag { "True" } else { "False" }.to_owned()),
        _ => node.as_scalar_text(),
    }
}

/// A boolean in Ansible's spellings.
pub(crate) fn boolean(node: &Node) -> Option<bool> {
    match &node.value {
        NodeValue::Bool(flag) => Some(*flag),
        NodeValue::String(text) => crate::catalog::parse_bool(text),
        NodeValue::Number(number) => number.as_i64().map(|number| number != 0),
        _ => None,
    }
}

/// A string or a list of strings (`tags: a` and `tags: [a, b]`).
pub(crate) fn string_list(node: &Node) -> Option<Vec<String>> {
    match &node.value {
        NodeValue::Sequence(items) => items.iter().map(text).collect(),
        NodeValue::Null => Some(Vec::new()),
        _ => text(node).map(|text| vec![text]),
    }
}
