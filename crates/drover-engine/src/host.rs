//! One host's state through a play.

use std::sync::Arc;

use drover_ssh::HostSession;

use crate::Vars;

/// Per-host counts, as `PLAY RECAP` prints them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tasks that changed nothing.
    pub ok: u32,
    /// Tasks that changed something.
    pub changed: u32,
    /// Connection failures.
    pub unreachable: u32,
    /// Failed tasks.
    pub failed: u32,
    /// Skipped tasks.
    pub skipped: u32,
    /// Failures rescued by a `rescue:` section.
    pub rescued: u32,
    /// Failures ignored by `ignore_errors`.
    pub ignored: u32,
}

/// A host as a play sees it.
pub(crate) struct HostState {
    pub(crate) name: String,
    pub(crate) session: Arc<HostSession>,
    /// The host's inventory variables (groups, group_vars, host_vars merged).
    pub(crate) inventory_vars: Arc<Vars>,
    /// Facts, `set_fact` results and registered results.
    pub(crate) facts: Vars,
    /// The host failed a task; it takes no further part in the play.
    pub(crate) failed: bool,
    /// The host could not be reached.
    pub(crate) unreachable: bool,
    /// `meta: end_host` or `end_play` stopped it.
    pub(crate) ended: bool,
    /// Handlers this host has notified and not yet run.
    pub(crate) notified: Vec<String>,
    /// Left out of the tasks being run for now (outside a block's `when`,
    /// not notifying a handler, not failing into `rescue`).
    pub(crate) paused: bool,
    /// Releases the `container` module made on this host in this play, in
    /// order: what a rollout's rollback undoes.
    pub(crate) deployed: Vec<Deployed>,
    /// A blue-green rollout's slots on this host.
    pub(crate) slots: Option<crate::slots::Slots>,
    /// Running the tasks in check mode, unreported, only to learn whether
    /// anything would change (a blue-green host already up to date).
    pub(crate) probing: bool,
    /// Something would change (set while probing).
    pub(crate) would_change: bool,
    /// A task changed something on this host in this play.
    pub(crate) changed: bool,
}

/// A release a task made, with the escalation it ran under.
#[derive(Debug, Clone)]
pub(crate) struct Deployed {
    pub(crate) release: serde_json::Value,
    pub(crate) become_user: Option<drover_ssh::Become>,
}

impl HostState {
    /// A host at the start of a play: no facts yet, nothing failed or notified.
    pub(crate) fn new(name: String, session: Arc<HostSession>, inventory_vars: Arc<Vars>) -> Self {
        Self {
            name,
            session,
            inventory_vars,
            facts: Vars::new(),
            failed: false,
            unreachable: false,
            ended: false,
            notified: Vec::new(),
            paused: false,
            deployed: Vec::new(),
            slots: None,
            probing: false,
            would_change: false,
            changed: false,
        }
    }

    /// Whether the host still takes part.
    pub(crate) fn active(&self) -> bool {
        !self.failed && !self.unreachable && !self.ended && !self.paused
    }
}
