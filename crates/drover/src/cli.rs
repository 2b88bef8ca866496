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
    Run(Box<RunArgs>),
    /// Run a playbook (like `ansible-playbook`).
    Play(Box<PlayArgs>),
    /// Encrypt and decrypt Ansible Vault files and strings (like `ansible-vault`).
    #[command(subcommand)]
    Vault(VaultCommand),
    /// Show, undo, promote or abort rollouts and the releases they record.
    #[command(subcommand)]
    Rollout(RolloutCommand),
    /// List the run records in a directory (`.drover/runs` here by default).
    Runs(RunsArgs),
    /// Write one self-contained HTML report of run records (the latest by default).
    Report(ReportArgs),
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
    /// Repeat to merge several. Default: `inventory` in ansible.cfg, then /etc/ansible/hosts.
    #[arg(
        short = 'i',
        long = "inventory",
        value_name = "SOURCE",
        env = crate::environment::INVENTORY,
        value_delimiter = None
    )]
    pub(crate) sources: Vec<String>,

    #[command(flatten)]
    pub(crate) vault: VaultArgs,
}

/// Where vault passwords come from; shared by every command that reads files.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct VaultArgs {
    /// A file holding the vault password, or an executable that prints it.
    #[arg(
        long = "vault-password-file",
        visible_alias = "vault-pass-file",
        value_name = "FILE",
        env = "ANSIBLE_VAULT_PASSWORD_FILE"
    )]
    pub(crate) password_files: Vec<PathBuf>,

    /// A labelled vault password: `LABEL@FILE`, `LABEL@prompt`, or just `FILE`.
    #[arg(long = "vault-id", value_name = "LABEL@SOURCE")]
    pub(crate) ids: Vec<String>,

    /// Ask for the vault password on the terminal.
    #[arg(long = "ask-vault-pass", visible_alias = "ask-vault-password")]
    pub(crate) ask: bool,
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

    /// Further restrict the hosts to this pattern.
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub(crate) limit: Option<String>,

    /// The module: `shell` runs the command through `/bin/sh`, `command`
    /// runs it without a shell, `raw` hands it to the login shell as is.
    #[arg(short = 'm', long = "module-name", value_enum, default_value = "shell")]
    pub(crate) module: AdHocModule,

    /// The command, as an argument (like Ansible's `-a`), instead of after `--`.
    #[arg(short = 'a', long = "args", value_name = "ARGS")]
    pub(crate) arguments: Option<String>,

    #[command(flatten)]
    pub(crate) connection: ConnectionArgs,

    /// How to print results: grouped text, or one JSON object per host per line.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) output: OutputFormat,

    /// Stop waiting for the command after this many seconds (the host fails).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) timeout: Option<u64>,

    #[command(flatten)]
    pub(crate) record: RecordArgs,

    /// The command to run, after `--`; its words are joined with spaces, as ssh does.
    #[arg(last = true)]
    pub(crate) command: Vec<String>,
}

/// Where a run's record goes (see `drover runs`). Settings left out here
/// come from the `[drover]` section of `ansible.cfg` or `DROVER_RECORD*`.
#[derive(Debug, Default, Args)]
pub(crate) struct RecordArgs {
    /// Write the run's record in DIR instead of `.drover/runs/` beside the
    /// playbook (or in the current directory, for `drover run`).
    #[arg(long, value_name = "DIR")]
    pub(crate) record: Option<PathBuf>,

    /// Write no run record.
    #[arg(long = "no-record", conflicts_with = "record")]
    pub(crate) no_record: bool,

    /// How many records the directory keeps; the oldest go first.
    #[arg(long = "keep-runs", value_name = "N")]
    pub(crate) keep_runs: Option<usize>,
}

/// Arguments of `drover report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The records to report (paths, or names in the records directory);
    /// with several, what changed between the last two, and each host's
    /// latest run. None: the latest record.
    pub(crate) runs: Vec<String>,

    /// Where to write the HTML file.
    #[arg(short = 'o', long, value_name = "FILE", default_value = "report.html")]
    pub(crate) output: PathBuf,

    /// The directory of records.
    #[arg(long, value_name = "DIR", default_value = ".drover/runs")]
    pub(crate) record: PathBuf,
}

/// Arguments of `drover runs`.
#[derive(Debug, Args)]
pub(crate) struct RunsArgs {
    /// The directory of records to list.
    #[arg(long, value_name = "DIR", default_value = ".drover/runs")]
    pub(crate) record: PathBuf,
}

