//! Plays and roles.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use drover_inventory::yaml_tree::Node;
use serde_json::Value as Json;

use crate::error::{SourceLocation, did_you_mean};
use crate::loader::{Loader, MAX_NESTING, boolean, mapping, sequence, string_list, text};
use crate::model::{Batch, Play, PlayStrategy, Prompt, Role, Section, Task, TaskSettings, Vars};
use crate::task::{Context, apply_setting};

/// Play keywords drover understands.
const PLAY_KEYWORDS: [&str; 39] = [
    "name",
    "hosts",
    "vars",
    "vars_files",
    "vars_prompt",
    "gather_facts",
    "become",
    "become_user",
    "become_method",
    "remote_user",
    "connection",
    "environment",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "handlers",
    "roles",
    "tags",
    "serial",
    "rollout",
    "switch",
    "rollback",
    "strategy",
    "any_errors_fatal",
    "max_fail_percentage",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "check_mode",
    "order",
    "collections",
    "module_defaults",
    "force_handlers",
    "gather_subset",
    "gather_timeout",
    "diff",
    "timeout",
    "throttle",
    "run_once",
];

/// The keywords that hold tasks, in the order they run (`roles` runs
/// its roles' tasks), then handlers and a rollout's `switch` and
/// `rollback`.
const SECTIONS: [&str; 7] = [
    "pre_tasks",
    "roles",
    "tasks",
    "post_tasks",
    "handlers",
    "switch",
    "rollback",
];

/// A play while its keywords are read: its task sections wait until the
/// settings they inherit are all known.
struct PlayParts<'n> {
    play: Play,
    sections: [Option<&'n Node>; SECTIONS.len()],
    has_hosts: bool,
}

/// A play at `location` with nothing in it yet: Ansible's defaults.
fn empty_play(location: SourceLocation) -> Play {
    Play {
        location,
        name: None,
        hosts: String::new(),
        vars: Vars::new(),
        vars_files: Vec::new(),
        gather_facts: None,
        gather_subset: Vec::new(),
        settings: TaskSettings::default(),
        sections: Vec::new(),
        handlers: Vec::new(),
        tags: Vec::new(),
        serial: Vec::new(),
        rollout: None,
        service_rollout: None,
        switch: Vec::new(),
        rollback: Vec::new(),
        strategy: PlayStrategy::Linear,
        any_errors_fatal: false,
        force_handlers: None,
        max_fail_percentage: None,
        roles: Vec::new(),
        prompts: Vec::new(),
    }
}

