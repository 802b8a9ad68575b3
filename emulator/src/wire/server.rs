//! The listening server: accepts connections and keeps the sessions its clients hold, so a
//! client that reconnects (to this same server) with its session id and password resumes it.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use zczk_core::store::{SessionState, Store};

use super::conn;
use super::proto::{ConnectRequest, PASSWORD_LEN};
use crate::emulator::Emulator;
use crate::session::{Session, SessionOptions};

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

/// What the four-letter words show of a connection that holds a session.
pub(crate) struct ConnStats {
    /// The client's address.
    pub peer: SocketAddr,
    /// When the connection got its session (ms since the epoch).
    pub established_ms: i64,
    /// Requests received.
    pub received: AtomicU64,
    /// Replies and notifications sent.
    pub sent: AtomicU64,
}

impl ConnStats {
    fn new(peer: SocketAddr) -> Arc<ConnStats> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        Arc::new(ConnStats {
            peer,
            established_ms: now.map_or(0, |d| d.as_millis() as i64),
            // The connect request and its response.
            received: AtomicU64::new(1),
            sent: AtomicU64::new(1),
        })
    }
}

/// A session some client holds over the wire.
pub(crate) struct Slot {
    pub session: Arc<Session>,
    /// The connection it is attached to (0: none).
    pub conn: u64,
    /// That connection's figures.
    pub stats: Arc<ConnStats>,
    /// Tells that connection to go when another takes the session over.
    pub(crate) kick: Option<oneshot::Sender<()>>,
    /// The ensemble member that connection is on (0 for a lone server).
    pub member: usize,
}

/// The sessions wire clients hold, by id: one server's, or an ensemble's (which all its
/// members share, so a client resumes its session on any member).
pub(crate) type Sessions = Arc<Mutex<HashMap<i64, Slot>>>;

/// Numbers connections, unique across every server in the process (an ensemble's members
/// share their sessions, and a session's slot names its connection).
static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// What the listener and its connections share.
pub(crate) struct Shared {
    pub emulator: Emulator,
    pub sessions: Sessions,
    /// The largest frame a client may send.
    pub max_frame: usize,
    pub shutdown: watch::Receiver<bool>,
    /// The ensemble member this server is, if it is one.
    pub member: Option<crate::ensemble::Seat>,
    /// Whether the control words are answered.
    pub control: bool,
    /// See [`ServerOptions::max_client_cnxns`].
    max_client_cnxns: usize,
    /// Open connections per client address.
    cnxns: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection counted against its client address's cap until dropped.
struct Admission {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut cnxns = self.shared.cnxns.lock();
        if let Some(count) = cnxns.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                cnxns.remove(&self.ip);
            }
        }
    }
}

/// A connection's claim on its session.
pub(crate) struct Attached {
    pub session: Arc<Session>,
    pub conn: u64,
    pub stats: Arc<ConnStats>,
    pub kicked: oneshot::Receiver<()>,
    pub password: [u8; PASSWORD_LEN],
    /// The server serves reads only (an ensemble member cut off from its quorum).
    pub read_only: bool,
}

/// The answer to a connect request.
pub(crate) enum Attach {
    /// The session is this connection's.
    Session(Attached),
    /// The session is gone (expired, closed, unknown, or the password is wrong).
    Expired,
    /// The server takes no connections now.
    Refused(&'static str),
}

impl Shared {
    /// Counts a new connection from `peer`, or `None` when its address is at the cap.
    fn admit(self: &Arc<Self>, peer: SocketAddr) -> Option<Admission> {
        let ip = peer.ip().to_canonical();
        let mut cnxns = self.cnxns.lock();
        let count = cnxns.entry(ip).or_insert(0);
        if self.max_client_cnxns != 0 && *count >= self.max_client_cnxns {
            return None;
        }
        *count += 1;
        Some(Admission { shared: self.clone(), ip })
    }

    /// The session's password: a keyed hash of its id, with the emulator's session key (which
    /// a `file:` emulator keeps, so passwords still hold after a restart).
    fn password(&self, session: i64) -> [u8; PASSWORD_LEN] {
        use sha1::Digest as _;
        let mut hash = sha1::Sha1::new();
        hash.update(self.emulator.session_key().to_be_bytes());
        hash.update(session.to_be_bytes());
        let digest = hash.finalize();
        let mut out = [0; PASSWORD_LEN];
        out.copy_from_slice(&digest[..PASSWORD_LEN]);
        out
    }

