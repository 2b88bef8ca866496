//! Running plays: hosts, batches, sections, blocks, handlers and facts.

use std::path::PathBuf;
use std::sync::Arc;

use drover_inventory::Inventory;
use drover_playbook::{Action, Batch, Play, Playbook, Task};
use drover_template::Templar;
use futures::StreamExt as _;
use serde_json::{Value as Json, json};

use crate::host::{HostState, Participation, Stats};
use crate::read_ahead;
use crate::task::{self, Outcome, TaskEnvironment};
use crate::vars::{self, PlayVars};
use crate::{Error, Event, Reporter, RunOptions, Status, Vars};

mod connections;
mod control;
mod flow;
mod held;
mod include;
mod independent;
mod inventory_cell;
mod results;
mod rollout;
mod variables;

use connections::Connections;
pub(crate) use control::Control;
use results::Results;

/// Runs plays. Each concern is a part of its own: which tasks run and what
/// stops the run ([`Control`]), the hosts' sessions ([`Connections`]), and
/// the results ([`Results`]); the runner walks plays, batches, sections and
/// tasks through them.
pub(crate) struct Runner {
    inventory: Arc<inventory_cell::InventoryCell>,
    options: Arc<RunOptions>,
    reporter: Arc<dyn Reporter>,
    templar: Templar,
    /// The playbook's directory.
    base: PathBuf,
    control: Control,
    connections: Connections,
    results: Results,
    /// How many of the first tasks of the next task list had their queries
    /// ride with the facts' flight: what was read ahead holds for them.
    first_stretch: std::sync::atomic::AtomicUsize,
    /// The last tag given to a task's changes sent ahead (see `held.rs`).
    tags: std::sync::atomic::AtomicU64,
    /// The running play's `rollout:` of a Swarm service (plays run one
    /// after the other), handed to every task's modules.
    service_rollout: std::sync::Mutex<Option<Arc<drover_playbook::Rollout>>>,
}

impl Runner {
    pub(crate) fn new(
        inventory: Arc<Inventory>,
        options: Arc<RunOptions>,
        reporter: Arc<dyn Reporter>,
        playbook: &Playbook,
    ) -> Self {
        // `playbook_dir` is absolute, as Ansible has it, also for a
        // playbook named without a directory.
        let base = playbook
            .path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
        let inventory = Arc::new(inventory_cell::InventoryCell::new(inventory));
        Self {
            templar: Templar::new(base.clone()),
            base,
            control: Control::new(&options),
            connections: Connections::new(inventory.clone(), options.connection.clone()),
            results: Results::new(reporter.clone()),
            first_stretch: std::sync::atomic::AtomicUsize::new(0),
            tags: std::sync::atomic::AtomicU64::new(0),
            service_rollout: std::sync::Mutex::new(None),
            inventory,
            options,
            reporter,
        }
    }

    /// What steers the run: signals, an abort.
    pub(crate) fn control(&self) -> &Control {
        &self.control
    }

    /// The counts so far, host by host.
    pub(crate) fn recap(&self) -> Vec<(String, Stats)> {
        self.results.recap()
    }

    /// Whether a signal asked the run to stop.
    fn interrupted(&self) -> bool {
        self.control.interrupted()
    }

    /// A header line of drover's own (a gate, a rollback, a switch) where
    /// a task's would be.
    fn announce(&self, name: impl Into<String>) {
        self.reporter.event(Event::TaskStart {
            name: name.into(),
            location: String::new(),
            handler: false,
        });
    }

    /// Reports and counts an outcome (see [`Results::record`]).
    fn record(&self, state: &mut HostState, outcome: &Outcome, task: Option<&Task>) {
        self.results.record(state, outcome, task);
    }

    /// The play's hosts: its pattern, narrowed by `--limit`.
    fn play_hosts(&self, play: &Play) -> Result<Vec<usize>, Error> {
        let scope = self.templar.scope(vec![
            Arc::new(play.vars.clone()),
            Arc::new(self.options.extra_vars.clone()),
        ]);
        let pattern = self
            .templar
            .render_text(&play.hosts, &scope)
            .map_err(|error| Error::Play(format!("the play's `hosts`: {error}")))?;
        let pattern = drover_template::as_text(&pattern);
        let inventory = self.inventory.current();
        let mut hosts = inventory.select(&pattern)?.hosts;
        if let Some(limit) = &self.options.limit {
            let allowed = inventory.select(limit)?.hosts;
            hosts.retain(|host| allowed.contains(host));
        }
        Ok(hosts)
    }

