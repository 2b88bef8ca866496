//! `group_vars/` and `host_vars/` next to an inventory source.
//!
//! For each group or host, the first of `NAME`, `NAME.yml`, `NAME.yaml` and
//! `NAME.json` that exists is read; a directory of that name is read whole,
//! every file in it sorted by name, recursively, hidden and backup files
//! skipped. Later files replace earlier keys, as Ansible's do.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::inventory::{AdjacentVars, Inventory, Vars, merge};
use crate::yaml_tree::{self, NodeValue};

const EXTENSIONS: [&str; 4] = ["", ".yml", ".yaml", ".json"];

/// Reads `group_vars/` and `host_vars/` under `base` for every group and host of `inventory`.
pub(crate) fn load(inventory: &Inventory, base: &Path) -> Result<AdjacentVars, Error> {
    let mut adjacent = AdjacentVars::default();
    let group_dir = base.join("group_vars");
    let names = directory_names(&group_dir)?;
    if !names.is_empty() {
        for (id, group) in inventory.groups().enumerate() {
            if let Some(vars) = load_entity(&group_dir, &group.name, &names)? {
                adjacent.groups.insert(id, vars);
            }
        }
    }
    let host_dir = base.join("host_vars");
    let names = directory_names(&host_dir)?;
    if !names.is_empty() {
        for (id, host) in inventory.hosts().enumerate() {
            if let Some(vars) = load_entity(&host_dir, &host.name, &names)? {
                adjacent.hosts.insert(id, vars);
            }
        }
    }
    Ok(adjacent)
}

/// The entries of `directory`, read once so that 10,000 hosts cost no 40,000 `stat` calls.
fn directory_names(directory: &Path) -> Result<HashSet<String>, Error> {
    let entries = match fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(error) if error.kind() == std::io::ErrorKind::NotADirectory => {
            return Ok(HashSet::new());
        }
        Err(source) => {
            return Err(Error::Read {
                path: directory.to_path_buf(),
                source,
            });
        }
    };
    Ok(entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect())
}

fn load_entity(
    directory: &Path,
    name: &str,
    names: &HashSet<String>,
) -> Result<Option<Vars>, Error> {
    for extension in EXTENSIONS {
        let file_name = format!("{name}{extension}");
        if !names.contains(&file_name) {
            continue;
        }
        let path = directory.join(&file_name);
        let files = if path.is_dir() {
            let mut files = Vec::new();
            collect_directory(&path, &mut files)?;
            files
        } else {
            vec![path]
        };
        let mut vars = Vars::new();
        for file in files {
            merge(&mut vars, &read_vars_file(&file)?);
        }
        return Ok(Some(vars));
    }
    Ok(None)
}

fn collect_directory(directory: &Path, files: &mut Vec<PathBuf>) -> Result<(), Error> {
    for path in sorted_entries(directory)? {
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        let Some(file_name) = file_name else { continue };
        if file_name.starts_with('.') || file_name.ends_with('~') {
            continue;
        }
        let extension = path
            .extension()
            .map(|extension| format!(".{}", extension.to_string_lossy()));
        if path.is_dir() && extension.is_none() {
            collect_directory(&path, files)?;
        } else if path.is_file()
            && extension
                .as_ref()
                .is_none_or(|extension| EXTENSIONS.contains(&extension.as_str()))
        {
            files.push(path);
        }
    }
    Ok(())
}

/// The paths in `directory`, sorted, as Ansible walks directories.
pub(crate) fn sorted_entries(directory: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut entries: Vec<PathBuf> = fs::read_dir(directory)
        .map_err(|source| Error::Read {
            path: directory.to_path_buf(),
            source,
        })?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    Ok(entries)
}

/// Reads a text file, decrypting it when it is a vault (as Ansible reads
/// inventories, variable files and playbooks).
pub fn read_text(path: &Path) -> Result<String, Error> {
    Ok(read_maybe_encrypted(path)?.0)
}

/// The file's text, and whether it was vault-encrypted.
fn read_maybe_encrypted(path: &Path) -> Result<(String, bool), Error> {
    // An enormous file is refused before it is read into memory.
    let too_big = fs::metadata(path)
        .is_ok_and(|metadata| metadata.len() > crate::yaml_tree::MAX_FILE_BYTES as u64);
    if too_big {
        return Err(Error::Syntax {
            location: crate::SourceLocation::new(path, 1, 1),
            message: format!(
                "the file is larger than {} MiB",
                crate::yaml_tree::MAX_FILE_BYTES / (1024 * 1024)
            ),
            hint: Some(
                "inventories, variable files and playbooks are read whole; split this one"
                    .to_owned(),
            ),
        });
    }
    let text = fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if !drover_vault::is_encrypted(&text) {
        return Ok((text, false));
    }
    let plaintext = drover_vault::decrypt(&text).map_err(|source| Error::Vault {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((String::from_utf8_lossy(&plaintext).into_owned(), true))
}

/// Remembers every scalar of a decrypted variables file as a secret, so
/// that output masks each value (not only the file's text as a whole).
fn remember_values(value: &serde_json::Value) {
    match value {
        serde_json::Value::String(text) => drover_vault::remember(text),
        serde_json::Value::Number(number) => drover_vault::remember(&number.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(remember_values),
        serde_json::Value::Object(map) => map.values().for_each(remember_values),
        _ => {}
    }
}

/// Reads one variables file, which must hold a mapping (or nothing); every
/// value of a vault-encrypted one is a secret, masked in output.
pub fn read_vars_file(path: &Path) -> Result<Vars, Error> {
    let (text, encrypted) = read_maybe_encrypted(path)?;
    let vars = parse_vars(&text, path)?;
    if encrypted {
        vars.values().for_each(remember_values);
    }
    Ok(vars)
}

fn parse_vars(text: &str, path: &Path) -> Result<Vars, Error> {
    let root = yaml_tree::parse(text, path)?;
    match &root.value {
        NodeValue::Null => Ok(Vars::new()),
        NodeValue::Mapping(_) => match root.to_json() {
            serde_json::Value::Object(vars) => Ok(vars),
            _ => Ok(Vars::new()),
        },
        _ => Err(Error::Syntax {
            location: root.location(path),
            message: format!(
                "a variables file must hold a mapping, found a {}",
                root.type_name()
            ),
            hint: Some("write one `name: value` per line".to_owned()),
        }),
    }
}

#[cfg(test)]
mod tests {
    /// An enormous file is refused before it is read (issue 7).
    #[test]
    fn issue_7_enormous_files_are_refused_unread() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("huge.yml");
        let file = std::fs::File::create(&path).unwrap();
        // Sparse: the size is there, the bytes are not written.
        file.set_len(64 * 1024 * 1024).unwrap();
        let error = super::read_vars_file(&path).unwrap_err();
        assert!(
            error.to_string().contains("huge.yml") || format!("{error:?}").contains("huge.yml")
        );
        assert!(
            format!("{error:?}").contains("larger than 32 MiB"),
            "{error:?}"
        );
    }
}
