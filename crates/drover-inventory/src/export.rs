//! Printing an inventory the way `ansible-inventory` prints it.

use std::fmt::Write as _;
use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};
use serde_json::{Map, Value};

use crate::inventory::{ALL, GroupId, Inventory};

impl Inventory {
    /// The `ansible-inventory --list` document: every non-empty group with
    /// its direct hosts and children, and `_meta.hostvars` with each host's
    /// merged variables.
    pub fn to_list_json(&self) -> Value {
        let Some(all) = self.group_id(ALL) else {
            return Value::Object(Map::new());
        };
        let available = self.group_hosts(all);
        let mut results = Map::new();
        let mut seen = Vec::new();
        self.format_group(all, &available, &mut seen, &mut results);
        let mut hostvars = Map::new();
        for host in &available {
            let variables = self.host_variables(*host);
            if !variables.is_empty() {
                hostvars.insert(self.host(*host).name.clone(), Value::Object(variables));
            }
        }
        let mut meta = Map::new();
        meta.insert("hostvars".to_owned(), Value::Object(hostvars));
        meta.insert("profile".to_owned(), Value::from("inventory_legacy"));
        results.insert("_meta".to_owned(), Value::Object(meta));
        Value::Object(results)
    }

    fn format_group(
        &self,
        group: GroupId,
        available: &[usize],
        seen: &mut Vec<GroupId>,
        results: &mut Map<String, Value>,
    ) {
        let data = self.group(group);
        let mut entry = Map::new();
        if data.name != ALL {
            let hosts: Vec<Value> = data
                .hosts
                .iter()
                .filter(|host| available.contains(host))
                .map(|host| Value::from(self.host(*host).name.clone()))
                .collect();
            if !hosts.is_empty() {
                entry.insert("hosts".to_owned(), Value::Array(hosts));
            }
        }
        let mut children = Vec::new();
        for child in &data.children {
            children.push(Value::from(self.group(*child).name.clone()));
            if !seen.contains(child) {
                self.format_group(*child, available, seen, results);
                seen.push(*child);
            }
        }
        if !children.is_empty() {
            entry.insert("children".to_owned(), Value::Array(children));
        }
        if !entry.is_empty() {
            results.insert(data.name.clone(), Value::Object(entry));
        }
    }

    /// The `ansible-inventory --graph` tree below `group`, or `None` when no such group exists.
    pub fn graph(&self, group: &str) -> Option<String> {
        let group = self.group_id(group)?;
        let mut lines = Vec::new();
        self.graph_group(group, 0, &mut lines);
        Some(lines.join("\n"))
    }

    fn graph_group(&self, group: GroupId, depth: usize, lines: &mut Vec<String>) {
        let data = self.group(group);
        lines.push(graph_line(&format!("@{}:", data.name), depth));
        for child in &data.children {
            self.graph_group(*child, depth + 1, lines);
        }
        if data.name != ALL {
            for host in &data.hosts {
                lines.push(graph_line(&self.host(*host).name, depth + 1));
            }
        }
    }
}

fn graph_line(name: &str, depth: usize) -> String {
    if depth == 0 {
        return name.to_owned();
    }
    let mut line = "  |".repeat(depth);
    let _ = write!(line, "--{name}");
    line
}

/// Renders JSON exactly as Python's `json.dumps(value, sort_keys=True, indent=4)`:
/// sorted keys, four-space indent, and non-ASCII characters escaped.
pub fn to_ansible_json(value: &Value) -> String {
    let sorted = sort_keys(value);
    let mut output = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut output,
        AsciiFormatter(PrettyFormatter::with_indent(b"    ")),
    );
    // Serializing a `Value` into memory cannot fail.
    let _ = sorted.serialize(&mut serializer);
    String::from_utf8(output).unwrap_or_default()
}

fn sort_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key.clone(), sort_keys(value)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// A pretty formatter that escapes every non-ASCII character as `\uXXXX`,
/// as Python's `json` module does by default.
struct AsciiFormatter<'a>(PrettyFormatter<'a>);

impl Formatter for AsciiFormatter<'_> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for character in fragment.chars() {
            if character.is_ascii() {
                writer.write_all(&[character as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in character.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_matches_python_layout() {
        let text = to_ansible_json(&json!({"b": [1, "é"], "a": {}, "c": []}));
        assert_eq!(
            text,
            "{\n    \"a\": {},\n    \"b\": [\n        1,\n        \"\\u00e9\"\n    ],\n    \"c\": []\n}"
        );
    }

    #[test]
    fn graph_lines_are_indented_like_ansible() {
        assert_eq!(graph_line("@all:", 0), "@all:");
        assert_eq!(graph_line("web1", 2), "  |  |--web1");
    }
}
