//! One module per subcommand.

pub(crate) mod completions;
pub(crate) mod inventory;
pub(crate) mod not_yet;
pub(crate) mod run;
mod targets;
