//! Issue 17's proof: the public roles of `../shared/corpus` converge under
//! drover as they do under Ansible. For each role that can converge on a
//! Debian 12 host with only Debian's mirror, two fresh twin hosts: Ansible
//! converges one and drover the other, twice each. Both first runs must
//! succeed, drover's second run must change nothing, and the two hosts must
//! end in the same state: packages (and which were installed by hand),
//! enabled and active units, users and groups, and every file the runs
//! wrote, read from each host's own overlay layer.
//!
//! Every other role of the corpus is listed with the reason it cannot
//! converge here, so that the record is complete.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use drover_test_harness::full::{FullBed, Options};

use super::{ansible_command, ansible_playbook, drover, on_host, take_bed, text};

/// A role that converges here, with the variables it is given (a YAML
/// flow mapping, or empty), and a command that prints the state of what
/// it configures beyond packages, units, users and files (or empty).
struct Converging {
    name: &'static str,
    variables: &'static str,
    state: &'static str,
    /// Why a test host cannot hold some of the state the role asks for,
    /// so that both tools change it again on every run: then drover's
    /// second run may change no more than Ansible's.
    unheld: Option<&'static str>,
}

const fn role(name: &'static str, variables: &'static str) -> Converging {
    Converging {
        name,
        variables,
        state: "",
        unheld: None,
    }
}

/// ntpsec's unit starts only with `CAP_SYS_TIME` (`ConditionCapability`),
/// which no test host may have: it would set this machine's clock.
const NTP: Converging = Converging {
    unheld: Some(
        "ntpsec's unit starts only with CAP_SYS_TIME, which a test host must not have (it would set the machine's clock): each run starts it again",
    ),
    ..role("geerlingguy.ntp", "")
};

/// The PHP roles install PHP for a web server; with none here, they are
/// told so (`php_enable_webserver: false`), or their handler fails under
/// both tools restarting an apache2 that is not there.
const NO_WEB_SERVER: &str = "{php_enable_webserver: false}";

/// The database roles are given a database, a user with a password and
/// privileges, so that the database modules do something; the state
/// compared includes what the servers hold.
const MYSQL: Converging = Converging {
    name: "geerlingguy.mysql",
    variables: "{mysql_databases: [{name: shop}], mysql_users: [{name: shop, host: localhost, \
                password: Sh0p-Pass, priv: 'shop.*:ALL/*.*:PROCESS'}]}",
    unheld: None,
    state: "mysql -NBe \"SELECT user, host FROM mysql.user ORDER BY 1, 2; \
            SELECT schema_name, default_character_set_name, default_collation_name \
            FROM information_schema.schemata ORDER BY 1; SHOW GRANTS FOR 'shop'@'localhost'\"",
};

const POSTGRESQL: Converging = Converging {
    name: "geerlingguy.postgresql",
    variables: "{postgresql_databases: [{name: shop}], postgresql_users: [{name: shop, \
                password: Sh0p-Pass, role_attr_flags: CREATEDB}], postgresql_privs: [{db: shop, \
                roles: shop, privs: ALL, type: database, objs: shop}]}",
    unheld: None,
    state: "cd / && su postgres -c \"psql -XAt -c 'SELECT datname, pg_get_userbyid(datdba), \
            pg_encoding_to_char(encoding), datcollate, datacl FROM pg_database ORDER BY 1' \
            -c 'SELECT rolname, rolsuper, rolcreatedb, rolcanlogin, rolpassword IS NOT NULL \
            FROM pg_authid ORDER BY 1'\"",
};

/// The roles that converge here, and the variables each needs.
const CONVERGING: &[Converging] = &[
    role("geerlingguy.ansible", ""),
    role("geerlingguy.apache", ""),
    role("geerlingguy.certbot", ""),
    role("geerlingguy.firewall", ""),
    role("geerlingguy.git", ""),
    role("geerlingguy.java", ""),
    MYSQL,
    role("geerlingguy.nginx", ""),
    NTP,
    role("geerlingguy.php", NO_WEB_SERVER),
    role("geerlingguy.php-memcached", NO_WEB_SERVER),
    role("geerlingguy.php-mysql", NO_WEB_SERVER),
    role("geerlingguy.pip", ""),
    POSTGRESQL,
    role("geerlingguy.ruby", ""),
    SYSTEM_MODULES,
    FIREWALLD,
];

