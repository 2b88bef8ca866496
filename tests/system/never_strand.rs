//! Failed releases never strand a host: on three hosts (docker on dv-1 and
//! dv-3, podman on dv-2), under `rolling`, `canary` and `big_bang` rollouts
//! with `on_failure: rollback`, releases that cannot start, whose image is
//! not there, whose host port is taken, that die two seconds after they
//! start, and one during which drover is killed between the stop of the old
//! container and the start of the new one. After each, every host serves a
//! release, a prober polling every host throughout never saw more hosts
//! down than the batch, and the next good release rolls out cleanly.
//!
//! Regression tests for issue 14 ("Rollouts never strand a host").

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use drover_test_harness::full::{FullBed, Options, app_image};

use super::{on_host, repository, text};

const HOSTS: [&str; 3] = ["dv-1", "dv-2", "dv-3"];

/// What goes wrong with a release.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Its command is not in the image.
    MissingCommand,
    /// Its image tag is on no host.
    MissingTag,
    /// It also publishes a host port another container holds.
    PortTaken,
    /// It starts, answers, and exits two seconds later.
    DiesAfterTwoSeconds,
}

struct Fleet {
    bed: FullBed,
    runtimes: PathBuf,
    image_dir: String,
    scratch: tempfile::TempDir,
}

impl Fleet {
    fn command(&self, playbook: &Path, version: u32, extra: &[&str]) -> Command {
        let mut command = super::play_command(&self.bed, &self.runtimes, playbook);
        command
            .args(["-e", &self.image_dir])
            .args(["-e", &format!("version={version}")])
            .args(extra)
            .env("DROVER_RUN_DIR", self.scratch.path().join("run"));
        command
    }

    fn play(&self, playbook: &Path, version: u32, extra: &[&str]) -> Output {
        self.command(playbook, version, extra)
            .output()
            .expect("drover runs")
    }

    fn addresses(&self) -> Vec<SocketAddr> {
        self.bed
            .hosts
            .iter()
            .map(|host| SocketAddr::from((host.address, 8080)))
            .collect()
    }

    /// What each host serves on port 8080, once the play is over. A host
    /// that does not answer is asked twice more, a quarter second apart:
    /// the test bed's network has been seen to drop one connection to the
    /// podman host (`No route to host`), and a host without its app stays
    /// silent every time.
    fn serving(&self) -> Vec<Option<String>> {
        self.addresses()
            .iter()
            .map(|address| {
                (0..3).find_map(|attempt| {
                    if attempt > 0 {
                        std::thread::sleep(Duration::from_millis(250));
                    }
                    super::strategies::fetch(address)
                })
            })
            .collect()
    }

    /// The playbook for `strategy`, written into the scratch directory.
    fn playbook(&self, strategy: &str) -> PathBuf {
        let template =
            std::fs::read_to_string(repository().join("tests/system/playbooks/never-strand.yml"))
                .expect("the playbook is read");
        let path = self.scratch.path().join(format!("{strategy}.yml"));
        std::fs::write(&path, template.replace("STRATEGY", strategy))
            .expect("the playbook is written");
        path
    }
}

/// Polls every host until stopped, and keeps what it saw: the most hosts
/// down at once, which they were and why, and every miss with its time, so
/// that a failed check says what happened.
struct Prober {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Probed>,
}

/// What a prober saw.
#[derive(Default)]
struct Probed {
    rounds: usize,
    most_down: usize,
    /// The hosts down in the round with the most, with why.
    worst: Vec<String>,
    /// Every miss: milliseconds since the start, the host and why.
    misses: Vec<String>,
}

impl Probed {
    /// The misses, for an assertion message.
    fn account(&self) -> String {
        format!(
            "worst round: {:?}\nmisses:\n{}",
            self.worst,
            self.misses.join("\n")
        )
    }
}

impl Prober {
    fn start(addresses: Vec<SocketAddr>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let mut probed = Probed::default();
                while !stop.load(Ordering::Relaxed) {
                    let down: Vec<String> = addresses
                        .iter()
                        .zip(HOSTS)
                        .filter_map(|(address, host)| {
                            serves(address).err().map(|why| format!("{host}: {why}"))
                        })
                        .collect();
                    let at = started.elapsed().as_millis();
                    probed
                        .misses
                        .extend(down.iter().map(|miss| format!("{at:>6} ms {miss}")));
                    if down.len() > probed.most_down {
                        probed.most_down = down.len();
                        probed.worst = down;
                    }
                    probed.rounds += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                probed
            })
        };
        Self { stop, thread }
    }

    fn finish(self) -> Probed {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the prober ends")
    }
}

