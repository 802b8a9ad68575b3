//! The server: one data tree, one zxid counter, the sessions and the watches, all behind one
//! lock. Every request runs to completion under that lock at call time, so call order is
//! apply order, and the watch events a change causes are in their channels before the lock is
//! released.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio::sync::watch;
use zczk_core::store::{Code, SessionState};

use crate::acl::Identity;
use crate::file::{SavedSession, SessionRows, Storage};
use crate::ids::{random_key, FIRST_SESSION_ID};
use crate::tree::Tree;
use crate::txn::{self, Log};
use crate::watch::Watches;

/// Settings of an emulated server. `Config::default()` is a fresh standalone 3.8 server with
/// `tickTime=2000`, except that TTL nodes are enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Shortest session timeout granted (the server's `minSessionTimeout`, 2 × tickTime = 4 s).
    pub min_session_timeout: Duration,
    /// Longest session timeout granted (`maxSessionTimeout`, 20 × tickTime = 40 s).
    pub max_session_timeout: Duration,
    /// Whether TTL nodes may be created (`zookeeper.extendedTypesEnabled`). When false, a
    /// create with a TTL fails with `Unimplemented`, as on a server without the setting.
    pub extended_types: bool,
    /// The `digest` id that makes a session a super user (as `acl::digest_id` builds it),
    /// like `zookeeper.DigestAuthenticationProvider.superDigest`.
    pub super_digest: Option<String>,
    /// The largest request accepted (`jute.maxbuffer`); larger ones lose the connection.
    pub max_request_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_session_timeout: Duration::from_secs(4),
            max_session_timeout: Duration::from_secs(40),
            extended_types: true,
            super_digest: None,
            max_request_bytes: zczk_core::store::size::DEFAULT_MAX_REQUEST,
        }
    }
}

/// Where a session stands, as the server sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Requests are served and watches fire.
    Connected,
    /// Requests fail with `ConnectionLoss`; one-shot watches wait for the reconnect; the
    /// session expires when its timeout passes first.
    Disconnected,
    /// The client gave the session up, told this state: its authentication failed
    /// (`AuthFailed`), or it could not reach the server for too long (`Expired`). It can do
    /// nothing more; the server keeps the session (and its ephemerals) until its timeout passes.
    Abandoned(SessionState),
    /// Closed or expired for good.
    Ended(SessionState),
}

/// The server's record of one session.
pub(crate) struct SessionEntry {
    pub timeout: Duration,
    pub auth: Vec<Identity>,
    pub status: Status,
    pub state_tx: watch::Sender<SessionState>,
    /// Injected failures: the next `n` requests fail with this code.
    pub fail: Option<(u32, Code)>,
    /// Injected delays: the next `n` replies wait this long.
    pub delay: Option<(u32, Duration)>,
    /// Bumped at each disconnect and reconnect, so that a stale expiry timer does nothing.
    pub epoch: u64,
    /// The last zxid the client could have seen before it was disconnected.
    pub seen_zxid: i64,
    /// The `Session` handle was dropped: forget the record once the session has ended.
    pub dropped: bool,
}

/// Everything behind the lock.
pub(crate) struct State {
    pub tree: Tree,
    /// The last zxid given out.
    pub zxid: i64,
    pub sessions: HashMap<i64, SessionEntry>,
    /// Sessions whose watches must not hear events now (disconnected or failed auth).
    pub suspended: HashSet<i64>,
    pub watches: Watches,
    pub next_session: i64,
    pub refuse_connections: bool,
    /// The store that keeps the tree, for `file:PATH` emulators.
    pub storage: Option<Arc<Storage>>,
    /// Sessions opened or ended since the last [`State::persist`], when a store keeps them.
    pub changed_sessions: HashSet<i64>,
}

/// The shared server.
pub(crate) struct Inner {
    pub state: Mutex<State>,
    pub config: Config,
    /// Added to the wall clock, so tests can move time forward for TTL nodes.
    clock_offset_ms: AtomicI64,
    /// The file the persistent nodes are kept in, for `file:PATH` emulators.
    pub storage: Option<Arc<Storage>>,
    /// The secret session passwords derive from (kept in the file, so that a client can
    /// resume its session after a restart).
    pub session_key: u128,
    /// Sessions read from the file whose expiry timers wait for a tokio runtime: (id, epoch,
    /// timeout). See [`Inner::arm_restored`].
    restored: Mutex<Vec<(i64, u64, Duration)>>,
}

