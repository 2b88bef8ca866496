//! The parts of Ansible's language that public roles use, run on this
//! machine through the local connection: `include_vars` and
//! `with_first_found` (the way roles pick their OS-specific variables), `with_subelements`, `with_nested`,
//! a templated `environment`, templated `retries` and `delay`, and
//! `async` with `poll`.
//!
//! Regression tests for issue 16 ("Real Ansible content runs unchanged,
//! part 1").

mod support;

use std::path::Path;

/// A project in a temporary directory: `hosts.ini` (this machine) and the
/// given files.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("a directory");
    let mut all = vec![("hosts.ini", "here ansible_connection=local\n")];
    all.extend(files);
    for (path, content) in all {
        let full = directory.path().join(path);
        std::fs::create_dir_all(full.parent().expect("a parent")).expect("a directory");
        std::fs::write(full, content).expect("a project file");
    }
    directory
}

/// `drover play site.yml`; its standard output, once it succeeded.
fn play(directory: &Path) -> String {
    let output = support::drover(directory, &["play", "site.yml", "-i", "hosts.ini"]);
    support::exited(&output, 0)
}

#[test]
fn issue_16_loops_that_look_things_up() {
    let directory = project(&[
        ("vars/Debian.yml", "flavour: debian\n"),
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  vars:\n    family: Debian\n\
             \x20   users:\n      - {name: ann, keys: [k1, k2]}\n      - {name: bob}\n\
             \x20 tasks:\n\
             \x20   - name: the first file that exists\n      debug: {msg: 'found {{ item | basename }}'}\n\
             \x20     with_first_found:\n        - files: ['{{ family }}-12.yml', '{{ family }}.yml']\n          paths: [vars]\n\
             \x20   - name: none, skipped\n      debug: {msg: never}\n\
             \x20     with_first_found:\n        - files: [nowhere.yml]\n          skip: true\n\
             \x20   - name: each key of each user\n      debug: {msg: '{{ item.0.name }}:{{ item.1 }}'}\n\
             \x20     with_subelements:\n        - '{{ users }}'\n        - keys\n        - {skip_missing: true}\n\
             \x20   - name: every pair\n      debug: {msg: '{{ item.0 }}{{ item.1 }}'}\n\
             \x20     with_nested:\n        - [a, b]\n        - [1, 2]\n",
        ),
    ]);
    let stdout = play(directory.path());
    assert!(stdout.contains("found Debian.yml"), "{stdout}");
    assert!(!stdout.contains("never"), "{stdout}");
    for pair in ["ann:k1", "ann:k2"] {
        assert!(stdout.contains(pair), "{pair}: {stdout}");
    }
    for pair in ["a1", "a2", "b1", "b2"] {
        assert!(
            stdout.contains(&format!("\"msg\":\"{pair}\"")),
            "{pair}: {stdout}"
        );
    }
}

#[test]
fn issue_16_templated_environment_retries_and_delay() {
    let directory = project(&[(
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  vars:\n    proxy_env: {GREETING: hello, OTHER: kept}\n    tries: '2'\n\
         \x20 tasks:\n\
         \x20   - name: the environment comes from a variable\n      shell: echo \"$GREETING $OTHER\"\n\
         \x20     environment: '{{ proxy_env }}'\n      register: said\n\
         \x20   - debug: {var: said.stdout}\n\
         \x20   - name: retried as often as a variable says\n      shell: 'false'\n      register: tried\n\
         \x20     until: tried.rc == 0\n      retries: '{{ tries }}'\n      delay: '{{ 0 }}'\n      ignore_errors: true\n\
         \x20   - debug: {var: tried.attempts}\n",
    )]);
    let stdout = play(directory.path());
    assert!(
        stdout.contains("\"said.stdout\":\"hello kept\""),
        "{stdout}"
    );
    assert!(stdout.contains("\"tried.attempts\":3"), "{stdout}");
}