/// Whether `address` answers `GET /` with 200, and if not, why. A host
/// whose app is down refuses the connection (or answers otherwise): that
/// counts at once. A timeout, or the network not reaching the host at all
/// (`No route to host` while the test bridge re-resolves a neighbour: seen
/// once on a host no task had touched), says nothing about the app, so
/// the host is asked again, up to twice, a quarter second apart.
fn serves(address: &SocketAddr) -> Result<(), String> {
    let mut tries = Vec::new();
    for _ in 0..3 {
        match ask(address) {
            Ok(()) => return Ok(()),
            Err((why, false)) => {
                tries.push(why);
                break;
            }
            Err((why, true)) => {
                tries.push(why);
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    }
    Err(tries.join(", then "))
}

/// One `GET /`: the error says why, and whether it says nothing of the
/// app (a timeout, or no route to the host).
fn ask(address: &SocketAddr) -> Result<(), (String, bool)> {
    use std::io::{ErrorKind, Read as _, Write as _};
    let timeout = Duration::from_secs(2);
    let failed = |what: &str, error: std::io::Error| {
        let unsure = matches!(
            error.kind(),
            ErrorKind::TimedOut
                | ErrorKind::WouldBlock
                | ErrorKind::HostUnreachable
                | ErrorKind::NetworkUnreachable
        );
        (format!("{what}: {error}"), unsure)
    };
    let mut stream = std::net::TcpStream::connect_timeout(address, timeout)
        .map_err(|error| failed("connect", error))?;
    let _ = stream.set_read_timeout(Some(timeout));
    stream
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|error| failed("write", error))?;
    let mut response = String::new();
    let read = stream.read_to_string(&mut response);
    if response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200") {
        return Ok(());
    }
    let status = response.lines().next().unwrap_or_default().to_owned();
    Err(match read {
        Err(error) => failed(&format!("read (got {status:?})"), error),
        Ok(_) => (format!("answer {status:?}"), false),
    })
}

#[test]
fn issue_14_failed_releases_never_strand_a_host() {
    let Some((_one_bed_at_a_time, bed)) = super::take_bed(Options {
        count: 3,
        engines: true,
        release: None,
    }) else {
        return;
    };
    let scratch = tempfile::tempdir().expect("a scratch directory");
    for version in [1, 2] {
        app_image(scratch.path(), version, true).expect("the app image is built");
    }
    let runtimes = super::write_runtimes(
        scratch.path(),
        &[("dv-1", "docker"), ("dv-2", "podman"), ("dv-3", "docker")],
    );
    let fleet = Fleet {
        image_dir: format!("image_dir={}", scratch.path().display()),
        runtimes,
        bed,
        scratch,
    };
    a_squatter_holds_port_9099(&fleet);
    let mut serving = 0;
    // Each strategy's first batch, where the failures happen, and its
    // largest (the canary's steps are 1 host, then the other 2).
    let all = HOSTS.len();
    for (strategy, first, largest) in [
        ("rolling", 1, 1),
        ("canary", 1, all - 1),
        ("big_bang", all, all),
    ] {
        let playbook = fleet.playbook(strategy);
        serving = good_release(&fleet, &playbook, serving, largest, &[]);
        for fault in [
            Fault::MissingCommand,
            Fault::MissingTag,
            Fault::PortTaken,
            Fault::DiesAfterTwoSeconds,
        ] {
            failed_release_leaves_the_previous_one(&fleet, &playbook, serving, first, fault);
            serving = good_release(&fleet, &playbook, serving, largest, &[]);
        }
        // The old release ignores SIGTERM, so its stop takes four seconds:
        // time enough to kill drover between the stop and the start.
        serving = good_release(&fleet, &playbook, serving, largest, &slow_to_stop());
        serving = killed_between_stop_and_start(&fleet, &playbook, serving, largest);
    }
    failed_attempts_show_in_rollout_status(&fleet);
    a_compose_project_that_does_not_come_up_is_brought_back(&fleet);
}

