//! Which settings of Ansible's configuration drover reads, which it has
//! no need of, and the warning for every other one.

use drover_inventory::Warning;
use drover_ssh::SshArguments;

use super::{Gathering, Reader, Settings};
use crate::failure::Failure;

/// A setting: its place in `ansible.cfg` and its environment variable.
pub(super) struct Setting {
    pub(super) section: &'static str,
    pub(super) key: &'static str,
    pub(super) variable: Option<&'static str>,
}

const fn setting(section: &'static str, key: &'static str, variable: &'static str) -> Setting {
    Setting {
        section,
        key,
        variable: Some(variable),
    }
}

const INVENTORY: Setting = setting("defaults", "inventory", "ANSIBLE_INVENTORY");
const ROLES_PATH: Setting = setting("defaults", "roles_path", "ANSIBLE_ROLES_PATH");
const REMOTE_USER: Setting = setting("defaults", "remote_user", "ANSIBLE_REMOTE_USER");
const REMOTE_PORT: Setting = setting("defaults", "remote_port", "ANSIBLE_REMOTE_PORT");
const FORKS: Setting = setting("defaults", "forks", "ANSIBLE_FORKS");
const HOST_KEY_CHECKING: Setting =
    setting("defaults", "host_key_checking", "ANSIBLE_HOST_KEY_CHECKING");
const TIMEOUT: Setting = setting("defaults", "timeout", "ANSIBLE_TIMEOUT");
const PRIVATE_KEY_FILE: Setting =
    setting("defaults", "private_key_file", "ANSIBLE_PRIVATE_KEY_FILE");
/// Its variable is also read by the `--vault-password-file` flag itself,
/// so the file's value is taken only when the flag has none.
const VAULT_PASSWORD_FILE: Setting = setting(
    "defaults",
    "vault_password_file",
    "ANSIBLE_VAULT_PASSWORD_FILE",
);
const GATHERING: Setting = setting("defaults", "gathering", "ANSIBLE_GATHERING");
const RETRY_FILES_ENABLED: Setting = setting(
    "defaults",
    "retry_files_enabled",
    "ANSIBLE_RETRY_FILES_ENABLED",
);
const TRANSPORT: Setting = setting("defaults", "transport", "ANSIBLE_TRANSPORT");
const FORCE_HANDLERS: Setting = setting("defaults", "force_handlers", "ANSIBLE_FORCE_HANDLERS");
const ASK_PASS: Setting = setting("defaults", "ask_pass", "ANSIBLE_ASK_PASS");
const BECOME: Setting = setting("privilege_escalation", "become", "ANSIBLE_BECOME");
const BECOME_METHOD: Setting = setting(
    "privilege_escalation",
    "become_method",
    "ANSIBLE_BECOME_METHOD",
);
const BECOME_USER: Setting = setting("privilege_escalation", "become_user", "ANSIBLE_BECOME_USER");
const BECOME_ASK_PASS: Setting = setting(
    "privilege_escalation",
    "become_ask_pass",
    "ANSIBLE_BECOME_ASK_PASS",
);
const SSH_ARGS: Setting = setting("ssh_connection", "ssh_args", "ANSIBLE_SSH_ARGS");
const SSH_COMMON_ARGS: Setting = setting(
    "ssh_connection",
    "ssh_common_args",
    "ANSIBLE_SSH_COMMON_ARGS",
);
const SSH_EXTRA_ARGS: Setting =
    setting("ssh_connection", "ssh_extra_args", "ANSIBLE_SSH_EXTRA_ARGS");

/// drover's own: whether runs are recorded, where, and how many are kept
/// (see `crate::records`).
const RECORD: Setting = setting("drover", "record", "DROVER_RECORD");
const RECORD_DIR: Setting = setting("drover", "record_dir", "DROVER_RECORD_DIR");
const RUNS_KEPT: Setting = setting("drover", "runs_kept", "DROVER_RUNS_KEPT");

