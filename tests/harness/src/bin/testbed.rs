//! `testbed`: test hosts for drover's end-to-end tests, benchmarks and manual runs.
//!
//! ```text
//! testbed up N [--kind light|full] [--engines]
//!                     start N hosts; prints the directory holding hosts.ini and known_hosts
//! testbed prepare [--engines] [--release NAME]
//!                     build the cached Debian base for full hosts, and start nothing
//! testbed status      list the hosts and whether they run
//! testbed inventory   print the inventory
//! testbed down        stop every host and remove all the bed made
//! testbed images DIR  build drover/app:1, :2 (healthy) and :3 (failing /healthz)
//!                     as `docker save` archives in DIR
//! ```
//!
//! `light` hosts (the default) are one real sshd per loopback address.
//! `full` hosts are Debian machines booted by systemd-nspawn, each in its
//! own network namespace (see `drover_test_harness::full`); `--engines`
//! adds docker.io and podman to them. The state lives in
//! `$DROVER_TESTBED_STATE` (default `/tmp/drover-testbed`), a file naming
//! the directory of the running bed.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use drover_test_harness::TestBed;
use drover_test_harness::full::{FullBed, Options};

const USAGE: &str = "usage: testbed up N [--kind light|full] [--engines] [--release NAME] | prepare [--engines] [--release NAME] | status | inventory | images DIR | down";

/// A release name that lives as long as the program (the bed's options
/// take a `'static` name).
fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

fn state_file() -> PathBuf {
    std::env::var_os("DROVER_TESTBED_STATE")
        .map_or_else(|| PathBuf::from("/tmp/drover-testbed"), PathBuf::from)
}

fn current() -> Option<PathBuf> {
    fs::read_to_string(state_file())
        .ok()
        .map(|path| PathBuf::from(path.trim()))
}

fn is_full(directory: &Path) -> bool {
    fs::read_to_string(directory.join("kind")).is_ok_and(|kind| kind.trim() == "full")
}

fn pids(directory: &Path) -> Vec<String> {
    fs::read_to_string(directory.join("pids"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn alive(pid: &str) -> bool {
    fs::metadata(format!("/proc/{pid}")).is_ok()
}

fn down() {
    let Some(directory) = current() else {
        println!("no test bed is up");
        return;
    };
    if is_full(&directory) {
        FullBed::down(&directory);
    } else {
        for pid in pids(&directory) {
            let _ = Command::new("kill").arg(&pid).status();
        }
        let _ = fs::remove_dir_all(&directory);
    }
    let _ = fs::remove_file(state_file());
    println!("stopped the test bed in {}", directory.display());
}

fn up(arguments: &[&str]) -> Result<PathBuf, String> {
    let mut count = None;
    let mut full = false;
    let mut engines = false;
    let mut release = None;
    let mut rest = arguments.iter();
    while let Some(argument) = rest.next() {
        match *argument {
            "--kind" => match rest.next().copied() {
                Some("full") => full = true,
                Some("light") => full = false,
                other => return Err(format!("--kind must be light or full, not {other:?}")),
            },
            "--kind=full" => full = true,
            "--kind=light" => full = false,
            "--engines" => engines = true,
            "--release" => {
                release = Some(leak(
                    rest.next().ok_or("--release needs a Debian release name")?,
                ));
            }
            number => {
                count = Some(
                    number
                        .parse::<usize>()
                        .map_err(|_| format!("`{number}` is not a number of hosts"))?,
                );
            }
        }
    }
    let count = count.ok_or_else(|| USAGE.to_owned())?;
    if engines && !full {
        return Err("--engines needs --kind full".to_owned());
    }
    if current().is_some() {
        down();
    }
    let directory = if full {
        let directory = FullBed::default_directory();
        FullBed::up(
            &directory,
            Options {
                count,
                engines,
                release,
            },
        )
        .map_err(|error| error.to_string())?
        .detach()
    } else {
        TestBed::start(count).detach()
    };
    fs::write(state_file(), directory.display().to_string()).map_err(|error| error.to_string())?;
    Ok(directory)
}

fn status() {
    let Some(directory) = current() else {
        println!("no test bed is up");
        return;
    };
    if is_full(&directory) {
        println!("{} (full hosts)", directory.display());
        for line in FullBed::status(&directory) {
            println!("{line}");
        }
    } else {
        let pids = pids(&directory);
        let up = pids.iter().filter(|pid| alive(pid)).count();
        println!(
            "{} ({up} of {} sshd running)",
            directory.display(),
            pids.len()
        );
    }
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let result = match arguments.as_slice() {
        ["up", rest @ ..] => up(rest).map(|directory| println!("{}", directory.display())),
        ["prepare", rest @ ..] => {
            let release = rest
                .iter()
                .position(|argument| *argument == "--release")
                .and_then(|index| rest.get(index + 1).copied());
            FullBed::prepare(rest.contains(&"--engines"), release)
                .map_err(|error| error.to_string())
        }
        ["images", directory] => {
            let directory = PathBuf::from(directory);
            [(1, true), (2, true), (3, false)]
                .into_iter()
                .try_for_each(|(version, healthy)| {
                    drover_test_harness::full::app_image(&directory, version, healthy)
                        .map(|archive| println!("{}", archive.display()))
                })
                .map_err(|error| error.to_string())
        }
        ["down"] => {
            down();
            Ok(())
        }
        ["status"] => {
            status();
            Ok(())
        }
        ["inventory"] => current()
            .ok_or_else(|| "no test bed is up; run `testbed up N`".to_owned())
            .map(|directory| {
                print!(
                    "{}",
                    fs::read_to_string(directory.join("hosts.ini")).unwrap_or_default()
                );
            }),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}
