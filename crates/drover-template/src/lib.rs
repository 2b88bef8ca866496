//! Templating for drover: minijinja configured to behave like Ansible's Jinja2.
//!
//! - Ansible's filters (`default`, `bool`, `combine`, `regex_replace`, ...),
//!   tests (`succeeded`, `version`, ...) and lookups (`file`, `env`, `pipe`,
//!   `template`).
//! - Strict undefined variables: an undefined variable is an error naming it,
//!   unless a `default` filter or an `is defined` test handles it.
//! - Lazy variables: a variable whose value is itself a template is rendered
//!   when it is used, against the same variables, as Ansible does.
//! - Native values: a string that is one `{{ expression }}` yields the
//!   expression's value (a list stays a list), as Ansible's templating does.
//! - `omit`: a placeholder that makes a module argument disappear.
//!
//! ```
//! use drover_template::{Templar, Vars};
//! use serde_json::json;
//!
//! let templar = Templar::new(std::env::temp_dir());
//! let mut vars = Vars::new();
//! vars.insert("port".into(), json!(8080));
//! vars.insert("url".into(), json!("http://localhost:{{ port }}/"));
//! let scope = templar.scope(vec![std::sync::Arc::new(vars)]);
//! assert_eq!(templar.render(&json!("{{ url }}"), &scope).unwrap(), json!("http://localhost:8080/"));
//! assert!(templar.condition("port > 80", &scope).unwrap());
//! ```
#![deny(missing_docs)]

mod error;
mod filters;
mod jinja_tests;
mod lookups;
pub mod loop_lookups;
mod path_filters;
mod python_json;
mod scope;
mod text_filters;

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use minijinja::{Environment, UndefinedBehavior};
use regex::Regex;
use serde_json::Value as Json;

pub use error::Error;
pub use filters::python_replacement;
pub use python_json::python_json;
pub use scope::Scope;

/// Variables: names to JSON values.
pub type Vars = serde_json::Map<String, Json>;

/// The value of `omit`; an argument rendered to it is dropped.
pub const OMIT: &str = "__omit_place_holder__drover";

static SINGLE_EXPRESSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)^\s*\{\{(.*)\}\}\s*$").expect("the single-expression pattern is valid")
});

/// How many instructions one rendering may take: far above any real
/// template, far below a hang.
const TEMPLATE_FUEL: u64 = 10_000_000;

/// The templating engine, shared by every host and task of a run.
#[derive(Clone)]
pub struct Templar {
    environment: Arc<Environment<'static>>,
}

impl std::fmt::Debug for Templar {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Templar")
    }
}

impl Templar {
    /// An engine whose `lookup('file', ...)` and `lookup('template', ...)`
    /// read paths relative to `base_directory` (the playbook's directory).
    pub fn new(base_directory: PathBuf) -> Self {
        let mut environment = Environment::new();
        environment.set_undefined_behavior(UndefinedBehavior::Strict);
        // A template that loops without end (`range(10**12)`) runs out of
        // fuel and fails, instead of hanging the run.
        environment.set_fuel(Some(TEMPLATE_FUEL));
        // As Ansible's templating: a block tag eats the newline after it
        // (`trim_blocks`), and a file keeps its final newline.
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .trim_blocks(true)
            .build()
        {
            environment.set_syntax(syntax);
        }
        filters::register(&mut environment);
        path_filters::register(&mut environment);
        text_filters::register(&mut environment);
        jinja_tests::register(&mut environment);
        lookups::register(&mut environment, base_directory);
        environment.add_global("omit", OMIT);
        Self {
            environment: Arc::new(environment),
        }
    }

    /// A scope over variable layers, lowest precedence first.
    pub fn scope(&self, layers: Vec<Arc<Vars>>) -> Scope {
        Scope::new(layers, self.clone())
    }

    /// Renders every string inside `value` (recursively), keeping the rest.
    pub fn render(&self, value: &Json, scope: &Scope) -> Result<Json, Error> {
        match value {
            Json::String(text) => self.render_text(text, scope),
            Json::Array(items) => items
                .iter()
                .map(|item| self.render(item, scope))
                .collect::<Result<_, _>>()
                .map(Json::Array),
            Json::Object(map) if let Some(envelope) = vaulted(map) => {
                let plaintext =
                    drover_vault::decrypt(envelope).map_err(|source| Error::Vault { source })?;
                Ok(Json::String(
                    String::from_utf8_lossy(&plaintext).into_owned(),
                ))
            }
            Json::Object(map) => map
                .iter()
                .map(|(key, item)| Ok((self.render_key(key, scope)?, self.render(item, scope)?)))
                .collect::<Result<_, Error>>()
                .map(Json::Object),
            other => Ok(other.clone()),
        }
    }

    fn render_key(&self, key: &str, scope: &Scope) -> Result<String, Error> {
        if is_template(key) {
            self.render_string(key, scope)
        } else {
            Ok(key.to_owned())
        }
    }

