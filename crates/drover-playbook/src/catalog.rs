//! What the playbook validator knows about modules: names and arguments.
//!
//! The modules crate provides the catalog; keeping only the description here
//! lets the whole playbook be validated before anything runs.

use serde_json::Value as Json;

/// The type an argument takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgumentKind {
    /// Text (numbers and booleans are accepted and turned into text).
    String,
    /// A boolean, in Ansible's spellings (`yes`, `no`, `true`, ...).
    Bool,
    /// An integer.
    Integer,
    /// A list (a comma-separated string is accepted too).
    List,
    /// A mapping.
    Dict,
    /// Anything.
    Raw,
}

/// One argument of a module.
#[derive(Debug, Clone, Copy)]
pub struct ArgumentSpec {
    /// The argument's name.
    pub name: &'static str,
    /// Other names it answers to.
    pub aliases: &'static [&'static str],
    /// Its type.
    pub kind: ArgumentKind,
    /// Whether it must be given.
    pub required: bool,
    /// The allowed values, when limited.
    pub choices: &'static [&'static str],
}

impl ArgumentSpec {
    /// An optional argument of `kind`.
    pub const fn new(name: &'static str, kind: ArgumentKind) -> Self {
        Self {
            name,
            aliases: &[],
            kind,
            required: false,
            choices: &[],
        }
    }

    /// The same argument, required.
    #[must_use]
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The same argument, with aliases.
    #[must_use]
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    /// The same argument, limited to `choices`.
    #[must_use]
    pub const fn choices(mut self, choices: &'static [&'static str]) -> Self {
        self.choices = choices;
        self
    }
}

/// A module as the validator sees it.
#[derive(Debug, Clone)]
pub struct ModuleSpec {
    /// The module's short name (`copy`).
    pub name: &'static str,
    /// Its arguments.
    pub arguments: Vec<ArgumentSpec>,
    /// Whether free text (`command: ls -l`) is its `_raw_params`.
    pub free_form: bool,
    /// Whether it accepts any argument (`set_fact`).
    pub any_arguments: bool,
}

/// The modules drover knows.
pub trait Catalog: Sync {
    /// The module named `name` (already stripped of `ansible.builtin.`).
    fn module(&self, name: &str) -> Option<&ModuleSpec>;
    /// Every module name, for "did you mean".
    fn names(&self) -> Vec<&'static str>;
}

/// One problem with a task's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgumentProblem {
    /// The argument it is about (none for a missing one), so that a
    /// report can point at its key.
    pub argument: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to put it right.
    pub hint: Option<String>,
}

/// Checks `arguments` against `spec`; returns one problem per argument.
///
/// Values that are templates cannot be checked before they are rendered,
/// so they pass here and are checked again at run time.
pub fn check_arguments(
    spec: &ModuleSpec,
    arguments: &serde_json::Map<String, Json>,
) -> Vec<ArgumentProblem> {
    let mut problems = Vec::new();
    if spec.any_arguments {
        return problems;
    }
    for (name, value) in arguments {
        let problem = match find(spec, name) {
            Some(argument) => check_value(argument, value).map(|(problem, hint)| {
                (
                    format!("argument `{name}` of `{}` {problem}", spec.name),
                    Some(hint),
                )
            }),
            None => unknown_argument(spec, name, value),
        };
        problems.extend(problem.map(|(message, hint)| ArgumentProblem {
            argument: (name != "_raw_params").then(|| name.clone()),
            message,
            hint,
        }));
    }
    for argument in spec.arguments.iter().filter(|argument| argument.required) {
        let given = arguments.contains_key(argument.name)
            || argument
                .aliases
                .iter()
                .any(|alias| arguments.contains_key(*alias))
            || (spec.free_form && arguments.contains_key("_raw_params"));
        if !given {
            problems.push(ArgumentProblem {
                argument: None,
                message: format!(
                    "module `{}` needs the argument `{}`",
                    spec.name, argument.name
                ),
                hint: Some(format!(
                    "add `{}: ...` to the task's `{}`",
                    argument.name, spec.name
                )),
            });
        }
    }
    problems
}

/// What is wrong with `name`, which `spec` does not declare: free text
/// where only `key=value` is taken, or a name it has not (with the
/// nearest it has, or all of them).
fn unknown_argument(
    spec: &ModuleSpec,
    name: &str,
    value: &Json,
) -> Option<(String, Option<String>)> {
    if name == "_raw_params" {
        return (!spec.free_form).then(|| {
            (
                format!(
                    "`{}` takes `key=value` arguments, but `{}` is not one",
                    spec.name,
                    value.as_str().unwrap_or_default()
                ),
                Some("quote values that contain spaces: `msg='two words'`".to_owned()),
            )
        });
    }
    let names = spec.arguments.iter().map(|argument| argument.name);
    let hint = crate::error::did_you_mean(name, names.clone()).unwrap_or_else(|| {
        format!(
            "its arguments are: {}",
            names.collect::<Vec<_>>().join(", ")
        )
    });
    Some((
        format!("module `{}` has no argument `{name}`", spec.name),
        Some(hint),
    ))
}

/// The argument `name` answers to, by name or alias.
pub fn find<'a>(spec: &'a ModuleSpec, name: &str) -> Option<&'a ArgumentSpec> {
    spec.arguments
        .iter()
        .find(|argument| argument.name == name || argument.aliases.contains(&name))
}

fn is_template(value: &Json) -> bool {
    value.as_str().is_some_and(drover_template::is_template)
}

/// What is wrong with a literal value, and a hint.
fn check_value(argument: &ArgumentSpec, value: &Json) -> Option<(String, String)> {
    if is_template(value) {
        return None;
    }
    let wrong = |expected: &str| {
        Some((
            format!("must be {expected}, not `{value}`"),
            format!("give `{}` {expected}", argument.name),
        ))
    };
    match argument.kind {
        ArgumentKind::Bool => match value {
            Json::Bool(_) => None,
            Json::String(text) if parse_bool(text).is_some() => None,
            Json::Number(number) if matches!(number.as_i64(), Some(0 | 1)) => None,
            _ => wrong("a boolean (yes/no, true/false)"),
        },
        ArgumentKind::Integer => match value {
            Json::Number(number) if number.is_i64() || number.is_u64() => None,
            Json::String(text) if text.trim().parse::<i64>().is_ok() => None,
            _ => wrong("an integer"),
        },
        ArgumentKind::Dict => match value {
            Json::Object(_) => None,
            _ => wrong("a mapping"),
        },
        // As Ansible converts them, a list or a mapping given for a string
        // becomes its text.
        ArgumentKind::String => match value {
            Json::String(text)
                if !argument.choices.is_empty() && !argument.choices.contains(&text.as_str()) =>
            {
                Some((
                    format!(
                        "must be one of {}, not `{text}`",
                        argument.choices.join(", ")
                    ),
                    crate::error::did_you_mean(text, argument.choices.iter().copied())
                        .unwrap_or_else(|| format!("use one of {}", argument.choices.join(", "))),
                ))
            }
            _ => None,
        },
        ArgumentKind::List | ArgumentKind::Raw => None,
    }
}

/// Ansible's boolean spellings.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "yes" | "on" | "true" | "1" | "y" | "t" => Some(true),
        "no" | "off" | "false" | "0" | "n" | "f" | "" => Some(false),
        _ => None,
    }
}