impl Drop for Inner {
    /// The last handle is gone: commit what is left (no one is left to see an error), and
    /// free a large tree on a thread of its own: node by node, a million nodes take about a
    /// second, which the owner (a command about to exit, most often) need not wait for.
    fn drop(&mut self) {
        let st = self.state.get_mut();
        if let Some(storage) = &self.storage {
            st.persist();
            if let Err(error) = storage.flush(&st.tree, st.zxid) {
                tracing::error!(%error, "the emulator's file was not saved");
            }
        }
        if st.tree.held() > FREED_APART {
            let tree = std::mem::take(&mut st.tree);
            // Should the thread not start, the closure and the tree are freed here.
            let _ = std::thread::Builder::new().name("zczk-emulator-free".into()).spawn(move || drop(tree));
        }
    }
}

/// The number of nodes in memory above which a dropped server's tree is freed on a thread of
/// its own (see `Inner`'s `Drop`).
const FREED_APART: usize = 100_000;

/// The client address a session has unless told otherwise (what the `ip` scheme matches).
pub const DEFAULT_CLIENT_ADDRESS: &str = "127.0.0.1";

impl Inner {
    pub fn new(config: Config, tree: Tree, zxid: i64, storage: Option<Arc<Storage>>) -> Inner {
        Inner::restore(config, tree, zxid, storage, &[], None, None)
    }

    /// A server that goes on from a file: `sessions` come back disconnected, each with its
    /// whole timeout to be resumed in (as after a ZooKeeper restart); their expiry timers start
    /// at [`Inner::arm_restored`]. Without a `session_key`, a random one.
    pub fn restore(
        config: Config,
        mut tree: Tree,
        zxid: i64,
        storage: Option<Arc<Storage>>,
        sessions: &[SavedSession],
        next_session: Option<i64>,
        session_key: Option<u128>,
    ) -> Inner {
        if storage.as_ref().is_some_and(|s| s.writes()) {
            tree.track_changes();
        }
        let mut entries = HashMap::new();
        let mut restored = Vec::new();
        for saved in sessions {
            let timeout = Duration::from_millis(saved.timeout_ms);
            let (state_tx, _) = watch::channel(SessionState::Disconnected);
            let entry = SessionEntry {
                timeout,
                auth: vec![Identity::new("ip", DEFAULT_CLIENT_ADDRESS)],
                status: Status::Disconnected,
                state_tx,
                fail: None,
                delay: None,
                epoch: 1,
                seen_zxid: zxid,
                // No handle yet: the wire server adopts the session when its client is back.
                dropped: true,
            };
            entries.insert(saved.id, entry);
            restored.push((saved.id, 1, timeout));
        }
        // Past every id given out before (a store keeps the next one), so that no client of an
        // ended session can resume a new session that took its id.
        let next_session = sessions
            .iter()
            .map(|s| s.id + 1)
            .chain(next_session)
            .max()
            .unwrap_or(FIRST_SESSION_ID)
            .max(FIRST_SESSION_ID);
        let session_key = session_key.unwrap_or_else(random_key);
        Inner {
            state: Mutex::new(State {
                tree,
                zxid,
                suspended: entries.keys().copied().collect(),
                sessions: entries,
                watches: Watches::default(),
                next_session,
                refuse_connections: false,
                storage: storage.clone(),
                changed_sessions: HashSet::new(),
            }),
            config,
            clock_offset_ms: AtomicI64::new(0),
            storage,
            session_key,
            restored: Mutex::new(restored),
        }
    }

