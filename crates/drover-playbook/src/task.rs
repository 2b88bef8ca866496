//! Tasks: keywords, the module and its arguments, loops, blocks and imports.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use drover_inventory::yaml_tree::{Node, NodeValue};
use serde_json::Value as Json;

use crate::catalog::check_arguments;
use crate::error::{SourceLocation, did_you_mean};
use crate::loader::{Loader, MAX_NESTING, boolean, mapping, sequence, string_list, text};
use crate::model::{Action, Asynchronous, Loop, LoopKind, Role, Task, TaskSettings, Vars};

/// Task keywords drover understands.
const KEYWORDS: [&str; 40] = [
    "name",
    "action",
    "local_action",
    "args",
    "become",
    "become_user",
    "become_method",
    "changed_when",
    "check_mode",
    "connection",
    "delay",
    "delegate_to",
    "environment",
    "failed_when",
    "ignore_errors",
    "ignore_unreachable",
    "loop",
    "loop_control",
    "no_log",
    "notify",
    "register",
    "remote_user",
    "retries",
    "run_once",
    "tags",
    "throttle",
    "until",
    "vars",
    "when",
    "listen",
    "block",
    "rescue",
    "always",
    "any_errors_fatal",
    "diff",
    "delegate_facts",
    "timeout",
    "collections",
    "async",
    "poll",
];

/// Loop keywords, and how each shapes its items.
const LOOPS: [(&str, LoopKind); 16] = [
    ("loop", LoopKind::List),
    ("with_list", LoopKind::List),
    ("with_items", LoopKind::Items),
    ("with_dict", LoopKind::Dict),
    ("with_indexed_items", LoopKind::Indexed),
    ("with_together", LoopKind::Together),
    ("with_nested", LoopKind::Nested),
    ("with_first_found", LoopKind::FirstFound),
    ("with_subelements", LoopKind::Subelements),
    ("with_sequence", LoopKind::Sequence),
    ("with_fileglob", LoopKind::Fileglob),
    ("with_lines", LoopKind::Lines),
    ("with_flattened", LoopKind::Flattened),
    ("with_cartesian", LoopKind::Cartesian),
    ("with_random_choice", LoopKind::RandomChoice),
    ("with_inventory_hostnames", LoopKind::InventoryHostnames),
];

/// What tasks inherit from where they are written.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    pub(crate) path: PathBuf,
    pub(crate) base: PathBuf,
    pub(crate) settings: TaskSettings,
    pub(crate) tags: Vec<String>,
    pub(crate) when: Vec<String>,
    pub(crate) vars: Vars,
    pub(crate) role: Option<Arc<Role>>,
    /// Reading handlers: an `include_tasks` handler keeps its name and
    /// includes its file when notified.
    pub(crate) handlers: bool,
}

impl Context {
    /// What the tasks an include, import or block holds inherit from
    /// `task`, which holds them: its settings, tags, conditions and vars.
    pub(crate) fn inside(&self, task: &Task) -> Self {
        Self {
            settings: task.settings.clone(),
            tags: task.tags.clone(),
            when: task.when.clone(),
            vars: task.vars.clone(),
            ..self.clone()
        }
    }
}

/// A number, a string holding one, or a template (rendered when the task
/// runs); `None` for anything else.
fn number_or_template(value: &Node) -> Option<Json> {
    match value.to_json() {
        Json::Number(number) => Some(Json::Number(number)),
        Json::String(text) if drover_template::is_template(&text) => Some(Json::String(text)),
        Json::String(text) => text.trim().parse::<f64>().ok().map(Json::from),
        _ => None,
    }
}

/// `retries`, `delay`, `async` or `poll` (Ansible's default `poll` is 15).
fn set_number(task: &mut Task, word: &str, number: Json) {
    match word {
        "retries" => task.retries = number,
        "delay" => task.delay = number,
        _ => {
            let asynchronous = task.asynchronous.get_or_insert_with(|| Asynchronous {
                seconds: Json::from(0),
                poll: Json::from(15),
            });
            if word == "async" {
                asynchronous.seconds = number;
            } else {
                asynchronous.poll = number;
            }
        }
    }
}

