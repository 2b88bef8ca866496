//! `wait_for_connection`: waits until the host answers again (after a
//! reboot, or while it boots), trying a command over a new connection
//! every `sleep` seconds until `timeout`.

use std::time::{Duration, Instant};

use drover_playbook::catalog::{ArgumentKind::Integer, ArgumentSpec as A};

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let seconds = |name: &str, default: f64| -> Result<Duration, Error> {
        Ok(Duration::from_secs_f64(
            arguments.number(name)?.unwrap_or(default).max(0.0),
        ))
    };
    let (timeout, delay) = (seconds("timeout", 600.0)?, seconds("delay", 0.0)?);
    let (pause, attempt) = (seconds("sleep", 1.0)?, seconds("connect_timeout", 5.0)?);
    tokio::time::sleep(delay).await;
    let started = Instant::now();
    loop {
        // A host that is down fails to connect; one still booting may
        // connect and not yet run commands. Either way: ask again.
        let answered = tokio::time::timeout(attempt, context.exec("true", None)).await;
        if matches!(answered, Ok(Ok(ref output)) if output.success()) {
            return Ok(ModuleResult::ok().with("elapsed", started.elapsed().as_secs()));
        }
        if started.elapsed() >= timeout {
            let reason = match answered {
                Ok(Err(error)) => error.to_string(),
                Ok(Ok(_)) => "the host runs no commands".to_owned(),
                Err(_) => format!("no answer within {} s", attempt.as_secs()),
            };
            return Ok(ModuleResult::failed(format!(
                "timed out waiting for connection after {} s: {reason}",
                started.elapsed().as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
    }
}

const WAIT_FOR_CONNECTION: &[A] = &[
    A::new("timeout", Integer),
    A::new("delay", Integer),
    A::new("sleep", Integer),
    A::new("connect_timeout", Integer),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["wait_for_connection"],
    &[WAIT_FOR_CONNECTION],
    run
)];
