//! One full host: an overlay over the cached base, its own network
//! namespace on the bridge, and systemd booted by systemd-nspawn.

use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::command::{self, Error, Result, run, run_quietly, text, write};
use super::network::{self, BRIDGE, GATEWAY, PREFIX};
use super::{SUDO_USER, TEST_USER};

/// What a host is started from.
pub(crate) struct Machine {
    /// The host's name, also its machine and network-namespace name (`dv-1`).
    pub(crate) name: String,
    /// Counted from 1.
    pub(crate) index: usize,
    /// Its directory in the test bed (overlay layers, keys, console log, pid).
    pub(crate) directory: PathBuf,
}

impl Machine {
    pub(crate) fn new(bed: &Path, index: usize) -> Self {
        let name = format!("dv-{index}");
        Self {
            directory: bed.join("hosts").join(&name),
            name,
            index,
        }
    }

    pub(crate) fn address(&self) -> Ipv4Addr {
        network::host_address(self.index)
    }

    fn merged(&self) -> PathBuf {
        self.directory.join("merged")
    }

    fn veth(&self) -> String {
        format!("dv{}h", self.index)
    }

    /// The systemd-nspawn process, if it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        let pid: u32 = command::read(&self.directory.join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        // The process must still be ours: a pid can be reused.
        let commandline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let marker = format!("--machine={}", self.name);
        String::from_utf8_lossy(&commandline)
            .split('\0')
            .any(|argument| argument == marker)
            .then_some(pid)
    }

    /// Mounts the overlay, writes the host's identity and keys, and boots it.
    pub(crate) fn start(&self, lower: &str, engines: bool, setup: &HostSetup<'_>) -> Result<()> {
        let merged = self.merged();
        for layer in ["upper", "work", "merged"] {
            command::create_directory(&self.directory.join(layer))?;
        }
        let options = format!(
            "lowerdir={lower},upperdir={},workdir={}",
            self.directory.join("upper").display(),
            self.directory.join("work").display()
        );
        run(
            "mount",
            &["-t", "overlay", "overlay", "-o", &options, &text(&merged)],
        )?;
        write(&merged.join("etc/hostname"), format!("{}\n", self.name))?;
        write(&merged.join("etc/hosts"), &setup.hosts_file)?;
        let key = self.directory.join("ssh_host_ed25519_key");
        crate::generate_key(&key);
        install(
            &key,
            &merged.join("etc/ssh/ssh_host_ed25519_key"),
            "600",
            "0:0",
        )?;
        install(
            &key.with_extension("pub"),
            &merged.join("etc/ssh/ssh_host_ed25519_key.pub"),
            "644",
            "0:0",
        )?;
        for user in ["root", TEST_USER, SUDO_USER] {
            self.authorize(user, setup.client_public_key)?;
        }
        self.connect_network()?;
        self.boot(engines)
    }

    /// Puts the client key into `user`'s `authorized_keys`.
    fn authorize(&self, user: &str, public_key: &str) -> Result<()> {
        let merged = self.merged();
        let passwd = command::read(&merged.join("etc/passwd"))?;
        let entry = passwd
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .find(|fields| fields.first() == Some(&user) && fields.len() > 5)
            .ok_or_else(|| Error::Unsupported(format!("the base has no user {user}")))?;
        let owner = format!("{}:{}", entry[2], entry[3]);
        let ssh = merged.join(entry[5].trim_start_matches('/')).join(".ssh");
        command::create_directory(&ssh)?;
        run("chown", &[&owner, &text(&ssh)])?;
        run("chmod", &["700", &text(&ssh)])?;
        let file = ssh.join("authorized_keys");
        write(&file, format!("{public_key}\n"))?;
        run("chown", &[&owner, &text(&file)])?;
        run("chmod", &["600", &text(&file)])?;
        Ok(())
    }

    fn connect_network(&self) -> Result<()> {
        let name = self.name.as_str();
        let veth = self.veth();
        run("ip", &["netns", "add", name])?;
        run(
            "ip",
            &[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", name,
            ],
        )?;
        run("ip", &["link", "set", &veth, "master", BRIDGE, "up"])?;
        let address = format!("{}/{PREFIX}", self.address());
        run("ip", &["-n", name, "addr", "add", &address, "dev", "eth0"])?;
        run("ip", &["-n", name, "link", "set", "lo", "up"])?;
        run("ip", &["-n", name, "link", "set", "eth0", "up"])?;
        run(
            "ip",
            &[
                "-n",
                name,
                "route",
                "add",
                "default",
                "via",
                &GATEWAY.to_string(),
            ],
        )?;
        Ok(())
    }

    /// This host's own cgroups, one per hierarchy systemd uses here.
    fn cgroups(&self) -> Vec<PathBuf> {
        ["systemd", "unified"]
            .iter()
            .map(|hierarchy| Path::new("/sys/fs/cgroup").join(hierarchy))
            .filter(|hierarchy| hierarchy.join("cgroup.procs").exists())
            .map(|hierarchy| hierarchy.join(format!("drover-{}", self.name)))
            .collect()
    }

    /// What the host may do: with container engines, their storage bound
    /// from outside and every capability; without, only what its own
    /// network namespace holds: its `net.*` kernel settings, and its
    /// firewall (`CAP_NET_ADMIN`, for iptables, nftables and ufw).
    fn allow(&self, nspawn: &mut Command, engines: bool) -> Result<()> {
        if !engines {
            nspawn
                .arg("--capability=CAP_NET_ADMIN")
                .env("SYSTEMD_NSPAWN_API_VFS_WRITABLE", "network");
            return Ok(());
        }
        for (inside, outside) in [
            ("/var/lib/docker", "docker"),
            ("/var/lib/containers", "containers"),
        ] {
            let outside = self.directory.join(outside);
            command::create_directory(&outside)?;
            nspawn.arg(format!("--bind={}:{inside}", outside.display()));
        }
        nspawn
            .args(["--capability=all", "--system-call-filter=@keyring bpf"])
            .env("SYSTEMD_NSPAWN_API_VFS_WRITABLE", "1");
        Ok(())
    }

    fn boot(&self, engines: bool) -> Result<()> {
        // Each host's nspawn starts in a cgroup of its own: sharing one, the
        // guests' systemds would manage the same `system.slice` directories
        // and fail each other's units (status 219/CGROUP).
        let cgroups = self.cgroups();
        for cgroup in &cgroups {
            for child in ["payload", "supervisor"] {
                command::create_directory(&cgroup.join(child))?;
            }
        }
        let cgroup_list: Vec<String> = cgroups.iter().map(|cgroup| text(cgroup)).collect();
        let mut nspawn = Command::new("sh");
        nspawn
            .args([
                "-c",
                "for c in $DROVER_CGROUPS; do echo $$ > \"$c/cgroup.procs\" || exit 1; done; exec systemd-nspawn \"$@\"",
                "systemd-nspawn",
            ])
            .env("DROVER_CGROUPS", cgroup_list.join(" "))
            .args([
                "--boot",
                "--register=no",
                "--keep-unit",
                "--console=passive",
            ])
            .args(["--resolv-conf=copy-host", "--link-journal=no"])
            .arg(format!("--directory={}", self.merged().display()))
            .arg(format!("--machine={}", self.name))
            .arg(format!("--hostname={}", self.name))
            .arg(format!("--network-namespace-path=/run/netns/{}", self.name));
        self.allow(&mut nspawn, engines)?;
        let log = std::fs::File::create(self.directory.join("console.log")).map_err(|source| {
            Error::Io {
                path: self.directory.join("console.log"),
                source,
            }
        })?;
        let child = nspawn
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|source| Error::Io {
                path: self.directory.join("console.log"),
                source,
            })?)
            .stderr(log)
            // Its own process group: a Ctrl-C meant for the test must not power the host off.
            .process_group(0)
            .spawn()
            .map_err(|source| Error::Io {
                path: PathBuf::from("systemd-nspawn"),
                source,
            })?;
        write(&self.directory.join("pid"), child.id().to_string())
    }

    /// Waits until sshd answers and systemd has finished booting.
    pub(crate) fn wait_until_booted(&self, client_key: &Path, deadline: Instant) -> Result<()> {
        let socket = std::net::SocketAddr::from((self.address(), 22));
        // While nspawn execs, its command line reads empty for a moment: only
        // a process gone for a second has really died.
        let mut gone_since: Option<Instant> = None;
        while std::net::TcpStream::connect_timeout(&socket, Duration::from_millis(300)).is_err() {
            gone_since = match (self.pid(), gone_since) {
                (Some(_), _) => None,
                (None, None) => Some(Instant::now()),
                (None, since) => since,
            };
            let died = gone_since.is_some_and(|since| since.elapsed() > Duration::from_secs(1));
            if Instant::now() > deadline || died {
                // The bed is removed after a failed start: keep the log's end in the error.
                let log = command::read(&self.directory.join("console.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                return Err(Error::Timeout(format!(
                    "{} did not open port 22; the end of its console:\n{}",
                    self.name,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let target = format!("{TEST_USER}@{}", self.address());
        let state = run(
            "ssh",
            &[
                "-F",
                "/dev/null",
                "-i",
                &text(client_key),
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ConnectTimeout=10",
                &target,
                "timeout 120 systemctl is-system-running --wait || true",
            ],
        )?;
        match state.trim() {
            "running" => Ok(()),
            "degraded" => {
                eprintln!("testbed: {} booted degraded (a unit failed)", self.name);
                Ok(())
            }
            other => Err(Error::Timeout(format!(
                "{} booted into state `{other}`",
                self.name
            ))),
        }
    }

    /// Powers the host off (nspawn turns SIGTERM into a clean shutdown), then
    /// forces it if it hangs, and removes its mounts, network and files.
    pub(crate) fn stop(&self) {
        if let Some(pid) = self.pid() {
            signal("TERM", pid);
            if !self.wait_gone(Duration::from_secs(20)) {
                // A second SIGTERM makes nspawn end the container at once.
                signal("TERM", pid);
                if !self.wait_gone(Duration::from_secs(5)) {
                    signal("KILL", pid);
                    self.wait_gone(Duration::from_secs(5));
                }
            }
        }
        let merged = self.merged();
        if command::run("mountpoint", &["-q", &text(&merged)]).is_ok() {
            run_quietly("umount", &[&text(&merged)]);
            if command::run("mountpoint", &["-q", &text(&merged)]).is_ok() {
                run_quietly("umount", &["-l", &text(&merged)]);
            }
        }
        run_quietly("ip", &["netns", "del", &self.name]);
        run_quietly("ip", &["link", "del", &self.veth()]);
        let _ = std::fs::remove_dir_all(format!("/run/systemd/nspawn/propagate/{}", self.name));
        for cgroup in self.cgroups() {
            remove_cgroup(&cgroup);
        }
        let _ = std::fs::remove_dir_all(&self.directory);
    }

    fn wait_gone(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.pid().is_some() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        true
    }
}

/// What every host of a bed shares.
pub(crate) struct HostSetup<'a> {
    /// `/etc/hosts`, naming every host of the bed.
    pub(crate) hosts_file: String,
    /// The client key's public line.
    pub(crate) client_public_key: &'a str,
}

fn signal(name: &str, pid: u32) {
    run_quietly("kill", &[&format!("-{name}"), &pid.to_string()]);
}

fn install(from: &Path, to: &Path, mode: &str, owner: &str) -> Result<()> {
    run(
        "install",
        &[
            "-m",
            mode,
            "-o",
            owner.split(':').next().unwrap_or("0"),
            &text(from),
            &text(to),
        ],
    )?;
    Ok(())
}

/// systemd-nspawn, when systemd is not PID 1 on a hybrid cgroup machine,
/// moves itself into `payload` and `supervisor` cgroups, and fails unless
/// they already exist in the named v1 hierarchy.
pub(crate) fn prepare_cgroups() {
    let hierarchy = Path::new("/sys/fs/cgroup/systemd");
    if hierarchy.join("cgroup.procs").exists() {
        for name in ["payload", "supervisor"] {
            let _ = std::fs::create_dir_all(hierarchy.join(name));
        }
    }
}

/// Removes a cgroup and those below it, deepest first (a cgroup directory
/// is removed with `rmdir`; a busy one stays, so this never disturbs a
/// running host).
fn remove_cgroup(directory: &Path) {
    for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            remove_cgroup(&entry.path());
        }
    }
    let _ = std::fs::remove_dir(directory);
}

/// Removes the cgroups [`prepare_cgroups`] made, once nothing uses them.
pub(crate) fn release_cgroups() {
    for name in ["payload", "supervisor"] {
        remove_cgroup(&Path::new("/sys/fs/cgroup/systemd").join(name));
    }
}
