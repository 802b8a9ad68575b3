//! The listening server: accepts connections, each served by [`conn`], and keeps the
//! sessions its clients hold ([`Shared`]), so a client that reconnects (to this same server)
//! with its session id and password resumes it.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::conn;
use super::shared::{Sessions, Shared};
use crate::emulator::Emulator;

/// ZooKeeper's default `maxClientCnxns`: connections one client address may hold at once.
pub const DEFAULT_MAX_CLIENT_CNXNS: usize = 60;

/// Who may use the control words (`sess`, `expi`, `drop`), which list, expire and drop
/// other clients' sessions. The health words (`ruok`, `srvr`, `stat`) are always answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Control {
    /// Allowed when the server listens on a loopback address, refused otherwise. The listen
    /// address decides, not the peer's: on a server others can reach, a client's loopback
    /// address may be a local proxy or tunnel relaying anyone's connection.
    #[default]
    OnLoopback,
    /// Allowed whatever the listen address (`zczk serve --control`).
    Enabled,
    /// Always refused.
    Disabled,
}

/// How a [`Server`] admits clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerOptions {
    /// Who may use the control words.
    pub control: Control,
    /// The most connections one client address may hold at once (0: no limit), as ZooKeeper's
    /// `maxClientCnxns`: one more is closed as soon as it is accepted, with a log line.
    pub max_client_cnxns: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions { control: Control::OnLoopback, max_client_cnxns: DEFAULT_MAX_CLIENT_CNXNS }
    }
}

/// A ZooKeeper wire-protocol server over an [`Emulator`], bound but not yet serving.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let server = zczk_emulator::wire::Server::bind("127.0.0.1:0", zczk_emulator::Emulator::new()).await?;
/// println!("{}", server.local_addr());
/// let handle = server.spawn();
/// // ... point any ZooKeeper client at handle.local_addr() ...
/// handle.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("local_addr", &self.listener.local_addr().ok()).finish()
    }
}

impl Server {
    /// Listens on `addr` (port 0 picks a free port) for clients of `emulator`, with the
    /// default [`ServerOptions`].
    pub async fn bind(addr: impl ToSocketAddrs, emulator: Emulator) -> io::Result<Server> {
        Server::bind_with(addr, emulator, ServerOptions::default()).await
    }

    /// Listens on `addr` (port 0 picks a free port) for clients of `emulator`.
    pub async fn bind_with(
        addr: impl ToSocketAddrs,
        emulator: Emulator,
        options: ServerOptions,
    ) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        Server::on_listener(listener, emulator, options, Sessions::default(), None)
    }

    /// A server on `listener`, keeping its clients' sessions in `sessions`; `member` when it
    /// is a member of an ensemble.
    pub(crate) fn on_listener(
        listener: TcpListener,
        emulator: Emulator,
        options: ServerOptions,
        sessions: Sessions,
        member: Option<crate::ensemble::Seat>,
    ) -> io::Result<Server> {
        let control = match options.control {
            Control::OnLoopback => listener.local_addr()?.ip().to_canonical().is_loopback(),
            Control::Enabled => true,
            Control::Disabled => false,
        };
        // Sessions read from a file expire unless their clients come back in time.
        emulator.arm_restored();
        let (shutdown, shutdown_rx) = watch::channel(false);
        // As a real server: a frame longer than jute.maxbuffer closes the connection, whatever
        // the request (see `crate::limits`).
        let max_frame = emulator.config().max_request_bytes;
        let shared = Arc::new(Shared::new(
            emulator,
            sessions,
            member,
            max_frame,
            shutdown_rx,
            control,
            options.max_client_cnxns,
        ));
        Ok(Server { listener, shared, shutdown })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The emulator the server serves.
    pub fn emulator(&self) -> &Emulator {
        &self.shared.emulator
    }

    /// Serves until `shutdown` completes; then stops accepting and closes every connection
    /// (their sessions are disconnected, as when a real server stops).
    pub async fn run_until(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let Some(admission) = self.shared.admit(peer) else {
                            // As ZooKeeper: a log line, and the socket is closed unanswered.
                            tracing::warn!(%peer, max = self.shared.max_client_cnxns, "too many connections from one address; closing");
                            continue;
                        };
                        let shared = self.shared.clone();
                        tokio::spawn(async move {
                            conn::serve(shared, stream, peer).await;
                            drop(admission);
                        });
                    }
                    Err(error) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        let _ = self.shutdown.send(true);
    }

    /// Serves in a background task until [`ServerHandle::shutdown`] (or the handle is dropped).
    pub fn spawn(self) -> ServerHandle {
        let local_addr = self.local_addr();
        let emulator = self.shared.emulator.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(self.run_until(async move {
            let _ = stopped.await;
        }));
        ServerHandle { local_addr, emulator, stop: Some(stop), task: Some(task) }
    }
}

/// A server running in the background; dropping it stops the server.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    emulator: Emulator,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The emulator the server serves: inspect it, or inject faults into the sessions of
    /// wire clients (`emulator().faults(id)`: `disconnect` drops the client's connection,
    /// `expire` ends its session).
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Stops accepting, closes every connection, and waits until the listener is closed.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a wire-protocol server for `emulator` on `addr` in the background (see [`Server`]),
/// with the default [`ServerOptions`].
pub async fn serve(addr: impl ToSocketAddrs, emulator: Emulator) -> io::Result<ServerHandle> {
    Ok(Server::bind(addr, emulator).await?.spawn())
}

/// Starts a wire-protocol server for `emulator` on `addr` in the background, admitting clients
/// as `options` say.
pub async fn serve_with(
    addr: impl ToSocketAddrs,
    emulator: Emulator,
    options: ServerOptions,
) -> io::Result<ServerHandle> {
    Ok(Server::bind_with(addr, emulator, options).await?.spawn())
}
