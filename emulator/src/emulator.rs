//! The [`Emulator`] handle: one in-memory server that tests and the CLI open sessions on.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use zczk_core::connection::Access;
use zczk_core::path::PathError;
use zczk_core::store::{Code, CreateOptions, OpKind, SessionState, StoreError};
use zczk_core::tree;

use crate::acl::Identity;
use crate::faults::Faults;
use crate::file::{FileError, Loaded, Nodes, Storage};
use crate::path;
use crate::server::{Config, Inner, State};
use crate::session::{Session, SessionOptions};
use crate::tree::Tree;
use crate::txn::{self, Ctx, Log};

/// Why an emulator could not be pre-loaded with a tree.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The tree text does not parse.
    #[error("tree text: {0}")]
    Parse(#[from] tree::ParseError),
    /// A node of the tree could not be created (it exists already, bad name, ...).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An in-memory ZooKeeper server. Cheap to clone: every clone is a handle on the same server.
///
/// Open sessions with [`Emulator::session`] or through [`Emulator::connector`]; each
/// [`Session`] implements [`zczk_core::store::Store`]. Requests are applied when they are
/// called, under one lock, so the emulator is deterministic and needs no sleeping or polling.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.inner.state.lock();
        f.debug_struct("Emulator").field("nodes", &st.tree.len()).field("zxid", &st.zxid).finish()
    }
}

impl Default for Emulator {
    fn default() -> Self {
        Emulator::new()
    }
}

impl Emulator {
    /// A fresh server with the default [`Config`]: the tree holds only `/`, `/zookeeper`,
    /// `/zookeeper/config` and `/zookeeper/quota`, as on a fresh 3.8 server.
    pub fn new() -> Emulator {
        Emulator::with_config(Config::default())
    }

    /// A fresh server with `config`.
    pub fn with_config(config: Config) -> Emulator {
        Emulator { inner: Arc::new(Inner::new(config, Tree::new(), 0, None)) }
    }

    /// A fresh server pre-loaded with tree text (see `zczk_core::tree`): each node becomes a
    /// persistent node with the open ACL whose data is its properties as JSON (empty when it
    /// has none).
    pub fn from_tree_text(text: &str) -> Result<Emulator, LoadError> {
        let root = tree::parse(text)?;
        let emulator = Emulator::new();
        emulator.load("/", &root)?;
        Ok(emulator)
    }

    /// A fresh server pre-loaded with the children of `root` (see [`Emulator::from_tree_text`]).
    pub fn from_tree(root: &tree::Node) -> Result<Emulator, StoreError> {
        let emulator = Emulator::new();
        emulator.load("/", root)?;
        Ok(emulator)
    }

    /// A server whose persistent nodes are kept in the file at `path` (the CLI's
    /// `file:PATH`), to read and write. See [`crate::file`] for the format, the lock and when
    /// the file is written.
    ///
    /// Takes an exclusive lock first, **waiting** while another emulator (in this or another
    /// process) has the file open, so two users of one file are serialized and neither loses
    /// the other's writes. A missing file is an empty tree, created (mode `0600`) at the first
    /// change; a file that does not parse, is not a regular file or is read-only is an error
    /// and is left untouched.
    pub fn open_file(path: impl AsRef<Path>) -> Result<Emulator, FileError> {
        Emulator::open_file_with(path, Config::default(), Access::ReadWrite, true)
    }

    /// As [`Emulator::open_file`], but fails at once with [`FileError::Locked`] instead of
    /// waiting when the file is in use.
    pub fn try_open_file(path: impl AsRef<Path>) -> Result<Emulator, FileError> {
        Emulator::open_file_with(path, Config::default(), Access::ReadWrite, false)
    }

    /// As [`Emulator::open_file`] with a [`Config`] and an [`Access`]; `wait` says whether to
    /// wait for the lock. With [`Access::Read`] the file must exist and is never written:
    /// changes made through this emulator last only as long as it does (as with `mem:`).
    pub fn open_file_with(
        path: impl AsRef<Path>,
        config: Config,
        access: Access,
        wait: bool,
    ) -> Result<Emulator, FileError> {
        let (storage, loaded) = Storage::open(path.as_ref(), access, wait)?;
        let storage = Arc::new(storage);
        let session_key = Some(storage.session_key());
        let inner = match loaded {
            None => Inner::restore(config, Tree::new(), 0, Some(storage), &[], None, session_key),
            Some(Loaded { nodes, zxid, sessions, next_session }) => {
                let tree = match nodes {
                    Nodes::Whole(tree) => *tree,
                    Nodes::Lazy(kept) => Tree::lazy(storage.clone(), kept),
                };
                Inner::restore(config, tree, zxid, Some(storage), &sessions, next_session, session_key)
            }
        };
        Ok(Emulator { inner: Arc::new(inner) })
    }

