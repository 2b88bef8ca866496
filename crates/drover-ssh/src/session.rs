//! A host's session: its transport settings and, for SSH, the one
//! persistent connection that every command to it shares.

use std::fmt::Write as _;

use base64::Engine as _;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Mutex;

use crate::deferred::{Deferred, DeferredFailure, Failure, Queue};
use crate::error::Error;
use crate::exec::{Become, ExecOutput, ExecRequest, quote};
use crate::local;
use crate::read_ahead::{Outgoing, ReadAhead, Rider, Touched};
use crate::ssh::{SshConnection, SshSettings};

/// How a host is reached.
#[derive(Debug, Clone)]
pub enum Transport {
    /// Over SSH.
    Ssh(SshSettings),
    /// On this machine.
    Local,
}

/// How an uploaded file should end up.
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    /// Permission bits.
    pub mode: Option<u32>,
    /// `owner`, `owner:group` or `:group`, for `chown`.
    pub owner: Option<String>,
    /// A command that must succeed on the new file (`%s`) before it replaces the old.
    pub validate: Option<String>,
    /// Privilege escalation for writing it.
    pub become_user: Option<Become>,
}

/// Uploads up to this size go inline through the long-lived shell.
const INLINE_UPLOAD_LIMIT: usize = 48 * 1024;

/// One host: how to reach it, and the connection once made.
#[derive(Debug)]
pub struct HostSession {
    transport: Transport,
    connection: Mutex<Option<Arc<SshConnection>>>,
    handshakes: crate::Handshakes,
    /// Outputs of read-only commands run ahead of time, several in one round
    /// trip, and the rider asking them (see `read_ahead.rs`). Any other
    /// command empties it: it may change what they saw.
    read_ahead: std::sync::Mutex<ReadAhead>,
    /// How many commands have gone to the host, each one round trip: the
    /// flight trace numbers them.
    flights: std::sync::atomic::AtomicU64,
    /// Changes sent ahead of their results (see `deferred.rs`).
    deferred: std::sync::Mutex<Queue>,
}

/// How many times a dropped handshake is retried.
const HANDSHAKE_RETRIES: u32 = 5;
/// The pause before the first retry; each later one is three times longer.
const HANDSHAKE_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// Up to `pause` more, so that hosts dropped together do not retry together.
fn jitter(pause: std::time::Duration) -> std::time::Duration {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let fraction = f64::from(u32::try_from(hasher.finish() % 1000).unwrap_or(0)) / 1000.0;
    pause.mul_f64(fraction)
}

impl HostSession {
    /// A session that connects lazily, taking a permit from the budget in
    /// `handshakes` of the server it dials while connecting, so that sshd's
    /// `MaxStartups` is not overrun.
    pub fn new(transport: Transport, handshakes: crate::Handshakes) -> Self {
        Self {
            transport,
            connection: Mutex::new(None),
            handshakes,
            read_ahead: std::sync::Mutex::default(),
            flights: std::sync::atomic::AtomicU64::new(0),
            deferred: std::sync::Mutex::default(),
        }
    }

    /// The name the trace gives the host.
    fn trace_label(&self) -> String {
        match &self.transport {
            Transport::Ssh(settings) => settings.label(),
            Transport::Local => "local".to_owned(),
        }
    }

    /// How the host is reached.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// A port on the host's loopback address whose connections come back
    /// to the controller (see [`crate::Forward`]).
    ///
    /// # Errors
    /// The host cannot be reached, or its SSH server refuses to forward.
    pub async fn forward_to_controller(&self) -> Result<crate::Forward, Error> {
        match &self.transport {
            Transport::Ssh(settings) => {
                let connection = self.connection(settings).await?;
                let (port, incoming) = connection.forward_remote_port().await?;
                Ok(crate::Forward::over_ssh(port, incoming, connection))
            }
            Transport::Local => crate::Forward::local()
                .await
                .map_err(|source| Error::Connect {
                    address: "127.0.0.1".to_owned(),
                    source,
                }),
        }
    }

    /// Connects now, if not connected yet.
    pub async fn connect(&self) -> Result<(), Error> {
        if let Transport::Ssh(settings) = &self.transport {
            self.connection(settings).await?;
        }
        Ok(())
    }