/// Every setting drover honours.
const HONOURED: [&Setting; 24] = [
    &INVENTORY,
    &ROLES_PATH,
    &REMOTE_USER,
    &REMOTE_PORT,
    &FORKS,
    &HOST_KEY_CHECKING,
    &TIMEOUT,
    &PRIVATE_KEY_FILE,
    &VAULT_PASSWORD_FILE,
    &GATHERING,
    &RETRY_FILES_ENABLED,
    &TRANSPORT,
    &FORCE_HANDLERS,
    &ASK_PASS,
    &BECOME,
    &BECOME_METHOD,
    &BECOME_USER,
    &BECOME_ASK_PASS,
    &SSH_ARGS,
    &SSH_COMMON_ARGS,
    &SSH_EXTRA_ARGS,
    &RECORD,
    &RECORD_DIR,
    &RUNS_KEPT,
];

/// Settings drover reads without a warning because it already does what
/// they ask, or has nothing they could change: `(section, key, variable)`.
const NEEDLESS: [(&str, &str, &str); 14] = [
    // No cows in drover's output.
    ("defaults", "nocows", "ANSIBLE_NOCOWS"),
    ("defaults", "cow_selection", "ANSIBLE_COW_SELECTION"),
    // drover needs no Python on hosts.
    (
        "defaults",
        "interpreter_python",
        "ANSIBLE_PYTHON_INTERPRETER",
    ),
    // drover leaves no module files on hosts.
    ("defaults", "remote_tmp", "ANSIBLE_REMOTE_TEMP"),
    ("defaults", "local_tmp", "ANSIBLE_LOCAL_TEMP"),
    // Messages about Ansible's own deprecations.
    (
        "defaults",
        "deprecation_warnings",
        "ANSIBLE_DEPRECATION_WARNINGS",
    ),
    ("defaults", "localhost_warning", "ANSIBLE_LOCALHOST_WARNING"),
    // drover keeps group names as written, as `ignore` and `never` do.
    (
        "defaults",
        "force_valid_group_names",
        "ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS",
    ),
    // One connection per host, held for the run, each task one script.
    ("ssh_connection", "pipelining", "ANSIBLE_PIPELINING"),
    ("ssh_connection", "control_path", "ANSIBLE_SSH_CONTROL_PATH"),
    (
        "ssh_connection",
        "control_path_dir",
        "ANSIBLE_SSH_CONTROL_PATH_DIR",
    ),
    // Files go over drover's own connection.
    ("ssh_connection", "scp_if_ssh", "ANSIBLE_SCP_IF_SSH"),
    (
        "ssh_connection",
        "transfer_method",
        "ANSIBLE_SSH_TRANSFER_METHOD",
    ),
    // The prompt's wording.
    (
        "privilege_escalation",
        "agnostic_become_prompt",
        "ANSIBLE_AGNOSTIC_BECOME_PROMPT",
    ),
];

/// Variables that are not settings, or that a flag reads itself.
/// `ANSIBLE_NOCOLOR` is read where colour is chosen
/// ([`crate::diagnostics::colour_allowed`]), before any configuration is.
const OTHER_VARIABLES: [&str; 3] = ["ANSIBLE_CONFIG", "ANSIBLE_HOME", "ANSIBLE_NOCOLOR"];

const HINT: &str = "see the ansible.cfg table in docs/coming-from-ansible.md for what drover reads";