    /// Commits to the emulator's file what is not there yet: writes whose replies nobody
    /// awaited (an awaited reply waits for its write to be on disk), changes made outside
    /// requests (loading a tree, ending sessions) and the last zxid. Does nothing for an
    /// emulator without a file, one opened for [`Access::Read`], or when nothing changed. The
    /// last handle on the server (emulator, session or connector) does this too when it is
    /// dropped; call this to see errors.
    pub fn flush(&self) -> Result<(), FileError> {
        match &self.inner.storage {
            Some(storage) => {
                let mut st = self.inner.state.lock();
                st.persist();
                storage.flush(&st.tree, st.zxid)
            }
            None => Ok(()),
        }
    }

    /// Shuts the server down for its users: ends every session as closed (their ephemerals
    /// are deleted, their watches end with `SessionEnded(Closed)`), then [`Emulator::flush`]es
    /// the file. The file lock is released when the last handle on the server is dropped.
    pub fn close(&self) -> Result<(), FileError> {
        {
            let mut st = self.inner.state.lock();
            let ids: Vec<i64> = st.sessions.keys().copied().collect();
            for id in ids {
                st.end_session(id, SessionState::Closed, Some(SessionState::Closed));
            }
        }
        self.flush()
    }

    /// The file this emulator is kept in, if any.
    pub fn file_path(&self) -> Option<&Path> {
        self.inner.storage.as_deref().map(Storage::path)
    }

    /// The secret the wire server derives session passwords from (kept in the file).
    pub(crate) fn session_key(&self) -> u128 {
        self.inner.session_key
    }

    /// A handle on a session read from the file that no one holds yet, for the client that
    /// comes back to it; starts the expiry timers of such sessions if not done yet.
    pub(crate) fn adopt(&self, session_id: i64) -> Option<Session> {
        self.inner.arm_restored();
        Session::adopt(self.inner.clone(), session_id)
    }

