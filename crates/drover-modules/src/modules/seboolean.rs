//! `seboolean`: an `SELinux` boolean on or off, now and (with `persistent`)
//! after a reboot, with `setsebool`. On a host without `SELinux` it fails
//! saying `SELinux` is disabled, as Ansible's module does.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::change;
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let wanted = arguments.boolean("state", false)?;
    let output = context
        .exec_read_only(&format!(
            "selinuxenabled 2>/dev/null || {{ echo disabled; exit 0; }}; getsebool {} 2>&1",
            quote(&name)
        ))
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if stdout.trim() == "disabled" {
        return Ok(ModuleResult::failed("SELinux is disabled on this host."));
    }
    let current = match stdout.rsplit_once("--> ") {
        Some((_, value)) => value.trim() == "on",
        None => {
            return Ok(ModuleResult::failed(format!(
                "SELinux boolean {name} does not exist."
            )));
        }
    };
    if current == wanted {
        return Ok(ModuleResult::ok().with("name", name));
    }
    let persistent = if arguments.boolean("persistent", false)? {
        "-P "
    } else {
        ""
    };
    let value = if wanted { "on" } else { "off" };
    let script = format!("setsebool {persistent}{} {value}", quote(&name));
    let result = change(context, Some(script), "setsebool").await?;
    Ok(if result.failed {
        result
    } else {
        result.with("name", name)
    })
}

const SEBOOLEAN: &[A] = &[
    A::new("name", Text).required(),
    A::new("state", Bool).required(),
    A::new("persistent", Bool),
    A::new("ignore_selinux_state", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["seboolean"], &[SEBOOLEAN], run)];
