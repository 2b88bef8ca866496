//! One file per module.

pub(crate) mod apt;
pub(crate) mod assert;
pub(crate) mod authorized_key;
pub(crate) mod blockinfile;
pub(crate) mod command;
pub(crate) mod copy;
pub(crate) mod debug;
pub(crate) mod dnf;
pub(crate) mod fetch;
pub(crate) mod file;
pub(crate) mod group;
pub(crate) mod lineinfile;
pub(crate) mod package;
pub(crate) mod pause;
pub(crate) mod script;
pub(crate) mod service;
pub(crate) mod setup;
pub(crate) mod stat;
pub(crate) mod template;
pub(crate) mod uri;
pub(crate) mod user;
pub(crate) mod wait_for;
