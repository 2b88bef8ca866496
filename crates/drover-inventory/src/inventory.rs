//! The in-memory inventory: groups, hosts, the relations between them, and
//! the merged variables of a host in Ansible's order of precedence.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::{Error, SourceLocation};

/// A mapping of variable names to values, in insertion order.
pub type Vars = serde_json::Map<String, Value>;

/// The index of a group within an [`Inventory`].
pub type GroupId = usize;
/// The index of a host within an [`Inventory`].
pub type HostId = usize;

/// The group every host belongs to.
pub const ALL: &str = "all";
/// The group of hosts that belong to no other group.
pub const UNGROUPED: &str = "ungrouped";

/// The names Ansible treats as this machine.
pub const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A named set of hosts and child groups, with its own variables.
#[derive(Debug, Clone)]
pub struct Group {
    /// The group's name.
    pub name: String,
    /// Variables set on the group in the inventory source itself.
    pub vars: Vars,
    /// Child groups, in the order they were added.
    pub children: Vec<GroupId>,
    /// Parent groups, in the order they were added.
    pub parents: Vec<GroupId>,
    /// Hosts placed directly in this group, in order.
    pub hosts: Vec<HostId>,
    /// The length of the longest path from `all`; deeper groups win when variables merge.
    pub depth: usize,
    /// `ansible_group_priority`: among groups of equal depth, higher wins.
    pub priority: i64,
}

/// One target machine.
#[derive(Debug, Clone)]
pub struct Host {
    /// The inventory name (`inventory_hostname`).
    pub name: String,
    /// Variables set on the host in the inventory source itself.
    pub vars: Vars,
    /// Groups the host was placed in directly.
    pub groups: Vec<GroupId>,
    /// The inventory source that first named the host.
    pub source: Option<PathBuf>,
    /// True for the `localhost` Ansible invents when the inventory has none.
    pub implicit: bool,
}

/// `group_vars/` and `host_vars/` contents found next to one inventory source.
#[derive(Debug, Clone, Default)]
pub(crate) struct AdjacentVars {
    pub(crate) groups: HashMap<GroupId, Vars>,
    pub(crate) hosts: HashMap<HostId, Vars>,
}

/// A whole inventory, built from one or more sources.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub(crate) groups: IndexMap<String, Group>,
    pub(crate) hosts: IndexMap<String, Host>,
    pub(crate) adjacent_vars: Vec<AdjacentVars>,
    pub(crate) warnings: Vec<Warning>,
}

/// Something odd in a source that Ansible also lets pass with a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where the odd text is, when it came from a file.
    pub location: Option<SourceLocation>,
    /// What is odd about it.
    pub message: String,
}

impl Default for Inventory {
    fn default() -> Self {
        Self::new()
    }
}

impl Inventory {
    /// An empty inventory holding only the implicit `all` and `ungrouped` groups.
    pub fn new() -> Self {
        let mut inventory = Self {
            groups: IndexMap::new(),
            hosts: IndexMap::new(),
            adjacent_vars: Vec::new(),
            warnings: Vec::new(),
        };
        let all = inventory.add_group(ALL);
        let ungrouped = inventory.add_group(UNGROUPED);
        // As in Ansible, `ungrouped` is the first child of `all`.
        inventory.groups[all].children.push(ungrouped);
        inventory.groups[ungrouped].parents.push(all);
        inventory
    }