    async fn connection(&self, settings: &SshSettings) -> Result<Arc<SshConnection>, Error> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref().filter(|connection| !connection.is_closed()) {
            return Ok(connection.clone());
        }
        let connection = Arc::new(self.handshake(settings).await?);
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Connects, holding a handshake permit. sshd drops handshakes beyond
    /// its `MaxStartups` (10:30:100 by default, counting every client's):
    /// such a drop is retried, after a growing, jittered pause, instead of
    /// failing the host. A refused port, a host key or an authentication
    /// failure is not retried.
    async fn handshake(&self, settings: &SshSettings) -> Result<SshConnection, Error> {
        let mut pause = HANDSHAKE_PAUSE;
        let mut attempt = 0;
        let budget = self.handshakes.budget(settings);
        loop {
            let result = {
                let _permit = budget.acquire().await;
                let started = std::time::Instant::now();
                let result = SshConnection::connect(settings).await;
                tracing::debug!(
                    target: "drover_ssh::flight",
                    host = %settings.label(),
                    wait_ms = started.elapsed().as_millis(),
                    "connected"
                );
                result
            };
            match result {
                Err(Error::Protocol { address, message }) if attempt < HANDSHAKE_RETRIES => {
                    tracing::debug!(%address, %message, attempt, "handshake dropped; retrying");
                    attempt += 1;
                    tokio::time::sleep(pause + jitter(pause)).await;
                    pause *= 3;
                }
                other => return other,
            }
        }
    }

