//! Helpers for tests against a real server: a relay that can cut clients off and expire their
//! sessions, the server's list of watches, and the failover ensemble's members. Not for
//! production use.

mod ensemble;

pub use ensemble::Ensemble;

use std::time::Duration;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use zczk_core::store::{Code, OpKind, Store, StoreError};
use zookeeper_client as zk;

use crate::store::ZkStore;

/// The address of the real server tests run against (`ZCZK_TEST_ZOOKEEPER`, which
/// `.ci/zookeeper-server` sets). Such tests are ignored unless asked for (see
/// [`needs_real_server!`]); one that is asked for without the address panics naming `test`, so
/// it can never pass without having run.
pub fn real_server_address(test: &str) -> String {
    match std::env::var("ZCZK_TEST_ZOOKEEPER") {
        Ok(address) if !address.trim().is_empty() => address,
        _ => panic!(
            "{test} needs a real ZooKeeper, and ZCZK_TEST_ZOOKEEPER is not set: \
             run it under .ci/zookeeper-server"
        ),
    }
}

/// Marks the test function it wraps (attributes and all) as needing the real server: cargo
/// reports it as ignored, so a run without a server never counts it as passed. Run such tests
/// with `.ci/zookeeper-server cargo test -- --include-ignored`.
#[macro_export]
macro_rules! needs_real_server {
    ($($test:tt)*) => {
        #[ignore = "needs a real ZooKeeper: ZCZK_TEST_ZOOKEEPER (see .ci/zookeeper-server) and --include-ignored"]
        $($test)*
    };
}

/// Marks the test function it wraps as needing the 3-server ensemble of
/// `.ci/zookeeper-ensemble` (see [`Ensemble::from_env`]): ignored unless asked for, as
/// [`needs_real_server!`].
#[macro_export]
macro_rules! needs_ensemble {
    ($($test:tt)*) => {
        #[ignore = "needs a ZooKeeper ensemble: ZCZK_TEST_ENSEMBLE (see .ci/zookeeper-ensemble) and --include-ignored"]
        $($test)*
    };
}

/// Marks the test function it wraps as starting a ZooKeeper of its own from the Debian
/// package's jar: ignored unless asked for, as [`needs_real_server!`].
#[macro_export]
macro_rules! needs_zookeeper_jar {
    ($($test:tt)*) => {
        #[ignore = "starts Apache ZooKeeper (apt-get install zookeeper): run with --include-ignored"]
        $($test)*
    };
}

/// Turns each `async fn case(server: String)` into a test `case::zookeeper` that runs it on the
/// real server (see [`real_server_address`]), ignored unless asked for ([`needs_real_server!`]).
#[macro_export]
macro_rules! real_server_tests {
    ($($case:ident),+ $(,)?) => {$(
        mod $case {
            $crate::needs_real_server! {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn zookeeper() {
                    let test = concat!(module_path!(), "::zookeeper");
                    super::$case($crate::testing::real_server_address(test)).await;
                }
            }
        }
    )+};
}

/// How long [`Relay::expire`] waits for each step: the close to be answered, then the store
/// to be told its session expired.
const EXPIRY_WAIT: Duration = Duration::from_secs(10);

/// The servers part of a connection string (without the chroot).
fn servers(connection_string: &str) -> &str {
    connection_string.split_once('/').map_or(connection_string, |(servers, _)| servers)
}

/// A TCP relay on a free loopback port in front of a real server. Clients that connect to
/// [`Relay::address`] reach the server through it, and a test can cut one session off as a
/// broken network would: [`Relay::cut`] closes that session's connections and refuses its
/// reconnections until [`Relay::restore`]; other sessions go on. Dropping the relay closes
/// everything it carries.
///
/// The relay reads the session id from each connection's handshake (the client's connect
/// request names the session it resumes, the server's response the session it got); all
/// other bytes pass through untouched.
#[derive(Debug)]
pub struct Relay {
    address: SocketAddr,
    server: String,
    shared: Arc<RelayState>,
    accepting: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct RelayState {
    /// Sessions cut off; `None` once the relay is dropped (everything is cut).
    cut: Mutex<Option<HashSet<i64>>>,
    /// Bumped on every cut: each relayed connection then checks whether it is one.
    cuts: watch::Sender<u64>,
}

impl RelayState {
    fn is_cut(&self, session: i64) -> bool {
        self.cut.lock().as_ref().map_or(true, |cut| cut.contains(&session))
    }
}

/// The largest handshake frame the relay reads (a connect request or response is tiny).
const MAX_HANDSHAKE: usize = 4096;

impl Relay {
    /// Starts relaying to `server` (`host:port`; a chroot after it is ignored).
    pub async fn start(server: &str) -> std::io::Result<Relay> {
        let server = servers(server).to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let cut = Mutex::new(Some(HashSet::new()));
        let shared = Arc::new(RelayState { cut, cuts: watch::channel(0).0 });
        let accepting = tokio::spawn(accept(listener, server.clone(), Arc::clone(&shared)));
        Ok(Relay { address, server, shared, accepting })
    }

