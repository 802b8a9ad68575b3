//! What the listener and its connections share: the emulator, the sessions that clients hold
//! over the wire (opened, resumed, taken over, let go), and the count of open connections per
//! client address.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{oneshot, watch};
use zczk_core::store::{SessionState, Store};

use super::proto::{ConnectRequest, PASSWORD_LEN};
use crate::emulator::Emulator;
use crate::session::{Session, SessionOptions};

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
    /// See [`ServerOptions::max_client_cnxns`](super::ServerOptions::max_client_cnxns).
    pub max_client_cnxns: usize,
    /// Open connections per client address.
    cnxns: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection counted against its client address's cap until dropped.
pub(crate) struct Admission {
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
    /// The state of a server for `emulator` that has no connection yet, keeping its clients'
    /// sessions in `sessions`; `member` when it is a member of an ensemble.
    pub fn new(
        emulator: Emulator,
        sessions: Sessions,
        member: Option<crate::ensemble::Seat>,
        max_frame: usize,
        shutdown: watch::Receiver<bool>,
        control: bool,
        max_client_cnxns: usize,
    ) -> Shared {
        Shared {
            emulator,
            sessions,
            max_frame,
            shutdown,
            member,
            control,
            max_client_cnxns,
            cnxns: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a new connection from `peer`, or `None` when its address is at the cap.
    pub fn admit(self: &Arc<Self>, peer: SocketAddr) -> Option<Admission> {
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