impl Reader<'_> {
    /// A warning for each setting in the file or the environment that
    /// drover cannot honour, and for each option of `ssh` (the settings'
    /// ssh arguments, read once) that it cannot.
    pub(super) fn unhonoured(&self, ssh: &SshArguments) -> Vec<Warning> {
        let mut warnings = Vec::new();
        let known = |section: &str, key: &str| {
            HONOURED
                .iter()
                .any(|setting| setting.section == section && setting.key == key)
                || NEEDLESS.iter().any(|(s, k, _)| *s == section && *k == key)
        };
        for entry in self.file.map_or(&[][..], |file| &file.entries[..]) {
            if !known(&entry.section, &entry.key) {
                warnings.push(Warning {
                    location: Some(entry.location.clone()),
                    message: format!(
                        "drover does not honour `[{}] {}`; it is ignored\nhint: {HINT}",
                        entry.section, entry.key
                    ),
                });
            }
        }
        for (name, _) in std::env::vars() {
            let known = name.starts_with("ANSIBLE_")
                && (OTHER_VARIABLES.contains(&name.as_str())
                    || HONOURED
                        .iter()
                        .any(|setting| setting.variable == Some(name.as_str()))
                    || NEEDLESS.iter().any(|(_, _, variable)| *variable == name));
            if name.starts_with("ANSIBLE_") && !known {
                warnings.push(Warning {
                    location: None,
                    message: format!("drover does not honour ${name}; it is ignored\nhint: {HINT}"),
                });
            }
        }
        for ignored in &ssh.ignored {
            warnings.push(Warning {
                location: self.location_of(&SSH_ARGS),
                message: format!(
                    "drover's ssh client cannot honour `{ignored}` from the ssh arguments; it is ignored\n\
                     hint: drover honours -o User, Port, IdentityFile, ProxyJump, \
                     StrictHostKeyChecking, UserKnownHostsFile and ConnectTimeout, -J, -i, -p, -l and -F"
                ),
            });
        }
        warnings
    }

    fn location_of(&self, setting: &Setting) -> Option<drover_inventory::SourceLocation> {
        match self.find(setting)?.origin {
            super::Origin::File(location) => Some(location),
            super::Origin::Environment(_) => None,
        }
    }

    /// `ssh_args`, then `ssh_common_args`, then `ssh_extra_args`.
    fn ssh_arguments(&self) -> SshArguments {
        let mut arguments = SshArguments::default();
        for setting in [&SSH_ARGS, &SSH_COMMON_ARGS, &SSH_EXTRA_ARGS] {
            if let Some(line) = self.text(setting) {
                arguments.extend(&line);
            }
        }
        arguments
    }

    /// A word out of `allowed`; any other is refused, since drover could
    /// only do something else than asked.
    fn choice(&self, setting: &Setting, allowed: &[&str]) -> Result<Option<String>, Failure> {
        let Some(found) = self.find(setting) else {
            return Ok(None);
        };
        let word = found.text.trim();
        if allowed.contains(&word) {
            return Ok(Some(word.to_owned()));
        }
        Err(super::invalid(
            &found,
            setting,
            word,
            &format!("one of {}", allowed.join(", ")),
        ))
    }

    /// Every honoured setting, typed.
    pub(super) fn settings(&self) -> Result<Settings, Failure> {
        let gathering = match self
            .choice(&GATHERING, &["implicit", "explicit", "smart"])?
            .as_deref()
        {
            Some("explicit") => Gathering::Explicit,
            // `smart` gathers what is not cached; drover caches nothing.
            _ => Gathering::Implicit,
        };
        Ok(Settings {
            file: self.file.map(|file| file.path.clone()),
            inventory: (self.paths(&INVENTORY, ','))
                .into_iter()
                .map(|path| path.display().to_string())
                .collect(),
            roles_path: self.paths(&ROLES_PATH, ':'),
            remote_user: self.text(&REMOTE_USER),
            remote_port: self.number(&REMOTE_PORT)?,
            forks: self.number(&FORKS)?,
            host_key_checking: self.boolean(&HOST_KEY_CHECKING)?,
            timeout: self.number(&TIMEOUT)?,
            private_key_file: self.path(&PRIVATE_KEY_FILE),
            vault_password_file: self.path(&VAULT_PASSWORD_FILE),
            gathering,
            retry_files_enabled: self.boolean(&RETRY_FILES_ENABLED)?.unwrap_or(false),
            transport: self.choice(&TRANSPORT, &["ssh", "smart", "paramiko", "local"])?,
            force_handlers: self.boolean(&FORCE_HANDLERS)?.unwrap_or(false),
            ask_pass: self.boolean(&ASK_PASS)?.unwrap_or(false),
            become_root: self.boolean(&BECOME)?.unwrap_or(false),
            become_method: self.choice(&BECOME_METHOD, &["sudo", "su"])?,
            become_user: self.text(&BECOME_USER),
            become_ask_pass: self.boolean(&BECOME_ASK_PASS)?.unwrap_or(false),
            ssh: self.ssh_arguments(),
            record: self.boolean(&RECORD)?,
            record_dir: self.path(&RECORD_DIR),
            runs_kept: self.number(&RUNS_KEPT)?,
        })
    }
}
