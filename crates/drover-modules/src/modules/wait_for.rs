//! `wait_for`: wait for a port to open (or close), or a file (and text) to appear.

use std::time::{Duration, Instant};

use drover_playbook::catalog::{
    ArgumentKind::{Integer, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let timeout = Duration::from_secs_f64(arguments.number("timeout")?.unwrap_or(300.0));
    let delay = Duration::from_secs_f64(arguments.number("delay")?.unwrap_or(0.0));
    let sleep = Duration::from_secs_f64(arguments.number("sleep")?.unwrap_or(1.0));
    let state = arguments
        .string("state")?
        .unwrap_or_else(|| "started".to_owned());
    let wants_present = matches!(state.as_str(), "started" | "present");
    let probe = match (arguments.string("port")?, arguments.string("path")?) {
        (Some(port), _) => {
            let host = arguments
                .string("host")?
                .unwrap_or_else(|| "127.0.0.1".to_owned());
            // nc where installed, else bash's /dev/tcp.
            format!(
                "if command -v nc >/dev/null 2>&1; then nc -z -w 1 {h} {p}; else timeout 1 bash -c 'exec 3<>/dev/tcp/'{h}'/'{p}; fi",
                h = quote(&host),
                p = quote(&port)
            )
        }
        (None, Some(path)) => match arguments.string("search_regex")? {
            Some(pattern) => format!(
                "[ -e {0} ] && grep -Eq {1} {0}",
                quote(&path),
                quote(&pattern)
            ),
            None => format!("[ -e {} ]", quote(&path)),
        },
        (None, None) => {
            tokio::time::sleep(timeout).await;
            return Ok(ModuleResult::ok());
        }
    };
    if context.check_mode {
        return Ok(ModuleResult::ok());
    }
    tokio::time::sleep(delay).await;
    let started = Instant::now();
    loop {
        let present = context.exec(&probe, None).await?.success();
        if present == wants_present {
            return Ok(ModuleResult::ok().with("elapsed", started.elapsed().as_secs()));
        }
        if started.elapsed() >= timeout {
            let message = arguments.string("msg")?.unwrap_or_else(|| {
                format!(
                    "timeout after {} s waiting for the condition (state {state})",
                    timeout.as_secs()
                )
            });
            return Ok(ModuleResult::failed(message).with("elapsed", started.elapsed().as_secs()));
        }
        tokio::time::sleep(sleep).await;
    }
}

const WAIT_FOR: &[A] = &[
    A::new("host", Text),
    A::new("port", Integer),
    A::new("path", Text),
    A::new("search_regex", Text),
    A::new("state", Text).choices(&["started", "stopped", "present", "absent", "drained"]),
    A::new("timeout", Integer),
    A::new("delay", Integer),
    A::new("sleep", Integer),
    A::new("connect_timeout", Integer),
    A::new("msg", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["wait_for"], &[WAIT_FOR], run)];
