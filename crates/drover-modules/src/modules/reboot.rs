//! `reboot`: the host rebooted, and the task done only when it is back: its
//! boot id has changed and a test command runs again, as Ansible's module
//! does. The connection drops and is made again; each try has its own
//! timeout, and the whole wait `reboot_timeout`.

use std::time::{Duration, Instant};

use drover_playbook::catalog::{
    ArgumentKind::{Integer, List, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// The command that asks for the reboot: after `delay` seconds (detached,
/// so that this command returns before the host goes down), with `message`
/// for logged-in users.
fn reboot_command(custom: Option<&str>, delay: u64, message: &str) -> String {
    let reboot = custom.map_or_else(
        || {
            format!(
                "shutdown -r now {} || systemctl reboot || reboot",
                quote(message)
            )
        },
        str::to_owned,
    );
    format!(
        "nohup sh -c {} >/dev/null 2>&1 &",
        quote(&format!("sleep {}; {reboot}", delay.max(1)))
    )
}

/// Waits until the host has booted again (its boot id is no longer
/// `before`) and runs `test_command`, trying every two seconds, each try
/// within `attempt`, for `timeout` in all; the failed result when it does not.
async fn wait_until_back(
    context: &ModuleContext<'_>,
    (boot_id_command, before): (&str, &str),
    test_command: &str,
    (timeout, attempt): (Duration, Duration),
) -> Result<Result<(), ModuleResult>, Error> {
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let back = tokio::time::timeout(attempt, async {
            let now = context.exec(boot_id_command, None).await?;
            let booted = now.success() && String::from_utf8_lossy(&now.stdout).trim() != before;
            let ready = booted && context.exec(test_command, None).await?.success();
            Ok::<bool, Error>(ready)
        })
        .await;
        if matches!(back, Ok(Ok(true))) {
            return Ok(Ok(()));
        }
        if started.elapsed() >= timeout {
            return Ok(Err(ModuleResult::failed(format!(
                "the host did not come back within {} s of the reboot",
                timeout.as_secs()
            ))
            .with("rebooted", true)));
        }
    }
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    if context.check_mode {
        return Ok(ModuleResult::changed().with("rebooted", false));
    }
    let seconds = |name: &str, default: u64| -> Result<Duration, Error> {
        Ok(Duration::from_secs(
            arguments.unsigned(name)?.unwrap_or(default),
        ))
    };
    let timeout = seconds("reboot_timeout", 600)?;
    let attempt = seconds("connect_timeout", 10)?;
    let boot_id_command = arguments
        .string("boot_time_command")?
        .unwrap_or_else(|| "cat /proc/sys/kernel/random/boot_id".to_owned());
    let test_command = arguments
        .string("test_command")?
        .unwrap_or_else(|| "whoami".to_owned());
    let before = context.exec(&boot_id_command, None).await?;
    if !before.success() {
        return Ok(ModuleResult::failed(format!(
            "`{boot_id_command}` failed before the reboot: {}",
            String::from_utf8_lossy(&before.stderr).trim()
        )));
    }
    let before = String::from_utf8_lossy(&before.stdout).trim().to_owned();
    let message = arguments
        .string("msg")?
        .unwrap_or_else(|| "Reboot initiated by drover".to_owned());
    let command = reboot_command(
        arguments.string("reboot_command")?.as_deref(),
        arguments.unsigned("pre_reboot_delay")?.unwrap_or(0),
        &message,
    );
    let output = context.exec(&command, None).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "the reboot could not be asked for: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let started = Instant::now();
    if let Err(failed) = wait_until_back(
        context,
        (&boot_id_command, &before),
        &test_command,
        (timeout, attempt),
    )
    .await?
    {
        return Ok(failed);
    }
    tokio::time::sleep(seconds("post_reboot_delay", 0)?).await;
    Ok(ModuleResult::changed()
        .with("rebooted", true)
        .with("elapsed", started.elapsed().as_secs()))
}

const REBOOT: &[A] = &[
    A::new("reboot_timeout", Integer),
    A::new("connect_timeout", Integer),
    A::new("pre_reboot_delay", Integer),
    A::new("post_reboot_delay", Integer),
    A::new("test_command", Text),
    A::new("boot_time_command", Text),
    A::new("reboot_command", Text),
    A::new("msg", Text),
    A::new("search_paths", List),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["reboot"], &[REBOOT], run)];

#[cfg(test)]
mod tests {
    use super::reboot_command;

    #[test]
    fn the_reboot_is_detached_so_the_command_returns_first() {
        let command = reboot_command(None, 0, "kernel update");
        assert!(
            command.starts_with("nohup sh -c \"sleep 1; shutdown -r now 'kernel update'"),
            "{command}"
        );
        assert!(command.ends_with(">/dev/null 2>&1 &"), "{command}");
        assert!(
            reboot_command(Some("systemctl kexec"), 5, "").contains("sleep 5; systemctl kexec")
        );
    }
}
