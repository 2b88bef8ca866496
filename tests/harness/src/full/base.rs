//! The cached Debian root file system every full host boots from.
//!
//! debootstrap builds it once (minutes), then every host mounts it read-only
//! as the lower layer of its own overlay, so starting a host costs seconds.
//! The guests use the machine's own apt sources, copied in, so no mirror's
//! address is ever written into the project.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::command::{self, Error, Result, run, text, write};
use super::{SUDO_PASSWORD, SUDO_USER, TEST_USER};

/// Bumped whenever the recipe below changes, so stale caches are rebuilt.
const RECIPE: &str = "drover-testbed-base 3";
/// The engines layer's recipe; changing it rebuilds that layer only.
const ENGINES_RECIPE: &str = "engines 2: docker.io podman runc docker-compose podman-compose";

/// What the hosts need beyond minbase: sshd and systemd to be hosts at all,
/// sudo for `become`, curl and ca-certificates for `get_url`/`uri` checks,
/// cron, git and unzip for their modules, and python3 only so that Ansible
/// can run against the same hosts as an oracle (drover never uses it).
const PACKAGES: &str = "openssh-server,systemd,systemd-sysv,dbus,sudo,curl,ca-certificates,\
procps,iproute2,cron,git,unzip,python3";

/// Runs inside the new root file system once, to create the test users and
/// refresh apt's lists.
const SETUP_SCRIPT: &str = r#"set -e
useradd -m -s /bin/bash -p '*' "$1"
useradd -m -s /bin/bash -p '*' "$2"
printf '%s:%s\n' "$2" "$3" | chpasswd
printf '%s ALL=(ALL) NOPASSWD: ALL\n%s ALL=(ALL) ALL\n' "$1" "$2" > /etc/sudoers.d/drover-testbed
chmod 440 /etc/sudoers.d/drover-testbed
usermod -p '*' root
systemctl enable ssh.service >/dev/null 2>&1
systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1 || true
apt-get update -q >/dev/null
apt-get clean
"#;

/// The cache directory (`$DROVER_TESTBED_CACHE`, default `/var/cache/drover-testbed`).
pub(crate) fn cache_directory() -> PathBuf {
    std::env::var_os("DROVER_TESTBED_CACHE")
        .map_or_else(|| PathBuf::from("/var/cache/drover-testbed"), PathBuf::from)
}

/// The cache directory of a layer for `release` (`None`: the machine's).
fn layer_directory(layer: &str, release: Option<&str>) -> PathBuf {
    cache_directory()
        .join(release.map_or_else(|| layer.to_owned(), |release| format!("{layer}-{release}")))
}

/// The root file system of `release` (`None`: the machine's Debian
/// release), built if missing or stale.
pub(crate) fn ensure_base(release: Option<&str>) -> Result<PathBuf> {
    let directory = layer_directory("base", release);
    let rootfs = directory.join("rootfs");
    let marker = directory.join("done");
    command::create_directory(&directory)?;
    let _lock = lock(&directory.join("lock"))?;
    if command::read(&marker).is_ok_and(|recipe| recipe.trim() == RECIPE) {
        return Ok(rootfs);
    }
    let machine = suite()?;
    let mirror = mirror(&machine)?;
    let suite = release.unwrap_or(&machine).to_owned();
    let building = directory.join("rootfs.new");
    command::run_quietly("rm", &["-rf", &text(&building), &text(&rootfs)]);
    eprintln!(
        "testbed: debootstrap {suite} (a few minutes; cached in {})",
        directory.display()
    );
    run(
        "debootstrap",
        &[
            "--variant=minbase",
            &format!("--include={PACKAGES}"),
            &suite,
            &text(&building),
            &mirror,
        ],
    )?;
    configure(&building, &machine, &suite)?;
    run_inside(
        &building,
        &[
            "/bin/sh",
            "-c",
            SETUP_SCRIPT,
            "setup",
            TEST_USER,
            SUDO_USER,
            SUDO_PASSWORD,
        ],
    )?;
    std::fs::rename(&building, &rootfs).map_err(|source| Error::Io {
        path: rootfs.clone(),
        source,
    })?;
    write(&marker, RECIPE)?;
    Ok(rootfs)
}