    /// Renders one string from a playbook (YAML). A lone `{{ expression }}`
    /// keeps its value's type. Backslashes in the string literals of its
    /// expressions stay as written (`regex_replace(..., '\1')`), as Ansible
    /// 2.19 has it for templates that come from YAML.
    pub fn render_text(&self, text: &str, scope: &Scope) -> Result<Json, Error> {
        if !is_template(text) {
            return Ok(Json::String(text.to_owned()));
        }
        let text = &*keep_backslashes(text);
        if let Some(captures) = SINGLE_EXPRESSION.captures(text) {
            let inner = &captures[1];
            if !inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%") {
                let value = self.evaluate(inner, scope)?;
                // Text around the expression (`"{{ x }}\n"`) stays part of
                // a string, as in Ansible; a list or a number keeps its type.
                let padded = text.trim() != text;
                if !(padded && value.is_string()) {
                    return Ok(value);
                }
            }
        }
        self.render_string(text, scope).map(Json::String)
    }

    /// Renders a template to text (the `template` module's output).
    pub fn render_string(&self, text: &str, scope: &Scope) -> Result<String, Error> {
        let result = self
            .environment
            .render_str(text, minijinja::Value::from_dyn_object(scope.object()));
        result.map_err(|error| Error::from_render(&error, text, scope))
    }

    /// Evaluates a bare expression (`when:`, `failed_when:` ...) to a value.
    pub fn evaluate(&self, expression: &str, scope: &Scope) -> Result<Json, Error> {
        let compiled = self
            .environment
            .compile_expression(expression)
            .map_err(|error| Error::from_syntax(&error, expression))?;
        let value = compiled
            .eval(minijinja::Value::from_dyn_object(scope.object()))
            .map_err(|error| Error::from_render(&error, expression, scope))?;
        to_json(&value).map_err(|error| Error::from_render(&error, expression, scope))
    }

    /// Evaluates a condition with Jinja's truthiness; a bare boolean or
    /// string (`when: true`, `when: "yes"`) works as in Ansible.
    pub fn condition(&self, expression: &str, scope: &Scope) -> Result<bool, Error> {
        let expression = expression.trim();
        let expression = SINGLE_EXPRESSION
            .captures(expression)
            .map_or(expression, |captures| {
                captures.get(1).map_or("", |inner| inner.as_str())
            });
        Ok(truthy(&self.evaluate(expression, scope)?))
    }

    /// Checks a template's syntax without rendering it.
    pub fn check_template(&self, text: &str) -> Result<(), Error> {
        if !is_template(text) {
            return Ok(());
        }
        self.environment
            .template_from_str(text)
            .map(|_| ())
            .map_err(|error| Error::from_syntax(&error, text))
    }

    /// Checks an expression's syntax without evaluating it.
    pub fn check_expression(&self, expression: &str) -> Result<(), Error> {
        self.environment
            .compile_expression(expression)
            .map(|_| ())
            .map_err(|error| Error::from_syntax(&error, expression))
    }
}

/// `text` with every backslash inside a string literal of a `{{ }}`
/// expression escaped, so that the literal keeps it: Jinja would read
/// `'\1'` as the character U+0001, where Ansible (for templates from YAML)
/// keeps the backslash and the digit.
fn keep_backslashes(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\\') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut kept = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        kept.push_str(&rest[..start + 2]);
        rest = &rest[start + 2..];
        let mut characters = rest.char_indices().peekable();
        let mut end = rest.len();
        let mut quote: Option<char> = None;
        while let Some((index, character)) = characters.next() {
            match (quote, character) {
                (None, '}') if rest[index..].starts_with("}}") => {
                    end = index;
                    break;
                }
                (None, '\'' | '"') => quote = Some(character),
                (Some(open), '\\') => {
                    kept.push_str("\\\\");
                    // An escaped quote stays in the literal, its backslash kept.
                    if let Some(&(_, next)) = characters.peek()
                        && next == open
                    {
                        characters.next();
                        kept.push('\\');
                        kept.push(open);
                    }
                    continue;
                }
                (Some(open), _) if character == open => quote = None,
                _ => {}
            }
            kept.push(character);
        }
        rest = &rest[end..];
    }
    kept.push_str(rest);
    std::borrow::Cow::Owned(kept)
}

/// The envelope of a vaulted value: `{"__ansible_vault": ENVELOPE}`, the
/// shape an inline `!vault` scalar is read into.
#[must_use]
pub fn vaulted(map: &serde_json::Map<String, Json>) -> Option<&str> {
    match map.get("__ansible_vault") {
        Some(Json::String(envelope)) if map.len() == 1 => Some(envelope),
        _ => None,
    }
}

/// Whether `text` holds any template syntax.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// Data that came from a host or a module's result, made safe to keep
/// among variables: every string that looks like a template becomes one
/// that gives back its own text. Ansible 2.19 never renders such data as a
/// template; without this, a command's output holding `{{ ... }}` would be
/// evaluated when a later task reads the registered result.
pub fn untrusted(value: &Json) -> Json {
    match value {
        Json::String(text) if is_template(text) => {
            Json::String(format!("{{% raw %}}{text}{{% endraw %}}"))
        }
        Json::Array(items) => Json::Array(items.iter().map(untrusted).collect()),
        Json::Object(map) => Json::Object(untrusted_map(map)),
        other => other.clone(),
    }
}

/// [`untrusted`] for a mapping of variables (facts a module returned).
pub fn untrusted_map(map: &serde_json::Map<String, Json>) -> serde_json::Map<String, Json> {
    map.iter()
        .map(|(key, value)| (key.clone(), untrusted(value)))
        .collect()
}

/// A value as text: a string as it is, anything else as JSON (`8080`,
/// `true`, `[1, 2]`), as Ansible turns a value into a module's text.
pub fn as_text(value: &Json) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// Jinja's (and Python's) truthiness of a JSON value.
pub fn truthy(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::Bool(flag) => *flag,
        Json::Number(number) => number.as_f64().is_some_and(|number| number != 0.0),
        Json::String(text) => !text.is_empty(),
        Json::Array(items) => !items.is_empty(),
        Json::Object(map) => !map.is_empty(),
    }
}

/// Converts a minijinja value to JSON.
pub(crate) fn to_json(value: &minijinja::Value) -> Result<Json, minijinja::Error> {
    if value.is_undefined() {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::UndefinedError,
            "the expression is undefined",
        ));
    }
    serde_json::to_value(value).map_err(|error| {
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, error.to_string())
    })
}

#[cfg(test)]
mod tests;
