//! Changes sent ahead of their results.
//!
//! Over a slow network, a task that changes a file costs a round trip only
//! to learn that the change worked: its module already knew what to do
//! from answers read ahead (`read_ahead.rs`), and what it reports does not
//! depend on the change's output, only on its success. When the engine
//! allows it for a task ([`crate::HostSession::send_ahead`]), such a change
//! is queued instead, and goes to the host at the start of the host's next
//! flight, before that flight's own command. The task's result is then
//! provisional: the engine holds it back until the flight has come back.
//!
//! On the host, the queued changes run in order, each guarded: once one
//! fails, nothing after it in the flight runs, so no later task acts on a
//! host its predecessor left half done. The failure is kept, with the tag
//! of the task that queued it, for the engine to report as that task's;
//! the results of the tasks after it are dropped, as if they never ran,
//! which on the host they did not.

use crate::exec::{ExecOutput, ExecRequest};

/// Turns the output of a change that failed into its task's failure
/// message, as the module would have reported it had it waited.
pub type Failure = Box<dyn FnOnce(&ExecOutput) -> String + Send>;

/// A change sent ahead that failed, or whose flight was lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredFailure {
    /// The tag of the task that queued it ([`crate::HostSession::send_ahead`]).
    pub tag: u64,
    /// What the task reports.
    pub message: String,
    /// The connection was lost: the host is unreachable, not failed.
    pub unreachable: bool,
}

/// A queued change.
pub(crate) struct Deferred {
    pub(crate) request: ExecRequest,
    pub(crate) failure: Failure,
    pub(crate) tag: u64,
}

/// A session's queue of changes sent ahead.
#[derive(Default)]
pub(crate) struct Queue {
    /// The tag changes are queued under now; `None`: they run at once.
    pub(crate) tag: Option<u64>,
    pub(crate) pending: Vec<Deferred>,
    /// The first change that failed, until the engine takes it.
    pub(crate) failure: Option<DeferredFailure>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Queue")
            .field("tag", &self.tag)
            .field("pending", &self.pending.len())
            .field("failure", &self.failure)
            .finish()
    }
}

/// Whether `request` may be queued: it goes through the long-lived shell
/// (nothing on its standard input, not even a become password) and has no
/// timeout of its own.
pub(crate) fn may_go_ahead(request: &ExecRequest) -> bool {
    request.reuse_shell
        && request.timeout.is_none()
        && request.wire_form().is_ok_and(|(_, stdin)| stdin.is_none())
}

/// Settles the changes `sent` in a flight from their `outputs` (fewer when
/// the flight stopped early): the failure of the first that failed, if any.
pub(crate) fn settle(sent: Vec<Deferred>, outputs: &[ExecOutput]) -> Option<DeferredFailure> {
    for (index, deferred) in sent.into_iter().enumerate() {
        let failed = outputs.get(index).is_none_or(|output| !output.success());
        if failed {
            let output = outputs.get(index).cloned().unwrap_or_default();
            return Some(DeferredFailure {
                tag: deferred.tag,
                message: (deferred.failure)(&output),
                unreachable: false,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(tag: u64) -> Deferred {
        Deferred {
            request: ExecRequest::new("true"),
            failure: Box::new(move |output: &ExecOutput| {
                format!(
                    "change {tag} failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                )
            }),
            tag,
        }
    }

    fn status(code: u32, stderr: &str) -> ExecOutput {
        ExecOutput {
            exit_status: Some(code),
            stderr: stderr.as_bytes().to_vec(),
            ..ExecOutput::default()
        }
    }

    #[test]
    fn issue_18_the_first_failed_change_is_its_tasks_failure() {
        let outputs = [status(0, ""), status(1, "denied"), status(0, "")];
        let failure = settle(vec![change(4), change(5), change(6)], &outputs);
        assert_eq!(
            failure,
            Some(DeferredFailure {
                tag: 5,
                message: "change 5 failed: denied".to_owned(),
                unreachable: false,
            })
        );
        assert_eq!(settle(vec![change(4)], &[status(0, "")]), None);
    }

    #[test]
    fn issue_18_a_change_without_an_output_did_not_succeed() {
        let failure = settle(vec![change(1), change(2)], &[status(0, "")]);
        assert_eq!(failure.map(|failure| failure.tag), Some(2));
    }

    #[test]
    fn issue_18_only_shell_requests_without_timeouts_go_ahead() {
        let mut request = ExecRequest::new("true");
        request.reuse_shell = true;
        assert!(may_go_ahead(&request));
        request.timeout = Some(std::time::Duration::from_secs(1));
        assert!(!may_go_ahead(&request));
        request.timeout = None;
        request.stdin = Some(bytes::Bytes::from_static(b"x"));
        assert!(!may_go_ahead(&request));
    }

    /// Found by the full hosts' sudo-password step: the password goes on
    /// standard input, which a change sent ahead does not have.
    #[test]
    fn issue_18_a_change_with_a_become_password_does_not_go_ahead() {
        let mut request = ExecRequest::new("true");
        request.reuse_shell = true;
        request.become_user = Some(crate::Become {
            user: "root".to_owned(),
            method: crate::BecomeMethod::Sudo,
            password: Some(crate::Secret::new("secret")),
        });
        assert!(!may_go_ahead(&request));
    }
}
