//! `drover run`: one ad-hoc command on many hosts, like `ansible -m shell` or pssh.

use std::time::{Duration, Instant};

use drover_inventory::Inventory;
use drover_ssh::{ConnectionDefaults, ExecRequest, HostSession, quote};
use futures::StreamExt as _;

use crate::cli::{AdHocModule, OutputFormat, RunArgs};
use crate::commands::targets::select_hosts;
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::results::{HostResult, Status, print_json, print_text};

/// Runs the command and prints the results.
pub(crate) fn run(arguments: &RunArgs) -> Outcome {
    let Some(command) = command_line(arguments) else {
        return Err(Failure::usage("give a command after `--` or with `-a`"));
    };
    let defaults = crate::commands::options::connection_defaults(&arguments.connection)?;
    let escalation = Escalation {
        password: crate::commands::options::become_password(&arguments.connection)?,
        method: crate::commands::options::become_method(&arguments.connection),
    };
    let limit = arguments
        .limit
        .as_deref()
        .map(crate::commands::options::resolve_limit)
        .transpose()?;
    let (inventory, hosts) = select_hosts(
        &arguments.inventory.sources,
        &arguments.pattern,
        limit.as_deref(),
    )?;
    if hosts.is_empty() {
        return Err(Failure::usage(format!(
            "no hosts match `{}`",
            arguments.pattern
        )));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let jobs = hosts
        .iter()
        .map(|host| {
            job(
                &inventory,
                *host,
                &command,
                arguments,
                &defaults,
                &escalation,
            )
        })
        .collect::<Vec<_>>();
    let record = record(arguments);
    let results = runtime.block_on(run_jobs(
        jobs,
        arguments.connection.forks(),
        record.as_deref(),
    ));
    let elapsed = started.elapsed();
    match arguments.output {
        OutputFormat::Text => print_text(&results, elapsed)?,
        OutputFormat::Json => print_json(&results)?,
    }
    let code = exit_code(&results);
    if let Some(record) = record {
        record.write(crate::results::recap_json(&results));
        record.finish(code);
    }
    Ok(code)
}

/// The run's record in `.drover/runs` here (unless the flags say
/// otherwise), begun with what the run is.
fn record(arguments: &RunArgs) -> Option<std::sync::Arc<crate::records::Record>> {
    let header = serde_json::json!({
        "command": "run",
        "pattern": arguments.pattern,
        "inventory": arguments.inventory.sources,
        "limit": arguments.limit,
        "module": format!("{:?}", arguments.module).to_lowercase(),
    });
    crate::records::start(&arguments.record, std::path::Path::new("."), header)
}

/// The command line to send, shaped by the module.
fn command_line(arguments: &RunArgs) -> Option<String> {
    let text = match &arguments.arguments {
        Some(text) => text.clone(),
        None if !arguments.command.is_empty() => arguments.command.join(" "),
        None => return None,
    };
    Some(match arguments.module {
        AdHocModule::Raw => text,
        AdHocModule::Shell => format!("/bin/sh -c {}", quote(&text)),
        // No shell: every word reaches the program exactly as written.
        AdHocModule::Command => shlex::split(&text)?
            .iter()
            .map(|word| quote(word))
            .collect::<Vec<_>>()
            .join(" "),
    })
}

/// Everything one host's run needs, prepared before any connection is made.
struct Job {
    host: String,
    session: HostSession,
    request: ExecRequest,
}

/// The flags' escalation settings, beneath the inventory's.
struct Escalation {
    password: Option<drover_ssh::Secret>,
    method: Option<drover_ssh::BecomeMethod>,
}

fn job(
    inventory: &Inventory,
    host: usize,
    command: &str,
    arguments: &RunArgs,
    defaults: &ConnectionDefaults,
    escalation: &Escalation,
) -> Job {
    let name = inventory.host(host).name.clone();
    let vars = inventory.host_variables(host);
    let transport = drover_ssh::transport_for(&name, &vars, defaults);
    let become_user = drover_ssh::become_for(
        &vars,
        arguments.connection.become_root || arguments.connection.become_user.is_some(),
        arguments.connection.become_user.as_deref(),
    )
    .map(|mut become_user| {
        if become_user.password.is_none() {
            become_user.password.clone_from(&escalation.password);
        }
        if let Some(method) = escalation.method
            && !vars.contains_key("ansible_become_method")
        {
            become_user.method = method;
        }
        become_user
    });
    Job {
        host: name,
        session: HostSession::new(transport, handshake_permits()),
        request: ExecRequest {
            command: command.to_owned(),
            stdin: None,
            timeout: arguments.timeout.map(Duration::from_secs),
            become_user,
            // One command per host, whose output may be binary: a channel of its own.
            reuse_shell: false,
        },
    }
}

/// The handshake budgets per server for the whole process, shared by every host's session.
fn handshake_permits() -> drover_ssh::Handshakes {
    static PERMITS: std::sync::OnceLock<drover_ssh::Handshakes> = std::sync::OnceLock::new();
    PERMITS.get_or_init(drover_ssh::Handshakes::default).clone()
}

/// Runs every job, `forks` at a time; each host's result goes into the
/// `record` as it comes.
async fn run_jobs(
    jobs: Vec<Job>,
    forks: std::num::NonZeroUsize,
    record: Option<&crate::records::Record>,
) -> Vec<HostResult> {
    let progress = progress_bar(jobs.len());
    let mut results: Vec<HostResult> = futures::stream::iter(jobs)
        .map(|job| {
            let progress = progress.clone();
            async move {
                let result = run_one(job).await;
                progress.inc(1);
                if let Some(record) = record {
                    let mut line = crate::results::result_json(&result);
                    line["event"] = serde_json::json!("host_result");
                    record.write(line);
                }
                result
            }
        })
        .buffer_unordered(forks.get())
        .collect()
        .await;
    progress.finish_and_clear();
    results.sort_by(|a, b| a.host.cmp(&b.host));
    results
}

fn progress_bar(length: usize) -> indicatif::ProgressBar {
    let target = indicatif::ProgressDrawTarget::stderr();
    let bar = indicatif::ProgressBar::with_draw_target(Some(length as u64), target);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {pos}/{len} hosts [{elapsed}] {wide_bar}",
    ) {
        bar.set_style(style);
    }
    bar
}

