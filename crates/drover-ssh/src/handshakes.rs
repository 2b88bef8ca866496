//! Pacing SSH handshakes per server.
//!
//! sshd's `MaxStartups` (10:30:100 by default) counts the unauthenticated
//! connections to one server and starts dropping new ones beyond the first
//! number. That limit belongs to each server, not to the controller: a
//! hundred hosts are a hundred budgets, and pacing them all through one
//! shared limit spreads a fleet's connection starts over many round trips
//! for nothing. What does share one server's budget is every host reached
//! through the same `ProxyJump` bastion: each of them first opens a
//! connection to the bastion's sshd. So the budget is kept per first hop,
//! the endpoint the controller actually dials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;

use crate::ssh::SshSettings;

/// How many SSH handshakes to have in flight at once to one server. sshd's
/// default `MaxStartups 10:30:100` starts dropping connections at 10
/// unauthenticated ones; staying under it means no host fails for our haste.
pub const HANDSHAKES_IN_FLIGHT: usize = 8;

/// One handshake budget per endpoint dialled, shared by every session that
/// holds a clone.
#[derive(Debug, Clone)]
pub struct Handshakes {
    per_endpoint: usize,
    budgets: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl Default for Handshakes {
    fn default() -> Self {
        Self::new(HANDSHAKES_IN_FLIGHT)
    }
}

impl Handshakes {
    /// Budgets of `per_endpoint` handshakes in flight to each server.
    pub fn new(per_endpoint: usize) -> Self {
        Self {
            per_endpoint: per_endpoint.max(1),
            budgets: Arc::default(),
        }
    }

    /// The budget that connecting with `settings` draws from: that of the
    /// first hop (the outermost jump host, or the host itself).
    pub(crate) fn budget(&self, settings: &SshSettings) -> Arc<Semaphore> {
        let endpoint = first_hop(settings).label();
        let mut budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        budgets
            .entry(endpoint)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_endpoint)))
            .clone()
    }
}

/// The server the controller dials to reach `settings`' host.
fn first_hop(settings: &SshSettings) -> &SshSettings {
    let mut hop = settings;
    while let Some(jump) = &hop.jump {
        hop = jump;
    }
    hop
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(address: &str, jump: Option<SshSettings>) -> SshSettings {
        SshSettings {
            address: address.to_owned(),
            port: 22,
            user: "root".to_owned(),
            identity_files: Vec::new(),
            use_agent: false,
            password: None,
            jump: jump.map(Box::new),
            connect_timeout: std::time::Duration::from_secs(10),
            host_keys: crate::HostKeyCheck {
                policy: crate::HostKeyPolicy::Off,
                known_hosts: std::path::PathBuf::new(),
            },
        }
    }

    #[test]
    fn issue_18_each_server_has_its_own_budget() {
        let handshakes = Handshakes::new(2);
        let one = handshakes.budget(&settings("10.0.0.1", None));
        let two = handshakes.budget(&settings("10.0.0.2", None));
        assert!(!Arc::ptr_eq(&one, &two));
        assert!(Arc::ptr_eq(
            &one,
            &handshakes.budget(&settings("10.0.0.1", None))
        ));
        assert_eq!(one.available_permits(), 2);
    }

    #[test]
    fn issue_18_hosts_behind_one_bastion_share_its_budget() {
        let handshakes = Handshakes::new(8);
        let bastion = || Some(settings("bastion", None));
        let one = handshakes.budget(&settings("10.0.0.1", bastion()));
        let two = handshakes.budget(&settings("10.0.0.2", bastion()));
        assert!(Arc::ptr_eq(&one, &two));
        assert!(Arc::ptr_eq(
            &one,
            &handshakes.budget(&settings("bastion", None))
        ));
    }
}
