//! A session on the emulator: the `Store` a client uses.
//!
//! Every method runs its request at call time under the emulator's lock and returns a future
//! that is already complete (or that only waits out an injected delay), so requests apply in
//! call order, and a watch event is in its channel before any reply that reflects the change.

use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt as _, Stream};
use tokio::sync::{mpsc, watch};
use zczk_core::store::{
    Acl, Code, CreateOptions, Created, MultiError, OneshotWatch, Op, OpKind, OpResult, Perms,
    PersistentWatch, ReadOp, ReadResult, Reply, RequestLimit, SessionState, Stat, Store, StoreError,
    WatchEvent, WatchMode,
};

use crate::acl::{self, Identity};
use crate::emulator::Emulator;
use crate::faults::Faults;
use crate::file::FileError;
use crate::limits;
use crate::request::Admission;
use crate::server::{schedule_expiry, Inner, State, Status, DEFAULT_CLIENT_ADDRESS};
use crate::txn::{self, Fail};
use crate::watch::WatchKind;

/// The default session timeout (zc.zk's).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to open a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOptions {
    /// The requested timeout; the server grants it within its bounds (see `Config`).
    pub timeout: Duration,
    /// The client's IPv4 address, which `ip` ACL entries match.
    pub client_address: String,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions { timeout: DEFAULT_TIMEOUT, client_address: DEFAULT_CLIENT_ADDRESS.to_string() }
    }
}

/// One session on an [`Emulator`]; implements [`Store`].
///
/// Dropping a session without closing it is like a client process going away: the server
/// keeps the session, and its ephemerals, until its timeout passes (on tokio's clock).
pub struct Session {
    inner: Arc<Inner>,
    id: i64,
    timeout: Duration,
    state_rx: watch::Receiver<SessionState>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("id", &format_args!("{:#x}", self.id)).finish()
    }
}

fn ready<T: Send + 'static, E: Send + 'static>(
    delay: Option<Duration>,
    result: Result<T, E>,
) -> BoxFuture<'static, Result<T, E>> {
    match delay {
        None => futures::future::ready(result).boxed(),
        Some(delay) => async move {
            tokio::time::sleep(delay).await;
            result
        }
        .boxed(),
    }
}

/// The reply to a write: with a store that keeps it, ready only once the write is on disk
/// (a failed write changed nothing, and is answered at once).
fn acknowledged<T: Send + 'static, E: Send + 'static>(
    inner: &Arc<Inner>,
    delay: Option<Duration>,
    result: Result<T, E>,
    zxid: i64,
    error: impl FnOnce(FileError) -> E + Send + 'static,
) -> BoxFuture<'static, Result<T, E>> {
    match &inner.storage {
        Some(storage) if storage.writes() && result.is_ok() => {
            let (inner, storage) = (inner.clone(), storage.clone());
            async move {
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                let commit = || {
                    let mut st = inner.state.lock();
                    st.persist();
                    storage.commit_through(st.zxid)
                };
                storage.durable(zxid, commit).await.map_err(error)?;
                result
            }
            .boxed()
        }
        _ => ready(delay, result),
    }
}

/// A write that may not have been kept: the client cannot know, as after a lost connection.
fn not_kept(op: OpKind, path: &str) -> impl FnOnce(FileError) -> StoreError + Send + 'static {
    let path = path.to_string();
    move |error| StoreError::new(Code::ConnectionLoss, op, path).with_detail(error.to_string())
}

fn store_error(fail: Fail, op: OpKind, path: &str) -> StoreError {
    let error = StoreError::new(fail.code, op, path);
    match fail.detail {
        Some(detail) => error.with_detail(detail),
        None => error,
    }
}

