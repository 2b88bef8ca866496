//! Full test hosts: real Debian machines with systemd as PID 1, apt, users
//! and sshd on port 22, each booted by systemd-nspawn in its own network
//! namespace on a bridge.
//!
//! Needs root and Debian's debootstrap, systemd-container and nftables
//! (installed on first use). The base root file system is built once and
//! cached (`$DROVER_TESTBED_CACHE`); each host is an overlay on it, so
//! three hosts boot in seconds. Only one full bed runs per machine: the
//! bridge and its network are fixed.

// The test bed reports its slow steps (the base build) on standard error.
#![allow(clippy::print_stderr)]

mod base;
mod command;
mod image;
mod machine;
mod network;

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use command::Error;
use command::{Result, text, write};
pub use image::app_image;
use machine::{HostSetup, Machine};

use crate::{SUDO_PASSWORD, SUDO_USER, TEST_USER};

/// How long a host may take to boot.
const BOOT_TIMEOUT: Duration = Duration::from_mins(3);

/// Which hosts to start.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How many hosts.
    pub count: usize,
    /// Install docker.io and podman in the hosts and give them what nested
    /// container engines need.
    pub engines: bool,
    /// The Debian release the hosts run (`trixie`); `None`, the machine's.
    /// A newer one brings newer packages, such as podman with Quadlet.
    pub release: Option<&'static str>,
}

/// One running full host.
#[derive(Debug, Clone)]
pub struct FullHost {
    /// Its inventory name and hostname (`dv-1`, ...).
    pub name: String,
    /// Its address on the bridge.
    pub address: Ipv4Addr,
}

/// A set of running full hosts. Dropping it stops them, unless detached.
#[derive(Debug)]
pub struct FullBed {
    /// Where the bed keeps its state, keys and inventory.
    pub directory: PathBuf,
    /// The hosts, in order.
    pub hosts: Vec<FullHost>,
    /// The private key every host accepts for root, [`TEST_USER`] and [`SUDO_USER`].
    pub client_key: PathBuf,
    /// Every host's key.
    pub known_hosts: PathBuf,
    /// An INI inventory of the hosts, logging in as [`TEST_USER`].
    pub inventory: PathBuf,
    detached: bool,
}

impl FullBed {
    /// Where the bed lives (`$DROVER_TESTBED_FULL`, default `/tmp/drover-testbed-full`).
    pub fn default_directory() -> PathBuf {
        std::env::var_os("DROVER_TESTBED_FULL")
            .map_or_else(|| PathBuf::from("/tmp/drover-testbed-full"), PathBuf::from)
    }

    /// Why full hosts cannot run here, if they cannot.
    pub fn unsupported_reason() -> Option<String> {
        if !crate::is_root() {
            return Some("full hosts need root".to_owned());
        }
        if !Path::new("/sys/fs/cgroup").is_dir() {
            return Some("full hosts need /sys/fs/cgroup".to_owned());
        }
        None
    }

    /// Builds the cached base root file system (and the engines layer) of
    /// `release` (`None`: the machine's) without starting hosts.
    pub fn prepare(engines: bool, release: Option<&str>) -> Result<()> {
        install_tools()?;
        let base = base::ensure_base(release)?;
        if engines {
            base::ensure_engines(&base, release)?;
        }
        Ok(())
    }

    /// Starts `options.count` fresh hosts in `directory`, replacing a bed
    /// already there. A failed start removes what it made.
    pub fn up(directory: &Path, options: Options) -> Result<Self> {
        if let Some(reason) = Self::unsupported_reason() {
            return Err(Error::Unsupported(reason));
        }
        Self::down(directory);
        install_tools()?;
        let base = base::ensure_base(options.release)?;
        let lower = if options.engines {
            let engines = base::ensure_engines(&base, options.release)?;
            format!("{}:{}", engines.display(), base.display())
        } else {
            text(&base)
        };
        command::create_directory(directory)?;
        write(&directory.join("kind"), "full")?;
        let mut bed = Self {
            directory: directory.to_path_buf(),
            hosts: Vec::new(),
            client_key: directory.join("id_ed25519"),
            known_hosts: directory.join("known_hosts"),
            inventory: directory.join("hosts.ini"),
            detached: false,
        };
        // From here on, dropping `bed` on an error tears everything down,
        // unless `DROVER_TESTBED_KEEP_FAILED` asks to keep it for a look.
        if let Err(error) = bed.start(options, &lower) {
            if std::env::var_os("DROVER_TESTBED_KEEP_FAILED").is_some() {
                bed.detached = true;
            }
            return Err(error);
        }
        Ok(bed)
    }