    pub(crate) async fn run_play(&self, play: &Play) -> Result<(), Error> {
        let hosts = self.play_hosts(play)?;
        if let Ok(mut rollout) = self.service_rollout.lock() {
            rollout.clone_from(&play.service_rollout);
        }
        // The inventory as the play starts: `add_host` changes it for the
        // plays after this one.
        let inventory = self.inventory.current();
        let names: Vec<String> = hosts
            .iter()
            .map(|id| inventory.host(*id).name.clone())
            .collect();
        for prompt in &play.prompts {
            if !self.options.extra_vars.contains_key(&prompt.name) && prompt.default.is_none() {
                return Err(Error::Play(format!(
                    "{}: `vars_prompt` asks for `{}`, but drover never prompts; pass it with `-e {}=...`",
                    prompt.location, prompt.name, prompt.name
                )));
            }
        }
        for name in &names {
            self.results.count(name, |_| {});
        }
        // Variable files (perhaps vaulted) load before the play starts: a
        // missing file or a wrong vault password stops it before any host.
        let play_vars = variables::Sources {
            inventory: &inventory,
            options: &self.options,
            templar: &self.templar,
            base: &self.base,
            connections: &self.connections,
        }
        .play_vars(play, &names)?;
        self.reporter.event(Event::PlayStart {
            name: play.name.clone().unwrap_or_else(|| play.hosts.clone()),
            hosts: names.clone(),
        });
        let undo = self.options.rollout_undo.as_ref();
        if let Some(rollout) = &play.rollout
            && rollout.strategy == drover_playbook::Strategy::BlueGreen
            && (undo.is_none() || undo == rollout.app.as_ref())
        {
            let states = || {
                hosts
                    .iter()
                    .map(|id| self.connections.host_state(*id, play))
                    .collect()
            };
            return match (rollout.groups.is_empty(), undo.is_some()) {
                (false, undo) => {
                    self.group_blue_green(play, rollout, states(), &play_vars, undo)
                        .await
                }
                (true, true) => self.undo(play, rollout, states(), &play_vars).await,
                (true, false) => self.run_batches(play, &hosts, &play_vars).await,
            };
        }
        if undo.is_some() {
            return Ok(());
        }
        self.run_batches(play, &hosts, &play_vars).await
    }

    /// The play's batches, one after the other (a rollout's gated).
    async fn run_batches(
        &self,
        play: &Play,
        hosts: &[usize],
        play_vars: &PlayVars,
    ) -> Result<(), Error> {
        let batch_list = match &play.rollout {
            Some(rollout) => rollout::rollout_batches(hosts, rollout),
            None => batches(hosts, &play.serial),
        };
        let inventory = self.inventory.current();
        let host_names = |batch: &[usize]| -> Vec<String> {
            batch
                .iter()
                .map(|id| inventory.host(*id).name.clone())
                .collect()
        };
        let nexts: Vec<Option<Vec<String>>> = (0..batch_list.len())
            .map(|index| batch_list.get(index + 1).map(|next| host_names(next)))
            .collect();
        // A rollout keeps every batch's hosts, to roll them back if a later batch fails.
        let mut rolled_out: Vec<Vec<HostState>> = Vec::new();
        for (batch, next) in batch_list.into_iter().zip(nexts) {
            if self.interrupted() {
                break;
            }
            let mut states: Vec<HostState> = batch
                .iter()
                .map(|id| self.connections.host_state(*id, play))
                .collect();
            let blue_green = play
                .rollout
                .as_ref()
                .filter(|rollout| rollout.strategy == drover_playbook::Strategy::BlueGreen);
            if let Some(rollout) = blue_green {
                self.read_slots(rollout, &mut states, false).await;
            }
            if play.gather_facts.unwrap_or(self.options.gather_by_default) {
                self.gather_facts(&mut states, play, play_vars).await;
            }
            if blue_green.is_some() {
                self.probe(play, &mut states, play_vars).await;
            }
            self.run_sections(play, &mut states, play_vars).await;
            if play.rollout.is_some() {
                if self
                    .after_batch(play, states, &mut rolled_out, play_vars, next)
                    .await?
                {
                    break;
                }
                continue;
            }
            futures::future::join_all(states.iter().map(|state| state.session.close())).await;
            let failed = states.iter().filter(|state| state.lost()).count();
            let limit = play.max_fail_percentage.unwrap_or(100.0);
            if failed > 0 && (play.any_errors_fatal || percent(failed, states.len()) > limit) {
                break;
            }
        }
        for states in &rolled_out {
            futures::future::join_all(states.iter().map(|state| state.session.close())).await;
        }
        Ok(())
    }

