//! What a full host's runs wrote, read from its overlay's upper layer on
//! this machine: every file, link, directory and deletion under the host's
//! root that differs from the shared base, with its type, mode, owner and
//! content. Two twins that started from the same base and were converged
//! the same way have the same manifest, once what is each host's own (its
//! name, its keys, its logs and caches) is left out.

use std::collections::BTreeMap;
use std::hash::{Hash as _, Hasher as _};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::Path;

use drover_test_harness::full::FullBed;

/// Paths (relative to the root) left out, with why. A path is left out
/// when it starts with one of these.
const LEFT_OUT: &[&str] = &[
    // Each host's own: made by the test bed, or by the host as it boots.
    "etc/hostname",
    "etc/hosts",
    "etc/machine-id",
    "etc/resolv.conf",
    "etc/ssh/ssh_host_",
    "home/drover-test/.ssh",
    "home/drover-sudo/.ssh",
    "root/.ssh",
    "var/lib/dbus/machine-id",
    // Locks, and the backups that useradd and vipw keep of the last version.
    "etc/.pwd.lock",
    "etc/passwd-",
    "etc/group-",
    "etc/shadow-",
    "etc/gshadow-",
    "etc/subuid-",
    "etc/subgid-",
    // What Ansible leaves for itself: its temporary directories, and gpg's
    // home, which its `apt_key` makes as it reads a key's id with gpg.
    "root/.gnupg",
    "root/.ansible",
    "home/drover-test/.ansible",
    "root/.cache",
    "home/drover-test/.cache",
    // Logs, caches and the package manager's own records (the packages
    // themselves are compared as packages).
    "var/log/",
    "var/cache/",
    "var/lib/apt/",
    "var/lib/dpkg/",
    // dpkg's daily backups of its database and of the alternatives, made
    // by a timer whenever it fires on each host.
    "var/backups/",
    "var/lib/systemd/",
    "var/lib/ucf/",
    "var/tmp/",
    "tmp/",
    "run/",
    // A package's files are the package's: compared by its version.
    "usr/bin/",
    "usr/sbin/",
    "usr/lib/",
    "usr/libexec/",
    "usr/share/",
    "usr/include/",
    "usr/src/",
    // Databases' data files hold each server's own identifiers and clocks.
    "var/lib/mysql/",
    "var/lib/postgresql/",
    // A certificate and key that ssl-cert generates at random on each host.
    "etc/ssl/private/ssl-cert-snakeoil.key",
    "etc/ssl/certs/ssl-cert-snakeoil.pem",
    // Java's keystore of the system's certificates: a PKCS#12 file that
    // ca-certificates-java builds at install with random salts.
    "etc/ssl/certs/java/cacerts",
    // Python's compiled files, written when a program first runs.
    "__pycache__",
];

/// Whether `path` is left out of the manifest.
fn left_out(path: &str) -> bool {
    LEFT_OUT.iter().any(|prefix| {
        path.starts_with(prefix) || (*prefix == "__pycache__" && path.contains(prefix))
    })
}

/// The manifest of `host`: path → what is there, with the host's name and
/// address replaced by `HOST` and `ADDRESS` in every file's content.
pub(super) fn manifest(bed: &FullBed, host: &str) -> BTreeMap<String, String> {
    let address = bed
        .hosts
        .iter()
        .find(|entry| entry.name == host)
        .map(|entry| entry.address.to_string())
        .unwrap_or_default();
    let upper = bed.directory.join("hosts").join(host).join("upper");
    let mut manifest = BTreeMap::new();
    walk(
        &upper,
        &upper,
        &mut |relative, entry| {
            manifest.insert(relative, entry);
        },
        (host, &address),
    );
    manifest
}

fn walk(
    root: &Path,
    directory: &Path,
    record: &mut dyn FnMut(String, String),
    (host, address): (&str, &str),
) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let relative = path
            .strip_prefix(root)
            .map(|relative| relative.to_string_lossy().into_owned())
            .unwrap_or_default();
        if left_out(&relative) {
            continue;
        }
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let kind = metadata.file_type();
        let owner = format!(
            "{:o} {}:{}",
            metadata.mode() & 0o7777,
            metadata.uid(),
            metadata.gid()
        );
        if kind.is_dir() {
            record(relative.clone(), format!("directory {owner}"));
            walk(root, &path, record, (host, address));
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&path).unwrap_or_default();
            if target.to_string_lossy().contains("ssl-cert-snakeoil") {
                continue;
            }
            record(relative, format!("link to {}", target.display()));
        } else if kind.is_char_device() && metadata.rdev() == 0 {
            record(relative, "deleted".to_owned());
        } else {
            let content = std::fs::read(&path).unwrap_or_default();
            let mut content = String::from_utf8_lossy(&content)
                .replace(host, "HOST")
                .replace(address, "ADDRESS");
            if relative.starts_with("var/spool/cron/crontabs/") {
                content = without_crontab_stamp(&content);
            }
            if relative == "etc/shadow" {
                content = without_change_days(&content);
            }
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            content.hash(&mut hasher);
            record(
                relative,
                format!(
                    "file {owner} {} bytes, hash {:016x}",
                    content.len(),
                    hasher.finish()
                ),
            );
        }
    }
}

/// `/etc/shadow` without each account's day of its last password change
/// (its third field): twins made on either side of midnight differ there.
fn without_change_days(content: &str) -> String {
    let mut kept = String::new();
    for line in content.lines() {
        let mut fields: Vec<&str> = line.split(':').collect();
        if let Some(day) = fields.get_mut(2) {
            *day = "";
        }
        kept.push_str(&fields.join(":"));
        kept.push('\n');
    }
    kept
}

/// A crontab without the line `crontab` writes with the name of the file
/// it was installed from and the time: `# (/tmp/crontab.X installed on ...)`.
fn without_crontab_stamp(content: &str) -> String {
    let mut kept = String::new();
    for line in content
        .lines()
        .filter(|line| !(line.starts_with("# (") && line.contains(" installed on ")))
    {
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}