async fn run_one(job: Job) -> HostResult {
    let started = Instant::now();
    let outcome = job.session.exec(&job.request).await;
    job.session.close().await;
    let duration = started.elapsed();
    match outcome {
        Ok(output) => {
            let status = if output.success() {
                Status::Ok
            } else {
                Status::Failed
            };
            let message = if output.timed_out {
                job.request
                    .timeout
                    .map(|limit| format!("timed out after {} s", limit.as_secs()))
            } else {
                output
                    .signal
                    .as_ref()
                    .map(|signal| format!("killed by signal {signal}"))
            };
            HostResult {
                host: job.host,
                status,
                exit_status: output.exit_status,
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                duration,
                message,
            }
        }
        Err(error) => HostResult {
            host: job.host,
            status: if error.is_unreachable() {
                Status::Unreachable
            } else {
                Status::Failed
            },
            exit_status: None,
            stdout: String::new(),
            stderr: String::new(),
            duration,
            message: Some(match error.hint() {
                Some(hint) => format!("{error}\n  hint: {hint}"),
                None => error.to_string(),
            }),
        },
    }
}

/// Ansible's exit codes: 4 when a host was unreachable, else 2 when one failed.
fn exit_code(results: &[HostResult]) -> u8 {
    if results
        .iter()
        .any(|result| result.status == Status::Unreachable)
    {
        exit::HOST_UNREACHABLE
    } else if results.iter().any(|result| result.status == Status::Failed) {
        exit::HOST_FAILED
    } else {
        exit::SUCCESS
    }
}
