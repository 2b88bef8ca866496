//! What steers a run besides its tasks: which tasks run (`--tags`,
//! `--skip-tags`, `--start-at-task`), a signal, and an operator's
//! `drover rollout abort`. The flags are shared, so that the signal
//! watcher and the rollout gates can set them while tasks run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use drover_playbook::{Action, Task};

use crate::RunOptions;

pub(crate) struct Control {
    /// `--tags`: run only tasks with one of these (empty: all).
    tags: Vec<String>,
    /// `--skip-tags`.
    skip_tags: Vec<String>,
    /// The task `--start-at-task` names; `None` once reached, or when
    /// there is none.
    start_at: Option<String>,
    /// Past `--start-at-task`.
    started: AtomicBool,
    /// An operator aborted a paused rollout.
    aborted: AtomicBool,
    /// SIGINT or SIGTERM: start no new task.
    interrupted: Arc<AtomicBool>,
}

impl Control {
    pub(crate) fn new(options: &RunOptions) -> Self {
        let start_at = options.start_at_task.clone();
        Self {
            tags: options.tags.clone(),
            skip_tags: options.skip_tags.clone(),
            started: AtomicBool::new(start_at.is_none()),
            start_at,
            aborted: AtomicBool::new(false),
            interrupted: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether `task` runs as far as `--start-at-task` goes: every task
    /// from the named one on, and blocks on the way (the named task may
    /// be inside one).
    pub(crate) fn reached(&self, task: &Task) -> bool {
        if self.started.load(Ordering::Relaxed) {
            return true;
        }
        if task.name.is_some() && task.name == self.start_at {
            self.started.store(true, Ordering::Relaxed);
            return true;
        }
        matches!(task.action, Action::Block { .. })
    }

    /// `--tags` and `--skip-tags`, with Ansible's `always`, `never`,
    /// `tagged` and `untagged`: whether `task` runs.
    pub(crate) fn selected(&self, task: &Task) -> bool {
        let has = |tag: &str| task.tags.iter().any(|own| own == tag);
        if self.skip_tags.iter().any(|tag| has(tag)) {
            return false;
        }
        if self.tags.is_empty() || self.tags.iter().any(|tag| tag == "all") {
            return !has("never");
        }
        has("always")
            || self.tags.iter().any(|tag| {
                has(tag)
                    || (tag == "tagged" && !task.tags.is_empty())
                    || (tag == "untagged" && task.tags.is_empty())
            })
    }

    /// The flag a signal sets.
    pub(crate) fn interruption(&self) -> Arc<AtomicBool> {
        self.interrupted.clone()
    }

    /// Whether a signal asked the run to stop.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }

    /// Notes that an operator aborted the rollout.
    pub(crate) fn abort(&self) {
        self.aborted.store(true, Ordering::Relaxed);
    }

    /// Whether an operator aborted a paused rollout.
    pub(crate) fn aborted(&self) -> bool {
        self.aborted.load(Ordering::Relaxed)
    }
}
