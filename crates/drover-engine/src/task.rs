//! Running one task on one host: conditions, loops, retries, the module,
//! `changed_when`/`failed_when`, and the registered result.

use std::sync::Arc;
use std::time::Duration;

use drover_modules::ModuleContext;
use drover_playbook::{Action, LoopKind, Task};
use drover_ssh::{Become, BecomeMethod, HostSession, Secret};
use drover_template::{OMIT, Scope, Templar};
use serde_json::{Value as Json, json};

use crate::host::HostState;
use crate::{RunOptions, Status, Vars};

/// The result of a task (or of one loop item) on one host.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) status: Status,
    pub(crate) result: Json,
    pub(crate) diff: Option<String>,
    pub(crate) item: Option<String>,
    /// The task failed as written (see [`crate::Problem`]).
    pub(crate) problem: Option<crate::Problem>,
    /// The module that ran, when the task names it with a template.
    pub(crate) module: Option<String>,
    /// When it started on the host and how long it took there, for run
    /// records (see [`crate::HostReport`]).
    pub(crate) timing: Option<crate::Timing>,
}

impl Outcome {
    fn skipped(condition: &str) -> Self {
        Self {
            status: Status::Skipped,
            result: json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False", "false_condition": condition}),
            diff: None,
            item: None,
            problem: None,
            module: None,
            timing: None,
        }
    }

    /// A result with `status`, no diff, item or problem.
    pub(crate) fn new(status: Status, result: Json) -> Self {
        Self {
            status,
            result,
            diff: None,
            item: None,
            problem: None,
            module: None,
            timing: None,
        }
    }

    /// A result that changed nothing.
    pub(crate) fn ok(result: Json) -> Self {
        Self::new(Status::Ok, result)
    }

    /// A host the transport could not reach (UNREACHABLE) or use (failed),
    /// with the transport's hint.
    pub(crate) fn transport(error: &drover_ssh::Error) -> Self {
        let message = error.described();
        Self {
            status: if error.is_unreachable() {
                Status::Unreachable
            } else {
                Status::Failed
            },
            result: json!({"unreachable": error.is_unreachable(), "changed": false, "msg": message}),
            diff: None,
            item: None,
            problem: None,
            module: None,
            timing: None,
        }
    }

    /// A host whose connection was lost, with `message`.
    pub(crate) fn unreachable(message: &str) -> Self {
        Self {
            status: Status::Unreachable,
            result: json!({"unreachable": true, "changed": false, "msg": message}),
            diff: None,
            item: None,
            problem: None,
            module: None,
            timing: None,
        }
    }

    /// A failure with `message`.
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        let message: String = message.into();
        Self {
            status: Status::Failed,
            result: json!({"failed": true, "changed": false, "msg": message}),
            diff: None,
            item: None,
            problem: None,
            module: None,
            timing: None,
        }
    }

    /// `task` fails as written: `message` names what is wrong, the result
    /// says where the task is, and the problem carries its place for a
    /// report.
    pub(crate) fn in_task(task: &Task, message: String, hint: Option<String>) -> Self {
        let shown = format!(
            "{message}{}{}",
            where_written(task),
            hint.as_ref()
                .map_or_else(String::new, |hint| format!("\nhint: {hint}"))
        );
        Self {
            problem: Some(crate::Problem {
                message,
                hint,
                location: task.location.clone(),
            }),
            module: None,
            ..Self::failed(shown)
        }
    }
}

/// What a task needs besides the host.
pub(crate) struct TaskEnvironment<'a> {
    pub(crate) templar: &'a Templar,
    pub(crate) options: &'a RunOptions,
    /// For `with_inventory_hostnames`.
    pub(crate) inventory: &'a drover_inventory::Inventory,
    /// The playbook's directory: the last place controller files are looked for.
    pub(crate) playbook_directory: &'a std::path::Path,
    /// The session to run on when the task is delegated elsewhere.
    pub(crate) delegate: Option<Arc<HostSession>>,
    /// The play's `rollout:` of a Swarm service, for the swarm modules.
    pub(crate) service_rollout: Option<Arc<drover_playbook::Rollout>>,
}

