//! Typing INI values the way Ansible does: with Python's `ast.literal_eval`.
//!
//! Ansible hands every INI value to `ast.literal_eval` and keeps the raw text
//! when that fails. So `port=22` is the integer 22, `flag=True` a boolean,
//! `list=[1,2]` a list and `name='a b'` the string `a b`, while `flag=yes`
//! stays the string `yes`. This module accepts the same literal grammar:
//! numbers (with `_`, `0x`, `0o`, `0b`, signs and exponents), strings (with
//! prefixes, escapes and implicit concatenation), `True`, `False`, `None`,
//! and lists, tuples, sets and dicts of those.

use serde_json::{Map, Number, Value};

/// Evaluates `text` as a Python literal, or returns `None` when Python would
/// refuse it (and Ansible would keep the text as a string).
pub(crate) fn literal_eval(text: &str) -> Option<Value> {
    let mut parser = Parser {
        chars: text.trim_start_matches([' ', '\t']).chars().collect(),
        position: 0,
        depth: 0,
    };
    let value = parser.expression()?;
    parser.skip_blanks();
    (parser.position == parser.chars.len()).then_some(value)
}

/// Python's parser refuses more than 200 nested brackets; so do we, which
/// also keeps hostile input from exhausting the stack.
const MAX_NESTING: usize = 200;

