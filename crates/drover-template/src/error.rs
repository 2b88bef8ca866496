//! The one error type of templating.

use crate::scope::{Scope, take_lazy_error};

/// Why a template or expression could not be rendered.
#[non_exhaustive]
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The template or expression does not parse.
    #[error("template syntax error: {message}")]
    Syntax {
        /// What the parser said.
        message: String,
        /// The 1-based line within the template text, when known.
        line: Option<usize>,
    },

    /// A variable is not defined.
    #[error("`{variable}` is undefined")]
    Undefined {
        /// The missing variable.
        variable: String,
    },

    /// Rendering failed for another reason (a filter's error, a bad operation).
    #[error("template error: {message}")]
    Render {
        /// What went wrong.
        message: String,
    },

    /// A `!vault` value could not be decrypted.
    #[error("cannot decrypt a vaulted value: {source}")]
    Vault {
        /// Why.
        #[source]
        source: drover_vault::Error,
    },

    /// A variable refers to itself, directly or through others.
    #[error("`{variable}` refers to itself (a recursive loop in variables)")]
    Recursion {
        /// A variable on the loop.
        variable: String,
    },

    /// An error while rendering the value of another variable.
    #[error("in variable `{variable}`: {source}")]
    InVariable {
        /// The variable whose value failed to render.
        variable: String,
        /// The error.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    pub(crate) fn from_syntax(error: &minijinja::Error, _text: &str) -> Self {
        Self::Syntax {
            message: error.detail().unwrap_or("invalid syntax").to_owned(),
            line: error.line(),
        }
    }

    pub(crate) fn from_render(error: &minijinja::Error, text: &str, scope: &Scope) -> Self {
        if let Some(lazy) = take_lazy_error() {
            return lazy;
        }
        let mentions_undefined = error.kind() == minijinja::ErrorKind::UndefinedError
            || error.to_string().contains("undefined");
        if mentions_undefined && let Some(variable) = first_undefined(text, scope) {
            return Self::Undefined { variable };
        }
        if error.kind() == minijinja::ErrorKind::SyntaxError {
            return Self::from_syntax(error, text);
        }
        Self::Render {
            message: error
                .detail()
                .map_or_else(|| error.kind().to_string(), str::to_owned),
        }
    }

    pub(crate) fn in_variable(self, variable: &str) -> Self {
        match self {
            Self::Recursion { .. } | Self::InVariable { .. } => self,
            other => Self::InVariable {
                variable: variable.to_owned(),
                source: Box::new(other),
            },
        }
    }

    /// A line telling the operator what to do next.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Undefined { variable } => Some(format!(
                "define `{variable}` (in vars, group_vars, host_vars or with -e), or write \
                 `{{{{ {variable} | default(...) }}}}`"
            )),
            Self::Syntax { .. } => {
                Some("check the `{{ }}` and `{% %}` pairs and the filter names".to_owned())
            }
            Self::InVariable { source, .. } => source.hint(),
            _ => None,
        }
    }
}

/// The first variable the template uses that the scope does not define.
fn first_undefined(text: &str, scope: &Scope) -> Option<String> {
    let environment = minijinja::Environment::new();
    let source = if text.contains("{{") || text.contains("{%") {
        text.to_owned()
    } else {
        format!("{{{{ {text} }}}}")
    };
    let template = environment.template_from_str(&source).ok()?;
    let mut names: Vec<String> = template.undeclared_variables(false).into_iter().collect();
    names.sort();
    let missing: Vec<String> = names
        .into_iter()
        .filter(|name| {
            !scope.contains(name)
                && !matches!(
                    name.as_str(),
                    "omit" | "lookup" | "query" | "q" | "range" | "dict" | "namespace" | "vars"
                )
        })
        .collect();
    // A name every use of which is guarded (`| default(...)`, `is defined`)
    // cannot be the one that failed; name another when there is one.
    missing
        .iter()
        .find(|name| !always_guarded(text, name))
        .or_else(|| missing.first())
        .cloned()
}

/// Whether every use of `name` in `text` is under `default` or a
/// definedness test.
fn always_guarded(text: &str, name: &str) -> bool {
    let name = regex::escape(name);
    let (Ok(any), Ok(guarded)) = (
        regex::Regex::new(&format!(r"\b{name}\b")),
        regex::Regex::new(&format!(
            r"\b{name}\b(?:\.\w+|\[[^\]]*\])*\s*(?:\|\s*(?:default|d)\b|is\s+(?:not\s+)?(?:defined|undefined)\b)"
        )),
    ) else {
        return false;
    };
    let uses = any.find_iter(text).count();
    uses > 0 && guarded.find_iter(text).count() >= uses
}