impl Loader<'_> {
    /// Reads a playbook file: a list of plays and `import_playbook`s.
    pub(crate) fn playbook(
        &mut self,
        path: &Path,
        plays: &mut Vec<Play>,
        referred_at: Option<SourceLocation>,
    ) {
        let Some(root) = self.read_yaml(path, referred_at) else {
            return;
        };
        let Some(items) = sequence(&root) else {
            self.errors.invalid(
                root.location(path),
                "a playbook must be a list of plays",
                Some("start each play with `- hosts: PATTERN`".to_owned()),
            );
            return;
        };
        for item in items {
            let location = item.location(path);
            let Some(entries) = mapping(item) else {
                self.errors
                    .invalid(location, "a play must be a mapping", None);
                continue;
            };
            if let Some((key, value)) = entries.iter().find(|(key, _)| {
                key.key_text() == "import_playbook"
                    || key.key_text() == "ansible.builtin.import_playbook"
            }) {
                let file = text(value).unwrap_or_default();
                let nested = path.parent().unwrap_or(Path::new(".")).join(&file);
                if self.depth >= MAX_NESTING {
                    self.errors.invalid(
                        key.location(path),
                        "playbooks import each other in a loop",
                        None,
                    );
                    continue;
                }
                self.depth += 1;
                self.playbook(&nested, plays, Some(value.location(path)));
                self.depth -= 1;
                continue;
            }
            if let Some(play) = self.play(item, entries, path) {
                plays.push(play);
            }
        }
    }

    fn play(&mut self, node: &Node, entries: &[(Node, Node)], path: &Path) -> Option<Play> {
        let location = node.location(path);
        self.rolled_out_service = None;
        let mut parts = PlayParts {
            play: empty_play(location.clone()),
            sections: [None; SECTIONS.len()],
            has_hosts: false,
        };
        for (key, value) in entries {
            self.play_keyword(&mut parts, key, value, path);
        }
        if !parts.has_hosts {
            self.errors.invalid(
                location,
                "this play has no `hosts`",
                Some("add `hosts: all` or another pattern".to_owned()),
            );
            return None;
        }
        Some(self.play_tasks(parts, path))
    }

    /// Reads one of a play's keywords into `parts`.
    fn play_keyword<'n>(
        &mut self,
        parts: &mut PlayParts<'n>,
        key: &Node,
        value: &'n Node,
        path: &Path,
    ) {
        let word = key.key_text();
        let here = key.location(path).with_length(word.chars().count());
        let play = &mut parts.play;
        if let Some(index) = SECTIONS.iter().position(|section| *section == word) {
            parts.sections[index] = Some(value);
            return;
        }
        match word.as_str() {
            "name" => play.name = text(value),
            "hosts" => {
                parts.has_hosts = true;
                play.hosts = string_list(value).unwrap_or_default().join(",");
            }
            "vars" => match value.to_json() {
                Json::Object(map) => {
                    self.check_templates(&Json::Object(map.clone()), &value.location(path));
                    play.vars = map;
                }
                Json::Null => {}
                _ => self.errors.invalid(here, "`vars` must be a mapping", None),
            },
            "vars_files" => {
                play.vars_files = string_list(value).unwrap_or_default();
                let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
                self.check_vars_files(&play.vars_files, &base, value, path);
            }
            "vars_prompt" => play.prompts = Self::prompts(value, path),
            "gather_facts" => play.gather_facts = boolean(value),
            "gather_subset" => play.gather_subset = string_list(value).unwrap_or_default(),
            "tags" => play.tags = string_list(value).unwrap_or_default(),
            "serial" => play.serial = self.batches(value, &here),
            "rollout" => self.play_rollout(play, value, here),
            "strategy" => self.play_strategy(play, value, here),
            "any_errors_fatal" => play.any_errors_fatal = boolean(value).unwrap_or(false),
            "force_handlers" => play.force_handlers = boolean(value),
            "max_fail_percentage" => play.max_fail_percentage = value.to_json().as_f64(),
            "environment" => {
                if !crate::task::set_environment(&mut play.settings, value) {
                    self.errors.invalid(
                        here,
                        "`environment` must be a mapping (or a template that gives one)",
                        None,
                    );
                }
            }
            _ => self.play_setting(play, &word, value, here),
        }
    }

    fn play_rollout(&mut self, play: &mut Play, value: &Node, here: SourceLocation) {
        match crate::rollout::parse(&value.to_json()) {
            Ok(rollout) if rollout.service.is_some() => {
                self.rolled_out_service.clone_from(&rollout.service);
                play.service_rollout = Some(std::sync::Arc::new(rollout));
            }
            Ok(rollout) => play.rollout = Some(rollout),
            Err(message) => self.errors.invalid(
                here,
                message,
                Some(
                    "see the Rollouts section of docs/playbooks.md for the keys and their values"
                        .to_owned(),
                ),
            ),
        }
    }

    fn play_strategy(&mut self, play: &mut Play, value: &Node, here: SourceLocation) {
        match text(value).as_deref() {
            None | Some("linear") => play.strategy = PlayStrategy::Linear,
            Some("free") => play.strategy = PlayStrategy::Free,
            Some(other) => self.errors.invalid(
                here,
                format!("unknown strategy `{other}`"),
                Some("drover has `linear` and `free`".to_owned()),
            ),
        }
    }

    /// A task setting written on the play (`become`, `environment` ...),
    /// which its tasks inherit; or an unknown keyword.
    fn play_setting(&mut self, play: &mut Play, word: &str, value: &Node, here: SourceLocation) {
        if PLAY_KEYWORDS.contains(&word) {
            if let Some(problem) = crate::task::setting_problem(word, value) {
                self.errors
                    .invalid(here, problem, Some(crate::task::setting_hint(word)));
            }
            apply_setting(&mut play.settings, word, value);
            return;
        }
        let hint = did_you_mean(word, PLAY_KEYWORDS).or_else(|| {
            Some("a play holds `hosts`, `vars`, `tasks`, `handlers`, `roles` ...".to_owned())
        });
        self.errors
            .invalid(here, format!("unknown play keyword `{word}`"), hint);
    }

    /// The play's task sections, handlers and rollout tasks, read once its
    /// keywords (the settings its tasks inherit) are known.
    fn play_tasks(&mut self, parts: PlayParts<'_>, path: &Path) -> Play {
        let PlayParts {
            mut play, sections, ..
        } = parts;
        let context = Context {
            path: path.to_path_buf(),
            base: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            settings: play.settings.clone(),
            tags: play.tags.clone(),
            ..Context::default()
        };
        self.roles.clear();
        self.role_handlers.clear();
        let mut role_tasks = Vec::new();
        if let Some(roles) = sections[1] {
            role_tasks = self.play_roles(roles, &context);
        }
        for (index, name) in SECTIONS.into_iter().take(4).enumerate() {
            let tasks = if index == 1 {
                std::mem::take(&mut role_tasks)
            } else {
                sections[index]
                    .map(|node| self.tasks(node, &context))
                    .unwrap_or_default()
            };
            if !tasks.is_empty() {
                play.sections.push(Section { name, tasks });
            }
        }
        if let Some(handlers) = sections[4] {
            let context = Context {
                handlers: true,
                ..context.clone()
            };
            play.handlers = self.tasks(handlers, &context);
        }
        play.handlers.append(&mut self.role_handlers);
        self.rollout_tasks(&mut play, sections[5], sections[6], &context);
        play.roles = self.roles.values().cloned().collect();
        play
    }

    /// A `vars_files` entry without variables in its name must exist.
    fn check_vars_files(&mut self, files: &[String], base: &Path, node: &Node, path: &Path) {
        for file in files {
            if drover_template::is_template(file) {
                continue;
            }
            if base.join(file).exists() {
                // A vaulted file must open with the passwords given.
                if let Err(error @ drover_inventory::Error::Vault { .. }) =
                    drover_inventory::read_vars_file(&base.join(file))
                {
                    self.errors
                        .invalid(node.location(path), error.to_string(), error.hint());
                }
                continue;
            }
            self.errors.defer(
                node.location(path),
                format!("the vars file `{file}` does not exist"),
                Some(format!(
                    "paths are relative to the playbook's directory (`{}`)",
                    shown(base)
                )),
            );
        }
    }

    /// `switch:` and `rollback:`, which only a rollout uses.
    fn rollout_tasks(
        &mut self,
        play: &mut Play,
        switch: Option<&Node>,
        rollback: Option<&Node>,
        context: &Context,
    ) {
        let strategy = play.rollout.as_ref().map(|rollout| rollout.strategy);
        if let Some(node) = switch {
            if strategy == Some(crate::Strategy::BlueGreen) {
                play.switch = self.tasks(node, context);
            } else {
                self.errors.invalid(
                    node.location(&context.path),
                    "`switch` tasks belong to a blue_green rollout",
                    Some("add `rollout: {strategy: blue_green, app: NAME, slots: {blue: PORT, green: PORT}}`".to_owned()),
                );
            }
        } else if strategy == Some(crate::Strategy::BlueGreen) {
            self.errors.invalid(
                play.location.clone(),
                "a blue_green rollout needs `switch` tasks that move traffic to the new slot",
                Some("for example, template the load balancer's upstream to `{{ rollout_port }}` and reload it".to_owned()),
            );
        }
        if let Some(node) = rollback {
            if strategy.is_some() {
                play.rollback = self.tasks(node, context);
            } else {
                self.errors.invalid(
                    node.location(&context.path),
                    "`rollback` tasks belong to a play with a `rollout`",
                    Some("add `rollout: {strategy: rolling}` or move these tasks into a block's `rescue`".to_owned()),
                );
            }
        }
    }

    fn prompts(value: &Node, path: &Path) -> Vec<Prompt> {
        sequence(value)
            .unwrap_or_default()
            .iter()
            .filter_map(|item| {
                let entries = mapping(item)?;
                let get = |wanted: &str| {
                    entries
                        .iter()
                        .find(|(key, _)| key.key_text() == wanted)
                        .map(|(_, value)| value)
                };
                Some(Prompt {
                    name: get("name").and_then(text)?,
                    default: get("default").map(Node::to_json),
                    location: item.location(path),
                })
            })
            .collect()
    }

    fn batches(&mut self, value: &Node, here: &SourceLocation) -> Vec<Batch> {
        let items = match value.to_json() {
            Json::Array(items) => items,
            single => vec![single],
        };
        let mut batches = Vec::new();
        for item in items {
            let batch = match &item {
                Json::Number(number) => number
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .map(Batch::Count),
                Json::String(text) => match text.trim().strip_suffix('%') {
                    Some(percent) => percent.trim().parse().ok().map(Batch::Percent),
                    None => text.trim().parse().ok().map(Batch::Count),
                },
                _ => None,
            };
            match batch {
                Some(batch) => batches.push(batch),
                None => self.errors.invalid(
                    here.clone(),
                    format!("`serial` takes numbers or percentages, not `{item}`"),
                    Some(
                        "for example `serial: 2`, `serial: \"25%\"` or `serial: [1, \"50%\"]`"
                            .to_owned(),
                    ),
                ),
            }
        }
        batches
    }

    /// The `roles:` of a play: their tasks, in order, dependencies first.
    fn play_roles(&mut self, roles: &Node, context: &Context) -> Vec<Task> {
        let mut tasks = Vec::new();
        for entry in sequence(roles).unwrap_or_default() {
            let here = entry.location(&context.path);
            let (name, parameters, mut inner) = match mapping(entry) {
                Some(entries) => {
                    let mut name = None;
                    let mut parameters = Vars::new();
                    let mut inner = context.clone();
                    for (key, value) in entries {
                        match key.key_text().as_str() {
                            "role" | "name" => name = text(value),
                            "tags" => inner.tags.extend(string_list(value).unwrap_or_default()),
                            "when" => inner.when.extend(string_list(value).unwrap_or_default()),
                            "vars" => {
                                if let Json::Object(map) = value.to_json() {
                                    parameters.extend(map);
                                }
                            }
                            word @ ("become" | "become_user" | "become_method" | "remote_user"
                            | "connection" | "ignore_errors" | "no_log" | "check_mode") => {
                                apply_setting(&mut inner.settings, word, value);
                            }
                            other => {
                                parameters.insert(other.to_owned(), value.to_json());
                            }
                        }
                    }
                    (name, parameters, inner)
                }
                None => (text(entry), Vars::new(), context.clone()),
            };
            let Some(name) = name else {
                self.errors.invalid(here, "a role entry needs a name", None);
                continue;
            };
            inner.vars.extend(parameters.clone());
            // A role listed (or depended on) twice runs once, as in Ansible.
            if let Some(directory) = self.find_role(&name, &context.base)
                && self.roles.contains_key(&RoleFiles::MAIN.key(&directory))
            {
                continue;
            }
            tasks.extend(self.role_tasks(&name, &RoleFiles::MAIN, &parameters, &inner, &here));
        }
        tasks
    }

    /// Loads a role (once per play for each set of `vars_from` and
    /// `defaults_from`) and returns the tasks of `files.tasks`.
    pub(crate) fn role_tasks(
        &mut self,
        name: &str,
        files: &RoleFiles<'_>,
        parameters: &Vars,
        context: &Context,
        here: &SourceLocation,
    ) -> Vec<Task> {
        let Some(directory) = self.find_role(name, &context.base) else {
            let searched = self
                .role_search(&context.base)
                .iter()
                .map(|path| format!("`{}`", shown(path)))
                .collect::<Vec<_>>()
                .join(", ");
            self.errors.invalid(here.clone(), format!("role `{name}` not found"), Some(format!("looked in {searched}; add `--roles-path` or create `roles/{name}/tasks/main.yml`")));
            return Vec::new();
        };
        if self.depth >= MAX_NESTING {
            self.errors.invalid(
                here.clone(),
                format!("role `{name}` depends on itself"),
                None,
            );
            return Vec::new();
        }
        let mut tasks = Vec::new();
        let key = files.key(&directory);
        let first_time = !self.roles.contains_key(&key);
        let role = if let Some(role) = self.roles.get(&key) {
            role.clone()
        } else {
            let role = Arc::new(Role {
                name: name.to_owned(),
                path: directory.clone(),
                defaults: self.role_vars(&directory, "defaults", files.defaults, here),
                vars: self.role_vars(&directory, "vars", files.vars, here),
                parameters: parameters.clone(),
            });
            self.roles.insert(key, role.clone());
            self.depth += 1;
            tasks.extend(self.role_dependencies(&directory, context, here));
            self.depth -= 1;
            role
        };
        let role_context = Context {
            role: Some(role.clone()),
            ..context.clone()
        };
        let tasks_file = main_file(&directory.join("tasks"), files.tasks);
        if tasks_file.exists() {
            self.depth += 1;
            tasks.extend(self.task_file(&tasks_file, &role_context, Some(here.clone())));
            self.depth -= 1;
        } else if files.tasks != "main" {
            self.errors.invalid(
                here.clone(),
                format!("role `{name}` has no `tasks/{}.yml`", files.tasks),
                None,
            );
        }
        if first_time {
            self.read_role_handlers(&directory, files.handlers, &role_context, here);
        }
        tasks
    }

    /// A role's `handlers/main.yml` (or `handlers_from`), read once
    /// however often it is used.
    fn read_role_handlers(
        &mut self,
        directory: &Path,
        from: &str,
        context: &Context,
        here: &SourceLocation,
    ) {
        let handlers = main_file(&directory.join("handlers"), from);
        if !handlers.exists() {
            if from != "main" {
                self.errors.invalid(
                    here.clone(),
                    format!("the role has no `handlers/{from}.yml`"),
                    None,
                );
            }
            return;
        }
        let context = Context {
            handlers: true,
            ..context.clone()
        };
        let handler_tasks = self.task_file(&handlers, &context, Some(here.clone()));
        self.role_handlers.extend(handler_tasks);
    }

    fn role_dependencies(
        &mut self,
        directory: &Path,
        context: &Context,
        here: &SourceLocation,
    ) -> Vec<Task> {
        let meta = main_file(&directory.join("meta"), "main");
        if !meta.exists() {
            return Vec::new();
        }
        let Some(node) = self.read_yaml(&meta, Some(here.clone())) else {
            return Vec::new();
        };
        let Some(dependencies) = mapping(&node)
            .and_then(|entries| {
                entries
                    .iter()
                    .find(|(key, _)| key.key_text() == "dependencies")
            })
            .map(|(_, value)| value.clone())
        else {
            return Vec::new();
        };
        let context = Context {
            path: meta.clone(),
            ..context.clone()
        };
        self.play_roles(&dependencies, &context)
    }

    /// `defaults/` or `vars/`: `main`, or the file `defaults_from` or
    /// `vars_from` names (which must exist).
    fn role_vars(
        &mut self,
        directory: &Path,
        kind: &str,
        from: &str,
        here: &SourceLocation,
    ) -> Vars {
        let file = main_file(&directory.join(kind), from);
        if file.exists() {
            self.read_vars(&file, None)
        } else {
            if from != "main" {
                self.errors.invalid(
                    here.clone(),
                    format!("the role has no `{kind}/{from}.yml`"),
                    None,
                );
            }
            Vars::new()
        }
    }

    fn role_search(&self, base: &Path) -> Vec<PathBuf> {
        let mut search = vec![base.join("roles")];
        search.extend(self.roles_path.iter().cloned());
        search.push(base.to_path_buf());
        search
    }

    fn find_role(&self, name: &str, base: &Path) -> Option<PathBuf> {
        if name.contains('/') {
            let path = base.join(name);
            return path.is_dir().then_some(path);
        }
        self.role_search(base)
            .into_iter()
            .map(|directory| directory.join(name))
            .find(|path| path.is_dir())
    }
}

