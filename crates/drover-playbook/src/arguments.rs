//! Free-form module arguments: `copy: src=a dest=b` and `command: ls -l creates=/x`.
//!
//! As Ansible does, `k=v` words become arguments; for the free-form modules
//! (`command`, `shell`, ...), every other word forms `_raw_params`. Quotes
//! and `{{ }}` expressions keep their spaces.

use serde_json::Value as Json;

use crate::model::Vars;

/// Arguments that free-form modules accept as `k=v` inside the command line.
const FREE_FORM_KEYS: [&str; 7] = [
    "creates",
    "removes",
    "chdir",
    "executable",
    "stdin",
    "warn",
    "stdin_add_newline",
];

/// Splits `text` into `k=v` arguments (and `_raw_params` when `free_form`).
pub(crate) fn parse(text: &str, free_form: bool) -> Vars {
    let mut arguments = Vars::new();
    let mut raw: Vec<String> = Vec::new();
    for word in split_words(text) {
        let assignment = word.split_once('=').filter(|(key, _)| {
            !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && (!free_form || FREE_FORM_KEYS.contains(key))
        });
        match assignment {
            Some((key, value)) => {
                arguments.insert(
                    key.to_owned(),
                    Json::String(decode_escapes(&unquote(value))),
                );
            }
            None => raw.push(word),
        }
    }
    // Leftover words are the command of free-form modules; for the others
    // they end up as an unknown `_raw_params` argument, which validation reports.
    if !raw.is_empty() {
        arguments.insert("_raw_params".to_owned(), Json::String(raw.join(" ")));
    }
    arguments
}

/// Decodes backslash escapes in `k=v` values, as Ansible's `parse_kv`
/// does (`content="a\nb"` holds a newline); the command of a free-form
/// module keeps its backslashes.
fn decode_escapes(value: &str) -> String {
    let mut decoded = String::with_capacity(value.len());
    let mut characters = value.chars().peekable();
    while let Some(character) = characters.next() {
        if character != '\\' {
            decoded.push(character);
            continue;
        }
        let replacement = match characters.peek() {
            Some('n') => '\n',
            Some('t') => '\t',
            Some('r') => '\r',
            Some('\\') => '\\',
            Some('\'') => '\'',
            Some('"') => '"',
            Some('a') => '\u{7}',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('v') => '\u{b}',
            _ => {
                decoded.push('\\');
                continue;
            }
        };
        characters.next();
        decoded.push(replacement);
    }
    decoded
}

/// Removes one level of matching quotes around a whole value.
fn unquote(value: &str) -> String {
    let bytes = value.as_bytes();
    if bytes.len() >= 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 1] == bytes[0]
    {
        value[1..value.len() - 1].to_owned()
    } else {
        value.to_owned()
    }
}

/// Splits on whitespace outside quotes and `{{ }}` / `{% %}`, keeping the quotes.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let characters: Vec<char> = text.chars().collect();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        let next = characters.get(index + 1).copied();
        if let Some(open) = quote {
            current.push(character);
            if character == '\\'
                && let Some(next) = next
            {
                current.push(next);
                index += 1;
            } else if character == open {
                quote = None;
            }
        } else if (character == '{' && matches!(next, Some('{' | '%')))
            || (matches!(character, '}' | '%') && next == Some('}') && depth > 0)
        {
            depth = if character == '{' {
                depth + 1
            } else {
                depth - 1
            };
            current.push(character);
            current.push(next.unwrap_or_default());
            index += 1;
        } else if depth == 0 && (character == '"' || character == '\'') {
            quote = Some(character);
            current.push(character);
        } else if depth == 0 && character.is_whitespace() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        } else {
            current.push(character);
        }
        index += 1;
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_value_words_become_arguments() {
        let arguments = parse("src=a.conf dest='/etc/my app.conf' mode=0644", false);
        assert_eq!(
            Json::Object(arguments),
            json!({"src": "a.conf", "dest": "/etc/my app.conf", "mode": "0644"})
        );
    }

    #[test]
    fn escapes_in_values_are_decoded() {
        let arguments = parse(r#"content="a\nb" dest=/tmp/x path=C:\\dir"#, false);
        assert_eq!(arguments["content"], "a\nb");
        assert_eq!(arguments["path"], "C:\\dir");
    }

    #[test]
    fn free_form_modules_keep_their_command() {
        let arguments = parse(
            "echo {{ a | default('x y') }} > /tmp/f creates=/tmp/f chdir=/tmp",
            true,
        );
        assert_eq!(
            Json::Object(arguments),
            json!({"_raw_params": "echo {{ a | default('x y') }} > /tmp/f", "creates": "/tmp/f", "chdir": "/tmp"})
        );
        let arguments = parse("echo a=b", true);
        assert_eq!(Json::Object(arguments), json!({"_raw_params": "echo a=b"}));
    }
}
