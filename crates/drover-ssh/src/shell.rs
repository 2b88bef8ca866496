//! A long-lived shell per connection, fed one command at a time.
//!
//! Having sshd open a session and start a shell for every command costs the
//! server about 4 ms of CPU each here. A shell that stays up runs each command
//! in a subshell instead (one fork), and frames its standard output and
//! standard error (the channel's two streams) with markers no output will
//! contain. The shell starts no program of its own: each one costs the host
//! about a millisecond.
//!
//! Only requests that ask for it ([`crate::ExecRequest::reuse_shell`]) come
//! here, and never ones with standard input (the shell's own input carries
//! the commands).

use std::fmt::Write as _;

use russh::ChannelMsg;
use russh::client::Msg;

use crate::exec::{ExecOutput, quote};

/// Why the shell could not run a command.
pub(crate) enum ShellError {
    /// The shell could not start or take the command; the command did not run.
    Unavailable(String),
    /// The shell died after the command was sent; it may have run.
    Lost(String),
}

/// The shell's channel and what it has sent that is not read yet.
pub(crate) struct PersistentShell {
    channel: russh::Channel<Msg>,
    pending: Vec<u8>,
    /// What arrived on the standard error stream and is not read yet.
    pending_errors: Vec<u8>,
    marker: String,
    counter: u64,
}

/// The most bytes of commands sent inside the `exec` request that starts
/// the shell; more goes through the shell's input after it starts.
/// OpenSSH takes packets of up to 256 KiB.
const EXEC_REQUEST_LIMIT: usize = 32 * 1024;

/// What the shell prints once it has started, before any command's output.
const READY: &str = "__drover_ready__";

/// The `signal` of a command the shell did not run because a change sent
/// ahead of it in the same flight failed (see [`PersistentShell::run`]).
pub(crate) const HALTED: &str = "not run: a change before it failed";

