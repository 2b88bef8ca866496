//! drover's engine: runs a validated playbook across hosts.
//!
//! The linear strategy runs each task on every host of the batch (at most
//! `forks` at once) before the next task; `strategy: free` lets each host
//! run through its tasks on its own. `serial` splits the play's hosts into
//! batches. A failed host leaves the play; the others go on. Handlers run at
//! the end of each section (`pre_tasks`, roles, `tasks`, `post_tasks`) and at
//! `meta: flush_handlers`. Results stream to a [`Reporter`].
#![deny(missing_docs)]

mod asynchronous;
mod facts;
mod host;
mod inventory_hostnames;
mod play;
pub mod promotion;
mod read_ahead;
mod slots;
mod task;
mod vars;

use std::sync::Arc;

use drover_inventory::Inventory;
use drover_playbook::Playbook;
use drover_ssh::ConnectionDefaults;
use serde_json::Value as Json;

pub use host::Stats;

/// Variables.
pub type Vars = serde_json::Map<String, Json>;

/// How to run a playbook.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How many hosts to work on at once.
    pub forks: std::num::NonZeroUsize,
    /// `--check`: change nothing.
    pub check: bool,
    /// `--diff`: report changes as diffs.
    pub diff: bool,
    /// `-e`: the highest-precedence variables.
    pub extra_vars: Vars,
    /// `--limit`.
    pub limit: Option<String>,
    /// `--tags`: run only tasks with one of these (empty: all).
    pub tags: Vec<String>,
    /// `--skip-tags`.
    pub skip_tags: Vec<String>,
    /// `--start-at-task`: skip tasks before the first with this name.
    pub start_at_task: Option<String>,
    /// How to reach hosts.
    pub connection: ConnectionDefaults,
    /// `-b`: become for every task.
    pub become_forced: bool,
    /// `--become-user`.
    pub become_user: Option<String>,
    /// `--become-method`: when neither the play nor the inventory names one.
    pub become_method: Option<drover_ssh::BecomeMethod>,
    /// `-K` or `--become-password-file`: when the inventory gives none.
    pub become_password: Option<drover_ssh::Secret>,
    /// Whether a play that does not say `gather_facts` gathers them
    /// (`ansible.cfg`'s `gathering`: `implicit` yes, `explicit` no).
    pub gather_by_default: bool,
    /// `--force-handlers`: a failed host still runs the handlers it
    /// notified, unless its play says otherwise.
    pub force_handlers: bool,
    /// `drover rollout undo APP --playbook`: instead of deploying, switch
    /// each host of APP's blue-green rollout back to its previous slot.
    pub rollout_undo: Option<String>,
}

/// How one host fared with one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing changed.
    Ok,
    /// Something changed (or would, in check mode).
    Changed,
    /// The task failed.
    Failed,
    /// The task failed, but `ignore_errors` let the host go on.
    Ignored,
    /// The task did not apply (`when` was false).
    Skipped,
    /// The host could not be reached.
    Unreachable,
}

impl Status {
    /// Ansible's word for it, as printed.
    pub fn word(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Changed => "changed",
            Self::Failed | Self::Ignored => "failed",
            Self::Skipped => "skipping",
            Self::Unreachable => "unreachable",
        }
    }
}

/// Something that happened during a run, for output.
#[derive(Debug, Clone)]
pub enum Event {
    /// A play begins.
    PlayStart {
        /// The play's name (or its host pattern).
        name: String,
        /// The hosts it runs on.
        hosts: Vec<String>,
    },
    /// A task (or handler) begins.
    TaskStart {
        /// Its display name.
        name: String,
        /// `path:line`.
        location: String,
        /// Whether it is a handler.
        handler: bool,
    },
    /// A host's result for the current task (one per loop item, then one
    /// for the task).
    HostResult(Box<HostReport>),
    /// The run is over.
    Recap {
        /// Per-host statistics, in host order.
        stats: Vec<(String, Stats)>,
    },
}

/// How one host fared with the current task (or one loop item of it).
#[derive(Debug, Clone)]
pub struct HostReport {
    /// The host.
    pub host: String,
    /// How it went.
    pub status: Status,
    /// The loop item's label, for per-item results.
    pub item: Option<String>,
    /// The result, as Ansible would register it (hidden for `no_log`).
    pub result: Json,
    /// A unified diff, in diff mode.
    pub diff: Option<String>,
    /// Where the task ran, if delegated.
    pub delegated_to: Option<String>,
    /// The module that ran, if any.
    pub module: Option<String>,
    /// When the task failed because of how it is written (an argument its
    /// module does not take, a template that cannot render), what is wrong
    /// and where; `None` for `no_log` tasks.
    pub problem: Option<Problem>,
    /// When the task started on the host and how long it took there;
    /// `None` for a result no task run produced (a host that never
    /// connected, a rollout's own step).
    pub timing: Option<Timing>,
}