    async fn forget(&self, stale: &Arc<SshConnection>) {
        let mut slot = self.connection.lock().await;
        if slot
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, stale))
        {
            *slot = None;
        }
    }

    /// Runs a command. If the connection has dropped, reconnects once and
    /// retries, but only when the command cannot have started.
    pub async fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, Error> {
        let rider = {
            let mut read_ahead = self.read_ahead_slot();
            read_ahead.forget();
            read_ahead.outgoing()
        };
        self.exec_carrying(request, rider).await
    }

    /// Runs a command that changes nothing on the host (a query), using
    /// the output a rider (see [`Self::set_rider`]) kept for it, if any.
    pub async fn exec_read_only(&self, request: &ExecRequest) -> Result<ExecOutput, Error> {
        let rider = {
            let read_ahead = self.read_ahead_slot();
            if let Some(output) = read_ahead.answer(request) {
                return Ok(output);
            }
            read_ahead.outgoing()
        };
        self.exec_carrying(request, rider).await
    }

    /// Runs a command that changes the host only as `touched` says: the
    /// answers asked ahead that it cannot have changed are kept.
    pub async fn exec_touching(
        &self,
        request: &ExecRequest,
        touched: Touched<'_>,
    ) -> Result<ExecOutput, Error> {
        let rider = {
            let mut read_ahead = self.read_ahead_slot();
            read_ahead.forget_touched(touched);
            read_ahead.outgoing()
        };
        self.exec_carrying(request, rider).await
    }

    /// The output kept for the read-only `request`, if any, without asking
    /// the host: for a module that acts on what is known and otherwise
    /// asks in the same flight as its change.
    pub fn known_answer(&self, request: &ExecRequest) -> Option<ExecOutput> {
        self.read_ahead_slot().answer(request)
    }

    /// Drops every output run ahead of time: the caller is about to let time
    /// pass, or to act on the host in a way this session does not see.
    pub fn forget_read_ahead(&self) {
        self.read_ahead_slot().forget();
    }

    /// Sets the read-only command that rides with the host's next commands
    /// (see `read_ahead.rs`), or none.
    pub fn set_rider(&self, rider: Option<Rider>) {
        self.read_ahead_slot().set_rider(rider);
    }

    /// Lets [`Self::change`] queue changes under `tag` (the task running
    /// now), to go with the host's next flight; `None` makes them run at
    /// once again. Only over SSH: locally there is no round trip to save.
    pub fn send_ahead(&self, tag: Option<u64>) {
        let tag = tag.filter(|_| matches!(self.transport, Transport::Ssh(_)));
        self.deferred_slot().tag = tag;
    }

    /// Makes a change that touches the host only as `touched` says and
    /// whose output matters only in whether it succeeded: queued when
    /// [`Self::send_ahead`] allows (and then taken to have succeeded until
    /// its flight says otherwise), else run now. A failure is `failure`'s
    /// message for the output.
    ///
    /// # Errors
    /// The host cannot be reached.
    pub async fn change(
        &self,
        request: &ExecRequest,
        touched: Touched<'_>,
        failure: Failure,
    ) -> Result<Result<(), String>, Error> {
        {
            let mut queue = self.deferred_slot();
            if let Some(tag) = queue.tag.filter(|_| crate::deferred::may_go_ahead(request)) {
                self.read_ahead_slot().forget_touched(touched);
                queue.pending.push(Deferred {
                    request: request.clone(),
                    failure,
                    tag,
                });
                return Ok(Ok(()));
            }
        }
        let output = self.exec_touching(request, touched).await?;
        Ok(if output.success() {
            Ok(())
        } else {
            Err(failure(&output))
        })
    }

    /// The tag of the earliest change queued and not sent yet.
    pub fn earliest_pending(&self) -> Option<u64> {
        self.deferred_slot()
            .pending
            .iter()
            .map(|deferred| deferred.tag)
            .min()
    }

    /// The change sent ahead that failed, once.
    pub fn take_failure(&self) -> Option<DeferredFailure> {
        self.deferred_slot().failure.take()
    }

    /// Sends the queued changes now, in a flight of their own, if any
    /// wait; a failure is kept for [`Self::take_failure`].
    pub async fn flush(&self) {
        let pending = std::mem::take(&mut self.deferred_slot().pending);
        // What fails is kept as the failure of the change that failed.
        let _ = self.send_alone(pending).await;
    }

    /// Sends `pending` changes in a flight of their own; whether they all
    /// succeeded.
    async fn send_alone(&self, pending: Vec<Deferred>) -> bool {
        if pending.is_empty() {
            return true;
        }
        let carrier = ExecRequest {
            reuse_shell: true,
            ..ExecRequest::new("true")
        };
        self.fly(pending, &carrier, None).await.is_ok()
    }

    fn deferred_slot(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.deferred
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The queued changes that go with `request`: all of them, when it
    /// can carry them; else they go first, in a flight of their own.
    async fn changes_ahead_of(&self, request: &ExecRequest) -> Result<Vec<Deferred>, Error> {
        let pending = std::mem::take(&mut self.deferred_slot().pending);
        if pending.is_empty() || crate::deferred::may_go_ahead(request) {
            return Ok(pending);
        }
        if self.send_alone(pending).await {
            Ok(Vec::new())
        } else {
            Err(Error::Halted {
                address: self.trace_label(),
            })
        }
    }

    /// Keeps what became of the changes sent ahead in a flight.
    fn settle_ahead(
        &self,
        sent: Vec<Deferred>,
        flown: &Result<(Vec<ExecOutput>, ExecOutput, Vec<ExecOutput>), Error>,
    ) -> bool {
        let Some(first) = sent.first().map(|deferred| deferred.tag) else {
            return false;
        };
        let failure = match flown {
            Ok((outputs, _, _)) => crate::deferred::settle(sent, outputs),
            Err(error) => Some(DeferredFailure {
                tag: first,
                message: error.described(),
                unreachable: error.is_unreachable(),
            }),
        };
        let failed = failure.is_some();
        if let Some(failure) = failure {
            let mut queue = self.deferred_slot();
            queue.failure.get_or_insert(failure);
        }
        failed
    }

    fn read_ahead_slot(&self) -> std::sync::MutexGuard<'_, ReadAhead> {
        self.read_ahead
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `request`, with `rider` after it in the same flight, and keeps
    /// the rider's answers; the changes queued go first (see
    /// [`Self::changes_ahead_of`]).
    async fn exec_carrying(
        &self,
        request: &ExecRequest,
        rider: Option<Outgoing>,
    ) -> Result<ExecOutput, Error> {
        let ahead = self.changes_ahead_of(request).await?;
        self.fly(ahead, request, rider.as_ref()).await
    }

    /// One flight: the changes `ahead`, `request`, and the `rider` after
    /// it; settles the changes and keeps the rider's answers. `-vv`
    /// (`drover_ssh::flight=debug`) prints a line for each flight with the
    /// bytes each way and the time waited, the numbers that show where a
    /// run over a slow network spends its time. The commands themselves are
    /// not printed: they may hold secrets.
    async fn fly(
        &self,
        ahead: Vec<Deferred>,
        request: &ExecRequest,
        rider: Option<&Outgoing>,
    ) -> Result<ExecOutput, Error> {
        let flight = self
            .flights
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let started = std::time::Instant::now();
        let riding: Vec<&ExecRequest> = rider
            .map(|rider| rider.requests.iter().collect())
            .unwrap_or_default();
        let sent_ahead: Vec<&ExecRequest> = ahead.iter().map(|change| &change.request).collect();
        let changes_ahead = sent_ahead.len();
        let bytes_ahead: usize = sent_ahead.iter().map(|change| change.command.len()).sum();
        let flown = self.exec_traced(&sent_ahead, request, &riding).await;
        drop(sent_ahead);
        let halted = self.settle_ahead(ahead, &flown);
        if halted {
            // A change failed, or its flight was lost: what was asked ahead
            // may no longer hold.
            self.read_ahead_slot().forget();
        }
        let (output, answers) = match flown {
            Ok((_, output, answers)) => (output, answers),
            Err(error) => return Err(error),
        };
        let rode = !halted && !answers.is_empty();
        if tracing::enabled!(target: "drover_ssh::flight", tracing::Level::DEBUG) {
            let size = |output: &ExecOutput| output.stdout.len() + output.stderr.len();
            let sent = request.command.len()
                + bytes_ahead
                + request.stdin.as_ref().map_or(0, bytes::Bytes::len)
                + if rode {
                    riding.iter().map(|rider| rider.command.len()).sum()
                } else {
                    0
                };
            let received = size(&output) + answers.iter().map(size).sum::<usize>();
            tracing::debug!(
                target: "drover_ssh::flight",
                host = %self.trace_label(),
                flight,
                sent,
                received,
                rider = rode,
                ahead = changes_ahead,
                wait_ms = started.elapsed().as_millis(),
                "flight"
            );
        }
        if halted {
            return Err(Error::Halted {
                address: self.trace_label(),
            });
        }
        if let Some(rider) = rider.filter(|_| rode) {
            self.read_ahead_slot().take_answers(rider, &answers);
        }
        Ok(output)
    }

    /// Runs `request` and then, in the same flight where the transport
    /// allows, the `rider` requests; their outputs if they all ran.
    async fn exec_traced(
        &self,
        ahead: &[&ExecRequest],
        request: &ExecRequest,
        rider: &[&ExecRequest],
    ) -> Result<(Vec<ExecOutput>, ExecOutput, Vec<ExecOutput>), Error> {
        let Transport::Ssh(settings) = &self.transport else {
            // Nothing is sent ahead here (see `send_ahead`).
            // Here there is no round trip to save, but the rider still asks
            // several queries with one process.
            let output = local::exec(request).await?;
            let mut answers = Vec::new();
            for rider in rider {
                match local::exec(rider).await {
                    Ok(answer) => answers.push(answer),
                    Err(_) => return Ok((Vec::new(), output, Vec::new())),
                }
            }
            return Ok((Vec::new(), output, answers));
        };
        let connection = self.connection(settings).await?;
        match connection.exec_flight(ahead, request, rider).await {
            Err(Error::NotStarted { .. }) => {}
            other => return other,
        }
        tracing::info!(host = %settings.label(), "connection dropped; reconnecting once");
        self.forget(&connection).await;
        let connection = self.connection(settings).await?;
        connection.exec_flight(ahead, request, rider).await
    }

    /// Writes `data` to `destination` atomically: into a temporary file in
    /// the same directory, then `chmod`, `chown`, the `validate` command on
    /// the temporary file, and `mv` into place. Any failure removes the
    /// temporary file and leaves the destination as it was.
    pub async fn upload(
        &self,
        data: Bytes,
        destination: &str,
        options: &UploadOptions,
    ) -> Result<ExecOutput, Error> {
        let request = upload_request(data, destination, options);
        self.exec_touching(&request, Touched::Replaced(destination))
            .await
    }

    /// Reads a remote file.
    pub async fn download(
        &self,
        path: &str,
        become_user: Option<Become>,
    ) -> Result<ExecOutput, Error> {
        let request = ExecRequest {
            become_user,
            ..ExecRequest::new(format!("cat -- {}", quote(path)))
        };
        self.exec(&request).await
    }

    /// Closes the connection, if one is open, after sending any change
    /// still queued.
    pub async fn close(&self) {
        self.flush().await;
        if let Some(connection) = self.connection.lock().await.take() {
            connection.close().await;
        }
    }
}

