//! `dnf` and `yum`: RPM packages present, absent or latest, with the same
//! semantics as `apt`. (No Fedora host runs here: the commands are covered
//! by unit tests.)
use drover_playbook::catalog::{
    ArgumentKind::{Bool, List},
    ArgumentSpec as A,
};

use super::Module;
use crate::arguments::Arguments;
use crate::packages::{Manager, run_manager};
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    module: &str,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let manager = if module == "yum" {
        Manager::Dnf("yum")
    } else {
        Manager::Dnf("dnf")
    };
    run_manager(manager, module, arguments, context).await
}

const DNF: &[A] = &[
    A::new("disable_gpg_check", Bool),
    A::new("enablerepo", List),
    A::new("disablerepo", List),
    A::new("allowerasing", Bool),
    A::new("allow_downgrade", Bool),
    A::new("exclude", List),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[module!(&["dnf", "yum"], &[&super::PACKAGES, &super::PACKAGE_MANAGER, DNF], named run)];