/// `environment:` on a task or play: a mapping merged into what the task
/// inherits, or a template giving one; whether the value was either.
pub(crate) fn set_environment(settings: &mut TaskSettings, value: &Node) -> bool {
    match value.to_json() {
        Json::Object(map) => settings.environment.extend(map),
        Json::String(text) if drover_template::is_template(&text) => {
            settings.environment_template = Some(text);
        }
        Json::Null => {}
        _ => return false,
    }
    true
}

/// Module names as written, with Ansible's collection prefixes removed.
pub(crate) fn short_module_name(name: &str) -> &str {
    crate::ansible_names::short_name(name)
}

/// A task while its keys are read: its module and arguments, and the
/// parts (a block's sections, `loop_control`) read once every key is.
struct TaskParts<'n> {
    task: Task,
    /// The module as written, with its key and value.
    module: Option<(String, &'n Node, &'n Node)>,
    arguments: Vars,
    loop_control: Option<&'n Node>,
    /// `block`, `rescue` and `always`.
    block: [Option<&'n Node>; 3],
}

/// A task at `location` with nothing of its own yet: what it inherits
/// from `context` (its block, role or play) and Ansible's defaults.
fn empty_task(location: SourceLocation, context: &Context) -> Task {
    let mut vars = context.vars.clone();
    // A role's tasks see `role_path` and `role_name`, as in Ansible.
    if let Some(role) = &context.role {
        let path = std::path::absolute(&role.path).unwrap_or_else(|_| role.path.clone());
        vars.insert(
            "role_path".to_owned(),
            Json::from(path.display().to_string()),
        );
        vars.insert("role_name".to_owned(), Json::from(role.name.clone()));
    }
    Task {
        location,
        name: None,
        action: Action::Meta("noop".to_owned()),
        when: context.when.clone(),
        loop_over: None,
        register: None,
        changed_when: None,
        failed_when: None,
        until: None,
        retries: Json::from(3),
        delay: Json::from(5),
        notify: Vec::new(),
        listen: Vec::new(),
        tags: context.tags.clone(),
        delegate_to: None,
        run_once: false,
        throttle: None,
        asynchronous: None,
        vars,
        settings: context.settings.clone(),
        role: context.role.clone(),
        base: context.base.clone(),
    }
}

