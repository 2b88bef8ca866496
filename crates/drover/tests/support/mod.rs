//! What the end-to-end tests of the `drover` binary share: the command with
//! a clean environment, and readers of its output. Each test file takes
//! what it needs (`mod support;`), so some of it goes unused in each.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `drover`, in `directory` (when given), with none of the caller's
/// environment that would change what it does or how it prints: no colour,
/// no agent, no default inventory, host key mode or vault password, and
/// none of Ansible's settings (`ANSIBLE_*`).
pub(crate) fn command(directory: Option<&Path>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drover"));
    match directory {
        Some(directory) => command.current_dir(directory).env_remove("DROVER_RECORD"),
        // Run in the crate's directory, a run would leave its record there.
        None => command.env("DROVER_RECORD", "no"),
    };
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ANSIBLE_") {
            command.env_remove(name);
        }
    }
    command
        .env("NO_COLOR", "1")
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("DROVER_INVENTORY")
        .env_remove("DROVER_HOST_KEY_CHECKING")
        .env_remove("DROVER_RECORD_DIR")
        .env_remove("DROVER_RUNS_KEPT")
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE");
    command
}

/// `drover play site.yml` in `directory`, against the test bed's hosts
/// with its known hosts.
pub(crate) fn play_on_bed(bed: &drover_test_harness::TestBed, directory: &Path) -> Command {
    let mut command = command(Some(directory));
    command
        .args(["play", "site.yml", "-i"])
        .arg(bed.inventory_file())
        .arg("--known-hosts")
        .arg(&bed.known_hosts);
    command
}

/// Runs `drover ARGUMENTS` in `directory` and waits for it.
pub(crate) fn drover(directory: &Path, arguments: &[&str]) -> Output {
    command(Some(directory))
        .args(arguments)
        .output()
        .expect("drover runs")
}

/// Asserts that drover exited with `code`, showing both of its outputs
/// when it did not; returns its standard output.
#[track_caller]
pub(crate) fn exited(output: &Output, code: i32) -> String {
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{stdout}{}",
        text(&output.stderr)
    );
    stdout
}

/// Bytes as text, invalid UTF-8 replaced.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `PLAY RECAP` numbers of `host`: ok, changed, unreachable, failed,
/// skipped, rescued, ignored.
pub(crate) fn recap(output: &str, host: &str) -> [u32; 7] {
    let line = output
        .lines()
        .find(|line| line.starts_with(&format!("{host} ")) && line.contains("ok="))
        .unwrap_or_else(|| panic!("no recap for {host} in:\n{output}"));
    let numbers: Vec<u32> = line
        .split_whitespace()
        .filter_map(|word| {
            word.split_once('=')
                .and_then(|(_, value)| value.parse().ok())
        })
        .collect();
    numbers
        .try_into()
        .unwrap_or_else(|numbers| panic!("seven numbers in the recap, not {numbers:?}"))
}

/// The `changed=` number of every host in the recap, in order.
pub(crate) fn changed_per_host(output: &str) -> Vec<u32> {
    output
        .lines()
        .filter(|line| line.contains("ok=") && line.contains("changed="))
        .filter_map(|line| {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix("changed="))
                .and_then(|count| count.parse().ok())
        })
        .collect()
}

/// An Ansible tool (`ansible-playbook`, `ansible-vault` ...) from the
/// project's `.venv`, which `scripts/test` creates; `None` (the test is
/// skipped) when it is missing, unless `DROVER_REQUIRE_ORACLES` is set.
pub(crate) fn ansible_tool(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv/bin")
        .join(name);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("DROVER_REQUIRE_ORACLES").is_none(),
        "DROVER_REQUIRE_ORACLES is set but {name} was not found"
    );
    #[allow(clippy::print_stderr)]
    {
        eprintln!("skipped: {name} is not installed");
    }
    None
}

/// Debian's `chromium`, which `scripts/test` installs, run headless on the
/// page at `path`: the DOM once the page's scripts have run. `None` (the
/// test is skipped) when it is missing, unless `DROVER_REQUIRE_ORACLES` is
/// set, as `.ci/run` sets it.
pub(crate) fn chromium_dom(path: &Path) -> Option<String> {
    let output = chromium(&["--dump-dom", &format!("file://{}", path.display())])?;
    Some(text(&output.stdout))
}

/// `chromium --headless ARGUMENTS` in a throwaway profile.
pub(crate) fn chromium(arguments: &[&str]) -> Option<Output> {
    if Command::new("chromium").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("DROVER_REQUIRE_ORACLES").is_none(),
            "DROVER_REQUIRE_ORACLES is set but chromium was not found"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: chromium is not installed");
        }
        return None;
    }
    let profile = tempfile::tempdir().expect("a profile directory");
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(arguments)
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium: {}",
        text(&output.stderr)
    );
    Some(output)
}
