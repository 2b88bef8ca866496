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

impl PersistentShell {
    /// Starts `sh` on `channel`, with a private directory for standard error.
    pub(crate) async fn start(channel: russh::Channel<Msg>) -> Result<Self, ShellError> {
        channel
            .exec(true, "exec /bin/sh")
            .await
            .map_err(|error| ShellError::Unavailable(error.to_string()))?;
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
        shell
            .send("echo READY\n")
            .await
            .map_err(ShellError::Unavailable)?;
        let greeting = shell
            .read_until(b"READY\n")
            .await
            .map_err(ShellError::Unavailable)?;
        if !greeting.is_empty() {
            return Err(ShellError::Unavailable(format!(
                "the shell printed `{}` before starting",
                String::from_utf8_lossy(&greeting).trim()
            )));
        }
        Ok(shell)
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

    /// Runs `command` (a complete shell command line) and collects its output.
    pub(crate) async fn run(&mut self, command: &str) -> Result<ExecOutput, ShellError> {
        self.counter += 1;
        let mark = format!("{}{}", self.marker, self.counter);
        // The command's output streams straight to the channel, then a
        // newline and the marker with the status; its errors go to the
        // channel's error stream, ended by a marker there. The controller
        // strips the newline each marker adds. The command runs in a
        // subshell of its own, so that neither `exit` nor a syntax error
        // ends more than the command, and without the framing's variable.
        let framed = format!(
            "(unset r; eval {command}) </dev/null; r=$?; printf '\\n{mark} %s\\n' \"$r\"; printf '\\n{mark}E\\n' >&2\n",
            command = quote(command)
        );
        self.send(&framed).await.map_err(ShellError::Unavailable)?;
        let stdout = self
            .read_until(format!("\n{mark} ").as_bytes())
            .await
            .map_err(ShellError::Lost)?;
        let status = self.read_until(b"\n").await.map_err(ShellError::Lost)?;
        let stderr = self
            .read_until_in(format!("\n{mark}E\n").as_bytes(), true)
            .await
            .map_err(ShellError::Lost)?;
        let status = String::from_utf8_lossy(&status).trim().parse::<u32>().ok();
        Ok(ExecOutput {
            exit_status: status,
            signal: None,
            stdout,
            stderr,
            timed_out: false,
        })
    }

    /// Ends the shell.
    pub(crate) async fn close(self) {
        let _ = self.send("exit 0\n").await;
        let _ = self.channel.eof().await;
    }
}