    /// Where clients connect (`127.0.0.1:PORT`), to be followed by a chroot if wanted.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Closes the connections of session `session` and refuses its reconnections.
    pub fn cut(&self, session: i64) {
        if let Some(cut) = self.shared.cut.lock().as_mut() {
            cut.insert(session);
        }
        self.shared.cuts.send_modify(|n| *n += 1);
    }

    /// Lets session `session` connect again.
    pub fn restore(&self, session: i64) {
        if let Some(cut) = self.shared.cut.lock().as_mut() {
            cut.remove(&session);
        }
    }

    /// Takes the session of `store` (a client connected through this relay) away from it, as
    /// an outage longer than the session timeout does when the server comes back with its
    /// data: `store` is cut off until its client gives the session up and says `Expired`
    /// (zookeeper-client does after 7/5 of the session timeout without an answer), while a
    /// second connection straight to the server keeps the session, and so its ephemerals,
    /// alive. Returns once `store` has seen `Expired`; the session lives on until
    /// [`HeldSession::end`].
    pub async fn hold(&self, store: &ZkStore) -> Result<HeldSession, StoreError> {
        let id = store.session_id();
        let failed = |what: String| {
            StoreError::new(Code::ConnectionLoss, OpKind::Connect, self.server.as_str())
                .with_detail(format!("could not hold session {id:#x}: {what}"))
        };
        let mut state = store.session_state();
        let client = match self.take_over(store).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(failed(format!("joining it from a second connection: {e}"))),
            Err(_) => return Err(failed("joining it from a second connection took too long".into())),
        };
        let held = HeldSession { client, id, server: self.server.clone() };
        let given_up = tokio::time::timeout(store.session_timeout() * 3, state.wait_for(|s| s.is_terminal()))
            .await
            .is_ok_and(|r| r.is_ok());
        // The client is done with the session: letting it back changes nothing.
        self.restore(id);
        if given_up {
            Ok(held)
        } else {
            Err(failed(format!("its client still says {:?}", *state.borrow())))
        }
    }

    /// Cuts the session of `store` off and joins it from a second connection straight to the
    /// server, with its id and password: what [`Relay::hold`] and [`Relay::expire`] both start
    /// with. `Err(_)` when joining took longer than [`EXPIRY_WAIT`].
    async fn take_over(
        &self,
        store: &ZkStore,
    ) -> Result<Result<zk::Client, zk::Error>, tokio::time::error::Elapsed> {
        self.cut(store.session_id());
        let joined = zk::Client::connector()
            .with_session(store.session_info().clone())
            .with_session_timeout(store.session_timeout())
            .connect(&self.server);
        tokio::time::timeout(EXPIRY_WAIT, joined).await
    }

    /// Makes the session of `store` (a client connected through this relay) expire, as the
    /// server does when a client stops answering: its ephemerals are deleted, other sessions'
    /// watches fire, and `store` sees `Expired`. Returns once it has.
    ///
    /// With the session cut off, `store` cannot reach the server, so a second connection
    /// straight to the server can take over the session (with its id and password) and close
    /// it without a race; then `store` may reconnect, and is told the session expired.
    pub async fn expire(&self, store: &ZkStore) -> Result<(), StoreError> {
        let id = store.session_id();
        let failed = |what: String| {
            StoreError::new(Code::ConnectionLoss, OpKind::Close, self.server.as_str())
                .with_detail(format!("could not expire session {id:#x}: {what}"))
        };
        let mut state = store.session_state();
        let outcome = match self.take_over(store).await {
            Ok(Ok(other)) => {
                let mut joined = other.state_watcher();
                // Dropping the only handle sends CloseSession, answered before the state ends.
                drop(other);
                let closed = async { while !joined.changed().await.is_terminated() {} };
                tokio::time::timeout(EXPIRY_WAIT, closed)
                    .await
                    .map_err(|_| failed("closing it from a second connection took too long".into()))
            }
            // Already gone: `store` is told so when it reconnects.
            Ok(Err(zk::Error::SessionExpired)) => Ok(()),
            Ok(Err(e)) => Err(failed(format!("joining it from a second connection: {e}"))),
            Err(_) => Err(failed("joining it from a second connection took too long".into())),
        };
        self.restore(id);
        outcome?;
        let ended = tokio::time::timeout(EXPIRY_WAIT, state.wait_for(|s| s.is_terminal())).await;
        if ended.is_ok_and(|r| r.is_ok()) {
            return Ok(());
        }
        let now = *state.borrow();
        Err(failed(format!("the session was closed, but its store still says {now:?}")))
    }
}

/// A session taken from its client by [`Relay::hold`]: the server keeps it alive, with its
/// ephemerals, until [`HeldSession::end`] (or until it is dropped).
#[derive(Debug)]
pub struct HeldSession {
    client: zk::Client,
    id: i64,
    server: String,
}