    /// Opens or resumes the session a connect request asks for.
    pub fn attach(self: &Arc<Self>, request: &ConnectRequest, peer: SocketAddr) -> Attach {
        if self.emulator.refuses_connections() {
            return Attach::Refused("the emulator refuses connections");
        }
        if let Some(member) = &self.member {
            if let Err(why) = member.admits(request.read_only) {
                return Attach::Refused(why);
            }
        }
        let member = self.member.as_ref().map_or(0, crate::ensemble::Seat::number);
        let read_only = self.member.as_ref().is_some_and(crate::ensemble::Seat::read_only);
        if request.last_zxid_seen > self.emulator.last_zxid() {
            // A client that saw a later zxid talked to another server; this one is behind.
            return Attach::Refused("the client has seen a zxid this server has not reached");
        }
        let conn = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
        let (kick, kicked) = oneshot::channel();
        if request.session_id == 0 {
            let options = SessionOptions {
                timeout: Duration::from_millis(request.timeout_ms.max(0) as u64),
                client_address: peer.ip().to_string(),
            };
            let session = Arc::new(self.emulator.session_with(&options));
            let id = session.id();
            let stats = ConnStats::new(peer);
            let slot =
                Slot { session: session.clone(), conn, stats: stats.clone(), kick: Some(kick), member };
            self.sessions.lock().insert(id, slot);
            self.reap_when_ended(&session);
            let password = self.password(id);
            return Attach::Session(Attached { session, conn, stats, kicked, password, read_only });
        }
        let password = self.password(request.session_id);
        if request.password != password {
            tracing::info!(session = format_args!("{:#x}", request.session_id), "wrong session password");
            return Attach::Expired;
        }
        let mut sessions = self.sessions.lock();
        let slot = match sessions.entry(request.session_id) {
            Entry::Occupied(slot) => slot.into_mut(),
            // A session read from the emulator's file, whose client comes back after a restart.
            Entry::Vacant(vacant) => {
                let Some(session) = self.emulator.adopt(request.session_id) else {
                    return Attach::Expired;
                };
                let session = Arc::new(session);
                self.reap_when_ended(&session);
                vacant.insert(Slot { session, conn: 0, stats: ConnStats::new(peer), kick: None, member })
            }
        };
        let state = *slot.session.session_state().borrow();
        match state {
            SessionState::Connected => {
                // The session moves to the new connection; the old one is closed.
                if let Some(old) = slot.kick.take() {
                    let _ = old.send(());
                }
            }
            SessionState::Disconnected => slot.session.faults().reconnect(),
            SessionState::Expired | SessionState::Closed | SessionState::AuthFailed => {
                return Attach::Expired
            }
        }
        if *slot.session.session_state().borrow() != SessionState::Connected {
            return Attach::Expired;
        }
        slot.conn = conn;
        slot.kick = Some(kick);
        slot.member = member;
        slot.stats = ConnStats::new(peer);
        Attach::Session(Attached {
            session: slot.session.clone(),
            conn,
            stats: slot.stats.clone(),
            kicked,
            password,
            read_only,
        })
    }

    /// The connection `conn` is gone. If it still held its session, the session is
    /// disconnected (it expires unless resumed within its timeout), or expired at once when
    /// the client fell silent for the whole timeout.
    pub fn detach(&self, session: i64, conn: u64, expire: bool) {
        let mut sessions = self.sessions.lock();
        let Some(slot) = sessions.get_mut(&session) else {
            return;
        };
        if slot.conn != conn {
            return;
        }
        slot.conn = 0;
        slot.kick = None;
        let faults = slot.session.faults();
        drop(sessions);
        if expire {
            faults.expire();
        } else {
            faults.disconnect();
        }
    }

    /// Forgets a session once it has ended, so its id can no longer be resumed.
    fn reap_when_ended(self: &Arc<Self>, session: &Session) {
        let id = session.id();
        let mut state = session.session_state();
        let shared: Weak<Shared> = Arc::downgrade(self);
        tokio::spawn(async move {
            let _ = state.wait_for(|s| matches!(s, SessionState::Expired | SessionState::Closed)).await;
            if let Some(shared) = shared.upgrade() {
                shared.sessions.lock().remove(&id);
            }
        });
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
        let shared = Arc::new(Shared {
            emulator,
            sessions,
            max_frame,
            shutdown: shutdown_rx,
            member,
            control,
            max_client_cnxns: options.max_client_cnxns,
            cnxns: Mutex::new(HashMap::new()),
        });
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
