//! The module names Ansible resolves, with the `ansible` package installed:
//! ansible-core's own modules, the short names it routes to collections,
//! and every collection's modules (`data/ansible-modules.txt`, written by
//! `scripts/ansible-module-names`). A name Ansible knows but drover does not
//! implement loads, with a warning, and fails only the task that runs it; a
//! name Ansible does not know is an error at load time, as in Ansible.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// The names, by collection (`builtin` and `routed` for the short names).
static NAMES: LazyLock<HashMap<&'static str, HashSet<&'static str>>> = LazyLock::new(|| {
    include_str!("../data/ansible-modules.txt")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.next()?, words.collect()))
        })
        .collect()
});

/// `X` of `ansible.builtin.X` or `ansible.legacy.X`.
fn builtin(name: &str) -> Option<&str> {
    name.strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
}

fn in_collection(collection: &str, module: &str) -> bool {
    NAMES
        .get(collection)
        .is_some_and(|names| names.contains(module))
}

/// A bare name Ansible resolves: a builtin module, or one routed to a
/// collection (`ansible.builtin.X` is routed as a bare `X` is).
fn known_bare(name: &str) -> bool {
    ["builtin", "routed"]
        .iter()
        .any(|group| in_collection(group, name))
}

/// Whether Ansible resolves the module `name`, written short (`pip`,
/// `seport`) or in full (`community.general.pacman`).
pub fn known_to_ansible(name: &str) -> bool {
    if let Some(short) = builtin(name) {
        return known_bare(short);
    }
    match name.rsplit_once('.') {
        Some((collection, module)) => in_collection(collection, module),
        None => known_bare(name),
    }
}

/// The short name of a module Ansible knows by its fully qualified name
/// (`community.general.ini_file` is `ini_file`), as drover's modules are
/// named; any other name as it is.
pub fn short_name(name: &str) -> &str {
    if let Some(short) = builtin(name) {
        return short;
    }
    match name.rsplit_once('.') {
        Some((collection, module)) if in_collection(collection, module) => module,
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::{known_to_ansible, short_name};

    #[test]
    fn fully_qualified_names_resolve_to_short_ones() {
        assert_eq!(short_name("ansible.builtin.copy"), "copy");
        assert_eq!(short_name("community.general.ini_file"), "ini_file");
        assert_eq!(
            short_name("community.docker.docker_container"),
            "docker_container"
        );
        assert_eq!(short_name("ansible.posix.sysctl"), "sysctl");
        assert_eq!(short_name("nobody.nowhere.thing"), "nobody.nowhere.thing");
    }

    #[test]
    fn short_routed_and_full_names_are_known() {
        for name in [
            "pip",
            "ansible.builtin.rpm_key",
            "seport",
            "community.general.pacman",
            "ansible.posix.sysctl",
        ] {
            assert!(known_to_ansible(name), "{name}");
        }
        for name in ["copi", "community.general.no_such_module", "no.such.module"] {
            assert!(!known_to_ansible(name), "{name}");
        }
    }
}
