//! The typed model of a playbook.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::error::SourceLocation;

/// Variables: names to (possibly templated) values.
pub type Vars = serde_json::Map<String, Json>;

/// A whole playbook.
#[derive(Debug, Clone)]
pub struct Playbook {
    /// The playbook file.
    pub path: PathBuf,
    /// Its plays, in order.
    pub plays: Vec<Play>,
    /// What Ansible would find only when a task runs: each fails its task
    /// if the task runs on a host (see `LoadOptions::strict`).
    pub warnings: Vec<crate::Error>,
}

/// How many hosts each batch of a play takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Batch {
    /// A number of hosts.
    Count(usize),
    /// A percentage of the play's hosts.
    Percent(f64),
}

impl Batch {
    /// How many of `total` this is: the count, or the percentage rounded down.
    #[must_use]
    pub fn of(&self, total: usize) -> usize {
        match self {
            Self::Count(count) => *count,
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            Self::Percent(percent) => (total as f64 * percent / 100.0).floor() as usize,
        }
    }
}

/// How a play's hosts go through its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlayStrategy {
    /// Every host finishes a task before any starts the next.
    #[default]
    Linear,
    /// Each host goes through the tasks at its own pace.
    Free,
}

/// One play.
#[derive(Debug, Clone)]
pub struct Play {
    /// Where the play starts.
    pub location: SourceLocation,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// The host pattern (may be a template).
    pub hosts: String,
    /// `vars:`.
    pub vars: Vars,
    /// `vars_files:` (paths, possibly templated).
    pub vars_files: Vec<String>,
    /// Whether to gather facts first; unset, the run's `gathering` setting
    /// decides (Ansible's default: yes).
    pub gather_facts: Option<bool>,
    /// `gather_subset:` (empty: all).
    pub gather_subset: Vec<String>,
    /// Connection and escalation settings.
    pub settings: TaskSettings,
    /// `pre_tasks`, then role tasks, then `tasks`, then `post_tasks`.
    pub sections: Vec<Section>,
    /// `handlers:`, the play's own and its roles'.
    pub handlers: Vec<Task>,
    /// `tags:` on the play.
    pub tags: Vec<String>,
    /// `serial:` batches; empty means all hosts at once.
    pub serial: Vec<Batch>,
    /// `strategy:`.
    pub strategy: PlayStrategy,
    /// `any_errors_fatal:`.
    pub any_errors_fatal: bool,
    /// `force_handlers:`: run notified handlers on a host even after it
    /// failed; unset, `--force-handlers` decides.
    pub force_handlers: Option<bool>,
    /// `max_fail_percentage:`.
    pub max_fail_percentage: Option<f64>,
    /// `rollout:`: batches by strategy, gated by readiness.
    pub rollout: Option<crate::Rollout>,
    /// `rollout:` with `service:`: a Swarm service's replicas rolled out
    /// by the swarm modules of the play's tasks; the hosts go as usual.
    pub service_rollout: Option<std::sync::Arc<crate::Rollout>>,
    /// `switch:`: a blue-green rollout's tasks that move traffic to the
    /// slot just deployed (and back, on rollback or undo).
    pub switch: Vec<Task>,
    /// `rollback:`: tasks a failed rollout runs on every host it changed,
    /// after bringing back their containers.
    pub rollback: Vec<Task>,
    /// The roles the play uses (their defaults and vars join the variables).
    pub roles: Vec<Arc<Role>>,
    /// `vars_prompt:`; drover never prompts, so each needs `-e` or a default.
    pub prompts: Vec<Prompt>,
}

/// A `vars_prompt` entry: drover never prompts, so it needs `-e` or a default.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// The variable.
    pub name: String,
    /// Its default, if any.
    pub default: Option<Json>,
    /// Where it is written.
    pub location: SourceLocation,
}

/// A list of tasks run together; handlers flush after each.
#[derive(Debug, Clone)]
pub struct Section {
    /// `pre_tasks`, `tasks` or `post_tasks`.
    pub name: &'static str,
    /// The tasks.
    pub tasks: Vec<Task>,
}

/// Settings that tasks inherit from their play, block or role.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskSettings {
    /// `become:`.
    pub become_root: Option<bool>,
    /// `become_user:`.
    pub become_user: Option<String>,
    /// `become_method:`.
    pub become_method: Option<String>,
    /// `remote_user:`.
    pub remote_user: Option<String>,
    /// `connection:`.
    pub connection: Option<String>,
    /// `environment:`.
    pub environment: Vars,
    /// `environment: "{{ proxy_env }}"`: a template that gives the whole
    /// mapping, rendered when the task runs (the mapping's keys win).
    pub environment_template: Option<String>,
    /// `ignore_errors:`.
    pub ignore_errors: Option<bool>,
    /// `ignore_unreachable:`.
    pub ignore_unreachable: Option<bool>,
    /// `no_log:`.
    pub no_log: Option<bool>,
    /// `check_mode:`.
    pub check_mode: Option<bool>,
    /// `any_errors_fatal:`.
    pub any_errors_fatal: Option<bool>,
}

/// A role, loaded from its directory.
#[derive(Debug, Clone)]
pub struct Role {
    /// Its name as referred to.
    pub name: String,
    /// Its directory.
    pub path: PathBuf,
    /// `defaults/main.yml`: the lowest-precedence variables.
    pub defaults: Vars,
    /// `vars/main.yml`.
    pub vars: Vars,
    /// Parameters given where the role is used.
    pub parameters: Vars,
}