impl Loader<'_> {
    /// Reads a list of tasks.
    pub(crate) fn tasks(&mut self, node: &Node, context: &Context) -> Vec<Task> {
        let Some(items) = sequence(node) else {
            self.errors.invalid(
                node.location(&context.path),
                "a task list must be a YAML list",
                Some("start each task with `- name:`".to_owned()),
            );
            return Vec::new();
        };
        items
            .iter()
            .flat_map(|item| self.task(item, context))
            .collect()
    }

    /// Reads a task file (for `import_tasks` and roles).
    pub(crate) fn task_file(
        &mut self,
        path: &Path,
        context: &Context,
        referred_at: Option<SourceLocation>,
    ) -> Vec<Task> {
        if self.depth >= MAX_NESTING {
            if let Some(location) = referred_at {
                self.errors
                    .invalid(location, "task files include each other in a loop", None);
            }
            return Vec::new();
        }
        let Some(node) = self.read_yaml(path, referred_at) else {
            return Vec::new();
        };
        let context = Context {
            path: path.to_path_buf(),
            base: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            ..context.clone()
        };
        self.depth += 1;
        let tasks = self.tasks(&node, &context);
        self.depth -= 1;
        tasks
    }

    /// Reads one task; imports expand to several.
    fn task(&mut self, node: &Node, context: &Context) -> Vec<Task> {
        let location = node.location(&context.path);
        let Some(entries) = mapping(node) else {
            self.errors.invalid(
                location,
                format!("a task must be a mapping, found a {}", node.type_name()),
                Some("write `- name: ...` followed by the module, as `copy: ...`".to_owned()),
            );
            return Vec::new();
        };
        let mut parts = TaskParts {
            task: empty_task(location.clone(), context),
            module: None,
            arguments: Vars::new(),
            loop_control: None,
            block: [None, None, None],
        };
        for (key, value) in entries {
            self.task_keyword(&mut parts, key, value, context);
        }
        let TaskParts {
            mut task,
            module,
            arguments,
            loop_control,
            block,
        } = parts;
        if block.iter().any(Option::is_some) {
            return self.block_task(task, block, context);
        }
        let Some((written, key, value)) = module else {
            self.errors.invalid(
                location,
                "this task has no module",
                Some(
                    "add a module, for example `command: uptime` or `debug: msg=hello`".to_owned(),
                ),
            );
            return Vec::new();
        };
        if let Some(control) = loop_control {
            self.loop_control(&mut task, control, context);
        }
        self.action(
            task,
            short_module_name(&written),
            key,
            value,
            arguments,
            context,
        )
    }

    /// Reads one key of a task into `parts`.
    fn task_keyword<'n>(
        &mut self,
        parts: &mut TaskParts<'n>,
        key: &'n Node,
        value: &'n Node,
        context: &Context,
    ) {
        let word = key.key_text();
        let here = key
            .location(&context.path)
            .with_length(word.chars().count());
        match word.as_str() {
            "block" => parts.block[0] = Some(value),
            "rescue" => parts.block[1] = Some(value),
            "always" => parts.block[2] = Some(value),
            "loop_control" => parts.loop_control = Some(value),
            "args" => match value.to_json() {
                Json::Object(map) => parts.arguments.extend(map),
                _ => self.errors.invalid(here, "`args` must be a mapping", None),
            },
            "action" | "local_action" => self.action_line(parts, &word, key, value, here),
            "loop" => self.task_loop(&mut parts.task, value, here),
            _ if word.starts_with("with_") => match LOOPS.iter().find(|(name, _)| *name == word) {
                Some((_, kind)) => {
                    parts.task.loop_over = Some(Self::new_loop(value, kind.clone()));
                }
                None => self.errors.invalid(
                    here,
                    format!("the `{word}` loop is not supported"),
                    Some("use `loop:` with a filter, as Ansible recommends".to_owned()),
                ),
            },
            _ if KEYWORDS.contains(&word.as_str()) => {
                self.keyword(&mut parts.task, &word, value, &here);
            }
            _ => self.module_key(parts, word, key, value, here),
        }
    }

    /// `action: MODULE ARGUMENTS` (and `local_action`, which also delegates
    /// to `localhost`).
    fn action_line<'n>(
        &mut self,
        parts: &mut TaskParts<'n>,
        word: &str,
        key: &'n Node,
        value: &'n Node,
        here: SourceLocation,
    ) {
        // The mapping form: `action: {module: NAME, ARGUMENT: VALUE ...}`.
        if let Json::Object(mut map) = value.to_json()
            && let Some(Json::String(name)) = map.remove("module")
        {
            parts.module = Some((short_module_name(&name).to_owned(), key, value));
            parts.arguments.extend(map);
        } else if let Some(line) = text(value) {
            let (name, rest) = split_module_name(&line);
            parts.module = Some((short_module_name(name).to_owned(), key, value));
            // A templated name is known only when the task runs: its
            // `key=value` arguments are read, and checked then.
            let free_form = self
                .catalog
                .module(short_module_name(name))
                .is_some_and(|spec| spec.free_form);
            parts
                .arguments
                .extend(crate::arguments::parse(rest, free_form));
        } else {
            self.errors.invalid(
                here,
                format!("`{word}` must be `module arguments...` or a mapping with `module:`"),
                None,
            );
            return;
        }
        if word == "local_action" {
            parts.task.delegate_to = Some("localhost".to_owned());
        }
    }

    /// `loop:` a list, or a template that gives one.
    fn task_loop(&mut self, task: &mut Task, value: &Node, here: SourceLocation) {
        let literal = !matches!(value.value, NodeValue::Sequence(_) | NodeValue::String(_));
        let untemplated =
            matches!(&value.value, NodeValue::String(text) if !drover_template::is_template(text));
        if literal || untemplated {
            self.errors.invalid(
                here,
                format!("`loop` needs a list, not `{}`", value.to_json()),
                Some(
                    "write a YAML list, or a template such as `{{ users }}` that gives one"
                        .to_owned(),
                ),
            );
        }
        task.loop_over = Some(Self::new_loop(value, LoopKind::List));
    }

    /// A key that is no keyword: the task's module, unless it already has
    /// one (or the key is a misspelt keyword).
    fn module_key<'n>(
        &mut self,
        parts: &mut TaskParts<'n>,
        word: String,
        key: &'n Node,
        value: &'n Node,
        here: SourceLocation,
    ) {
        let keyword = did_you_mean(&word, KEYWORDS);
        if let (Some(hint), Some(_)) = (keyword, &parts.module) {
            self.errors
                .invalid(here, format!("unknown task keyword `{word}`"), Some(hint));
            return;
        }
        if let Some((previous, _, _)) = &parts.module {
            self.errors.invalid(
                here,
                format!("a task runs one module, but this one names `{previous}` and `{word}`"),
                Some("split it into two tasks, or fix the indentation".to_owned()),
            );
            return;
        }
        parts.module = Some((word, key, value));
    }

    fn new_loop(value: &Node, kind: LoopKind) -> Loop {
        Loop {
            items: value.to_json(),
            kind,
            variable: "item".to_owned(),
            index_variable: None,
            label: None,
            pause: None,
        }
    }

    fn loop_control(&mut self, task: &mut Task, control: &Node, context: &Context) {
        let Some(entries) = mapping(control) else {
            self.errors.invalid(
                control.location(&context.path),
                "`loop_control` must be a mapping",
                None,
            );
            return;
        };
        let Some(looping) = task.loop_over.as_mut() else {
            self.errors.invalid(
                control.location(&context.path),
                "`loop_control` without a loop",
                Some("add `loop:`".to_owned()),
            );
            return;
        };
        for (key, value) in entries {
            match key.key_text().as_str() {
                "loop_var" => looping.variable = text(value).unwrap_or_else(|| "item".to_owned()),
                "index_var" => looping.index_variable = text(value),
                "label" => looping.label = Some(value.to_json()),
                "pause" => looping.pause = value.to_json().as_f64(),
                "extended" | "extended_allitems" => {}
                other => self.errors.invalid(
                    key.location(&context.path),
                    format!("unknown `loop_control` key `{other}`"),
                    did_you_mean(
                        other,
                        ["loop_var", "index_var", "label", "pause", "extended"],
                    ),
                ),
            }
        }
    }

    /// Applies one task keyword.
    fn keyword(&mut self, task: &mut Task, word: &str, value: &Node, here: &SourceLocation) {
        let bad = |loader: &mut Self, expected: &str| {
            loader.errors.invalid(
                here.clone(),
                format!("`{word}` must be {expected}, found a {}", value.type_name()),
                None,
            );
        };
        match word {
            "name" => task.name = text(value),
            "when" | "changed_when" | "failed_when" | "until" => {
                self.conditions(task, word, value, here);
            }
            "register" => self.register(task, value, here),
            "notify" => task.notify = string_list(value).unwrap_or_default(),
            "listen" => task.listen = string_list(value).unwrap_or_default(),
            "tags" => {
                task.tags
                    .extend(
                        string_list(value)
                            .unwrap_or_default()
                            .into_iter()
                            .flat_map(|tag| {
                                tag.split(',')
                                    .map(|t| t.trim().to_owned())
                                    .collect::<Vec<_>>()
                            }),
                    );
            }
            "delegate_to" => task.delegate_to = text(value),
            "run_once" => task.run_once = boolean(value).unwrap_or(false),
            "retries" | "delay" | "async" | "poll" => match number_or_template(value) {
                Some(number) => set_number(task, word, number),
                None => bad(self, "a number (or a template that gives one)"),
            },
            "throttle" => {
                task.throttle = value
                    .to_json()
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok());
            }
            "vars" => match value.to_json() {
                Json::Object(map) => task.vars.extend(map),
                _ => bad(self, "a mapping"),
            },
            "environment" => {
                if !set_environment(&mut task.settings, value) {
                    bad(self, "a mapping (or a template that gives one)");
                }
            }
            _ => {
                if let Some(problem) = setting_problem(word, value) {
                    self.errors
                        .invalid(here.clone(), problem, Some(setting_hint(word)));
                }
                apply_setting(&mut task.settings, word, value);
            }
        }
    }

    /// `when`, `changed_when`, `failed_when` and `until`: conditions,
    /// each checked as an expression now.
    fn conditions(&mut self, task: &mut Task, word: &str, value: &Node, here: &SourceLocation) {
        let Some(conditions) = string_list(value) else {
            self.errors.invalid(
                here.clone(),
                format!(
                    "`{word}` must be a condition or a list of them, found a {}",
                    value.type_name()
                ),
                None,
            );
            return;
        };
        for condition in &conditions {
            self.check_expression(condition, here);
        }
        match word {
            "when" => task.when.extend(conditions),
            "changed_when" => task.changed_when = Some(conditions),
            "failed_when" => task.failed_when = Some(conditions),
            // Ansible's `until` is a list too: all must hold.
            _ => {
                task.until = match conditions.as_slice() {
                    [] => None,
                    [one] => Some(one.clone()),
                    many => Some(format!("({})", many.join(") and ("))),
                };
            }
        }
    }

    /// `register: NAME`, which must be a variable name.
    fn register(&mut self, task: &mut Task, value: &Node, here: &SourceLocation) {
        task.register = text(value);
        let valid = task.register.as_deref().is_some_and(|name| {
            name.chars()
                .next()
                .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
                && name
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric() || character == '_')
        });
        if !valid {
            self.errors.invalid(
                here.clone(),
                format!(
                    "`register` needs a variable name, not `{}`",
                    value.to_json()
                ),
                Some("a name is letters, digits and `_`, not starting with a digit".to_owned()),
            );
        }
    }

    fn block_task(
        &mut self,
        mut task: Task,
        parts: [Option<&Node>; 3],
        context: &Context,
    ) -> Vec<Task> {
        let inner = Context {
            settings: task.settings.clone(),
            tags: task.tags.clone(),
            when: Vec::new(),
            vars: task.vars.clone(),
            ..context.clone()
        };
        let [block, rescue, always] = parts.map(|part| {
            part.map(|node| self.tasks(node, &inner))
                .unwrap_or_default()
        });
        task.action = Action::Block {
            block,
            rescue,
            always,
        };
        vec![task]
    }

    /// The actions that are no module: imports, includes and `meta`.
    fn structural(
        &mut self,
        mut task: Task,
        name: &str,
        value: &Node,
        arguments: &Vars,
        context: &Context,
        here: SourceLocation,
    ) -> Vec<Task> {
        match name {
            "include" => {
                let hint =
                    "use `include_tasks` (read when the task runs) or `import_tasks` (read now)";
                let message = "`include` was removed in Ansible 2.19";
                self.errors.invalid(here, message, Some(hint.to_owned()));
                Vec::new()
            }
            "import_tasks" | "include_tasks" => {
                self.include(task, name, value, arguments, context, &here)
            }
            "import_role" | "include_role" => self.role_task(&task, name, value, context, &here),
            _ => {
                task.action = Action::Meta(text(value).unwrap_or_default());
                vec![task]
            }
        }
    }

    /// Resolves the module or import a task names.
    fn action(
        &mut self,
        mut task: Task,
        name: &str,
        key: &Node,
        value: &Node,
        mut arguments: Vars,
        context: &Context,
    ) -> Vec<Task> {
        let here = key
            .location(&context.path)
            .with_length(name.chars().count());
        if matches!(
            name,
            "include" | "import_tasks" | "include_tasks" | "import_role" | "include_role" | "meta"
        ) {
            return self.structural(task, name, value, &arguments, context, here);
        }
        // `action:` and `local_action:` lines were read with their module.
        let from_action = matches!(key.key_text().as_str(), "action" | "local_action");
        // `action: "{{ packager }} name=git"`: the module is named when the
        // task runs, and its arguments are checked then.
        if from_action && drover_template::is_template(name) {
            self.check_templates(&Json::Object(arguments.clone()), &here);
            task.action = Action::Module {
                name: name.to_owned(),
                arguments,
            };
            return vec![task];
        }
        let Some(spec) = self.catalog.module(name) else {
            // Ansible knows a module by the name as written (its collection's).
            let written = if from_action {
                name.to_owned()
            } else {
                key.key_text()
            };
            let value = (!from_action).then_some(value);
            return self.unimplemented(task, &written, value, arguments, here);
        };
        match &value.value {
            _ if from_action => {}
            NodeValue::Mapping(_) => {
                if let Json::Object(map) = value.to_json() {
                    arguments.extend(map);
                }
            }
            NodeValue::Null => {}
            _ => arguments.extend(crate::arguments::parse(
                &text(value).unwrap_or_default(),
                spec.free_form,
            )),
        }
        self.check_module_arguments(spec, &arguments, value, &context.path);
        let here = value.location(&context.path);
        self.check_templates(&Json::Object(arguments.clone()), &here);
        if spec.name == "docker_stack" {
            self.check_stack_files(&task, &arguments, context, &here);
        } else {
            self.check_controller_file(&task, spec.name, &arguments, context, &here);
        }
        task.action = Action::Module {
            name: spec.name.to_owned(),
            arguments,
        };
        vec![task]
    }

    /// A module drover does not have: one Ansible knows loads with a
    /// warning (the task fails if it runs: the roles that use such modules
    /// mostly guard them with `when:` for other systems); any other name
    /// is an error, as Ansible has it.
    fn unimplemented(
        &mut self,
        mut task: Task,
        name: &str,
        value: Option<&Node>,
        mut arguments: Vars,
        here: SourceLocation,
    ) -> Vec<Task> {
        if !crate::known_to_ansible(name) {
            let hint = did_you_mean(name, self.catalog.names())
                .or_else(|| Some("see `docs/modules.md` for the modules drover has".to_owned()));
            self.errors
                .invalid(here, format!("unknown module `{name}`"), hint);
            return Vec::new();
        }
        self.errors.defer(
            here,
            format!("`{name}` is not implemented by drover; the task fails if it runs"),
            Some("see `docs/modules.md` for the modules drover has".to_owned()),
        );
        match value.map_or(Json::Null, Node::to_json) {
            Json::Object(map) => arguments.extend(map),
            Json::Null => {}
            other => arguments.extend(crate::arguments::parse(
                &drover_template::as_text(&other),
                false,
            )),
        }
        task.action = Action::Module {
            name: name.to_owned(),
            arguments,
        };
        vec![task]
    }

    /// A `template` or `copy` source named without variables must exist
    /// on the controller; a template's own syntax is checked too, pointing
    /// at its line.
    fn check_controller_file(
        &mut self,
        task: &Task,
        module: &str,
        arguments: &Vars,
        context: &Context,
        here: &SourceLocation,
    ) {
        let kind = match module {
            "template" => "templates",
            "copy"
                if arguments.get("remote_src").is_none_or(|remote| {
                    !matches!(remote, Json::Bool(true))
                        && remote.as_str().and_then(crate::catalog::parse_bool) != Some(true)
                }) =>
            {
                "files"
            }
            _ => return,
        };
        let Some(Json::String(source)) = arguments.get("src") else {
            return;
        };
        if drover_template::is_template(source) {
            return;
        }
        let name = Path::new(source);
        let mut bases: Vec<PathBuf> = Vec::new();
        if let Some(role) = &task.role {
            bases.push(role.path.clone());
        }
        bases.push(context.base.clone());
        bases.push(self.base.clone());
        let found = if name.is_absolute() {
            name.exists().then(|| name.to_path_buf())
        } else {
            bases
                .iter()
                .flat_map(|base| [base.join(kind).join(name), base.join(name)])
                .find(|candidate| candidate.exists())
        };
        let Some(found) = found else {
            self.errors.defer(
                here.clone(),
                format!("the {module} source `{source}` does not exist"),
                Some(format!(
                    "looked in `{kind}/` and beside the task's file, the role and the playbook"
                )),
            );
            return;
        };
        if module != "template" || found.is_dir() {
            return;
        }
        let Ok(text) = std::fs::read_to_string(&found) else {
            return;
        };
        if let Err(drover_template::Error::Syntax { message, line }) =
            self.templar.check_template(&text)
        {
            self.errors.invalid(
                SourceLocation::new(&found, line.unwrap_or(1), 1),
                format!("template syntax error: {message}"),
                Some("check the `{{ }}` and `{% %}` pairs in the template file".to_owned()),
            );
        }
    }

    fn include(
        &mut self,
        task: Task,
        name: &str,
        value: &Node,
        arguments: &Vars,
        context: &Context,
        here: &SourceLocation,
    ) -> Vec<Task> {
        let file = match (text(value), arguments.get("file")) {
            (Some(file), _) if !file.is_empty() => file,
            (_, Some(Json::String(file))) => file.clone(),
            _ => {
                self.errors
                    .invalid(here.clone(), format!("`{name}` needs a file name"), None);
                return Vec::new();
            }
        };
        let dynamic = name == "include_tasks" && (context.handlers || task.loop_over.is_some());
        if drover_template::is_template(&file) || dynamic {
            if name == "import_tasks" {
                self.errors.invalid(here.clone(), "`import_tasks` is read before the play runs and cannot use variables in its file name", Some("use `include_tasks`".to_owned()));
                return Vec::new();
            }
            let mut task = task;
            task.action = Action::IncludeTasks {
                file,
                base: context.base.clone(),
            };
            return vec![task];
        }
        let inner = context.inside(&task);
        let role = context.role.as_ref().map(|role| role.path.as_path());
        let path = resolve_task_file(&context.base, role, &file);
        if !path.exists() && name == "include_tasks" {
            // Ansible reads an `include_tasks` file when the task runs.
            self.errors.defer(
                here.clone(),
                format!("the task file `{file}` does not exist; the task fails if it runs"),
                Some("relative names start at the including file's directory, or the role's `tasks/`".to_owned()),
            );
            let mut task = task;
            task.action = Action::IncludeTasks {
                file,
                base: context.base.clone(),
            };
            return vec![task];
        }
        self.task_file(&path, &inner, Some(here.clone()))
    }

    fn role_task(
        &mut self,
        task: &Task,
        keyword: &str,
        value: &Node,
        context: &Context,
        here: &SourceLocation,
    ) -> Vec<Task> {
        let Some(entries) = mapping(value) else {
            self.errors.invalid(
                here.clone(),
                "`import_role` takes a mapping with `name:`",
                None,
            );
            return Vec::new();
        };
        let get = |wanted: &str| {
            entries
                .iter()
                .find(|(key, _)| key.key_text() == wanted)
                .and_then(|(_, value)| text(value))
        };
        let Some(name) = get("name") else {
            self.errors
                .invalid(here.clone(), "`import_role` needs `name:`", None);
            return Vec::new();
        };
        let from = |key: &str| get(key).unwrap_or_else(|| "main".to_owned());
        let (tasks, vars, defaults, handlers) = (
            from("tasks_from"),
            from("vars_from"),
            from("defaults_from"),
            from("handlers_from"),
        );
        let files = crate::play::RoleFiles {
            tasks: &tasks,
            vars: &vars,
            defaults: &defaults,
            handlers: &handlers,
        };
        // `apply`: keywords for the role's tasks, as if the include had them.
        let mut holder = task.clone();
        if let Some((_, apply)) = entries.iter().find(|(key, _)| key.key_text() == "apply") {
            self.apply(&mut holder, apply, context);
        }
        if keyword == "include_role" && task.loop_over.is_some() {
            // Each loop item runs the role's tasks; the include's own `when`
            // is evaluated for it, once per host, when it runs.
            holder.when.clear();
            holder.loop_over = None;
            let inner = context.inside(&holder);
            let tasks = self.role_tasks(&name, &files, &Vars::new(), &inner, here);
            let mut include = task.clone();
            include.action = Action::IncludeRole { tasks };
            return vec![include];
        }
        let inner = context.inside(&holder);
        self.role_tasks(&name, &files, &Vars::new(), &inner, here)
    }

    /// `include_role`'s `apply:` mapping of task keywords.
    fn apply(&mut self, holder: &mut Task, apply: &Node, context: &Context) {
        let Some(entries) = mapping(apply) else {
            let here = apply.location(&context.path);
            self.errors
                .invalid(here, "`apply` takes a mapping of task keywords", None);
            return;
        };
        for (key, value) in entries {
            let word = key.key_text();
            let here = key
                .location(&context.path)
                .with_length(word.chars().count());
            if KEYWORDS.contains(&word.as_str()) {
                self.keyword(holder, &word, value, &here);
            } else {
                self.errors.invalid(
                    here,
                    format!("`{word}` is not a task keyword, so `apply` cannot hold it"),
                    Some(
                        "`apply` takes keywords such as tags, when, become and environment"
                            .to_owned(),
                    ),
                );
            }
        }
    }
}

