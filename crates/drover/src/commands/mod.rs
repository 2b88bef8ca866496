//! One module per subcommand.

pub(crate) mod completions;
pub(crate) mod inventory;
pub(crate) mod play;
mod play_output;
pub(crate) mod rollout;
pub(crate) mod run;
mod targets;
pub(crate) mod vault;
