//! Asking, in one round trip, what the next few file tasks will ask first.
//!
//! A run of consecutive `file`, `copy`, `template`, `lineinfile` and
//! `blockinfile` tasks (a window) gets its queries read ahead on each host
//! when its first task starts ([`drover_modules::read_ahead`]). The answers
//! live in the host's session until any command that may change the host
//! runs, and the engine drops whatever is left of them when the window
//! ends, before a task that lets time pass (`pause`, `wait_for`) or runs
//! elsewhere. A window's tasks share how they reach the host (`become`,
//! `remote_user`, the role's files), so the queries asked ahead are the
//! queries the tasks will ask.

use std::sync::Arc;

use crate::Vars;
use crate::host::HostState;
use crate::task::{TaskEnvironment, module_context, render_arguments};
use crate::vars::{self, PlayVars};
use drover_playbook::{Action, Task};

/// The most tasks read ahead at once.
const WINDOW: usize = 16;

/// The end (exclusive) of the window of tasks starting at `start`: the
/// following tasks whose first query can be read ahead with `start`'s.
pub(crate) fn window_end(tasks: &[Task], start: usize) -> usize {
    let first = &tasks[start];
    if !reads_ahead(first) {
        return start + 1;
    }
    let mut end = start + 1;
    while end < tasks.len()
        && end - start < WINDOW
        && reads_ahead(&tasks[end])
        && same_reach(first, &tasks[end])
    {
        end += 1;
    }
    end
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

/// Reads ahead, on `host`, the first queries of the window `tasks` whose
/// conditions hold there. A failure here is left for the tasks to meet.
pub(crate) async fn read_ahead(
    tasks: &[Task],
    host: &HostState,
    play_vars: &PlayVars,
    hostvars: &Arc<Vars>,
    environment: &TaskEnvironment<'_>,
) {
    let Some(first) = tasks.first() else {
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
    let _ = drover_modules::read_ahead(&context, &queries).await;
}
