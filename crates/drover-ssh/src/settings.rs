//! Working out how to reach a host from its inventory variables, the
//! command line and `~/.ssh/config`, with Ansible's variable names.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};
use ssh2_config::{ParseRule, SshConfig};

use crate::exec::{Become, BecomeMethod, Secret};
use crate::host_keys::{HostKeyCheck, home_directory};
use crate::session::Transport;
use crate::ssh::SshSettings;

/// Settings that come from the command line and apply to every host.
#[derive(Debug, Clone)]
pub struct ConnectionDefaults {
    /// `-u`: the remote user when the inventory names none.
    pub user: Option<String>,
    /// `--private-key`: tried before the default keys.
    pub private_key: Option<PathBuf>,
    /// The limit for connecting and authenticating.
    pub connect_timeout: Duration,
    /// Host-key checking.
    pub host_keys: HostKeyCheck,
    /// The parsed `~/.ssh/config`, if there is one.
    pub ssh_config: Option<SshConfig>,
    /// `-c`: the connection type (`ssh` or `local`) when the inventory names none.
    pub connection: Option<String>,
    /// The port when neither the inventory nor `~/.ssh/config` names one
    /// (`remote_port`, or `-p` in `ssh_args`).
    pub port: Option<u16>,
    /// A jump host for hosts that name none (`-J` in `ssh_args`).
    pub jump: Option<String>,
    /// `-k`: the SSH password when the inventory gives none.
    pub password: Option<Secret>,
}

impl Default for ConnectionDefaults {
    /// OpenSSH's behaviour: strict host keys against `~/.ssh/known_hosts`,
    /// ten seconds to connect, nothing else preset.
    fn default() -> Self {
        Self {
            user: None,
            private_key: None,
            connect_timeout: Duration::from_secs(10),
            host_keys: HostKeyCheck {
                policy: crate::HostKeyPolicy::Strict,
                known_hosts: crate::default_known_hosts(),
            },
            ssh_config: None,
            connection: None,
            port: None,
            jump: None,
            password: None,
        }
    }
}

impl ConnectionDefaults {
    /// Reads `~/.ssh/config` when it exists; a malformed one is ignored with a warning.
    pub fn load_ssh_config(path: Option<&Path>) -> Option<SshConfig> {
        let path = path.map_or_else(
            || home_directory().join(".ssh").join("config"),
            Path::to_path_buf,
        );
        let file = std::fs::File::open(&path).ok()?;
        let mut reader = std::io::BufReader::new(file);
        match SshConfig::default().parse(&mut reader, ParseRule::ALLOW_UNKNOWN_FIELDS) {
            Ok(config) => Some(config),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "ignoring unreadable ssh config");
                None
            }
        }
    }
}

fn text(vars: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| match vars.get(*name)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    })
}

fn flag(vars: &Map<String, Value>, name: &str) -> bool {
    match vars.get(name) {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => {
            matches!(
                text.to_ascii_lowercase().as_str(),
                "yes" | "true" | "on" | "1" | "y"
            )
        }
        Some(Value::Number(number)) => number.as_i64().is_some_and(|n| n != 0),
        _ => false,
    }
}

/// The transport for host `name` with merged variables `vars`.
pub fn transport_for(
    name: &str,
    vars: &Map<String, Value>,
    defaults: &ConnectionDefaults,
) -> Transport {
    let connection = text(vars, &["ansible_connection"]).or_else(|| {
        // An implicit localhost stays local whatever `-c` says, as in Ansible.
        let implicit = crate::LOCALHOST_NAMES.contains(&name) && !vars.contains_key("ansible_host");
        defaults.connection.clone().filter(|_| !implicit)
    });
    let is_local = match connection.as_deref() {
        Some("local") => true,
        Some(_) => false,
        None => crate::LOCALHOST_NAMES.contains(&name) && !vars.contains_key("ansible_host"),
    };
    if is_local {
        return Transport::Local;
    }
    Transport::Ssh(ssh_settings(name, vars, defaults))
}

