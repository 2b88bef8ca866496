//! The command line, declared with clap's derive API.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Agentless, Ansible-compatible push orchestration over SSH.
///
/// drover reads Ansible inventories and playbooks and pushes changes to
/// many hosts at once over one SSH connection per host.
#[derive(Debug, Parser)]
#[command(
    name = "drover",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    /// More output on stderr (`-v` info, `-vv` debug, `-vvv` trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show an inventory as Ansible sees it (like `ansible-inventory`).
    Inventory(InventoryArgs),
    /// Run an ad-hoc command on the hosts a pattern selects (like `ansible` or pssh).
    Run(RunArgs),
    /// Run a playbook (like `ansible-playbook`).
    Play(PlayArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page, in roff.
    #[command(hide = true)]
    Man,
}

/// Where hosts come from; shared by every command that reads an inventory.
#[derive(Debug, Args)]
pub(crate) struct InventorySources {
    /// An inventory file, directory, script, or comma-separated host list (`-i 'h1,h2,'`).
    /// Repeat to merge several.
    #[arg(
        short = 'i',
        long = "inventory",
        value_name = "SOURCE",
        env = "DROVER_INVENTORY",
        value_delimiter = None,
        required = true
    )]
    pub(crate) sources: Vec<String>,
}

/// Arguments of `drover inventory`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["list", "graph", "host"])))]
pub(crate) struct InventoryArgs {
    #[command(flatten)]
    pub(crate) inventory: InventorySources,

    /// Print every group and host with its variables, as JSON.
    #[arg(long)]
    pub(crate) list: bool,

    /// Draw the group tree below GROUP (default `all`).
    #[arg(long, value_name = "GROUP", num_args = 0..=1, default_missing_value = "all")]
    pub(crate) graph: Option<String>,

    /// Print the merged variables of one host, as JSON.
    #[arg(long, value_name = "HOST")]
    pub(crate) host: Option<String>,

    /// Print `--list` and `--host` as YAML instead of JSON.
    #[arg(short = 'y', long)]
    pub(crate) yaml: bool,

    /// Only hosts that also match this pattern.
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub(crate) limit: Option<String>,
}

/// Arguments of `drover run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Which hosts to run on (`all`, `web*`, `web:&prod`, `db[0]` ...).
    pub(crate) pattern: String,

    #[command(flatten)]
    pub(crate) inventory: InventorySources,

    /// The command to run, after `--`.
    #[arg(last = true)]
    pub(crate) command: Vec<String>,
}

/// Arguments of `drover play`.
#[derive(Debug, Args)]
pub(crate) struct PlayArgs {
    /// The playbook to run.
    pub(crate) playbook: PathBuf,

    #[command(flatten)]
    pub(crate) inventory: InventorySources,
}

/// Arguments of `drover completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to print completions for.
    #[arg(value_enum)]
    pub(crate) shell: Shell,
}

/// Shells that completions can be generated for.
#[derive(Debug, Clone, Copy, ValueEnum)]
#[allow(clippy::enum_variant_names)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    #[value(name = "powershell")]
    PowerShell,
}
