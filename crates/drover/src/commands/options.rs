//! The option helpers `run`, `play` and `rollout` share: the connection
//! settings from the flags, and `--limit`.

use std::path::Path;
use std::time::Duration;

use drover_ssh::{BecomeMethod, ConnectionDefaults, HostKeyCheck, HostKeyPolicy, Secret};

use crate::cli::{BecomeMethodArg, ConnectionArgs, ConnectionType};
use crate::failure::Failure;

/// The connection settings the flags (and the configuration beneath them)
/// give, for every host; asks for the SSH password when `-k` says so.
pub(crate) fn connection_defaults(
    arguments: &ConnectionArgs,
) -> Result<ConnectionDefaults, Failure> {
    let ssh = &arguments.ssh;
    let policy = arguments
        .host_key_checking
        .map(HostKeyPolicy::from)
        .or(ssh.host_key_policy)
        .unwrap_or_default();
    Ok(ConnectionDefaults {
        user: arguments.user.clone().or_else(|| ssh.user.clone()),
        private_key: arguments
            .private_key
            .clone()
            .or_else(|| ssh.identity_file.clone()),
        connect_timeout: arguments
            .connect_timeout
            .map(Duration::from_secs)
            .or(ssh.connect_timeout)
            .unwrap_or(Duration::from_secs(10))
            .max(Duration::from_secs(1)),
        host_keys: HostKeyCheck {
            policy,
            known_hosts: arguments
                .known_hosts
                .clone()
                .or_else(|| ssh.known_hosts.clone())
                .unwrap_or_else(drover_ssh::default_known_hosts),
        },
        ssh_config: ConnectionDefaults::load_ssh_config(
            arguments
                .ssh_config
                .as_deref()
                .or(ssh.config_file.as_deref()),
        ),
        connection: arguments.connection.map(|connection| {
            match connection {
                ConnectionType::Ssh => "ssh",
                ConnectionType::Local => "local",
            }
            .to_owned()
        }),
        port: ssh.port,
        jump: ssh.proxy_jump.clone(),
        password: connection_password(arguments)?,
    })
}

/// `--connection-password-file`, or `-k`'s answer.
fn connection_password(arguments: &ConnectionArgs) -> Result<Option<Secret>, Failure> {
    if let Some(file) = &arguments.connection_password_file {
        return password_file(file, "--connection-password-file").map(Some);
    }
    if arguments.ask_pass {
        return prompt("SSH password: ").map(Some);
    }
    Ok(None)
}

/// `--become-password-file`, or `-K`'s answer.
pub(crate) fn become_password(arguments: &ConnectionArgs) -> Result<Option<Secret>, Failure> {
    if let Some(file) = &arguments.become_password_file {
        return password_file(file, "--become-password-file").map(Some);
    }
    if arguments.ask_become_pass {
        return prompt("BECOME password: ").map(Some);
    }
    Ok(None)
}

/// `--become-method` in the transport's terms.
pub(crate) fn become_method(arguments: &ConnectionArgs) -> Option<BecomeMethod> {
    arguments.become_method.map(|method| match method {
        BecomeMethodArg::Sudo => BecomeMethod::Sudo,
        BecomeMethodArg::Su => BecomeMethod::Su,
    })
}

/// A password file read as Ansible reads one (and as vault password files
/// are read): its content trimmed, or the output of a script.
fn password_file(path: &Path, flag: &str) -> Result<Secret, Failure> {
    let secret = drover_vault::VaultSecret::from_source("default", path)
        .map_err(|error| Failure::usage(format!("{flag}: {error}")))?;
    let text = String::from_utf8(secret.password().to_vec())
        .map_err(|_| Failure::usage(format!("{flag}: {} is not UTF-8 text", path.display())))?;
    Ok(Secret::new(text))
}

fn prompt(question: &str) -> Result<Secret, Failure> {
    rpassword::prompt_password(question)
        .map(Secret::new)
        .map_err(|error| Failure::usage(format!("cannot ask for the password: {error}")))
}

/// `--limit @FILE` names the hosts in FILE (one per line, as a retry file
/// holds them); any other limit is a pattern.
pub(crate) fn resolve_limit(limit: &str) -> Result<String, Failure> {
    let Some(file) = limit.strip_prefix('@') else {
        return Ok(limit.to_owned());
    };
    let text = std::fs::read_to_string(file).map_err(|error| {
        Failure::usage(format!("--limit @{file}: {error}\nhint: a retry file is written by `drover play --retry-failed`"))
    })?;
    let hosts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    if hosts.is_empty() {
        return Err(Failure::usage(format!("--limit @{file} names no hosts")));
    }
    Ok(hosts.join(","))
}
