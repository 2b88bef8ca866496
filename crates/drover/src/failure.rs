//! Why a command could not do its work, with the exit code that says so.
//!
//! A run whose hosts fail is not a failure of the command: it ends with
//! the run's own code (`Ok`). A `Failure` is a command that could not run
//! at all: wrong arguments, configuration or content, or a problem on
//! this machine. Every command returns `Result<u8, Failure>`, and `main`
//! prints the failure once and exits with its code.

use crate::exit;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// The command line, the configuration or the content is wrong. The
    /// message carries its hint.
    #[error("{0}")]
    Usage(String),
    /// The problems were printed already, each with its place.
    #[error("the problems above stopped the command")]
    Reported,
    /// Something went wrong on this machine (writing the output, starting
    /// the runtime, a temporary file).
    #[error(transparent)]
    Local(#[from] anyhow::Error),
}

impl Failure {
    /// Wrong input, said in `message` (with its hint).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    /// The exit code the command ends with.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Reported | Self::Local(_) => exit::USAGE_OR_CONFIG,
        }
    }

    /// Prints the failure (nothing, when it was reported already), with
    /// every remembered secret masked.
    pub(crate) fn print(&self) {
        let message = match self {
            Self::Reported => return,
            Self::Usage(message) => message.clone(),
            Self::Local(error) => format!("{error:#}"),
        };
        #[allow(clippy::print_stderr)]
        {
            eprintln!("error: {}", drover_vault::mask(&message));
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self::Local(error.into())
    }
}

impl From<drover_engine::Error> for Failure {
    fn from(error: drover_engine::Error) -> Self {
        Self::Local(error.into())
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::Usage(message)
    }
}

/// What commands return: their exit code, or why they could not run.
pub(crate) type Outcome = Result<u8, Failure>;
