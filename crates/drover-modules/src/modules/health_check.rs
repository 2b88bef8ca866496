//! `health_check`: waits until a probe passes, with Kubernetes probe timing
//! (see `crate::health`); fails when it fails `failure_threshold` times in a row.

use drover_playbook::catalog::{
    ArgumentKind::{Integer, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::ExecRequest;
use serde_json::{Map, Value as Json};

use super::Module;
use crate::arguments::Arguments;
use crate::health::HealthSpec;
use crate::{Error, ModuleContext, ModuleResult};

const KEYS: [&str; 9] = [
    "http",
    "tcp",
    "command",
    "initial_delay",
    "period",
    "timeout",
    "success_threshold",
    "failure_threshold",
    "from",
];

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let mut map = Map::new();
    for key in KEYS {
        if let Some(value) = arguments.raw(key) {
            map.insert(key.to_owned(), value.clone());
        }
    }
    let spec = HealthSpec::parse(&Json::Object(map))?;
    check(&spec, context).await
}

/// Runs `spec` on the context's host; a failed result names the check.
pub(crate) async fn check(
    spec: &HealthSpec,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let request = ExecRequest {
        become_user: context.become_user.clone(),
        reuse_shell: true,
        ..ExecRequest::new(String::new())
    };
    let outcome = spec.run(context.session, &request).await?;
    let result = ModuleResult::ok().with("health", outcome.to_json());
    if outcome.healthy {
        return Ok(result.message(format!(
            "{} is healthy after {} probe(s)",
            spec.describe(),
            outcome.probes
        )));
    }
    let mut failed = result;
    failed.failed = true;
    failed.message = Some(format!(
        "health check {} failed {} time(s) in a row (last: {})",
        spec.describe(),
        spec.failure_threshold,
        if outcome.last.is_empty() {
            "no answer"
        } else {
            &outcome.last
        }
    ));
    Ok(failed)
}

const HEALTH_CHECK: &[A] = &[
    A::new("http", Raw),
    A::new("tcp", Raw),
    A::new("command", Text),
    A::new("initial_delay", Raw),
    A::new("period", Raw),
    A::new("timeout", Raw),
    A::new("success_threshold", Integer),
    A::new("failure_threshold", Integer),
    A::new("from", Text).choices(&["target", "controller"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["health_check"], &[HEALTH_CHECK], run)];
