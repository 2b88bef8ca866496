//! One file per module.

pub(crate) mod apt;
pub(crate) mod assert;
pub(crate) mod blockinfile;
pub(crate) mod command;
pub(crate) mod copy;
pub(crate) mod debug;
pub(crate) mod dnf;
pub(crate) mod fetch;
pub(crate) mod file;
pub(crate) mod lineinfile;
pub(crate) mod package;
pub(crate) mod pause;
pub(crate) mod script;
pub(crate) mod setup;
pub(crate) mod stat;
pub(crate) mod template;
pub(crate) mod wait_for;