/// The command writing `data` to `destination` atomically: into a
/// temporary file in the same directory, then `chmod`, `chown`, the
/// `validate` command on the temporary file, and `mv` into place. Any
/// failure removes the temporary file and leaves the destination as it
/// was. Small files go inline through the long-lived shell; larger ones on
/// the command's standard input.
pub fn upload_request(data: Bytes, destination: &str, options: &UploadOptions) -> ExecRequest {
    let directory = match destination.rsplit_once('/') {
        Some(("", _)) => "/".to_owned(),
        Some((directory, _)) => directory.to_owned(),
        None => ".".to_owned(),
    };
    let inline = data.len() <= INLINE_UPLOAD_LIMIT;
    let script = if inline {
        inline_upload_script(&data, &directory, options.mode)
    } else {
        let mut script = format!(
            "umask 077; tmp=$(mktemp {template}) || exit 1; trap 'rm -f \"$tmp\"' EXIT; cat > \"$tmp\" || exit 1",
            template = quote(&format!("{directory}/.drover.XXXXXXXX")),
        );
        if let Some(mode) = options.mode {
            let _ = write!(script, " && chmod {mode:o} \"$tmp\"");
        }
        script
    };
    let mut script = script;
    if let Some(owner) = &options.owner {
        let _ = write!(script, " && chown {} \"$tmp\"", quote(owner));
    }
    if let Some(validate) = &options.validate {
        // Ansible's `validate`: `%s` names the file to check.
        let _ = write!(script, " && {{ {}; }}", validate.replace("%s", "\"$tmp\""));
    }
    let _ = write!(
        script,
        " && mv -f \"$tmp\" {} && trap - EXIT",
        quote(destination)
    );
    ExecRequest {
        command: script,
        stdin: (!inline).then_some(data),
        timeout: None,
        become_user: options.become_user.clone(),
        reuse_shell: inline,
    }
}