/// The layer with docker.io, podman, runc and the two compose tools, on top
/// of the base; built if missing.
pub(crate) fn ensure_engines(base: &Path, release: Option<&str>) -> Result<PathBuf> {
    let directory = layer_directory("engines", release);
    let upper = directory.join("upper");
    let marker = directory.join("done");
    command::create_directory(&directory)?;
    let _lock = lock(&directory.join("lock"))?;
    let recipe = format!("{RECIPE} + {ENGINES_RECIPE}");
    if command::read(&marker).is_ok_and(|written| written.trim() == recipe) {
        return Ok(upper);
    }
    let work = directory.join("work");
    let merged = directory.join("merged");
    command::run_quietly("rm", &["-rf", &text(&upper), &text(&work)]);
    for path in [&upper, &work, &merged] {
        command::create_directory(path)?;
    }
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        base.display(),
        upper.display(),
        work.display()
    );
    run(
        "mount",
        &["-t", "overlay", "overlay", "-o", &options, &text(&merged)],
    )?;
    let result = install_engines(&merged);
    command::run_quietly("umount", &[&text(&merged)]);
    command::run_quietly("rm", &["-rf", &text(&work)]);
    result?;
    write(&marker, &recipe)?;
    Ok(upper)
}

fn install_engines(root: &Path) -> Result<()> {
    // No daemon may start inside the build container.
    let policy = root.join("usr/sbin/policy-rc.d");
    write(&policy, "#!/bin/sh\nexit 101\n")?;
    run("chmod", &["755", &text(&policy)])?;
    eprintln!("testbed: installing docker.io, podman and compose into the engines layer");
    let installed = run_inside(
        root,
        &[
            "/bin/sh",
            "-c",
            "apt-get install -y -q docker.io podman runc docker-compose podman-compose >/dev/null \
             && apt-get clean",
        ],
    );
    let _ = std::fs::remove_file(&policy);
    installed?;
    // crun needs a pure cgroup v2 host; this machine's cgroups are hybrid.
    write(
        &root.join("etc/containers/containers.conf.d/50-drover-testbed.conf"),
        "[engine]\nruntime = \"runc\"\n",
    )?;
    // Nested engines need the cgroup mounts writable inside the guest.
    write(
        &root.join("etc/systemd/system/drover-cgroup-writable.service"),
        "[Unit]\nDescription=Make the cgroup mounts writable for container engines\n\
         DefaultDependencies=no\nAfter=local-fs.target\nBefore=sysinit.target docker.service containerd.service\n\
         [Service]\nType=oneshot\nRemainAfterExit=yes\n\
         ExecStart=/bin/sh -c 'mount -o remount,rw /sys/fs/cgroup; for d in /sys/fs/cgroup/*/; do mount -o remount,rw,bind \"$d\" || true; done'\n\
         [Install]\nWantedBy=sysinit.target\n",
    )?;
    run_inside(
        root,
        &[
            "/bin/sh",
            "-c",
            "systemctl enable drover-cgroup-writable.service >/dev/null 2>&1; \
             systemctl mask podman-auto-update.timer podman-auto-update.service >/dev/null 2>&1; true",
        ],
    )?;
    Ok(())
}

