//! The INI inventory format, read with Ansible's rules.
//!
//! Hosts before any section land in `ungrouped`. `[name]` lists hosts,
//! `[name:vars]` sets group variables and `[name:children]` nests groups. A
//! child group may be named before its own section appears; a name that is
//! never defined is an error, reported at the line that used it.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::error::{Error, SourceLocation};
use crate::inventory::{GroupId, Inventory, UNGROUPED};
use crate::{address, python_literal, range, shell_words};

static SECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").expect("section pattern is valid")
});
static GROUP_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").expect("group name pattern is valid"));

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Section {
    Hosts,
    Vars,
    Children,
}

/// A group named before it was defined, remembered until its section appears.
struct Pending {
    location: SourceLocation,
    section: Section,
    parents: Vec<String>,
}

struct Reader<'a> {
    inventory: &'a mut Inventory,
    path: &'a Path,
    pending: indexmap::IndexMap<String, Pending>,
}

/// One line of the file, with what is needed to point at it.
struct Line<'a> {
    text: &'a str,
    number: usize,
    /// The 1-based column where `text` (the trimmed line) starts.
    column: usize,
}

/// Reads the INI inventory `text` (the contents of `path`) into `inventory`.
pub(crate) fn parse(inventory: &mut Inventory, text: &str, path: &Path) -> Result<(), Error> {
    let mut reader = Reader {
        inventory,
        path,
        pending: indexmap::IndexMap::new(),
    };
    let mut group = reader.inventory.add_group(UNGROUPED);
    let mut section = Section::Hosts;
    for (index, raw) in text.lines().enumerate() {
        let text = raw.trim();
        if text.is_empty() || text.starts_with(['#', ';']) {
            continue;
        }
        let leading = raw[..raw.len() - raw.trim_start().len()].chars().count();
        let line = Line {
            text,
            number: index + 1,
            column: leading + 1,
        };
        if let Some((name, kind)) = reader.section_header(&line)? {
            group = reader.enter_section(&name, kind, &line)?;
            section = kind;
            continue;
        }
        match section {
            Section::Hosts => reader.host_line(&line, group)?,
            Section::Vars => reader.vars_line(&line, group)?,
            Section::Children => reader.children_line(&line, group)?,
        }
    }
    reader.finish()
}