#[test]
fn issue_16_async_tasks_start_in_the_background_or_time_out() {
    let directory = project(&[(
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n\
         \x20   - name: fire and forget\n      shell: sleep 3; touch {{ playbook_dir }}/late\n      async: 10\n      poll: 0\n      register: job\n\
         \x20   - debug: {msg: 'job {{ job.ansible_job_id }} started {{ job.started }}'}\n\
         \x20   - name: too slow\n      command: sleep 5\n      async: 1\n      poll: 1\n      ignore_errors: true\n",
    )]);
    let started = std::time::Instant::now();
    let stdout = play(directory.path());
    assert!(stdout.contains("started 1"), "{stdout}");
    assert!(
        stdout.contains("did not finish within its `async: 1` seconds"),
        "{stdout}"
    );
    assert!(
        !directory.path().join("late").exists(),
        "the play did not wait for the background command"
    );
    // The background command goes on after the play, and finishes.
    let deadline = started + std::time::Duration::from_secs(20);
    while !directory.path().join("late").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(directory.path().join("late").exists(), "it ran to its end");
}

#[test]
fn issue_16_include_vars_from_a_role_a_found_file_and_a_directory() {
    let directory = project(&[
        ("roles/web/vars/Debian.yml", "package: apache2\nport: 80\n"),
        ("roles/web/vars/main.yml", "port: 8080\n"),
        (
            "roles/web/tasks/main.yml",
            "- include_vars: '{{ family }}.yml'\n\
             - debug: {msg: 'role {{ package }} {{ port }}'}\n\
             - include_vars: '{{ item }}'\n  with_first_found:\n    - files: ['{{ family }}-12.yml', '{{ family }}.yml']\n      paths: ['{{ role_path }}/vars']\n\
             - debug: {msg: 'found {{ package }}'}\n",
        ),
        ("settings/a.yml", "first: one\nshared: a\n"),
        ("settings/b.yml", "shared: b\n"),
        ("settings/skip.txt", "not: read\n"),
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  vars:\n    family: Debian\n  roles: [web]\n  tasks:\n\
             \x20   - include_vars: {dir: settings, name: settings}\n\
             \x20   - debug: {msg: 'dir {{ settings.first }} {{ settings.shared }} {{ settings.not | default(\"unread\") }}'}\n",
        ),
    ]);
    let stdout = play(directory.path());
    // include_vars ranks above the role's vars/main.yml, as in Ansible.
    assert!(stdout.contains("role apache2 80"), "{stdout}");
    assert!(stdout.contains("found apache2"), "{stdout}");
    assert!(stdout.contains("dir one b unread"), "{stdout}");
}

/// A `validate` command that refuses the content says why on standard
/// output (as `visudo -c` does): the failure shows it, not an empty message.
#[test]
fn issue_16_a_refused_validate_shows_what_the_command_said() {
    let directory = project(&[(
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n\
         \x20   - copy:\n        content: \"bad\\n\"\n        dest: '{{ playbook_dir }}/checked.conf'\n\
         \x20       validate: \"sh -c 'echo refused: bad content; exit 1' -- %s\"\n",
    )]);
    let output = support::drover(directory.path(), &["play", "site.yml", "-i", "hosts.ini"]);
    let stdout = support::exited(&output, 2);
    assert!(stdout.contains("refused: bad content"), "{stdout}");
    assert!(!directory.path().join("checked.conf").exists());
}

/// `action:` and `local_action:` in the forms Ansible reads: a line for a
/// key=value module and for a free-form one, and a mapping with `module:`.
#[test]
fn issue_16_action_and_local_action_in_every_form() {
    let directory = project(&[(
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n\
         \x20   - action: ping data='Hi Mom'\n      register: pong\n\
         \x20   - debug: {var: pong.ping}\n\
         \x20   - local_action: shell echo from the controller\n      register: said\n\
         \x20   - debug: {var: said.stdout}\n\
         \x20   - action:\n        module: debug\n        msg: from a mapping\n",
    )]);
    let stdout = play(directory.path());
    assert!(stdout.contains("\"pong.ping\":\"Hi Mom\""), "{stdout}");
    assert!(
        stdout.contains("\"said.stdout\":\"from the controller\""),
        "{stdout}"
    );
    assert!(stdout.contains("\"msg\":\"from a mapping\""), "{stdout}");
}

