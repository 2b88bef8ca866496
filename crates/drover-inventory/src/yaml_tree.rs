//! A YAML document as a tree in which every node knows its line and column.
//!
//! Ansible's YAML inventories are loosely typed (a `hosts:` entry may be a
//! string, a mapping or null), so they are read into this untyped tree and
//! interpreted afterwards. Keeping the position of every node lets an error
//! about a *valid* YAML value with the wrong meaning still point at it.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::error::{Error, SourceLocation};

/// One YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's content.
    pub value: NodeValue,
    /// The 1-based line the node starts on.
    pub line: usize,
    /// The 1-based column the node starts at.
    pub column: usize,
}

/// The content of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `~`, `null` or nothing.
    Null,
    /// A boolean, in YAML 1.1 spellings too (`yes`, `off`), as Ansible reads them.
    Bool(bool),
    /// An integer or a float.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// A sequence.
    Sequence(Vec<Node>),
    /// A mapping, in document order.
    Mapping(Vec<(Node, Node)>),
}

impl Node {
    /// The location of this node within `path`.
    pub fn location(&self, path: &Path) -> SourceLocation {
        SourceLocation::new(path, self.line, self.column)
    }

    /// The node as a string, if it is a scalar (numbers and booleans spelt as YAML would).
    pub fn as_scalar_text(&self) -> Option<String> {
        match &self.value {
            NodeValue::String(text) => Some(text.clone()),
            NodeValue::Number(number) => Some(number.to_string()),
            NodeValue::Bool(flag) => Some(flag.to_string()),
            NodeValue::Null | NodeValue::Sequence(_) | NodeValue::Mapping(_) => None,
        }
    }

    /// A short name of the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "boolean",
            NodeValue::Number(_) => "number",
            NodeValue::String(_) => "string",
            NodeValue::Sequence(_) => "list",
            NodeValue::Mapping(_) => "mapping",
        }
    }

    /// Converts the node into a plain JSON value, dropping positions.
    ///
    /// Mapping keys that are not strings are spelt out, as Python's `json`
    /// module does when Ansible prints them.
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(flag) => Value::Bool(*flag),
            NodeValue::Number(number) => Value::Number(number.clone()),
            NodeValue::String(text) => Value::String(text.clone()),
            NodeValue::Sequence(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Mapping(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, value)| (key.key_text(), value.to_json()))
                    .collect(),
            ),
        }
    }

    /// The text a mapping key stands for.
    pub fn key_text(&self) -> String {
        match &self.value {
            NodeValue::Null => "null".to_owned(),
            _ => self
                .as_scalar_text()
                .unwrap_or_else(|| self.to_json().to_string()),
        }
    }
}

/// Parses `text` (the contents of `path`) into a tree of positioned nodes.
///
/// Budgets guard against alias bombs; duplicate keys keep the last value, as
/// `PyYAML` (and so Ansible) does. An empty document is `Null`.
pub fn parse(text: &str, path: &Path) -> Result<Node, Error> {
    // The budget refuses alias bombs ("billion laughs") and runaway
    // documents before they cost memory: far above any real inventory or
    // playbook, far below what would hurt the controller.
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(MAX_FILE_BYTES),
            max_aliases: 10_000,
            max_nodes: 1_000_000,
            max_events: 500_000,
            max_total_scalar_bytes: MAX_FILE_BYTES,
            max_depth: 128,
        },
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        legacy_octal_numbers: true,
        with_snippet: false,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
    };
    SOURCE.with(|source| text.clone_into(&mut source.borrow_mut()));
    let parsed: Result<Option<Node>, _> = serde_saphyr::from_str_with_options(text, options);
    SOURCE.with(|source| source.borrow_mut().clear());
    let parsed = parsed.map_err(|error| {
        let (line, column) = error.location().map_or((1, 1), |location| {
            (
                usize::try_from(location.line()).unwrap_or(1).max(1),
                usize::try_from(location.column()).unwrap_or(1).max(1),
            )
        });
        let message = strip_location_suffix(&error.to_string());
        let location = SourceLocation::new(path, line, column);
        if message.contains("budget breached") {
            return Error::Syntax {
                location,
                message,
                hint: Some(
                    "the document expands too far (aliases, nesting or size): drover refuses \
                     YAML bombs; write the values out, or split the file"
                        .to_owned(),
                ),
            };
        }
        Error::Yaml { location, message }
    })?;
    Ok(parsed.unwrap_or(Node {
        value: NodeValue::Null,
        line: 1,
        column: 1,
    }))
}

/// serde-saphyr appends ` at line L, column C` to its messages; we show the
/// location ourselves, so drop it.
fn strip_location_suffix(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or(message);
    match first_line.rfind(" at line ") {
        Some(index) => first_line[..index].to_owned(),
        None => first_line.to_owned(),
    }
}

