//! The environment variables the command line reads, in one place (the
//! engine's one, `DROVER_RUN_DIR`, is `drover_engine::promotion::RUN_DIRECTORY_VARIABLE`).

/// Inventory sources, as `-i` takes them.
pub(crate) const INVENTORY: &str = "DROVER_INVENTORY";
/// `--host-key-checking`.
pub(crate) const HOST_KEY_CHECKING: &str = "DROVER_HOST_KEY_CHECKING";
/// What to log, as a `tracing` filter (`drover_ssh=trace`).
pub(crate) const LOG: &str = "DROVER_LOG";