impl HeldSession {
    /// The held session's id.
    pub fn session_id(&self) -> i64 {
        self.id
    }

    /// Ends the session on the server (its ephemerals are deleted and other sessions' watches
    /// fire), as its timeout running out would. Returns once the server has answered.
    pub async fn end(self) -> Result<(), StoreError> {
        let mut state = self.client.state_watcher();
        // Dropping the only handle sends CloseSession, answered before the state ends.
        drop(self.client);
        let closed = async { while !state.changed().await.is_terminated() {} };
        tokio::time::timeout(EXPIRY_WAIT, closed).await.map_err(|_| {
            StoreError::new(Code::ConnectionLoss, OpKind::Close, self.server.as_str())
                .with_detail(format!("could not end held session {:#x}: no answer", self.id))
        })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accepting.abort();
        *self.shared.cut.lock() = None;
        self.shared.cuts.send_modify(|n| *n += 1);
    }
}

/// Accepts clients and relays each in a task of its own.
async fn accept(listener: TcpListener, server: String, shared: Arc<RelayState>) {
    while let Ok((client, _)) = listener.accept().await {
        tokio::spawn(relay(client, server.clone(), Arc::clone(&shared)));
    }
}

/// Relays one connection until either side closes it or its session is cut. Any failure just
/// closes it: the client sees a lost connection, as it would on a real network.
async fn relay(mut client: TcpStream, server: String, shared: Arc<RelayState>) -> std::io::Result<()> {
    let mut cuts = shared.cuts.subscribe();
    // Connect request: protocolVersion (4 bytes), lastZxidSeen (8), timeOut (4), sessionId (8).
    let request = read_frame(&mut client).await?;
    let asked = session_id_at(&request, 4 + 8 + 4);
    if asked != 0 && shared.is_cut(asked) {
        return Ok(());
    }
    let mut upstream = TcpStream::connect(&server).await?;
    upstream.write_all(&request).await?;
    // Connect response: protocolVersion (4 bytes), timeOut (4), sessionId (8).
    let response = read_frame(&mut upstream).await?;
    let session = session_id_at(&response, 4 + 4);
    if shared.is_cut(session) {
        return Ok(());
    }
    client.write_all(&response).await?;
    let copy = tokio::io::copy_bidirectional(&mut client, &mut upstream);
    tokio::pin!(copy);
    loop {
        tokio::select! {
            _ = &mut copy => return Ok(()),
            changed = cuts.changed() => if changed.is_err() || shared.is_cut(session) {
                return Ok(());
            },
        }
    }
}

/// One length-prefixed frame, the 4-byte length included.
async fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut length = [0u8; 4];
    stream.read_exact(&mut length).await?;
    let n = usize::try_from(i32::from_be_bytes(length)).unwrap_or(usize::MAX);
    if n > MAX_HANDSHAKE {
        return Err(std::io::Error::other(format!("a handshake frame of {n} bytes")));
    }
    let mut frame = vec![0u8; 4 + n];
    frame[..4].copy_from_slice(&length);
    stream.read_exact(&mut frame[4..]).await?;
    Ok(frame)
}

/// The big-endian i64 at `offset` of a frame's body (0 when the frame is too short).
fn session_id_at(frame: &[u8], offset: usize) -> i64 {
    let at = 4 + offset;
    frame.get(at..at + 8).and_then(|b| b.try_into().ok()).map_or(0, i64::from_be_bytes)
}

/// One watch the server holds: the (server, not chrooted) path and the session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerWatch {
    /// The watched path, as the server knows it (with the chroot).
    pub path: String,
    /// The session that set the watch.
    pub session_id: i64,
}

/// The watches the server at `server` (`host:port`) holds, by its `wchp` command (needs
/// `4lw.commands.whitelist` to allow it). Persistent watches are listed too.
pub async fn server_watches(server: &str) -> std::io::Result<Vec<ServerWatch>> {
    let text = four_letter_word(servers(server), "wchp").await?;
    let mut watches = Vec::new();
    let mut path = None;
    for line in text.lines() {
        if line.starts_with('/') {
            path = Some(line.trim().to_string());
        } else if let (Some(path), Some(id)) = (&path, line.trim().strip_prefix("0x")) {
            if let Ok(session_id) = u64::from_str_radix(id, 16) {
                // Session ids are printed unsigned; ours are ZooKeeper's signed longs.
                watches.push(ServerWatch { path: path.clone(), session_id: session_id as i64 });
            }
        }
    }
    Ok(watches)
}

/// Sends a four-letter-word command and returns the server's whole answer.
pub async fn four_letter_word(server: &str, word: &str) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(server).await?;
    stream.write_all(word.as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    if answer.contains("is not executed because it is not in the whitelist") {
        return Err(std::io::Error::other(answer.trim().to_string()));
    }
    Ok(answer)
}
