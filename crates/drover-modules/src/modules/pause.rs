//! `pause`: wait a while. drover never prompts, so a pause needs a duration.

use std::time::Duration;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Raw, String as Text},
    ArgumentSpec as A,
};

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let seconds = arguments
        .number("seconds")?
        .or(arguments.number("minutes")?.map(|minutes| minutes * 60.0));
    let Some(seconds) = seconds else {
        return Ok(ModuleResult::failed(
            "`pause` without `seconds` or `minutes` would wait for a keypress; drover runs unattended",
        ));
    };
    if !context.check_mode {
        tokio::time::sleep(Duration::from_secs_f64(seconds.max(0.0))).await;
    }
    Ok(ModuleResult::ok().with("delta", seconds))
}

const PAUSE: &[A] = &[
    A::new("seconds", Raw),
    A::new("minutes", Raw),
    A::new("prompt", Text),
    A::new("echo", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["pause"], &[PAUSE], run)];
