//! Host-key verification against known_hosts, OpenSSH's way.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use russh::keys::{HashAlg, PublicKey};

use crate::error::Error;

/// How to treat a host's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostKeyPolicy {
    /// Only keys already in known_hosts are accepted (the default).
    #[default]
    Strict,
    /// Unknown keys are accepted and recorded; changed keys are still refused.
    AcceptNew,
    /// Every key is accepted. Only for throwaway hosts.
    Off,
}

impl FromStr for HostKeyPolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "strict" | "yes" | "true" => Ok(Self::Strict),
            "accept-new" => Ok(Self::AcceptNew),
            "off" | "no" | "false" => Ok(Self::Off),
            other => Err(format!(
                "`{other}` is not a host key policy\nhint: use strict (the default), accept-new or off"
            )),
        }
    }
}

/// Where and how to check host keys.
#[derive(Debug, Clone)]
pub struct HostKeyCheck {
    /// The policy.
    pub policy: HostKeyPolicy,
    /// The known_hosts file (`~/.ssh/known_hosts` unless overridden).
    pub known_hosts: PathBuf,
}

/// Serialises appends to known_hosts from concurrent connections.
static LEARN_LOCK: Mutex<()> = Mutex::new(());

impl HostKeyCheck {
    /// Checks `key` offered by `host:port`; records it under `accept-new`.
    ///
    /// Returns the reason for refusal, if any.
    pub(crate) fn verify(&self, host: &str, port: u16, key: &PublicKey) -> Result<(), Error> {
        let address = format!("{host}:{port}");
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        if self.policy == HostKeyPolicy::Off {
            return Ok(());
        }
        let known = if self.known_hosts.exists() {
            russh::keys::check_known_hosts_path(host, port, key, &self.known_hosts)
        } else {
            Ok(false)
        };
        match known {
            Ok(true) => Ok(()),
            Err(russh::keys::Error::KeyChanged { line }) => Err(Error::ChangedHostKey {
                address,
                fingerprint,
                known_hosts: self.known_hosts.clone(),
                line,
            }),
            Ok(false) | Err(_) if self.policy == HostKeyPolicy::AcceptNew => {
                let _guard = LEARN_LOCK.lock();
                russh::keys::known_hosts::learn_known_hosts_path(
                    host,
                    port,
                    key,
                    &self.known_hosts,
                )
                .map_err(|error| Error::Protocol {
                    address: address.clone(),
                    message: format!(
                        "cannot record the host key in `{}`: {error}",
                        self.known_hosts.display()
                    ),
                })?;
                tracing::info!(%address, %fingerprint, "recorded a new host key");
                Ok(())
            }
            Ok(false) | Err(_) => Err(Error::UnknownHostKey {
                address,
                fingerprint,
                known_hosts: self.known_hosts.clone(),
            }),
        }
    }
}

/// The default known_hosts file, `~/.ssh/known_hosts`.
pub fn default_known_hosts() -> PathBuf {
    home_directory().join(".ssh").join("known_hosts")
}

/// `$HOME`, or `/` when it is not set.
pub(crate) fn home_directory() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("/"), PathBuf::from)
}

/// A slot in which the handler leaves the reason it refused a key, so that
/// the caller can report it instead of russh's generic error.
pub(crate) type Refusal = Arc<Mutex<Option<Error>>>;

/// Takes the refusal out of the slot, if the handler left one.
pub(crate) fn take_refusal(slot: &Refusal) -> Option<Error> {
    slot.lock().ok().and_then(|mut refusal| refusal.take())
}