/// Runs `task` on `host` with variables `scope`; returns per-item outcomes and the task's outcome.
pub(crate) async fn run(
    task: &Task,
    host: &mut HostState,
    scope: &Scope,
    environment: &TaskEnvironment<'_>,
) -> (Vec<Outcome>, Outcome) {
    let timing = crate::Timing::start();
    let Some(looping) = &task.loop_over else {
        let mut outcome = run_item(task, host, scope, environment).await;
        outcome.timing = Some(timing.end());
        return (Vec::new(), outcome);
    };
    let items = match loop_items(task, looping, scope, environment) {
        Ok(items) => items,
        Err(message) => return (Vec::new(), Outcome::failed(message)),
    };
    let mut outcomes = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let item_scope = scope.with_layer(Arc::new(item_layer(looping, index, &item)));
        let mut outcome = run_item(task, host, &item_scope, environment).await;
        let label = looping
            .label
            .as_ref()
            .and_then(|label| environment.templar.render(label, &item_scope).ok())
            .unwrap_or_else(|| item.clone());
        outcome.item = Some(drover_template::as_text(&label));
        if let Json::Object(map) = &mut outcome.result {
            map.insert(looping.variable.clone(), item);
            map.insert(
                "ansible_loop_var".to_owned(),
                Json::from(looping.variable.clone()),
            );
        }
        outcomes.push(outcome);
        if let Some(pause) = looping.pause {
            tokio::time::sleep(Duration::from_secs_f64(pause)).await;
        }
    }
    let mut summary = summarize(&outcomes);
    summary.timing = Some(timing.end());
    if let Some(name) = &task.register {
        host.facts
            .insert(name.clone(), drover_template::untrusted(&summary.result));
    }
    (outcomes, summary)
}

/// The variables one loop item brings: the loop variable (`item`),
/// `ansible_loop_var`, and the index variable when asked for.
pub(crate) fn item_layer(looping: &drover_playbook::Loop, index: usize, item: &Json) -> Vars {
    let mut layer = Vars::new();
    layer.insert(looping.variable.clone(), item.clone());
    layer.insert(
        "ansible_loop_var".to_owned(),
        Json::from(looping.variable.clone()),
    );
    if let Some(index_variable) = &looping.index_variable {
        layer.insert(index_variable.clone(), Json::from(index));
    }
    layer
}

/// The task-level result of a loop, as Ansible registers it.
fn summarize(outcomes: &[Outcome]) -> Outcome {
    let changed = outcomes
        .iter()
        .any(|outcome| outcome.status == Status::Changed);
    let failed = outcomes
        .iter()
        .any(|outcome| outcome.status == Status::Failed);
    let unreachable = outcomes
        .iter()
        .any(|outcome| outcome.status == Status::Unreachable);
    let all_skipped = !outcomes.is_empty()
        && outcomes
            .iter()
            .all(|outcome| outcome.status == Status::Skipped);
    let status = match () {
        () if unreachable => Status::Unreachable,
        () if failed => Status::Failed,
        () if outcomes
            .iter()
            .any(|outcome| outcome.status == Status::Ignored) =>
        {
            Status::Ignored
        }
        () if changed => Status::Changed,
        () if all_skipped || outcomes.is_empty() => Status::Skipped,
        () => Status::Ok,
    };
    let results: Vec<Json> = outcomes
        .iter()
        .map(|outcome| outcome.result.clone())
        .collect();
    let mut result = json!({"changed": changed, "failed": failed, "results": results, "msg": if failed { "One or more items failed" } else { "All items completed" }});
    if all_skipped || outcomes.is_empty() {
        result["skipped"] = Json::Bool(true);
    }
    Outcome::new(status, result)
}

