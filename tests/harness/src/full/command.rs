//! Running the system tools the full test bed is built from.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why the full test bed could not be built, started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tool ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line, for the operator to run by hand.
        command: String,
        /// How it ended.
        status: String,
        /// The end of what it printed.
        stderr: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The machine cannot run full hosts (not root, no systemd-nspawn, ...).
    #[error("{0}")]
    Unsupported(String),
    /// A host did not come up in time.
    #[error("{0}")]
    Timeout(String),
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs `program arguments...`; returns its standard output, or an error
/// carrying the end of its standard error.
pub(crate) fn run(program: &str, arguments: &[&str]) -> Result<String> {
    let output = Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Io {
            path: PathBuf::from(program),
            source,
        })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
    Err(Error::Command {
        command: format!("{program} {}", arguments.join(" ")),
        status: output.status.to_string(),
        stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
    })
}

/// Runs a command whose failure does not matter (cleaning up what may not exist).
pub(crate) fn run_quietly(program: &str, arguments: &[&str]) {
    let _ = Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Writes `contents` to `path`, creating its parent directories.
pub(crate) fn write(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, contents).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Creates a directory and its parents.
pub(crate) fn create_directory(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a file to text.
pub(crate) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A path as text, for command arguments.
pub(crate) fn text(path: &Path) -> String {
    path.display().to_string()
}

/// Whether `program` is on `PATH` (or is an existing absolute path).
pub(crate) fn available(program: &str) -> bool {
    if program.starts_with('/') {
        return Path::new(program).exists();
    }
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|directory| directory.join(program).is_file())
    })
}

/// Installs the Debian packages whose commands are missing, as `.ci/run` does.
pub(crate) fn ensure_packages(needed: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = needed
        .iter()
        .filter(|(program, _)| !available(program))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut arguments = vec!["install", "-y", "-q"];
    arguments.extend(&missing);
    let install = || {
        Command::new("apt-get")
            .args(&arguments)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if install() {
        return Ok(());
    }
    run("apt-get", &["update", "-q"])?;
    if install() {
        Ok(())
    } else {
        Err(Error::Unsupported(format!(
            "could not install {}",
            missing.join(" ")
        )))
    }
}