impl Loader<'_> {
    /// Defers each problem with a task's arguments, pointing at the
    /// argument's own key when the task writes it as one.
    fn check_module_arguments(
        &mut self,
        spec: &crate::catalog::ModuleSpec,
        arguments: &Vars,
        value: &Node,
        path: &Path,
    ) {
        for problem in check_arguments(spec, arguments) {
            let here = problem
                .argument
                .as_deref()
                .and_then(|name| argument_key(value, name, path))
                .unwrap_or_else(|| value.location(path));
            self.errors.defer(here, problem.message, problem.hint);
        }
    }
}

/// An `action:` line's module name and the rest: the first word, or a
/// whole `{{ ... }}` template that names the module.
fn split_module_name(line: &str) -> (&str, &str) {
    let line = line.trim_start();
    if line.starts_with("{{")
        && let Some(end) = line.find("}}")
    {
        let (name, rest) = line.split_at(end + 2);
        return (name, rest.trim_start());
    }
    line.split_once(char::is_whitespace).unwrap_or((line, ""))
}

/// Where the key `name` is written in a module's mapping of arguments.
fn argument_key(value: &Node, name: &str, path: &Path) -> Option<SourceLocation> {
    let entries = mapping(value)?;
    let (key, _) = entries.iter().find(|(key, _)| key.key_text() == name)?;
    Some(key.location(path).with_length(name.chars().count()))
}

