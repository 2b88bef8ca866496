//! Ansible-compatible inventories for drover.
//!
//! Reads INI, YAML and JSON inventories, directories of them, comma-separated
//! host lists and executable inventory scripts; applies Ansible's grouping
//! rules (`all`, `ungrouped`, nesting, `group_vars/`, `host_vars/`); merges a
//! host's variables in Ansible's order; and evaluates host patterns.
//!
//! ```
//! use std::path::Path;
//! use drover_inventory::Inventory;
//!
//! let text = "[web]\nweb[1:2] http_port=8080\n[web:vars]\nenv='prod'\n";
//! let inventory = Inventory::from_text(text, Path::new("hosts.ini")).unwrap();
//! let web2 = inventory.host_id("web2").unwrap();
//! let variables = inventory.host_variables(web2);
//! assert_eq!(variables["http_port"], 8080);
//! assert_eq!(variables["env"], "prod");
//! ```
#![deny(missing_docs)]

mod address;
mod error;
mod export;
mod ini;
mod inventory;
mod pattern;
mod python_literal;
mod range;
mod script;
mod shell_words;
mod sources;
mod vars_files;
mod yaml_inventory;
pub mod yaml_tree;

pub use error::{Error, Result, SourceLocation};
pub use export::to_ansible_json;
pub use inventory::{
    ALL, Group, GroupId, Host, HostId, Inventory, LOCALHOST_NAMES, UNGROUPED, Vars, Warning,
};
pub use pattern::{Selection, split_terms};
pub use vars_files::{read_text, read_vars_file};
