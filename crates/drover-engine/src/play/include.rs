//! Dynamic `include_tasks` (and `include_role` with a loop): decided per
//! host, as Ansible decides it. Each host's `when` is evaluated for the
//! include itself; each loop item makes an include of its own, with the
//! loop variable set for the included tasks; a file name is rendered per
//! host and item. Hosts that include the same file with the same item run
//! it together; the others wait.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use drover_modules::ModuleCatalog;
use drover_playbook::{Play, Task};

use super::Runner;
use super::flow::{pause, resume};
use crate::Vars;
use crate::host::HostState;
use crate::task::{Outcome, Verdict, when};
use crate::vars::{self, PlayVars};

/// What an include brings in.
#[derive(Clone, Copy)]
pub(super) enum Included<'a> {
    /// A task file, named by a template rendered per host and item.
    File { file: &'a str, base: &'a Path },
    /// A role's tasks, read with the playbook.
    Role(&'a [Task]),
}

/// One include to run: its file, the loop variables its tasks see, and the
/// hosts that make it.
struct Inclusion {
    path: PathBuf,
    name: String,
    layer: Vars,
    hosts: Vec<usize>,
}

impl Runner {
    pub(super) async fn include(
        &self,
        task: &Task,
        included: Included<'_>,
        states: &mut [HostState],
        play_vars: &PlayVars,
        play: &Play,
    ) {
        let inclusions = self.inclusions(task, included, states, play_vars);
        for inclusion in inclusions {
            let mut parent = task.clone();
            parent.vars.extend(inclusion.layer.clone());
            // The include's `when` was its own; the included tasks do not repeat it.
            parent.when.clear();
            let loaded = match included {
                Included::File { .. } => {
                    drover_playbook::load_task_file(&inclusion.path, &ModuleCatalog, &parent)
                }
                Included::Role(tasks) => Ok(with_layer(tasks, &inclusion.layer)),
            };
            match loaded {
                Ok(tasks) => {
                    let waiting = pause(states, |index, _| !inclusion.hosts.contains(&index));
                    self.run_tasks(&tasks, states, play_vars, play).await;
                    resume(states, &waiting);
                }
                Err(errors) => {
                    let message = errors
                        .errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ");
                    let waiting = pause(states, |index, _| !inclusion.hosts.contains(&index));
                    let name = &inclusion.name;
                    self.fail_all(task, states, &format!("include_tasks `{name}`: {message}"));
                    resume(states, &waiting);
                }
            }
        }
    }

    /// What each active host includes, grouped: in the order of the loop's
    /// items, then of the hosts.
    fn inclusions(
        &self,
        task: &Task,
        included: Included<'_>,
        states: &mut [HostState],
        play_vars: &PlayVars,
    ) -> Vec<Inclusion> {
        let hostvars = vars::shared(play_vars, states);
        let mut inclusions: Vec<(usize, Inclusion)> = Vec::new();
        let mut failures = Vec::new();
        for (index, state) in states.iter().enumerate() {
            if !state.active() {
                continue;
            }
            let scope = self
                .templar
                .scope(vars::layers(play_vars, state, &task.vars, &hostvars));
            let planned = match when(task, &self.templar, &scope) {
                Verdict::Runs => self.host_inclusions(task, included, &scope),
                Verdict::Skipped(_) => Ok(Vec::new()),
                Verdict::Failed(message) => Err(message),
            };
            match planned {
                Ok(planned) => group(&mut inclusions, index, planned),
                Err(message) => failures.push((index, message)),
            }
        }
        for (index, message) in failures {
            let outcome = Outcome::in_task(task, message, None);
            self.record(&mut states[index], &outcome, Some(task));
        }
        inclusions.sort_by_key(|(position, _)| *position);
        inclusions
            .into_iter()
            .map(|(_, inclusion)| inclusion)
            .collect()
    }

    /// One host's includes: one per loop item (one without a loop), each
    /// with its rendered file and its loop variables.
    fn host_inclusions(
        &self,
        task: &Task,
        included: Included<'_>,
        scope: &drover_template::Scope,
    ) -> Result<Vec<(PathBuf, String, Vars)>, String> {
        let layers: Vec<Vars> = match &task.loop_over {
            None => vec![Vars::new()],
            Some(looping) => {
                let inventory = self.inventory.current();
                let environment = self.task_environment(&inventory, None);
                crate::task::loop_items(task, looping, scope, &environment)?
                    .iter()
                    .enumerate()
                    .map(|(index, item)| crate::task::item_layer(looping, index, item))
                    .collect()
            }
        };
        let role = task.role.as_ref().map(|role| role.path.as_path());
        let Included::File { file, base } = included else {
            return Ok(layers
                .into_iter()
                .map(|layer| (PathBuf::new(), "include_role".to_owned(), layer))
                .collect());
        };
        layers
            .into_iter()
            .map(|layer| {
                let item_scope = scope.with_layer(Arc::new(layer.clone()));
                let name = self
                    .templar
                    .render_text(file, &item_scope)
                    .map(|name| drover_template::as_text(&name))
                    .map_err(|error| format!("include_tasks `{file}`: {error}"))?;
                let path = drover_playbook::resolve_task_file(base, role, &name);
                Ok((path, name, layer))
            })
            .collect()
    }
}

/// Adds host `index`'s includes to those of the hosts before it: the
/// same file with the same loop variables at the same position is one
/// include for all of them.
fn group(
    inclusions: &mut Vec<(usize, Inclusion)>,
    index: usize,
    planned: Vec<(PathBuf, String, Vars)>,
) {
    for (position, (path, name, layer)) in planned.into_iter().enumerate() {
        let same = inclusions.iter_mut().find(|(at, inclusion)| {
            *at == position && inclusion.path == path && inclusion.layer == layer
        });
        match same {
            Some((_, inclusion)) => inclusion.hosts.push(index),
            None => inclusions.push((
                position,
                Inclusion {
                    path,
                    name,
                    layer,
                    hosts: vec![index],
                },
            )),
        }
    }
}

/// `tasks` with `layer`'s variables (a loop item) on each of them, and on
/// the tasks of their blocks.
fn with_layer(tasks: &[Task], layer: &Vars) -> Vec<Task> {
    tasks
        .iter()
        .map(|task| {
            let mut task = task.clone();
            task.vars.extend(layer.clone());
            if let drover_playbook::Action::Block {
                block,
                rescue,
                always,
            } = &mut task.action
            {
                *block = with_layer(block, layer);
                *rescue = with_layer(rescue, layer);
                *always = with_layer(always, layer);
            }
            task
        })
        .collect()
}
