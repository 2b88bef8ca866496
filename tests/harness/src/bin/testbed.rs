//! `testbed`: light test hosts (one real sshd per loopback address) for
//! benchmarks and manual runs.
//!
//! ```text
//! testbed up N        start N hosts; prints the directory holding hosts.ini and known_hosts
//! testbed status      list the hosts and whether their sshd is alive
//! testbed inventory   print the inventory
//! testbed down        stop every host and remove the directory
//! ```
//!
//! The state lives in `$DROVER_TESTBED_STATE` (default `/tmp/drover-testbed`),
//! a file naming the directory of the running test bed.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fs;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use drover_test_harness::TestBed;

fn state_file() -> PathBuf {
    std::env::var_os("DROVER_TESTBED_STATE")
        .map_or_else(|| PathBuf::from("/tmp/drover-testbed"), PathBuf::from)
}

fn current() -> Option<PathBuf> {
    fs::read_to_string(state_file())
        .ok()
        .map(|path| PathBuf::from(path.trim()))
}

fn pids(directory: &std::path::Path) -> Vec<String> {
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
    for pid in pids(&directory) {
        let _ = Command::new("kill").arg(&pid).status();
    }
    let _ = fs::remove_dir_all(&directory);
    let _ = fs::remove_file(state_file());
    println!("stopped the test bed in {}", directory.display());
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["up", count] => {
            let Ok(count) = count.parse::<usize>() else {
                eprintln!("error: `{count}` is not a number of hosts");
                return ExitCode::from(1);
            };
            if current().is_some() {
                down();
            }
            let directory = TestBed::start(count).detach();
            fs::write(state_file(), directory.display().to_string()).expect("state written");
            println!("{}", directory.display());
        }
        ["down"] => down(),
        ["status"] => match current() {
            Some(directory) => {
                let pids = pids(&directory);
                let up = pids.iter().filter(|pid| alive(pid)).count();
                println!(
                    "{} ({up} of {} sshd running)",
                    directory.display(),
                    pids.len()
                );
            }
            None => println!("no test bed is up"),
        },
        ["inventory"] => {
            let Some(directory) = current() else {
                eprintln!("error: no test bed is up; run `testbed up N`");
                return ExitCode::from(1);
            };
            print!(
                "{}",
                fs::read_to_string(directory.join("hosts.ini")).unwrap_or_default()
            );
        }
        _ => {
            eprintln!("usage: testbed up N | status | inventory | down");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