struct Parser {
    chars: Vec<char>,
    position: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.position + offset).copied()
    }

    /// Skips spaces and a trailing `# comment`, as Python's tokenizer does.
    fn skip_blanks(&mut self) {
        while let Some(character) = self.peek() {
            if character == '#' {
                self.position = self.chars.len();
            } else if character.is_whitespace() {
                self.position += 1;
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, expected: char) -> bool {
        self.skip_blanks();
        if self.peek() == Some(expected) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn expression(&mut self) -> Option<Value> {
        self.depth += 1;
        let value = if self.depth > MAX_NESTING {
            None
        } else {
            self.expression_inner()
        };
        self.depth -= 1;
        value
    }

    fn expression_inner(&mut self) -> Option<Value> {
        self.skip_blanks();
        match self.peek()? {
            '[' => {
                self.position += 1;
                self.sequence(']').map(|(items, _)| Value::Array(items))
            }
            '(' => {
                self.position += 1;
                let (items, had_comma) = self.sequence(')')?;
                // `(1)` is just 1; `(1,)` and `()` are tuples.
                if items.len() == 1 && !had_comma {
                    items.into_iter().next()
                } else {
                    Some(Value::Array(items))
                }
            }
            '{' => {
                self.position += 1;
                self.braces()
            }
            '+' | '-' => self.signed_number(),
            '0'..='9' | '.' => self.number(false),
            _ => self.word_or_string(),
        }
    }

    /// Items up to `close`, and whether any comma was seen.
    fn sequence(&mut self, close: char) -> Option<(Vec<Value>, bool)> {
        let mut items = Vec::new();
        let mut had_comma = false;
        loop {
            if self.eat(close) {
                return Some((items, had_comma));
            }
            items.push(self.expression()?);
            if self.eat(',') {
                had_comma = true;
            } else if self.eat(close) {
                return Some((items, had_comma));
            } else {
                return None;
            }
        }
    }

    /// A dict `{k: v}` or a set `{a, b}`.
    fn braces(&mut self) -> Option<Value> {
        if self.eat('}') {
            return Some(Value::Object(Map::new()));
        }
        let first = self.expression()?;
        if !self.eat(':') {
            let mut items = vec![first];
            while self.eat(',') {
                if self.eat('}') {
                    return Some(Value::Array(items));
                }
                items.push(self.expression()?);
            }
            return self.eat('}').then_some(Value::Array(items));
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            let value = self.expression()?;
            map.insert(key_text(&key)?, value);
            if !self.eat(',') {
                return self.eat('}').then_some(Value::Object(map));
            }
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            key = self.expression()?;
            if !self.eat(':') {
                return None;
            }
        }
    }

    fn signed_number(&mut self) -> Option<Value> {
        let negative = self.peek() == Some('-');
        self.position += 1;
        self.skip_blanks();
        match self.peek()? {
            '+' | '-' => {
                let inner = self.signed_number()?;
                if negative {
                    negate(&inner)
                } else {
                    Some(inner)
                }
            }
            '0'..='9' | '.' => self.number(negative),
            _ => None,
        }
    }

    fn number(&mut self, negative: bool) -> Option<Value> {
        let start = self.position;
        while let Some(character) = self.peek() {
            let exponent_sign = matches!(character, '+' | '-')
                && matches!(
                    self.chars.get(self.position.wrapping_sub(1)),
                    Some('e' | 'E')
                )
                && !self.radix_prefixed(start);
            if character.is_ascii_alphanumeric() || matches!(character, '_' | '.') || exponent_sign
            {
                self.position += 1;
            } else {
                break;
            }
        }
        let text: String = self.chars[start..self.position].iter().collect();
        let value = parse_number(&text)?;
        if negative {
            negate(&value)
        } else {
            Some(value)
        }
    }

    fn radix_prefixed(&self, start: usize) -> bool {
        self.chars.get(start) == Some(&'0')
            && matches!(
                self.chars.get(start + 1),
                Some('x' | 'X' | 'o' | 'O' | 'b' | 'B')
            )
    }

    fn word_or_string(&mut self) -> Option<Value> {
        let start = self.position;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.position += 1;
        }
        let word: String = self.chars[start..self.position].iter().collect();
        if matches!(self.peek(), Some('\'' | '"')) && is_string_prefix(&word) {
            return self.strings(&word);
        }
        match word.as_str() {
            "True" => Some(Value::Bool(true)),
            "False" => Some(Value::Bool(false)),
            "None" => Some(Value::Null),
            "set" if self.eat('(') && self.eat(')') => Some(Value::Array(Vec::new())),
            "" if self.chars[self.position..].starts_with(&['.', '.', '.']) => {
                self.position += 3;
                Some(Value::String("...".to_owned()))
            }
            _ => None,
        }
    }

    /// One or more adjacent string literals, concatenated as Python does.
    fn strings(&mut self, first_prefix: &str) -> Option<Value> {
        let mut text = self.string_literal(first_prefix)?;
        loop {
            self.skip_blanks();
            let start = self.position;
            while self.peek().is_some_and(char::is_alphabetic) {
                self.position += 1;
            }
            let prefix: String = self.chars[start..self.position].iter().collect();
            if matches!(self.peek(), Some('\'' | '"')) && is_string_prefix(&prefix) {
                text.push_str(&self.string_literal(&prefix)?);
            } else {
                self.position = start;
                return Some(Value::String(text));
            }
        }
    }

    fn string_literal(&mut self, prefix: &str) -> Option<String> {
        let raw = prefix.contains(['r', 'R']);
        let quote = self.peek()?;
        let triple = self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote);
        self.position += if triple { 3 } else { 1 };
        let mut text = String::new();
        loop {
            let character = self.peek()?;
            if character == quote
                && (!triple || (self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote)))
            {
                self.position += if triple { 3 } else { 1 };
                return Some(text);
            }
            if character == '\n' && !triple {
                return None;
            }
            self.position += 1;
            if character == '\\' {
                let next = self.peek()?;
                self.position += 1;
                if raw {
                    text.push('\\');
                    text.push(next);
                } else {
                    self.escape(next, &mut text)?;
                }
            } else {
                text.push(character);
            }
        }
    }

    fn escape(&mut self, escaped: char, text: &mut String) -> Option<()> {
        let simple = match escaped {
            '\n' => return Some(()),
            '\\' | '\'' | '"' => escaped,
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'v' => '\u{b}',
            'x' => return self.hex_escape(2, text),
            'u' => return self.hex_escape(4, text),
            'U' => return self.hex_escape(8, text),
            '0'..='7' => {
                let mut code = escaped.to_digit(8)?;
                for _ in 0..2 {
                    match self.peek().and_then(|c| c.to_digit(8)) {
                        Some(digit) => {
                            code = code * 8 + digit;
                            self.position += 1;
                        }
                        None => break,
                    }
                }
                text.push(char::from_u32(code)?);
                return Some(());
            }
            other => {
                // Python keeps unknown escapes verbatim.
                text.push('\\');
                other
            }
        };
        text.push(simple);
        Some(())
    }

    fn hex_escape(&mut self, digits: usize, text: &mut String) -> Option<()> {
        let hex: String = self
            .chars
            .get(self.position..self.position + digits)?
            .iter()
            .collect();
        self.position += digits;
        text.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
        Some(())
    }
}

