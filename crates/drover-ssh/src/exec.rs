//! What a command is, how privilege escalation wraps it, and what comes back.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use crate::error::Error;

/// A secret (a password) that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value, and remembers it so that output masks it
    /// wherever it would be printed (a task that echoes it, an error).
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        drover_vault::remember(&value);
        Self(value)
    }

    /// The secret itself; call only where it is sent, never where it is shown.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(********)")
    }
}

/// How to become another user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BecomeMethod {
    /// `sudo`, reading a password from stdin when one is given.
    Sudo,
    /// `su`, without a password (it can only read one from a terminal).
    Su,
}

/// Privilege escalation for a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    /// sudo or su.
    pub method: BecomeMethod,
    /// The user to become (Ansible's default is `root`).
    pub user: String,
    /// The password for sudo, if it needs one.
    pub password: Option<Secret>,
}

/// One command to run on a host.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    /// A shell command line, run by the login shell (or `/bin/sh` locally).
    pub command: String,
    /// Bytes to feed to the command's standard input, then end of file.
    pub stdin: Option<Bytes>,
    /// Give up (and report a timeout) after this long.
    pub timeout: Option<Duration>,
    /// Run as another user.
    pub become_user: Option<Become>,
    /// May run in the connection's long-lived shell, which is much cheaper
    /// per command. Only for commands without stdin whose output is text
    /// (no NUL bytes); modules ask for it, raw transfers do not.
    pub reuse_shell: bool,
}

impl ExecRequest {
    /// A request to run `command` with no input, timeout or escalation.
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            ..Self::default()
        }
    }

    /// The command line and stdin actually sent, with escalation applied.
    ///
    /// sudo reads its password from the first line of stdin (`-S`) with an
    /// empty prompt, so that the password never appears on a command line or
    /// in output; without a password, `-n` makes a missing one an error
    /// instead of a hang.
    pub(crate) fn wire_form(&self) -> Result<(String, Option<Bytes>), Error> {
        let Some(escalation) = &self.become_user else {
            return Ok((self.command.clone(), self.stdin.clone()));
        };
        let user = quote(&escalation.user);
        let inner = quote(&self.command);
        match (escalation.method, &escalation.password) {
            (BecomeMethod::Sudo, None) => Ok((
                format!("sudo -H -n -u {user} -- /bin/sh -c {inner}"),
                self.stdin.clone(),
            )),
            (BecomeMethod::Sudo, Some(password)) => {
                let mut input = Vec::with_capacity(password.expose().len() + 1);
                input.extend_from_slice(password.expose().as_bytes());
                input.push(b'\n');
                if let Some(stdin) = &self.stdin {
                    input.extend_from_slice(stdin);
                }
                Ok((
                    format!("sudo -H -S -p '' -u {user} -- /bin/sh -c {inner}"),
                    Some(Bytes::from(input)),
                ))
            }
            (BecomeMethod::Su, None) => Ok((
                format!("su -s /bin/sh {user} -c {inner}"),
                self.stdin.clone(),
            )),
            (BecomeMethod::Su, Some(_)) => Err(Error::Unsupported(
                "`su` with a password needs a terminal; use `become_method: sudo`".to_owned(),
            )),
        }
    }
}

/// Quotes one word for a POSIX shell.
pub fn quote(word: &str) -> String {
    shlex::try_quote(word).map_or_else(
        // Only a NUL byte cannot be quoted; it cannot be in a command either.
        |_| "''".to_owned(),
        std::borrow::Cow::into_owned,
    )
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit status, or `None` when the command was killed by a signal or timed out.
    pub exit_status: Option<u32>,
    /// The signal that ended it, if one did.
    pub signal: Option<String>,
    /// Everything written to standard output.
    pub stdout: Vec<u8>,
    /// Everything written to standard error.
    pub stderr: Vec<u8>,
    /// True when the timeout cut the command off.
    pub timed_out: bool,
}

impl ExecOutput {
    /// True when the command exited with status 0.
    pub fn success(&self) -> bool {
        self.exit_status == Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_with_a_password_reads_it_from_stdin() {
        let request = ExecRequest {
            command: "id -u; cat".to_owned(),
            stdin: Some(Bytes::from_static(b"data")),
            become_user: Some(Become {
                method: BecomeMethod::Sudo,
                user: "root".to_owned(),
                password: Some(Secret::new("hunter2")),
            }),
            ..ExecRequest::default()
        };
        let (command, stdin) = request.wire_form().unwrap();
        assert_eq!(
            command,
            "sudo -H -S -p '' -u root -- /bin/sh -c 'id -u; cat'"
        );
        assert!(!command.contains("hunter2"));
        assert_eq!(stdin.unwrap(), Bytes::from_static(b"hunter2\ndata"));
    }

    #[test]
    fn sudo_without_a_password_never_prompts() {
        let request = ExecRequest {
            become_user: Some(Become {
                method: BecomeMethod::Sudo,
                user: "app user".to_owned(),
                password: None,
            }),
            ..ExecRequest::new("echo $HOME")
        };
        let (command, _) = request.wire_form().unwrap();
        assert_eq!(
            command,
            "sudo -H -n -u 'app user' -- /bin/sh -c 'echo $HOME'"
        );
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("pw")), "Secret(********)");
    }
}