/// The loop's items: rendered, then shaped (or looked up) by its kind.
pub(crate) fn loop_items(
    task: &Task,
    looping: &drover_playbook::Loop,
    scope: &Scope,
    environment: &TaskEnvironment<'_>,
) -> Result<Vec<Json>, String> {
    use drover_template::loop_lookups as lookups;
    let items = environment
        .templar
        .render(&looping.items, scope)
        .map_err(|error| format!("the loop could not be evaluated: {error}"))?;
    match looping.kind {
        LoopKind::FirstFound => lookups::first_found(&items, &search_directories(task)),
        LoopKind::Subelements => lookups::subelements(&items),
        LoopKind::Sequence => lookups::sequence(&items),
        LoopKind::Fileglob => lookups::fileglob(&items, &search_directories(task)),
        LoopKind::Lines => lookups::lines(&items, &task.base),
        LoopKind::Flattened => Ok(lookups::flattened(&items)),
        LoopKind::RandomChoice => Ok(lookups::random_choice(&items)),
        LoopKind::InventoryHostnames => {
            crate::inventory_hostnames::inventory_hostnames(&items, environment.inventory)
        }
        _ => shape(items, &looping.kind),
    }
}

/// Where a task's relative file names are looked for on this machine, as
/// Ansible's search path has it: the role's `files/` and the role, then
/// the task file's directory's `files/` and the directory itself.
pub(crate) fn search_directories(task: &Task) -> Vec<std::path::PathBuf> {
    let subdirectory = lookup_subdirectory(task);
    let mut directories = Vec::new();
    if let Some(role) = &task.role {
        directories.push(role.path.join(subdirectory));
        directories.push(role.path.clone());
    }
    directories.push(task.base.join(subdirectory));
    directories.push(task.base.clone());
    directories
}

/// The subdirectory a loop's file lookups search, picked from the action's
/// name as Ansible picks it: `templates` for `template`, `vars` for
/// `include_vars`, and `files` for everything else.
fn lookup_subdirectory(task: &Task) -> &'static str {
    let name = match &task.action {
        drover_playbook::Action::Module { name, .. } => name.as_str(),
        _ => "",
    };
    if name.contains("template") {
        "templates"
    } else if name.contains("var") {
        "vars"
    } else {
        "files"
    }
}

/// Turns a loop's value into items, shaped as `with_*` shapes them.
fn shape(items: Json, kind: &LoopKind) -> Result<Vec<Json>, String> {
    let list = |value: Json| match value {
        Json::Array(items) => Ok(items),
        Json::Null => Ok(Vec::new()),
        Json::String(text) if matches!(kind, LoopKind::Items) => Ok(text
            .split(',')
            .map(|item| Json::from(item.trim()))
            .collect()),
        other => Err(format!("a loop needs a list, not `{other}`")),
    };
    match kind {
        LoopKind::List => list(items),
        LoopKind::Items => Ok(list(items)?
            .into_iter()
            .flat_map(|item| match item {
                Json::Array(inner) => inner,
                other => vec![other],
            })
            .collect()),
        LoopKind::Dict => drover_template::loop_lookups::dict(&items),
        LoopKind::Indexed => Ok(drover_template::loop_lookups::indexed(list(items)?)),
        LoopKind::FirstFound
        | LoopKind::Subelements
        | LoopKind::Sequence
        | LoopKind::Fileglob
        | LoopKind::Lines
        | LoopKind::Flattened
        | LoopKind::RandomChoice
        | LoopKind::InventoryHostnames => Err(format!("the {kind:?} loop is shaped elsewhere")),
        LoopKind::Together | LoopKind::Nested | LoopKind::Cartesian => {
            let lists: Vec<Vec<Json>> = list(items)?
                .into_iter()
                .map(list)
                .collect::<Result<_, _>>()?;
            Ok(if matches!(kind, LoopKind::Together) {
                drover_template::loop_lookups::together(&lists)
            } else {
                drover_template::loop_lookups::nested(lists)
            })
        }
    }
}

