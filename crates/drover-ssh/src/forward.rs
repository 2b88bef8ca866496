//! A port on the host that leads back to the controller: the SSH server
//! listens on its loopback address (`tcpip-forward`) and every connection
//! made to it arrives here as a channel of the host's one connection. On
//! the local transport the port is a plain listener on this machine.
//!
//! drover serves container images through it (see `drover-modules`'
//! `registry`): the host's engine pulls from `127.0.0.1:PORT` as from a
//! registry, and only the layers it lacks cross the connection.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::ssh::SshConnection;

/// A byte stream opened by the host towards the controller.
pub trait Tunnel: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Tunnel for T {}

/// One connection made to a forwarded port.
pub type ForwardedStream = Box<dyn Tunnel>;

/// A forwarded port, open until dropped.
pub struct Forward {
    /// The port on the host's loopback address.
    pub port: u16,
    incoming: UnboundedReceiver<ForwardedStream>,
    closer: Option<Closer>,
}

impl std::fmt::Debug for Forward {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Forward")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

enum Closer {
    Ssh(Arc<SshConnection>),
    Local(tokio::task::JoinHandle<()>),
}

impl Forward {
    pub(crate) fn over_ssh(
        port: u16,
        incoming: UnboundedReceiver<ForwardedStream>,
        connection: Arc<SshConnection>,
    ) -> Self {
        Self {
            port,
            incoming,
            closer: Some(Closer::Ssh(connection)),
        }
    }

    /// A listener on this machine's loopback address, for the local transport.
    pub(crate) async fn local() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let (sender, incoming) = tokio::sync::mpsc::unbounded_channel();
        let accepting = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                if sender.send(Box::new(stream) as ForwardedStream).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            port,
            incoming,
            closer: Some(Closer::Local(accepting)),
        })
    }

    /// The next connection the host makes to the port; `None` once the
    /// connection to the host is gone.
    pub async fn accept(&mut self) -> Option<ForwardedStream> {
        self.incoming.recv().await
    }

    /// Stops forwarding: the host's port closes.
    pub async fn close(mut self) {
        match self.closer.take() {
            Some(Closer::Ssh(connection)) => connection.cancel_forward(self.port).await,
            Some(Closer::Local(accepting)) => accepting.abort(),
            None => {}
        }
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        match self.closer.take() {
            Some(Closer::Ssh(connection)) => {
                let port = self.port;
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move { connection.cancel_forward(port).await });
                }
            }
            Some(Closer::Local(accepting)) => accepting.abort(),
            None => {}
        }
    }
}
