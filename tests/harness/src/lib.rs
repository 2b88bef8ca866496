//! Real OpenSSH servers for drover's end-to-end tests.
//!
//! [`TestBed::start`] starts one `sshd` (Debian's openssh-server, which
//! `.ci/run` installs) per host, each on its own loopback address
//! (`127.a.b.c:22` when running as root, a free port on `127.0.0.1`
//! otherwise), with a fresh host key, a fresh client key in
//! `authorized_keys`, and the sftp subsystem. Logins go to an ordinary user
//! (`drover-test`, created on first use when running as root), because
//! root's shell start-up on this image is slow. Dropping the test bed stops
//! every server.
#![allow(clippy::missing_panics_doc)]

pub mod full;

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The ordinary user tests log in as when running as root; it may sudo without a password.
pub const TEST_USER: &str = "drover-test";

/// A user that may sudo only with its password, [`SUDO_PASSWORD`].
pub const SUDO_USER: &str = "drover-sudo";

/// The password of [`SUDO_USER`].
pub const SUDO_PASSWORD: &str = "correct horse battery staple";

const SSHD: &str = "/usr/sbin/sshd";

static NEXT_ADDRESS: AtomicU32 = AtomicU32::new(1);

/// One running sshd.
#[derive(Debug)]
pub struct SshHost {
    /// The inventory name of the host (`host1`, `host2`, ...).
    pub name: String,
    /// The address sshd listens on.
    pub address: Ipv4Addr,
    /// The port sshd listens on.
    pub port: u16,
    /// The host's public key line (`ssh-ed25519 AAAA...`).
    pub host_public_key: String,
    directory: PathBuf,
    process: Option<Child>,
}

impl SshHost {
    /// `address:port`.
    pub fn socket_address(&self) -> SocketAddr {
        SocketAddr::from((self.address, self.port))
    }

    /// The known_hosts line for this host.
    pub fn known_hosts_line(&self) -> String {
        if self.port == 22 {
            format!("{} {}", self.address, self.host_public_key)
        } else {
            format!("[{}]:{} {}", self.address, self.port, self.host_public_key)
        }
    }

    /// Kills the server at once, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Kills the sshd processes serving open connections (and everything
    /// they run), leaving the listener up, as if each connection's server died.
    pub fn kill_sessions(&self) {
        if let Some(process) = &self.process {
            for pid in descendants(process.id()) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }

    /// Restarts the server with sshd's `MaxStartups` set to `value` (such as
    /// `2` or `10:30:100`): handshakes beyond it are dropped.
    pub fn restart_with_max_startups(&mut self, value: &str) {
        self.kill();
        self.process = Some(spawn_sshd_with(
            &self.directory,
            self.port,
            self.address,
            value,
        ));
        wait_for_port(self.socket_address());
    }

    /// Replaces the host key and restarts the server (a "changed host key").
    pub fn regenerate_host_key(&mut self) {
        self.kill();
        let key = self.directory.join("host_ed25519");
        let _ = fs::remove_file(&key);
        let _ = fs::remove_file(key.with_extension("pub"));
        self.host_public_key = generate_key(&key);
        self.process = Some(spawn_sshd(&self.directory, self.port, self.address));
        wait_for_port(self.socket_address());
    }
}

impl Drop for SshHost {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A set of sshd hosts and the client credentials that reach them.
#[derive(Debug)]
pub struct TestBed {
    /// The hosts, in order.
    pub hosts: Vec<SshHost>,
    /// The private key that every host accepts.
    pub client_key: PathBuf,
    /// A known_hosts file listing every host's key.
    pub known_hosts: PathBuf,
    /// The user to log in as.
    pub user: String,
    directory: tempfile::TempDir,
}

impl TestBed {
    /// Starts `count` sshd hosts.
    pub fn start(count: usize) -> Self {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (`.ci/run` does)"
        );
        let directory = tempfile::Builder::new()
            .prefix("drover-testbed-")
            .tempdir()
            .expect("temporary directory");
        set_mode(directory.path(), 0o755);
        let root = is_root();
        let user = if root {
            ensure_user(TEST_USER);
            ensure_user(SUDO_USER);
            ensure_sudo_rules();
            TEST_USER.to_owned()
        } else {
            std::env::var("USER").unwrap_or_else(|_| "root".to_owned())
        };
        if root {
            let _ = fs::create_dir_all("/run/sshd");
        }
        let client_key = directory.path().join("id_ed25519");
        let client_public = generate_key(&client_key);
        let mut hosts = Vec::new();
        for index in 0..count {
            let host_directory = directory.path().join(format!("host{}", index + 1));
            fs::create_dir_all(&host_directory).expect("host directory");
            set_mode(&host_directory, 0o755);
            let authorized = host_directory.join("authorized_keys");
            fs::write(&authorized, format!("{client_public}\n")).expect("authorized_keys");
            set_mode(&authorized, 0o644);
            let host_public_key = generate_key(&host_directory.join("host_ed25519"));
            let (address, port) = allocate_address(root);
            let process = spawn_sshd(&host_directory, port, address);
            hosts.push(SshHost {
                name: format!("host{}", index + 1),
                address,
                port,
                host_public_key,
                directory: host_directory,
                process: Some(process),
            });
        }
        for host in &hosts {
            wait_for_port(host.socket_address());
        }
        let known_hosts = directory.path().join("known_hosts");
        let bed = Self {
            hosts,
            client_key,
            known_hosts,
            user,
            directory,
        };
        bed.write_known_hosts();
        bed
    }

