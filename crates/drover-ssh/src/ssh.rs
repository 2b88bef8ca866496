//! One persistent russh connection to a host, with a session channel per command.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{PrivateKeyWithHashAlg, PublicKey};
use russh::{ChannelMsg, Disconnect};
use tokio::net::TcpStream;

use crate::error::Error;
use crate::exec::{ExecOutput, ExecRequest, Secret};
use crate::host_keys::{HostKeyCheck, Refusal, take_refusal};
use crate::shell::{PersistentShell, ShellError};

/// Everything needed to reach one host over SSH.
#[derive(Debug, Clone)]
pub struct SshSettings {
    /// The name or address to dial (`ansible_host`, `HostName`, or the inventory name).
    pub address: String,
    /// The port.
    pub port: u16,
    /// The remote user.
    pub user: String,
    /// Private keys to offer, in order, after the agent's.
    pub identity_files: Vec<PathBuf>,
    /// Whether to ask ssh-agent (`SSH_AUTH_SOCK`) first.
    pub use_agent: bool,
    /// A password to try last.
    pub password: Option<Secret>,
    /// A host to tunnel through (`ProxyJump`).
    pub jump: Option<Box<SshSettings>>,
    /// The limit for connecting, the handshake and authentication together.
    pub connect_timeout: Duration,
    /// How host keys are checked.
    pub host_keys: HostKeyCheck,
}

impl SshSettings {
    /// `address:port`, for messages.
    pub fn label(&self) -> String {
        format!("{}:{}", self.address, self.port)
    }
}

/// The remote ports this connection forwards back to the controller, each
/// with where its incoming connections go.
pub(crate) type Forwards = Arc<
    std::sync::Mutex<
        std::collections::HashMap<u32, tokio::sync::mpsc::UnboundedSender<crate::ForwardedStream>>,
    >,
>;

/// The russh event handler: it verifies the server's key, and hands the
/// connections the server forwards (`tcpip-forward`) to whoever asked for
/// the port.
pub(crate) struct ClientHandler {
    host: String,
    port: u16,
    check: HostKeyCheck,
    refusal: Refusal,
    forwards: Forwards,
}

impl client::Handler for ClientHandler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key: PublicKey = match offered {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            russh::keys::PublicKeyOrCertificate::Certificate(certificate) => {
                PublicKey::from(certificate.public_key().clone())
            }
        };
        match self.check.verify(&self.host, self.port, &key) {
            Ok(()) => Ok(true),
            Err(refusal) => {
                if let Ok(mut slot) = self.refusal.lock() {
                    *slot = Some(refusal);
                }
                Ok(false)
            }
        }
    }

    async fn server_channel_open_forwarded_tcpip(
        &mut self,
        channel: russh::Channel<client::Msg>,
        _connected_address: &str,
        connected_port: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: client::ChannelOpenHandle,
        _session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        let sink = self
            .forwards
            .lock()
            .ok()
            .and_then(|forwards| forwards.get(&connected_port).cloned());
        match sink {
            Some(sink) => {
                reply.accept().await;
                let _ = sink.send(Box::new(channel.into_stream()));
            }
            None => {
                reply
                    .reject(russh::ChannelOpenFailure::AdministrativelyProhibited)
                    .await;
            }
        }
        Ok(())
    }
}

/// An open, authenticated connection. Commands share it, each on its own channel.
pub struct SshConnection {
    handle: Handle<ClientHandler>,
    label: String,
    /// Kept alive for as long as the tunnel through it is used.
    _jump: Option<Box<SshConnection>>,
    /// The long-lived shell, once started (see `shell.rs`).
    shell: tokio::sync::Mutex<Option<PersistentShell>>,
    /// Remote ports forwarded back to the controller.
    forwards: Forwards,
    /// Whether the shell may start with its commands in the `exec` request.
    inline_start: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for SshConnection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SshConnection")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

fn client_config() -> Arc<client::Config> {
    Arc::new(client::Config {
        // Without it every channel open waits on a delayed ACK (about 40 ms).
        nodelay: true,
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 3,
        ..client::Config::default()
    })
}

impl SshConnection {
    /// Connects (through the jump host, if any), verifies the host key and authenticates.
    pub async fn connect(settings: &SshSettings) -> Result<Self, Error> {
        let limit = settings.connect_timeout;
        tokio::time::timeout(limit, Box::pin(Self::connect_inner(settings)))
            .await
            .map_err(|_| Error::ConnectTimeout {
                address: settings.label(),
                stage: "connecting to",
                seconds: limit.as_secs(),
            })?
    }

