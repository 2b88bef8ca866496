//! `async:` and `poll:`. With `poll: 0`, a `command` or `shell` task starts
//! its command on the host, detached, and the play goes on without waiting
//! (its output kept on the host for `async_status`, under the result's
//! `ansible_job_id`); any other task
//! runs to its end. Otherwise the task waits at most `async` seconds, and
//! fails when that runs out.

use std::time::Duration;

use drover_playbook::Task;
use drover_ssh::quote;
use drover_template::Scope;
use serde_json::Value as Json;

use crate::Vars;
use crate::host::HostState;
use crate::task::{self, Outcome, TaskEnvironment};

/// Runs the module as the task's `async` and `poll` say.
pub(crate) async fn invoke(
    name: &str,
    arguments: &Vars,
    task: &Task,
    host: &HostState,
    scope: &Scope,
    environment: &TaskEnvironment<'_>,
) -> Outcome {
    let Some(asynchronous) = &task.asynchronous else {
        return task::invoke(name, arguments, task, host, scope, environment).await;
    };
    let templar = environment.templar;
    let (seconds, poll) = match (
        task::number(&asynchronous.seconds, scope, templar),
        task::number(&asynchronous.poll, scope, templar),
    ) {
        (Ok(seconds), Ok(poll)) => (seconds, poll),
        (Err(message), _) | (_, Err(message)) => return Outcome::in_task(task, message, None),
    };
    if poll <= 0.0 && matches!(name, "command" | "shell") {
        return in_background(arguments, task, host, scope, environment).await;
    }
    if seconds <= 0.0 {
        return task::invoke(name, arguments, task, host, scope, environment).await;
    }
    let limit = Duration::from_secs_f64(seconds);
    match tokio::time::timeout(
        limit,
        task::invoke(name, arguments, task, host, scope, environment),
    )
    .await
    {
        Ok(outcome) => outcome,
        Err(_) => Outcome::failed(format!(
            "the task did not finish within its `async: {seconds}` seconds"
        )),
    }
}

/// `poll: 0`: the command starts in a session of its own, its input and
/// output closed, and the task ends at once.
async fn in_background(
    arguments: &Vars,
    task: &Task,
    host: &HostState,
    scope: &Scope,
    environment: &TaskEnvironment<'_>,
) -> Outcome {
    let text = ["_raw_params", "cmd"]
        .iter()
        .find_map(|key| arguments.get(*key).and_then(Json::as_str))
        .map(str::to_owned)
        .or_else(|| {
            arguments.get("argv").and_then(Json::as_array).map(|words| {
                words
                    .iter()
                    .filter_map(Json::as_str)
                    .map(quote)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        })
        .unwrap_or_default();
    let mut detached = arguments.clone();
    for key in ["cmd", "argv", "stdin", "executable"] {
        detached.remove(key);
    }
    // The job keeps its output, error and exit status in files named after
    // it, for `async_status`: the first two exist before the task ends (so
    // the job is found at once), the status file appears whole (a rename).
    let job = format!(
        "{}.{}",
        fastrand::u64(100_000_000..1_000_000_000),
        std::process::id()
    );
    let directory = drover_modules::ASYNC_JOB_DIRECTORY;
    let files = format!("\"{directory}/{job}\"");
    let body = format!(
        "sh -c {} >>{files}.out 2>>{files}.err; echo $? >{files}.tmp && mv {files}.tmp {files}.rc",
        quote(&text)
    );
    detached.insert(
        "_raw_params".to_owned(),
        Json::from(format!(
            "mkdir -p \"{directory}\" && : >{files}.out && : >{files}.err && {{ setsid sh -c {} </dev/null >/dev/null 2>&1 & }}",
            quote(&body)
        )),
    );
    let mut outcome = task::invoke("shell", &detached, task, host, scope, environment).await;
    if let Json::Object(result) = &mut outcome.result {
        result.insert("ansible_job_id".to_owned(), Json::from(job.clone()));
        result.insert(
            "results_file".to_owned(),
            Json::from(format!("{directory}/{job}")),
        );
        result.insert("started".to_owned(), Json::from(1));
        result.insert("finished".to_owned(), Json::from(0));
    }
    outcome
}
