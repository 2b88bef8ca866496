//! drover's transport.
//!
//! Each host gets one [`HostSession`]. Over SSH it holds one persistent
//! russh connection, opened lazily, on which every command gets its own
//! session channel, so no command pays for a second handshake. Host keys are
//! verified against known_hosts by default ([`HostKeyPolicy`]). The local
//! transport runs the same [`ExecRequest`]s through `/bin/sh`.
//!
//! ```no_run
//! # async fn example() -> Result<(), drover_ssh::Error> {
//! use std::sync::Arc;
//! use drover_ssh::{ExecRequest, HostSession, Transport};
//!
//! let session = HostSession::new(Transport::Local, drover_ssh::Handshakes::default());
//! let output = session.exec(&ExecRequest::new("uname -s")).await?;
//! assert!(output.success());
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod arguments;
mod deferred;
mod error;
mod exec;
mod forward;
mod handshakes;
mod host_keys;
mod local;
mod quickack;
mod read_ahead;
mod session;
mod settings;
mod shell;
mod ssh;

pub use arguments::SshArguments;
pub use deferred::{DeferredFailure, Failure};
pub use error::Error;
pub use exec::{Become, BecomeMethod, ExecOutput, ExecRequest, Secret, quote};
pub use forward::{Forward, ForwardedStream, Tunnel};
pub use handshakes::{HANDSHAKES_IN_FLIGHT, Handshakes};
pub use host_keys::{HostKeyCheck, HostKeyPolicy, default_known_hosts};
pub use read_ahead::{BuildRider, Rider, SplitAnswers, Touched};
pub use session::{HostSession, Transport, UploadOptions, upload_request};
pub use settings::{ConnectionDefaults, become_for, expand_home, transport_for};
pub use ssh::{SshConnection, SshSettings};

/// The names that mean this machine, as Ansible treats them.
pub const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
