//! `zypper`: SUSE's packages, with `zypper` (and rpm to ask what is installed).
//! Present, absent or latest, with the same semantics as `apt`. No such
//! host runs here: the commands are covered by unit tests, and on a host
//! without the program the task fails saying so.

use drover_playbook::catalog::{ArgumentKind::Bool, ArgumentSpec as A};

use super::Module;
use crate::arguments::Arguments;
use crate::packages::{Manager, run_manager};
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    run_manager(Manager::Zypper, "zypper", arguments, context).await
}

const OWN: &[A] = &[A::new("disable_gpg_check", Bool), A::new("force", Bool)];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["zypper"],
    &[&super::PACKAGES, &super::PACKAGE_MANAGER, OWN],
    run
)];