fn is_string_prefix(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "" | "r" | "u" | "b" | "br" | "rb"
    )
}

fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(if *flag { "True" } else { "False" }.to_owned()),
        Value::Null => Some("None".to_owned()),
        // Lists and dicts are unhashable in Python: literal_eval fails.
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn negate(value: &Value) -> Option<Value> {
    let Value::Number(number) = value else {
        return None;
    };
    if let Some(integer) = number.as_i64() {
        return Some(Value::Number(integer.checked_neg()?.into()));
    }
    if number.is_u64() {
        return None;
    }
    Number::from_f64(-number.as_f64()?).map(Value::Number)
}

/// Parses one unsigned Python number literal.
fn parse_number(text: &str) -> Option<Value> {
    if !valid_underscores(text) {
        return None;
    }
    let digits = text.replace('_', "");
    let lower = digits.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            return Some(Value::Number(u64::from_str_radix(rest, radix).ok()?.into()));
        }
    }
    if lower.ends_with('j') {
        // Complex numbers are not variable types; Ansible keeps the text.
        return None;
    }
    if lower.chars().all(|c| c.is_ascii_digit()) {
        // Python 3 forbids leading zeros in non-zero decimals (`010`).
        if lower.len() > 1 && lower.starts_with('0') && lower.chars().any(|c| c != '0') {
            return None;
        }
        return Some(Value::Number(lower.parse::<u64>().ok()?.into()));
    }
    if !lower.chars().next()?.is_ascii_digit() && !lower.starts_with('.') {
        return None;
    }
    if lower.contains(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-'))) {
        return None;
    }
    if lower == "." {
        return None;
    }
    Number::from_f64(lower.parse().ok()?).map(Value::Number)
}

/// Python allows single underscores between digits only.
fn valid_underscores(text: &str) -> bool {
    let characters: Vec<char> = text.chars().collect();
    characters.iter().enumerate().all(|(index, &character)| {
        character != '_'
            || (index > 0
                && index + 1 < characters.len()
                && characters[index - 1].is_ascii_alphanumeric()
                && characters[index + 1].is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::literal_eval;
    use serde_json::json;

    #[test]
    fn scalars_are_typed() {
        assert_eq!(literal_eval("42"), Some(json!(42)));
        assert_eq!(literal_eval("-7"), Some(json!(-7)));
        assert_eq!(literal_eval("1_000"), Some(json!(1000)));
        assert_eq!(literal_eval("0x1F"), Some(json!(31)));
        assert_eq!(literal_eval("1.5"), Some(json!(1.5)));
        assert_eq!(literal_eval("1e3"), Some(json!(1000.0)));
        assert_eq!(literal_eval("True"), Some(json!(true)));
        assert_eq!(literal_eval("None"), Some(json!(null)));
        assert_eq!(literal_eval("'a b'"), Some(json!("a b")));
        assert_eq!(literal_eval(r#""tab\there""#), Some(json!("tab\there")));
        assert_eq!(literal_eval("'a' \"b\""), Some(json!("ab")));
    }

    #[test]
    fn non_literals_stay_text() {
        for text in [
            "yes", "010", "true", "web01", "1.2.3", "a=b", "1_", "_1", "[1,", "'open", "1j",
        ] {
            assert_eq!(literal_eval(text), None, "{text}");
        }
    }

    #[test]
    fn containers_are_typed() {
        assert_eq!(
            literal_eval("[1, 'two', [3]]"),
            Some(json!([1, "two", [3]]))
        );
        assert_eq!(literal_eval("(1,)"), Some(json!([1])));
        assert_eq!(literal_eval("(1)"), Some(json!(1)));
        assert_eq!(
            literal_eval("{'a': 1, 2: None,}"),
            Some(json!({"a": 1, "2": null}))
        );
        assert_eq!(literal_eval("{1, 2}"), Some(json!([1, 2])));
        assert_eq!(literal_eval("{}"), Some(json!({})));
    }

    #[test]
    fn deep_nesting_stays_text() {
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(literal_eval(&deep), None);
        let fine = format!("{}{}", "[".repeat(50), "]".repeat(50));
        assert!(literal_eval(&fine).is_some());
    }

    #[test]
    fn trailing_comments_are_ignored() {
        assert_eq!(literal_eval("5 # five"), Some(json!(5)));
    }
}