    /// Rewrites the known_hosts file from the hosts' current keys.
    pub fn write_known_hosts(&self) {
        let mut lines = String::new();
        for host in &self.hosts {
            let _ = writeln!(lines, "{}", host.known_hosts_line());
        }
        fs::write(&self.known_hosts, lines).expect("known_hosts written");
    }

    /// Leaves the servers running and the directory in place after this
    /// value is gone, for the `testbed` tool; returns the directory. The
    /// servers' process ids are written to `pids` in it, one per line.
    pub fn detach(mut self) -> PathBuf {
        let mut pids = String::new();
        for host in &mut self.hosts {
            if let Some(process) = host.process.take() {
                let _ = writeln!(pids, "{}", process.id());
            }
        }
        fs::write(self.directory.path().join("pids"), pids).expect("pids written");
        self.inventory_file();
        fs::write(self.directory.path().join("user"), &self.user).expect("user written");
        let directory = std::mem::replace(
            &mut self.directory,
            tempfile::tempdir().expect("temporary directory"),
        );
        directory.keep()
    }

    /// A directory that lives as long as the test bed.
    pub fn directory(&self) -> &Path {
        self.directory.path()
    }

    /// An INI inventory naming every host, with its address, port, user and key.
    pub fn inventory(&self) -> String {
        let mut text = String::from("[testbed]\n");
        for host in &self.hosts {
            let _ = writeln!(
                text,
                "{} ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file={}",
                host.name,
                host.address,
                host.port,
                self.user,
                self.client_key.display()
            );
        }
        text
    }

    /// Writes [`Self::inventory`] to a file in the test bed's directory.
    pub fn inventory_file(&self) -> PathBuf {
        let path = self.directory.path().join("hosts.ini");
        fs::write(&path, self.inventory()).expect("inventory written");
        path
    }
}

/// Every process below `pid`, found through `pgrep -P`, parents first.
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut pending = vec![pid];
    while let Some(parent) = pending.pop() {
        let output = Command::new("pgrep")
            .args(["-P", &parent.to_string()])
            .output();
        let Ok(output) = output else { continue };
        for child in String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
        {
            found.push(child);
            pending.push(child);
        }
    }
    found
}