/// A compose project whose new service cannot start fails its task, and
/// the project as it last came up runs again; the next good one comes up.
/// On the docker hosts: podman-compose 1.0 (Debian 12) does not recreate a
/// container whose configuration changed, so it cannot roll a project
/// forward or back at all.
fn a_compose_project_that_does_not_come_up_is_brought_back(fleet: &Fleet) {
    let playbook = fleet.scratch.path().join("compose.yml");
    std::fs::write(
        &playbook,
        r#"- hosts: dv-1,dv-3
  gather_facts: no
  become: yes
  tasks:
    - file: {path: /srv/shop, state: directory}
    - copy:
        dest: /srv/shop/compose.yml
        content: |
          version: "3"
          services:
            web:
              image: drover/app:{{ version }}
              ports: ["8090:8080"]
          {% if broken | default(false) | bool %}
              command: ["/bin/no-such-command"]
          {% endif %}
    - name: the project is up
      compose: {project_src: /srv/shop, runtime: "{{ app_runtime }}"}
"#,
    )
    .expect("the playbook is written");
    let serving = || -> Vec<Option<String>> {
        fleet
            .bed
            .hosts
            .iter()
            .filter(|host| host.name != "dv-2")
            .map(|host| super::strategies::fetch(&SocketAddr::from((host.address, 8090))))
            .collect()
    };
    let good = fleet.play(&playbook, 1, &[]);
    assert!(good.status.success(), "{}", text(&good.stdout));
    assert_eq!(serving(), vec![Some("app v1\n".to_owned()); 2]);
    let broken = fleet.play(&playbook, 2, &["-e", "broken=true"]);
    let stdout = text(&broken.stdout);
    assert_eq!(broken.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("the project as it last came up runs again"),
        "{stdout}"
    );
    assert_eq!(
        serving(),
        vec![Some("app v1\n".to_owned()); 2],
        "every host runs the project as it last came up: {stdout}"
    );
    let next = fleet.play(&playbook, 2, &[]);
    assert!(next.status.success(), "{}", text(&next.stdout));
    assert_eq!(serving(), vec![Some("app v2\n".to_owned()); 2]);
}

/// A container that publishes 9099 on every host.
fn a_squatter_holds_port_9099(fleet: &Fleet) {
    let playbook = fleet.scratch.path().join("squatter.yml");
    std::fs::write(
        &playbook,
        "- hosts: all\n  gather_facts: no\n  become: yes\n  tasks:\n\
         \x20   - container_image: {name: 'drover/app:1', load_path: '{{ image_dir }}/app-v1.tar', runtime: '{{ app_runtime }}'}\n\
         \x20   - container: {name: squatter, image: 'drover/app:1', pull: never, ports: ['9099:8080'], runtime: '{{ app_runtime }}'}\n",
    )
    .expect("the playbook is written");
    let output = fleet.play(&playbook, 1, &[]);
    assert!(output.status.success(), "{}", text(&output.stdout));
}

/// `command:` overrides that make PID 1 ignore SIGTERM.
fn slow_to_stop() -> Vec<String> {
    vec![
        "-e".to_owned(),
        r#"{"command": ["httpd", "-f", "-p", "8080", "-h", "/www"]}"#.to_owned(),
        "-e".to_owned(),
        "stop_timeout=4".to_owned(),
    ]
}

/// The version after `version` (they alternate between 1 and 2; 0 is none).
fn next(version: u32) -> u32 {
    if version == 1 { 2 } else { 1 }
}

/// Rolls out the next version; every host serves it. Returns it.
fn good_release(
    fleet: &Fleet,
    playbook: &Path,
    serving: u32,
    batch: usize,
    extra: &[String],
) -> u32 {
    let version = next(serving);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let prober = Prober::start(fleet.addresses());
    let output = fleet.play(playbook, version, &extra);
    let probed = prober.finish();
    assert!(
        output.status.success(),
        "v{version} rolls out cleanly: {}",
        text(&output.stdout)
    );
    let expected = vec![Some(format!("app v{version}\n")); HOSTS.len()];
    assert_eq!(fleet.serving(), expected, "every host serves v{version}");
    if serving != 0 {
        assert!(
            probed.most_down <= batch,
            "{}: at most {batch} host(s) down at once, saw {}\n{}\n{}",
            playbook.display(),
            probed.most_down,
            probed.account(),
            text(&output.stdout)
        );
    }
    version
}

