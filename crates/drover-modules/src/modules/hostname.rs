//! `hostname`: the host's name, both the running one and the one it boots
//! with (`/etc/hostname`), through `hostnamectl` when systemd runs.

use drover_playbook::catalog::{ArgumentKind::String as Text, ArgumentSpec as A};
use drover_ssh::quote;
use serde_json::json;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::output_value;
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// The command setting the name `name`, for the strategy `using`.
pub(crate) fn set_command(name: &str, using: &str) -> String {
    let name = quote(name);
    match using {
        "systemd" => format!("hostnamectl set-hostname {name}"),
        _ => format!(
            "printf '%s\\n' {name} > /etc/hostname.drover-new && mv /etc/hostname.drover-new /etc/hostname && hostname {name}"
        ),
    }
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let using = arguments.string("use")?;
    let query = "echo \"current=$(hostname)\"; echo \"permanent=$(cat /etc/hostname 2>/dev/null)\"; \
                 if [ -d /run/systemd/system ] && command -v hostnamectl >/dev/null 2>&1; then echo using=systemd; else echo using=file; fi";
    let output = context.exec(query, None).await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = |key: &str| output_value(&stdout, key).trim().to_owned();
    let (current, permanent) = (value("current"), value("permanent"));
    let using = using.unwrap_or_else(|| value("using"));
    // Named as Ansible's module returns them: with the `ansible_` prefix.
    let facts = json!({
        "ansible_hostname": name.split('.').next().unwrap_or_default(),
        "ansible_nodename": name,
        "ansible_fqdn": name,
    });
    if current == name && permanent == name {
        return Ok(ModuleResult::ok()
            .with("name", name)
            .with("ansible_facts", facts));
    }
    let result = ModuleResult::changed()
        .with("name", name.clone())
        .with("ansible_facts", facts)
        .with_diff(
            context.diff,
            Diff {
                before: format!("hostname = {current}\n"),
                after: format!("hostname = {name}\n"),
                before_header: "hostname".to_owned(),
                after_header: "hostname".to_owned(),
            },
        );
    if context.check_mode {
        return Ok(result);
    }
    let command = set_command(&name, &using);
    let output = context.exec(&command, None).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "setting the hostname failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(result)
}

const HOSTNAME: &[A] = &[A::new("name", Text).required(), A::new("use", Text)];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["hostname"], &[HOSTNAME], run)];