/// An `until` loop's last attempt: its count, and a failure when the
/// condition never held; registered again with both.
fn last_attempt(
    task: &Task,
    host: &mut HostState,
    mut outcome: Outcome,
    attempts: u32,
    done: bool,
) -> Outcome {
    if let Json::Object(map) = &mut outcome.result {
        map.insert("attempts".to_owned(), Json::from(attempts));
    }
    if !done && outcome.status != Status::Unreachable {
        outcome.status = if task.settings.ignore_errors == Some(true) {
            Status::Ignored
        } else {
            Status::Failed
        };
        outcome.result["failed"] = Json::Bool(true);
    }
    register(task, host, &outcome);
    outcome
}

/// The module a task names: as written, or rendered when the name is a
/// template (`action: "{{ packager }} ..."`).
fn module_name<'a>(
    name: &'a str,
    scope: &Scope,
    templar: &drover_template::Templar,
) -> Result<std::borrow::Cow<'a, str>, drover_template::Error> {
    if !drover_template::is_template(name) {
        return Ok(std::borrow::Cow::Borrowed(name));
    }
    let text = drover_template::as_text(&templar.render_text(name, scope)?);
    Ok(std::borrow::Cow::Owned(
        drover_playbook::short_module_name(text.trim()).to_owned(),
    ))
}

/// Runs the task once (for one loop item, or without a loop).
async fn run_item(
    task: &Task,
    host: &mut HostState,
    scope: &Scope,
    environment: &TaskEnvironment<'_>,
) -> Outcome {
    match when(task, environment.templar, scope) {
        Verdict::Runs => {}
        Verdict::Skipped(condition) => {
            // A skipped task's result is registered too, as in Ansible:
            // later conditions may ask `result is skipped`.
            let outcome = Outcome::skipped(&condition);
            register(task, host, &outcome);
            return outcome;
        }
        Verdict::Failed(message) => return Outcome::in_task(task, message, None),
    }
    let Action::Module { name, arguments } = &task.action else {
        return Outcome::failed("this action cannot run as a task".to_owned());
    };
    let rendered = module_name(name, scope, environment.templar).and_then(|name| {
        Ok((
            name,
            render_arguments(arguments, scope, environment.templar)?,
        ))
    });
    let (name, arguments) = match rendered {
        Ok(rendered) => rendered,
        Err(error) => return Outcome::in_task(task, error.to_string(), error.hint()),
    };
    let name = name.as_ref();
    let (retries, delay) = match (
        number(&task.retries, scope, environment.templar),
        number(&task.delay, scope, environment.templar),
    ) {
        (Ok(retries), Ok(delay)) => (retries, delay),
        (Err(message), _) | (_, Err(message)) => return Outcome::in_task(task, message, None),
    };
    let templated = matches!(&task.action, Action::Module { name: written, .. } if written != name);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut outcome =
            crate::asynchronous::invoke(name, &arguments, task, host, scope, environment).await;
        if templated {
            outcome.module = Some(name.to_owned());
        }
        let Some(until) = &task.until else {
            return finish(task, host, scope, environment, outcome);
        };
        let outcome = finish(task, host, scope, environment, outcome);
        // A module that skipped (check mode, `creates`) has nothing to retry.
        if outcome.status == Status::Skipped {
            return outcome;
        }
        let name = task.register.clone().unwrap_or_else(|| "result".to_owned());
        let mut layer = Vars::new();
        layer.insert(name, outcome.result.clone());
        let done = environment
            .templar
            .condition(until, &scope.with_layer(Arc::new(layer)))
            .unwrap_or(false);
        if done || f64::from(attempts) > retries || outcome.status == Status::Unreachable {
            return last_attempt(task, host, outcome, attempts, done);
        }
        tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0))).await;
    }
}