/// Symbolic modes (`u=rwx,g=rx,o=`, `a+x`) give the bits `chmod` gives,
/// and a second run changes nothing.
#[test]
fn issue_16_symbolic_modes() {
    use std::os::unix::fs::PermissionsExt as _;
    let directory = project(&[
        ("data.txt", "data\n"),
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  tasks:\n\
             \x20   - file: {path: '{{ playbook_dir }}/private', state: directory, mode: 'u=rwx,g=rx,o='}\n\
             \x20   - copy: {src: data.txt, dest: '{{ playbook_dir }}/run.sh', mode: 'a+x'}\n\
             \x20   - file: {path: '{{ playbook_dir }}/data.txt', mode: 'go-r'}\n",
        ),
    ]);
    let mode = |name: &str| {
        std::fs::metadata(directory.path().join(name))
            .expect("the path")
            .permissions()
            .mode()
            & 0o7777
    };
    std::fs::set_permissions(
        directory.path().join("data.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("a mode");
    play(directory.path());
    assert_eq!(
        (mode("private"), mode("run.sh"), mode("data.txt")),
        (0o750, 0o755, 0o600)
    );
    let again = play(directory.path());
    assert_eq!(support::recap(&again, "here")[1], 0, "{again}");
}

#[test]
fn issue_16_facts_outlive_their_play_and_ansible_facts_is_always_defined() {
    let directory = project(&[(
        "site.yml",
        r#"
- hosts: all
  gather_facts: no
  tasks:
    - debug:
        msg: "before={{ ansible_facts.os_family | default('none') }}"
    - set_fact:
        colour: teal
- hosts: all
  gather_facts: no
  tasks:
    - debug:
        msg: "colour={{ colour }}"
"#,
    )]);
    let stdout = play(directory.path());
    assert!(stdout.contains("before=none"), "{stdout}");
    assert!(stdout.contains("colour=teal"), "{stdout}");
}

#[test]
fn issue_16_the_rest_of_the_with_loops() {
    let directory = project(&[
        ("files/b.conf", ""),
        ("files/a.conf", ""),
        (
            "site.yml",
            r#"
- hosts: all
  gather_facts: no
  tasks:
    - debug: {msg: "seq={{ item }}"}
      with_sequence: start=1 end=5 stride=2 format=web%02d
    - debug: {msg: "glob={{ item | basename }}"}
      with_fileglob: ["*.conf"]
    - debug: {msg: "line={{ item }}"}
      with_lines: printf 'one\ntwo\n'
    - debug: {msg: "flat={{ item }}"}
      with_flattened: [1, [2, [3]]]
    - debug: {msg: "pair={{ item.0 }}{{ item.1 }}"}
      with_cartesian: [[x, y], [7]]
    - debug: {msg: "picked={{ item }}"}
      with_random_choice: [only]
    - debug: {msg: "host={{ item }}"}
      with_inventory_hostnames: all
"#,
        ),
    ]);
    let stdout = play(directory.path());
    for expected in [
        "seq=web01",
        "seq=web03",
        "seq=web05",
        "glob=a.conf",
        "glob=b.conf",
        "line=one",
        "line=two",
        "flat=3",
        "pair=x7",
        "pair=y7",
        "picked=only",
        "host=here",
    ] {
        assert!(stdout.contains(expected), "{expected}: {stdout}");
    }
    assert!(!stdout.contains("seq=web02"), "{stdout}");
}

#[test]
fn issue_16_dynamic_includes_are_decided_per_host_and_per_item() {
    let directory = project(&[
        (
            "hosts.ini",
            "here ansible_connection=local flavour=a\nthere ansible_connection=local flavour=b\n",
        ),
        (
            "tasks-a.yml",
            "- debug: {msg: 'a on {{ inventory_hostname }} item={{ item | default(0) }}'}\n",
        ),
        (
            "tasks-b.yml",
            "- debug: {msg: 'b on {{ inventory_hostname }}'}\n",
        ),
        (
            "site.yml",
            r#"
- hosts: all
  gather_facts: no
  tasks:
    - include_tasks: "tasks-{{ flavour }}.yml"
    - include_tasks: "tasks-{{ undefined_on_purpose }}.yml"
      when: false
    - include_tasks: "tasks-{{ item }}.yml"
      loop: [a]
      when: flavour == 'a'
"#,
        ),
    ]);
    let stdout = play(directory.path());
    for expected in ["a on here item=0", "b on there", "a on here item=a"] {
        assert!(stdout.contains(expected), "{expected}: {stdout}");
    }
    assert!(!stdout.contains("a on there"), "{stdout}");
}

#[test]
fn issue_16_include_role_reads_the_files_it_names_and_applies_keywords() {
    let directory = project(&[
        ("roles/web/tasks/main.yml", "- debug: {msg: 'main tasks'}\n"),
        (
            "roles/web/tasks/extra.yml",
            "- debug: {msg: 'extra with {{ colour }} and {{ size }}'}\n  changed_when: true\n  notify: more\n",
        ),
        ("roles/web/vars/main.yml", "colour: plain\n"),
        ("roles/web/vars/other.yml", "colour: teal\n"),
        ("roles/web/defaults/alt.yml", "size: large\n"),
        (
            "roles/web/handlers/more.yml",
            "- name: more\n  debug: {msg: 'the other handlers'}\n",
        ),
        (
            "roles/skipped/tasks/main.yml",
            "- debug: {msg: 'never applied'}\n",
        ),
        (
            "site.yml",
            r"
- hosts: all
  gather_facts: no
  tasks:
    - include_role:
        name: web
        tasks_from: extra
        vars_from: other
        defaults_from: alt
        handlers_from: more
    - include_role:
        name: skipped
        apply:
          when: false
          tags: [applied]
",
        ),
    ]);
    let stdout = play(directory.path());
    assert!(stdout.contains("extra with teal and large"), "{stdout}");
    assert!(stdout.contains("the other handlers"), "{stdout}");
    assert!(!stdout.contains("main tasks"), "{stdout}");
    assert!(!stdout.contains("never applied"), "{stdout}");
}

#[test]
fn issue_16_add_host_and_group_by_change_the_inventory_for_later_plays() {
    let directory = project(&[(
        "site.yml",
        r#"
- hosts: all
  gather_facts: no
  tasks:
    - add_host:
        name: extra
        groups: [added, more]
        ansible_connection: local
        colour: teal
    - group_by:
        key: "kind_{{ 'local' }}"
- hosts: added
  gather_facts: no
  tasks:
    - debug: {msg: "added {{ inventory_hostname }} {{ colour }}"}
- hosts: kind_local
  gather_facts: no
  tasks:
    - debug: {msg: "grouped {{ inventory_hostname }}"}
"#,
    )]);
    let stdout = play(directory.path());
    assert!(stdout.contains("added extra teal"), "{stdout}");
    assert!(stdout.contains("grouped here"), "{stdout}");
    assert!(!stdout.contains("grouped extra"), "{stdout}");
}

#[test]
fn issue_16_unsafe_strings_and_host_output_are_never_templated() {
    let directory = project(&[(
        "site.yml",
        r#"
- hosts: all
  gather_facts: no
  vars:
    literal: !unsafe "{{ not_a_variable }}"
  tasks:
    - debug: {msg: "unsafe={{ literal }}"}
    - shell: "echo '{{ '{{' }} 7 * 6 }}'"
      register: printed
    - set_fact:
        kept: "{{ printed.stdout }}"
    - debug: {msg: "registered={{ printed.stdout }} kept={{ kept }}"}
"#,
    )]);
    let stdout = play(directory.path());
    assert!(stdout.contains("unsafe={{ not_a_variable }}"), "{stdout}");
    assert!(
        stdout.contains("registered={{ 7 * 6 }} kept={{ 7 * 6 }}"),
        "{stdout}"
    );
    assert!(!stdout.contains("42"), "{stdout}");
}

#[test]
fn issue_16_async_status_follows_a_job_started_with_poll_0() {
    let directory = project(&[(
        "site.yml",
        r#"
- hosts: all
  gather_facts: no
  tasks:
    - name: started
      shell: sleep 1; echo done at last; echo complaint >&2
      async: 30
      poll: 0
      register: job
    - name: followed
      async_status:
        jid: "{{ job.ansible_job_id }}"
      register: status
      until: status.finished
      retries: 30
      delay: 1
    - debug: {msg: "out={{ status.stdout }} err={{ status.stderr }} rc={{ status.rc }}"}
    - async_status:
        jid: "{{ job.ansible_job_id }}"
        mode: cleanup
"#,
    )]);
    let stdout = play(directory.path());
    assert!(
        stdout.contains("out=done at last err=complaint rc=0"),
        "{stdout}"
    );
}

#[test]
fn issue_16_arguments_are_converted_as_ansible_converts_them() {
    let directory = project(&[(
        "site.yml",
        r#"
- hosts: all
  gather_facts: no
  tasks:
    - copy:
        content: {colour: teal}
        dest: "{{ playbook_dir }}/mapping.json"
    - file:
        path: "{{ playbook_dir }}/mapping.json"
        mode: "0600"
        follow: "yes"
    - setup:
        gather_subset: "min,!hardware"
"#,
    )]);
    play(directory.path());
    let written = std::fs::read_to_string(directory.path().join("mapping.json")).expect("written");
    let parsed: serde_json::Value = serde_json::from_str(&written).expect("JSON");
    assert_eq!(parsed["colour"], "teal");
}

#[test]
fn issue_16_an_action_may_name_its_module_with_a_template() {
    let directory = project(&[(
        "site.yml",
        r#"
- hosts: all
  gather_facts: no
  vars:
    speaker: debug
  tasks:
    - action: "{{ speaker }} msg='said by a templated module'"
    - local_action: "{{ speaker }} msg=locally"
"#,
    )]);
    let stdout = play(directory.path());
    assert!(stdout.contains("said by a templated module"), "{stdout}");
    assert!(stdout.contains("locally"), "{stdout}");
}

#[test]
fn issue_16_a_role_finds_files_beside_the_playbook() {
    let directory = project(&[
        ("files/shared.txt", "from the playbook's files\n"),
        ("templates/page.j2", "page for {{ inventory_hostname }}\n"),
        (
            "roles/web/tasks/main.yml",
            "- copy: {src: shared.txt, dest: '{{ playbook_dir }}/out/shared.txt'}\n\
             - template: {src: page.j2, dest: '{{ playbook_dir }}/out/page.txt'}\n",
        ),
        ("out/.keep", ""),
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  roles: [web]\n",
        ),
    ]);
    play(directory.path());
    let read = |name: &str| {
        std::fs::read_to_string(directory.path().join("out").join(name)).expect("written")
    };
    assert_eq!(read("shared.txt"), "from the playbook's files\n");
    assert_eq!(read("page.txt"), "page for here\n");
}