/// The system modules of issue 17 that no corpus role runs here, as a
/// role of the test's own (`tests/system/roles/`), compared the same way.
const SYSTEM_MODULES: Converging = Converging {
    name: "drover.system_modules",
    variables: "",
    unheld: None,
    state: "locale -a | sort; debconf-show tzdata | sort; \
            iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'; \
            ufw status verbose; APT_KEY_DONT_WARN_ON_DANGEROUS_USAGE=1 apt-key list 2>/dev/null",
};

/// firewalld, in a role of the test's own (it would replace the other
/// role's iptables and ufw rules).
const FIREWALLD: Converging = Converging {
    name: "drover.firewalld",
    variables: "",
    unheld: None,
    state: "firewall-cmd --get-zones; firewall-cmd --list-all; firewall-cmd --permanent --list-all; \
            firewall-cmd --permanent --zone=drover --list-all",
};

/// The roles that cannot converge here, and why: what needs the internet
/// beyond Debian's mirror, or the distribution they are written for.
const NOT_HERE: &[(&str, &str)] = &[
    (
        "geerlingguy.docker",
        "adds https://download.docker.com/linux as an apt source (defaults/main.yml: docker_repo_url) and installs docker-ce from it",
    ),
    (
        "geerlingguy.elasticsearch",
        "fetches https://artifacts.elastic.co/GPG-KEY-elasticsearch and installs from Elastic's apt repository (tasks/setup-Debian.yml)",
    ),
    (
        "geerlingguy.elasticsearch-curator",
        "installs elasticsearch-curator from PyPI with pip (tasks/main.yml)",
    ),
    (
        "geerlingguy.filebeat",
        "installs from https://artifacts.elastic.co/packages (tasks/setup-Debian.yml)",
    ),
    (
        "geerlingguy.glusterfs",
        "fetches its key and packages from https://download.gluster.org (tasks/setup-Debian.yml)",
    ),
    (
        "geerlingguy.jenkins",
        "installs from https://pkg.jenkins.io and plugins from https://updates.jenkins.io (defaults/main.yml)",
    ),
    (
        "geerlingguy.kibana",
        "fetches https://artifacts.elastic.co/GPG-KEY-elasticsearch and installs from Elastic's repository (tasks/setup-Debian.yml)",
    ),
    (
        "geerlingguy.kubernetes",
        "installs from https://pkgs.k8s.io (defaults/main.yml: kubernetes_apt_repository)",
    ),
    (
        "geerlingguy.logstash",
        "fetches https://artifacts.elastic.co/GPG-KEY-elasticsearch and installs from Elastic's repository (tasks/setup-Debian.yml)",
    ),
    (
        "geerlingguy.nodejs",
        "installs from https://deb.nodesource.com (tasks/setup-Debian.yml)",
    ),
    (
        "geerlingguy.passenger",
        "installs from https://oss-binaries.phusionpassenger.com/apt/passenger (tasks/main.yml)",
    ),
    (
        "geerlingguy.repo-epel",
        "is for the RedHat family only: it installs EPEL from https://dl.fedoraproject.org with rpm_key and yum",
    ),
    (
        "geerlingguy.solr",
        "downloads Solr from https://archive.apache.org/dist (defaults/main.yml: solr_mirror)",
    ),
    (
        "geerlingguy.varnish",
        "installs from https://packagecloud.io/varnishcache (defaults/main.yml: varnish_apt_repo)",
    ),
];

/// How many roles run at once: Ansible's controller is CPU-bound, and the
/// machine has two cores.
const AT_ONCE: usize = 4;

fn corpus_roles() -> PathBuf {
    super::repository().join("../shared/corpus/roles")
}

/// The corpus's roles, then the test's own.
fn roles_path() -> String {
    format!(
        "{}:{}",
        corpus_roles().display(),
        super::repository().join("tests/system/roles").display()
    )
}

