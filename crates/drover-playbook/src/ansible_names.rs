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

/// Whether Ansible resolves the module `name`, written short (`pip`,
/// `seport`) or in full (`community.general.pacman`).
pub fn known_to_ansible(name: &str) -> bool {
    let short = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."));
    match (short, name.rsplit_once('.')) {
        // `ansible.builtin.X` and `ansible.legacy.X` are routed as a bare `X` is.
        (Some(short), _) => ["builtin", "routed"]
            .iter()
            .any(|group| NAMES.get(group).is_some_and(|names| names.contains(short))),
        (None, Some((collection, module))) => NAMES
            .get(collection)
            .is_some_and(|names| names.contains(module)),
        (None, None) => ["builtin", "routed"]
            .iter()
            .any(|group| NAMES.get(group).is_some_and(|names| names.contains(name))),
    }
}

/// The short name of a module Ansible knows by its fully qualified name
/// (`community.general.ini_file` is `ini_file`), as drover's modules are
/// named; any other name as it is.
pub(crate) fn short_name(name: &str) -> &str {
    if let Some(short) = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
    {
        return short;
    }
    match name.rsplit_once('.') {
        Some((collection, module))
            if NAMES
                .get(collection)
                .is_some_and(|names| names.contains(module)) =>
        {
            module
        }
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