fn ssh_settings(
    name: &str,
    vars: &Map<String, Value>,
    defaults: &ConnectionDefaults,
) -> SshSettings {
    let alias =
        text(vars, &["ansible_host", "ansible_ssh_host"]).unwrap_or_else(|| name.to_owned());
    let config = defaults
        .ssh_config
        .as_ref()
        .map(|config| config.query(&alias));
    let address = config
        .as_ref()
        .and_then(|params| params.host_name.clone())
        .unwrap_or_else(|| alias.clone());
    let port = text(vars, &["ansible_port", "ansible_ssh_port"])
        .and_then(|port| port.parse().ok())
        .or_else(|| config.as_ref().and_then(|params| params.port))
        .or(defaults.port)
        .unwrap_or(22);
    let user = text(vars, &["ansible_user", "ansible_ssh_user"])
        .or_else(|| defaults.user.clone())
        .or_else(|| config.as_ref().and_then(|params| params.user.clone()))
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "root".to_owned());
    let identity_files = identity_files(vars, defaults, config.as_ref());
    let jump = proxy_jump(vars)
        .or_else(|| {
            config
                .as_ref()
                .and_then(|params| params.proxy_jump.as_ref()?.first().cloned())
        })
        .or_else(|| defaults.jump.clone())
        .filter(|jump| !jump.eq_ignore_ascii_case("none"))
        .map(|jump| Box::new(jump_settings(&jump, defaults)));
    SshSettings {
        address,
        port,
        user,
        identity_files,
        use_agent: true,
        password: text(
            vars,
            &[
                "ansible_password",
                "ansible_ssh_pass",
                "ansible_ssh_password",
            ],
        )
        .map(Secret::new)
        .or_else(|| defaults.password.clone()),
        jump,
        connect_timeout: text(vars, &["ansible_timeout", "ansible_ssh_timeout"])
            .and_then(|seconds| seconds.parse().ok())
            .map_or(defaults.connect_timeout, Duration::from_secs),
        host_keys: defaults.host_keys.clone(),
    }
}

/// The keys to offer, in order: `--private-key`, the host's
/// `ansible_ssh_private_key_file`, `IdentityFile` from `~/.ssh/config`,
/// then OpenSSH's default key files.
fn identity_files(
    vars: &Map<String, Value>,
    defaults: &ConnectionDefaults,
    config: Option<&ssh2_config::HostParams>,
) -> Vec<PathBuf> {
    let mut files = Vec::new();
    files.extend(defaults.private_key.clone());
    files.extend(
        text(
            vars,
            &["ansible_ssh_private_key_file", "ansible_private_key_file"],
        )
        .map(|path| expand_home(&path)),
    );
    if let Some(configured) = config.and_then(|params| params.identity_file.clone()) {
        files.extend(configured);
    }
    let ssh_directory = home_directory().join(".ssh");
    for default in ["id_ed25519", "id_ecdsa", "id_rsa"] {
        files.push(ssh_directory.join(default));
    }
    files
}

/// `-J host` or `-o ProxyJump=host` in `ansible_ssh_common_args`/`ansible_ssh_extra_args`.
fn proxy_jump(vars: &Map<String, Value>) -> Option<String> {
    let mut arguments = crate::SshArguments::default();
    for name in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
        if let Some(line) = text(vars, &[name]) {
            arguments.extend(&line);
        }
    }
    arguments.proxy_jump
}

/// `[user@]host[:port]`, completed from `~/.ssh/config`.
fn jump_settings(jump: &str, defaults: &ConnectionDefaults) -> SshSettings {
    let (user, rest) = match jump.split_once('@') {
        Some((user, rest)) => (Some(user.to_owned()), rest),
        None => (None, jump),
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => (host, port.parse::<u16>().ok()),
        _ => (rest, None),
    };
    let mut vars = Map::new();
    vars.insert("ansible_host".to_owned(), Value::from(host));
    if let Some(port) = port {
        vars.insert("ansible_port".to_owned(), Value::from(port));
    }
    if let Some(user) = user {
        vars.insert("ansible_user".to_owned(), Value::from(user));
    }
    ssh_settings(host, &vars, defaults)
}