    fn start(&mut self, options: Options, lower: &str) -> Result<()> {
        network::up(&self.directory)?;
        let public_key = crate::generate_key(&self.client_key);
        let machines: Vec<Machine> = (1..=options.count)
            .map(|index| Machine::new(&self.directory, index))
            .collect();
        let mut hosts_file =
            String::from("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n");
        for machine in &machines {
            let _ = writeln!(hosts_file, "{} {}", machine.address(), machine.name);
        }
        write(&self.directory.join("count"), options.count.to_string())?;
        let setup = HostSetup {
            hosts_file,
            client_public_key: &public_key,
        };
        for machine in &machines {
            self.hosts.push(FullHost {
                name: machine.name.clone(),
                address: machine.address(),
            });
            machine.start(lower, options.engines, &setup)?;
        }
        let deadline = Instant::now() + BOOT_TIMEOUT;
        for machine in &machines {
            machine.wait_until_booted(&self.client_key, deadline)?;
        }
        self.write_files(&machines)
    }

    fn write_files(&self, machines: &[Machine]) -> Result<()> {
        let mut known_hosts = String::new();
        let mut inventory = String::from("[testbed]\n");
        for machine in machines {
            let key = command::read(&machine.directory.join("ssh_host_ed25519_key.pub"))?;
            let key: Vec<&str> = key.split_whitespace().take(2).collect();
            let _ = writeln!(
                known_hosts,
                "{},{} {}",
                machine.name,
                machine.address(),
                key.join(" ")
            );
            let _ = writeln!(
                inventory,
                "{} ansible_host={} ansible_user={TEST_USER} ansible_ssh_private_key_file={}",
                machine.name,
                machine.address(),
                self.client_key.display()
            );
        }
        write(&self.known_hosts, known_hosts)?;
        write(&self.inventory, inventory)
    }

    /// An inventory logging in as [`SUDO_USER`], whose sudo needs [`SUDO_PASSWORD`].
    pub fn sudo_inventory(&self) -> Result<PathBuf> {
        let text = command::read(&self.inventory)?.replace(
            &format!("ansible_user={TEST_USER}"),
            &format!("ansible_user={SUDO_USER} ansible_become_password='{SUDO_PASSWORD}'"),
        );
        let path = self.directory.join("sudo.ini");
        write(&path, text)?;
        Ok(path)
    }

    /// Leaves the hosts running after this value is gone (for the `testbed` tool).
    pub fn detach(mut self) -> PathBuf {
        self.detached = true;
        self.directory.clone()
    }

    /// Stops one host of the bed and removes what it made, its overlay
    /// layer with it: a long test frees each host's disk as soon as it is
    /// done with it. `down` passes over it later.
    pub fn retire(&self, name: &str) {
        if let Some(index) = name
            .strip_prefix("dv-")
            .and_then(|index| index.parse().ok())
        {
            Machine::new(&self.directory, index).stop();
        }
    }

    /// Stops every host of the bed in `directory` and removes all it made:
    /// mounts, network namespaces, the bridge, the NAT rule and the directory.
    pub fn down(directory: &Path) {
        let count: usize = command::read(&directory.join("count"))
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0);
        let machines: Vec<Machine> = (1..=count)
            .map(|index| Machine::new(directory, index))
            .collect();
        // Power them all off at once: each shutdown takes a moment.
        std::thread::scope(|scope| {
            for machine in &machines {
                scope.spawn(|| machine.stop());
            }
        });
        if directory.exists() {
            network::down(directory);
            let _ = std::fs::remove_dir_all(directory);
        }
        machine::release_cgroups();
    }

    /// One line per host: its name, address, and whether it runs and answers on port 22.
    pub fn status(directory: &Path) -> Vec<String> {
        let count: usize = command::read(&directory.join("count"))
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0);
        (1..=count)
            .map(|index| {
                let machine = Machine::new(directory, index);
                let socket = std::net::SocketAddr::from((machine.address(), 22));
                let answers =
                    std::net::TcpStream::connect_timeout(&socket, Duration::from_millis(500))
                        .is_ok();
                format!(
                    "{} {} {} {}",
                    machine.name,
                    machine.address(),
                    machine.pid().map_or_else(
                        || "stopped".to_owned(),
                        |pid| format!("running (pid {pid})")
                    ),
                    if answers { "ssh open" } else { "ssh closed" }
                )
            })
            .collect()
    }
}

impl Drop for FullBed {
    fn drop(&mut self) {
        if !self.detached {
            Self::down(&self.directory);
        }
    }
}

/// The machine's tools the full bed is built with.
fn install_tools() -> Result<()> {
    command::ensure_packages(&[
        ("debootstrap", "debootstrap"),
        ("systemd-nspawn", "systemd-container"),
        ("nft", "nftables"),
        ("ip", "iproute2"),
        ("ssh", "openssh-client"),
        ("ssh-keygen", "openssh-client"),
    ])
}