/// How a task loops.
#[derive(Debug, Clone, PartialEq)]
pub enum LoopKind {
    /// `loop:` or `with_list:`: the items as given.
    List,
    /// `with_items:`: flattened one level.
    Items,
    /// `with_dict:`: `{key, value}` pairs.
    Dict,
    /// `with_indexed_items:`: `[index, item]` pairs.
    Indexed,
    /// `with_together:`: lists zipped.
    Together,
    /// `with_nested:`: the product of lists.
    Nested,
    /// `with_first_found:`: the first file that exists of those named
    /// (names, or `{files, paths, skip}`), as one item; none with `skip`.
    FirstFound,
    /// `with_subelements: [LIST, KEY]`: each element of each entry's
    /// `KEY` list, as `[entry, element]`.
    Subelements,
    /// `with_sequence:`: numbers as text (`start=1 end=5 format=web%02d`).
    Sequence,
    /// `with_fileglob:`: the files on this machine matching patterns.
    Fileglob,
    /// `with_lines:`: each line of commands run on this machine.
    Lines,
    /// `with_flattened:`: nested lists flattened at every depth.
    Flattened,
    /// `with_cartesian:`: the product of lists, as `with_nested`.
    Cartesian,
    /// `with_random_choice:`: one of the items, at random.
    RandomChoice,
    /// `with_inventory_hostnames:`: the hosts matching inventory patterns.
    InventoryHostnames,
}

/// `async: SECONDS` and `poll: SECONDS` (numbers, or templates rendered
/// when the task runs). With `poll: 0`, a command starts on the host and
/// the play goes on without waiting; otherwise the task waits at most
/// `async` seconds.
#[derive(Debug, Clone)]
pub struct Asynchronous {
    /// `async:`: how long the task may take.
    pub seconds: Json,
    /// `poll:` (Ansible's default is 15).
    pub poll: Json,
}

/// A task's loop.
#[derive(Debug, Clone)]
pub struct Loop {
    /// The items (a list, or a template yielding one).
    pub items: Json,
    /// How the items are shaped.
    pub kind: LoopKind,
    /// `loop_control.loop_var` (default `item`).
    pub variable: String,
    /// `loop_control.index_var`.
    pub index_variable: Option<String>,
    /// `loop_control.label`.
    pub label: Option<Json>,
    /// `loop_control.pause` in seconds.
    pub pause: Option<f64>,
}

/// What a task does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Run a module.
    Module {
        /// The module's short name.
        name: String,
        /// Its arguments, not yet templated.
        arguments: Vars,
    },
    /// `block:` with `rescue:` and `always:`.
    Block {
        /// The tasks.
        block: Vec<Task>,
        /// Run when a block task fails.
        rescue: Vec<Task>,
        /// Run in any case.
        always: Vec<Task>,
    },
    /// `include_tasks:` with a templated file name or a loop, read at run
    /// time (for each host and loop item).
    IncludeTasks {
        /// The file, relative to the including file's directory.
        file: String,
        /// The directory it is relative to.
        base: PathBuf,
    },
    /// `include_role:` with a loop: the role's tasks, read when the
    /// playbook was, run once for each loop item.
    IncludeRole {
        /// The role's tasks.
        tasks: Vec<Task>,
    },
    /// `meta:` (`flush_handlers`, `end_play`, `end_host`, `noop`, ...).
    Meta(String),
}

/// One task (or handler).
#[derive(Debug, Clone)]
pub struct Task {
    /// Where it is written.
    pub location: SourceLocation,
    /// `name:`.
    pub name: Option<String>,
    /// What it does.
    pub action: Action,
    /// `when:` conditions, all of which must hold.
    pub when: Vec<String>,
    /// `loop:` and friends.
    pub loop_over: Option<Loop>,
    /// `register:`.
    pub register: Option<String>,
    /// `changed_when:`.
    pub changed_when: Option<Vec<String>>,
    /// `failed_when:`.
    pub failed_when: Option<Vec<String>>,
    /// `until:`.
    pub until: Option<String>,
    /// `retries:` (Ansible's default is 3 with `until`): a number, or a
    /// template rendered when the task runs.
    pub retries: Json,
    /// `delay:` in seconds: a number, or a template.
    pub delay: Json,
    /// `notify:`.
    pub notify: Vec<String>,
    /// `listen:` (handlers).
    pub listen: Vec<String>,
    /// `tags:`, inherited ones included.
    pub tags: Vec<String>,
    /// `delegate_to:`.
    pub delegate_to: Option<String>,
    /// `run_once:`.
    pub run_once: bool,
    /// `throttle:`.
    pub throttle: Option<usize>,
    /// `async:` and `poll:`.
    pub asynchronous: Option<Asynchronous>,
    /// `vars:` of the task and its enclosing blocks.
    pub vars: Vars,
    /// Inherited and own settings.
    pub settings: TaskSettings,
    /// The role the task comes from.
    pub role: Option<Arc<Role>>,
    /// The directory relative paths (`src:`) start from.
    pub base: PathBuf,
}

impl Task {
    /// The name shown in output: `name:`, or the module's name.
    pub fn display_name(&self) -> String {
        let own = match (&self.name, &self.action) {
            (Some(name), _) | (None, Action::Module { name, .. }) => name.clone(),
            (None, Action::Block { .. }) => "block".to_owned(),
            (None, Action::IncludeTasks { file, .. }) => format!("include_tasks {file}"),
            (None, Action::Meta(what)) => format!("meta: {what}"),
            (None, Action::IncludeRole { .. }) => "include_role".to_owned(),
        };
        match &self.role {
            Some(role) => format!("{} : {own}", role.name),
            None => own,
        }
    }
}