thread_local! {
    /// The text being parsed, so that a node can look at its own spelling.
    static SOURCE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// The spellings `PyYAML` (and so Ansible) reads as booleans. serde-saphyr
/// also accepts `y`, `n` and mixed case such as `yEs`; Ansible keeps those
/// as strings, and so must we.
const PYYAML_BOOLEANS: [&str; 18] = [
    "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on",
    "On", "ON", "off", "Off", "OFF",
];

/// Turns a boolean back into text when its spelling is not one of `PyYAML`'s.
fn correct_boolean(value: NodeValue, span: serde_saphyr::Span) -> NodeValue {
    let NodeValue::Bool(_) = value else {
        return value;
    };
    let (Some(offset), Some(length)) = (span.byte_offset(), span.byte_len()) else {
        return value;
    };
    let spelling = SOURCE.with(|source| {
        let source = source.borrow();
        let start = usize::try_from(offset).ok()?;
        let end = start + usize::try_from(length).ok()?;
        source.get(start..end).map(str::to_owned)
    });
    match spelling {
        Some(text)
            if !PYYAML_BOOLEANS.contains(&text.as_str())
                && ["y", "n", "yes", "no", "on", "off", "true", "false"]
                    .iter()
                    .any(|word| word.eq_ignore_ascii_case(&text)) =>
        {
            NodeValue::String(text)
        }
        _ => value,
    }
}

/// The largest YAML (or INI) file drover reads: 32 MiB.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// The key Ansible uses for a vaulted value in JSON (`ansible-inventory
/// --list` prints `{"__ansible_vault": "$ANSIBLE_VAULT;..."}`), and so the
/// shape an inline `!vault` scalar takes here until it is decrypted.
pub const VAULT_KEY: &str = "__ansible_vault";

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned =
            serde_saphyr::Spanned::<serde_saphyr::Tagged<NodeValue>>::deserialize(deserializer)?;
        let line = usize::try_from(spanned.referenced.line()).unwrap_or(0);
        let column = usize::try_from(spanned.referenced.column()).unwrap_or(0);
        let serde_saphyr::Tagged(value, tag) = spanned.value;
        let value = match (tag.as_deref(), value) {
            (Some("!vault" | "!vault-encrypted"), NodeValue::String(text)) => {
                let key = Node {
                    value: NodeValue::String(VAULT_KEY.to_owned()),
                    line,
                    column,
                };
                let text = Node {
                    value: NodeValue::String(text),
                    line,
                    column,
                };
                NodeValue::Mapping(vec![(key, text)])
            }
            (Some("!unsafe"), NodeValue::String(text)) => NodeValue::String(unsafe_text(text)),
            (_, value) => correct_boolean(value, spanned.referenced.span()),
        };
        Ok(Node {
            value,
            line,
            column,
        })
    }
}

/// A `!unsafe` string: never templated. It is kept as a template that
/// gives back its own text (a `raw` block), so that everything that renders
/// values renders it to itself, however it is reached.
fn unsafe_text(text: String) -> String {
    if text.contains("{{") || text.contains("{%") || text.contains("{#") {
        format!("{{% raw %}}{text}{{% endraw %}}")
    } else {
        text
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<NodeValue, E> {
        Ok(serde_json::Number::from_f64(value)
            .map_or_else(|| NodeValue::String(value.to_string()), NodeValue::Number))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<NodeValue, E> {
        Ok(NodeValue::String(value))
    }

    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeValue::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<NodeValue, A::Error> {
        let mut entries: Vec<(Node, Node)> = Vec::new();
        while let Some(key) = access.next_key::<Node>()? {
            let value = access.next_value::<Node>()?;
            // Last duplicate wins, but keeps the first one's place, like a Python dict.
            if let Some(existing) = entries.iter_mut().find(|(old, _)| old.value == key.value) {
                existing.1 = value;
            } else {
                entries.push((key, value));
            }
        }
        Ok(NodeValue::Mapping(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Node {
        parse(text, Path::new("test.yml")).unwrap()
    }

    #[test]
    fn nodes_carry_their_positions() {
        let root = parse_text("all:\n  hosts:\n    web1:\n      port: 22\n");
        let NodeValue::Mapping(entries) = &root.value else {
            panic!("not a mapping")
        };
        let (key, value) = &entries[0];
        assert_eq!((key.line, key.column), (1, 1));
        let NodeValue::Mapping(inner) = &value.value else {
            panic!("not a mapping")
        };
        assert_eq!((inner[0].0.line, inner[0].0.column), (2, 3));
    }

    #[test]
    fn yaml_one_one_scalars_are_typed_as_ansible_types_them() {
        let root = parse_text("a: yes\nb: 0755\nc: 'yes'\nd: ~\ne: 1.5\n").to_json();
        assert_eq!(
            root,
            serde_json::json!({"a": true, "b": 493, "c": "yes", "d": null, "e": 1.5})
        );
    }

    #[test]
    fn only_pyyaml_spellings_are_booleans() {
        let root = parse_text("a: y\nb: N\nc: yEs\nd: Off\n").to_json();
        assert_eq!(
            root,
            serde_json::json!({"a": "y", "b": "N", "c": "yEs", "d": false})
        );
    }

    #[test]
    fn merge_keys_are_expanded() {
        let root = parse_text("base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n").to_json();
        assert_eq!(root["m"], serde_json::json!({"y": 2, "x": 1}));
    }

    #[test]
    fn syntax_errors_point_at_the_line() {
        let error = parse("a: [1,\nb: 2\n", Path::new("bad.yml")).unwrap_err();
        let location = error.location().unwrap();
        assert_eq!(location.path, Path::new("bad.yml"));
        assert!(location.line >= 1);
    }

    #[test]
    fn inline_vault_values_keep_their_envelope_as_ansible_prints_it() {
        let root =
            parse_text("secret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\nplain: !!str 1\n")
                .to_json();
        assert_eq!(
            root,
            serde_json::json!({"secret": {"__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256\n6162\n"}, "plain": "1"})
        );
    }

    #[test]
    fn alias_bombs_are_refused() {
        use std::fmt::Write as _;
        let mut bomb = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..10 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 10].join(", ");
            let _ = writeln!(bomb, "a{level}: &a{level} [{items}]");
        }
        let error = parse(&bomb, Path::new("bomb.yml")).unwrap_err();
        assert_eq!(error.location().unwrap().path, Path::new("bomb.yml"));
        assert!(error.to_string().contains("budget"), "{error}");
    }

    #[test]
    fn empty_documents_are_null() {
        assert_eq!(parse_text("# nothing\n").value, NodeValue::Null);
    }
}