fn fault_arguments(fault: Fault) -> Vec<&'static str> {
    match fault {
        Fault::MissingCommand => vec!["-e", r#"{"command": ["/bin/no-such-command"]}"#],
        Fault::MissingTag => vec!["-e", "load=false", "-e", "version=9"],
        Fault::PortTaken => vec!["-e", r#"{"ports": ["8080:8080", "9099:8080"]}"#],
        Fault::DiesAfterTwoSeconds => vec![
            "-e",
            r#"{"command": ["sh", "-c", "httpd -p 8080 -h /www; sleep 2; exit 1"]}"#,
        ],
    }
}

/// A release with `fault` fails the rollout, and every host still serves
/// the release before it.
fn failed_release_leaves_the_previous_one(
    fleet: &Fleet,
    playbook: &Path,
    serving: u32,
    batch: usize,
    fault: Fault,
) {
    let prober = Prober::start(fleet.addresses());
    let output = fleet.play(playbook, next(serving), &fault_arguments(fault));
    let probed = prober.finish();
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{fault:?} fails: {stdout}");
    assert!(
        probed.rounds > 5,
        "the prober ran throughout ({} rounds)\n{}\n{stdout}",
        probed.rounds,
        probed.account()
    );
    assert!(
        probed.most_down <= batch,
        "{fault:?} ({}): at most {batch} host(s) down at once, saw {}\n{}\n{stdout}",
        playbook.display(),
        probed.most_down,
        probed.account()
    );
    let expected = vec![Some(format!("app v{serving}\n")); HOSTS.len()];
    assert_eq!(
        fleet.serving(),
        expected,
        "{fault:?}: every host serves v{serving}: {stdout}"
    );
    for host in HOSTS {
        let leftovers = on_host(
            &fleet.bed,
            host,
            "{ docker ps -a --format '{{.Names}}' 2>/dev/null; podman ps -a --format '{{.Names}}' 2>/dev/null; } | grep -c drover-next || true",
        );
        assert_eq!(
            leftovers.trim(),
            "0",
            "{fault:?}: no next release is left on {host}"
        );
    }
}

/// drover is killed while the first host's old container is being stopped
/// (the new one created, not yet started). The host finishes the
/// replacement on its own: every host serves a release, and a second run
/// brings every host to the new one.
fn killed_between_stop_and_start(
    fleet: &Fleet,
    playbook: &Path,
    serving: u32,
    batch: usize,
) -> u32 {
    let version = next(serving);
    let prober = Prober::start(fleet.addresses());
    let mut child = fleet
        .command(playbook, version, &[])
        .stdout(Stdio::piped())
        .spawn()
        .expect("drover starts");
    let stdout = child.stdout.take().expect("drover's output");
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        if line.contains("\"task_start\"") && line.contains("the app runs the release") {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().expect("drover is killed");
    let _ = child.wait();
    let next_release = on_host(
        &fleet.bed,
        "dv-1",
        "docker container inspect --format '{{.State.Status}}' app.drover-next 2>&1 || true",
    );
    assert_eq!(
        next_release.trim(),
        "created",
        "drover was killed after the new release was created and before it started"
    );
    // The host's own script ends the replacement within the stop timeout.
    std::thread::sleep(Duration::from_secs(6));
    for (host, answer) in HOSTS.iter().zip(fleet.serving()) {
        assert!(
            answer == Some(format!("app v{serving}\n"))
                || answer == Some(format!("app v{version}\n")),
            "{host} serves a release after drover was killed: {answer:?}"
        );
    }
    let again = fleet.play(playbook, version, &[]);
    let probed = prober.finish();
    assert!(
        again.status.success(),
        "the second run converges: {}",
        text(&again.stdout)
    );
    let expected = vec![Some(format!("app v{version}\n")); HOSTS.len()];
    assert_eq!(fleet.serving(), expected, "every host serves v{version}");
    assert!(
        probed.most_down <= batch,
        "killed: at most {batch} host(s) down at once, saw {}\n{}",
        probed.most_down,
        probed.account()
    );
    version
}

/// `drover rollout status app` names the last failed attempt on each host,
/// with its image, time and reason.
fn failed_attempts_show_in_rollout_status(fleet: &Fleet) {
    let output = Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(["rollout", "status", "app", "-i"])
        .arg(&fleet.bed.inventory)
        .arg("--known-hosts")
        .arg(&fleet.bed.known_hosts)
        .env("NO_COLOR", "1")
        .output()
        .expect("drover runs");
    let table = text(&output.stdout);
    assert!(output.status.success(), "{table}");
    let failures = table
        .split_once("LAST FAILED ATTEMPT")
        .map(|(_, failures)| failures)
        .unwrap_or_default();
    // big_bang ran last: its last fault (a release that dies) reached every
    // host, and the rollback put the previous release back everywhere.
    for host in HOSTS {
        let line = failures
            .lines()
            .find(|line| line.starts_with(host))
            .unwrap_or_else(|| panic!("{host} has a failed attempt: {table}"));
        assert!(line.contains("drover/app:"), "{line}");
        assert!(line.contains('Z') && line.contains(": "), "{line}");
    }
}