/// Which files of a role to read: `main`, unless `include_role` or
/// `import_role` names others (`tasks_from`, `vars_from`, ...).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoleFiles<'a> {
    pub(crate) tasks: &'a str,
    pub(crate) vars: &'a str,
    pub(crate) defaults: &'a str,
    pub(crate) handlers: &'a str,
}

impl RoleFiles<'_> {
    /// Every file `main`, as a role listed under `roles:` is read.
    pub(crate) const MAIN: RoleFiles<'static> = RoleFiles {
        tasks: "main",
        vars: "main",
        defaults: "main",
        handlers: "main",
    };

    /// The role read from `directory` with these variable files.
    fn key(&self, directory: &Path) -> (PathBuf, String) {
        (
            directory.to_path_buf(),
            format!("{}:{}", self.vars, self.defaults),
        )
    }
}

/// `DIR/NAME.yml`, `DIR/NAME.yaml` or `DIR/NAME`, whichever exists (the first if none).
fn main_file(directory: &Path, name: &str) -> PathBuf {
    let candidates = [
        format!("{name}.yml"),
        format!("{name}.yaml"),
        name.to_owned(),
    ];
    candidates
        .iter()
        .map(|candidate| directory.join(candidate))
        .find(|path| path.is_file())
        .unwrap_or_else(|| directory.join(format!("{name}.yml")))
}

/// A directory as an operator reads it: the current one is `.`.
fn shown(path: &Path) -> String {
    if path.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        path.display().to_string()
    }
}
