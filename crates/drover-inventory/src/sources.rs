//! Reading `-i` sources: files, directories, comma-separated host lists and
//! executable scripts, merged into one inventory in the order given.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::inventory::{Inventory, UNGROUPED};
use crate::{address, ini, script, vars_files, yaml_inventory};

/// Names skipped when a directory is read as an inventory, as Ansible skips them.
const IGNORED_NAMES: [&str; 3] = ["host_vars", "group_vars", "vars_plugins"];
const IGNORED_SUFFIXES: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

impl Inventory {
    /// Reads and merges the given sources, then applies Ansible's grouping
    /// rules and reads `group_vars/` and `host_vars/` next to each source.
    ///
    /// # Examples
    ///
    /// ```
    /// let inventory = drover_inventory::Inventory::load(&["web1,web2:2222,"]).unwrap();
    /// let web2 = inventory.host_id("web2").unwrap();
    /// assert_eq!(inventory.host_variables(web2)["ansible_port"], 2222);
    /// ```
    pub fn load<S: AsRef<str>>(sources: &[S]) -> Result<Self, Error> {
        let mut inventory = Self::new();
        let mut bases: Vec<PathBuf> = Vec::new();
        for source in sources {
            let source = source.as_ref();
            let path = Path::new(source);
            match fs::metadata(path) {
                Ok(metadata) if metadata.is_dir() => {
                    read_directory(&mut inventory, path)?;
                    bases.push(path.to_path_buf());
                }
                Ok(metadata) => {
                    read_file(&mut inventory, path, &metadata)?;
                    let parent = path.parent().unwrap_or(Path::new(""));
                    bases.push(if parent.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        parent.to_path_buf()
                    });
                }
                Err(_) if source.contains(',') => read_host_list(&mut inventory, source),
                Err(_) => {
                    return Err(Error::MissingSource {
                        source_text: source.to_owned(),
                    });
                }
            }
        }
        inventory.reconcile();
        for base in bases {
            let adjacent = vars_files::load(&inventory, &base)?;
            inventory.adjacent_vars.push(adjacent);
        }
        Ok(inventory)
    }

    /// Reads one inventory given as text, as if it were the file `path`.
    ///
    /// The format is chosen by extension, as for files: `.yml`, `.yaml` and
    /// `.json` are YAML, anything else is INI. No adjacent variables are read.
    pub fn from_text(text: &str, path: &Path) -> Result<Self, Error> {
        let mut inventory = Self::new();
        if is_yaml_path(path) {
            yaml_inventory::parse(&mut inventory, text, path)?;
        } else {
            ini::parse(&mut inventory, text, path)?;
        }
        inventory.reconcile();
        Ok(inventory)
    }
}

fn is_yaml_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| ["yml", "yaml", "json"].contains(&&*extension.to_string_lossy()))
}

fn read_file(inventory: &mut Inventory, path: &Path, metadata: &fs::Metadata) -> Result<(), Error> {
    if metadata.permissions().mode() & 0o111 != 0 {
        return script::parse(inventory, path);
    }
    let text = crate::vars_files::read_text(path)?;
    if is_yaml_path(path) {
        yaml_inventory::parse(inventory, &text, path)
    } else {
        ini::parse(inventory, &text, path)
    }
}

fn read_directory(inventory: &mut Inventory, directory: &Path) -> Result<(), Error> {
    for path in vars_files::sorted_entries(directory)? {
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.')
            || IGNORED_NAMES.contains(&name.as_str())
            || IGNORED_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
        {
            continue;
        }
        let metadata = fs::metadata(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        if metadata.is_dir() {
            read_directory(inventory, &path)?;
        } else {
            read_file(inventory, &path, &metadata)?;
        }
    }
    Ok(())
}

/// `-i 'web1,web2:2222,'`: hosts named on the command line, all ungrouped.
fn read_host_list(inventory: &mut Inventory, list: &str) {
    let ungrouped = inventory.add_group(UNGROUPED);
    for item in list
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let (host, port) = match address::parse(item).filter(|parsed| !parsed.host.contains('[')) {
            Some(parsed) => (parsed.host, parsed.port),
            None => (item.to_owned(), None),
        };
        if inventory.host_id(&host).is_none() {
            inventory.add_host(&host, Some(ungrouped), port, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use crate::Inventory;

    /// Found by fuzzing (issue 7): `web[:176966]` took minutes, because
    /// placing each host in its group scanned the group. Now it is linear.
    #[test]
    fn issue_7_a_range_of_a_hundred_thousand_hosts_loads() {
        let inventory = Inventory::from_text("[web]\nweb[1:100000]\n", Path::new("hosts")).unwrap();
        let selected = inventory.select("web:!web1*").unwrap().hosts;
        assert_eq!(inventory.hosts().len(), 100_000);
        assert_eq!(selected.len(), 100_000 - 11_112);
    }

    proptest! {
        /// Whatever the text, reading it gives an inventory or an error, never a panic.
        #[test]
        fn ini_text_never_panics(text in "([\\[\\]a-z0-9:=#;'\" ,._-]{0,30}\n){0,12}") {
            let _ = Inventory::from_text(&text, Path::new("hosts"));
        }

        #[test]
        fn yaml_text_never_panics(text in "([ a-z0-9:{}\\[\\],'\"&*<>|-]{0,30}\n){0,12}") {
            let _ = Inventory::from_text(&text, Path::new("hosts.yml"));
        }
    }
}