    /// Warnings collected while reading the sources.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    pub(crate) fn warn(&mut self, location: Option<SourceLocation>, message: String) {
        self.warnings.push(Warning { location, message });
    }

    /// All groups, in the order they were first named.
    pub fn groups(&self) -> impl ExactSizeIterator<Item = &Group> {
        self.groups.values()
    }

    /// All hosts, in the order they were first named.
    pub fn hosts(&self) -> impl ExactSizeIterator<Item = &Host> {
        self.hosts.values()
    }

    /// The group with this id.
    pub fn group(&self, id: GroupId) -> &Group {
        &self.groups[id]
    }

    /// The host with this id.
    pub fn host(&self, id: HostId) -> &Host {
        &self.hosts[id]
    }

    /// The id of the group with this name.
    pub fn group_id(&self, name: &str) -> Option<GroupId> {
        self.groups.get_index_of(name)
    }

    /// The id of the host with this name.
    pub fn host_id(&self, name: &str) -> Option<HostId> {
        self.hosts.get_index_of(name)
    }

    /// Adds a group unless it exists, returning its id either way.
    pub fn add_group(&mut self, name: &str) -> GroupId {
        if let Some(id) = self.groups.get_index_of(name) {
            return id;
        }
        let group = Group {
            name: name.to_owned(),
            vars: Vars::new(),
            children: Vec::new(),
            parents: Vec::new(),
            hosts: Vec::new(),
            depth: 0,
            priority: 1,
        };
        self.groups.insert_full(name.to_owned(), group).0
    }

    /// Adds a host unless it exists, and places it in `group`.
    ///
    /// A port given with a new host becomes its `ansible_port`; as in
    /// Ansible, a port written on a later mention of the host is ignored.
    pub fn add_host(
        &mut self,
        name: &str,
        group: Option<GroupId>,
        port: Option<u64>,
        source: Option<&Path>,
    ) -> HostId {
        let id = self.hosts.get_index_of(name).unwrap_or_else(|| {
            let mut vars = Vars::new();
            if let Some(port) = port.filter(|port| *port != 0) {
                vars.insert("ansible_port".to_owned(), port.into());
            }
            let host = Host {
                name: name.to_owned(),
                vars,
                groups: Vec::new(),
                source: source.map(Path::to_path_buf),
                implicit: false,
            };
            self.hosts.insert_full(name.to_owned(), host).0
        });
        if let Some(group) = group {
            self.place_host(group, id);
        }
        id
    }

    fn place_host(&mut self, group: GroupId, host: HostId) {
        // A host is in few groups; a group may hold a hundred thousand
        // hosts (`web[1:100000]`): ask the host.
        if !self.hosts[host].groups.contains(&group) {
            self.groups[group].hosts.push(host);
            self.hosts[host].groups.push(group);
        }
    }

    /// Sets a variable on a group; `ansible_group_priority` sets its priority instead.
    pub fn set_group_variable(&mut self, group: GroupId, name: &str, value: Value) {
        if name == "ansible_group_priority" {
            if let Some(priority) = integer_of(&value) {
                self.groups[group].priority = priority;
            }
            return;
        }
        self.groups[group].vars.insert(name.to_owned(), value);
    }

    /// Sets a variable on a host.
    pub fn set_host_variable(&mut self, host: HostId, name: &str, value: Value) {
        self.hosts[host].vars.insert(name.to_owned(), value);
    }

    /// Makes `child` a child of `parent`, refusing relations that would loop.
    pub fn add_child(
        &mut self,
        parent: GroupId,
        child: GroupId,
        location: Option<&SourceLocation>,
    ) -> Result<(), Error> {
        if self.groups[parent].children.contains(&child) {
            return Ok(());
        }
        if parent == child || self.descendants(child).contains(&parent) {
            return Err(Error::GroupLoop {
                location: location.cloned(),
                parent: self.groups[parent].name.clone(),
                child: self.groups[child].name.clone(),
            });
        }
        self.groups[parent].children.push(child);
        if !self.groups[child].parents.contains(&parent) {
            self.groups[child].parents.push(parent);
        }
        Ok(())
    }

    /// `group` and all groups below it, breadth first, each once.
    pub fn descendants(&self, group: GroupId) -> Vec<GroupId> {
        let mut ordered = vec![group];
        let mut index = 0;
        while index < ordered.len() {
            for child in &self.groups[ordered[index]].children {
                if !ordered.contains(child) {
                    ordered.push(*child);
                }
            }
            index += 1;
        }
        ordered
    }

    /// All groups above `group`, each once.
    pub fn ancestors(&self, group: GroupId) -> Vec<GroupId> {
        let mut found: Vec<GroupId> = Vec::new();
        let mut pending = self.groups[group].parents.clone();
        while let Some(parent) = pending.pop() {
            if !found.contains(&parent) {
                found.push(parent);
                pending.extend(&self.groups[parent].parents);
            }
        }
        found
    }

    /// Every group the host belongs to, directly or through a parent, `all` included.
    pub fn host_groups(&self, host: HostId) -> Vec<GroupId> {
        let mut groups: Vec<GroupId> = Vec::new();
        for direct in &self.hosts[host].groups {
            for group in std::iter::once(*direct).chain(self.ancestors(*direct)) {
                if !groups.contains(&group) {
                    groups.push(group);
                }
            }
        }
        if let Some(all) = self.group_id(ALL)
            && !groups.contains(&all)
            && !self.hosts[host].implicit
        {
            groups.push(all);
        }
        groups
    }

    /// The hosts of a group and of all its descendants, in Ansible's order.
    pub fn group_hosts(&self, group: GroupId) -> Vec<HostId> {
        let is_all = self.groups[group].name == ALL;
        let mut hosts = Vec::new();
        let mut seen = vec![false; self.hosts.len()];
        for kid in self.descendants(group) {
            for host in &self.groups[kid].hosts {
                if !seen[*host] {
                    seen[*host] = true;
                    if !(is_all && self.hosts[*host].implicit) {
                        hosts.push(*host);
                    }
                }
            }
        }
        hosts
    }

    /// Applies Ansible's rules once every source is read: orphan groups
    /// become children of `all`, hosts in no group go to `ungrouped`, hosts
    /// in another group leave `ungrouped`, and group depths are computed.
    pub(crate) fn reconcile(&mut self) {
        let all = self.add_group(ALL);
        let ungrouped = self.add_group(UNGROUPED);
        for group in 0..self.groups.len() {
            if group != all && self.groups[group].parents.is_empty() {
                // Cannot loop: the group has no parents, so `all` is not below it.
                let _ = self.add_child(all, group, None);
            }
        }
        let mut grouped = std::collections::HashSet::new();
        for host in 0..self.hosts.len() {
            if self.hosts[host].implicit {
                continue;
            }
            let direct = &self.hosts[host].groups;
            let in_other = direct.iter().any(|g| *g != all && *g != ungrouped);
            if direct.contains(&ungrouped) && in_other {
                grouped.insert(host);
                self.hosts[host].groups.retain(|id| *id != ungrouped);
            } else if !in_other {
                self.place_host(ungrouped, host);
            }
        }
        // One pass over `ungrouped`, not one per host that leaves it.
        if !grouped.is_empty() {
            self.groups[ungrouped]
                .hosts
                .retain(|id| !grouped.contains(id));
        }
        self.compute_depths(all);
    }

    fn compute_depths(&mut self, root: GroupId) {
        for group in self.groups.values_mut() {
            group.depth = 0;
        }
        // Longest path from the root; loops are refused when relations are added.
        let mut pending = vec![root];
        while let Some(group) = pending.pop() {
            let depth = self.groups[group].depth + 1;
            for child in self.groups[group].children.clone() {
                if self.groups[child].depth < depth {
                    self.groups[child].depth = depth;
                    pending.push(child);
                }
            }
        }
    }

    /// Groups sorted as Ansible merges their variables: by depth, then priority, then name.
    pub fn sorted_groups(&self, groups: &[GroupId]) -> Vec<GroupId> {
        let mut sorted = groups.to_vec();
        sorted.sort_by(|a, b| {
            let (a, b) = (&self.groups[*a], &self.groups[*b]);
            (a.depth, a.priority, &a.name).cmp(&(b.depth, b.priority, &b.name))
        });
        sorted
    }

    /// The variables of a host, merged in Ansible's order of precedence.
    ///
    /// Lowest first: the `all` group's inventory variables; other groups'
    /// inventory variables (parents before children); `group_vars/all`;
    /// other `group_vars/` files in the same group order; the host's
    /// inventory variables; `host_vars/` files. Later sources win, and a
    /// later value replaces an earlier one whole, as Ansible's default
    /// `hash_behaviour=replace` does.
    pub fn host_variables(&self, host: HostId) -> Vars {
        let all = self.group_id(ALL);
        let groups: Vec<GroupId> = self
            .host_groups(host)
            .into_iter()
            .filter(|group| Some(*group) != all)
            .collect();
        let groups = self.sorted_groups(&groups);
        let mut merged = Vars::new();
        if let Some(all) = all {
            merge(&mut merged, &self.groups[all].vars);
        }
        for group in &groups {
            merge(&mut merged, &self.groups[*group].vars);
        }
        for adjacent in &self.adjacent_vars {
            if let Some(vars) = all.and_then(|all| adjacent.groups.get(&all)) {
                merge(&mut merged, vars);
            }
        }
        for adjacent in &self.adjacent_vars {
            for group in &groups {
                if let Some(vars) = adjacent.groups.get(group) {
                    merge(&mut merged, vars);
                }
            }
        }
        merge(&mut merged, &self.hosts[host].vars);
        for adjacent in &self.adjacent_vars {
            if let Some(vars) = adjacent.hosts.get(&host) {
                merge(&mut merged, vars);
            }
        }
        merged
    }

    /// The variables of a group alone: its inventory variables, then its `group_vars/` files.
    pub fn group_variables(&self, group: GroupId) -> Vars {
        let mut merged = self.groups[group].vars.clone();
        for adjacent in &self.adjacent_vars {
            if let Some(vars) = adjacent.groups.get(&group) {
                merge(&mut merged, vars);
            }
        }
        merged
    }

    /// Finds a host by name, inventing Ansible's implicit `localhost` when
    /// the name means this machine and the inventory does not list it.
    pub fn host_or_implicit_localhost(&mut self, name: &str) -> Option<HostId> {
        if let Some(id) = self.host_id(name) {
            return Some(id);
        }
        if !LOCALHOST_NAMES.contains(&name) {
            return None;
        }
        let id = self.add_host(name, None, None, None);
        let host = &mut self.hosts[id];
        host.implicit = true;
        host.vars
            .insert("ansible_connection".to_owned(), Value::from("local"));
        Some(id)
    }
}

/// Top-level replace, Ansible's default `hash_behaviour`.
pub(crate) fn merge(target: &mut Vars, source: &Vars) {
    for (key, value) in source {
        target.insert(key.clone(), value.clone());
    }
}

fn integer_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number
            .as_i64()
            // Python's int() truncates; saturating is fine for a priority.
            .or_else(|| {
                #[allow(clippy::cast_possible_truncation)]
                number.as_f64().map(|float| float.trunc() as i64)
            }),
        Value::String(text) => text.trim().parse().ok(),
        Value::Bool(flag) => Some(i64::from(*flag)),
        _ => None,
    }
}
