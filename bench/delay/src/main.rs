//! A TCP proxy that adds latency: every chunk read on one side is written
//! on the other half a round trip later, in order, without holding back
//! the chunks behind it. So a connection through it sees the round-trip
//! time asked for, and the bandwidth of loopback. The kernel here has no
//! netem, and a benchmark of real networks needs their round trips.
//!
//! ```text
//! delay-proxy --rtt-ms 50 LISTEN=TARGET [LISTEN=TARGET ...]
//! delay-proxy --rtt-ms 50 127.0.0.2:2222=127.0.0.2:22
//! ```
//!
//! Each pair is an address to listen on and the address to forward to.
//! It runs until it is killed.
#![allow(clippy::print_stderr)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What the command line asks for.
struct Request {
    one_way: Duration,
    pairs: Vec<(SocketAddr, SocketAddr)>,
}

fn read_request(arguments: &[String]) -> Result<Request, String> {
    let mut rtt_ms: u64 = 0;
    let mut pairs = Vec::new();
    let mut words = arguments.iter();
    while let Some(word) = words.next() {
        if word == "--rtt-ms" {
            let value = words.next().ok_or("--rtt-ms needs a number")?;
            rtt_ms = value
                .parse()
                .map_err(|_| format!("--rtt-ms: `{value}` is not a number"))?;
            continue;
        }
        let (listen, target) = word
            .split_once('=')
            .ok_or_else(|| format!("`{word}` is not LISTEN=TARGET"))?;
        let address = |text: &str| {
            text.parse::<SocketAddr>()
                .map_err(|_| format!("`{text}` is not an address and port"))
        };
        pairs.push((address(listen)?, address(target)?));
    }
    if pairs.is_empty() {
        return Err("usage: delay-proxy --rtt-ms MS LISTEN=TARGET [LISTEN=TARGET ...]".to_owned());
    }
    Ok(Request {
        one_way: Duration::from_millis(rtt_ms) / 2,
        pairs,
    })
}

/// Reads chunks from `from` and hands each on with the time it may be written.
async fn read_side(
    mut from: OwnedReadHalf,
    chunks: mpsc::UnboundedSender<(Instant, Vec<u8>)>,
    delay: Duration,
) {
    let mut buffer = vec![0_u8; 64 * 1024];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(count) => {
                let due = Instant::now() + delay;
                if chunks.send((due, buffer[..count].to_vec())).is_err() {
                    return;
                }
            }
        }
    }
}

/// Writes each chunk to `to` when it is due, in the order read; closes the
/// writing side when the reading side has ended.
async fn write_side(
    mut to: OwnedWriteHalf,
    mut chunks: mpsc::UnboundedReceiver<(Instant, Vec<u8>)>,
) {
    while let Some((due, chunk)) = chunks.recv().await {
        tokio::time::sleep_until(due).await;
        if to.write_all(&chunk).await.is_err() {
            return;
        }
    }
    let _ = to.shutdown().await;
}

/// Carries one connection both ways, each way delayed by `delay`.
async fn carry(client: TcpStream, target: SocketAddr, delay: Duration) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let (up_sender, up_receiver) = mpsc::unbounded_channel();
    let (down_sender, down_receiver) = mpsc::unbounded_channel();
    tokio::join!(
        read_side(client_read, up_sender, delay),
        write_side(server_write, up_receiver),
        read_side(server_read, down_sender, delay),
        write_side(client_write, down_receiver),
    );
}

async fn serve(listen: SocketAddr, target: SocketAddr, delay: Duration) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    loop {
        let (client, _) = listener.accept().await?;
        tokio::spawn(carry(client, target, delay));
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let request = match read_request(&arguments) {
        Ok(request) => request,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut servers = tokio::task::JoinSet::new();
    for (listen, target) in request.pairs {
        servers.spawn(serve(listen, target, request.one_way));
    }
    while let Some(ended) = servers.join_next().await {
        if let Ok(Err(error)) = ended {
            eprintln!("delay-proxy: {error}");
            return std::process::ExitCode::from(1);
        }
    }
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::read_request;

    #[test]
    fn pairs_and_the_round_trip_are_read() {
        let words: Vec<String> = ["--rtt-ms", "50", "127.0.0.2:2222=127.0.0.2:22"]
            .iter()
            .map(|word| (*word).to_owned())
            .collect();
        let request = read_request(&words).expect("a request");
        assert_eq!(request.one_way.as_millis(), 25);
        assert_eq!(request.pairs.len(), 1);
        assert!(read_request(&["nonsense".to_owned()]).is_err());
    }
}
