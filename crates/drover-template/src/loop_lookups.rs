//! The lookups behind ansible-core's `with_*` loops, on rendered values:
//! each takes its terms (a list, or one term) and gives the items. The
//! engine's loops and the `lookup()`/`query()` functions both use them.

use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

/// The terms as a list (one term alone is a list of one).
fn terms(value: &Json) -> Vec<Json> {
    match value {
        Json::Array(items) => items.clone(),
        Json::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// `with_sequence`: numbers as text, from `start=1 end=10 stride=2
/// format=web%02d`, `count=N`, or the short form `[START-]END[/STRIDE][:FORMAT]`.
pub fn sequence(value: &Json) -> Result<Vec<Json>, String> {
    let mut items = Vec::new();
    for term in terms(value) {
        let text = crate::as_text(&term);
        let spec = Sequence::parse(text.trim())?;
        items.extend(spec.numbers()?.into_iter().map(Json::from));
    }
    Ok(items)
}

/// What one `with_sequence` term asks for.
#[derive(Debug, PartialEq)]
struct Sequence {
    start: i64,
    end: Option<i64>,
    count: Option<i64>,
    stride: i64,
    format: String,
}

impl Sequence {
    fn parse(text: &str) -> Result<Self, String> {
        let mut spec = Self {
            start: 1,
            end: None,
            count: None,
            stride: 1,
            format: "%d".to_owned(),
        };
        if !text.contains('=') {
            return spec.short_form(text).map(|()| spec);
        }
        for word in text.split_whitespace() {
            let Some((key, value)) = word.split_once('=') else {
                return Err(format!("with_sequence: `{word}` is not KEY=VALUE"));
            };
            match key {
                "start" => spec.start = integer(value)?,
                "end" => spec.end = Some(integer(value)?),
                "count" => spec.count = Some(integer(value)?),
                "stride" => spec.stride = integer(value)?,
                "format" => value.clone_into(&mut spec.format),
                other => {
                    return Err(format!(
                        "with_sequence has no `{other}`; use start, end, count, stride or format"
                    ));
                }
            }
        }
        Ok(spec)
    }

    /// `[START-]END[/STRIDE][:FORMAT]`.
    fn short_form(&mut self, text: &str) -> Result<(), String> {
        let (numbers, format) = text.split_once(':').unwrap_or((text, ""));
        if !format.is_empty() {
            format.clone_into(&mut self.format);
        }
        let (range, stride) = numbers.split_once('/').unwrap_or((numbers, ""));
        if !stride.is_empty() {
            self.stride = integer(stride)?;
        }
        match range.split_once('-') {
            Some((start, end)) => {
                self.start = integer(start)?;
                self.end = Some(integer(end)?);
            }
            None => self.end = Some(integer(range)?),
        }
        Ok(())
    }

    fn numbers(&self) -> Result<Vec<String>, String> {
        let end = match (self.end, self.count) {
            (Some(_), Some(_)) => {
                return Err("with_sequence: give `end` or `count`, not both".to_owned());
            }
            (None, None) => return Err("with_sequence needs `end` or `count`".to_owned()),
            (Some(end), None) => end,
            (None, Some(0)) => return Ok(Vec::new()),
            (None, Some(count)) => self.start + (count - 1) * self.stride,
        };
        if self.stride == 0 {
            return Err("with_sequence: `stride` cannot be 0".to_owned());
        }
        if (self.stride > 0 && end < self.start) || (self.stride < 0 && end > self.start) {
            return Err("with_sequence: to count backwards, make `stride` negative".to_owned());
        }
        let mut numbers = Vec::new();
        let mut number = self.start;
        while (self.stride > 0 && number <= end) || (self.stride < 0 && number >= end) {
            numbers.push(printf(&self.format, number)?);
            number += self.stride;
        }
        Ok(numbers)
    }
}

/// A decimal, `0x` hexadecimal or `0` octal number, as Ansible reads them.
fn integer(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let parsed = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16)
    } else if text.len() > 1 && text.starts_with('0') {
        i64::from_str_radix(&text[1..], 8)
    } else {
        text.parse()
    };
    parsed.map_err(|_| format!("with_sequence: `{text}` is not a number"))
}