#[test]
fn issue_16_the_lookups_behind_the_loops() {
    let directory = project(&[
        ("vars/Debian.yml", "a: 1\n"),
        (
            "site.yml",
            r#"
- hosts: all
  gather_facts: no
  vars:
    colour: teal
  tasks:
    - debug: {msg: "seq={{ lookup('sequence', 'start=1 end=3') }}"}
    - debug: {msg: "zip={{ query('together', [1, 2], ['a', 'b']) | map('join', '') | join(',') }}"}
    - debug: {msg: "var={{ lookup('vars', 'colour') }}"}
    - debug: {msg: "found={{ lookup('first_found', 'RedHat.yml', 'Debian.yml', paths=['vars']) | basename }}"}
    - debug: {msg: "flat={{ query('flattened', [1, [2, [3]]]) | join(',') }}"}
"#,
        ),
    ]);
    let stdout = play(directory.path());
    for expected in [
        "seq=1,2,3",
        "zip=1a,2b",
        "var=teal",
        "found=Debian.yml",
        "flat=1,2,3",
    ] {
        assert!(stdout.contains(expected), "{expected}: {stdout}");
    }
}

#[test]
fn issue_16_includes_with_a_loop_run_once_per_item() {
    let directory = project(&[
        ("steps.yml", "- debug: {msg: 'step {{ item }}'}\n"),
        (
            "roles/greet/tasks/main.yml",
            "- debug: {msg: 'hello {{ person }}'}\n",
        ),
        (
            "site.yml",
            r"
- hosts: all
  gather_facts: no
  tasks:
    - include_tasks: steps.yml
      loop: [one, two]
    - include_role:
        name: greet
      loop: [ann, bob]
      loop_control:
        loop_var: person
",
        ),
    ]);
    let stdout = play(directory.path());
    for expected in ["step one", "step two", "hello ann", "hello bob"] {
        assert!(stdout.contains(expected), "{expected}: {stdout}");
    }
}