    async fn connect_inner(settings: &SshSettings) -> Result<Self, Error> {
        let label = settings.label();
        let refusal: Refusal = Arc::default();
        let forwards: Forwards = Arc::default();
        let handler = ClientHandler {
            host: settings.address.clone(),
            port: settings.port,
            check: settings.host_keys.clone(),
            refusal: refusal.clone(),
            forwards: forwards.clone(),
        };
        let (jump, connected) = if let Some(jump_settings) = &settings.jump {
            let jump = Box::pin(Self::connect(jump_settings)).await?;
            let channel = jump
                .handle
                .channel_open_direct_tcpip(
                    settings.address.clone(),
                    u32::from(settings.port),
                    "127.0.0.1",
                    0,
                )
                .await
                .map_err(|error| Error::Protocol {
                    address: label.clone(),
                    message: format!("the jump host {} cannot reach it: {error}", jump.label),
                })?;
            let stream = channel.into_stream();
            let connected = client::connect_stream(client_config(), stream, handler).await;
            (Some(Box::new(jump)), connected)
        } else {
            let stream = TcpStream::connect((settings.address.as_str(), settings.port))
                .await
                .map_err(|source| Error::Connect {
                    address: label.clone(),
                    source,
                })?;
            let _ = stream.set_nodelay(true);
            let stream = crate::quickack::QuickAckStream::new(stream);
            let connected = client::connect_stream(client_config(), stream, handler).await;
            (None, connected)
        };
        let mut handle = connected.map_err(|error| {
            take_refusal(&refusal).unwrap_or_else(|| Error::Protocol {
                address: label.clone(),
                message: error.to_string(),
            })
        })?;
        authenticate(&mut handle, settings).await?;
        Ok(Self {
            handle,
            label,
            _jump: jump,
            shell: tokio::sync::Mutex::new(None),
            forwards,
            inline_start: std::sync::atomic::AtomicBool::new(true),
        })
    }

    /// Asks the server to listen on a free port of its loopback address
    /// and forward every connection to it back over this connection; the
    /// port, and where those connections arrive.
    pub(crate) async fn forward_remote_port(
        &self,
    ) -> Result<
        (
            u16,
            tokio::sync::mpsc::UnboundedReceiver<crate::ForwardedStream>,
        ),
        Error,
    > {
        let port = self
            .handle
            .tcpip_forward("127.0.0.1", 0)
            .await
            .map_err(|error| Error::ForwardingRefused {
                address: self.label.clone(),
                message: format!("{error} (is `AllowTcpForwarding` off?)"),
            })?;
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        if let Ok(mut forwards) = self.forwards.lock() {
            forwards.insert(port, sender);
        }
        let port = u16::try_from(port).map_err(|_| Error::Protocol {
            address: self.label.clone(),
            message: format!("the server forwarded port {port}, which is not a port"),
        })?;
        Ok((port, receiver))
    }

    /// Stops forwarding `port`.
    pub(crate) async fn cancel_forward(&self, port: u16) {
        if let Ok(mut forwards) = self.forwards.lock() {
            forwards.remove(&u32::from(port));
        }
        let _ = self
            .handle
            .cancel_tcpip_forward("127.0.0.1", u32::from(port))
            .await;
    }

    /// `address:port` of the host.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether the connection has gone away.
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Runs one command on a new channel of this connection.
    pub async fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, Error> {
        Ok(self.exec_with_rider(request, &[]).await?.0)
    }

    /// Runs `request`, then the `rider` requests right after it in the same
    /// flight, when all can go through the long-lived shell; the riders'
    /// outputs, if they ran (all or none). A rider is read-only: it only
    /// asks what later tasks will ask.
    pub(crate) async fn exec_with_rider(
        &self,
        request: &ExecRequest,
        rider: &[&ExecRequest],
    ) -> Result<(ExecOutput, Vec<ExecOutput>), Error> {
        let (_, output, answers) = self.exec_flight(&[], request, rider).await?;
        Ok((output, answers))
    }

