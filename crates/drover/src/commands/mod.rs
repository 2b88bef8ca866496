//! One module per subcommand, and the option helpers they share.

pub(crate) mod completions;
pub(crate) mod inventory;
mod options;
pub(crate) mod play;
pub(crate) mod play_output;
pub(crate) mod rollout;
pub(crate) mod run;
pub(crate) mod runs;
mod targets;
pub(crate) mod vault;
