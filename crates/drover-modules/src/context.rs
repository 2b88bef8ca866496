//! What a module runs with, and what it reports.

use std::path::PathBuf;

use drover_ssh::{Become, ExecOutput, ExecRequest, HostSession};
use drover_template::{Scope, Templar};
use serde_json::Value as Json;

use crate::Error;

/// Everything a module needs to act on one host.
pub struct ModuleContext<'a> {
    /// The host's session.
    pub session: &'a HostSession,
    /// `--check`: report what would change, change nothing.
    pub check_mode: bool,
    /// `--diff`: report changes as diffs.
    pub diff: bool,
    /// Privilege escalation for every command.
    pub become_user: Option<Become>,
    /// `environment:` for every command.
    pub environment: Vec<(String, String)>,
    /// Directories to find `src:` files and templates in, most specific first
    /// (the role's `files/` or `templates/`, the role, the playbook).
    pub search_paths: Vec<PathBuf>,
    /// For the `template` module and `assert`.
    pub templar: &'a Templar,
    /// The host's variables.
    pub scope: &'a Scope,
    /// The play's `rollout:` of a Swarm service, for the swarm modules.
    pub service_rollout: Option<std::sync::Arc<drover_playbook::Rollout>>,
}

impl ModuleContext<'_> {
    /// Runs a shell command line with the task's environment and escalation.
    pub async fn exec(
        &self,
        command: &str,
        stdin: Option<bytes::Bytes>,
    ) -> Result<ExecOutput, Error> {
        Ok(self.session.exec(&self.request(command, stdin)).await?)
    }

    /// Runs a command that changes nothing on the host; its output may
    /// come from a read-ahead ([`crate::read_ahead`]).
    pub(crate) async fn exec_read_only(&self, command: &str) -> Result<ExecOutput, Error> {
        Ok(self
            .session
            .exec_read_only(&self.request(command, None))
            .await?)
    }

    /// The request for `command`, with the task's environment and escalation.
    pub(crate) fn request(&self, command: &str, stdin: Option<bytes::Bytes>) -> ExecRequest {
        RequestShape {
            environment: self.environment.clone(),
            become_user: self.become_user.clone(),
        }
        .request(command, stdin)
    }

    /// How this context's requests are made, to make more later.
    pub(crate) fn request_shape(&self) -> RequestShape {
        RequestShape {
            environment: self.environment.clone(),
            become_user: self.become_user.clone(),
        }
    }

    /// Makes a change whose output matters only in whether it succeeded,
    /// and that touches the host only as `touched` says. Where the engine
    /// allows, it goes ahead of its result, with the host's next flight
    /// (see `drover_ssh`'s `deferred.rs`); a failure, now or then, is
    /// `failure`'s message for the change's output.
    pub(crate) async fn change(
        &self,
        request: &ExecRequest,
        touched: drover_ssh::Touched<'_>,
        failure: drover_ssh::Failure,
    ) -> Result<Result<(), String>, Error> {
        Ok(self.session.change(request, touched, failure).await?)
    }

    /// Finds a controller-side file among the search paths.
    pub fn find_file(&self, name: &str, kind: &str) -> Option<PathBuf> {
        let path = std::path::Path::new(name);
        if path.is_absolute() {
            return path.exists().then(|| path.to_path_buf());
        }
        self.search_paths
            .iter()
            .flat_map(|directory| [directory.join(kind).join(name), directory.join(name)])
            .find(|candidate| candidate.exists())
    }
}

/// A task's environment and escalation: what every request it sends has.
#[derive(Debug, Clone)]
pub(crate) struct RequestShape {
    environment: Vec<(String, String)>,
    become_user: Option<Become>,
}

impl RequestShape {
    /// The request for `command`.
    pub(crate) fn request(&self, command: &str, stdin: Option<bytes::Bytes>) -> ExecRequest {
        let mut line = String::new();
        if self.environment.is_empty() {
            line.push_str(command);
        } else {
            line.push_str("env");
            for (name, value) in &self.environment {
                line.push(' ');
                line.push_str(&drover_ssh::quote(&format!("{name}={value}")));
            }
            line.push_str(" /bin/sh -c ");
            line.push_str(&drover_ssh::quote(command));
        }
        ExecRequest {
            command: line,
            stdin,
            timeout: None,
            become_user: self.become_user.clone(),
            reuse_shell: true,
        }
    }
}

/// A change shown in diff mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// What it was (a file's content, or a state description).
    pub before: String,
    /// What it becomes.
    pub after: String,
    /// The label of the before side (usually the path).
    pub before_header: String,
    /// The label of the after side.
    pub after_header: String,
}

impl Diff {
    /// The before and after of one file (or thing), both sides labelled
    /// with its name.
    pub fn of_file(name: &str, before: String, after: String) -> Self {
        Self {
            before,
            after,
            before_header: name.to_owned(),
            after_header: name.to_owned(),
        }
    }

    /// A unified diff of the two sides.
    pub fn unified(&self) -> String {
        similar::TextDiff::from_lines(&self.before, &self.after)
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("before: {}", self.before_header),
                &format!("after: {}", self.after_header),
            )
            .to_string()
    }
}

/// What a module reports.
#[derive(Debug, Clone, Default)]
pub struct ModuleResult {
    /// Whether the host was (or, in check mode, would be) changed.
    pub changed: bool,
    /// Whether the module failed.
    pub failed: bool,
    /// Whether the module chose not to act (for example `creates` exists).
    pub skipped: bool,
    /// A message for the operator.
    pub message: Option<String>,
    /// Other return values (`rc`, `stdout`, `stat`, ...), as Ansible names them.
    pub values: serde_json::Map<String, Json>,
    /// The change, for diff mode.
    pub diff: Option<Diff>,
}

impl ModuleResult {
    /// Nothing changed.
    pub fn ok() -> Self {
        Self::default()
    }

    /// Something changed (or would).
    pub fn changed() -> Self {
        Self {
            changed: true,
            ..Self::default()
        }
    }

    /// The module failed with `message`.
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            failed: true,
            message: Some(message.into()),
            ..Self::default()
        }
    }

    /// Adds a return value.
    #[must_use]
    pub fn with(mut self, name: &str, value: impl Into<Json>) -> Self {
        self.values.insert(name.to_owned(), value.into());
        self
    }

    /// Adds a message.
    #[must_use]
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Adds a diff when `wanted`.
    #[must_use]
    pub fn with_diff(mut self, wanted: bool, diff: Diff) -> Self {
        if wanted {
            self.diff = Some(diff);
        }
        self
    }
}
