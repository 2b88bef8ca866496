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
    /// Whether it takes part, and if not, why.
    pub(crate) participation: Participation,
    /// Handlers this host has notified and not yet run.
    pub(crate) notified: Vec<String>,
    /// Releases the `container` module made on this host in this play, in
    /// order: what a rollout's rollback undoes.
    pub(crate) deployed: Vec<Deployed>,
    /// A blue-green rollout's slots on this host.
    pub(crate) slots: Option<crate::slots::Slots>,
    /// Running the tasks in check mode, unreported, only to learn whether
    /// anything would change (a blue-green host already up to date).
    pub(crate) probe: Option<Probe>,
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
    /// A host at the start of a play: nothing failed or notified, and no
    /// facts yet but `ansible_facts`, which Ansible defines (empty) before
    /// any are gathered.
    pub(crate) fn new(name: String, session: Arc<HostSession>, inventory_vars: Arc<Vars>) -> Self {
        let mut facts = Vars::new();
        facts.insert(
            "ansible_facts".to_owned(),
            serde_json::Value::Object(Vars::new()),
        );
        Self {
            name,
            session,
            inventory_vars,
            facts,
            participation: Participation::Active,
            notified: Vec::new(),
            deployed: Vec::new(),
            slots: None,
            probe: None,
            changed: false,
        }
    }

    /// Whether the host runs the next task.
    pub(crate) fn active(&self) -> bool {
        self.participation == Participation::Active
    }

    /// Whether it failed a task (and was not rescued).
    pub(crate) fn failed(&self) -> bool {
        self.participation == Participation::Failed
    }

    /// Whether it could not be reached.
    pub(crate) fn unreachable(&self) -> bool {
        self.participation == Participation::Unreachable
    }

    /// Whether it failed or could not be reached: what counts against a
    /// batch's failure budget.
    pub(crate) fn lost(&self) -> bool {
        self.failed() || self.unreachable()
    }

    /// Takes it back into the play for tasks that run whatever happened
    /// before (`always`, a rollback, a switch back), unless it cannot be
    /// reached; returns where it stood, for [`HostState::settle`].
    pub(crate) fn revive(&mut self) -> Participation {
        let before = self.participation;
        if before != Participation::Unreachable {
            self.participation = Participation::Active;
        }
        before
    }

    /// After [`HostState::revive`]: a host that was out before stays out
    /// for the reason it was; one that was in keeps what happened since.
    pub(crate) fn settle(&mut self, before: Participation) {
        if before != Participation::Active {
            self.participation = before;
        }
    }
}

/// Where a host stands in a play. Paused hosts come back; the others are
/// out for the rest of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Participation {
    /// It runs the next task.
    Active,
    /// Left out of the tasks being run for now (outside a block's `when`,
    /// not notifying a handler, not failing into `rescue`).
    Paused,
    /// It failed a task.
    Failed,
    /// It could not be reached.
    Unreachable,
    /// `meta: end_host` or `end_play`, a fatal failure on another host, or
    /// a blue-green host already up to date stopped it.
    Ended,
}

/// A host running the tasks only to learn whether anything would change.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Probe {
    /// Some task would change something, fail, or not reach the host.
    pub(crate) would_change: bool,
}
