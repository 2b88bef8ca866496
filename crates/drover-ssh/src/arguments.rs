//! The options of an `ssh` command line that drover's own client can
//! honour, read from Ansible's `ssh_args`, `ssh_common_args` and
//! `ssh_extra_args` (in `ansible.cfg`, or as host variables).

use std::path::PathBuf;
use std::time::Duration;

use crate::host_keys::HostKeyPolicy;

/// Options that change nothing for drover, because its client already
/// does what they ask: one connection per host held for the whole run
/// (`ControlMaster`, `ControlPersist`, `ControlPath`), and little data to
/// compress (`-C`, `Compression`).
const NEEDLESS_OPTIONS: [&str; 4] = [
    "controlmaster",
    "controlpersist",
    "controlpath",
    "compression",
];

/// What an ssh command line asks for, as far as drover can do it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SshArguments {
    /// `-l USER` or `-o User=`.
    pub user: Option<String>,
    /// `-p PORT` or `-o Port=`.
    pub port: Option<u16>,
    /// `-i FILE` or `-o IdentityFile=`.
    pub identity_file: Option<PathBuf>,
    /// `-J HOST` or `-o ProxyJump=`.
    pub proxy_jump: Option<String>,
    /// `-o StrictHostKeyChecking=`.
    pub host_key_policy: Option<HostKeyPolicy>,
    /// `-o UserKnownHostsFile=`.
    pub known_hosts: Option<PathBuf>,
    /// `-o ConnectTimeout=`.
    pub connect_timeout: Option<Duration>,
    /// `-F FILE`.
    pub config_file: Option<PathBuf>,
    /// Options drover cannot honour, as written, for a warning.
    pub ignored: Vec<String>,
}

impl SshArguments {
    /// Reads the options of one command line; later lines given to
    /// [`SshArguments::extend`] add to it.
    pub fn parse(line: &str) -> Self {
        let mut arguments = Self::default();
        arguments.extend(line);
        arguments
    }

    /// Reads the options of `line`, keeping those already set (ssh takes
    /// the first value it is given for an option).
    pub fn extend(&mut self, line: &str) {
        let Some(words) = shlex::split(line) else {
            self.ignored.push(line.to_owned());
            return;
        };
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            let (flag, attached) = match word.strip_prefix('-') {
                Some(rest) if !rest.is_empty() => rest.split_at(1),
                _ => {
                    self.ignored.push(word);
                    continue;
                }
            };
            let takes_value = matches!(flag, "o" | "J" | "i" | "p" | "l" | "F");
            let value = if !takes_value {
                None
            } else if attached.is_empty() {
                words.next()
            } else {
                Some(attached.to_owned())
            };
            match (flag, value) {
                ("o", Some(option)) => self.option(&option),
                ("J", Some(jump)) => self.option(&format!("ProxyJump={jump}")),
                ("i", Some(file)) => self.option(&format!("IdentityFile={file}")),
                ("p", Some(port)) => self.option(&format!("Port={port}")),
                ("l", Some(user)) => self.option(&format!("User={user}")),
                ("F", Some(file)) => {
                    self.config_file.get_or_insert(PathBuf::from(file));
                }
                ("C" | "q", None) if attached.is_empty() => {}
                _ => self.ignored.push(word),
            }
        }
    }

    /// One `-o Key=Value` (or `Key Value`).
    fn option(&mut self, option: &str) {
        let Some((key, value)) = option.split_once(['=', ' ']) else {
            self.ignored.push(format!("-o {option}"));
            return;
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim();
        let understood = match key.as_str() {
            "user" => set(&mut self.user, Some(value.to_owned())),
            "port" => set(&mut self.port, value.parse().ok()),
            "identityfile" => set(&mut self.identity_file, Some(PathBuf::from(value))),
            "proxyjump" => set(&mut self.proxy_jump, Some(value.to_owned())),
            "userknownhostsfile" => set(&mut self.known_hosts, Some(PathBuf::from(value))),
            "connecttimeout" => set(
                &mut self.connect_timeout,
                value.parse().ok().map(Duration::from_secs),
            ),
            "stricthostkeychecking" => set(&mut self.host_key_policy, host_key_policy(value)),
            needless if NEEDLESS_OPTIONS.contains(&needless) => true,
            _ => false,
        };
        if !understood {
            self.ignored.push(format!("-o {option}"));
        }
    }
}

/// Sets `slot` unless it is set already; whether `value` was understood.
fn set<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    let understood = value.is_some();
    if slot.is_none() {
        *slot = value;
    }
    understood
}

/// `StrictHostKeyChecking`'s words in drover's terms (`ask` cannot be
/// asked without a terminal per host, so it is strict, as in batch mode).
fn host_key_policy(value: &str) -> Option<HostKeyPolicy> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "ask" => Some(HostKeyPolicy::Strict),
        "accept-new" => Some(HostKeyPolicy::AcceptNew),
        "no" | "off" => Some(HostKeyPolicy::Off),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_drover_honours_are_read_and_the_rest_kept_for_a_warning() {
        let arguments = SshArguments::parse(
            "-C -o ControlMaster=auto -o ControlPersist=60s -oUser=ops -p 2222 \
             -o StrictHostKeyChecking=no -J jump@bastion -o ForwardAgent=yes -X",
        );
        assert_eq!(arguments.user.as_deref(), Some("ops"));
        assert_eq!(arguments.port, Some(2222));
        assert_eq!(arguments.host_key_policy, Some(HostKeyPolicy::Off));
        assert_eq!(arguments.proxy_jump.as_deref(), Some("jump@bastion"));
        assert_eq!(arguments.ignored, ["-o ForwardAgent=yes", "-X"]);
    }

    #[test]
    fn the_first_value_of_an_option_wins_as_in_ssh() {
        let mut arguments = SshArguments::parse("-o Port=2200");
        arguments.extend("-p 22 -o 'ConnectTimeout 7'");
        assert_eq!(arguments.port, Some(2200));
        assert_eq!(arguments.connect_timeout, Some(Duration::from_secs(7)));
    }
}