    /// Runs the changes `ahead` (sent ahead of their results, see
    /// `deferred.rs`), then `request` and its `rider`, in one flight
    /// through the long-lived shell: the outputs of `ahead`, `request`'s,
    /// and the rider's. Once a change of `ahead` fails, nothing after it
    /// runs: each later output is [`crate::shell::HALTED`]. The session
    /// sends changes ahead only with a request that goes through the shell
    /// with no timeout.
    pub(crate) async fn exec_flight(
        &self,
        ahead: &[&ExecRequest],
        request: &ExecRequest,
        rider: &[&ExecRequest],
    ) -> Result<(Vec<ExecOutput>, ExecOutput, Vec<ExecOutput>), Error> {
        let (command, stdin) = request.wire_form()?;
        // Each line is one round trip to the host: `DROVER_LOG=drover_ssh=trace`
        // counts them (the command itself may hold secrets, so only its size).
        tracing::trace!(host = %self.label, bytes = command.len(), stdin = stdin.is_some(), "exec");
        if request.reuse_shell && stdin.is_none() {
            let riders: Option<Vec<String>> = rider
                .iter()
                .map(|rider| match rider.wire_form() {
                    Ok((command, None)) if rider.reuse_shell => Some(command),
                    _ => None,
                })
                .collect();
            let riders = riders.unwrap_or_default();
            // The session sends nothing ahead that needs standard input.
            let ahead: Vec<String> = ahead
                .iter()
                .map(|change| change.wire_form().map(|(command, _)| command))
                .collect::<Result<_, _>>()?;
            let mut commands: Vec<&str> = ahead.iter().map(String::as_str).collect();
            commands.push(command.as_str());
            commands.extend(riders.iter().map(String::as_str));
            let outputs = self
                .exec_in_shell(&commands, ahead.len(), request.timeout)
                .await?;
            if let Some(mut outputs) = outputs {
                if outputs.len() < ahead.len() + 1 {
                    return Err(Error::Channel {
                        address: self.label.clone(),
                        message: "the flight timed out with changes sent ahead in it".to_owned(),
                    });
                }
                let mut rest = outputs.split_off(ahead.len());
                let answers = if rest.len() == riders.len() + 1 {
                    rest.split_off(1)
                } else {
                    Vec::new()
                };
                return Ok((outputs, rest.swap_remove(0), answers));
            }
        }
        let (done, halted) = self.changes_on_channels(ahead).await?;
        if halted {
            let halted = ExecOutput {
                signal: Some(crate::shell::HALTED.to_owned()),
                ..ExecOutput::default()
            };
            return Ok((done, halted, Vec::new()));
        }
        // A command meant for the long-lived `/bin/sh` keeps POSIX shell
        // semantics on a channel of its own, whatever the login shell is.
        let command = if request.reuse_shell && stdin.is_none() {
            format!("/bin/sh -c {}", crate::quote(&command))
        } else {
            command
        };
        let output = self
            .exec_on_channel(command, stdin, request.timeout)
            .await?;
        Ok((done, output, Vec::new()))
    }

    /// Without a long-lived shell, runs the changes sent ahead on a channel
    /// each, in order, up to the first that fails: their outputs, and
    /// whether one failed.
    async fn changes_on_channels(
        &self,
        ahead: &[&ExecRequest],
    ) -> Result<(Vec<ExecOutput>, bool), Error> {
        let mut done = Vec::new();
        for change in ahead {
            let (command, stdin) = change.wire_form()?;
            let command = format!("/bin/sh -c {}", crate::quote(&command));
            let output = self.exec_on_channel(command, stdin, None).await?;
            let failed = !output.success();
            done.push(output);
            if failed {
                return Ok((done, true));
            }
        }
        Ok((done, false))
    }

