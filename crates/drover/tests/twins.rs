//! Modules that change files, run by Ansible and by drover on twin
//! directories of this machine (the local connection), twice each: both
//! must succeed, drover's second run must change nothing, and the two
//! directories must end the same, file by file.
//!
//! Regression tests for issue 17 ("the modules public roles use").

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// A twin: a directory holding `files` and the play `tasks` work on (as `{{ root }}`).
fn twin(files: &[(&str, &str)]) -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("a directory");
    for (name, content) in files {
        let path = directory.path().join("root").join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
        std::fs::write(path, content).expect("a file");
    }
    directory
}

/// Every file under `root`, by relative path, with its content.
fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).expect("readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path
                    .strip_prefix(root)
                    .expect("below")
                    .display()
                    .to_string();
                files.insert(name, std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    files
}

fn playbook(tasks: &str) -> String {
    format!("- hosts: localhost\n  gather_facts: no\n  tasks:\n{tasks}")
}

/// Runs `tasks` under both tools on twins of `files`, twice each; returns
/// drover's second output. Skipped when Ansible is not installed.
fn converge_like_ansible(files: &[(&str, &str)], tasks: &str) -> Option<String> {
    let ansible = support::ansible_tool("ansible-playbook")?;
    let (theirs, ours) = (twin(files), twin(files));
    for directory in [&theirs, &ours] {
        std::fs::write(directory.path().join("site.yml"), playbook(tasks)).expect("written");
    }
    let root =
        |directory: &tempfile::TempDir| format!("root={}", directory.path().join("root").display());
    // Ansible's modules run with the Python beside it in the project's `.venv`.
    let python = format!(
        "ansible_python_interpreter={}",
        ansible.with_file_name("python3").display()
    );
    for _ in 0..2 {
        let output = Command::new(&ansible)
            .current_dir(theirs.path())
            .args([
                "site.yml",
                "-i",
                "localhost,",
                "-c",
                "local",
                "-e",
                &root(&theirs),
                "-e",
                &python,
            ])
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_LOCAL_TEMP", theirs.path().join(".ansible-tmp"))
            .output()
            .expect("ansible-playbook runs");
        assert!(
            output.status.success(),
            "Ansible failed:\n{}{}",
            support::text(&output.stdout),
            support::text(&output.stderr)
        );
    }
    let mut last = String::new();
    for run in 0..2 {
        let output = support::drover(ours.path(), &["play", "site.yml", "-e", &root(&ours)]);
        last = support::exited(&output, 0);
        if run == 1 {
            assert_eq!(
                support::recap(&last, "localhost")[1],
                0,
                "the second run changed something:\n{last}"
            );
        }
    }
    assert_eq!(
        tree(&ours.path().join("root")),
        tree(&theirs.path().join("root")),
        "drover (left) and Ansible (right) left different files"
    );
    Some(last)
}

#[test]
fn issue_17_replace_leaves_what_ansible_leaves() {
    let files = [(
        "app.conf",
        "# settings\nlisten 80\nname old\n[extra]\nlisten 80\nname old\n",
    )];
    converge_like_ansible(
        &files,
        r"    - replace:
        path: '{{ root }}/app.conf'
        regexp: '^listen (80)$'
        replace: 'listen 80\1'
        before: '\[extra\]'
    - replace:
        path: '{{ root }}/app.conf'
        regexp: 'old'
        replace: 'new'
        after: '\[extra\]'
    - replace:
        path: '{{ root }}/app.conf'
        regexp: '^# (settings)$'
        replace: '# \g<1> (managed)'
",
    );
}

#[test]
fn issue_17_ini_file_leaves_what_ansible_leaves() {
    let files = [(
        "app.ini",
        "top = 1\n[main]\nname = a\n#port = 1\nuser=x\nuser=y\n\n[old]\ngone = yes\n[keep]\nk = v",
    )];
    converge_like_ansible(
        &files,
        "    - community.general.ini_file: {path: '{{ root }}/app.ini', section: main, option: port, value: '8080'}
    - community.general.ini_file: {path: '{{ root }}/app.ini', section: main, option: user, value: z}
    - community.general.ini_file: {path: '{{ root }}/app.ini', section: old, state: absent}
    - community.general.ini_file: {path: '{{ root }}/app.ini', section: fresh, option: a, value: b, no_extra_spaces: true}
    - community.general.ini_file: {path: '{{ root }}/app.ini', section: null, option: top, value: '2'}
    - community.general.ini_file: {path: '{{ root }}/app.ini', section: keep, option: k, state: absent}
    - community.general.ini_file: {path: '{{ root }}/new.ini', section: s, option: o, value: v, mode: '0600'}
",
    );
}

#[test]
fn issue_17_getent_and_slurp_read_what_ansible_reads() {
    let files = [("input.txt", "line one\nline two: ünïcode\n")];
    converge_like_ansible(
        &files,
        "    - getent: {database: passwd, key: root}
    - copy: {dest: '{{ root }}/root.txt', content: \"{{ getent_passwd.root | join(':') }}\"}
    - getent: {database: group}
    - copy: {dest: '{{ root }}/groups.txt', content: \"{{ getent_group.keys() | sort | join(',') }}\"}
    - getent: {database: passwd, key: nobody-here, fail_key: false}
    - slurp: {src: '{{ root }}/input.txt'}
      register: read
    - copy: {dest: '{{ root }}/read.txt', content: '{{ read.content | b64decode }}'}
",
    );
}

#[test]
fn issue_17_find_finds_what_ansible_finds() {
    let files = [
        ("logs/a.log", "error: disk\n"),
        ("logs/b.log", "all fine\n"),
        ("logs/.hidden.log", "error: hidden\n"),
        ("logs/old/c.log", "error: old\n"),
        ("logs/notes.txt", "x\n"),
    ];
    let names =
        "{{ found.files | map(attribute='path') | map('relpath', root) | sort | join(',') }}";
    let tasks = format!(
        "    - find: {{paths: '{{{{ root }}}}/logs', patterns: '*.log'}}
      register: found
    - copy: {{dest: '{{{{ root }}}}/flat.txt', content: \"{names} {{{{ found.matched }}}}\"}}
    - find: {{paths: '{{{{ root }}}}/logs', patterns: '*.log', recurse: true, hidden: true, contains: 'error'}}
      register: found
    - copy: {{dest: '{{{{ root }}}}/deep.txt', content: \"{names}\"}}
    - find: {{paths: '{{{{ root }}}}/logs', file_type: directory}}
      register: found
    - copy: {{dest: '{{{{ root }}}}/directories.txt', content: \"{names}\"}}
    - find: {{paths: ['{{{{ root }}}}/logs', '{{{{ root }}}}/nowhere'], patterns: '^n.*', use_regex: true}}
      register: found
    - copy: {{dest: '{{{{ root }}}}/regex.txt', content: \"{names} {{{{ found.skipped_paths | length }}}}\"}}
"
    );
    converge_like_ansible(&files, &tasks);
}

#[test]
fn issue_17_assemble_joins_what_ansible_joins() {
    let files = [
        ("parts/10-head", "head line\n"),
        ("parts/20-body", "body without newline"),
        ("parts/30-tail.conf", "tail\n"),
        ("parts/.hidden", "secret\n"),
    ];
    converge_like_ansible(
        &files,
        "    - assemble: {src: '{{ root }}/parts', dest: '{{ root }}/all.txt'}
    - assemble: {src: '{{ root }}/parts', dest: '{{ root }}/delimited.txt', delimiter: '### part', ignore_hidden: true}
    - assemble: {src: '{{ root }}/parts', dest: '{{ root }}/conf.txt', regexp: '\\.conf$'}
",
    );
}

#[test]
fn issue_17_yum_repository_writes_what_ansible_writes() {
    let files = [(
        "repos/existing.repo",
        "# kept by neither tool\n[existing]\nname=Existing\nbaseurl=http://old/\nenabled=1\n",
    )];
    converge_like_ansible(
        &files,
        "    - yum_repository:
        name: epel
        description: EPEL YUM repo
        baseurl: [https://download.example.org/epel/9/, https://mirror.example.org/epel/9/]
        gpgcheck: true
        gpgkey: https://download.example.org/RPM-GPG-KEY-EPEL-9
        exclude: [kernel*, foo]
        reposdir: '{{ root }}/repos'
    - yum_repository:
        name: extra
        file: existing
        description: Extra packages
        baseurl: http://extra/
        enabled: false
        reposdir: '{{ root }}/repos'
    - yum_repository:
        name: existing
        file: existing
        state: absent
        reposdir: '{{ root }}/repos'
",
    );
}

#[test]
fn issue_17_mount_edits_fstab_as_ansible_does() {
    let files = [(
        "fstab",
        "# /etc/fstab\nUUID=abcd / ext4 errors=remount-ro 0 1\n/dev/sdb1 /srv/data ext4 defaults\n/dev/sdc1 /old ext4 defaults 0 0\n",
    )];
    converge_like_ansible(
        &files,
        "    - ansible.posix.mount: {path: /srv/data, src: /dev/sdb1, fstype: ext4, opts: noatime, passno: '2', state: present, fstab: '{{ root }}/fstab'}
    - ansible.posix.mount: {path: /srv/my data, src: 'UUID=1234', fstype: xfs, state: present, fstab: '{{ root }}/fstab'}
    - ansible.posix.mount: {path: /old, state: absent_from_fstab, fstab: '{{ root }}/fstab'}
",
    );
}

#[test]
fn issue_17_pam_limits_sets_what_ansible_sets() {
    let files = [(
        "limits.conf",
        "# /etc/security/limits.conf\n#<domain> <type> <item> <value>\n*   soft   core   0\njoe hard nofile 4096 # raised for joe\n",
    )];
    converge_like_ansible(
        &files,
        "    - community.general.pam_limits: {domain: joe, limit_type: hard, limit_item: nofile, value: '8192', dest: '{{ root }}/limits.conf'}
    - community.general.pam_limits: {domain: joe, limit_type: hard, limit_item: nofile, value: '100', use_max: true, dest: '{{ root }}/limits.conf'}
    - community.general.pam_limits: {domain: '@web', limit_type: soft, limit_item: nproc, value: unlimited, comment: for the web group, dest: '{{ root }}/limits.conf'}
    - community.general.pam_limits: {domain: '*', limit_type: soft, limit_item: core, value: '0', dest: '{{ root }}/limits.conf'}
",
    );
}

#[test]
fn issue_17_known_hosts_keeps_what_ansible_keeps() {
    let old = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOldOldOldOldOldOldOldOldOldOldOldOldOldOldOld";
    let new = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINewNewNewNewNewNewNewNewNewNewNewNewNewNewNew";
    let rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCrsaRsaRsaRsaRsaRsaRsaRsaRsaRsaRsa";
    let table =
        format!("# hosts\nweb.example.org {old}\ndb.example.org {rsa}\ngone.example.org {rsa}\n");
    let files = [("ssh/known_hosts", table.as_str())];
    let tasks = format!(
        "    - known_hosts: {{name: web.example.org, key: 'web.example.org {new}', path: '{{{{ root }}}}/ssh/known_hosts'}}
    - known_hosts: {{name: new.example.org, key: 'new.example.org {rsa}', path: '{{{{ root }}}}/ssh/known_hosts'}}
    - known_hosts: {{name: db.example.org, key: 'db.example.org {rsa}', state: absent, path: '{{{{ root }}}}/ssh/known_hosts'}}
    - known_hosts: {{name: gone.example.org, state: absent, path: '{{{{ root }}}}/ssh/known_hosts'}}
"
    );
    converge_like_ansible(&files, &tasks);
}

#[test]
fn issue_17_an_ignored_failure_that_changed_something_counts_as_changed() {
    let Some(ansible) = support::ansible_tool("ansible-playbook") else {
        return;
    };
    let directory = twin(&[]);
    let tasks = "    - command: /bin/false
      ignore_errors: true
    - shell: 'echo x; exit 1'
      changed_when: false
      ignore_errors: true
    - debug: {msg: after}
";
    std::fs::write(directory.path().join("site.yml"), playbook(tasks)).expect("written");
    let python = format!(
        "ansible_python_interpreter={}",
        ansible.with_file_name("python3").display()
    );
    let theirs = Command::new(&ansible)
        .current_dir(directory.path())
        .args(["site.yml", "-i", "localhost,", "-c", "local", "-e", &python])
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible-playbook runs");
    let ours = support::drover(directory.path(), &["play", "site.yml"]);
    let (theirs, ours) = (support::text(&theirs.stdout), support::exited(&ours, 0));
    assert_eq!(
        support::recap(&ours, "localhost"),
        support::recap(&theirs, "localhost"),
        "drover's recap (left) and Ansible's (right):\n{ours}\n{theirs}"
    );
}

/// Found on the way through issue 18: `copy` wrote a mapping's `content`
/// as pretty JSON and a boolean as `true`; Ansible writes Python's
/// `json.dumps` and `str` (`True`), as `to_json` does.
#[test]
fn issue_18_copy_writes_non_string_content_as_ansible_does() {
    converge_like_ansible(
        &[("README", "")],
        r"    - copy: {content: {b: 1, a: [1, 2], c: é}, dest: '{{ root }}/mapping'}
    - copy: {content: true, dest: '{{ root }}/flag'}
    - copy: {content: 5, dest: '{{ root }}/number'}
    - copy:
        content: '{{ {''x'': [1]} | to_json }}'
        dest: '{{ root }}/filtered'
",
    );
}
