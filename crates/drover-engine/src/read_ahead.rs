//! Asking the next tasks' first queries in the flights of the task before
//! them.
//!
//! Before a task runs on a host, the engine renders the arguments of the
//! tasks that follow it and hands the host's session a *rider*: one
//! read-only command asking all of their first queries
//! ([`drover_modules::rider`]). It goes to the host in the same flight as
//! the task's own next command, right after it, so its answers describe the
//! host as that command left it (see `drover_ssh`'s `read_ahead.rs`). A run
//! of file tasks that find their files as wanted then costs no round trip
//! at all after the first, and one that changes something costs one per
//! change.
//!
//! The tasks that ride are the `file`, `copy`, `template`, `lineinfile` and
//! `blockinfile` tasks that follow, skipping over tasks that run on the
//! controller alone (`assert`, `set_fact`), up to the first task that may
//! touch the host otherwise. They share how they reach the host (`become`,
//! `remote_user`, the role's files), so the queries asked ahead are the
//! queries the tasks will ask; where a task's arguments come out otherwise
//! when it runs (a variable registered in between), its query is not the
//! one asked, and it asks its own. What was read ahead is dropped before
//! any task outside such a stretch, and before a task that lets time pass
//! (`pause`, `wait_for`) or runs elsewhere.

use std::sync::Arc;

use crate::Vars;
use crate::host::HostState;
use crate::task::{TaskEnvironment, module_context, render_arguments};
use crate::vars::{self, PlayVars};
use drover_playbook::{Action, Task};

/// The most tasks asked ahead at once.
const WINDOW: usize = 16;

/// The tasks whose first queries ride with task `current`'s flights, and
/// the end (exclusive) of the stretch of tasks whose answers stay good
/// until they run. A task that loops, retries, delegates or runs once
/// carries no rider: its flights are many, or not this host's.
pub(crate) fn window(tasks: &[Task], current: usize) -> (Vec<&Task>, usize) {
    let carrier = &tasks[current];
    if !matches!(carrier.action, Action::Module { .. })
        || carrier.loop_over.is_some()
        || carrier.until.is_some()
        || carrier.delegate_to.is_some()
        || carrier.run_once
    {
        return (Vec::new(), current + 1);
    }
    stretch(tasks, current + 1)
}

/// The tasks from `start` on whose first queries can be asked together
/// before any of them runs, and the end (exclusive) of the stretch they
/// cover.
pub(crate) fn stretch(tasks: &[Task], start: usize) -> (Vec<&Task>, usize) {
    let mut riding: Vec<&Task> = Vec::new();
    let mut end = start;
    while end < tasks.len() && riding.len() < WINDOW {
        let task = &tasks[end];
        let rides = reads_ahead(task) && riding.first().is_none_or(|first| same_reach(first, task));
        if rides {
            riding.push(task);
        } else if !on_controller(task) {
            break;
        }
        end += 1;
        if rides && ends_stretch(task) {
            break;
        }
    }
    (riding, end)
}

/// A command that will run: nothing asked before it holds after it. One
/// with `creates` or `removes` may well be skipped (its query says so),
/// so the stretch goes on past it; if it runs, it drops what was asked.
fn ends_stretch(task: &Task) -> bool {
    matches!(&task.action, Action::Module { name, arguments }
        if drover_modules::opaque(name)
            && !arguments.contains_key("creates")
            && !arguments.contains_key("removes"))
}

/// A task that runs nothing on any host.
fn on_controller(task: &Task) -> bool {
    matches!(&task.action, Action::Module { name, .. } if !drover_modules::touches_host(name))
}

/// A plain module task whose module starts with a query a read-ahead
/// answers: no loop, no `until` (a retry must see the host anew),
/// delegation or `environment`.
fn reads_ahead(task: &Task) -> bool {
    matches!(&task.action, Action::Module { name, .. } if drover_modules::reads_ahead(name))
        && task.loop_over.is_none()
        && task.until.is_none()
        && task.delegate_to.is_none()
        && !task.run_once
        && task.settings.environment.is_empty()
        && task.settings.environment_template.is_none()
}

/// Whether two tasks reach the host the same way and find files in the same places.
fn same_reach(first: &Task, other: &Task) -> bool {
    let (one, two) = (&first.settings, &other.settings);
    one.become_root == two.become_root
        && one.become_user == two.become_user
        && one.become_method == two.become_method
        && one.remote_user == two.remote_user
        && one.connection == two.connection
        && first.base == other.base
        && match (&first.role, &other.role) {
            (Some(one), Some(two)) => Arc::ptr_eq(one, two),
            (None, None) => true,
            _ => false,
        }
}

/// Drops what was read ahead on every host.
pub(crate) fn forget(states: &[HostState]) {
    for state in states {
        state.session.forget_read_ahead();
    }
}

/// Hands `host`'s session the rider asking the first queries of `tasks`
/// whose conditions hold there (none when there are none). A task whose
/// arguments cannot be rendered yet asks nothing ahead.
pub(crate) fn set_rider(
    tasks: &[&Task],
    host: &HostState,
    play_vars: &PlayVars,
    hostvars: &Arc<Vars>,
    environment: &TaskEnvironment<'_>,
) {
    let Some(first) = tasks.first() else {
        host.session.set_rider(None);
        return;
    };
    let scope_of = |task: &Task| {
        environment
            .templar
            .scope(vars::layers(play_vars, host, &task.vars, hostvars))
    };
    let first_scope = scope_of(first);
    let context = module_context(first, &host.session, host, &first_scope, environment);
    let mut queries = Vec::new();
    for task in tasks {
        let Action::Module { name, arguments } = &task.action else {
            continue;
        };
        let scope = scope_of(task);
        // A task that will not run (or will fail on its condition) asks nothing.
        if !matches!(
            crate::task::when(task, environment.templar, &scope),
            crate::task::Verdict::Runs
        ) {
            continue;
        }
        let Ok(arguments) = render_arguments(arguments, &scope, environment.templar) else {
            continue;
        };
        if let Some(query) = drover_modules::first_query(name, &arguments, &context) {
            queries.push(query);
        }
    }
    host.session
        .set_rider(drover_modules::rider(&context, &queries));
}