    /// Runs commands through the long-lived shell, starting it with them if
    /// it is not running yet; `None` when there is no shell to be had (the
    /// caller then opens a channel for the first command). A timeout
    /// applies to them all.
    async fn exec_in_shell(
        &self,
        commands: &[&str],
        guarded: usize,
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<Vec<ExecOutput>>, Error> {
        if self.handle.is_closed() {
            return Err(Error::NotStarted {
                address: self.label.clone(),
                message: "the connection has closed".to_owned(),
            });
        }
        let mut slot = self.shell.lock().await;
        let run = async {
            match slot.as_mut() {
                Some(shell) => shell.run(commands, guarded).await,
                None => {
                    let (shell, outputs) = self.start_shell(commands, guarded).await?;
                    *slot = Some(shell);
                    Ok(outputs)
                }
            }
        };
        let outcome = match timeout {
            Some(limit) => tokio::time::timeout(limit, run).await,
            None => Ok(run.await),
        };
        match outcome {
            Ok(Ok(outputs)) => Ok(Some(outputs)),
            Err(_) => {
                // The command may still be running in that shell: abandon it.
                *slot = None;
                Ok(Some(vec![ExecOutput {
                    timed_out: true,
                    ..ExecOutput::default()
                }]))
            }
            Ok(Err(ShellError::Unavailable(reason))) => {
                tracing::debug!(host = %self.label, %reason, "no long-lived shell; a channel per command");
                *slot = None;
                Ok(None)
            }
            Ok(Err(ShellError::Lost(message))) => {
                *slot = None;
                Err(Error::Channel {
                    address: self.label.clone(),
                    message,
                })
            }
        }
    }

    /// Starts the long-lived shell with `commands`: inside the `exec`
    /// request, unless that has failed on this connection before; then,
    /// or if it fails now, with a plain `exec /bin/sh` and the commands on
    /// its input. A login shell that cannot parse a quoted multi-line
    /// `-c` argument (csh) refuses the first way without running anything.
    async fn start_shell(
        &self,
        commands: &[&str],
        guarded: usize,
    ) -> Result<(PersistentShell, Vec<ExecOutput>), ShellError> {
        use std::sync::atomic::Ordering::Relaxed;
        let open = || async {
            self.handle
                .channel_open_session()
                .await
                .map_err(|error| ShellError::Unavailable(error.to_string()))
        };
        if self.inline_start.load(Relaxed) {
            match PersistentShell::start(open().await?, commands, guarded, true).await {
                Err(ShellError::Unavailable(reason)) => {
                    tracing::debug!(host = %self.label, %reason, "the shell did not start with its commands; starting it plainly");
                    self.inline_start.store(false, Relaxed);
                }
                other => return other,
            }
        }
        PersistentShell::start(open().await?, commands, guarded, false).await
    }

    /// Runs one command on a channel of its own.
    async fn exec_on_channel(
        &self,
        command: String,
        stdin: Option<bytes::Bytes>,
        timeout: Option<std::time::Duration>,
    ) -> Result<ExecOutput, Error> {
        let channel_error = |error: russh::Error| Error::Channel {
            address: self.label.clone(),
            message: error.to_string(),
        };
        let mut channel =
            self.handle
                .channel_open_session()
                .await
                .map_err(|error| Error::NotStarted {
                    address: self.label.clone(),
                    message: error.to_string(),
                })?;
        channel.exec(true, command).await.map_err(channel_error)?;
        if let Some(input) = stdin {
            channel.data_bytes(input).await.map_err(channel_error)?;
        }
        channel.eof().await.map_err(channel_error)?;
        let mut output = ExecOutput::default();
        // Whether the server accepted the command: only then may it have run.
        let mut started = false;
        let collect = async {
            while let Some(message) = channel.wait().await {
                started |= collect_message(&mut output, message);
            }
        };
        match timeout {
            Some(limit) => {
                if tokio::time::timeout(limit, collect).await.is_err() {
                    output.timed_out = true;
                    let _ = channel.close().await;
                }
            }
            None => collect.await,
        }
        if output.exit_status.is_none() && output.signal.is_none() && !output.timed_out {
            if !started {
                return Err(Error::NotStarted {
                    address: self.label.clone(),
                    message: "the connection closed before the command was accepted".to_owned(),
                });
            }
            return Err(Error::Channel {
                address: self.label.clone(),
                message: "the connection closed before the command finished".to_owned(),
            });
        }
        Ok(output)
    }

    /// Closes the connection politely.
    pub async fn close(&self) {
        if let Some(shell) = self.shell.lock().await.take() {
            shell.close().await;
        }
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
    }
}

/// Offers the agent's keys, then key files, then a password.
async fn authenticate(
    handle: &mut Handle<ClientHandler>,
    settings: &SshSettings,
) -> Result<(), Error> {
    let mut tried = Vec::new();
    if settings.use_agent && std::env::var_os("SSH_AUTH_SOCK").is_some() {
        tried.push("ssh-agent".to_owned());
        if authenticate_with_agent(handle, settings).await {
            return Ok(());
        }
    }
    for path in &settings.identity_files {
        if !path.exists() {
            continue;
        }
        let key = match russh::keys::load_secret_key(path, None) {
            Ok(key) => key,
            Err(error) => {
                let reason = if matches!(error, russh::keys::Error::KeyIsEncrypted) {
                    "passphrase-protected; load it into ssh-agent".to_owned()
                } else {
                    error.to_string()
                };
                tried.push(format!("`{}` ({reason})", path.display()));
                continue;
            }
        };
        tried.push(format!("`{}`", path.display()));
        let hash = signature_hash(handle, key.algorithm().is_rsa()).await;
        let offered = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
        if handle
            .authenticate_publickey(&settings.user, offered)
            .await
            .is_ok_and(|result| result.success())
        {
            return Ok(());
        }
    }
    if let Some(password) = &settings.password {
        tried.push("password".to_owned());
        if handle
            .authenticate_password(&settings.user, password.expose())
            .await
            .is_ok_and(|result| result.success())
        {
            return Ok(());
        }
    }
    Err(Error::Authentication {
        address: settings.label(),
        user: settings.user.clone(),
        tried,
    })
}

async fn authenticate_with_agent(
    handle: &mut Handle<ClientHandler>,
    settings: &SshSettings,
) -> bool {
    let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await else {
        return false;
    };
    let Ok(identities) = agent.request_identities().await else {
        return false;
    };
    for identity in identities {
        let russh::keys::agent::AgentIdentity::PublicKey { key, .. } = identity else {
            continue;
        };
        let hash = signature_hash(handle, key.algorithm().is_rsa()).await;
        if handle
            .authenticate_publickey_with(&settings.user, key, hash, &mut agent)
            .await
            .is_ok_and(|result| result.success())
        {
            return true;
        }
    }
    false
}

/// The hash to sign with: RSA keys use the best one the server announced
/// (asking costs a round trip, so only RSA asks); other keys have their own.
async fn signature_hash(
    handle: &Handle<ClientHandler>,
    is_rsa: bool,
) -> Option<russh::keys::HashAlg> {
    if !is_rsa {
        return None;
    }
    handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
}

/// Adds what a channel message carries to `output`; whether the message
/// shows the server accepted the command.
fn collect_message(output: &mut ExecOutput, message: ChannelMsg) -> bool {
    match message {
        ChannelMsg::Success => {}
        ChannelMsg::Data { data } => output.stdout.extend_from_slice(&data),
        ChannelMsg::ExtendedData { data, ext: 1 } => output.stderr.extend_from_slice(&data),
        ChannelMsg::ExitStatus { exit_status } => output.exit_status = Some(exit_status),
        ChannelMsg::ExitSignal { signal_name, .. } => {
            output.signal = Some(format!("{signal_name:?}"));
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;

    use super::{SshConnection, SshSettings};
    use crate::{ExecRequest, HostKeyCheck, HostKeyPolicy};
    use drover_test_harness::TestBed;

    fn settings(bed: &TestBed) -> SshSettings {
        SshSettings {
            address: bed.hosts[0].address.to_string(),
            port: bed.hosts[0].port,
            user: bed.user.clone(),
            identity_files: vec![bed.client_key.clone()],
            use_agent: false,
            password: None,
            jump: None,
            connect_timeout: std::time::Duration::from_secs(10),
            host_keys: HostKeyCheck {
                policy: HostKeyPolicy::Strict,
                known_hosts: bed.known_hosts.clone(),
            },
        }
    }

    /// A batch of commands, with a multi-line one and a `!`, runs framed
    /// one by one whether the shell starts with them inside its `exec`
    /// request or (as after a login shell refused that) on its input.
    #[tokio::test]
    async fn issue_18_the_shell_starts_with_its_commands_either_way() {
        let bed = TestBed::start(1);
        for inline in [true, false] {
            let connection = SshConnection::connect(&settings(&bed))
                .await
                .expect("connected");
            connection.inline_start.store(inline, Relaxed);
            let first = ExecRequest {
                reuse_shell: true,
                ..ExecRequest::new("echo one\necho 'two!' >&2; exit 3")
            };
            let rider = ExecRequest {
                reuse_shell: true,
                ..ExecRequest::new("[ ! -e /nonexistent ] && echo three")
            };
            let (output, answers) = connection
                .exec_with_rider(&first, &[&rider])
                .await
                .expect("ran");
            assert_eq!(
                (
                    output.stdout.as_slice(),
                    output.stderr.as_slice(),
                    output.exit_status
                ),
                (&b"one\n"[..], &b"two!\n"[..], Some(3)),
                "inline: {inline}"
            );
            assert_eq!(answers.len(), 1);
            assert_eq!(answers[0].stdout, b"three\n");
            // The shell stays up for the next command.
            let next = connection
                .exec(&ExecRequest {
                    reuse_shell: true,
                    ..ExecRequest::new("echo four")
                })
                .await
                .expect("ran");
            assert_eq!(next.stdout, b"four\n");
            assert_eq!(connection.inline_start.load(Relaxed), inline);
        }
    }
}