#[test]
fn issue_17_tempfile_makes_a_new_file_or_directory_each_time() {
    let directory = project(&[
        ("scratch/.keep", ""),
        (
            "site.yml",
            r"
- hosts: all
  gather_facts: no
  tasks:
    - tempfile: {path: '{{ playbook_dir }}/scratch', suffix: .conf}
      register: first
    - tempfile: {path: '{{ playbook_dir }}/scratch', state: directory, prefix: build.}
      register: second
    - debug: {msg: 'made {{ first.path | basename }} and {{ second.path | basename }}'}
",
        ),
    ]);
    play(directory.path());
    let names: Vec<String> = std::fs::read_dir(directory.path().join("scratch"))
        .expect("readable")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|name| name.starts_with("ansible.")
            && Path::new(name)
                .extension()
                .is_some_and(|extension| extension == "conf")),
        "{names:?}"
    );
    let made = names
        .iter()
        .find(|name| name.starts_with("build."))
        .expect("a directory");
    assert!(directory.path().join("scratch").join(made).is_dir());
}

#[test]
fn issue_17_mount_mounts_and_unmounts_a_file_system() {
    if !drover_test_harness::is_root() {
        eprintln!("skipped: mounting needs root");
        return;
    }
    let directory = project(&[
        ("fstab", ""),
        (
            "site.yml",
            r"
- hosts: all
  gather_facts: no
  vars:
    point: '{{ playbook_dir }}/mnt'
    table: '{{ playbook_dir }}/fstab'
  tasks:
    - mount: {path: '{{ point }}', src: tmpfs, fstype: tmpfs, opts: size=1m, state: mounted, fstab: '{{ table }}'}
    - shell: 'grep -c {{ point }} /proc/mounts'
      register: mounted
    - mount: {path: '{{ point }}', state: unmounted, fstab: '{{ table }}'}
    - shell: 'grep -c {{ point }} /proc/mounts || true'
      register: unmounted
    - debug: {msg: 'mounted={{ mounted.stdout }} unmounted={{ unmounted.stdout }}'}
",
        ),
    ]);
    let stdout = play(directory.path());
    assert!(stdout.contains("mounted=1 unmounted=0"), "{stdout}");
    let table = std::fs::read_to_string(directory.path().join("fstab")).expect("fstab");
    assert!(table.ends_with("/mnt tmpfs size=1m 0 0\n"), "{table}");
}