    /// Starts the expiry timers of the sessions read from the file (once; a no-op outside a
    /// tokio runtime, which the timers need).
    pub fn arm_restored(self: &Arc<Self>) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let restored = std::mem::take(&mut *self.restored.lock());
        for (id, epoch, timeout) in restored {
            schedule_expiry(self, id, epoch, timeout);
        }
    }

    /// The emulated wall clock, ms since the epoch.
    pub fn now_ms(&self) -> i64 {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        wall + self.clock_offset_ms.load(Ordering::Relaxed)
    }

    pub fn advance_clock(&self, by: Duration) {
        self.clock_offset_ms.fetch_add(by.as_millis() as i64, Ordering::Relaxed);
    }

    /// The timeout the server grants for a requested one.
    pub fn negotiate(&self, requested: Duration) -> Duration {
        requested.clamp(self.config.min_session_timeout, self.config.max_session_timeout)
    }

    /// Opens a session (a `createSession` transaction: it takes a zxid).
    pub fn open_session(
        &self,
        timeout: Duration,
        client_address: &str,
    ) -> (i64, watch::Receiver<SessionState>) {
        let timeout = self.negotiate(timeout);
        let (state_tx, state_rx) = watch::channel(SessionState::Connected);
        let mut st = self.state.lock();
        st.zxid += 1;
        let id = st.next_session;
        st.next_session += 1;
        st.mark_session(id);
        st.sessions.insert(
            id,
            SessionEntry {
                timeout,
                auth: vec![Identity::new("ip", client_address)],
                status: Status::Connected,
                state_tx,
                fail: None,
                delay: None,
                epoch: 0,
                seen_zxid: 0,
                dropped: false,
            },
        );
        (id, state_rx)
    }
}

impl State {
    /// The sessions a store keeps: those not ended (one whose client gave up too: the server
    /// keeps it, with its ephemerals, until its timeout).
    pub fn live_sessions(&self) -> Vec<SavedSession> {
        let mut out: Vec<SavedSession> =
            self.sessions.keys().filter_map(|id| self.saved_session(*id)).collect();
        out.sort_by_key(|s| s.id);
        out
    }

    /// The session `id` as a store keeps it, `None` when it has ended (or never was).
    fn saved_session(&self, id: i64) -> Option<SavedSession> {
        let entry = self.sessions.get(&id)?;
        if matches!(entry.status, Status::Ended(_)) {
            return None;
        }
        Some(SavedSession { id, timeout_ms: entry.timeout.as_millis() as u64 })
    }

    /// Remembers that session `id` was opened or ended, when a store keeps sessions.
    fn mark_session(&mut self, id: i64) {
        if self.storage.as_ref().is_some_and(|s| s.writes()) {
            self.changed_sessions.insert(id);
        }
    }
}

impl State {
    /// Ends a session: it takes a zxid (a `closeSession` transaction), its ephemerals are
    /// deleted in that one transaction, its own watches get `SessionEnded(state)` and its
    /// persistent watches end; then the watches of other sessions fire for the deletions.
    /// `client_state` is what the session's state channel says from now on (`None` keeps
    /// what it says, for a session whose client already gave up after a failed auth).
    pub fn end_session(&mut self, session: i64, state: SessionState, client_state: Option<SessionState>) {
        let Some(entry) = self.sessions.get_mut(&session) else {
            return;
        };
        if matches!(entry.status, Status::Ended(_)) {
            return;
        }
        let was_abandoned = matches!(entry.status, Status::Abandoned(_));
        let dropped = entry.dropped;
        entry.status = Status::Ended(state);
        entry.epoch += 1;
        if let Some(client_state) = client_state {
            entry.state_tx.send_replace(client_state);
        }
        self.suspended.remove(&session);
        if !was_abandoned {
            self.watches.end_session(session, state);
        }
        self.zxid += 1;
        self.mark_session(session);
        let zxid = self.zxid;
        let mut log = Log::new(true, false);
        for path in self.tree.ephemerals_of(session) {
            // An ephemeral read from a store may have a parent that is not in memory yet.
            self.tree.fault_in(crate::path::parent(&path));
            txn::server_delete(&mut self.tree, zxid, &path, &mut log);
        }
        self.fire(log);
        if dropped {
            self.sessions.remove(&session);
        }
    }

    /// Hands the nodes and sessions changed since the last call to the store, if there is
    /// one: they are on disk at its next commit (see [`Storage::durable`]). Called before each
    /// commit, so that a node changed by many writes of one group is written once.
    pub fn persist(&mut self) {
        let Some(storage) = self.storage.clone() else { return };
        let changed = self.tree.take_changed();
        let mut ids: Vec<i64> = self.changed_sessions.drain().collect();
        ids.sort_unstable();
        let sessions = SessionRows {
            changed: ids.into_iter().map(|id| (id, self.saved_session(id))).collect(),
            next: self.next_session,
        };
        storage.stage(&self.tree, &changed, &sessions, || self.live_sessions(), self.zxid);
        if !self.tree.has_backing() && storage.has_database() {
            // A store made just now holds the whole tree: memory need keep only a part.
            self.tree.attach(storage);
        }
    }

