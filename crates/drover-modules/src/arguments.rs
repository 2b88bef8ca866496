//! Typed access to a module's templated arguments.

use std::borrow::Cow;

use drover_playbook::catalog::ArgumentSpec;
use serde_json::{Map, Value as Json};

use crate::Error;

/// A module's arguments after templating, each under its own name: an
/// alias given in the playbook is read under the name its module's table
/// declares, so a module reads each argument by one name and the aliases
/// are written once, in the table.
pub(crate) struct Arguments<'a> {
    module: &'a str,
    values: Cow<'a, Map<String, Json>>,
}

impl<'a> Arguments<'a> {
    /// `values` as module `module` (any name it answers to) takes them.
    pub(crate) fn new(module: &'a str, values: &'a Map<String, Json>) -> Self {
        let specs = crate::catalog::spec(module).map_or(&[][..], |spec| &spec.arguments);
        Self {
            module,
            values: canonical(specs, values),
        }
    }

    /// Every argument, each under its own name.
    pub(crate) fn all(&self) -> &Map<String, Json> {
        &self.values
    }

    fn get(&self, name: &str) -> Option<&Json> {
        self.values.get(name).filter(|value| !value.is_null())
    }

    fn wrong(&self, name: &str, expected: &str) -> Error {
        Error::Arguments(format!(
            "argument `{name}` of `{}` must be {expected}",
            self.module
        ))
    }

    /// A string argument (numbers and booleans become text).
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::String(text)) => Ok(Some(text.clone())),
            Some(Json::Number(number)) => Ok(Some(number.to_string())),
            Some(Json::Bool(flag)) => Ok(Some(if *flag { "True" } else { "False" }.to_owned())),
            Some(_) => Err(self.wrong(name, "a string")),
        }
    }

    /// The first of several arguments given (free-form text or `cmd`).
    pub(crate) fn string_of(&self, names: &[&str]) -> Result<Option<String>, Error> {
        for name in names {
            if let Some(value) = self.string(name)? {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    /// A required string argument.
    pub(crate) fn required(&self, name: &str) -> Result<String, Error> {
        self.string(name)?.ok_or_else(|| {
            Error::Arguments(format!(
                "module `{}` needs the argument `{name}`",
                self.module
            ))
        })
    }

    /// `state: present` (the default) or `absent`; anything else is an error.
    pub(crate) fn present(&self) -> Result<bool, Error> {
        match self.string("state")?.as_deref() {
            None | Some("present") => Ok(true),
            Some("absent") => Ok(false),
            Some(other) => Err(Error::Arguments(format!(
                "`state` must be present or absent, not `{other}`"
            ))),
        }
    }

    /// A boolean argument in Ansible's spellings.
    pub(crate) fn boolean(&self, name: &str, default: bool) -> Result<bool, Error> {
        match self.get(name) {
            None => Ok(default),
            Some(Json::Bool(flag)) => Ok(*flag),
            Some(Json::Number(number)) => Ok(number.as_i64().unwrap_or(0) != 0),
            Some(Json::String(text)) => drover_playbook::catalog::parse_bool(text)
                .ok_or_else(|| self.wrong(name, "a boolean")),
            Some(_) => Err(self.wrong(name, "a boolean")),
        }
    }

    /// A number argument.
    pub(crate) fn number(&self, name: &str) -> Result<Option<f64>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Number(number)) => Ok(number.as_f64()),
            Some(Json::String(text)) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.wrong(name, "a number")),
            Some(_) => Err(self.wrong(name, "a number")),
        }
    }

    /// A whole, non-negative number argument (seconds, counts).
    pub(crate) fn unsigned(&self, name: &str) -> Result<Option<u64>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Number(number)) => number
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.wrong(name, "a whole number")),
            Some(Json::String(text)) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.wrong(name, "a whole number")),
            Some(_) => Err(self.wrong(name, "a whole number")),
        }
    }

    /// A file mode: an octal string (`'0644'`), or a number YAML already read as octal.
    pub(crate) fn mode(&self) -> Result<Option<u32>, Error> {
        match self.get("mode") {
            None => Ok(None),
            // YAML 1.1 already read `0644` as octal; a number is the mode's value, as in Ansible.
            Some(Json::Number(number)) => number
                .as_u64()
                .and_then(|value| u32::try_from(value).ok())
                .map(Some)
                .ok_or_else(|| self.wrong("mode", "an octal mode")),
            Some(Json::String(text)) => {
                let digits = text.trim().trim_start_matches("0o");
                u32::from_str_radix(digits, 8).map(Some).map_err(|_| {
                    self.wrong(
                        "mode",
                        "an octal mode such as '0644' (symbolic modes are not supported yet)",
                    )
                })
            }
            Some(_) => Err(self.wrong("mode", "an octal mode")),
        }
    }

    /// A list argument (a comma-separated string counts).
    pub(crate) fn list(&self, name: &str) -> Result<Vec<String>, Error> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Json::Array(items)) => Ok(items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect()),
            Some(Json::String(text)) => Ok(text
                .split(',')
                .map(|part| part.trim().to_owned())
                .filter(|part| !part.is_empty())
                .collect()),
            Some(_) => Err(self.wrong(name, "a list")),
        }
    }

    /// The raw value.
    pub(crate) fn raw(&self, name: &str) -> Option<&Json> {
        self.get(name)
    }
}

/// `values` with every alias in `specs` renamed to its argument's name;
/// where both are given, the argument's own name wins, as in Ansible.
fn canonical<'a>(
    specs: &[ArgumentSpec],
    values: &'a Map<String, Json>,
) -> Cow<'a, Map<String, Json>> {
    let alias_of = |key: &str| {
        specs
            .iter()
            .find(|spec| spec.aliases.contains(&key))
            .map(|spec| spec.name)
    };
    if !values.keys().any(|key| alias_of(key).is_some()) {
        return Cow::Borrowed(values);
    }
    let mut renamed = Map::new();
    for (key, value) in values {
        match alias_of(key) {
            Some(name) if values.contains_key(name) => {}
            Some(name) => {
                renamed.insert(name.to_owned(), value.clone());
            }
            None => {
                renamed.insert(key.clone(), value.clone());
            }
        }
    }
    Cow::Owned(renamed)
}