/// Whether this process runs as root (and may bind port 22 and add users).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Generates an ed25519 key pair at `path`; returns the public key line.
fn generate_key(path: &Path) -> String {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "drover-test", "-f"])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed");
    let public = fs::read_to_string(path.with_extension("pub")).expect("public key");
    let mut parts = public.split_whitespace();
    format!(
        "{} {}",
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default()
    )
}

/// Whether something (the system's own sshd) listens on port 22 of every
/// address, which would keep ours from binding `127.x.y.z:22`.
fn port_22_taken() -> bool {
    static TAKEN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TAKEN.get_or_init(|| {
        let probe = SocketAddr::from((Ipv4Addr::new(127, 254, 254, 254), 22));
        TcpStream::connect_timeout(&probe, Duration::from_millis(300)).is_ok()
    })
}

/// A loopback address unique to this process and call: port 22 of its own
/// address when running as root (and port 22 is free), else a free port.
fn allocate_address(root: bool) -> (Ipv4Addr, u16) {
    if !root || port_22_taken() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("free port");
        let port = listener.local_addr().expect("address").port();
        return (Ipv4Addr::LOCALHOST, port);
    }
    let counter = NEXT_ADDRESS.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    // 127.P.H.L: P from the process, H.L from a counter, L in 1..=254.
    let process_octet = u8::try_from(pid % 200 + 20).unwrap_or(20);
    let high = u8::try_from(counter / 254 % 254 + 1).unwrap_or(1);
    let low = u8::try_from(counter % 254 + 1).unwrap_or(1);
    (Ipv4Addr::new(127, process_octet, high, low), 22)
}

fn spawn_sshd(directory: &Path, port: u16, address: Ipv4Addr) -> Child {
    spawn_sshd_with(directory, port, address, "1000")
}

fn spawn_sshd_with(directory: &Path, port: u16, address: Ipv4Addr, max_startups: &str) -> Child {
    let config = directory.join("sshd_config");
    let text = format!(
        "ListenAddress {address}:{port}\n\
         HostKey {dir}/host_ed25519\n\
         PidFile none\n\
         UsePAM no\n\
         StrictModes no\n\
         AuthorizedKeysFile {dir}/authorized_keys\n\
         PasswordAuthentication yes\n\
         KbdInteractiveAuthentication no\n\
         MaxStartups {max_startups}\n\
         MaxSessions 1000\n\
         AllowTcpForwarding yes\n\
         AllowAgentForwarding yes\n\
         PermitRootLogin yes\n\
         LogLevel ERROR\n\
         Subsystem sftp /usr/lib/openssh/sftp-server\n",
        dir = directory.display()
    );
    let mut file = fs::File::create(&config).expect("sshd_config");
    file.write_all(text.as_bytes())
        .expect("sshd_config written");
    Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sshd starts")
}

fn wait_for_port(address: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("sshd on {address} did not start listening");
}

/// Lets [`TEST_USER`] sudo freely and [`SUDO_USER`] sudo with its password.
fn ensure_sudo_rules() {
    let rules = format!("{TEST_USER} ALL=(ALL) NOPASSWD: ALL\n{SUDO_USER} ALL=(ALL) ALL\n");
    if Path::new("/etc/sudoers.d").is_dir() {
        let path = Path::new("/etc/sudoers.d/drover-test");
        if fs::read_to_string(path).ok().as_deref() != Some(rules.as_str()) {
            fs::write(path, &rules).expect("sudoers rule written");
            set_mode(path, 0o440);
        }
    }
    let mut child = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .spawn()
        .expect("chpasswd runs");
    if let Some(stdin) = child.stdin.as_mut() {
        let _ = writeln!(stdin, "{SUDO_USER}:{SUDO_PASSWORD}");
    }
    let _ = child.wait();
}

/// Creates `user` with a locked-but-usable password (`*`) unless it exists.
fn ensure_user(user: &str) {
    for _ in 0..20 {
        if Command::new("id")
            .arg(user)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
        {
            return;
        }
        let _ = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", "-p", "*", user])
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("could not create the test user `{user}`");
}