impl PersistentShell {
    /// Starts `sh` on `channel` and runs `commands` in it, returning their
    /// outputs.
    ///
    /// OpenSSH opens a session channel with no room for data until its
    /// `exec` request has been handled, so input sent with the request
    /// waits a round trip. The first commands therefore travel inside the
    /// request itself: `sh` runs them, then replaces itself with the
    /// long-lived shell that reads the rest from its input. Starting the
    /// shell costs no round trip of its own.
    ///
    /// Without `inline`, the request is a plain `exec /bin/sh` that any
    /// login shell parses, and the commands go on the shell's input, a
    /// round trip later.
    pub(crate) async fn start(
        channel: russh::Channel<Msg>,
        commands: &[&str],
        guarded: usize,
        inline: bool,
    ) -> Result<(Self, Vec<ExecOutput>), ShellError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        let mut shell = Self {
            channel,
            pending: Vec::new(),
            pending_errors: Vec::new(),
            marker: format!("__drover_{}_{nanos}_", std::process::id()),
            counter: 0,
        };
        let (script, marks) = shell.frame(commands, guarded);
        let inline = inline && script.len() <= EXEC_REQUEST_LIMIT;
        let request = if inline {
            format!(
                "exec /bin/sh -c {}",
                quote(&format!("echo {READY}\n{script}exec /bin/sh"))
            )
        } else {
            "exec /bin/sh".to_owned()
        };
        shell
            .channel
            .exec(true, request)
            .await
            .map_err(|error| ShellError::Unavailable(error.to_string()))?;
        if !inline {
            shell
                .send(&format!("echo {READY}\n{script}"))
                .await
                .map_err(ShellError::Unavailable)?;
        }
        shell.await_start().await?;
        let outputs = shell.collect(&marks).await?;
        Ok((shell, outputs))
    }

    /// Reads the shell's `READY`. Anything before it (a login script's
    /// greeting) is dropped: the framing of each command does not depend on
    /// it. A shell that ends before saying it is ready never ran the
    /// commands sent with it.
    async fn await_start(&mut self) -> Result<(), ShellError> {
        let greeting = self
            .read_until(format!("{READY}\n").as_bytes())
            .await
            .map_err(ShellError::Unavailable)?;
        if !greeting.is_empty() {
            tracing::debug!(
                bytes = greeting.len(),
                "the shell printed something before starting; ignored"
            );
        }
        Ok(())
    }

    async fn send(&self, text: &str) -> Result<(), String> {
        self.channel
            .data_bytes(bytes::Bytes::copy_from_slice(text.as_bytes()))
            .await
            .map_err(|error| error.to_string())
    }

    /// Reads until `delimiter` on standard output (or, with `errors`,
    /// standard error); returns what came before it.
    async fn read_until_in(&mut self, delimiter: &[u8], errors: bool) -> Result<Vec<u8>, String> {
        let mut searched = 0;
        loop {
            let buffer = if errors {
                &mut self.pending_errors
            } else {
                &mut self.pending
            };
            if let Some(offset) = buffer[searched..]
                .windows(delimiter.len())
                .position(|window| window == delimiter)
            {
                let end = searched + offset;
                let before: Vec<u8> = buffer.drain(..end + delimiter.len()).take(end).collect();
                return Ok(before);
            }
            searched = buffer.len().saturating_sub(delimiter.len());
            match self.channel.wait().await {
                Some(ChannelMsg::Data { data }) => self.pending.extend_from_slice(&data),
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                    self.pending_errors.extend_from_slice(&data);
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    return Err(format!("the shell exited with {exit_status}"));
                }
                Some(_) => {}
                None => return Err("the shell's channel closed".to_owned()),
            }
        }
    }

    /// Reads until `delimiter` on standard output.
    async fn read_until(&mut self, delimiter: &[u8]) -> Result<Vec<u8>, String> {
        self.read_until_in(delimiter, false).await
    }

    /// Runs `commands` (complete shell command lines), one after the other,
    /// sent together in one flight, and collects each one's output.
    ///
    /// The first `guarded` of them are changes sent ahead of their results
    /// (see `deferred.rs`): once one of those fails, no later command of
    /// the flight runs, and each reports [`HALTED`].
    pub(crate) async fn run(
        &mut self,
        commands: &[&str],
        guarded: usize,
    ) -> Result<Vec<ExecOutput>, ShellError> {
        let (script, marks) = self.frame(commands, guarded);
        self.send(&script).await.map_err(ShellError::Unavailable)?;
        self.collect(&marks).await
    }

    /// The script running `commands`, each framed on its own, and each
    /// one's marker.
    ///
    /// A command's output streams straight to the channel, then a newline
    /// and the marker with the status; its errors go to the channel's error
    /// stream, ended by a marker there. The controller strips the newline
    /// each marker adds. Each command runs in a subshell of its own, so that
    /// neither `exit` nor a syntax error ends more than the command, and
    /// without the framing's variables.
    ///
    /// With `guarded` changes first, the flight keeps a flag, `h`: a
    /// guarded command that fails sets it, and every command checks it
    /// first, reporting the status `-` instead of running.
    fn frame(&mut self, commands: &[&str], guarded: usize) -> (String, Vec<String>) {
        let mut script = String::new();
        let mut marks = Vec::new();
        if guarded > 0 {
            script.push_str("h=\n");
        }
        for (index, command) in commands.iter().enumerate() {
            self.counter += 1;
            let mark = format!("{}{}", self.marker, self.counter);
            let command = quote(command);
            let run = if guarded == 0 {
                format!("(unset r; eval {command}) </dev/null; r=$?")
            } else {
                format!(
                    "if [ -n \"$h\" ]; then r=-; else (unset r h; eval {command}) </dev/null; r=$?; fi"
                )
            };
            let halt = if index < guarded {
                "; [ \"$r\" = 0 ] || [ \"$r\" = - ] || h=1"
            } else {
                ""
            };
            let _ = writeln!(
                script,
                "{run}{halt}; printf '\\n{mark} %s\\n' \"$r\"; printf '\\n{mark}E\\n' >&2"
            );
            marks.push(mark);
        }
        (script, marks)
    }

    /// Reads the outputs of the commands framed with `marks`, in order.
    async fn collect(&mut self, marks: &[String]) -> Result<Vec<ExecOutput>, ShellError> {
        let mut outputs = Vec::with_capacity(marks.len());
        for mark in marks {
            let stdout = self
                .read_until(format!("\n{mark} ").as_bytes())
                .await
                .map_err(ShellError::Lost)?;
            let status = self.read_until(b"\n").await.map_err(ShellError::Lost)?;
            let stderr = self
                .read_until_in(format!("\n{mark}E\n").as_bytes(), true)
                .await
                .map_err(ShellError::Lost)?;
            let status = String::from_utf8_lossy(&status).trim().to_owned();
            outputs.push(ExecOutput {
                exit_status: status.parse::<u32>().ok(),
                signal: (status == "-").then(|| HALTED.to_owned()),
                stdout,
                stderr,
                timed_out: false,
            });
        }
        Ok(outputs)
    }

    /// Ends the shell.
    pub(crate) async fn close(self) {
        let _ = self.send("exit 0\n").await;
        let _ = self.channel.eof().await;
    }
}