    /// Runs the play's sections on a batch, flushing handlers after each.
    async fn run_sections(&self, play: &Play, states: &mut [HostState], play_vars: &PlayVars) {
        for section in &play.sections {
            if play.strategy == drover_playbook::PlayStrategy::Free {
                // Each host runs through the section at its own pace.
                let forks = self.options.forks.get();
                let _: Vec<()> = futures::stream::iter(states.chunks_mut(1))
                    .map(|host| self.run_tasks(&section.tasks, host, play_vars, play))
                    .buffer_unordered(forks)
                    .collect()
                    .await;
            } else {
                self.run_tasks(&section.tasks, states, play_vars, play)
                    .await;
            }
            self.flush_handlers(play, states, play_vars).await;
            if states.iter().all(|state| !state.active()) {
                break;
            }
        }
        self.first_stretch
            .store(0, std::sync::atomic::Ordering::Relaxed);
        self.connections.keep_facts(states);
    }

    /// Gathers facts on every host. The first tasks' queries ride along
    /// (those that do not depend on the facts), except in a rollout, whose
    /// batches run other commands between the facts and the tasks.
    async fn gather_facts(&self, states: &mut [HostState], play: &Play, play_vars: &PlayVars) {
        self.announce("Gathering Facts");
        let forks = self.options.forks.get();
        let subset = &play.gather_subset;
        let first_tasks = play
            .sections
            .first()
            .filter(|_| play.rollout.is_none())
            .map_or(&[][..], |section| &section.tasks[..]);
        let (riding, covered) = read_ahead::stretch(first_tasks, 0);
        let hostvars = vars::shared(play_vars, states);
        let inventory = self.inventory.current();
        let environment = self.task_environment(&inventory, None);
        let (riding, environment, hostvars) = (&riding, &environment, &hostvars);
        let outcomes: Vec<(usize, Outcome)> = futures::stream::iter(states.iter().enumerate())
            .map(|(index, state)| async move {
                read_ahead::set_rider(riding, state, play_vars, hostvars, environment);
                let gathered = drover_modules::facts::gather(&state.session, subset).await;
                let outcome = match gathered {
                    Ok(facts) => Outcome::ok(json!({"changed": false, "ansible_facts": facts})),
                    Err(drover_modules::Error::Transport(error)) => Outcome::transport(&error),
                    Err(error) => Outcome::failed(error.to_string()),
                };
                (index, outcome)
            })
            .buffer_unordered(forks)
            .collect()
            .await;
        self.first_stretch
            .store(covered, std::sync::atomic::Ordering::Relaxed);
        let mut outcomes = outcomes;
        outcomes.sort_by_key(|(index, _)| *index);
        for (index, outcome) in outcomes {
            if let Some(Json::Object(facts)) = outcome.result.get("ansible_facts") {
                crate::facts::merge(&mut states[index].facts, facts);
            }
            self.record(&mut states[index], &outcome, None);
        }
    }