impl Reader<'_> {
    fn location(&self, line: &Line<'_>) -> SourceLocation {
        SourceLocation::new(self.path, line.number, line.column)
            .with_length(line.text.chars().count())
    }

    /// The location of `fragment` within the line, or of the whole line.
    fn location_of(&self, line: &Line<'_>, fragment: &str) -> SourceLocation {
        match line.text.find(fragment) {
            Some(offset) => SourceLocation::new(
                self.path,
                line.number,
                line.column + line.text[..offset].chars().count(),
            )
            .with_length(fragment.chars().count()),
            None => self.location(line),
        }
    }

    fn syntax(location: SourceLocation, message: String, hint: &str) -> Error {
        Error::Syntax {
            location,
            message,
            hint: Some(hint.to_owned()),
        }
    }

    fn section_header(&self, line: &Line<'_>) -> Result<Option<(String, Section)>, Error> {
        if let Some(captures) = SECTION.captures(line.text) {
            let name = captures[1].to_owned();
            let kind = match captures.get(2).map(|kind| kind.as_str()) {
                None | Some("hosts") => Section::Hosts,
                Some("vars") => Section::Vars,
                Some("children") => Section::Children,
                Some(other) => {
                    return Err(Self::syntax(
                        self.location_of(line, other),
                        format!("section `[{name}:{other}]` has unknown type `{other}`"),
                        "a section is `[group]`, `[group:vars]` or `[group:children]`",
                    ));
                }
            };
            return Ok(Some((name, kind)));
        }
        if line.text.starts_with('[') && line.text.ends_with(']') {
            return Err(Self::syntax(
                self.location(line),
                format!("invalid section header `{}`", line.text),
                "section names may not contain spaces, `:` (except before `vars` or \
                 `children`) or `]`",
            ));
        }
        Ok(None)
    }

    fn enter_section(
        &mut self,
        name: &str,
        kind: Section,
        line: &Line<'_>,
    ) -> Result<GroupId, Error> {
        if self.inventory.group_id(name).is_none() {
            if kind == Section::Vars && !self.pending.contains_key(name) {
                let location = self.location(line);
                self.pending.insert(
                    name.to_owned(),
                    Pending {
                        location,
                        section: kind,
                        parents: Vec::new(),
                    },
                );
            }
            self.inventory.add_group(name);
        }
        if kind != Section::Vars {
            match self.pending.get(name).map(|pending| pending.section) {
                Some(Section::Children) => self.add_pending_children(name)?,
                Some(Section::Vars) => {
                    self.pending.shift_remove(name);
                }
                _ => {}
            }
        }
        Ok(self.inventory.add_group(name))
    }

    fn add_pending_children(&mut self, group: &str) -> Result<(), Error> {
        let Some(pending) = self.pending.get(group) else {
            return Ok(());
        };
        let (parents, location) = (pending.parents.clone(), pending.location.clone());
        let child = self.inventory.add_group(group);
        for parent in parents {
            let parent_id = self.inventory.add_group(&parent);
            self.inventory
                .add_child(parent_id, child, Some(&location))?;
            if self
                .pending
                .get(&parent)
                .is_some_and(|pending| pending.section == Section::Children)
            {
                self.add_pending_children(&parent)?;
            }
        }
        self.pending.shift_remove(group);
        Ok(())
    }

    fn host_line(&mut self, line: &Line<'_>, group: GroupId) -> Result<(), Error> {
        let tokens = shell_words::split(line.text).map_err(|error| {
            Self::syntax(
                self.location(line),
                format!("cannot split host line: {error}"),
                "quote values that contain spaces, and close every quote",
            )
        })?;
        let Some((pattern, assignments)) = tokens.split_first() else {
            return Ok(());
        };
        let (names, port) = expand_host_pattern(pattern, &self.location_of(line, pattern))?;
        let mut variables: Vec<(String, Value)> = Vec::new();
        for assignment in assignments {
            let Some((key, value)) = assignment.split_once('=') else {
                return Err(Self::syntax(
                    self.location_of(line, assignment),
                    format!("expected `key=value` host variable, found `{assignment}`"),
                    "write host variables as `name=value`; quote values with spaces",
                ));
            };
            variables.push((key.to_owned(), parse_value(value)));
        }
        for name in names {
            let host = self
                .inventory
                .add_host(&name, Some(group), port, Some(self.path));
            for (key, value) in &variables {
                self.inventory.set_host_variable(host, key, value.clone());
            }
        }
        Ok(())
    }

    fn vars_line(&mut self, line: &Line<'_>, group: GroupId) -> Result<(), Error> {
        let Some((key, value)) = line.text.split_once('=') else {
            return Err(Self::syntax(
                self.location(line),
                format!("expected `key=value`, found `{}`", line.text),
                "a `[group:vars]` section holds one `name = value` per line",
            ));
        };
        self.inventory
            .set_group_variable(group, key.trim(), parse_value(value.trim()));
        Ok(())
    }

    fn children_line(&mut self, line: &Line<'_>, group: GroupId) -> Result<(), Error> {
        let Some(captures) = GROUP_NAME.captures(line.text) else {
            return Err(Self::syntax(
                self.location(line),
                format!("expected a group name, found `{}`", line.text),
                "a `[group:children]` section holds one group name per line",
            ));
        };
        let child = &captures[1];
        let location = self.location_of(line, child);
        if let Some(child_id) = self.inventory.group_id(child) {
            return self.inventory.add_child(group, child_id, Some(&location));
        }
        let parent = self.inventory.group(group).name.clone();
        self.pending
            .entry(child.to_owned())
            .or_insert_with(|| Pending {
                location,
                section: Section::Children,
                parents: Vec::new(),
            })
            .parents
            .push(parent);
        Ok(())
    }

    fn finish(self) -> Result<(), Error> {
        let Some((name, pending)) = self.pending.into_iter().next() else {
            return Ok(());
        };
        Err(match pending.section {
            Section::Vars => Error::UndefinedVarsGroup {
                location: pending.location,
                group: name,
            },
            _ => Error::UndefinedChildGroup {
                location: pending.location,
                parent: pending.parents.last().cloned().unwrap_or_default(),
                child: name,
            },
        })
    }
}

/// Types an INI value as Ansible does: a Python literal if it is one, else the text.
fn parse_value(text: &str) -> Value {
    python_literal::literal_eval(text).unwrap_or_else(|| Value::String(text.to_owned()))
}

/// Splits off a port and expands ranges; shared by the INI and YAML readers.
///
/// `location` is where the pattern is written, for errors.
pub(crate) fn expand_host_pattern(
    pattern: &str,
    location: &SourceLocation,
) -> Result<(Vec<String>, Option<u64>), Error> {
    let (host, port) = match address::parse(pattern) {
        Some(parsed) => (parsed.host, parsed.port),
        None => (pattern.to_owned(), None),
    };
    if pattern.trim().ends_with(':') && port.is_none() {
        return Err(Error::Syntax {
            location: location.clone(),
            message: format!("host `{pattern}` ends in `:` but gives no port"),
            hint: Some("write the port after the colon (`web1:2222`) or drop the colon".into()),
        });
    }
    let names = if range::has_range(&host) {
        range::expand(&host).map_err(|message| Error::Range {
            location: Some(location.clone()),
            pattern: host.clone(),
            message,
        })?
    } else {
        vec![host]
    };
    if names.iter().any(|name| name.trim() == "---") {
        return Err(Error::Syntax {
            location: location.clone(),
            message: "a host named `---` looks like the start of a YAML document".to_owned(),
            hint: Some("give YAML inventories a `.yml` or `.yaml` extension".to_owned()),
        });
    }
    Ok((names, port))
}
