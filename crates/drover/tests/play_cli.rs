//! `drover play` end to end, against real sshd hosts started by the harness.
//!
//! Regression tests for issue 4 ("The playbook engine"). The hosts share
//! this machine's filesystem, so every path names `inventory_hostname`.
// A scenario test reads top to bottom as one story; the limit on function
// size is for the product's code and its test harness.
#![allow(clippy::too_many_lines)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use drover_test_harness::TestBed;
use support::{drover, recap, text};

/// A directory every host's user may write to, and a project layout in it.
struct Project {
    root: tempfile::TempDir,
    target: PathBuf,
}

impl Project {
    fn new(files: &[(&str, &str)]) -> Self {
        let root = tempfile::tempdir().expect("temporary directory");
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755))
            .expect("project files are written");
        let target = root.path().join("target");
        std::fs::create_dir_all(&target).expect("project files are written");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o777))
            .expect("project files are written");
        for (path, content) in files {
            let full = root.path().join(path);
            std::fs::create_dir_all(full.parent().expect("a parent directory"))
                .expect("project files are written");
            std::fs::write(
                full,
                content.replace("TARGET", &target.display().to_string()),
            )
            .expect("project files are written");
        }
        Self { root, target }
    }

    fn play(&self, bed: &TestBed, extra: &[&str]) -> Output {
        let inventory = bed.inventory_file().display().to_string();
        let known_hosts = bed.known_hosts.display().to_string();
        let mut arguments = vec![
            "play",
            "site.yml",
            "-i",
            &inventory,
            "--known-hosts",
            &known_hosts,
        ];
        arguments.extend(extra);
        drover(self.root.path(), &arguments)
    }
}

const MODULES_PLAYBOOK: &str = r#"
- name: every core module
  hosts: testbed
  vars:
    base: "TARGET/{{ inventory_hostname }}"
    port: 8080
  tasks:
    - name: directory
      file: path={{ base }}/conf.d state=directory mode=0750
    - name: inline content
      copy:
        dest: "{{ base }}/motd"
        content: "Welcome to {{ inventory_hostname }}\n"
        mode: "0644"
      notify: motd changed
    - name: file from files/
      copy: src=app.conf dest={{ base }}/app.conf
    - name: template
      template: src=server.conf.j2 dest={{ base }}/server.conf mode=0640
    - name: a line, created
      lineinfile:
        path: "{{ base }}/settings"
        line: "port={{ port }}"
        regexp: '^port='
        create: yes
    - name: a block
      blockinfile:
        path: "{{ base }}/settings"
        create: yes
        block: |
          debug=false
          workers=4
    - name: command with creates
      command: touch {{ base }}/stamp creates={{ base }}/stamp
    - name: shell with removes and register
      shell: cat {{ base }}/motd | wc -l
      register: lines
      changed_when: false
      when: not ansible_check_mode
    - name: stat
      stat: path={{ base }}/server.conf
      register: server
    - name: facts and assertions
      set_fact:
        configured: "{{ server.stat.exists and lines.stdout | int == 1 }}"
      when: not ansible_check_mode
    - assert:
        that:
          - configured | bool
          - server.stat.mode == "0640"
      when: not ansible_check_mode
    - name: symlink
      file: src={{ base }}/motd dest={{ base }}/motd.link state=link
    - name: loop with a condition
      file: path={{ base }}/{{ item }} state=touch
      loop: [a, b, c]
      when: item != 'b' and not (base + '/' + item) is exists
  handlers:
    - name: motd changed
      file: path={{ base }}/handler-ran state=touch
"#;

const TEMPLATE: &str = "listen {{ port }}\nname {{ inventory_hostname }}\n{% for group in group_names %}group {{ group }}\n{% endfor %}";