    /// Starts the expiry timers of the sessions read from the file: they end unless their
    /// clients come back within their timeouts. Needs a tokio runtime (else does nothing).
    pub(crate) fn arm_restored(&self) {
        self.inner.arm_restored();
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Emulator {
        Emulator { inner }
    }

    /// The server's settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Opens a session with the default options (10 s timeout, client address 127.0.0.1).
    pub fn session(&self) -> Session {
        Session::open(self.inner.clone(), &SessionOptions::default())
    }

    /// Opens a session with `options`.
    pub fn session_with(&self, options: &SessionOptions) -> Session {
        Session::open(self.inner.clone(), options)
    }

    /// A copy of the tree as it is now, on a server of its own that no one writes to: what
    /// a lagging ensemble member still serves (see `crate::ensemble`).
    pub(crate) fn snapshot(&self) -> Emulator {
        let st = self.inner.state.lock();
        Emulator { inner: Arc::new(Inner::new(self.inner.config.clone(), st.tree.clone(), st.zxid, None)) }
    }

    /// Sets `/zookeeper/config` to an ensemble's membership (see [`Tree::set_config`]).
    pub(crate) fn set_membership(&self, config: String) {
        let mtime = self.inner.now_ms();
        self.inner.state.lock().tree.set_config(config.into_bytes(), mtime, 0);
    }

    /// Moves the zxid counter up to `zxid` if it is below: an ensemble's zxids start at its
    /// first epoch's.
    pub(crate) fn start_zxids_at(&self, zxid: i64) {
        let mut st = self.inner.state.lock();
        st.zxid = st.zxid.max(zxid);
    }

    /// A reconfig request of `session`, which `plan` turns into the new membership's text
    /// (and what the caller keeps of it) given the request's zxid, or refuses. As on
    /// ZooKeeper's leader, the request takes a zxid whether it succeeds or not, and `plan`'s
    /// checks come before the permission check (see [`txn::set_config`]). Returns the config
    /// node's new data and stat, and what `plan` kept.
    pub(crate) fn reconfigure<T>(
        &self,
        session: i64,
        plan: impl FnOnce(i64) -> Result<(String, T), Code>,
    ) -> Result<(Vec<u8>, zczk_core::store::Stat, T), Code> {
        let time = self.inner.now_ms();
        let mut st = self.inner.state.lock();
        st.admit(session, OpKind::SetData, path::CONFIG).result.map_err(|e| e.code)?;
        let extended_types = self.inner.config.extended_types;
        st.write(session, time, extended_types, false, |tree, ctx, log| {
            let (text, kept) = plan(ctx.zxid)?;
            let data = text.into_bytes();
            let stat = txn::set_config(tree, ctx, data.clone(), log)?;
            Ok((data, stat, kept))
        })
        .map_err(|fail| fail.code)
    }

    /// A session holding `identities`, to read as the client holding them does.
    pub(crate) fn session_as(&self, identities: Vec<Identity>) -> Session {
        let session = self.session();
        if let Some(entry) = self.inner.state.lock().sessions.get_mut(&session.id()) {
            entry.auth = identities;
        }
        session
    }

    /// The fault injection handle of the session with this id (see [`Session::faults`]).
    pub fn faults(&self, session_id: i64) -> Faults {
        Faults::new(self.inner.clone(), session_id)
    }

    /// While `refuse` is true, new connections fail with `ConnectionLoss`, as when no server
    /// listens (existing sessions are not affected).
    pub fn refuse_connections(&self, refuse: bool) {
        self.inner.state.lock().refuse_connections = refuse;
    }

    pub(crate) fn refuses_connections(&self) -> bool {
        self.inner.state.lock().refuse_connections
    }

    /// Expires every live session, as a server restart after a long outage would.
    pub fn expire_all(&self) {
        let mut st = self.inner.state.lock();
        let ids: Vec<i64> = st.sessions.keys().copied().collect();
        for id in ids {
            st.end_session(id, SessionState::Expired, Some(SessionState::Expired));
        }
        st.commit();
    }

    /// Moves the emulated wall clock forward (ctime/mtime of later changes, TTL expiry).
    pub fn advance_clock(&self, by: Duration) {
        self.inner.advance_clock(by);
    }

    /// Runs the server's container and TTL cleanup once, now: deletes every container that
    /// has had children and has none left, and every childless TTL node unmodified for longer
    /// than its TTL, each in a transaction of its own (watches fire). A real server does this
    /// on a timer (`znode.container.checkIntervalMs`, one minute by default); the emulator
    /// only when asked, so tests decide when. Returns the deleted paths.
    pub fn run_cleanup(&self) -> Vec<String> {
        let now = self.inner.now_ms();
        let mut st = self.inner.state.lock();
        let mut deleted = Vec::new();
        for path in st.tree.cleanup_candidates(now) {
            st.tree.fault_in(path::parent(&path));
            st.zxid += 1;
            let zxid = st.zxid;
            let mut log = Log::new(st.watches.has_any(), false);
            if txn::server_delete(&mut st.tree, zxid, &path, &mut log) {
                st.fire(log);
                deleted.push(path);
            }
        }
        deleted
    }

    /// Creates the children of `node` (recursively) below the existing node `at`, as
    /// persistent nodes with the open ACL, each in a transaction of its own. Stops at the
    /// first node that cannot be created (one that exists, a bad name, ...); the nodes
    /// created before it stay. Returns the number of nodes created.
    pub fn load(&self, at: &str, node: &tree::Node) -> Result<usize, StoreError> {
        if let Err(PathError { reason, .. }) = zczk_core::path::validate(at) {
            return Err(StoreError::new(Code::BadArguments, OpKind::Create, at).with_detail(reason));
        }
        let time = self.inner.now_ms();
        let extended_types = self.inner.config.extended_types;
        let mut st = self.inner.state.lock();
        st.tree.fault_in(at);
        if !st.tree.contains(at) {
            return Err(
                StoreError::new(Code::NoNode, OpKind::Create, at).with_detail("cannot load a tree below it")
            );
        }
        let mut created = 0;
        load_children(&mut st, at, node, time, extended_types, &mut created)?;
        Ok(created)
    }

    /// Number of nodes, the four built-in ones included. A `file:` store opened to write
    /// counts its rows, after taking in the changes not yet handed to it; one opened only to
    /// read counts what its file holds (its own changes aside) plus the ephemerals.
    pub fn node_count(&self) -> usize {
        let mut st = self.inner.state.lock();
        st.persist();
        st.tree.len()
    }

    /// Number of watches some receiver can still hear, over all sessions.
    pub fn watch_count(&self) -> usize {
        self.inner.state.lock().watches.count()
    }

    /// Number of watches of one session some receiver can still hear.
    pub fn watch_count_for(&self, session_id: i64) -> usize {
        self.inner.state.lock().watches.count_for(session_id)
    }

    /// Number of sessions the server still holds (connected, disconnected or waiting for
    /// their timeout).
    pub fn session_count(&self) -> usize {
        self.inner.state.lock().sessions.len()
    }

    /// The last zxid given out.
    pub fn last_zxid(&self) -> i64 {
        self.inner.state.lock().zxid
    }

    /// What the four-letter words tell about the server, read at one moment.
    pub(crate) fn report(&self) -> Report {
        let mut st = self.inner.state.lock();
        // A `file:` store counts its rows: they take in the changes not handed to it yet.
        st.persist();
        let mut sessions: Vec<SessionReport> = st
            .sessions
            .iter()
            .filter(|(_, entry)| !matches!(entry.status, crate::server::Status::Ended(_)))
            .map(|(id, entry)| SessionReport { id: *id, timeout: entry.timeout, ephemerals: Vec::new() })
            .collect();
        sessions.sort_by_key(|s| s.id);
        for session in &mut sessions {
            session.ephemerals = st.tree.ephemerals_of(session.id);
        }
        let data_bytes = st.tree.data_bytes();
        Report {
            zxid: st.zxid,
            node_count: st.tree.len(),
            data_bytes,
            sessions,
            data_watches: st.watches.data_table(),
        }
    }
}

/// A snapshot of the server for the four-letter words.
pub(crate) struct Report {
    pub zxid: i64,
    /// Nodes, the four built-in ones included.
    pub node_count: usize,
    /// Paths and data, in bytes (the server's `approximateDataSize`).
    pub data_bytes: usize,
    /// Live sessions, by id.
    pub sessions: Vec<SessionReport>,
    /// The server's data-watch table (getData, exists and persistent watches): the watched
    /// paths of each session, by session id, both in order.
    pub data_watches: std::collections::BTreeMap<i64, std::collections::BTreeSet<String>>,
}

/// One live session, for the four-letter words.
pub(crate) struct SessionReport {
    pub id: i64,
    pub timeout: Duration,
    /// Its ephemerals, in path order.
    pub ephemerals: Vec<String>,
}

/// Creates `node`'s children below `at`, parents first.
fn load_children(
    st: &mut State,
    at: &str,
    node: &tree::Node,
    time: i64,
    extended_types: bool,
    created: &mut usize,
) -> Result<(), StoreError> {
    // The server's own identity: no ACL stands in its way.
    let auth = [Identity::new("super", "")];
    let options = CreateOptions::default();
    for (name, child) in &node.children {
        let path = zczk_core::path::child(at, name);
        if let Err(PathError { reason, .. }) = zczk_core::path::validate(&path) {
            return Err(StoreError::new(Code::BadArguments, OpKind::Create, path).with_detail(reason));
        }
        let properties = child.to_properties();
        let data = if properties.is_empty() {
            Vec::new()
        } else {
            zczk_core::props::encode(&properties).map_err(|e| {
                StoreError::new(Code::BadArguments, OpKind::Create, &path).with_detail(e.to_string())
            })?
        };
        st.zxid += 1;
        let ctx = Ctx { zxid: st.zxid, time, session: 0, auth: &auth, extended_types };
        let mut log = Log::new(st.watches.has_any(), false);
        txn::create(&mut st.tree, &ctx, &path, Some(&data), &options, &mut log).map_err(|fail| {
            let error = StoreError::new(fail.code, OpKind::Create, &path);
            match fail.detail {
                Some(detail) => error.with_detail(detail),
                None => error,
            }
        })?;
        st.fire(log);
        *created += 1;
        load_children(st, &path, child, time, extended_types, created)?;
    }
    Ok(())
}