/// `number` put into `format` at its one `%d`, `%x`, `%X`, `%o` or `%s`
/// (with an optional `0` flag and width), as Python's `%` does.
fn printf(format: &str, number: i64) -> Result<String, String> {
    let mut output = String::new();
    let mut characters = format.chars().peekable();
    let mut used = false;
    while let Some(character) = characters.next() {
        if character != '%' {
            output.push(character);
            continue;
        }
        if characters.peek() == Some(&'%') {
            characters.next();
            output.push('%');
            continue;
        }
        let mut spec = String::new();
        while let Some(digit) = characters.next_if(char::is_ascii_digit) {
            spec.push(digit);
        }
        let zero = spec.starts_with('0');
        let width: usize = spec.parse().unwrap_or(0);
        let text = match characters.next() {
            Some('d' | 'i' | 's') => number.to_string(),
            Some('x') => format!("{number:x}"),
            Some('X') => format!("{number:X}"),
            Some('o') => format!("{number:o}"),
            _ => {
                return Err(format!(
                    "with_sequence: `{format}` is not a format for a number"
                ));
            }
        };
        used = true;
        let padding = width.saturating_sub(text.chars().count());
        let fill = if zero { '0' } else { ' ' };
        output.extend(std::iter::repeat_n(fill, padding));
        output.push_str(&text);
    }
    if !used {
        return Err(format!(
            "with_sequence: `{format}` has no place for the number (`%d`)"
        ));
    }
    Ok(output)
}

/// `with_fileglob`: the files (not directories) matching each pattern,
/// sorted; a relative pattern is looked for in the first of `directories`
/// where it matches anything, as Ansible looks in `files/`.
pub fn fileglob(value: &Json, directories: &[PathBuf]) -> Result<Vec<Json>, String> {
    let mut items = Vec::new();
    for term in terms(value) {
        let pattern = crate::as_text(&term);
        let candidates: Vec<PathBuf> = if pattern.starts_with('/') {
            vec![PathBuf::from(&pattern)]
        } else {
            directories
                .iter()
                .map(|directory| directory.join(&pattern))
                .collect()
        };
        for candidate in candidates {
            let entries = glob::glob(&candidate.to_string_lossy())
                .map_err(|error| format!("with_fileglob `{pattern}`: {error}"))?;
            let mut found: Vec<String> = entries
                .filter_map(Result::ok)
                .filter(|path| path.is_file())
                .map(|path| path.display().to_string())
                .collect();
            if !found.is_empty() {
                found.sort();
                items.extend(found.into_iter().map(Json::from));
                break;
            }
        }
    }
    Ok(items)
}

