//! The one error type of playbook loading, and a collector for many.

use std::path::PathBuf;

pub use drover_inventory::SourceLocation;

/// Something wrong with a playbook, a task file or a role.
#[non_exhaustive]
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read `{}`: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        message: String,
        /// Where it was referred to, if from another file.
        location: Option<SourceLocation>,
    },

    /// YAML that does not parse.
    #[error("invalid YAML: {message}")]
    Yaml {
        /// Where the parser stopped.
        location: SourceLocation,
        /// What the parser said.
        message: String,
    },

    /// Valid YAML that is not a valid playbook.
    #[error("{message}")]
    Invalid {
        /// Where the offending node is.
        location: SourceLocation,
        /// What is wrong.
        message: String,
        /// What to do about it.
        hint: Option<String>,
    },
}

impl Error {
    /// Where the error is.
    pub fn location(&self) -> Option<&SourceLocation> {
        match self {
            Self::Read { location, .. } => location.as_ref(),
            Self::Yaml { location, .. } | Self::Invalid { location, .. } => Some(location),
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Self::Invalid { hint, .. } => hint.as_deref(),
            Self::Yaml { .. } => Some("check the indentation and quoting near this line"),
            Self::Read { .. } => {
                Some("check the path; relative paths start at the playbook's directory")
            }
        }
    }

    pub(crate) fn from_inventory(error: drover_inventory::Error) -> Self {
        match error {
            drover_inventory::Error::Yaml { location, message } => Self::Yaml { location, message },
            other => {
                let location = other
                    .location()
                    .cloned()
                    .unwrap_or_else(|| SourceLocation::new("", 1, 1));
                Self::Invalid {
                    hint: other.hint(),
                    message: other.to_string(),
                    location,
                }
            }
        }
    }
}

/// Every error found in a playbook, in the order found, and the problems
/// that wait for their task to run.
#[derive(Debug, Default)]
pub struct Errors {
    /// The errors.
    pub errors: Vec<Error>,
    /// Problems Ansible finds only when the task runs; errors too when
    /// `strict`.
    pub warnings: Vec<Error>,
    /// `--strict`.
    pub(crate) strict: bool,
}

impl Errors {
    pub(crate) fn push(&mut self, error: Error) {
        self.errors.push(error);
    }

    pub(crate) fn invalid(
        &mut self,
        location: SourceLocation,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.push(Error::Invalid {
            location,
            message: message.into(),
            hint,
        });
    }

    /// A problem Ansible reports only when the task runs (an argument, a
    /// module drover lacks, a missing controller file): a warning now, and
    /// the task fails if it runs; an error under `--strict`.
    pub(crate) fn defer(
        &mut self,
        location: SourceLocation,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let problem = Error::Invalid {
            location,
            message: message.into(),
            hint,
        };
        if self.strict {
            self.errors.push(problem);
        } else {
            self.warnings.push(problem);
        }
    }

    /// True when nothing was wrong.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

/// "did you mean `X`?" for the closest of `candidates`, if any is close.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| format!("did you mean `{candidate}`?"))
}
