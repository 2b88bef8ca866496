//! Subcommands whose issues have not landed yet say so plainly.

use crate::exit;

/// Reports that `what` is not built yet, and fails as a usage error.
pub(crate) fn not_yet_implemented(what: &str) -> u8 {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("error: `drover {what}` is not yet implemented");
    }
    exit::USAGE_OR_CONFIG
}
