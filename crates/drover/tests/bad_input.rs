//! Bad input of every kind (inventory, playbook, template, vault and
//! command line) is reported before any host is contacted: exit code 1,
//! the file, line and column with the source line and a caret where there
//! is a file, and a hint. Each report is an insta snapshot.
//!
//! Regression tests for issue 7 ("Trustworthy under faults, bad input and
//! secrets").

mod support;

use std::path::Path;
use std::process::Output;

/// `drover`, its diagnostics wrapped at 100 columns whatever the terminal.
fn drover(directory: &Path, arguments: &[&str]) -> Output {
    support::command(Some(directory))
        .args(arguments)
        .env("COLUMNS", "100")
        .output()
        .expect("drover runs")
}

/// One kind of bad input: the files of a project, and the command.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    arguments: &'static [&'static str],
    /// Whether the report points into a file (`[path:line:col]`).
    located: bool,
}

const PLAY: &[&str] = &["play", "site.yml", "-i", "hosts"];
const LIST: &[&str] = &["inventory", "-i", "hosts", "--list"];
const HOSTS: (&str, &str) = ("hosts", "host1 ansible_host=192.0.2.1\n");

const CASES: &[Case] = &[
    Case {
        name: "inventory_range_without_end",
        files: &[("hosts", "[web]\nweb[01:]\n")],
        arguments: LIST,
        located: true,
    },
    Case {
        name: "inventory_undefined_child_group",
        files: &[("hosts", "[all:children]\nnosuch\n")],
        arguments: LIST,
        located: true,
    },
    Case {
        name: "inventory_vars_for_undefined_group",
        files: &[("hosts", "[web]\nw1\n[db:vars]\nx=1\n")],
        arguments: LIST,
        located: true,
    },
    Case {
        name: "inventory_host_variable_without_value",
        files: &[("hosts", "[web]\nw1 ansible_port\n")],
        arguments: LIST,
        located: true,
    },
    Case {
        name: "inventory_yaml_hosts_as_a_list",
        files: &[("hosts.yml", "all:\n  hosts:\n    - w1\n")],
        arguments: &["inventory", "-i", "hosts.yml", "--list"],
        located: true,
    },
    Case {
        name: "inventory_yaml_syntax",
        files: &[("hosts.yml", "all:\n  hosts:\n   w1:\n  vars: [\n")],
        arguments: &["inventory", "-i", "hosts.yml", "--list"],
        located: true,
    },
    Case {
        name: "inventory_group_loop",
        files: &[("hosts", "[a:children]\nb\n[b:children]\na\n")],
        arguments: LIST,
        located: true,
    },
    Case {
        name: "inventory_yaml_bomb",
        files: &[(
            "hosts.yml",
            "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\na1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\na2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]\na3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]\na4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]\na5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]\na6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]\n",
        )],
        arguments: &["inventory", "-i", "hosts.yml", "--list"],
        located: true,
    },
    Case {
        name: "inventory_missing_source",
        files: &[],
        arguments: &["inventory", "-i", "nothere.ini", "--list"],
        located: false,
    },
    Case {
        name: "playbook_unknown_module",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - copi: src=a dest=b\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_unknown_argument",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - file: {path: /tmp/x, stat: directory}\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_missing_required_argument",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - copy: content=a\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_argument_not_a_choice",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - file: path=/tmp/x state=dirrectory\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_argument_of_the_wrong_type",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - file:\n        path: /tmp/a\n        recurse: sometimes\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_unknown_play_keyword",
        files: &[HOSTS, ("site.yml", "- hosts: all\n  taks:\n    - ping:\n")],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_unknown_task_keyword",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - command: ls\n      whne: true\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_play_without_hosts",
        files: &[
            HOSTS,
            ("site.yml", "- name: no hosts\n  tasks:\n    - ping:\n"),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_not_a_list",
        files: &[HOSTS, ("site.yml", "hosts: all\ntasks: []\n")],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_empty",
        files: &[HOSTS, ("site.yml", "# nothing yet\n")],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_tab_indentation",
        files: &[HOSTS, ("site.yml", "- hosts: all\n  tasks:\n\t- ping:\n")],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_two_modules_in_a_task",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - ping:\n      debug: msg=x\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_missing_import",
        files: &[HOSTS, ("site.yml", "- import_playbook: other.yml\n")],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_missing_include",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - include_tasks: nothere.yml\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_missing_role",
        files: &[
            HOSTS,
            ("site.yml", "- hosts: all\n  roles:\n    - webserver\n"),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_missing_vars_file",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  vars_files: [nothere.yml]\n  tasks:\n    - ping:\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_notify_without_handler",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - ping:\n      notify: restart nginx\n  handlers:\n    - name: restart ngnix\n      ping:\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_loop_not_a_list",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - debug: msg=hi\n      loop: 5\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_register_not_a_name",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - ping:\n      register: 5x\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_keyword_of_the_wrong_type",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - ping:\n      become_user: [a]\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_bad_serial",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  serial: lots\n  tasks:\n    - ping:\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "stack_file_unknown_key",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - docker_stack:\n        name: app\n        src: stack.yml\n",
            ),
            (
                "files/stack.yml",
                "services:\n  web:\n    image: app:1\n    deploy:\n      replica: 3\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "stack_file_yaml_syntax",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - docker_stack:\n        name: app\n        src: stack.yml\n",
            ),
            ("files/stack.yml", "services:\n  web: [\n"),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "stack_file_rolled_out_image_without_tag",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  rollout:\n    service: app_web\n    strategy: rolling\n  tasks:\n\
                 \x20   - docker_stack:\n        name: app\n        src: stack.yml\n",
            ),
            (
                "files/stack.yml",
                "services:\n  web:\n    image: registry:5000/app\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_swarm_rollout_big_bang",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  rollout:\n    service: web\n    strategy: big_bang\n  tasks:\n    - ping:\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_unknown_rollout_strategy",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  rollout:\n    strategy: purple\n  tasks:\n    - ping:\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_blue_green_without_switch",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  rollout:\n    strategy: blue_green\n    app: web\n    slots: {blue: 8081, green: 8082}\n  tasks:\n    - ping:\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "playbook_missing_copy_source",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - copy: src=app.conf dest=/tmp/app.conf\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "template_syntax_in_an_argument",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - debug: msg={{ broken\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "template_syntax_in_a_condition",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - ping:\n      when: x ==\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "template_syntax_in_a_template_file",
        files: &[
            HOSTS,
            (
                "templates/app.conf.j2",
                "port={{ port }}\n{% if debug %}\ndebug=1\n",
            ),
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - template: src=app.conf.j2 dest=/tmp/app.conf\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "template_syntax_in_play_vars",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  vars:\n    url: \"http://{{ host }\"\n  tasks:\n    - ping:\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "vault_value_without_a_password",
        files: &[
            HOSTS,
            (
                "site.yml",
                "- hosts: all\n  vars:\n    secret: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      6162636465\n  tasks:\n    - ping:\n",
            ),
        ],
        arguments: PLAY,
        located: true,
    },
    Case {
        name: "vault_value_damaged",
        files: &[
            HOSTS,
            ("password", "pw\n"),
            (
                "site.yml",
                "- hosts: all\n  vars:\n    secret: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      zz\n  tasks:\n    - ping:\n",
            ),
        ],
        arguments: &[
            "play",
            "site.yml",
            "-i",
            "hosts",
            "--vault-password-file",
            "password",
        ],
        located: true,
    },
    Case {
        name: "vault_password_file_missing",
        files: &[HOSTS, ("site.yml", "- hosts: all\n  tasks:\n    - ping:\n")],
        arguments: &[
            "play",
            "site.yml",
            "-i",
            "hosts",
            "--vault-password-file",
            "nothere",
        ],
        located: false,
    },
    Case {
        name: "cli_unknown_flag",
        files: &[HOSTS, ("site.yml", "- hosts: all\n  tasks:\n    - ping:\n")],
        arguments: &["play", "site.yml", "-i", "hosts", "--chekc"],
        located: false,
    },
    Case {
        name: "cli_bad_extra_vars",
        files: &[HOSTS, ("site.yml", "- hosts: all\n  tasks:\n    - ping:\n")],
        arguments: &["play", "site.yml", "-i", "hosts", "-e", "{\"broken\": "],
        located: false,
    },
    Case {
        name: "cli_bad_host_key_policy",
        files: &[HOSTS],
        arguments: &[
            "run",
            "all",
            "-i",
            "hosts",
            "--host-key-checking",
            "maybe",
            "--",
            "true",
        ],
        located: false,
    },
];

#[test]
fn issue_7_bad_input_is_reported_with_its_place_and_a_hint_before_anything_runs() {
    assert!(CASES.len() >= 30, "at least 30 kinds of bad input");
    for case in CASES {
        let directory = tempfile::tempdir().expect("a directory");
        for (path, content) in case.files {
            let full = directory.path().join(path);
            std::fs::create_dir_all(full.parent().expect("a parent")).expect("a directory");
            std::fs::write(full, content).expect("a project file");
        }
        // What Ansible finds only when a task runs is an error before
        // anything runs only under `--strict` (issue 16).
        let mut arguments = case.arguments.to_vec();
        if arguments.first() == Some(&"play") {
            arguments.push("--strict");
        }
        let output = drover(directory.path(), &arguments);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr)
            .replace(&directory.path().display().to_string(), "[PROJECT]");
        assert_eq!(output.status.code(), Some(1), "{}: {stderr}", case.name);
        assert!(
            !stdout.contains("TASK [") && !stdout.contains("PLAY ["),
            "{}: nothing may run:\n{stdout}",
            case.name
        );
        assert!(
            ["help:", "hint:", "tip:"]
                .iter()
                .any(|word| stderr.contains(word)),
            "{}: a hint:\n{stderr}",
            case.name
        );
        if case.located {
            assert!(
                stderr.contains(",-[") && stderr.contains(" | "),
                "{}: the place, with its source line:\n{stderr}",
                case.name
            );
        }
        insta::assert_snapshot!(format!("bad_input_{}", case.name), stderr);
    }
}
