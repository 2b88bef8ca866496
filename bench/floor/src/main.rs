//! The floor for drover's benchmarks: what a bare russh client, with no
//! inventory, templating or modules, needs to connect to every host at
//! once, run one command on each, and read its output.
//!
//! `floor HOSTS_FILE KEY COMMAND`: `HOSTS_FILE` holds one `ADDRESS PORT USER`
//! line per host. It prints the wall time and how many hosts succeeded.
//! Host keys are not checked: this is a measuring tool for test beds.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::client;
use russh::keys::PrivateKeyWithHashAlg;

struct AnyKey;

impl client::Handler for AnyKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _offered: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// Connects, authenticates, runs `command` once; whether it exited 0.
async fn run_one(
    address: String,
    port: u16,
    user: String,
    key: Arc<russh::keys::PrivateKey>,
    command: Arc<String>,
) -> Result<bool, russh::Error> {
    let config = Arc::new(client::Config {
        nodelay: true,
        ..client::Config::default()
    });
    let mut handle = client::connect(config, (address.as_str(), port), AnyKey).await?;
    let authenticated = handle
        .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key, None))
        .await?;
    if !authenticated.success() {
        return Ok(false);
    }
    let mut channel = handle.channel_open_session().await?;
    channel.exec(true, command.as_bytes()).await?;
    let mut status = None;
    while let Some(message) = channel.wait().await {
        if let russh::ChannelMsg::ExitStatus { exit_status } = message {
            status = Some(exit_status);
        }
    }
    let _ = handle
        .disconnect(russh::Disconnect::ByApplication, "", "")
        .await;
    Ok(status == Some(0))
}

#[tokio::main]
async fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    let [_, hosts_file, key_file, command] = arguments.as_slice() else {
        eprintln!("usage: floor HOSTS_FILE KEY COMMAND");
        std::process::exit(2);
    };
    let hosts = std::fs::read_to_string(hosts_file).expect("the hosts file");
    let key = Arc::new(russh::keys::load_secret_key(key_file, None).expect("the key"));
    let command = Arc::new(command.clone());
    let started = Instant::now();
    let runs = hosts.lines().filter_map(|line| {
        let mut words = line.split_whitespace();
        let address = words.next()?.to_owned();
        let port = words.next()?.parse().ok()?;
        let user = words.next()?.to_owned();
        Some(tokio::spawn(run_one(
            address,
            port,
            user,
            key.clone(),
            command.clone(),
        )))
    });
    let results = futures::future::join_all(runs).await;
    let elapsed: Duration = started.elapsed();
    let succeeded = results
        .iter()
        .filter(|result| matches!(result, Ok(Ok(true))))
        .count();
    println!(
        "{:.3} s, {succeeded} of {} hosts",
        elapsed.as_secs_f64(),
        results.len()
    );
    if succeeded != results.len() {
        std::process::exit(1);
    }
}