/// `retries:` or `delay:` as a number, rendered first when a template.
pub(crate) fn number(value: &Json, scope: &Scope, templar: &Templar) -> Result<f64, String> {
    let rendered = templar
        .render(value, scope)
        .map_err(|error| format!("`{value}`: {error}"))?;
    match &rendered {
        Json::Number(number) => number.as_f64(),
        Json::String(text) => text.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("`retries`, `delay`, `async` and `poll` take numbers, not `{rendered}`"))
}

/// A module's arguments rendered for `scope`, those that render to `omit` left out.
pub(crate) fn render_arguments(
    arguments: &Vars,
    scope: &Scope,
    templar: &Templar,
) -> Result<Vars, drover_template::Error> {
    Ok(
        match templar.render(&Json::Object(arguments.clone()), scope)? {
            Json::Object(map) => map
                .into_iter()
                .filter(|(_, value)| value.as_str() != Some(OMIT))
                .collect(),
            _ => Vars::new(),
        },
    )
}

/// `, in task `NAME` at PATH:LINE`, for messages about a task's templates.
/// What a task's or block's `when` says for one host.
pub(crate) enum Verdict {
    /// Every condition holds.
    Runs,
    /// This condition is false.
    Skipped(String),
    /// A condition could not be evaluated: the host fails, with this message.
    Failed(String),
}

/// Evaluates `task.when` in `scope`. Tasks, blocks and the read-ahead all
/// ask here, so a condition that cannot be evaluated fails the host the
/// same way wherever it is written (never silently reads as false).
pub(crate) fn when(task: &Task, templar: &drover_template::Templar, scope: &Scope) -> Verdict {
    for condition in &task.when {
        match templar.condition(condition, scope) {
            Ok(true) => {}
            Ok(false) => return Verdict::Skipped(condition.clone()),
            Err(error) => {
                return Verdict::Failed(format!(
                    "the condition `{condition}` could not be evaluated: {error}"
                ));
            }
        }
    }
    Verdict::Runs
}

fn where_written(task: &Task) -> String {
    format!(
        ", in task `{}` at {}:{}",
        task.display_name(),
        task.location.path.display(),
        task.location.line
    )
}

/// Calls the module on the host (or its delegate).
pub(crate) async fn invoke(
    name: &str,
    arguments: &Vars,
    task: &Task,
    host: &HostState,
    scope: &Scope,
    environment: &TaskEnvironment<'_>,
) -> Outcome {
    let session = environment
        .delegate
        .clone()
        .unwrap_or_else(|| host.session.clone());
    let context = module_context(task, &session, host, scope, environment);
    match drover_modules::run(name, arguments, &context).await {
        Ok(result) => {
            let status = match () {
                () if result.failed => Status::Failed,
                () if result.skipped => Status::Skipped,
                () if result.changed => Status::Changed,
                () => Status::Ok,
            };
            let mut value = result.values.clone();
            value.insert("changed".to_owned(), Json::Bool(result.changed));
            if result.failed {
                value.insert("failed".to_owned(), Json::Bool(true));
            }
            if result.skipped {
                value.insert("skipped".to_owned(), Json::Bool(true));
            }
            if let Some(message) = &result.message {
                value.insert("msg".to_owned(), Json::from(message.clone()));
            }
            Outcome {
                status,
                result: Json::Object(value),
                diff: result.diff.map(|diff| diff.unified()),
                item: None,
                problem: None,
                module: None,
                timing: None,
            }
        }
        Err(drover_modules::Error::Transport(error)) if error.is_unreachable() => {
            Outcome::transport(&error)
        }
        Err(drover_modules::Error::Arguments(message)) => {
            let (message, hint) = match message.split_once("\nhint: ") {
                Some((message, hint)) => (message.to_owned(), Some(hint.to_owned())),
                None => (message, None),
            };
            Outcome::in_task(task, message, hint)
        }
        Err(error) => Outcome::failed(error.to_string()),
    }
}