#[test]
fn issue_17_file_sets_access_and_modification_times() {
    let directory = project(&[
        ("stamped.txt", "x\n"),
        (
            "site.yml",
            r"
- hosts: all
  gather_facts: no
  tasks:
    - file:
        path: '{{ playbook_dir }}/stamped.txt'
        modification_time: '202401021530.00'
        access_time: '202401021530.00'
",
        ),
    ]);
    let first = play(directory.path());
    assert_eq!(support::recap(&first, "here")[1], 1, "{first}");
    let again = play(directory.path());
    assert_eq!(support::recap(&again, "here")[1], 0, "{again}");
    let expected = std::process::Command::new("date")
        .args(["-d", "2024-01-02 15:30:00", "+%s"])
        .output()
        .expect("date runs");
    let expected: i64 = support::text(&expected.stdout)
        .trim()
        .parse()
        .expect("seconds");
    let modified = std::fs::metadata(directory.path().join("stamped.txt"))
        .expect("the file")
        .modified()
        .expect("a time")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    assert_eq!(i64::try_from(modified).unwrap_or_default(), expected);
}

/// A host outside the play is still seen, through `hostvars`, with what it
/// registered in an earlier play: how a swarm's workers read the manager's
/// join token.
#[test]
fn issue_20_hostvars_keep_what_a_host_registered_in_an_earlier_play() {
    let directory = project(&[
        (
            "hosts.ini",
            "[managers]\nmanager ansible_connection=local\n[workers]\nworker ansible_connection=local\n",
        ),
        (
            "site.yml",
            "- hosts: managers\n  gather_facts: no\n  tasks:\n\
             \x20   - command: echo token-1\n      register: swarm\n\
             \x20   - set_fact: {role_of_node: manager}\n\
             - hosts: workers\n  gather_facts: no\n  tasks:\n\
             \x20   - debug:\n        msg: \"joins with {{ hostvars[groups.managers[0]].swarm.stdout }} \
             from a {{ hostvars['manager'].role_of_node }}\"\n",
        ),
    ]);
    let stdout = play(directory.path());
    assert!(
        stdout.contains("joins with token-1 from a manager"),
        "{stdout}"
    );
}
