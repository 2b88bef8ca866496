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
        eprintln!("{}", drover_vault::mask(&format!("{report:?}")));
    }
}

/// Standard error with every remembered secret masked: where logs go, so
/// that even `-vvv` (which shows the commands sent to hosts) never shows a
/// vault value or a become password.
pub(crate) struct MaskedStderr;

impl std::io::Write for MaskedStderr {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buffer);
        std::io::stderr().write_all(drover_vault::mask(&text).as_bytes())?;
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
