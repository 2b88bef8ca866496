// A scenario test reads top to bottom as one story; the limit on function
// size is for the product's code and its test harness.
#![allow(clippy::too_many_lines)]

use std::path::Path;

use crate::catalog::{ArgumentKind, ArgumentSpec, Catalog, ModuleSpec};
use crate::{Action, LoadOptions, LoopKind, load};

const COPY_ARGUMENTS: [ArgumentSpec; 4] = [
    ArgumentSpec::new("src", ArgumentKind::String),
    ArgumentSpec::new("dest", ArgumentKind::String).required(),
    ArgumentSpec::new("content", ArgumentKind::String),
    ArgumentSpec::new("mode", ArgumentKind::Raw),
];
const COMMAND_ARGUMENTS: [ArgumentSpec; 2] = [
    ArgumentSpec::new("creates", ArgumentKind::String),
    ArgumentSpec::new("chdir", ArgumentKind::String),
];
const DEBUG_ARGUMENTS: [ArgumentSpec; 2] = [
    ArgumentSpec::new("msg", ArgumentKind::Raw),
    ArgumentSpec::new("var", ArgumentKind::String),
];

struct TestCatalog(Vec<ModuleSpec>);

impl TestCatalog {
    fn new() -> Self {
        Self(vec![
            ModuleSpec {
                name: "copy",
                arguments: COPY_ARGUMENTS.to_vec(),
                free_form: false,
                any_arguments: false,
            },
            ModuleSpec {
                name: "command",
                arguments: COMMAND_ARGUMENTS.to_vec(),
                free_form: true,
                any_arguments: false,
            },
            ModuleSpec {
                name: "debug",
                arguments: DEBUG_ARGUMENTS.to_vec(),
                free_form: false,
                any_arguments: false,
            },
            ModuleSpec {
                name: "set_fact",
                arguments: Vec::new(),
                free_form: false,
                any_arguments: true,
            },
        ])
    }
}

impl Catalog for TestCatalog {
    fn module(&self, name: &str) -> Option<&ModuleSpec> {
        self.0.iter().find(|spec| spec.name == name)
    }
    fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|spec| spec.name).collect()
    }
}

fn write(directory: &Path, path: &str, text: &str) {
    let full = directory.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

#[test]
fn a_playbook_with_roles_blocks_loops_and_imports_loads() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    write(
        root,
        "site.yml",
        "\
- name: web
  hosts: web:&prod
  become: yes
  vars: {port: 80}
  roles:
    - common
    - role: app
      app_port: 8080
  tasks:
    - name: free form
      command: echo hi creates=/tmp/x
    - copy: src=a.conf dest=/etc/a.conf
      notify: restart
    - debug: msg={{ item }}
      with_items: [1, [2, 3]]
      loop_control: {loop_var: thing, label: '{{ thing }}'}
    - block:
        - command: 'false'
      rescue:
        - debug: {msg: rescued}
      always:
        - import_tasks: extra.yml
      when: port > 1
  handlers:
    - name: restart
      command: systemctl restart app
",
    );
    write(root, "extra.yml", "- debug: {msg: extra}\n  tags: [x]\n");
    write(root, "files/a.conf", "setting=1\n");
    write(
        root,
        "roles/common/tasks/main.yml",
        "- debug: {msg: common}\n",
    );
    write(root, "roles/app/meta/main.yml", "dependencies: [common]\n");
    write(root, "roles/app/defaults/main.yml", "app_user: app\n");
    write(
        root,
        "roles/app/tasks/main.yml",
        "- debug: {msg: '{{ app_port }}'}\n",
    );
    write(
        root,
        "roles/app/handlers/main.yml",
        "- name: reload app\n  command: reload\n",
    );
    let playbook = load(
        &root.join("site.yml"),
        &TestCatalog::new(),
        &LoadOptions::default(),
    )
    .unwrap();
    let play = &playbook.plays[0];
    assert_eq!(play.hosts, "web:&prod");
    assert_eq!(play.settings.become_root, Some(true));
    let names: Vec<&str> = play.sections.iter().map(|section| section.name).collect();
    assert_eq!(names, ["roles", "tasks"]);
    // common (once, though `app` depends on it too), then app.
    let roles = &play.sections[0].tasks;
    assert_eq!(roles.len(), 2, "{roles:#?}");
    assert_eq!(roles[1].role.as_ref().unwrap().defaults["app_user"], "app");
    let tasks = &play.sections[1].tasks;
    let Action::Module { name, arguments } = &tasks[0].action else {
        panic!()
    };
    assert_eq!(name, "command");
    assert_eq!(arguments["_raw_params"], "echo hi");
    assert_eq!(arguments["creates"], "/tmp/x");
    let looping = tasks[2].loop_over.as_ref().unwrap();
    assert_eq!(
        (looping.kind.clone(), looping.variable.as_str()),
        (LoopKind::Items, "thing")
    );
    let Action::Block {
        block,
        rescue,
        always,
    } = &tasks[3].action
    else {
        panic!()
    };
    assert_eq!((block.len(), rescue.len(), always.len()), (1, 1, 1));
    assert_eq!(always[0].tags, ["x"]);
    assert_eq!(play.handlers.len(), 2);
}

#[test]
fn every_error_is_reported_with_its_location() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    write(
        root,
        "bad.yml",
        "\
- hosts: all
  taks: []
  tasks:
    - copi: {src: a, dest: b}
    - copy: {src: a, dets: b}
    - debug: {msg: '{{ broken '}
    - command: ls
      when: x ==
    - import_tasks: missing.yml
    - name: no module
",
    );
    let strict = LoadOptions {
        strict: true,
        ..LoadOptions::default()
    };
    let errors = load(&root.join("bad.yml"), &TestCatalog::new(), &strict).unwrap_err();
    // Without `--strict`, the argument and file problems wait for their
    // tasks to run: warnings, beside the same errors.
    let lenient = load(
        &root.join("bad.yml"),
        &TestCatalog::new(),
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert_eq!((lenient.errors.len(), lenient.warnings.len()), (6, 3));
    let messages: Vec<String> = errors
        .errors
        .iter()
        .map(|error| {
            format!(
                "{}:{} {error} ({})",
                error.location().map_or(0, |l| l.line),
                error.location().map_or(0, |l| l.column),
                error.hint().unwrap_or("")
            )
        })
        .collect();
    let all = messages.join("\n");
    assert!(
        all.contains("2:3 unknown play keyword `taks` (did you mean `tasks`?)"),
        "{all}"
    );
    assert!(
        all.contains("4:7 unknown module `copi` (did you mean `copy`?)"),
        "{all}"
    );
    assert!(
        all.contains("has no argument `dets` (did you mean `dest`?)"),
        "{all}"
    );
    assert!(all.contains("needs the argument `dest`"), "{all}");
    assert!(all.contains("template syntax error"), "{all}");
    assert!(all.contains("in the condition `x ==`"), "{all}");
    assert!(all.contains("missing.yml"), "{all}");
    assert!(all.contains("this task has no module"), "{all}");
    assert!(all.contains("the copy source `a` does not exist"), "{all}");
    assert_eq!(errors.errors.len(), 9, "{all}");
}
