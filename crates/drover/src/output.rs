//! Messages to the operator on stderr; data goes to stdout.

use drover_inventory::Warning;

/// Prints inventory warnings, each with its `path:line:col` when known.
pub(crate) fn print_warnings(warnings: &[Warning]) {
    for warning in warnings {
        #[allow(clippy::print_stderr)]
        match &warning.location {
            Some(location) => eprintln!("warning: {location}: {}", warning.message),
            None => eprintln!("warning: {}", warning.message),
        }
    }
}

/// Prints a rendered diagnostic on stderr.
pub(crate) fn eprint_report(report: &miette::Report) {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{report:?}");
    }
}

/// Reports a usage or input error on stderr; returns the exit code for it.
pub(crate) fn usage_error(message: impl std::fmt::Display) -> u8 {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("error: {message}");
    }
    crate::exit::USAGE_OR_CONFIG
}