/// Path validation. The client refuses malformed paths before they reach the server, but
/// the client library (`zookeeper-client` 0.11) lets a last segment `.` or `..` through, and
/// the server validates only the paths of creates, after finding the parent: so a create
/// there fails with `NoNode` (no parent) or `BadArguments` (see `txn::create`), and any other
/// request finds no node. The emulator answers the same.
fn validate(op: OpKind, path: &str, sequential: bool) -> Result<(), StoreError> {
    if let Some(prefix) = path.strip_suffix("/.").or_else(|| path.strip_suffix("/..")) {
        let prefix = if prefix.is_empty() { "/" } else { prefix };
        if zczk_core::path::validate(prefix).is_ok() {
            return match op {
                OpKind::Create => Ok(()),
                _ => Err(StoreError::new(Code::NoNode, op, path)),
            };
        }
    }
    let checked = if sequential {
        // The server checks a sequential path with a digit appended, so `/a/` is fine.
        zczk_core::path::validate(&format!("{path}1"))
    } else {
        zczk_core::path::validate(path)
    };
    checked.map_err(|e| StoreError::new(Code::BadArguments, op, path).with_detail(e.reason))
}

impl Session {
    pub(crate) fn open(inner: Arc<Inner>, options: &SessionOptions) -> Session {
        // Sessions read from a file start their expiry once the server is in use.
        inner.arm_restored();
        let timeout = inner.negotiate(options.timeout);
        let (id, state_rx) = inner.open_session(options.timeout, &options.client_address);
        Session { inner, id, timeout, state_rx }
    }

    /// A handle on a live session that has none (one read from a file), or `None`.
    pub(crate) fn adopt(inner: Arc<Inner>, id: i64) -> Option<Session> {
        let mut st = inner.state.lock();
        let entry = st.sessions.get_mut(&id).filter(|e| e.dropped && e.status == Status::Disconnected)?;
        entry.dropped = false;
        let (timeout, state_rx) = (entry.timeout, entry.state_tx.subscribe());
        drop(st);
        Some(Session { inner, id, timeout, state_rx })
    }

    /// Done once the store keeps the session (opened by a `createSession` transaction), so
    /// that a client told of it can come back to it after a crash; at once without a store.
    pub(crate) fn kept(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        let zxid = self.inner.state.lock().zxid;
        acknowledged(&self.inner, None, Ok(()), zxid, not_kept(OpKind::Connect, ""))
    }

    /// The session id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The timeout the server granted.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The fault injection handle of this session.
    pub fn faults(&self) -> Faults {
        Faults::new(self.inner.clone(), self.id)
    }

    /// The emulator this session lives on.
    pub fn emulator(&self) -> Emulator {
        Emulator::from_inner(self.inner.clone())
    }

    /// The identities the session holds (`ip:127.0.0.1`, `digest:user:hash`, ...).
    pub fn identities(&self) -> Vec<Identity> {
        self.inner.state.lock().auth_of(self.id).to_vec()
    }

    /// Runs a read under the lock after the gate.
    fn read<T: Send + 'static>(
        &self,
        op: OpKind,
        path: &str,
        f: impl FnOnce(&mut State) -> Result<T, StoreError>,
    ) -> Reply<'static, T> {
        if let Err(e) = validate(op, path, false) {
            return ready(None, Err(e));
        }
        let mut st = self.inner.state.lock();
        let Admission { delay, result } = st.admit(self.id, op, path);
        st.tree.fault_in(path);
        let result = result.and_then(|()| f(&mut st));
        drop(st);
        ready(delay, result)
    }

    fn get_data_inner(
        &self,
        path: &str,
        watch: bool,
    ) -> Reply<'static, (Option<Vec<u8>>, Stat, Option<OneshotWatch>)> {
        let id = self.id;
        self.read(OpKind::GetData, path, |st| {
            let node =
                st.tree.get(path).ok_or_else(|| StoreError::new(Code::NoNode, OpKind::GetData, path))?;
            txn::check_perm(node, Perms::READ, st.auth_of(id))
                .map_err(|f| store_error(f, OpKind::GetData, path))?;
            let out = (node.data.clone(), node.stat());
            let watch = watch.then(|| st.watches.add_oneshot(path, id, WatchKind::Data));
            Ok((out.0, out.1, watch))
        })
    }

    fn exists_inner(&self, path: &str, watch: bool) -> Reply<'static, (Option<Stat>, Option<OneshotWatch>)> {
        let id = self.id;
        self.read(OpKind::Exists, path, |st| {
            // exists needs no permission, and leaves a watch whether or not the node exists.
            let stat = st.tree.get(path).map(|n| n.stat());
            let kind = if stat.is_some() { WatchKind::Data } else { WatchKind::Exist };
            let watch = watch.then(|| st.watches.add_oneshot(path, id, kind));
            Ok((stat, watch))
        })
    }

    fn get_children_inner(
        &self,
        path: &str,
        watch: bool,
    ) -> Reply<'static, (Vec<String>, Stat, Option<OneshotWatch>)> {
        let id = self.id;
        self.read(OpKind::GetChildren, path, |st| {
            let node =
                st.tree.get(path).ok_or_else(|| StoreError::new(Code::NoNode, OpKind::GetChildren, path))?;
            txn::check_perm(node, Perms::READ, st.auth_of(id))
                .map_err(|f| store_error(f, OpKind::GetChildren, path))?;
            let children = node.children.iter().cloned().collect();
            let stat = node.stat();
            let watch = watch.then(|| st.watches.add_oneshot(path, id, WatchKind::Child));
            Ok((children, stat, watch))
        })
    }
}

