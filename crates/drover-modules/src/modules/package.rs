//! `package`: the host's own package manager, chosen from its facts
//! (`ansible_pkg_mgr`) or, without facts, by asking the host.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, List, String as Text},
    ArgumentSpec as A,
};

use super::Module;
use crate::arguments::Arguments;
use crate::packages::{Manager, Request, ensure};
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let chosen = arguments.string("use")?.filter(|name| name != "auto");
    let fact = context
        .scope
        .get("ansible_pkg_mgr")
        .ok()
        .flatten()
        .and_then(|value| value.as_str().map(str::to_owned));
    let name = if let Some(name) = chosen.or(fact) {
        name
    } else {
        let probe = "for m in apt-get dnf yum zypper pacman pkg apk; do command -v $m >/dev/null 2>&1 && { echo $m; exit 0; }; done; echo unknown";
        let output = context.exec(probe, None).await?;
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .replace("apt-get", "apt")
    };
    let Some(manager) = Manager::named(&name) else {
        return Ok(ModuleResult::failed(format!(
            "`package` cannot drive the package manager `{name}`; drover knows apt, dnf, yum, zypper, pacman, pkgng and apk"
        )));
    };
    let request = Request::read(arguments, manager)?;
    ensure(manager, &request, context).await
}

/// `use`, and what `package` hands to the manager it picks, as Ansible's does.
const PACKAGE: &[A] = &[
    A::new("use", Text),
    A::new("enablerepo", List),
    A::new("disablerepo", List),
    A::new("allow_downgrade", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["package"], &[&super::PACKAGES, PACKAGE], run)];