    /// Runs a list of tasks, each on every active host before the next.
    /// A file task's changes may go ahead of their results (see
    /// `held.rs`); all of them are settled when the list ends.
    pub(crate) fn run_tasks<'a>(
        &'a self,
        tasks: &'a [Task],
        states: &'a mut [HostState],
        play_vars: &'a PlayVars,
        play: &'a Play,
    ) -> futures::future::LocalBoxFuture<'a, ()> {
        Box::pin(async move {
            let mut held = held::Held::default();
            // Tasks before this index are in the stretch whose first
            // queries rode with the last module task's flights (or the facts').
            let mut covered_until = self
                .first_stretch
                .swap(0, std::sync::atomic::Ordering::Relaxed);
            let may_walk = independent::may_walk(play, play_vars, states);
            let mut next = 0;
            while let Some(task) = tasks.get(next) {
                let index = next;
                next += 1;
                if states.iter().all(|state| !state.active()) || self.interrupted() {
                    break;
                }
                let end = if may_walk {
                    independent::stretch_end(tasks, index, states)
                } else {
                    index
                };
                if end > index {
                    self.release_all(states, &mut held).await;
                    let range = index..end;
                    self.run_on_their_own(tasks, range, states, play_vars, play, covered_until)
                        .await;
                    covered_until = read_ahead::window(tasks, end - 1).1;
                    next = end;
                    continue;
                }
                if !self.control.reached(task) {
                    continue;
                }
                if !held.is_empty() && !held::follows_changes(task) {
                    self.release_all(states, &mut held).await;
                }
                if index >= covered_until {
                    // What was read ahead holds only through its stretch.
                    read_ahead::forget(states);
                }
                let (riding, end) = read_ahead::window(tasks, index);
                covered_until = end;
                self.run_task(task, &riding, states, play_vars, play, &mut held)
                    .await;
            }
            self.release_all(states, &mut held).await;
        })
    }

    /// Runs one task of a list on every active host: a block, a `meta`, an
    /// include, or a module task with `riding` (see `read_ahead.rs`).
    async fn run_task<'t>(
        &self,
        task: &'t Task,
        riding: &[&Task],
        states: &mut [HostState],
        play_vars: &PlayVars,
        play: &Play,
        held: &mut held::Held<'t>,
    ) {
        match &task.action {
            Action::Block {
                block,
                rescue,
                always,
            } => {
                self.run_block(task, block, rescue, always, states, play_vars, play)
                    .await;
            }
            Action::Meta(what) => self.meta(what, task, states, play_vars, play).await,
            Action::IncludeTasks { file, base } => {
                let included = include::Included::File { file, base };
                self.include(task, included, states, play_vars, play).await;
            }
            Action::IncludeRole { tasks } => {
                let included = include::Included::Role(tasks);
                self.include(task, included, states, play_vars, play).await;
            }
            Action::Module { .. } => {
                if self.control.selected(task) {
                    let failed_before = states.iter().filter(|state| state.failed()).count();
                    self.run_module_task(task, states, play_vars, riding, Some((play, held)))
                        .await;
                    Self::stop_if_too_many_failed(play, task, states, failed_before);
                }
            }
        }
    }

    /// `any_errors_fatal` ends the play for every host at the first failure;
    /// `max_fail_percentage` ends it once too many of the batch failed.
    fn stop_if_too_many_failed(
        play: &Play,
        task: &Task,
        states: &mut [HostState],
        failed_before: usize,
    ) {
        let failed = states.iter().filter(|state| state.lost()).count();
        let fatal = (play.any_errors_fatal || task.settings.any_errors_fatal == Some(true))
            && states.iter().filter(|state| state.failed()).count() > failed_before;
        let too_many = play
            .max_fail_percentage
            .is_some_and(|limit| percent(failed, states.len()) > limit);
        if fatal || too_many {
            for state in states.iter_mut().filter(|state| !state.lost()) {
                state.participation = Participation::Ended;
            }
        }
    }

    /// Runs a module task on every active host, `forks` at a time. A task
    /// of a play's task list (not a handler: `held` is `None`) may send
    /// its changes ahead, and its results are held while any host has a
    /// change in doubt (see `held.rs`).
    async fn run_module_task<'t>(
        &self,
        task: &'t Task,
        states: &mut [HostState],
        play_vars: &PlayVars,
        riding: &[&Task],
        mut held: Option<(&Play, &mut held::Held<'t>)>,
    ) {
        let (tag, ahead, start) = self.begin(task, held.as_ref(), held.is_none());
        let hostvars = vars::shared(play_vars, states);
        let inventory = self.inventory.current();
        let delegate = self.delegate(task, states, play_vars, &hostvars);
        let environment = self.task_environment(&inventory, delegate);
        // `throttle: 0` means no limit of its own, as in Ansible.
        let forks = task
            .throttle
            .filter(|throttle| *throttle > 0)
            .unwrap_or(self.options.forks.get());
        let mut active: Vec<(usize, &mut HostState)> = states
            .iter_mut()
            .enumerate()
            .filter(|(_, state)| state.active())
            .collect();
        if task.run_once {
            active.truncate(1);
        }
        let on_host = OnHost {
            riding,
            ahead,
            play_vars,
            hostvars: &hostvars,
            environment: &environment,
        };
        let on_host = &on_host;
        let mut outcomes: Vec<(usize, Vec<Outcome>, Outcome)> = futures::stream::iter(active)
            .map(|(index, state)| async move {
                let (items, outcome) = self.run_on_host(task, state, on_host).await;
                (index, items, outcome)
            })
            .buffer_unordered(forks)
            .collect()
            .await;
        outcomes.sort_by_key(|(index, _, _)| *index);
        if task.run_once {
            share_the_one_run(task, states, &mut outcomes);
        }
        if let Some((_, held)) = held.as_mut() {
            held.push(held::Entry {
                tag,
                task,
                start,
                outcomes,
            });
            self.release_ready(states, held);
            return;
        }
        for (index, items, outcome) in outcomes {
            self.settle(task, &mut states[index], &items, &outcome);
        }
    }

    /// Runs `task` on one host, with the next tasks' queries riding along
    /// and its changes sent ahead as `on_host` says.
    async fn run_on_host(
        &self,
        task: &Task,
        state: &mut HostState,
        on_host: &OnHost<'_>,
    ) -> (Vec<Outcome>, Outcome) {
        let (play_vars, hostvars, environment) =
            (on_host.play_vars, on_host.hostvars, on_host.environment);
        let scope = self
            .templar
            .scope(vars::layers(play_vars, state, &task.vars, hostvars));
        read_ahead::set_rider(on_host.riding, state, play_vars, hostvars, environment);
        state.session.send_ahead(on_host.ahead);
        let ran = task::run(task, state, &scope, environment).await;
        state.session.send_ahead(None);
        ran
    }

    /// What a task runs with: the templates, the options, `inventory`, and
    /// the session of `delegate` when the task runs elsewhere.
    fn task_environment<'a>(
        &'a self,
        inventory: &'a drover_inventory::Inventory,
        delegate: Option<Arc<drover_ssh::HostSession>>,
    ) -> TaskEnvironment<'a> {
        TaskEnvironment {
            templar: &self.templar,
            options: &self.options,
            inventory,
            playbook_directory: &self.base,
            delegate,
            service_rollout: self
                .service_rollout
                .lock()
                .ok()
                .and_then(|rollout| rollout.clone()),
        }
    }

    /// The session a `delegate_to` task runs on. The target may be a
    /// template (`{{ groups['lb'][0] }}`): it is rendered once per task,
    /// with the first active host's variables.
    fn delegate(
        &self,
        task: &Task,
        states: &[HostState],
        play_vars: &PlayVars,
        hostvars: &Arc<Vars>,
    ) -> Option<Arc<drover_ssh::HostSession>> {
        let target = task.delegate_to.as_ref()?;
        let rendered = states
            .iter()
            .find(|state| state.active())
            .filter(|_| drover_template::is_template(target))
            .and_then(|state| {
                let scope = self
                    .templar
                    .scope(vars::layers(play_vars, state, &task.vars, hostvars));
                self.templar.render_string(target, &scope).ok()
            })
            .unwrap_or_else(|| target.clone());
        // `delegate_to: "{{ x | default(omit) }}"` delegates nowhere.
        if rendered.trim().is_empty() || rendered == drover_template::OMIT {
            return None;
        }
        Some(self.connections.delegate(&rendered))
    }

    /// Records a host's outcome (and its loop items'), and the handlers a
    /// change notifies.
    fn settle(&self, task: &Task, state: &mut HostState, items: &[Outcome], outcome: &Outcome) {
        if state.probe.is_some() {
            for done in items.iter().chain([outcome]) {
                self.record(state, done, Some(task));
            }
        } else {
            self.tell(task, &state.name, items, outcome);
            results::Results::mark(state, outcome, Some(task));
        }
        self.apply(task, state, items, outcome);
    }

    /// Reports and counts a host's outcome and its loop items': a loop's
    /// summary is counted, not printed again.
    fn tell(&self, task: &Task, host: &str, items: &[Outcome], outcome: &Outcome) {
        for item in items {
            self.results.tell(host, item, Some(task), true);
        }
        if items.is_empty() || task.loop_over.is_none() {
            self.results.tell(host, outcome, Some(task), true);
        } else {
            let summary = Outcome {
                item: None,
                ..outcome.clone()
            };
            self.results.tell(host, &summary, Some(task), false);
        }
    }

    /// What a host's outcome changes beyond the host: the inventory
    /// (`add_host`, `group_by`, for the plays after) and the handlers it
    /// notifies.
    fn apply(&self, task: &Task, state: &mut HostState, items: &[Outcome], outcome: &Outcome) {
        for done in items.iter().chain([outcome]) {
            if matches!(done.status, Status::Ok | Status::Changed) {
                self.inventory.apply(&state.name, &done.result);
            }
        }
        if outcome.status == Status::Changed {
            for handler in &task.notify {
                if !state.notified.contains(handler) {
                    state.notified.push(handler.clone());
                }
            }
        }
    }
}