#[test]
fn issue_17_every_corpus_role_is_converged_or_has_its_reason() {
    let Ok(entries) = std::fs::read_dir(corpus_roles()) else {
        assert!(
            std::env::var_os("DROVER_REQUIRE_ORACLES").is_none(),
            "the corpus is required"
        );
        return;
    };
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut listed: Vec<String> = CONVERGING
        .iter()
        .map(|role| role.name.to_owned())
        .filter(|name| name.starts_with("geerlingguy."))
        .chain(NOT_HERE.iter().map(|(name, _)| (*name).to_owned()))
        .collect();
    listed.sort();
    assert_eq!(listed, found, "each corpus role is listed once");
}

/// One tool's run of one role: whether it succeeded, what it changed, how long it took.
#[derive(Debug, Clone, Default)]
struct Run {
    succeeded: bool,
    changed: u64,
    seconds: f64,
    output: String,
}

/// A role's row in the table.
#[derive(Debug, Default)]
struct Row {
    ansible: Vec<Run>,
    drover: Vec<Run>,
    differences: Vec<String>,
}

#[test]
fn issue_17_public_roles_converge_as_under_ansible() {
    let Some(ansible) = ansible_playbook() else {
        return;
    };
    if !corpus_roles().exists() {
        return;
    }
    let roles = selected();
    let Some((_lock, bed)) = take_bed(Options {
        count: roles.len() * 2,
        engines: false,
        release: None,
    }) else {
        return;
    };
    let directory = tempfile::tempdir().expect("a directory for the playbooks");
    prepare_twins(&bed);
    // Each job converges one role on its twins, compares them, and then
    // retires both, so that the disk holds only the roles in progress.
    let rows: Vec<Mutex<Row>> = roles.iter().map(|_| Mutex::default()).collect();
    let jobs: Mutex<Vec<usize>> = Mutex::new((0..roles.len()).rev().collect());
    std::thread::scope(|scope| {
        for _ in 0..AT_ONCE {
            scope.spawn(|| {
                loop {
                    // The lock is let go before the job runs.
                    let job = jobs.lock().expect("the jobs").pop();
                    let Some(index) = job else {
                        break;
                    };
                    let row =
                        converge_twins(&bed, &ansible, directory.path(), (index, roles[index]));
                    *rows[index].lock().expect("a row") = row;
                }
            });
        }
    });
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|row| row.into_inner().expect("a row"))
        .collect();
    let table = table(&roles, &rows);
    eprintln!("{table}");
    let _ = std::fs::write(
        super::repository().join("target/role-convergence.md"),
        &table,
    );
    let problems: Vec<String> = roles
        .iter()
        .zip(&rows)
        .filter_map(|(role, row)| problem(role, row))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// What keeps `row` from passing, if anything: every reason.
fn problem(role: &Converging, row: &Row) -> Option<String> {
    let name = role.name;
    let mut problems = Vec::new();
    for (tool, runs) in [("Ansible", &row.ansible), ("drover", &row.drover)] {
        if !runs.first().is_some_and(|run| run.succeeded) {
            problems.push(format!(
                "{name}: {tool}'s first run failed:\n{}",
                runs.first()
                    .map(|run| run.output.as_str())
                    .unwrap_or_default()
            ));
        }
    }
    let second = row.drover.get(1).cloned().unwrap_or_default();
    let allowed = match role.unheld {
        Some(_) => row.ansible.get(1).map_or(0, |run| run.changed),
        None => 0,
    };
    if !second.succeeded || second.changed > allowed {
        problems.push(format!(
            "{name}: drover's second run changed {} (or failed):\n{}",
            second.changed, second.output
        ));
    }
    if !row.differences.is_empty() {
        problems.push(format!(
            "{name}: the twins differ (<: Ansible's, >: drover's):\n{}",
            row.differences.join("\n")
        ));
    }
    (!problems.is_empty()).then(|| problems.join("\n\n"))
}

