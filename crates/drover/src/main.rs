//! The `drover` command: agentless, Ansible-compatible push orchestration.

mod cli;
mod commands;
mod config;
mod diagnostics;
mod environment;
mod exit;
mod failure;
mod junit;
mod output;
mod records;
mod report;
mod results;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    diagnostics::install_renderer();
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                exit::USAGE_OR_CONFIG
            } else {
                exit::SUCCESS
            };
            // clap prints help and version to stdout, errors to stderr.
            let _ = error.print();
            if error.kind() == clap::error::ErrorKind::InvalidValue {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("hint: give one of the possible values listed above");
                }
            }
            return ExitCode::from(code);
        }
    };
    init_logging(cli.verbose);
    // Each host holds a socket; let a thousand of them be open at once.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let result = configure(&mut cli)
        .and_then(|()| match cli.command.vault_arguments() {
            Some(vault) => commands::vault::install(vault),
            None => Ok(()),
        })
        .and_then(|()| execute(&cli));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            failure.print();
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Reads `ansible.cfg` and the `ANSIBLE_*` variables into what the flags
/// left unset, and prints a warning for each setting drover cannot honour.
fn configure(cli: &mut Cli) -> Result<(), failure::Failure> {
    let (settings, warnings) = config::load()?;
    output::print_warnings(&warnings);
    if let Some(file) = &settings.file {
        tracing::info!(file = %file.display(), "using configuration file");
    }
    settings.apply(&mut cli.command);
    Ok(())
}

/// Runs the command; its exit code, or why it could not run.
fn execute(cli: &Cli) -> failure::Outcome {
    match &cli.command {
        Command::Inventory(arguments) => commands::inventory::run(arguments),
        Command::Completions(arguments) => {
            commands::completions::completions(arguments.shell);
            Ok(exit::SUCCESS)
        }
        Command::Man => Ok(commands::completions::man().map(|()| exit::SUCCESS)?),
        Command::Run(arguments) => commands::run::run(arguments),
        Command::Play(arguments) => commands::play::run(arguments, cli.verbose > 0),
        Command::Rollout(command) => commands::rollout::run(command),
        Command::Runs(arguments) => commands::runs::run(arguments),
        Command::Report(arguments) => report::run(arguments),
        Command::Vault(command) => commands::vault::run(command),
    }
}

/// Logs go to stderr; `-v` raises the level, and `DROVER_LOG` overrides it.
fn init_logging(verbosity: u8) {
    let level = match verbosity {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env(environment::LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| output::MaskedStderr)
        .with_ansi(diagnostics::colour_allowed())
        .without_time()
        .try_init();
}