/// `--host-key-checking`, with the words Ansible's setting also takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum HostKeyMode {
    /// Only keys already in known_hosts.
    #[value(alias = "yes", alias = "true")]
    Strict,
    /// Also record keys of hosts not seen before; a changed key is refused.
    AcceptNew,
    /// Accept any key (throwaway hosts only).
    #[value(alias = "no", alias = "false")]
    Off,
}

impl From<HostKeyMode> for drover_ssh::HostKeyPolicy {
    fn from(mode: HostKeyMode) -> Self {
        match mode {
            HostKeyMode::Strict => Self::Strict,
            HostKeyMode::AcceptNew => Self::AcceptNew,
            HostKeyMode::Off => Self::Off,
        }
    }
}

/// How hosts are reached; shared by `run` and `play`. Settings left out
/// here come from `ansible.cfg` and `ANSIBLE_*` variables
/// (`crate::config`), then from drover's defaults.
#[derive(Debug, Args)]
pub(crate) struct ConnectionArgs {
    /// How many hosts to work on at once [default: 50].
    #[arg(short = 'f', long, value_name = "N")]
    pub(crate) forks: Option<std::num::NonZeroUsize>,

    /// The remote user, when the inventory names none.
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub(crate) user: Option<String>,

    /// A private key to offer before the default ones.
    #[arg(long = "private-key", visible_alias = "key-file", value_name = "FILE")]
    pub(crate) private_key: Option<PathBuf>,

    /// How to reach hosts whose inventory does not say (`ansible_connection`).
    #[arg(short = 'c', long = "connection", value_enum, value_name = "TYPE")]
    pub(crate) connection: Option<ConnectionType>,

    /// Ask for the SSH password on the terminal.
    #[arg(short = 'k', long = "ask-pass")]
    pub(crate) ask_pass: bool,

    /// A file holding the SSH password (or an executable that prints it).
    #[arg(
        long = "connection-password-file",
        visible_alias = "conn-pass-file",
        value_name = "FILE"
    )]
    pub(crate) connection_password_file: Option<PathBuf>,

    /// Run commands as another user (sudo), like Ansible's `--become`.
    #[arg(short = 'b', long = "become")]
    pub(crate) become_root: bool,

    /// The user to become.
    #[arg(long = "become-user", value_name = "USER")]
    pub(crate) become_user: Option<String>,

    /// How to become that user, when the play and the inventory do not say.
    #[arg(long = "become-method", value_enum, value_name = "METHOD")]
    pub(crate) become_method: Option<BecomeMethodArg>,

    /// Ask for the become (sudo) password on the terminal.
    #[arg(
        short = 'K',
        long = "ask-become-pass",
        visible_alias = "ask-become-password"
    )]
    pub(crate) ask_become_pass: bool,

    /// A file holding the become password (or an executable that prints it).
    #[arg(
        long = "become-password-file",
        visible_alias = "become-pass-file",
        value_name = "FILE"
    )]
    pub(crate) become_password_file: Option<PathBuf>,

    /// The known_hosts file to check host keys against.
    #[arg(long = "known-hosts", value_name = "FILE")]
    pub(crate) known_hosts: Option<PathBuf>,

    /// What to do with host keys: only known ones (`strict`, the default), also
    /// record new ones (`accept-new`), or accept any (`off`).
    #[arg(
        long = "host-key-checking",
        value_name = "MODE",
        env = crate::environment::HOST_KEY_CHECKING,
        ignore_case = true
    )]
    pub(crate) host_key_checking: Option<HostKeyMode>,

    /// Seconds allowed for connecting and authenticating [default: 10].
    #[arg(short = 'T', long = "connect-timeout", value_name = "SECONDS")]
    pub(crate) connect_timeout: Option<u64>,

    /// An ssh client configuration file (default `~/.ssh/config`).
    #[arg(long = "ssh-config", value_name = "FILE")]
    pub(crate) ssh_config: Option<PathBuf>,

    /// ssh options for every host, as Ansible's `--ssh-common-args`
    /// (`-o ProxyJump=bastion`); drover honours those its client can.
    #[arg(
        long = "ssh-common-args",
        value_name = "ARGS",
        allow_hyphen_values = true
    )]
    pub(crate) ssh_common_args: Option<String>,

    /// More ssh options, as Ansible's `--ssh-extra-args`.
    #[arg(
        long = "ssh-extra-args",
        value_name = "ARGS",
        allow_hyphen_values = true
    )]
    pub(crate) ssh_extra_args: Option<String>,

    /// The ssh options of the flags and of `ansible.cfg`, read together.
    #[arg(skip)]
    pub(crate) ssh: drover_ssh::SshArguments,

    /// Whether plays that do not say gather facts; only `ansible.cfg`'s
    /// `gathering` sets it, and it travels with the connection settings
    /// because every command that runs plays takes those.
    #[arg(skip)]
    pub(crate) gathering: crate::config::Gathering,
}