#[test]
fn issue_4_every_module_changes_then_settles_and_check_mode_changes_nothing() {
    let bed = TestBed::start(2);
    let project = Project::new(&[
        ("site.yml", MODULES_PLAYBOOK),
        ("files/app.conf", "setting = 1\n"),
        ("templates/server.conf.j2", TEMPLATE),
    ]);
    let check = project.play(&bed, &["--check"]);
    let stdout = support::exited(&check, 0);
    assert!(
        !project.target.join("host1").exists(),
        "check mode created files:\n{stdout}"
    );

    let first = project.play(&bed, &[]);
    let stdout = support::exited(&first, 0);
    let [_, changed, unreachable, failed, ..] = recap(&stdout, "host1");
    assert!(changed >= 10, "the first run changes: {stdout}");
    assert_eq!((unreachable, failed), (0, 0));
    let host1 = project.target.join("host1");
    assert_eq!(
        std::fs::read_to_string(host1.join("motd")).unwrap(),
        "Welcome to host1\n"
    );
    assert_eq!(
        std::fs::read_to_string(host1.join("app.conf")).unwrap(),
        "setting = 1\n"
    );
    assert_eq!(
        std::fs::read_to_string(host1.join("server.conf")).unwrap(),
        "listen 8080\nname host1\ngroup testbed\n"
    );
    assert_eq!(
        std::fs::read_to_string(host1.join("settings")).unwrap(),
        "port=8080\n# BEGIN ANSIBLE MANAGED BLOCK\ndebug=false\nworkers=4\n# END ANSIBLE MANAGED BLOCK\n"
    );
    assert!(host1.join("handler-ran").exists(), "the handler ran");
    assert!(host1.join("a").exists() && !host1.join("b").exists());
    let mode = std::fs::metadata(host1.join("server.conf"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);

    let second = project.play(&bed, &[]);
    let stdout = text(&second.stdout);
    assert_eq!(second.status.code(), Some(0), "{stdout}");
    for host in ["host1", "host2"] {
        let [ok, changed, _, failed, ..] = recap(&stdout, host);
        assert_eq!(
            (changed, failed),
            (0, 0),
            "the second run is a no-op: {stdout}"
        );
        assert!(ok >= 10);
    }
    assert!(
        !stdout.contains("RUNNING HANDLER"),
        "no change, no handler: {stdout}"
    );

    // Drift, then check mode with diff reports it and leaves it alone.
    std::fs::write(host1.join("motd"), "tampered\n").unwrap();
    let drift = project.play(&bed, &["--check", "--diff", "--limit", "host1"]);
    let stdout = text(&drift.stdout);
    assert!(
        stdout.contains("-tampered") && stdout.contains("+Welcome to host1"),
        "{stdout}"
    );
    // The file would change, and so the handler (a `touch`) would run.
    assert_eq!(recap(&stdout, "host1")[1], 2, "{stdout}");
    assert!(
        stdout.contains("RUNNING HANDLER [motd changed]"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(host1.join("motd")).unwrap(),
        "tampered\n"
    );
}

const FLOW_PLAYBOOK: &str = r#"
- hosts: testbed
  gather_facts: no
  serial: 1
  vars:
    base: "TARGET/{{ inventory_hostname }}"
  tasks:
    - file: path={{ base }} state=directory
    - name: rescued failure
      block:
        - command: /bin/false
        - file: path={{ base }}/never state=touch
      rescue:
        - file: path={{ base }}/rescued state=touch
      always:
        - file: path={{ base }}/always state=touch
    - name: ignored failure
      command: /bin/false
      ignore_errors: yes
    - name: host2 fails for good
      command: /bin/false
      when: inventory_hostname == 'host2'
    - name: only survivors get here
      file: path={{ base }}/survived state=touch
    - name: registered loop
      command: echo {{ item }}
      loop: [one, two]
      register: echoed
    - assert:
        that: echoed.results | map(attribute='stdout') | list == ['one', 'two']
"#;

#[test]
fn issue_4_blocks_failures_serial_and_registered_loops() {
    let bed = TestBed::start(3);
    let project = Project::new(&[("site.yml", FLOW_PLAYBOOK)]);
    let output = project.play(&bed, &[]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a failed host exits 2: {stdout}"
    );
    for host in ["host1", "host2", "host3"] {
        let directory = project.target.join(host);
        assert!(
            directory.join("rescued").exists() && directory.join("always").exists(),
            "{host}"
        );
        assert!(!directory.join("never").exists(), "{host}");
    }
    assert!(project.target.join("host1/survived").exists());
    assert!(!project.target.join("host2/survived").exists());
    assert!(
        project.target.join("host3/survived").exists(),
        "serial batches go on after a failure"
    );
    let [_, _, _, failed, _, rescued, ignored] = recap(&stdout, "host2");
    assert_eq!((failed, rescued, ignored), (1, 1, 1), "{stdout}");
    assert_eq!(recap(&stdout, "host1")[3], 0, "{stdout}");
    assert!(stdout.contains("...ignoring"), "{stdout}");
}

#[test]
fn issue_4_roles_with_defaults_templates_and_handlers() {
    let bed = TestBed::start(1);
    let project = Project::new(&[
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  roles:\n    - role: web\n      web_port: 9090\n",
        ),
        (
            "roles/web/defaults/main.yml",
            "web_port: 80\nweb_name: default-name\n",
        ),
        (
            "roles/web/vars/main.yml",
            "web_root: \"TARGET/{{ inventory_hostname }}/www\"\n",
        ),
        (
            "roles/web/tasks/main.yml",
            "- file: path={{ web_root }} state=directory\n- template: src=site.j2 dest={{ web_root }}/site.conf\n  notify: reload web\n",
        ),
        (
            "roles/web/templates/site.j2",
            "port {{ web_port }} name {{ web_name }}\n",
        ),
        (
            "roles/web/handlers/main.yml",
            "- name: reload web\n  file: path={{ web_root }}/reloaded state=touch\n",
        ),
    ]);
    let output = project.play(&bed, &[]);
    let stdout = support::exited(&output, 0);
    let www = project.target.join("host1/www");
    assert_eq!(
        std::fs::read_to_string(www.join("site.conf")).unwrap(),
        "port 9090 name default-name\n"
    );
    assert!(www.join("reloaded").exists());
    assert!(stdout.contains("TASK [web : template]"), "{stdout}");
}

#[test]
fn issue_4_extra_vars_win_and_listing_options() {
    let bed = TestBed::start(2);
    let project = Project::new(&[(
        "site.yml",
        "- name: listing\n  hosts: testbed\n  gather_facts: no\n  vars: {who: play}\n  tasks:\n    - name: say\n      copy: content={{ who }} dest=TARGET/{{ inventory_hostname }}.who\n      tags: [say]\n",
    )]);
    let output = project.play(&bed, &["-e", "who=extra"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    assert_eq!(
        std::fs::read_to_string(project.target.join("host1.who")).unwrap(),
        "extra"
    );
    let listed = project.play(&bed, &["--list-tasks"]);
    assert!(
        text(&listed.stdout).contains("say\tTAGS: [say]"),
        "{}",
        text(&listed.stdout)
    );
    let hosts = project.play(&bed, &["--list-hosts", "--limit", "host2"]);
    assert!(
        text(&hosts.stdout).contains("hosts (1):\n      host2"),
        "{}",
        text(&hosts.stdout)
    );
    let syntax = project.play(&bed, &["--syntax-check"]);
    assert_eq!(syntax.status.code(), Some(0));
    let skipped = project.play(&bed, &["--skip-tags", "say", "--output", "json"]);
    let events: Vec<serde_json::Value> = text(&skipped.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("NDJSON"))
        .collect();
    assert_eq!(events.first().unwrap()["event"], "play_start");
    assert_eq!(events.last().unwrap()["event"], "recap");
    assert!(
        !events.iter().any(|event| event["event"] == "task_start"),
        "the tagged task was skipped"
    );
}

#[test]
fn issue_4_invalid_playbooks_report_every_error_before_running() {
    let project = Project::new(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - copi: src=a dest=b\n    - file: {path: /tmp/x, stat: directory}\n    - debug: msg={{ broken\n    - command: ls\n      whne: true\n",
    )]);
    let output = drover(
        project.root.path(),
        &["play", "site.yml", "-i", "localhost,", "--strict"],
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("4 problem(s)"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn issue_4_the_readme_example_playbook_runs_and_settles() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let directory = tempfile::tempdir().expect("temporary directory");
    let app_dir = format!("app_dir={}", directory.path().join("hello").display());
    let arguments = [
        "play",
        "playbooks/hello.yml",
        "-i",
        "inventory/hosts.ini",
        "--limit",
        "localhost",
        "-e",
        &app_dir,
    ];
    let first = drover(&repository, &arguments);
    let stdout = support::exited(&first, 0);
    assert!(recap(&stdout, "localhost")[1] >= 3, "{stdout}");
    let second = drover(&repository, &arguments);
    assert_eq!(
        recap(&text(&second.stdout), "localhost")[1],
        0,
        "{}",
        text(&second.stdout)
    );
}

const MORE_PLAYBOOK: &str = r#"
- name: the rest of the modules and keywords
  hosts: testbed
  gather_facts: no
  strategy: free
  vars_files: [vars/common.yml]
  vars:
    base: "TARGET/{{ inventory_hostname }}"
  tasks:
    - file: path={{ base }} state=directory
    - name: raw and ping
      raw: echo raw-{{ inventory_hostname }}
      register: raw_out
    - ping:
    - name: a script from files/
      script: make-marker.sh {{ base }}/script-ran creates={{ base }}/script-ran
    - name: environment reaches commands
      shell: echo "$GREETING" > {{ base }}/env.txt
      environment:
        GREETING: "{{ greeting }}"
      args:
        creates: "{{ base }}/env.txt"
    - name: wait for a file
      wait_for: path={{ base }}/env.txt timeout=10
    - name: fetch it back
      fetch: src={{ base }}/env.txt dest=TARGET/fetched
    - name: retried until it holds
      shell: echo x >> {{ base }}/attempts; wc -l < {{ base }}/attempts
      register: attempt
      until: attempt.stdout | int >= 3
      retries: 5
      delay: 0
      changed_when: false
    - name: once for all hosts, on the controller
      command: echo from-controller
      delegate_to: localhost
      run_once: true
      register: once
      changed_when: false
    - assert:
        that:
          - once.stdout == 'from-controller'
          - raw_out.stdout | trim == 'raw-' + inventory_hostname
    - name: secret
      debug: msg="the secret is {{ secret }}"
      no_log: true
    - name: a failure, ignored
      fail: msg='on purpose'
      ignore_errors: yes
    - pause: seconds=0
    - name: notify by topic
      command: /bin/true
      notify: restart things
  handlers:
    - name: first listener
      file: path={{ base }}/listened state=touch
      listen: restart things
"#;

#[test]
fn issue_4_remaining_modules_and_keywords() {
    let bed = TestBed::start(2);
    let project = Project::new(&[
        ("site.yml", MORE_PLAYBOOK),
        (
            "vars/common.yml",
            "greeting: hi-from-vars-file\nsecret: hunter2-do-not-print\n",
        ),
        ("files/make-marker.sh", "#!/bin/sh\ntouch \"$1\"\n"),
    ]);
    let output = project.play(&bed, &[]);
    let stdout = support::exited(&output, 0);
    assert!(
        !stdout.contains("hunter2"),
        "no_log leaked the secret:\n{stdout}"
    );
    assert!(stdout.contains("...ignoring"), "{stdout}");
    let host1 = project.target.join("host1");
    assert!(host1.join("script-ran").exists());
    assert_eq!(
        std::fs::read_to_string(host1.join("env.txt")).unwrap(),
        "hi-from-vars-file\n"
    );
    assert!(
        host1.join("listened").exists(),
        "handlers answer to `listen`"
    );
    let fetched = project
        .target
        .join("fetched/host2")
        .join(project.target.strip_prefix("/").unwrap())
        .join("host2/env.txt");
    assert!(
        fetched.exists(),
        "fetch keeps HOST/PATH under dest: {}",
        fetched.display()
    );
    let attempts = std::fs::read_to_string(host1.join("attempts")).unwrap();
    assert_eq!(
        attempts.lines().count(),
        3,
        "until retried until the third attempt"
    );
    let [_, _, _, failed, _, _, ignored] = recap(&stdout, "host1");
    assert_eq!((failed, ignored), (0, 1), "{stdout}");
}

#[test]
fn issue_4_undefined_variables_start_at_task_end_play_and_prompts() {
    let bed = TestBed::start(1);
    let project = Project::new(&[(
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - name: first\n      file: path=TARGET/first state=touch\n    - name: second\n      file: path=TARGET/second state=touch\n    - meta: end_play\n    - name: never\n      file: path=TARGET/never state=touch\n- hosts: all\n  gather_facts: no\n  tasks:\n    - name: uses an undefined variable\n      debug: msg={{ nowhere_defined }}\n",
    )]);
    let output = project.play(&bed, &["--start-at-task", "second"]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(!project.target.join("first").exists() && project.target.join("second").exists());
    assert!(
        !project.target.join("never").exists(),
        "end_play stops the play"
    );
    assert!(
        stdout.contains("`nowhere_defined` is undefined, in task `uses an undefined variable` at"),
        "{stdout}"
    );
    assert!(
        stdout.contains("site.yml:14"),
        "the message names the file and line: {stdout}"
    );

    let prompting = Project::new(&[(
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  vars_prompt:\n    - name: release\n  tasks:\n    - debug: var=release\n",
    )]);
    let refused = prompting.play(&bed, &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("-e release="),
        "{}",
        text(&refused.stderr)
    );
    let given = prompting.play(&bed, &["-e", "release=1.2"]);
    assert_eq!(given.status.code(), Some(0), "{}", text(&given.stdout));
}

/// Every file under `root` (but `stamp`, whose time differs) with its mode and content.
fn tree(root: &Path) -> Vec<(String, u32, String)> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).expect("readable directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.file_name().is_some_and(|name| name != "stamp") {
                let mode = std::fs::metadata(&path)
                    .expect("metadata")
                    .permissions()
                    .mode()
                    & 0o7777;
                let relative = path
                    .strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string();
                files.push((
                    relative,
                    mode,
                    std::fs::read_to_string(&path).unwrap_or_default(),
                ));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn issue_4_drover_leaves_the_files_ansible_leaves() {
    let Some(ansible) = support::ansible_tool("ansible-playbook") else {
        return;
    };
    let bed = TestBed::start(2);
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/playbook");
    let work = tempfile::tempdir().expect("temporary directory");
    for tool in ["drover", "ansible"] {
        let directory = work.path().join(tool);
        std::fs::create_dir_all(&directory).expect("directory");
        std::fs::set_permissions(&directory, std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
    }
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let inventory = bed.inventory_file();
    let base = |tool: &str| format!("base_dir={}", work.path().join(tool).display());
    let ours = drover(
        &repository,
        &[
            "play",
            "bench.yml",
            "-i",
            &inventory.display().to_string(),
            "--known-hosts",
            &bed.known_hosts.display().to_string(),
            "-e",
            &base("drover"),
        ],
    );
    assert_eq!(ours.status.code(), Some(0), "{}", text(&ours.stdout));
    let theirs = Command::new(ansible)
        .current_dir(&repository)
        .args([
            "bench.yml",
            "-i",
            &inventory.display().to_string(),
            "-e",
            &base("ansible"),
        ])
        .env("ANSIBLE_PIPELINING", "True")
        .env("ANSIBLE_REMOTE_TMP", "/tmp/.ansible-remote-tmp")
        .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
        .env(
            "ANSIBLE_SSH_ARGS",
            format!("-o UserKnownHostsFile={}", bed.known_hosts.display()),
        )
        .output()
        .expect("ansible-playbook runs");
    assert!(theirs.status.success(), "{}", text(&theirs.stdout));
    let (drover_files, ansible_files) = (
        tree(&work.path().join("drover")),
        tree(&work.path().join("ansible")),
    );
    assert!(!drover_files.is_empty());
    assert_eq!(drover_files, ansible_files);
}

#[test]
fn issue_4_listings_match_ansible_playbook() {
    let Some(ansible) = support::ansible_tool("ansible-playbook") else {
        return;
    };
    let project = Project::new(&[(
        "site.yml",
        "- name: web\n  hosts: all\n  tags: [play_tag]\n  tasks:\n    - name: one\n      command: echo 1\n      tags: [b, a]\n    - block:\n        - name: two\n          command: echo 2\n      tags: blk\n    - debug: msg=hi\n- hosts: localhost\n  tasks:\n    - ping:\n",
    )]);
    for option in ["--list-tasks", "--list-hosts", "--list-tags"] {
        let ours = drover(
            project.root.path(),
            &["play", "site.yml", "-i", "localhost,other,", option],
        );
        let theirs = Command::new(&ansible)
            .current_dir(project.root.path())
            .args(["site.yml", "-i", "localhost,other,", option])
            .output()
            .expect("ansible-playbook runs");
        // Ansible lists a play's hosts from a set, in no fixed order: compare sorted lines.
        let normalise = |text: &str| {
            let mut lines: Vec<String> = text.trim().lines().map(str::to_owned).collect();
            if option == "--list-hosts" {
                lines.sort();
            }
            lines.join("\n")
        };
        assert_eq!(
            normalise(&text(&ours.stdout)),
            normalise(&text(&theirs.stdout)),
            "{option}"
        );
    }
}

#[test]
fn issue_4_validate_remote_src_and_search_string() {
    let bed = TestBed::start(1);
    let project = Project::new(&[(
        "site.yml",
        r#"
- hosts: all
  gather_facts: no
  vars:
    base: "TARGET/{{ inventory_hostname }}"
  tasks:
    - file: path={{ base }} state=directory
    - copy: content="good\n" dest={{ base }}/checked.conf validate="grep -q good %s"
    - name: bad content is refused and the old file stays
      copy: content="bad\n" dest={{ base }}/checked.conf validate="grep -q good %s"
      ignore_errors: yes
    - copy: src={{ base }}/checked.conf dest={{ base }}/copied.conf remote_src=yes mode=0600
    - copy:
        dest: "{{ base }}/app.ini"
        content: "[a]\nx=1\n[a]\ny=2\n"
        force: no
    - lineinfile:
        path: "{{ base }}/app.ini"
        search_string: "x=1"
        line: "x=one"
    - lineinfile:
        path: "{{ base }}/app.ini"
        line: "first=true"
        insertafter: '^\[a\]'
        firstmatch: yes
"#,
    )]);
    let output = project.play(&bed, &[]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let host = project.target.join("host1");
    assert_eq!(
        std::fs::read_to_string(host.join("checked.conf")).unwrap(),
        "good\n"
    );
    assert!(stdout.contains("failed `validate`"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(host.join("copied.conf")).unwrap(),
        "good\n"
    );
    let mode = std::fs::metadata(host.join("copied.conf"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        std::fs::read_to_string(host.join("app.ini")).unwrap(),
        "[a]\nfirst=true\nx=one\n[a]\ny=2\n"
    );
    let second = project.play(&bed, &[]);
    let stdout = text(&second.stdout);
    // The refused copy fails again (and is ignored); everything else is settled.
    assert_eq!(recap(&stdout, "host1")[1], 0, "{stdout}");
}

/// Every example in `playbooks/` (one per rollout strategy among them)
/// validates completely: modules, arguments, templates and `rollout:`.
#[test]
fn issue_6_every_example_playbook_validates() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../playbooks");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&examples).expect("the examples directory") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|extension| extension == "yml") {
            let output = drover(
                &examples,
                &[
                    "play",
                    "--syntax-check",
                    path.to_str().expect("a path"),
                    "-i",
                    "localhost,",
                ],
            );
            assert!(
                output.status.success(),
                "{}: {}",
                path.display(),
                text(&output.stderr)
            );
            checked.push(
                path.file_name()
                    .expect("a name")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    checked.sort();
    for strategy in [
        "rolling",
        "canary",
        "blue-green",
        "blue-green-groups",
        "big-bang",
        "toggle",
    ] {
        assert!(
            checked.contains(&format!("rollout-{strategy}.yml")),
            "an example for {strategy}: {checked:?}"
        );
    }
}

/// A value built to break out of shell quoting, in every module argument
/// that reaches a command line: it must stay one argument everywhere, so
/// the marker it tries to create never appears.
const INJECTION_PLAYBOOK: &str = r#"
- hosts: testbed
  gather_facts: no
  vars:
    base: "TARGET/{{ inventory_hostname }}"
    evil: "x'; cd; touch MARKER; echo '$(cd; touch MARKER)`cd; touch MARKER`\" #"
  tasks:
    - file: path={{ base }} state=directory
    - name: a file named by the value
      file:
        path: "{{ base }}/{{ evil }}"
        state: touch
    - name: a copy to it, holding it
      copy:
        dest: "{{ base }}/{{ evil }}.copy"
        content: "{{ evil }}\n"
    - name: a line holding it
      lineinfile:
        path: "{{ base }}/{{ evil }}.lines"
        line: "{{ evil }}"
        create: yes
    - name: a block holding it
      blockinfile:
        path: "{{ base }}/{{ evil }}.block"
        block: "{{ evil }}"
        create: yes
    - name: a stat of it
      stat:
        path: "{{ base }}/{{ evil }}"
      register: evil_stat
    - name: the stat found the file
      assert:
        that: evil_stat.stat.exists
    - name: a command with it as one argument
      command:
        argv: [touch, "{{ base }}/{{ evil }}.argv"]
    - name: a shell with it quoted
      shell: "printf '%s' {{ evil | quote }} > {{ base | quote }}/shell-out"
    - name: a link to it
      file:
        src: "{{ base }}/{{ evil }}"
        dest: "{{ base }}/{{ evil }}.link"
        state: link
    - name: its mode
      file:
        path: "{{ base }}/{{ evil }}"
        mode: "0600"
    - name: a fetch of it
      fetch:
        src: "{{ base }}/{{ evil }}.copy"
        dest: "TARGET/fetched/"
    - name: a cron job holding it
      cron:
        name: "{{ evil }}"
        job: "echo {{ evil | quote }}"
        minute: "5"
      ignore_errors: yes
    - name: a user named by it
      user:
        name: "{{ evil }}"
      become: yes
      ignore_errors: yes
    - name: a service named by it
      service:
        name: "{{ evil }}"
        state: stopped
      become: yes
      ignore_errors: yes
    - name: a package named by it
      apt:
        name: "{{ evil }}"
        state: absent
      become: yes
      ignore_errors: yes
"#;

#[test]
fn issue_7_a_hostile_value_stays_one_argument_in_every_module() {
    let bed = TestBed::start(1);
    // A marker with no slash (the value is also a file name): an escaped
    // command would create it in the user's (or root's) home.
    let marker = format!("drover-pwned-{}", std::process::id());
    let playbook = INJECTION_PLAYBOOK.replace("MARKER", &marker);
    let project = Project::new(&[("site.yml", playbook.as_str())]);
    let output = project.play(&bed, &[]);
    let stdout = text(&output.stdout);
    for home in ["/root", "/home/drover-test"] {
        let escaped = Path::new(home).join(&marker);
        let found = escaped.exists();
        let _ = std::fs::remove_file(&escaped);
        assert!(!found, "the value escaped its quoting:\n{stdout}");
    }
    let [_, _, unreachable, failed, ..] = recap(&stdout, "host1");
    assert_eq!(
        (unreachable, failed),
        (0, 0),
        "{stdout}{}",
        text(&output.stderr)
    );
    let evil =
        format!("x'; cd; touch {marker}; echo '$(cd; touch {marker})`cd; touch {marker}`\" #");
    let base = project.target.join("host1");
    for suffix in ["", ".copy", ".lines", ".block", ".argv", ".link"] {
        assert!(
            base.join(format!("{evil}{suffix}"))
                .symlink_metadata()
                .is_ok(),
            "{evil}{suffix} exists"
        );
    }
    assert_eq!(
        std::fs::read_to_string(base.join(format!("{evil}.copy"))).expect("the copy"),
        format!("{evil}\n")
    );
    assert_eq!(
        std::fs::read_to_string(base.join("shell-out")).expect("the shell output"),
        evil
    );
}
