//! `selinux`: `SELinux`'s mode and policy, in `/etc/selinux/config` and at
//! once with `setenforce`. On a host without `SELinux`, as Debian is by
//! default, it reports `SELinux` disabled, as Ansible's module does.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::change;
use crate::{Error, ModuleContext, ModuleResult};

/// What the host says of `SELinux`: the mode it runs in (`disabled` when it
/// does not), and the mode and policy its configuration file names.
#[derive(Debug, Default, PartialEq, Eq)]
struct Status {
    running: String,
    configured: Option<String>,
    policy: Option<String>,
}

fn status_script(file: &str) -> String {
    let file = quote(file);
    format!(
        "if selinuxenabled 2>/dev/null; then echo \"running $(getenforce | tr A-Z a-z)\"; else echo 'running disabled'; fi\n\
         [ -f {file} ] && sed -n 's/^SELINUX=\\(.*\\)/configured \\1/p; s/^SELINUXTYPE=\\(.*\\)/policy \\1/p' {file}\n\
         true\n"
    )
}

fn parse(output: &str) -> Status {
    let mut status = Status::default();
    for line in output.lines() {
        match line.split_once(' ') {
            Some(("running", mode)) => status.running = mode.trim().to_owned(),
            Some(("configured", mode)) => status.configured = Some(mode.trim().to_lowercase()),
            Some(("policy", policy)) => status.policy = Some(policy.trim().to_owned()),
            _ => {}
        }
    }
    status
}

/// What brings the configuration file and the running mode to `state`.
fn commands(status: &Status, state: &str, policy: Option<&str>, file: &str) -> Vec<String> {
    let mut commands = Vec::new();
    if status.configured.as_deref() != Some(state) {
        commands.push(format!(
            "sed -i 's/^SELINUX=.*/SELINUX={state}/' {}",
            quote(file)
        ));
    }
    if let Some(policy) = policy.filter(|policy| status.policy.as_deref() != Some(*policy)) {
        commands.push(format!(
            "sed -i 's/^SELINUXTYPE=.*/SELINUXTYPE={policy}/' {}",
            quote(file)
        ));
    }
    let runtime = match (status.running.as_str(), state) {
        ("enforcing", "permissive") => Some("setenforce 0"),
        ("permissive", "enforcing") => Some("setenforce 1"),
        _ => None,
    };
    commands.extend(runtime.map(str::to_owned));
    commands
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let state = arguments.required("state")?;
    let file = arguments
        .string("configfile")?
        .unwrap_or_else(|| "/etc/selinux/config".to_owned());
    let policy = arguments.string("policy")?;
    let output = context.exec_read_only(&status_script(&file)).await?;
    let status = parse(&String::from_utf8_lossy(&output.stdout));
    let report = |result: ModuleResult, message: String, reboot: bool| {
        result
            .with("msg", message)
            .with("state", state.clone())
            .with(
                "policy",
                policy.clone().or(status.policy.clone()).unwrap_or_default(),
            )
            .with("configfile", file.clone())
            .with("reboot_required", reboot)
    };
    if status.configured.is_none() {
        return Ok(if state == "disabled" {
            report(
                ModuleResult::ok(),
                "SELinux is disabled on this host.".to_owned(),
                false,
            )
        } else {
            ModuleResult::failed(format!(
                "SELinux is not installed on this host: {file} is missing (install selinux-basics and selinux-policy-default on Debian)"
            ))
        });
    }
    let commands = commands(&status, &state, policy.as_deref(), &file);
    let reboot = (status.running == "disabled") != (state == "disabled");
    let script = (!commands.is_empty()).then(|| commands.join(" && "));
    let result = change(context, script, "changing SELinux").await?;
    if result.failed || !result.changed {
        let message = format!("SELinux is {state}");
        return Ok(if result.failed {
            result
        } else {
            report(result, message, reboot)
        });
    }
    let message = if reboot {
        format!("SELinux is configured {state}; it takes effect at the next reboot")
    } else {
        format!("SELinux is {state}")
    };
    Ok(report(ModuleResult::changed(), message, reboot))
}

const SELINUX: &[A] = &[
    A::new("state", Text)
        .choices(&["enforcing", "permissive", "disabled"])
        .required(),
    A::new("policy", Text),
    A::new("configfile", Text).aliases(&["conf", "file"]),
    A::new("update_kernel_param", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["selinux"], &[SELINUX], run)];

#[cfg(test)]
mod tests {
    use super::{Status, parse};

    #[test]
    fn a_host_without_selinux_reads_as_disabled() {
        assert_eq!(
            parse("running disabled\n"),
            Status {
                running: "disabled".to_owned(),
                configured: None,
                policy: None
            }
        );
        let configured = parse("running enforcing\nconfigured enforcing\npolicy targeted\n");
        assert_eq!(configured.policy.as_deref(), Some("targeted"));
    }
}
