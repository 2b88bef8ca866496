//! The local transport: the same commands, run by `/bin/sh` on this machine.
//!
//! Used for `ansible_connection=local` and for an implicit `localhost`.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::error::Error;
use crate::exec::{ExecOutput, ExecRequest};

/// Runs `request` locally.
pub(crate) async fn exec(request: &ExecRequest) -> Result<ExecOutput, Error> {
    let (command, stdin) = request.wire_form()?;
    let spawn_error = |error: std::io::Error| Error::Channel {
        address: "local".to_owned(),
        message: error.to_string(),
    };
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(&command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn_error)?;
    let mut input = child.stdin.take();
    let feed = async move {
        if let (Some(pipe), Some(data)) = (input.as_mut(), stdin) {
            // The command may exit without reading its input; that is not an error.
            let _ = pipe.write_all(&data).await;
        }
        drop(input);
    };
    let run = async {
        let ((), output) = tokio::join!(feed, child.wait_with_output());
        output
    };
    let output = match request.timeout {
        Some(limit) => match tokio::time::timeout(limit, run).await {
            Ok(output) => output.map_err(spawn_error)?,
            Err(_) => {
                return Ok(ExecOutput {
                    timed_out: true,
                    ..ExecOutput::default()
                });
            }
        },
        None => run.await.map_err(spawn_error)?,
    };
    Ok(ExecOutput {
        exit_status: output
            .status
            .code()
            .and_then(|code| u32::try_from(code).ok()),
        signal: std::os::unix::process::ExitStatusExt::signal(&output.status)
            .map(|signal| signal.to_string()),
        stdout: output.stdout,
        stderr: output.stderr,
        timed_out: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::time::Duration;

    #[tokio::test]
    async fn runs_commands_with_stdin_and_exit_codes() {
        let request = ExecRequest {
            stdin: Some(Bytes::from_static(b"hello")),
            ..ExecRequest::new("cat; echo oops >&2; exit 3")
        };
        let output = exec(&request).await.unwrap();
        assert_eq!(output.stdout, b"hello");
        assert_eq!(output.stderr, b"oops\n");
        assert_eq!(output.exit_status, Some(3));
    }

    #[tokio::test]
    async fn timeouts_cut_commands_off() {
        let request = ExecRequest {
            timeout: Some(Duration::from_millis(100)),
            ..ExecRequest::new("sleep 5")
        };
        let output = exec(&request).await.unwrap();
        assert!(output.timed_out);
        assert_eq!(output.exit_status, None);
    }
}