/// What a module runs with for `task` on `host`, through `session` (the
/// host's, or its delegate's).
pub(crate) fn module_context<'a>(
    task: &Task,
    session: &'a HostSession,
    host: &HostState,
    scope: &'a Scope,
    environment: &TaskEnvironment<'a>,
) -> ModuleContext<'a> {
    // A templated `environment` gives the mapping; its own keys win.
    let mut variables = task
        .settings
        .environment_template
        .as_ref()
        .and_then(|template| {
            environment
                .templar
                .render(&Json::String(template.clone()), scope)
                .ok()
        })
        .and_then(|rendered| match rendered {
            Json::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    variables.extend(task.settings.environment.clone());
    let environment_vars: Vec<(String, String)> =
        match environment.templar.render(&Json::Object(variables), scope) {
            Ok(Json::Object(map)) => map
                .into_iter()
                .map(|(key, value)| (key, drover_template::as_text(&value)))
                .collect(),
            _ => Vec::new(),
        };
    let mut search_paths = Vec::new();
    if let Some(role) = &task.role {
        search_paths.push(role.path.clone());
    }
    search_paths.push(task.base.clone());
    // Ansible's search path ends at the playbook's own directory.
    if !search_paths
        .iter()
        .any(|path| path == environment.playbook_directory)
    {
        search_paths.push(environment.playbook_directory.to_path_buf());
    }
    ModuleContext {
        session,
        check_mode: host.probe.is_some()
            || task
                .settings
                .check_mode
                .unwrap_or(environment.options.check),
        diff: environment.options.diff,
        become_user: escalation(task, scope, environment.options),
        environment: environment_vars,
        search_paths,
        templar: environment.templar,
        scope,
        service_rollout: environment.service_rollout.clone(),
    }
}

/// `become` for a task: the task's and play's keywords, `-b`, then `ansible_become*` variables.
fn escalation(task: &Task, scope: &Scope, options: &RunOptions) -> Option<Become> {
    settings_escalation(&task.settings, scope, options)
}

/// The escalation `settings` (a task's, or a play's) ask for.
pub(crate) fn settings_escalation(
    settings: &drover_playbook::TaskSettings,
    scope: &Scope,
    options: &RunOptions,
) -> Option<Become> {
    let variable = |name: &str| scope.get(name).ok().flatten();
    let text = |name: &str| variable(name).and_then(|value| value.as_str().map(str::to_owned));
    let wanted = settings.become_root.unwrap_or_else(|| {
        options.become_forced
            || variable("ansible_become").is_some_and(|value| {
                drover_template::truthy(&value) && value != "no" && value != "false"
            })
    });
    if !wanted {
        return None;
    }
    let method = match settings
        .become_method
        .clone()
        .or_else(|| text("ansible_become_method"))
        .as_deref()
    {
        Some("su") => BecomeMethod::Su,
        Some(_) => BecomeMethod::Sudo,
        None => options.become_method.unwrap_or(BecomeMethod::Sudo),
    };
    Some(Become {
        method,
        user: settings
            .become_user
            .clone()
            .map(|user| {
                if drover_template::is_template(&user) {
                    scope.render_string(&user).unwrap_or(user)
                } else {
                    user
                }
            })
            .or_else(|| options.become_user.clone())
            .or_else(|| text("ansible_become_user"))
            .unwrap_or_else(|| "root".to_owned()),
        password: text("ansible_become_password")
            .or_else(|| text("ansible_become_pass"))
            .map(Secret::new)
            .or_else(|| options.become_password.clone()),
    })
}

/// Applies `changed_when`, `failed_when`, `ignore_errors` and `register`.
fn finish(
    task: &Task,
    host: &mut HostState,
    scope: &Scope,
    environment: &TaskEnvironment<'_>,
    mut outcome: Outcome,
) -> Outcome {
    if outcome.status == Status::Unreachable || outcome.status == Status::Skipped {
        register(task, host, &outcome);
        return outcome;
    }
    if let Err(message) = judge(task, scope, environment.templar, &mut outcome) {
        return Outcome::failed(message);
    }
    if outcome.status == Status::Failed && task.settings.ignore_errors == Some(true) {
        outcome.status = Status::Ignored;
    }
    // A release the task made is what a failed rollout rolls back; so is
    // one it failed to make after changing the host (the old container was
    // stopped), so that the rollback reaches this host too.
    if changed_the_host(&outcome)
        && let Some(release) = outcome.result.get("release")
    {
        host.deployed.push(crate::host::Deployed {
            release: release.clone(),
            become_user: escalation(task, scope, environment.options),
        });
    }
    // Facts a module returns become the host's: `set_fact`'s and
    // `include_vars`' replace what they name, gathered ones (`setup`) merge.
    if outcome.status != Status::Failed
        && let Some(Json::Object(facts)) = outcome.result.get("ansible_facts")
    {
        // What `include_vars` reads from files is written by the playbook's
        // authors, and templated as any variable; everything else came from
        // a host or a module, and stays as it is.
        match &task.action {
            Action::Module { name, .. } if name == "include_vars" => {
                host.facts.extend(facts.clone());
            }
            Action::Module { name, .. } if name == "set_fact" => {
                host.facts.extend(drover_template::untrusted_map(facts));
            }
            Action::Module { name, .. } if name == "setup" || name == "gather_facts" => {
                crate::facts::merge(&mut host.facts, facts);
            }
            _ => crate::facts::inject(&mut host.facts, facts),
        }
    }
    register(task, host, &outcome);
    outcome
}

/// `changed_when` and `failed_when`, evaluated against the result (under
/// its `register` name, and its keys as they are); an error names the
/// condition that could not be evaluated.
fn judge(
    task: &Task,
    scope: &Scope,
    templar: &drover_template::Templar,
    outcome: &mut Outcome,
) -> Result<(), String> {
    let mut layer = Vars::new();
    if let Some(name) = &task.register {
        layer.insert(name.clone(), outcome.result.clone());
    }
    if let Json::Object(map) = &outcome.result {
        for (key, value) in map {
            layer.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    let result_scope = scope.with_layer(Arc::new(layer));
    let values = |keyword: &str, conditions: &[String]| -> Result<Vec<bool>, String> {
        conditions
            .iter()
            .map(|condition| {
                templar
                    .condition(condition, &result_scope)
                    .map_err(|error| format!("{keyword} `{condition}`: {error}"))
            })
            .collect()
    };
    if let Some(conditions) = &task.changed_when {
        // Several `changed_when` conditions: changed if all hold.
        let changed = values("changed_when", conditions)?
            .iter()
            .all(|value| *value);
        outcome.result["changed"] = Json::Bool(changed);
        if outcome.status != Status::Failed {
            outcome.status = if changed { Status::Changed } else { Status::Ok };
        }
    }
    if let Some(conditions) = &task.failed_when {
        // Several `failed_when` conditions fail the task if any holds.
        let failed = values("failed_when", conditions)?
            .iter()
            .any(|value| *value);
        outcome.result["failed"] = Json::Bool(failed);
        outcome.status = match (failed, outcome.result["changed"].as_bool().unwrap_or(false)) {
            (true, _) => Status::Failed,
            (false, true) => Status::Changed,
            (false, false) => Status::Ok,
        };
    }
    Ok(())
}

/// Whether a task changed the host: it reports a change, or it failed
/// after changing something (`changed: true` beside `failed: true`).
pub(crate) fn changed_the_host(outcome: &Outcome) -> bool {
    outcome.status == Status::Changed
        || (outcome.status == Status::Failed && outcome.result["changed"] == true)
}

fn register(task: &Task, host: &mut HostState, outcome: &Outcome) {
    if task.loop_over.is_none()
        && let Some(name) = &task.register
    {
        host.facts
            .insert(name.clone(), drover_template::untrusted(&outcome.result));
    }
}