    /// Makes every change so far durable: a session's end, which no request waits for.
    /// Errors are logged (no one is there to hear them).
    pub fn commit(&mut self) {
        let Some(storage) = self.storage.clone() else { return };
        if !storage.writes() {
            return;
        }
        self.persist();
        if let Err(error) = storage.commit_through(self.zxid) {
            tracing::error!(%error, "the emulator's file did not take a session's end");
        }
    }

    /// Sends the watch events of a committed change.
    pub fn fire(&mut self, log: Log) {
        if let Some(changes) = log.changes {
            for change in &changes {
                self.watches.trigger(change, &self.suspended);
            }
        }
    }

    /// Drops the connection of a session: requests fail with `ConnectionLoss`, watches wait,
    /// and the session expires if it is not reconnected within its timeout. Returns the epoch
    /// the expiry timer must still find, or `None` if the session was not connected.
    pub fn disconnect(&mut self, session: i64) -> Option<(u64, Duration)> {
        let zxid = self.zxid;
        let entry = self.sessions.get_mut(&session)?;
        if entry.status != Status::Connected {
            return None;
        }
        entry.status = Status::Disconnected;
        entry.epoch += 1;
        entry.seen_zxid = zxid;
        entry.state_tx.send_replace(SessionState::Disconnected);
        self.suspended.insert(session);
        Some((entry.epoch, entry.timeout))
    }

    /// Reconnects a disconnected session; its one-shot watches are re-armed as the server's
    /// `setWatches` does, firing for what changed meanwhile.
    pub fn reconnect(&mut self, session: i64) {
        let Some(entry) = self.sessions.get_mut(&session) else {
            return;
        };
        if entry.status != Status::Disconnected {
            return;
        }
        entry.status = Status::Connected;
        entry.epoch += 1;
        let seen = entry.seen_zxid;
        entry.state_tx.send_replace(SessionState::Connected);
        self.suspended.remove(&session);
        self.watches.resume(session, &self.tree, seen);
    }

    /// The client gives the session up, told `told` (`AuthFailed` or `Expired`): it is
    /// finished (its watches end with `SessionEnded(told)`), the server keeps the session until
    /// its timeout. Returns the epoch the expiry timer must still find, or `None` if the session
    /// was already given up or ended.
    pub fn abandon(&mut self, session: i64, told: SessionState) -> Option<(u64, Duration)> {
        let entry = self.sessions.get_mut(&session)?;
        if matches!(entry.status, Status::Ended(_) | Status::Abandoned(_)) {
            return None;
        }
        entry.status = Status::Abandoned(told);
        entry.epoch += 1;
        entry.state_tx.send_replace(told);
        self.suspended.insert(session);
        self.watches.end_session(session, told);
        Some((entry.epoch, entry.timeout))
    }
}

/// Expires `session` after `timeout` unless it was reconnected (its epoch moved) meanwhile.
/// Uses tokio's clock, so a test with `tokio::time::pause` sees the expiry as soon as its time
/// advances. Outside a tokio runtime there is no timer: such a session only ends when the
/// test ends it.
pub(crate) fn schedule_expiry(inner: &Arc<Inner>, session: i64, epoch: u64, timeout: Duration) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        tracing::debug!(session, "no tokio runtime: the session will not expire on its own");
        return;
    };
    let weak: Weak<Inner> = Arc::downgrade(inner);
    handle.spawn(async move {
        tokio::time::sleep(timeout).await;
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let mut st = inner.state.lock();
        let Some(entry) = st.sessions.get(&session) else {
            return;
        };
        if entry.epoch != epoch {
            return;
        }
        match entry.status {
            Status::Disconnected => {
                st.end_session(session, SessionState::Expired, Some(SessionState::Expired))
            }
            Status::Abandoned(_) => st.end_session(session, SessionState::Expired, None),
            Status::Connected | Status::Ended(_) => return,
        }
        // The expiry and the deletion of its ephemerals are kept as a write is.
        st.commit();
    });
}
