//! Filling what the flags left out from the configuration.

use std::path::Path;

use super::Settings;
use crate::cli::{
    BecomeMethodArg, Command, ConnectionArgs, ConnectionType, HostKeyMode, InventorySources,
    RecordArgs, RolloutCommand, VaultArgs,
};

/// Ansible's inventory when nothing names one.
const DEFAULT_INVENTORY: &str = "/etc/ansible/hosts";

impl Settings {
    /// Fills every option of `command` that its flags left unset.
    pub(crate) fn apply(&self, command: &mut Command) {
        match command {
            Command::Inventory(arguments) => self.inventory(&mut arguments.inventory),
            Command::Run(arguments) => {
                self.inventory(&mut arguments.inventory);
                self.connection(&mut arguments.connection);
                self.record(&mut arguments.record);
            }
            Command::Play(arguments) => {
                self.inventory(&mut arguments.inventory);
                self.connection(&mut arguments.connection);
                self.record(&mut arguments.record);
                arguments.roles_path.extend(self.roles_path.iter().cloned());
                arguments.retry_failed |= self.retry_files_enabled;
                arguments.force_handlers |= self.force_handlers;
            }
            Command::Rollout(RolloutCommand::Status(arguments)) => {
                self.inventory(&mut arguments.inventory);
                self.connection(&mut arguments.connection);
                self.record(&mut arguments.record);
            }
            Command::Rollout(RolloutCommand::Undo(undo)) => {
                self.inventory(&mut undo.rollout.inventory);
                self.connection(&mut undo.rollout.connection);
                self.record(&mut undo.rollout.record);
            }
            Command::Vault(_)
            | Command::Rollout(RolloutCommand::Promote(_) | RolloutCommand::Abort(_))
            | Command::Completions(_)
            | Command::Runs(_)
            | Command::Report(_)
            | Command::Man => {}
        }
        if let Some(vault) = command.vault_arguments() {
            self.vault(vault);
        }
    }

    fn record(&self, record: &mut RecordArgs) {
        if record.record.is_none() {
            record.no_record |= self.record == Some(false);
            record.record.clone_from(&self.record_dir);
        }
        record.keep_runs = record.keep_runs.or(self.runs_kept);
    }

    fn inventory(&self, sources: &mut InventorySources) {
        if !sources.sources.is_empty() {
            return;
        }
        sources.sources.clone_from(&self.inventory);
        if sources.sources.is_empty() && Path::new(DEFAULT_INVENTORY).exists() {
            sources.sources.push(DEFAULT_INVENTORY.to_owned());
        }
    }

    fn vault(&self, vault: &mut VaultArgs) {
        if vault.password_files.is_empty() && vault.ids.is_empty() && !vault.ask {
            vault
                .password_files
                .extend(self.vault_password_file.iter().cloned());
        }
    }

    fn connection(&self, arguments: &mut ConnectionArgs) {
        fill(&mut arguments.forks, self.forks);
        fill(&mut arguments.user, self.remote_user.clone());
        fill(&mut arguments.private_key, self.private_key_file.clone());
        fill(&mut arguments.connect_timeout, self.timeout);
        fill(
            &mut arguments.connection,
            self.transport.as_deref().and_then(|name| match name {
                "local" => Some(ConnectionType::Local),
                "ssh" | "smart" | "paramiko" => Some(ConnectionType::Ssh),
                _ => None,
            }),
        );
        fill(
            &mut arguments.host_key_checking,
            self.host_key_checking.map(|check| {
                if check {
                    HostKeyMode::Strict
                } else {
                    HostKeyMode::Off
                }
            }),
        );
        arguments.become_root |= self.become_root;
        arguments.ask_pass |= self.ask_pass;
        arguments.ask_become_pass |= self.become_ask_pass;
        fill(&mut arguments.become_user, self.become_user.clone());
        fill(
            &mut arguments.become_method,
            self.become_method.as_deref().and_then(|name| match name {
                "sudo" => Some(BecomeMethodArg::Sudo),
                "su" => Some(BecomeMethodArg::Su),
                _ => None,
            }),
        );
        arguments.gathering = self.gathering;
        self.ssh_options(arguments);
    }

    /// The flags' ssh options first (ssh takes the first value given), then the file's.
    fn ssh_options(&self, arguments: &mut ConnectionArgs) {
        let mut ssh = drover_ssh::SshArguments::default();
        for line in [&arguments.ssh_common_args, &arguments.ssh_extra_args]
            .into_iter()
            .flatten()
        {
            ssh.extend(line);
        }
        let configured = &self.ssh;
        fill(&mut ssh.user, configured.user.clone());
        fill(&mut ssh.port, configured.port);
        fill(&mut ssh.identity_file, configured.identity_file.clone());
        fill(&mut ssh.proxy_jump, configured.proxy_jump.clone());
        fill(&mut ssh.host_key_policy, configured.host_key_policy);
        fill(&mut ssh.known_hosts, configured.known_hosts.clone());
        fill(&mut ssh.connect_timeout, configured.connect_timeout);
        fill(&mut ssh.config_file, configured.config_file.clone());
        fill(&mut ssh.port, self.remote_port);
        arguments.ssh = ssh;
    }
}

fn fill<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}