/// Applies a setting keyword shared by plays, blocks and tasks.
/// What is wrong with the value of a connection or escalation keyword.
pub(crate) fn setting_problem(word: &str, value: &Node) -> Option<String> {
    let string = ["become_user", "become_method", "remote_user", "connection"];
    let flag = [
        "become",
        "ignore_errors",
        "ignore_unreachable",
        "no_log",
        "check_mode",
        "any_errors_fatal",
    ];
    if string.contains(&word) && text(value).is_none() && value.value != NodeValue::Null {
        return Some(format!(
            "`{word}` must be a single word, not `{}`",
            value.to_json()
        ));
    }
    let templated =
        matches!(&value.value, NodeValue::String(text) if drover_template::is_template(text));
    if flag.contains(&word) && boolean(value).is_none() && !templated {
        return Some(format!(
            "`{word}` must be yes or no, not `{}`",
            value.to_json()
        ));
    }
    None
}

/// A hint for [`setting_problem`].
pub(crate) fn setting_hint(word: &str) -> String {
    match word {
        "become_user" | "remote_user" => format!("`{word}: deploy` names one user"),
        "become_method" => "`become_method` is `sudo` or `su`".to_owned(),
        "connection" => "`connection` is `ssh` or `local`".to_owned(),
        _ => format!("`{word}: yes` or `{word}: no`"),
    }
}

