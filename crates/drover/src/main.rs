//! The `drover` command: agentless, Ansible-compatible push orchestration.

mod cli;
mod commands;
mod diagnostics;
mod environment;
mod exit;
mod output;
mod results;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    diagnostics::install_renderer();
    let cli = match Cli::try_parse() {
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
    if let Some(vault) = cli.command.vault_arguments()
        && let Err(message) = commands::vault::install(vault)
    {
        return ExitCode::from(output::usage_error(message));
    }
    let result = match &cli.command {
        Command::Inventory(arguments) => commands::inventory::run(arguments),
        Command::Completions(arguments) => {
            commands::completions::completions(arguments.shell);
            Ok(exit::SUCCESS)
        }
        Command::Man => commands::completions::man().map(|()| exit::SUCCESS),
        Command::Run(arguments) => commands::run::run(arguments),
        Command::Play(arguments) => commands::play::run(arguments, cli.verbose > 0),
        Command::Rollout(command) => commands::rollout::run(command),
        Command::Vault(command) => Ok(commands::vault::run(command)),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {}", drover_vault::mask(&format!("{error:#}")));
            }
            ExitCode::from(exit::USAGE_OR_CONFIG)
        }
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
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .without_time()
        .try_init();
}