/// The script writing a small file through the long-lived shell with as few
/// programs as possible, since each costs the host a fork and an exec: the
/// temporary file gets an unpredictable name and is created exclusively
/// (`set -C`, so nothing planted there is followed), with the final mode
/// through the umask when the mode allows it; UTF-8 text is written by the
/// `printf` builtin, anything else through `base64 -d`. Only `mv` (and
/// `chmod` for executable modes) remain.
fn inline_upload_script(data: &[u8], directory: &str, mode: Option<u32>) -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    // `RandomState` is seeded randomly per process: the names cannot be guessed.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let name = format!("{directory}/.drover.{:016x}", hasher.finish());
    // Without a mode, a new file is private, as `mktemp` would make it.
    let mode = mode.unwrap_or(0o600);
    // A file made by `>` gets 0666 less the umask: any mode without execute
    // or special bits comes out exactly.
    let (umask, chmod) = if mode & 0o7111 == 0 {
        (0o777 & !mode, String::new())
    } else {
        (0o077, format!(" && chmod {mode:o} \"$tmp\""))
    };
    let fill = match std::str::from_utf8(data) {
        Ok(text) if !text.contains('\0') => format!("printf '%s' {} > \"$tmp\"", quote(text)),
        _ => format!(
            "printf '%s' {} | base64 -d > \"$tmp\"",
            base64::engine::general_purpose::STANDARD.encode(data)
        ),
    };
    format!(
        "umask {umask:03o}; set -C; tmp={tmp}; trap 'rm -f \"$tmp\"' EXIT; {fill} || exit 1; set +C{chmod}",
        tmp = quote(&name)
    )
}
