//! JSON text as Python's `json.dumps` writes it, which is what Ansible's
//! `to_json` filter and the `copy` module's non-string `content` produce:
//! `, ` between items, `: ` after keys, and every character beyond ASCII
//! escaped (`ensure_ascii`). A file drover writes from such a value is
//! then byte for byte the one Ansible writes.

use std::io::Write;

use serde_json::Value as Json;

/// Writes `value` as `json.dumps(value)` would.
pub fn python_json(value: &Json) -> String {
    let mut output = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut output, PythonFormatter);
    // Writing into memory cannot fail, and a `Value` always serializes.
    let _ = serde::Serialize::serialize(value, &mut serializer);
    String::from_utf8_lossy(&output).into_owned()
}

/// `serde_json`'s compact output with Python's separators and escapes.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        separate(writer, first)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        separate(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        for character in fragment.chars() {
            if character.is_ascii() {
                write!(writer, "{character}")?;
            } else {
                let mut units = [0_u16; 2];
                for unit in character.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// Python's `, ` before every item but the first.
fn separate<W: ?Sized + Write>(writer: &mut W, first: bool) -> std::io::Result<()> {
    if first {
        Ok(())
    } else {
        writer.write_all(b", ")
    }
}

#[cfg(test)]
mod tests {
    use super::python_json;

    #[test]
    fn separators_and_escapes_are_pythons() {
        let value = serde_json::json!({"a": 1, "b": [1, 2.5, true, null], "c": "é😀\n"});
        assert_eq!(
            python_json(&value),
            r#"{"a": 1, "b": [1, 2.5, true, null], "c": "\u00e9\ud83d\ude00\n"}"#
        );
    }
}
