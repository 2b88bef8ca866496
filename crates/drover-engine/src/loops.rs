//! The `with_*` loops that are lookups rather than shapes of a list:
//! `with_first_found` (files on this machine) and `with_subelements`.

use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

/// `with_first_found`: the terms are file names, or mappings of `files`
/// (names, or one comma-separated string), `paths` and `skip`. The first
/// candidate that exists, looked for under `directories` when relative
/// (under each of `paths` first, when given), is the one item; with
/// `skip: true` and none found there are no items; else it is an error.
pub(crate) fn first_found(terms: &Json, directories: &[PathBuf]) -> Result<Vec<Json>, String> {
    let terms = match terms {
        Json::Array(terms) => terms.clone(),
        other => vec![other.clone()],
    };
    let mut candidates = Vec::new();
    let mut skip = false;
    for term in &terms {
        match term {
            Json::String(name) => candidates.push(name.clone()),
            Json::Object(map) => {
                skip |= map.get("skip").is_some_and(truthy);
                let files = names(map.get("files"));
                let paths = names(map.get("paths"));
                if paths.is_empty() {
                    candidates.extend(files);
                } else {
                    for path in &paths {
                        candidates.extend(files.iter().map(|file| format!("{path}/{file}")));
                    }
                }
            }
            Json::Array(names) => {
                candidates.extend(names.iter().filter_map(Json::as_str).map(str::to_owned));
            }
            _ => {}
        }
    }
    for candidate in &candidates {
        if let Some(found) = find(candidate, directories) {
            return Ok(vec![Json::from(found.display().to_string())]);
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(format!(
        "with_first_found: none of {} exists (looked in {})",
        candidates.join(", "),
        directories
            .iter()
            .map(|directory| directory.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// A list of names, or a string of names separated by commas, colons or
/// semicolons, as `first_found` reads `files` and `paths`.
fn names(value: Option<&Json>) -> Vec<String> {
    match value {
        Some(Json::Array(items)) => items.iter().map(drover_template::as_text).collect(),
        Some(Json::String(text)) => text
            .split([',', ';', ':'])
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn truthy(value: &Json) -> bool {
    match value {
        Json::Bool(flag) => *flag,
        Json::String(text) => drover_playbook::catalog::parse_bool(text) == Some(true),
        _ => false,
    }
}

/// `name` if absolute and there, else the first of `directories` that
/// holds it.
fn find(name: &str, directories: &[PathBuf]) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.is_absolute() {
        return path.exists().then(|| path.to_path_buf());
    }
    directories
        .iter()
        .map(|directory| directory.join(path))
        .find(|candidate| candidate.exists())
}

/// `with_subelements: [LIST, KEY, {skip_missing}]`: for each entry of
/// LIST, each element of its KEY list, as `[entry, element]`.
pub(crate) fn subelements(terms: &Json) -> Result<Vec<Json>, String> {
    let Json::Array(terms) = terms else {
        return Err("with_subelements takes a list and a key: [LIST, KEY]".to_owned());
    };
    let (Some(Json::Array(list)), Some(Json::String(key))) = (terms.first(), terms.get(1)) else {
        return Err("with_subelements takes a list and a key: [LIST, KEY]".to_owned());
    };
    let skip_missing = terms
        .get(2)
        .and_then(|flags| flags.get("skip_missing"))
        .is_some_and(truthy);
    let mut items = Vec::new();
    for entry in list {
        match entry.get(key.as_str()) {
            Some(Json::Array(elements)) => {
                items.extend(elements.iter().map(|element| json!([entry, element])));
            }
            None if skip_missing => {}
            _ => {
                return Err(format!(
                    "with_subelements: an entry has no list `{key}` (add `skip_missing: true` to skip it)"
                ));
            }
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{first_found, subelements};

    #[test]
    fn the_first_file_that_exists_is_the_one_item() {
        let directory = tempfile::tempdir().expect("a directory");
        std::fs::create_dir(directory.path().join("vars")).expect("vars");
        std::fs::write(directory.path().join("vars/Debian.yml"), "a: 1\n").expect("a file");
        let directories = [
            directory.path().join("files"),
            directory.path().to_path_buf(),
        ];
        let found = first_found(
            &json!([{"files": ["Debian-12.yml", "Debian.yml"], "paths": ["vars"]}]),
            &directories,
        )
        .expect("found");
        assert_eq!(
            found,
            [json!(
                directory
                    .path()
                    .join("vars/Debian.yml")
                    .display()
                    .to_string()
            )]
        );
        assert_eq!(
            first_found(&json!(["vars/RedHat.yml", "vars/Debian.yml"]), &directories)
                .expect("found")
                .len(),
            1
        );
        assert!(first_found(&json!(["nowhere.yml"]), &directories).is_err());
        assert_eq!(
            first_found(
                &json!([{"files": ["nowhere.yml"], "skip": true}]),
                &directories
            ),
            Ok(Vec::new())
        );
    }

    #[test]
    fn subelements_pair_each_entry_with_its_elements() {
        let users = json!([{"name": "a", "keys": [1, 2]}, {"name": "b"}]);
        assert!(subelements(&json!([users, "keys"])).is_err());
        let items = subelements(&json!([users, "keys", {"skip_missing": true}])).expect("items");
        assert_eq!(items.len(), 2);
        assert_eq!(items[1][1], json!(2));
    }
}
