//! Exit codes, Ansible's, so that scripts written for Ansible keep working.

/// Every host succeeded.
pub(crate) const SUCCESS: u8 = 0;
/// A usage, configuration or input error; nothing ran.
pub(crate) const USAGE_OR_CONFIG: u8 = 1;
/// Some host failed a task.
pub(crate) const HOST_FAILED: u8 = 2;
/// Some host could not be reached.
pub(crate) const HOST_UNREACHABLE: u8 = 4;