/// When a task started on a host, and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The wall-clock time it started.
    pub started: std::time::SystemTime,
    /// How long it ran.
    pub elapsed: std::time::Duration,
}

impl Timing {
    /// A timing starting now; [`Self::end`] gives how long it took.
    pub(crate) fn start() -> Self {
        Self {
            started: std::time::SystemTime::now(),
            elapsed: std::time::Duration::ZERO,
        }
    }

    /// This timing, ended now.
    pub(crate) fn end(self) -> Self {
        Self {
            elapsed: self.started.elapsed().unwrap_or_default(),
            ..self
        }
    }
}

/// A task that fails as written, whatever the host: the message, a hint,
/// and the task's place in its file, for a report like a load error's.
#[derive(Debug, Clone)]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    /// How to put it right.
    pub hint: Option<String>,
    /// Where the task is written.
    pub location: drover_playbook::SourceLocation,
}

/// Receives events as the run goes.
pub trait Reporter: Send + Sync {
    /// Handles one event.
    fn event(&self, event: Event);
}

/// What a run ended with.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Per-host statistics.
    pub stats: Vec<(String, Stats)>,
    /// An operator aborted a paused rollout (`drover rollout abort`).
    pub aborted: bool,
    /// SIGINT or SIGTERM stopped the run between tasks.
    pub interrupted: bool,
}

impl Summary {
    /// Ansible's exit code: 4 if a host was unreachable, 2 if one failed
    /// (or a rollout was aborted), else 0.
    pub fn exit_code(&self) -> u8 {
        if self.interrupted {
            exit::INTERRUPTED
        } else if self.stats.iter().any(|(_, stats)| stats.unreachable > 0) {
            exit::HOST_UNREACHABLE
        } else if self.aborted || self.stats.iter().any(|(_, stats)| stats.failed > 0) {
            exit::HOST_FAILED
        } else {
            exit::SUCCESS
        }
    }
}

/// Why a run could not proceed at all (as opposed to hosts failing).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A play's host pattern or `--limit` is invalid.
    #[error(transparent)]
    Inventory(#[from] drover_inventory::Error),
    /// A variable file or expression failed outside any host.
    #[error("{0}")]
    Play(String),
    /// The run directory (where a paused rollout waits) cannot be written.
    #[error("{path}: {source}")]
    RunDirectory {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs every play of `playbook` against `inventory`.
pub async fn run(
    playbook: &Playbook,
    inventory: Arc<Inventory>,
    options: Arc<RunOptions>,
    reporter: Arc<dyn Reporter>,
) -> Result<Summary, Error> {
    let runner = play::Runner::new(inventory, options, reporter.clone(), playbook);
    let plays = async {
        for play in &playbook.plays {
            runner.run_play(play).await?;
            // An aborted rollout ends the playbook: what follows assumed it done.
            if runner.control().aborted() || runner.control().interrupted() {
                break;
            }
        }
        Ok::<(), Error>(())
    };
    // A second signal stops at once: the plays are dropped mid-command and
    // no recap is printed; the caller exits with `exit::INTERRUPTED`.
    let stopped_at_once = tokio::select! {
        result = plays => {
            result?;
            false
        }
        () = watch_signals(runner.control().interruption(), reporter.clone()) => true,
    };
    let stats = runner.recap();
    if !stopped_at_once {
        reporter.event(Event::Recap {
            stats: stats.clone(),
        });
    }
    Ok(Summary {
        stats,
        aborted: runner.control().aborted(),
        interrupted: runner.control().interrupted() || stopped_at_once,
    })
}

/// SIGINT or SIGTERM: no new task starts, the commands already running
/// finish (so no half-written file is left behind), and the recap is
/// printed. Returns at a second signal, which ends the run at once. Never
/// returns when no signal can be watched.
async fn watch_signals(flag: Arc<std::sync::atomic::AtomicBool>, reporter: Arc<dyn Reporter>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    flag.store(true, std::sync::atomic::Ordering::Relaxed);
    reporter.event(Event::TaskStart {
        name:
            "INTERRUPTED: the running commands finish; no new task starts (again to stop at once)"
                .to_owned(),
        location: String::new(),
        handler: false,
    });
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
}

/// drover's exit codes, all in one place: Ansible's, so that scripts
/// written for Ansible keep working.
pub mod exit {
    /// Every host succeeded.
    pub const SUCCESS: u8 = 0;
    /// A usage, configuration or input error; nothing ran.
    pub const USAGE_OR_CONFIG: u8 = 1;
    /// Some host failed a task (or a rollout was aborted).
    pub const HOST_FAILED: u8 = 2;
    /// Some host could not be reached.
    pub const HOST_UNREACHABLE: u8 = 4;
    /// SIGINT or SIGTERM stopped the run.
    pub const INTERRUPTED: u8 = 99;
}