pub(crate) fn apply_setting(settings: &mut TaskSettings, word: &str, value: &Node) {
    match word {
        "become" => settings.become_root = boolean(value),
        "become_user" => settings.become_user = text(value),
        "become_method" => settings.become_method = text(value),
        "remote_user" => settings.remote_user = text(value),
        "connection" => settings.connection = text(value),
        "ignore_errors" => settings.ignore_errors = boolean(value),
        "ignore_unreachable" => settings.ignore_unreachable = boolean(value),
        "no_log" => settings.no_log = boolean(value),
        "check_mode" => settings.check_mode = boolean(value),
        "any_errors_fatal" => settings.any_errors_fatal = boolean(value),
        _ => {}
    }
}

/// Where an included task file is: beside the including file (or in its
/// `tasks/`), else in the role's `tasks/` or the role, as Ansible looks.
pub fn resolve_task_file(base: &Path, role: Option<&Path>, file: &str) -> PathBuf {
    let direct = base.join(file);
    let mut candidates = vec![direct.clone(), base.join("tasks").join(file)];
    if let Some(role) = role {
        candidates.push(role.join("tasks").join(file));
        candidates.push(role.join(file));
    }
    candidates
        .into_iter()
        .find(|candidate| candidate.exists())
        .unwrap_or(direct)
}