impl ConnectionArgs {
    /// `-f`, or drover's default: many hosts at once, since each is one connection.
    pub(crate) fn forks(&self) -> std::num::NonZeroUsize {
        self.forks
            .unwrap_or(std::num::NonZeroUsize::new(50).expect("50 is not zero"))
    }
}

/// `-c`: the connection types drover has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ConnectionType {
    /// drover's own SSH client (also read for Ansible's `smart` and `paramiko`).
    #[value(alias = "smart", alias = "paramiko", alias = "paramiko_ssh")]
    Ssh,
    /// Commands run on this machine.
    Local,
}

/// `--become-method`: the methods drover has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BecomeMethodArg {
    Sudo,
    Su,
}

/// The ad-hoc modules that exist before the module library does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AdHocModule {
    Shell,
    Command,
    Raw,
}

/// Output formats of `drover run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    Text,
    Json,
}

/// Arguments of `drover play`.
#[derive(Debug, Args)]
pub(crate) struct PlayArgs {
    /// The playbook to run.
    pub(crate) playbook: PathBuf,

    #[command(flatten)]
    pub(crate) inventory: InventorySources,

    /// Further restrict the hosts to this pattern.
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub(crate) limit: Option<String>,

    /// Extra variables, the highest precedence: `k=v k2=v2`, JSON or YAML, or `@file.yml`.
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub(crate) extra_vars: Vec<String>,

    /// Change nothing; report what would change.
    #[arg(short = 'C', long)]
    pub(crate) check: bool,

    /// Show changes to files and state as unified diffs.
    #[arg(short = 'D', long)]
    pub(crate) diff: bool,

    /// Run only tasks tagged with one of these (comma-separated).
    #[arg(short = 't', long, value_delimiter = ',')]
    pub(crate) tags: Vec<String>,

    /// Skip tasks tagged with one of these (comma-separated).
    #[arg(long = "skip-tags", value_delimiter = ',')]
    pub(crate) skip_tags: Vec<String>,

    /// Start at the first task with this name.
    #[arg(long = "start-at-task", value_name = "NAME")]
    pub(crate) start_at_task: Option<String>,

    /// Check the playbook (every file it uses) and exit.
    #[arg(long = "syntax-check")]
    pub(crate) syntax_check: bool,

    /// Refuse, before touching any host, what Ansible finds only when a
    /// task runs: an argument a module does not take, a module drover does
    /// not implement, a file missing on this machine. Without it these are
    /// warnings, and fail only the tasks that run.
    #[arg(long)]
    pub(crate) strict: bool,

    /// List the tasks each play would run, and exit.
    #[arg(long = "list-tasks")]
    pub(crate) list_tasks: bool,

    /// List the hosts each play would run on, and exit.
    #[arg(long = "list-hosts")]
    pub(crate) list_hosts: bool,

    /// List the tags in the playbook, and exit.
    #[arg(long = "list-tags")]
    pub(crate) list_tags: bool,

    /// More directories to find roles in.
    #[arg(long = "roles-path", value_delimiter = ':', value_name = "DIRS")]
    pub(crate) roles_path: Vec<PathBuf>,

    /// Write the hosts that failed or were unreachable to `PLAYBOOK.retry`
    /// (one per line), for a later `--limit @PLAYBOOK.retry`.
    #[arg(long = "retry-failed")]
    pub(crate) retry_failed: bool,

    /// Run the handlers a host notified even after the host failed.
    #[arg(long = "force-handlers")]
    pub(crate) force_handlers: bool,

    /// Accepted for Ansible's sake: drover keeps no fact cache between
    /// runs, so every run gathers facts afresh.
    #[arg(long = "flush-cache")]
    pub(crate) flush_cache: bool,

    #[command(flatten)]
    pub(crate) connection: ConnectionArgs,

    /// How to print results: Ansible-like text, or NDJSON events.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) output: OutputFormat,

    /// Also write the results to FILE as JUnit XML (one test case per host
    /// and task, as Ansible's `junit` callback), for CI systems.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) record: RecordArgs,
}