/// The machine's apt sources for `suite`: each word naming the machine's
/// release (`bookworm`, `bookworm-updates`, `bookworm-security`) names
/// `suite`'s instead; other words (a vendor's `cloud-sdk-bookworm`) stay.
fn sources_for(contents: &str, machine: &str, suite: &str) -> String {
    contents
        .lines()
        .map(|line| {
            line.split(' ')
                .map(|word| match word.strip_prefix(machine) {
                    Some(rest) if rest.is_empty() || rest.starts_with('-') => {
                        format!("{suite}{rest}")
                    }
                    _ => word.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Files the guests need from the machine: apt sources (for `suite`) and
/// apt's quirks.
fn configure(root: &Path, machine: &str, suite: &str) -> Result<()> {
    let apt = root.join("etc/apt");
    let _ = std::fs::remove_file(apt.join("sources.list"));
    for source in ["/etc/apt/sources.list"] {
        if let Ok(contents) = std::fs::read_to_string(source) {
            write(
                &apt.join("sources.list"),
                sources_for(&contents, machine, suite),
            )?;
        }
    }
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if [".sources", ".list"]
                .iter()
                .any(|suffix| name.ends_with(suffix))
            {
                let contents = command::read(&entry.path())?;
                write(
                    &apt.join("sources.list.d").join(&name),
                    sources_for(&contents, machine, suite),
                )?;
            }
        }
    }
    let mut quirks = String::new();
    if let Ok(entries) = std::fs::read_dir("/etc/apt/apt.conf.d") {
        for entry in entries.flatten() {
            let contents = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for line in contents.lines() {
                if ["Check-Valid-Until", "Check-Date", "::Proxy"]
                    .iter()
                    .any(|key| line.contains(key))
                {
                    quirks.push_str(line);
                    quirks.push('\n');
                }
            }
        }
    }
    write(&apt.join("apt.conf.d/99drover-testbed"), quirks)?;
    // A fresh identity per host: machine-id at boot, host keys from `up`.
    write(&root.join("etc/machine-id"), "")?;
    for entry in std::fs::read_dir(root.join("etc/ssh"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with("ssh_host_") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    write(
        &root.join("etc/ssh/sshd_config.d/10-drover-testbed.conf"),
        "HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\n\
         KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUseDNS no\n",
    )?;
    // Quick shutdowns, so `down` does not wait on a slow unit.
    write(
        &root.join("etc/systemd/system.conf.d/10-drover-testbed.conf"),
        "[Manager]\nDefaultTimeoutStopSec=5s\n",
    )
}

/// Runs a command inside a root file system (not booted), with the machine's network.
pub(crate) fn run_inside(root: &Path, arguments: &[&str]) -> Result<String> {
    super::machine::prepare_cgroups();
    let mut all = vec![
        "-q",
        "-D",
        root.to_str().unwrap_or_default(),
        "--register=no",
        "--keep-unit",
        "--resolv-conf=copy-host",
        "--pipe",
        "-E",
        "DEBIAN_FRONTEND=noninteractive",
        "-E",
        "LANG=C.UTF-8",
    ];
    all.extend(arguments);
    run("systemd-nspawn", &all)
}

/// The machine's Debian release (`bookworm`).
fn suite() -> Result<String> {
    let release = command::read(Path::new("/etc/os-release"))?;
    release
        .lines()
        .find_map(|line| line.strip_prefix("VERSION_CODENAME="))
        .map(|name| name.trim_matches('"').to_owned())
        .filter(|name| !name.is_empty())
        .ok_or_else(|| Error::Unsupported("/etc/os-release names no VERSION_CODENAME".to_owned()))
}

/// The mirror the machine's apt uses for `suite`, as apt itself reports it.
fn mirror(suite: &str) -> Result<String> {
    let targets = run(
        "apt-get",
        &["indextargets", "--format", "$(SITE) $(RELEASE)"],
    )?;
    targets
        .lines()
        .filter_map(|line| line.split_once(' '))
        .find(|(_, release)| *release == suite)
        .map(|(site, _)| site.to_owned())
        .ok_or_else(|| {
            Error::Unsupported(format!(
                "apt has no source for `{suite}`; run `apt-get update` first"
            ))
        })
}

/// Holds an exclusive lock on `path` while the returned file lives, so that
/// two test processes never build the same cache at once.
fn lock(path: &Path) -> Result<File> {
    let file = File::create(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    file.lock().map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::sources_for;

    #[test]
    fn only_the_machines_release_is_renamed() {
        let sources = "Suites: bookworm bookworm-updates\ndeb http://example.invalid/x cloud-sdk-bookworm main";
        assert_eq!(
            sources_for(sources, "bookworm", "trixie"),
            "Suites: trixie trixie-updates\ndeb http://example.invalid/x cloud-sdk-bookworm main\n"
        );
    }
}