/// The watch a oneshot read left; the read asked for one, so it is there.
fn take_watch(watch: Option<OneshotWatch>) -> OneshotWatch {
    watch.unwrap_or_else(|| OneshotWatch::new(futures::future::pending()))
}

impl Store for Session {
    fn create<'a>(
        &'a self,
        path: &'a str,
        data: Option<&'a [u8]>,
        options: &'a CreateOptions,
    ) -> Reply<'a, Created> {
        if let Err(e) = validate(OpKind::Create, path, options.mode.is_sequential()) {
            return ready(None, Err(e));
        }
        let config = &self.inner.config;
        let time = self.inner.now_ms();
        let mut st = self.inner.state.lock();
        let Admission { delay, result } = st.admit(self.id, OpKind::Create, path);
        st.tree.fault_in_with_parent(path);
        let result = result.and_then(|()| {
            let limit = limits::of(config.max_request_bytes);
            limits::check(
                &limit,
                limit.create(path, data.unwrap_or_default(), options),
                OpKind::Create,
                path,
            )?;
            st.write(self.id, time, config.extended_types, false, |tree, ctx, log| {
                txn::create(tree, ctx, path, data, options, log)
            })
            .map_err(|f| store_error(f, OpKind::Create, path))
        });
        let zxid = st.zxid;
        drop(st);
        acknowledged(&self.inner, delay, result, zxid, not_kept(OpKind::Create, path))
    }

    fn delete<'a>(&'a self, path: &'a str, version: Option<i32>) -> Reply<'a, ()> {
        if let Err(e) = validate(OpKind::Delete, path, false) {
            return ready(None, Err(e));
        }
        let config = &self.inner.config;
        let mut st = self.inner.state.lock();
        let Admission { delay, result } = st.admit(self.id, OpKind::Delete, path);
        st.tree.fault_in_with_parent(path);
        let result = result.and_then(|()| {
            st.write(self.id, 0, config.extended_types, false, |tree, ctx, log| {
                txn::delete(tree, ctx, path, version, log)
            })
            .map_err(|f| store_error(f, OpKind::Delete, path))
        });
        let zxid = st.zxid;
        drop(st);
        acknowledged(&self.inner, delay, result, zxid, not_kept(OpKind::Delete, path))
    }

    fn exists<'a>(&'a self, path: &'a str) -> Reply<'a, Option<Stat>> {
        self.exists_inner(path, false).map(|r| r.map(|(stat, _)| stat)).boxed()
    }

    fn exists_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Stat>, OneshotWatch)> {
        self.exists_inner(path, true).map(|r| r.map(|(stat, w)| (stat, take_watch(w)))).boxed()
    }

    fn get_data<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Vec<u8>>, Stat)> {
        self.get_data_inner(path, false).map(|r| r.map(|(data, stat, _)| (data, stat))).boxed()
    }

    fn get_data_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Vec<u8>>, Stat, OneshotWatch)> {
        self.get_data_inner(path, true).map(|r| r.map(|(data, stat, w)| (data, stat, take_watch(w)))).boxed()
    }

    fn set_data<'a>(
        &'a self,
        path: &'a str,
        data: Option<&'a [u8]>,
        version: Option<i32>,
    ) -> Reply<'a, Stat> {
        if let Err(e) = validate(OpKind::SetData, path, false) {
            return ready(None, Err(e));
        }
        let config = &self.inner.config;
        let time = self.inner.now_ms();
        let mut st = self.inner.state.lock();
        let Admission { delay, result } = st.admit(self.id, OpKind::SetData, path);
        st.tree.fault_in(path);
        let result = result.and_then(|()| {
            let limit = limits::of(config.max_request_bytes);
            limits::check(&limit, limit.set_data(path, data.unwrap_or_default()), OpKind::SetData, path)?;
            st.write(self.id, time, config.extended_types, false, |tree, ctx, log| {
                txn::set_data(tree, ctx, path, data, version, log)
            })
            .map_err(|f| store_error(f, OpKind::SetData, path))
        });
        let zxid = st.zxid;
        drop(st);
        acknowledged(&self.inner, delay, result, zxid, not_kept(OpKind::SetData, path))
    }

    fn get_children<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<String>, Stat)> {
        self.get_children_inner(path, false).map(|r| r.map(|(names, stat, _)| (names, stat))).boxed()
    }

    fn get_children_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<String>, Stat, OneshotWatch)> {
        self.get_children_inner(path, true)
            .map(|r| r.map(|(names, stat, w)| (names, stat, take_watch(w))))
            .boxed()
    }

    fn get_acl<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<Acl>, Stat)> {
        let id = self.id;
        self.read(OpKind::GetAcl, path, |st| {
            let node =
                st.tree.get(path).ok_or_else(|| StoreError::new(Code::NoNode, OpKind::GetAcl, path))?;
            let auth = st.auth_of(id);
            // READ or ADMIN may see the ACL; without ADMIN, digest hashes are hidden.
            txn::check_perm(node, Perms::READ | Perms::ADMIN, auth)
                .map_err(|f| store_error(f, OpKind::GetAcl, path))?;
            let entries = if acl::allows(&node.acl, Perms::ADMIN, auth) {
                node.acl.as_ref().clone()
            } else {
                acl::redacted(&node.acl)
            };
            Ok((entries, node.stat()))
        })
    }

    fn set_acl<'a>(&'a self, path: &'a str, entries: &'a [Acl], version: Option<i32>) -> Reply<'a, Stat> {
        if let Err(e) = validate(OpKind::SetAcl, path, false) {
            return ready(None, Err(e));
        }
        let config = &self.inner.config;
        let mut st = self.inner.state.lock();
        let Admission { delay, result } = st.admit(self.id, OpKind::SetAcl, path);
        st.tree.fault_in(path);
        let result = result.and_then(|()| {
            let limit = limits::of(config.max_request_bytes);
            limits::check(&limit, limit.set_acl(path, entries), OpKind::SetAcl, path)?;
            st.write(self.id, 0, config.extended_types, false, |tree, ctx, _| {
                txn::set_acl(tree, ctx, path, entries, version)
            })
            .map_err(|f| store_error(f, OpKind::SetAcl, path))
        });
        let zxid = st.zxid;
        drop(st);
        acknowledged(&self.inner, delay, result, zxid, not_kept(OpKind::SetAcl, path))
    }

    /// One request, as ZooKeeper's `multiRead`: the session's state and injected faults apply
    /// to the request as a whole; each op then fails or succeeds on its own.
    fn multi_read<'a>(&'a self, ops: &'a [ReadOp]) -> Reply<'a, Vec<Result<ReadResult, StoreError>>> {
        let first = ops.first().map(ReadOp::path).unwrap_or("");
        let limit = limits::of(self.inner.config.max_request_bytes);
        let mut st = self.inner.state.lock();
        let Admission { delay, result } = st.admit(self.id, OpKind::Multi, first);
        let result = result.and_then(|()| limits::check(&limit, limit.multi_read(ops), OpKind::Multi, first));
        for op in ops {
            st.tree.fault_in(op.path());
        }
        let result = result.map(|()| {
            let auth = st.auth_of(self.id);
            ops.iter()
                .map(|op| {
                    let (kind, path) = match op {
                        ReadOp::GetData(path) => (OpKind::GetData, path.as_str()),
                        ReadOp::GetChildren(path) => (OpKind::GetChildren, path.as_str()),
                    };
                    validate(kind, path, false)?;
                    let node = st.tree.get(path).ok_or_else(|| StoreError::new(Code::NoNode, kind, path))?;
                    txn::check_perm(node, Perms::READ, auth).map_err(|f| store_error(f, kind, path))?;
                    Ok(match op {
                        ReadOp::GetData(_) => ReadResult::Data(node.data.clone(), node.stat()),
                        ReadOp::GetChildren(_) => {
                            ReadResult::Children(node.children.iter().cloned().collect())
                        }
                    })
                })
                .collect()
        });
        drop(st);
        ready(delay, result)
    }

    fn multi<'a>(&'a self, ops: &'a [Op]) -> Reply<'a, Vec<OpResult>, MultiError> {
        for (index, op) in ops.iter().enumerate() {
            let sequential = matches!(op, Op::Create { options, .. } if options.mode.is_sequential());
            if let Err(error) = validate(op.kind(), op.path(), sequential) {
                return ready(None, Err(MultiError::Op { index, error }));
            }
        }
        let config = &self.inner.config;
        let time = self.inner.now_ms();
        let mut st = self.inner.state.lock();
        let Admission { delay, result } = st.admit(self.id, OpKind::Multi, "");
        if let Err(error) = result {
            return ready(delay, Err(MultiError::Request(error)));
        }
        if ops.is_empty() {
            // Nothing to do; a real client gets an empty result without a transaction.
            return ready(delay, Ok(Vec::new()));
        }
        let limit = limits::of(config.max_request_bytes);
        let first = ops.first().map(Op::path).unwrap_or("");
        if let Err(error) = limits::check(&limit, limit.multi(ops), OpKind::Multi, first) {
            return ready(delay, Err(MultiError::Request(error)));
        }
        for op in ops {
            st.tree.fault_in_with_parent(op.path());
        }
        let mut failed_at = 0;
        let result = st.write(self.id, time, config.extended_types, true, |tree, ctx, log| {
            let mut results = Vec::with_capacity(ops.len());
            for (index, op) in ops.iter().enumerate() {
                failed_at = index;
                // Each op sees the effects of the ones before it: they are applied already,
                // and undone together if a later one fails.
                results.push(match op {
                    Op::Check { path, version } => {
                        txn::check(tree, ctx, path, *version).map(|()| OpResult::Check)?
                    }
                    Op::Create { path, data, options } => {
                        let created = txn::create(tree, ctx, path, data.as_deref(), options, log)?;
                        OpResult::Create(Created { path: created.path, stat: MULTI_CREATE_STAT })
                    }
                    Op::SetData { path, data, version } => {
                        OpResult::SetData(txn::set_data(tree, ctx, path, data.as_deref(), *version, log)?)
                    }
                    Op::Delete { path, version } => {
                        txn::delete(tree, ctx, path, *version, log).map(|()| OpResult::Delete)?
                    }
                });
            }
            Ok(results)
        });
        let zxid = st.zxid;
        drop(st);
        let result = result.map_err(|fail| {
            let op = &ops[failed_at];
            MultiError::Op { index: failed_at, error: store_error(fail, op.kind(), op.path()) }
        });
        let first = ops.first().map(Op::path).unwrap_or("");
        let not_kept = not_kept(OpKind::Multi, first);
        acknowledged(&self.inner, delay, result, zxid, |e| MultiError::Request(not_kept(e)))
    }

    fn add_watch<'a>(&'a self, path: &'a str, mode: WatchMode) -> Reply<'a, PersistentWatch> {
        let id = self.id;
        let weak = Arc::downgrade(&self.inner);
        self.read(OpKind::Watch, path, |st| {
            let (watch_id, rx) = st.watches.add_persistent(path, id, mode);
            let guard = WatchGuard { inner: weak, path: path.to_string(), id: watch_id };
            Ok(PersistentWatch::new(PersistentStream { rx, _guard: guard }))
        })
    }

    fn sync<'a>(&'a self, path: &'a str) -> Reply<'a, ()> {
        // Every request is applied when it is made: there is nothing to catch up with.
        self.read(OpKind::Sync, path, |_| Ok(()))
    }

    fn add_auth<'a>(&'a self, scheme: &'a str, auth: &'a [u8]) -> Reply<'a, ()> {
        let super_digest = self.inner.config.super_digest.as_deref();
        let mut st = self.inner.state.lock();
        let Admission { delay, result } = st.admit(self.id, OpKind::Auth, scheme);
        if let Err(e) = result {
            return ready(delay, Err(e));
        }
        let granted = match scheme {
            "digest" => {
                let id = acl::digest_id(&String::from_utf8_lossy(auth));
                let mut ids = Vec::new();
                if super_digest == Some(id.as_str()) {
                    ids.push(Identity::new("super", ""));
                }
                ids.push(Identity::new("digest", id));
                ids
            }
            // The ip provider grants the client's own address, which the session already has.
            "ip" => Vec::new(),
            _ => {
                // No provider for the scheme: the server fails the auth and drops the client.
                let expiry = st.abandon(self.id, SessionState::AuthFailed);
                drop(st);
                if let Some((epoch, timeout)) = expiry {
                    schedule_expiry(&self.inner, self.id, epoch, timeout);
                }
                let error = StoreError::new(Code::AuthFailed, OpKind::Auth, scheme)
                    .with_detail(format!("no authentication provider for scheme {scheme:?}"));
                return ready(delay, Err(error));
            }
        };
        if let Some(entry) = st.sessions.get_mut(&self.id) {
            for identity in granted {
                if !entry.auth.contains(&identity) {
                    entry.auth.push(identity);
                }
            }
        }
        drop(st);
        ready(delay, Ok(()))
    }

    /// Done once the end of the session (and of its ephemerals) is kept, as a write is.
    fn close(&self) -> Reply<'_, ()> {
        let mut st = self.inner.state.lock();
        st.end_session(self.id, SessionState::Closed, Some(SessionState::Closed));
        let zxid = st.zxid;
        drop(st);
        acknowledged(&self.inner, None, Ok(()), zxid, not_kept(OpKind::Close, ""))
    }

    fn session_id(&self) -> i64 {
        self.id
    }

    fn session_state(&self) -> watch::Receiver<SessionState> {
        self.state_rx.clone()
    }

    /// The emulator's `jute.maxbuffer` (`Config::max_request_bytes`); no chroot.
    fn request_limit(&self) -> RequestLimit {
        limits::of(self.inner.config.max_request_bytes)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let mut st = self.inner.state.lock();
        let Some(entry) = st.sessions.get_mut(&self.id) else {
            return;
        };
        entry.dropped = true;
        match entry.status {
            Status::Ended(_) => {
                st.sessions.remove(&self.id);
            }
            Status::Connected => {
                // The client went away without closing: the server keeps the session until
                // its timeout passes, like a real one.
                let expiry = st.disconnect(self.id);
                drop(st);
                if let Some((epoch, timeout)) = expiry {
                    schedule_expiry(&self.inner, self.id, epoch, timeout);
                }
            }
            // Their expiry timer is already running.
            Status::Disconnected | Status::Abandoned(_) => {}
        }
    }
}

/// The Stat a create inside a `multi` reports. ZooKeeper 3.8 answers such a create without a
/// Stat, and the client fills in this "invalid" one (checked on a real server); the emulator
/// answers the same, so code tested here does not come to rely on a Stat it will not get.
const MULTI_CREATE_STAT: Stat = Stat {
    czxid: -1,
    mzxid: -1,
    ctime: 0,
    mtime: 0,
    version: -1,
    cversion: -1,
    aversion: -1,
    ephemeral_owner: 0,
    data_length: 0,
    num_children: 0,
    pzxid: -1,
};

/// Removes a persistent watch from the emulator when its receiver is dropped.
struct WatchGuard {
    inner: Weak<Inner>,
    path: String,
    id: u64,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.state.lock().watches.remove(&self.path, self.id);
        }
    }
}

/// The event stream behind a [`PersistentWatch`].
struct PersistentStream {
    rx: mpsc::UnboundedReceiver<WatchEvent>,
    _guard: WatchGuard,
}

impl Stream for PersistentStream {
    type Item = WatchEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WatchEvent>> {
        self.rx.poll_recv(cx)
    }
}
