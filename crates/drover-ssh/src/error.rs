//! The one error type of the transport.

use std::path::PathBuf;

/// Everything that can go wrong reaching a host or running a command on it.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The TCP connection could not be made.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// `host:port` that was dialled.
        address: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// Connecting, the handshake or authentication took longer than allowed.
    #[error("timed out after {seconds} s while {stage} {address}")]
    ConnectTimeout {
        /// `host:port`.
        address: String,
        /// What was being done (`connecting to`, `authenticating with`).
        stage: &'static str,
        /// The limit.
        seconds: u64,
    },

    /// The SSH protocol failed during the handshake or later.
    #[error("SSH error with {address}: {message}")]
    Protocol {
        /// `host:port`.
        address: String,
        /// What russh reported.
        message: String,
    },

    /// The host's key is not in known_hosts and the policy refuses new keys.
    #[error("the host key of {address} ({fingerprint}) is not in `{}`", known_hosts.display())]
    UnknownHostKey {
        /// `host:port`.
        address: String,
        /// The offered key's SHA-256 fingerprint.
        fingerprint: String,
        /// The known_hosts file consulted.
        known_hosts: PathBuf,
    },

    /// The host's key differs from the one recorded in known_hosts.
    #[error(
        "the host key of {address} has CHANGED ({fingerprint}); `{}` line {line} has another",
        known_hosts.display()
    )]
    ChangedHostKey {
        /// `host:port`.
        address: String,
        /// The offered key's SHA-256 fingerprint.
        fingerprint: String,
        /// The known_hosts file consulted.
        known_hosts: PathBuf,
        /// The line that holds the recorded key.
        line: usize,
    },

    /// No offered credential was accepted.
    #[error("authentication as `{user}` on {address} failed (tried: {})", tried.join(", "))]
    Authentication {
        /// `host:port`.
        address: String,
        /// The user.
        user: String,
        /// What was offered, for the operator's benefit.
        tried: Vec<String>,
    },

    /// No channel could be opened, so the command certainly did not start.
    #[error("cannot open a channel to {address}: {message}")]
    NotStarted {
        /// `host:port`.
        address: String,
        /// What went wrong.
        message: String,
    },

    /// A change sent ahead of its result in the same flight failed, so
    /// the command after it did not run (see `deferred.rs`).
    #[error("a change sent ahead to {address} failed, so this command did not run")]
    Halted {
        /// `host:port`.
        address: String,
    },

    /// A command could not be started or its channel failed.
    #[error("cannot run a command on {address}: {message}")]
    Channel {
        /// `host:port`, or `local`.
        address: String,
        /// What went wrong.
        message: String,
    },

    /// A setting cannot be honoured (for example `su` with a password).
    #[error("{0}")]
    Unsupported(String),
    /// The SSH server refused to forward a port back to the controller
    /// (`AllowTcpForwarding no`); the connection itself is fine.
    #[error("{address} refused to forward a port: {message}")]
    ForwardingRefused {
        /// `host:port`.
        address: String,
        /// What the server said.
        message: String,
    },
}

impl Error {
    /// Whether the host should be reported UNREACHABLE (as Ansible does for
    /// connection and authentication failures) rather than FAILED.
    pub fn is_unreachable(&self) -> bool {
        !matches!(
            self,
            Self::Unsupported(_) | Self::ForwardingRefused { .. } | Self::Halted { .. }
        )
    }

    /// The message, with the hint on a line of its own (`hint: ...`)
    /// when there is one: how a task's result says it.
    pub fn described(&self) -> String {
        match self.hint() {
            Some(hint) => format!("{self}\nhint: {hint}"),
            None => self.to_string(),
        }
    }

    /// A line telling the operator what to do next, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::UnknownHostKey { address, .. } => Some(format!(
                "check the key out of band, then add it with `ssh-keyscan` or run once with \
                 `--host-key-checking accept-new` (host {address})"
            )),
            Self::ChangedHostKey {
                line, known_hosts, ..
            } => Some(format!(
                "if the host was rebuilt, remove line {line} of `{}`; otherwise someone may be \
                 intercepting the connection",
                known_hosts.display()
            )),
            Self::Authentication { .. } => Some(
                "load a key into ssh-agent, pass `--private-key`, or set \
                 `ansible_ssh_private_key_file`"
                    .to_owned(),
            ),
            Self::ConnectTimeout { .. } | Self::Connect { .. } => {
                Some("check the address, the port and that sshd is running".to_owned())
            }
            _ => None,
        }
    }
}
