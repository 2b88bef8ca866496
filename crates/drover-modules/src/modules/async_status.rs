//! `async_status`: how a task started with `async` and `poll: 0` is
//! doing. The engine starts such a task's command detached, its output,
//! error and exit status going to files under `~/.ansible_async` named
//! after the job; this reads them back (and `mode: cleanup` removes them).

use base64::Engine as _;
use drover_playbook::catalog::{ArgumentKind::String as Text, ArgumentSpec as A};
use serde_json::{Value as Json, json};

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// Where jobs keep their files on the host, as Ansible keeps them.
pub const JOB_DIRECTORY: &str = "$HOME/.ansible_async";

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let Some(job) = arguments.string("jid")? else {
        return Ok(ModuleResult::failed("async_status needs `jid`"));
    };
    if !job
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    {
        return Ok(ModuleResult::failed(format!("`{job}` is not a job id")));
    }
    let files = format!("\"{JOB_DIRECTORY}/{job}\"");
    if arguments.string("mode")?.as_deref() == Some("cleanup") {
        context
            .exec(&format!("rm -f {files}.out {files}.err {files}.rc"), None)
            .await?;
        return Ok(ModuleResult::ok()
            .with("ansible_job_id", json!(job))
            .with("erased", json!(format!("{JOB_DIRECTORY}/{job}"))));
    }
    let script = format!(
        "if [ ! -e {files}.out ]; then echo missing; \
         elif [ -f {files}.rc ]; then echo \"finished $(cat {files}.rc)\"; \
         base64 < {files}.out | tr -d '\\n'; echo; base64 < {files}.err | tr -d '\\n'; echo; \
         else echo running; fi"
    );
    let output = context.exec(&script, None).await?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = text.lines();
    let status = lines.next().unwrap_or_default();
    let base = ModuleResult::ok()
        .with("ansible_job_id", json!(job))
        .with("started", json!(1));
    if status == "missing" {
        return Ok(ModuleResult::failed(format!("could not find job `{job}`"))
            .with("ansible_job_id", json!(job))
            .with("started", json!(1))
            .with("finished", json!(1)));
    }
    let Some(code) = status.strip_prefix("finished ") else {
        return Ok(base.with("finished", json!(0)));
    };
    Ok(finished(&job, code, lines.next(), lines.next()))
}

/// A finished job's result, as its module's would be: its output, error
/// and exit status (read back from base64).
fn finished(job: &str, code: &str, stdout: Option<&str>, stderr: Option<&str>) -> ModuleResult {
    let decode = |line: Option<&str>| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(line.unwrap_or_default())
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .trim_end_matches('\n')
            .to_owned()
    };
    let (stdout, stderr) = (decode(stdout), decode(stderr));
    let rc: i64 = code.trim().parse().unwrap_or(-1);
    let mut result = if rc == 0 {
        ModuleResult::changed()
    } else {
        ModuleResult::failed(format!("non-zero return code {rc}"))
    };
    for (key, value) in [
        ("ansible_job_id", json!(job)),
        ("started", json!(1)),
        ("finished", json!(1)),
        ("rc", json!(rc)),
        (
            "stdout_lines",
            Json::from(stdout.lines().collect::<Vec<_>>()),
        ),
        (
            "stderr_lines",
            Json::from(stderr.lines().collect::<Vec<_>>()),
        ),
        ("stdout", json!(stdout)),
        ("stderr", json!(stderr)),
    ] {
        result = result.with(key, value);
    }
    result
}

const ASYNC_STATUS: &[A] = &[
    A::new("jid", Text).required(),
    A::new("mode", Text).choices(&["status", "cleanup"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["async_status"], &[ASYNC_STATUS], run)];