/// The roles to converge: all of [`CONVERGING`], or those named (without
/// `geerlingguy.`) in `DROVER_ROLES`, comma-separated, to try a few by hand.
fn selected() -> Vec<&'static Converging> {
    let wanted = std::env::var("DROVER_ROLES").unwrap_or_default();
    let wanted: Vec<&str> = wanted.split(',').filter(|name| !name.is_empty()).collect();
    CONVERGING
        .iter()
        .filter(|role| {
            wanted.is_empty()
                || wanted
                    .iter()
                    .any(|name| role.name.split_once('.').map(|(_, short)| short) == Some(*name))
        })
        .collect()
}

/// Converges role `index` with both tools on its twins, compares the
/// twins, and retires them.
fn converge_twins(
    bed: &FullBed,
    ansible: &Path,
    directory: &Path,
    (index, role): (usize, &Converging),
) -> Row {
    let playbook = write_playbook(directory, role);
    let mut row = Row {
        ansible: converge(bed, ansible, &playbook, index, Tool::Ansible),
        drover: converge(bed, ansible, &playbook, index, Tool::Drover),
        differences: Vec::new(),
    };
    row.differences = compare_twins(bed, (index, role));
    let (theirs, ours) = twins(bed, index);
    bed.retire(theirs);
    bed.retire(ours);
    row
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Ansible,
    Drover,
}

/// The twins of role `index`: Ansible's host, then drover's.
fn twins(bed: &FullBed, index: usize) -> (&str, &str) {
    (&bed.hosts[index * 2].name, &bed.hosts[index * 2 + 1].name)
}

/// What Ansible needs on a Debian host besides Python: its `apt` module
/// installs python3-apt (after an `apt-get update`) when it is missing.
/// Both twins get it, and fresh package lists, so that they start equal.
fn prepare_twins(bed: &FullBed) {
    let output = drover(
        bed,
        &bed.inventory,
        &[
            "run",
            "all",
            "-b",
            "-f",
            "50",
            "--",
            "DEBIAN_FRONTEND=noninteractive apt-get -q update >/dev/null && \
             DEBIAN_FRONTEND=noninteractive apt-get -q -y install python3-apt >/dev/null",
        ],
    );
    assert!(
        output.status.success(),
        "the twins are prepared: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// The one-play playbook that applies `role` with its variables, in `directory`.
fn write_playbook(directory: &Path, role: &Converging) -> PathBuf {
    let playbook = directory.join(format!("{}.yml", role.name));
    let variables = if role.variables.is_empty() {
        String::new()
    } else {
        format!("  vars: {}\n", role.variables)
    };
    std::fs::write(
        &playbook,
        format!(
            "- hosts: all\n  become: true\n{variables}  roles:\n    - {}\n",
            role.name
        ),
    )
    .expect("the playbook is written");
    playbook
}

/// Runs `playbook` twice with `tool` on its twin of role `index`.
fn converge(bed: &FullBed, ansible: &Path, playbook: &Path, index: usize, tool: Tool) -> Vec<Run> {
    let (theirs, ours) = twins(bed, index);
    (0..2)
        .map(|_| {
            let started = Instant::now();
            let output = match tool {
                Tool::Ansible => ansible_command(ansible, bed)
                    .env("ANSIBLE_ROLES_PATH", roles_path())
                    .arg(playbook)
                    .args(["--limit", theirs])
                    .output(),
                Tool::Drover => drover_command(bed)
                    .arg(playbook)
                    .args(["--limit", ours])
                    .output(),
            }
            .expect("the tool runs");
            let seconds = started.elapsed().as_secs_f64();
            let stdout = text(&output.stdout);
            let host = if tool == Tool::Ansible { theirs } else { ours };
            Run {
                succeeded: output.status.success(),
                changed: recap_changed(&stdout, host).unwrap_or(u64::MAX),
                seconds,
                output: format!("{stdout}{}", text(&output.stderr)),
            }
        })
        .collect()
}

fn drover_command(bed: &FullBed) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drover"));
    command
        .current_dir(super::repository())
        .arg("play")
        .arg("-i")
        .arg(&bed.inventory)
        .arg("--known-hosts")
        .arg(&bed.known_hosts)
        .env("ANSIBLE_ROLES_PATH", roles_path())
        .env("NO_COLOR", "1")
        .env_remove("SSH_AUTH_SOCK");
    command
}

/// `changed=N` from the recap line of `host`, as both tools print it.
fn recap_changed(output: &str, host: &str) -> Option<u64> {
    output
        .lines()
        .filter(|line| line.split_whitespace().next() == Some(host))
        .filter_map(|line| {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix("changed="))
        })
        .find_map(|number| number.parse().ok())
}