/// How a task runs on each host: the tasks whose first queries ride with
/// its flights, the tag its changes go ahead under (if they may), and what
/// its templates see.
struct OnHost<'a> {
    riding: &'a [&'a Task],
    ahead: Option<u64>,
    play_vars: &'a PlayVars,
    hostvars: &'a Arc<Vars>,
    environment: &'a TaskEnvironment<'a>,
}

/// The event a task's header prints from.
fn task_start(task: &Task, handler: bool) -> Event {
    Event::TaskStart {
        name: task.display_name(),
        location: format!("{}:{}", task.location.path.display(), task.location.line),
        handler,
    }
}

/// `run_once`: the one host's outcome stands for every active host, and
/// its registered result is theirs too.
fn share_the_one_run(
    task: &Task,
    states: &mut [HostState],
    outcomes: &mut Vec<(usize, Vec<Outcome>, Outcome)>,
) {
    let Some((first, _, outcome)) = outcomes.first().cloned() else {
        return;
    };
    for (index, state) in states.iter_mut().enumerate() {
        if index != first && state.active() {
            if let Some(name) = &task.register {
                state
                    .facts
                    .insert(name.clone(), drover_template::untrusted(&outcome.result));
            }
            outcomes.push((index, Vec::new(), outcome.clone()));
        }
    }
    outcomes.sort_by_key(|(index, _, _)| *index);
}