/// `~/` at the start of `path` as the home directory, as drover reads
/// every path that Ansible expands (key files, `ansible.cfg`'s paths).
pub fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home_directory().join(rest),
        None => PathBuf::from(path),
    }
}

/// Privilege escalation from Ansible's `ansible_become*` variables and the command line.
pub fn become_for(vars: &Map<String, Value>, forced: bool, user: Option<&str>) -> Option<Become> {
    if !forced && !flag(vars, "ansible_become") {
        return None;
    }
    let method = match text(vars, &["ansible_become_method"]).as_deref() {
        Some("su") => BecomeMethod::Su,
        _ => BecomeMethod::Sudo,
    };
    Some(Become {
        method,
        user: user
            .map(str::to_owned)
            .or_else(|| text(vars, &["ansible_become_user"]))
            .unwrap_or_else(|| "root".to_owned()),
        password: text(vars, &["ansible_become_password", "ansible_become_pass"]).map(Secret::new),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host_keys::HostKeyPolicy;
    use serde_json::json;

    fn defaults() -> ConnectionDefaults {
        ConnectionDefaults {
            user: Some("cli".to_owned()),
            private_key: None,
            connect_timeout: Duration::from_secs(10),
            host_keys: HostKeyCheck {
                policy: HostKeyPolicy::Strict,
                known_hosts: PathBuf::from("/dev/null"),
            },
            ..ConnectionDefaults::default()
        }
    }

    fn vars(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else {
            panic!("not an object")
        };
        map
    }

    #[test]
    fn ansible_variables_win_over_the_command_line() {
        let Transport::Ssh(settings) = transport_for(
            "web1",
            &vars(
                json!({"ansible_host": "10.0.0.5", "ansible_port": 2222, "ansible_user": "deploy"}),
            ),
            &defaults(),
        ) else {
            panic!("expected ssh")
        };
        assert_eq!(
            (
                settings.address.as_str(),
                settings.port,
                settings.user.as_str()
            ),
            ("10.0.0.5", 2222, "deploy")
        );
        let Transport::Ssh(settings) = transport_for("web2", &Map::new(), &defaults()) else {
            panic!("expected ssh")
        };
        assert_eq!(
            (
                settings.address.as_str(),
                settings.port,
                settings.user.as_str()
            ),
            ("web2", 22, "cli")
        );
    }

    #[test]
    fn localhost_and_local_connections_are_local() {
        assert!(matches!(
            transport_for("localhost", &Map::new(), &defaults()),
            Transport::Local
        ));
        assert!(matches!(
            transport_for(
                "db",
                &vars(json!({"ansible_connection": "local"})),
                &defaults()
            ),
            Transport::Local
        ));
    }

    #[test]
    fn proxy_jump_comes_from_ssh_arguments() {
        let Transport::Ssh(settings) = transport_for(
            "inner",
            &vars(json!({"ansible_ssh_common_args": "-o ProxyJump=ops@bastion:2200"})),
            &defaults(),
        ) else {
            panic!("expected ssh")
        };
        let jump = settings.jump.unwrap();
        assert_eq!(
            (jump.address.as_str(), jump.port, jump.user.as_str()),
            ("bastion", 2200, "ops")
        );
    }

    #[test]
    fn become_reads_ansible_variables() {
        let escalation = become_for(
            &vars(json!({"ansible_become": "yes", "ansible_become_pass": "pw"})),
            false,
            None,
        )
        .unwrap();
        assert_eq!(escalation.user, "root");
        assert_eq!(escalation.password.unwrap().expose(), "pw");
        assert!(become_for(&Map::new(), false, None).is_none());
    }
}