/// `with_lines`: each line of each command's output, the command run by
/// `/bin/sh` on this machine, in `directory`.
pub fn lines(value: &Json, directory: &Path) -> Result<Vec<Json>, String> {
    let mut items = Vec::new();
    for term in terms(value) {
        let command = crate::as_text(&term);
        let mut shell = std::process::Command::new("/bin/sh");
        shell.arg("-c").arg(&command);
        // A playbook named by a bare file name has an empty directory: here.
        if !directory.as_os_str().is_empty() {
            shell.current_dir(directory);
        }
        let output = shell
            .output()
            .map_err(|error| format!("with_lines `{command}`: {error}"))?;
        if !output.status.success() {
            return Err(format!(
                "with_lines `{command}` exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        items.extend(
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .map(|line| Json::from(line.to_owned())),
        );
    }
    Ok(items)
}

/// `with_flattened`: every element of every nested list, in order.
pub fn flattened(value: &Json) -> Vec<Json> {
    fn flatten(value: &Json, into: &mut Vec<Json>) {
        match value {
            Json::Array(items) => items.iter().for_each(|item| flatten(item, into)),
            Json::Null => {}
            other => into.push(other.clone()),
        }
    }
    let mut items = Vec::new();
    flatten(value, &mut items);
    items
}

/// `with_random_choice`: one of the items, picked at random.
pub fn random_choice(value: &Json) -> Vec<Json> {
    let items = terms(value);
    if items.is_empty() {
        return Vec::new();
    }
    vec![items[fastrand::usize(..items.len())].clone()]
}

/// `with_first_found`: the terms are file names, or mappings of `files`
/// (names, or one comma-separated string), `paths` and `skip`. The first
/// candidate that exists, looked for under `directories` when relative
/// (under each of `paths` first, when given), is the one item; with
/// `skip: true` and none found there are no items; else it is an error.
pub fn first_found(terms: &Json, directories: &[PathBuf]) -> Result<Vec<Json>, String> {
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
        Some(Json::Array(items)) => items.iter().map(crate::as_text).collect(),
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
        Json::String(text) => matches!(
            text.trim().to_ascii_lowercase().as_str(),
            "yes" | "on" | "true" | "1" | "y" | "t"
        ),
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
pub fn subelements(terms: &Json) -> Result<Vec<Json>, String> {
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

/// `with_together`: the lists side by side, the shorter ones padded with
/// nulls.
pub fn together(lists: &[Vec<Json>]) -> Vec<Json> {
    let length = lists.iter().map(Vec::len).max().unwrap_or(0);
    (0..length)
        .map(|index| {
            Json::Array(
                lists
                    .iter()
                    .map(|list| list.get(index).cloned().unwrap_or(Json::Null))
                    .collect(),
            )
        })
        .collect()
}

/// `with_nested` and `with_cartesian`: every combination, the first list
/// varying slowest.
pub fn nested(lists: Vec<Vec<Json>>) -> Vec<Json> {
    lists
        .into_iter()
        .fold(vec![Vec::new()], |products, list| {
            products
                .into_iter()
                .flat_map(|prefix| {
                    list.iter().map(move |item| {
                        let mut next = prefix.clone();
                        next.push(item.clone());
                        next
                    })
                })
                .collect()
        })
        .into_iter()
        .map(Json::Array)
        .collect()
}

/// `with_dict`: `{key, value}` for each entry of a mapping.
pub fn dict(value: &Json) -> Result<Vec<Json>, String> {
    match value {
        Json::Object(map) => Ok(map
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect()),
        other => Err(format!("`with_dict` needs a mapping, not `{other}`")),
    }
}

/// `with_indexed_items`: `[index, item]` for each item.
pub fn indexed(items: Vec<Json>) -> Vec<Json> {
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| json!([index, item]))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sequences_in_every_form() {
        let texts = |value: Json| sequence(&value).unwrap();
        assert_eq!(
            texts(json!("start=1 end=3")),
            [json!("1"), json!("2"), json!("3")]
        );
        assert_eq!(
            texts(json!("count=3 start=0 stride=5")),
            [json!("0"), json!("5"), json!("10")]
        );
        assert_eq!(
            texts(json!("2-6/2:web%02d")),
            [json!("web02"), json!("web04"), json!("web06")]
        );
        assert_eq!(
            texts(json!("start=0x0a end=0x0b format=%x")),
            [json!("a"), json!("b")]
        );
        assert_eq!(
            texts(json!("start=3 end=1 stride=-1")),
            [json!("3"), json!("2"), json!("1")]
        );
        assert!(sequence(&json!("start=5 end=1")).is_err());
        assert!(sequence(&json!("start=1")).is_err());
    }

    #[test]
    fn flattened_reaches_every_depth() {
        assert_eq!(
            flattened(&json!([1, [2, [3, [4]]], null])),
            [json!(1), json!(2), json!(3), json!(4)]
        );
    }

    #[test]
    fn fileglob_finds_files_in_the_first_directory_that_matches() {
        let directory = tempfile::tempdir().expect("a directory");
        let files = directory.path().join("files");
        std::fs::create_dir_all(files.join("sub.conf")).expect("a directory");
        std::fs::write(files.join("b.conf"), "").expect("a file");
        std::fs::write(files.join("a.conf"), "").expect("a file");
        let found = fileglob(
            &json!("*.conf"),
            &[files.clone(), directory.path().to_path_buf()],
        )
        .expect("globbed");
        let expected: Vec<Json> = ["a.conf", "b.conf"]
            .iter()
            .map(|name| json!(files.join(name).display().to_string()))
            .collect();
        assert_eq!(found, expected);
    }

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
