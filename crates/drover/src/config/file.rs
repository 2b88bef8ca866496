//! Reading an `ansible.cfg` the way Ansible reads it: Python's
//! `configparser` dialect, with `;` inline comments and `%%` escapes,
//! keeping each value's line so that warnings can point at it.
//!
//! No INI crate keeps line numbers, and the dialect is small; the rules
//! below are the ones Python's `ConfigParser(inline_comment_prefixes=(';',))`
//! applies.

use std::path::{Path, PathBuf};

use drover_inventory::SourceLocation;

/// One `key = value` of a section.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The section, lower-cased as Ansible compares it (`defaults`).
    pub(crate) section: String,
    /// The key, lower-cased as `configparser` stores it.
    pub(crate) key: String,
    /// The value, with continuation lines joined by newlines and `%%` read as `%`.
    pub(crate) value: String,
    /// Where the key is written.
    pub(crate) location: SourceLocation,
}

/// A parsed `ansible.cfg`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigFile {
    /// The file read.
    pub(crate) path: PathBuf,
    /// Its entries, in file order.
    pub(crate) entries: Vec<Entry>,
}

/// Why an `ansible.cfg` could not be read; Ansible refuses the same files.
#[derive(Debug)]
pub(crate) struct ConfigError {
    pub(crate) message: String,
    pub(crate) location: SourceLocation,
    pub(crate) hint: &'static str,
}

impl ConfigFile {
    /// Reads and parses the file at `path`.
    pub(crate) fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
            message: format!("cannot read {}: {error}", path.display()),
            location: SourceLocation::new(path, 1, 1),
            hint: "check the file's permissions, or point ANSIBLE_CONFIG elsewhere",
        })?;
        Self::parse(&text, path)
    }

    /// Parses `text`, read from `path`.
    pub(crate) fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut parser = Parser {
            file: Self {
                path: path.to_path_buf(),
                entries: Vec::new(),
            },
            section: None,
            open_value: false,
        };
        for (index, raw) in text.lines().enumerate() {
            parser.line(index + 1, raw.trim_end())?;
        }
        Ok(parser.file)
    }

    /// The entry for `key` in `section`.
    pub(crate) fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|entry| entry.section == section && entry.key == key)
    }

    /// The directory relative paths in the file are taken from.
    pub(crate) fn directory(&self) -> &Path {
        self.path.parent().unwrap_or_else(|| Path::new("."))
    }
}

/// The state between lines: the section, and whether an indented line
/// continues the last value.
struct Parser {
    file: ConfigFile,
    section: Option<String>,
    open_value: bool,
}

impl Parser {
    fn line(&mut self, number: usize, line: &str) -> Result<(), ConfigError> {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            self.open_value = false;
            return Ok(());
        }
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            return Ok(());
        }
        let column = line.len() - trimmed.len() + 1;
        let location = SourceLocation::new(&self.file.path, number, column);
        if column > 1 && self.open_value {
            let entry = self
                .file
                .entries
                .last_mut()
                .expect("an open value has an entry");
            entry.value.push('\n');
            entry
                .value
                .push_str(&unescape(strip_inline_comment(trimmed)));
            return Ok(());
        }
        if let Some(name) = trimmed.strip_prefix('[') {
            return self.header(name, trimmed, location);
        }
        self.entry(trimmed, location)
    }

    fn header(
        &mut self,
        name: &str,
        trimmed: &str,
        location: SourceLocation,
    ) -> Result<(), ConfigError> {
        let Some(name) = name.strip_suffix(']') else {
            return Err(ConfigError {
                message: format!("`{trimmed}` opens a section but does not close it"),
                location,
                hint: "a section header is `[name]` on a line of its own",
            });
        };
        let name = name.trim().to_ascii_lowercase();
        let seen = self.file.entries.iter().any(|entry| entry.section == name);
        if seen && self.section.as_deref() != Some(&name) {
            return Err(ConfigError {
                message: format!("section `[{name}]` appears twice"),
                location,
                hint: "merge the two sections into one",
            });
        }
        self.section = Some(name);
        self.open_value = false;
        Ok(())
    }

    fn entry(&mut self, trimmed: &str, location: SourceLocation) -> Result<(), ConfigError> {
        let error = |message: String, hint| ConfigError {
            message,
            location: location.clone(),
            hint,
        };
        let Some(section) = self.section.clone() else {
            return Err(error(
                "a setting before any `[section]` header".to_owned(),
                "put settings under a section, such as `[defaults]`",
            ));
        };
        let Some(split) = trimmed.find(['=', ':']) else {
            return Err(error(
                format!("`{trimmed}` is neither `key = value` nor a section"),
                "write `key = value`; a line starting with `#` or `;` is a comment",
            ));
        };
        let key = trimmed[..split].trim().to_ascii_lowercase();
        if self.file.get(&section, &key).is_some() {
            return Err(error(
                format!("`{key}` is set twice in `[{section}]`"),
                "keep one of the two lines",
            ));
        }
        self.file.entries.push(Entry {
            section,
            location: SourceLocation {
                length: key.chars().count().max(1),
                ..location
            },
            value: unescape(strip_inline_comment(trimmed[split + 1..].trim())),
            key,
        });
        self.open_value = true;
        Ok(())
    }
}

/// Drops a `;` comment that follows whitespace, as Ansible's parser does
/// (`forks = 10 ; more` is 10; `a;b` keeps its `;`).
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for (index, byte) in bytes.iter().enumerate() {
        if *byte == b';' && index > 0 && bytes[index - 1].is_ascii_whitespace() {
            return value[..index].trim_end();
        }
    }
    value
}

/// Reads `%%` as `%`, as `configparser`'s interpolation does; a `%(name)s`
/// reference is left as written (only settings drover ignores use them).
fn unescape(value: &str) -> String {
    value.replace("%%", "%")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
        ConfigFile::parse(text, Path::new("/project/ansible.cfg"))
    }

    #[test]
    fn sections_keys_comments_and_continuations() {
        let file = parse(
            "# top\n[Defaults]\nForks = 10 ; ten\nremote_user: deploy\n\
             inventory = a,\n  b\n\n[ssh_connection]\ncontrol_path = /tmp/%%h;x\n",
        )
        .unwrap();
        let value = |section, key| file.get(section, key).map(|entry| entry.value.as_str());
        assert_eq!(value("defaults", "forks"), Some("10"));
        assert_eq!(value("defaults", "remote_user"), Some("deploy"));
        assert_eq!(value("defaults", "inventory"), Some("a,\nb"));
        assert_eq!(value("ssh_connection", "control_path"), Some("/tmp/%h;x"));
        assert_eq!(file.get("defaults", "forks").unwrap().location.line, 3);
    }

    #[test]
    fn malformed_files_are_refused_with_their_line() {
        let error = parse("[defaults]\nforks = 1\nforks = 2\n").unwrap_err();
        assert_eq!(error.location.line, 3);
        assert!(error.message.contains("set twice"), "{}", error.message);
        let error = parse("forks = 1\n").unwrap_err();
        assert!(error.message.contains("before any"), "{}", error.message);
        let error = parse("[defaults\n").unwrap_err();
        assert!(
            error.message.contains("does not close"),
            "{}",
            error.message
        );
    }
}
