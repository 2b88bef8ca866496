//! The option helpers `run`, `play` and `rollout` share: the connection
//! settings from the flags, and `--limit`.

use std::time::Duration;

use drover_ssh::{ConnectionDefaults, HostKeyCheck, HostKeyPolicy};

use crate::cli::ConnectionArgs;
use crate::failure::Failure;

/// The connection settings the flags give, for every host.
pub(crate) fn connection_defaults(arguments: &ConnectionArgs) -> ConnectionDefaults {
    let policy = HostKeyPolicy::from(arguments.host_key_checking);
    ConnectionDefaults {
        user: arguments.user.clone(),
        private_key: arguments.private_key.clone(),
        connect_timeout: Duration::from_secs(arguments.connect_timeout.max(1)),
        host_keys: HostKeyCheck {
            policy,
            known_hosts: arguments
                .known_hosts
                .clone()
                .unwrap_or_else(drover_ssh::default_known_hosts),
        },
        ssh_config: ConnectionDefaults::load_ssh_config(arguments.ssh_config.as_deref()),
    }
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
