//! `drover completions SHELL` and the hidden `drover man`.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell as CompleteShell;

use crate::cli::{Cli, Shell};

/// Writes the completion script for `shell` to stdout.
pub(crate) fn completions(shell: Shell) {
    let shell = match shell {
        Shell::Bash => CompleteShell::Bash,
        Shell::Zsh => CompleteShell::Zsh,
        Shell::Fish => CompleteShell::Fish,
        Shell::Elvish => CompleteShell::Elvish,
        Shell::PowerShell => CompleteShell::PowerShell,
    };
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "drover", &mut std::io::stdout());
}

/// Writes the man page (roff) to stdout.
pub(crate) fn man() -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buffer)?;
    std::io::stdout().write_all(&buffer)?;
    Ok(())
}