/// `drover rollout ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum RolloutCommand {
    /// Each host's current and previous release of an app, as a table.
    Status(Box<RolloutArgs>),
    /// Run each host's previous release of an app again (it becomes the current one);
    /// with `--playbook`, switch a blue-green app back to its previous slot.
    Undo(Box<UndoArgs>),
    /// Let a paused rollout go on with its next step.
    Promote(DecisionArgs),
    /// Stop a paused rollout and roll back what it changed.
    Abort(DecisionArgs),
}

/// Arguments of `drover rollout undo`.
#[derive(Debug, Args)]
pub(crate) struct UndoArgs {
    #[command(flatten)]
    pub(crate) rollout: RolloutArgs,

    /// The playbook whose blue-green rollout of APP to undo: its `switch`
    /// tasks move traffic back to the previous slot.
    #[arg(long, value_name = "PLAYBOOK")]
    pub(crate) playbook: Option<std::path::PathBuf>,

    /// `-e`: variables the playbook needs (`k=v`, JSON, YAML or `@file`).
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub(crate) extra_vars: Vec<String>,
}

/// Arguments of `drover rollout promote` and `abort`.
#[derive(Debug, Args)]
pub(crate) struct DecisionArgs {
    /// The paused rollout (its `app`, or its play's name); may be left out
    /// when only one rollout is paused.
    pub(crate) name: Option<String>,
}

/// Arguments of `drover rollout status` and `undo`.
#[derive(Debug, Args)]
pub(crate) struct RolloutArgs {
    /// The app: the container name its releases are recorded under.
    pub(crate) app: String,

    #[command(flatten)]
    pub(crate) inventory: InventorySources,

    /// Further restrict the hosts to this pattern.
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub(crate) limit: Option<String>,

    #[command(flatten)]
    pub(crate) connection: ConnectionArgs,

    #[command(flatten)]
    pub(crate) record: RecordArgs,
}

/// `drover vault ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum VaultCommand {
    /// Encrypt files in place (or into `--output`).
    Encrypt(VaultFilesArgs),
    /// Decrypt files in place (or into `--output`).
    Decrypt(VaultFilesArgs),
    /// Print the decrypted content of files.
    View(VaultFilesArgs),
    /// Encrypt a string into a `!vault` YAML value.
    #[command(name = "encrypt_string", visible_alias = "encrypt-string")]
    EncryptString(EncryptStringArgs),
}

/// Arguments of `drover vault encrypt|decrypt|view`.
#[derive(Debug, Args)]
pub(crate) struct VaultFilesArgs {
    /// The files (`-` for standard input).
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,

    /// Write the result here (`-` for standard output) instead of in place.
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,

    /// The vault id to encrypt with (its label goes into the header).
    #[arg(long = "encrypt-vault-id", value_name = "LABEL")]
    pub(crate) encrypt_vault_id: Option<String>,

    #[command(flatten)]
    pub(crate) vault: VaultArgs,
}

/// Arguments of `drover vault encrypt_string`.
#[derive(Debug, Args)]
pub(crate) struct EncryptStringArgs {
    /// The string to encrypt; read from standard input when left out.
    pub(crate) plaintext: Option<String>,

    /// The variable name to print before the value (`NAME: !vault |`).
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub(crate) name: Option<String>,

    /// The vault id to encrypt with (its label goes into the header).
    #[arg(long = "encrypt-vault-id", value_name = "LABEL")]
    pub(crate) encrypt_vault_id: Option<String>,

    #[command(flatten)]
    pub(crate) vault: VaultArgs,
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

impl Command {
    /// The vault password options of a command that reads files (mutable,
    /// so that the configuration can fill them).
    pub(crate) fn vault_arguments(&mut self) -> Option<&mut VaultArgs> {
        match self {
            Command::Inventory(arguments) => Some(&mut arguments.inventory.vault),
            Command::Run(arguments) => Some(&mut arguments.inventory.vault),
            Command::Play(arguments) => Some(&mut arguments.inventory.vault),
            Command::Rollout(RolloutCommand::Status(arguments)) => {
                Some(&mut arguments.inventory.vault)
            }
            Command::Rollout(RolloutCommand::Undo(undo)) => Some(&mut undo.rollout.inventory.vault),
            Command::Vault(
                VaultCommand::Encrypt(arguments)
                | VaultCommand::Decrypt(arguments)
                | VaultCommand::View(arguments),
            ) => Some(&mut arguments.vault),
            Command::Vault(VaultCommand::EncryptString(arguments)) => Some(&mut arguments.vault),
            Command::Rollout(RolloutCommand::Promote(_) | RolloutCommand::Abort(_))
            | Command::Completions(_)
            | Command::Runs(_)
            | Command::Report(_)
            | Command::Man => None,
        }
    }
}