fn percent(part: usize, whole: usize) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Splits hosts into `serial` batches; the last size repeats.
pub(crate) fn batches(hosts: &[usize], serial: &[Batch]) -> Vec<Vec<usize>> {
    if serial.is_empty() || hosts.is_empty() {
        return vec![hosts.to_vec()];
    }
    let mut result = Vec::new();
    let mut index = 0;
    let mut step = 0;
    while index < hosts.len() {
        let size = serial[step.min(serial.len() - 1)].of(hosts.len()).max(1);
        let end = (index + size).min(hosts.len());
        result.push(hosts[index..end].to_vec());
        index = end;
        step += 1;
    }
    result
}

#[cfg(test)]
mod tests {
    use drover_playbook::Batch;

    use super::batches;

    #[test]
    fn serial_batches_repeat_their_last_size() {
        let hosts: Vec<usize> = (0..10).collect();
        let sizes = |serial: &[Batch]| {
            batches(&hosts, serial)
                .iter()
                .map(Vec::len)
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(&[]), [10]);
        assert_eq!(sizes(&[Batch::Count(3)]), [3, 3, 3, 1]);
        assert_eq!(sizes(&[Batch::Count(1), Batch::Percent(50.0)]), [1, 5, 4]);
        assert_eq!(
            sizes(&[Batch::Percent(1.0)]),
            [1; 10],
            "a percentage rounds down but never to zero"
        );
    }
}