/// The packages, units, users and groups of a host, one fact per line.
/// systemd's timedated, localed and hostnamed are left out of the active
/// units: they start when asked (`timedatectl` does) and stop when idle.
const STATE: &str = "\
echo '## packages'; dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\\n' | sort
echo '## installed by hand'; apt-mark showmanual | sort
echo '## enabled units'; systemctl list-unit-files --no-legend --state=enabled,masked | awk '{print $1, $2}' | sort
echo '## active units'; systemctl list-units --no-legend --plain --state=active --type=service,socket,timer | awk '{print $1}' | grep -Ev '^systemd-(timedated|localed|hostnamed)\\.service$' | sort
echo '## users'; getent passwd | cut -d: -f1,3,4,6,7 | sort
echo '## groups'; getent group | cut -d: -f1,3,4 | sort
";

/// What differs between role `index`'s twins, each line a difference.
fn compare_twins(bed: &FullBed, (index, role): (usize, &Converging)) -> Vec<String> {
    let (theirs, ours) = twins(bed, index);
    let mut differences = Vec::new();
    let state = format!("{STATE}echo '## {}'; {}\n", role.name, role.state);
    let (expected, found) = (on_host(bed, theirs, &state), on_host(bed, ours, &state));
    differences.extend(line_differences(
        &expected.replace(theirs, "HOST"),
        &found.replace(ours, "HOST"),
    ));
    let expected = super::layer::manifest(bed, theirs);
    let found = super::layer::manifest(bed, ours);
    differences.extend(manifest_differences(&expected, &found));
    differences
}

fn line_differences(expected: &str, found: &str) -> Vec<String> {
    let mut differences = Vec::new();
    let expected_lines: std::collections::BTreeSet<&str> = expected.lines().collect();
    let found_lines: std::collections::BTreeSet<&str> = found.lines().collect();
    for line in expected_lines.difference(&found_lines) {
        differences.push(format!("< {line}"));
    }
    for line in found_lines.difference(&expected_lines) {
        differences.push(format!("> {line}"));
    }
    differences
}

fn manifest_differences(
    expected: &BTreeMap<String, String>,
    found: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut differences = Vec::new();
    for (path, entry) in expected {
        match found.get(path) {
            None => differences.push(format!("< {path}: {entry}")),
            Some(other) if other != entry => {
                differences.push(format!("{path}:\n  < {entry}\n  > {other}"));
            }
            Some(_) => {}
        }
    }
    for (path, entry) in found {
        if !expected.contains_key(path) {
            differences.push(format!("> {path}: {entry}"));
        }
    }
    differences
}

/// The table for the closing note: each role's runs, and whether the twins agree.
fn table(roles: &[&Converging], rows: &[Row]) -> String {
    let mut table = String::from(
        "| role | drover 1st | drover 2nd | Ansible 1st | Ansible 2nd | same state |\n\
         |---|---|---|---|---|---|\n",
    );
    let cell = |run: Option<&Run>| {
        run.map_or_else(
            || "not run".to_owned(),
            |run| {
                let verdict = if run.succeeded { "ok" } else { "FAILED" };
                format!("{verdict}, changed={}, {:.1} s", run.changed, run.seconds)
            },
        )
    };
    for (role, row) in roles.iter().zip(rows) {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} |",
            role.name,
            cell(row.drover.first()),
            cell(row.drover.get(1)),
            cell(row.ansible.first()),
            cell(row.ansible.get(1)),
            match (row.differences.is_empty(), role.unheld) {
                (true, None) => "yes".to_owned(),
                (true, Some(reason)) => format!("yes; but {reason}"),
                (false, _) => format!("no ({} differences)", row.differences.len()),
            }
        );
    }
    for (name, reason) in NOT_HERE {
        let _ = writeln!(table, "| {name} | cannot converge here: {reason} | | | | |");
    }
    table
}
