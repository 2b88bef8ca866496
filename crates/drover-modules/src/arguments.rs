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
        Self::with_spec(module, crate::catalog::spec(module), values)
    }

    /// The same, for a caller that has looked up the module's spec already.
    pub(crate) fn with_spec(
        module: &'a str,
        spec: Option<&drover_playbook::catalog::ModuleSpec>,
        values: &'a Map<String, Json>,
    ) -> Self {
        let specs = spec.map_or(&[][..], |spec| &spec.arguments);
        Self {
            module,
            values: canonical(specs, values),
        }
    }

    /// Every argument, each under its own name.
    pub(crate) fn all(&self) -> &Map<String, Json> {
        &self.values
    }

    /// Refuses the arguments of `names` that are given with a value that
    /// asks for something (not empty, not false): the module takes them,
    /// so that roles that pass them empty load, but does not act on them
    /// yet, and saying so beats ignoring them.
    pub(crate) fn refuse_unsupported(&self, names: &[&str]) -> Result<(), Error> {
        for name in names {
            let asks = match self.get(name) {
                None | Some(Json::Bool(false)) => false,
                Some(Json::Object(map)) => !map.is_empty(),
                Some(Json::Array(items)) => !items.is_empty(),
                Some(Json::String(text)) => !text.is_empty(),
                Some(_) => true,
            };
            if asks {
                return Err(Error::Arguments(format!(
                    "drover's `{}` does not act on `{name}` yet; leave it out, or run this task with Ansible",
                    self.module
                )));
            }
        }
        Ok(())
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
    // Every typed reader returns a `Result`, so that modules read arguments
    // alike; a string is the one that takes any value.
    #[allow(clippy::unnecessary_wraps)]
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, Error> {
        match self.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(text)) => Ok(Some(text.clone())),
            Some(Json::Number(number)) => Ok(Some(number.to_string())),
            Some(Json::Bool(flag)) => Ok(Some(if *flag { "True" } else { "False" }.to_owned())),
            // A list or a mapping given for a string is its (JSON) text.
            Some(other) => Ok(Some(other.to_string())),
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

    /// The mode a path ends up with: `mode:` as an octal string (`'0644'`),
    /// a number YAML already read as octal, or symbolic clauses
    /// (`u=rwx,g=rx,o=`, `a+x`) applied, as `chmod` applies them, to the
    /// path's mode as it is (`state`), or as it would be once created.
    pub(crate) fn mode_for(&self, state: &crate::remote::PathState) -> Result<Option<u32>, Error> {
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
                if let Ok(bits) = u32::from_str_radix(digits, 8) {
                    return Ok(Some(bits));
                }
                let directory = state.kind == crate::remote::PathKind::Directory;
                let current = if state.exists() {
                    state.mode
                } else if directory {
                    0o755
                } else {
                    0o644
                };
                symbolic_mode(text.trim(), current, directory)
                    .map(Some)
                    .ok_or_else(|| {
                        self.wrong(
                            "mode",
                            "an octal mode such as '0644', or symbolic clauses such as 'u=rwx,g=rx,o='",
                        )
                    })
            }
            Some(_) => Err(self.wrong("mode", "an octal mode")),
        }
    }

    /// A list argument (a comma-separated string counts).
    pub(crate) fn list(&self, name: &str) -> Result<Vec<String>, Error> {
        match self.get(name) {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(items)) => Ok(items.iter().map(drover_template::as_text).collect()),
            Some(Json::String(text)) => Ok(text
                .split(',')
                .map(|part| part.trim().to_owned())
                .filter(|part| !part.is_empty())
                .collect()),
            // One number or flag is a list of one, as Ansible converts it.
            Some(value @ (Json::Number(_) | Json::Bool(_))) => {
                Ok(vec![drover_template::as_text(value)])
            }
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

/// `chmod`'s symbolic clauses, separated by commas (`u=rwx,g+r-w,a+X`),
/// applied to `mode`; `None` when they do not parse.
pub(crate) fn symbolic_mode(text: &str, mut mode: u32, directory: bool) -> Option<u32> {
    for clause in text.split(',') {
        let operator_at = clause.find(['+', '-', '='])?;
        let (who, mut rest) = clause.split_at(operator_at);
        // The users' bits: rwx for each, and setuid, setgid and sticky.
        let mut users = 0o0000;
        for character in who.chars() {
            users |= match character {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return None,
            };
        }
        if users == 0 {
            users = 0o7777;
        }
        while let Some(operator) = rest.chars().next() {
            let permissions_end = rest[1..]
                .find(['+', '-', '='])
                .map_or(rest.len(), |at| at + 1);
            let permissions = &rest[1..permissions_end];
            rest = &rest[permissions_end..];
            let mut bits = 0;
            for character in permissions.chars() {
                bits |= match character {
                    'r' => 0o444,
                    'w' => 0o222,
                    'x' => 0o111,
                    'X' if directory || mode & 0o111 != 0 => 0o111,
                    'X' => 0,
                    's' => 0o6000,
                    't' => 0o1000,
                    _ => return None,
                };
            }
            let bits = bits & users;
            match operator {
                '+' => mode |= bits,
                '-' => mode &= !bits,
                '=' => mode = (mode & !(users & 0o0777 | users & 0o6000)) | bits,
                _ => return None,
            }
        }
    }
    Some(mode & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::{Arguments, symbolic_mode};

    #[test]
    fn arguments_asked_for_but_not_acted_on_are_refused() {
        let values = serde_json::json!({"name": "app", "tls_requires": {}, "plugin": ""});
        let map = values.as_object().expect("a mapping");
        let arguments = Arguments::new("mysql_user", map);
        assert!(
            arguments
                .refuse_unsupported(&["tls_requires", "plugin"])
                .is_ok()
        );
        let values = serde_json::json!({"name": "app", "tls_requires": {"SSL": null}});
        let map = values.as_object().expect("a mapping");
        let error = Arguments::new("mysql_user", map)
            .refuse_unsupported(&["tls_requires"])
            .expect_err("refused");
        assert!(
            error.to_string().contains("does not act on `tls_requires`"),
            "{error}"
        );
    }

    #[test]
    fn symbolic_modes_apply_as_chmod_applies_them() {
        assert_eq!(symbolic_mode("u=rwx,g=rx,o=", 0o644, false), Some(0o750));
        assert_eq!(symbolic_mode("a+x", 0o644, false), Some(0o755));
        assert_eq!(symbolic_mode("go-w", 0o666, false), Some(0o644));
        assert_eq!(symbolic_mode("u+rw,g-x+r", 0o010, false), Some(0o640));
        assert_eq!(symbolic_mode("a+X", 0o644, false), Some(0o644));
        assert_eq!(symbolic_mode("a+X", 0o644, true), Some(0o755));
        assert_eq!(symbolic_mode("u+s,+t", 0o755, false), Some(0o5755));
        assert_eq!(symbolic_mode("=r", 0o777, false), Some(0o444));
        assert_eq!(symbolic_mode("u=q", 0o644, false), None);
        assert_eq!(symbolic_mode("644x", 0o644, false), None);
    }
}
