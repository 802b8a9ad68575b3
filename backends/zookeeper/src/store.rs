//! [`ZkStore`]: one ZooKeeper session, as a [`Store`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use parking_lot::Mutex;
use tokio::sync::watch;
use zczk_core::store::{
    Acl, Code, CreateOptions, Created, EventKind, MultiError, OneshotWatch, Op, OpKind, OpResult,
    PersistentWatch, ReadOp, ReadResult, Reply, RequestLimit, SessionState, Stat, Store, StoreError,
    WatchEvent, WatchMode,
};
use zookeeper_client as zk;

use crate::convert;

/// One ZooKeeper session over `zookeeper-client`, as a [`Store`].
///
/// Every request method sends its request before it returns (the client queues it to the
/// connection at once), so requests reach the server in call order and many can be in flight.
/// Made by [`crate::connect`] or [`crate::ZkConnector`].
pub struct ZkStore {
    /// The client, until [`Store::close`] takes it. Each request future holds a clone of the
    /// `Arc`, so the session is closed (the client's last handle dropped) only once the
    /// requests already in flight are answered. Persistent watches hold a weak reference, to
    /// set themselves again after a reconnection without keeping the session open.
    client: Arc<ClientSlot>,
    /// Id and password, so a test can join the session from a second connection.
    session: zk::SessionInfo,
    session_timeout: Duration,
    /// The connection string this session was opened with (servers and chroot).
    connection_string: String,
    /// The servers' `jute.maxbuffer` (see [`crate::ZkConnector::with_max_request`]).
    max_request: usize,
    state: watch::Receiver<SessionState>,
    /// Shared with the task that forwards the client's session states, so `close` can settle
    /// the state itself when no server answers.
    state_tx: Arc<watch::Sender<SessionState>>,
}

impl ZkStore {
    /// Wraps a connected client; starts the task that forwards its session states.
    pub(crate) fn new(client: zk::Client, connection_string: String, max_request: usize) -> ZkStore {
        let initial = convert::session_state(client.state());
        let state_tx = Arc::new(watch::Sender::new(initial));
        let state = state_tx.subscribe();
        tokio::spawn(forward_states(client.state_watcher(), state_tx.clone()));
        ZkStore {
            session: client.session().clone(),
            session_timeout: client.session_timeout(),
            connection_string,
            max_request,
            client: Arc::new(Mutex::new(Some(Arc::new(client)))),
            state,
            state_tx,
        }
    }

    /// The session timeout the server granted.
    pub fn session_timeout(&self) -> Duration {
        self.session_timeout
    }

    /// The connection string the session was opened with.
    pub fn connection_string(&self) -> &str {
        &self.connection_string
    }

    /// The session's id and password (for joining it from another connection in tests).
    #[cfg(feature = "test-util")]
    pub(crate) fn session_info(&self) -> &zk::SessionInfo {
        &self.session
    }

    /// Sends a request on the client and returns the future of its reply, mapped to our values
    /// and errors. `send` must call one client method and return its future: the request is
    /// sent during this call, not when the future is first polled.
    fn send<'a, T, F>(
        &'a self,
        op: OpKind,
        path: &'a str,
        send: impl FnOnce(&'a zk::Client) -> F,
    ) -> Reply<'a, T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, zk::Error>> + Send + 'a,
    {
        let Some(client) = self.client.lock().clone() else {
            return closed(op, path);
        };
        // SAFETY: the client lives in the `Arc`'s allocation, which does not move and is not
        // freed while `client` (moved into the returned `InFlight`) exists. The reference is
        // given only to `send`, which puts it into the reply future `F`; `InFlight` drops that
        // future before the `Arc` (field order), and `T: 'static` keeps the reference out of
        // the output. The client methods borrow `&self` only to strip the chroot from replies.
        let borrowed: &'a zk::Client = unsafe { &*Arc::as_ptr(&client) };
        let reply = send(borrowed).map(move |result| result.map_err(|e| convert::error(e, op, path)));
        Box::pin(InFlight { reply, _client: client })
    }
}

/// Where a [`ZkStore`] keeps its client until it is closed.
type ClientSlot = Mutex<Option<Arc<zk::Client>>>;

pin_project_lite::pin_project! {
    /// A reply future together with the client it borrows, kept alive until the future is
    /// dropped.
    struct InFlight<F> {
        // Declared first so it is dropped first: it may borrow from `_client`.
        #[pin]
        reply: F,
        _client: Arc<zk::Client>,
    }
}

impl<F: Future> Future for InFlight<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().reply.poll(cx)
    }
}

/// The reply to a request made after [`Store::close`].
fn closed<'a, T: Send + 'a>(op: OpKind, path: &str) -> Reply<'a, T> {
    let error = StoreError::new(Code::SessionClosed, op, path);
    Box::pin(futures::future::ready(Err(error)))
}

/// Copies the client's session states into our channel until a terminal one. A terminal state
/// already there (set by `close` when no server answered) is never replaced.
async fn forward_states(mut watcher: zk::StateWatcher, tx: Arc<watch::Sender<SessionState>>) {
    loop {
        let state = convert::session_state(watcher.changed().await);
        tx.send_if_modified(|current| {
            if current.is_terminal() || *current == state {
                return false;
            }
            *current = state;
            true
        });
        if state.is_terminal() {
            return;
        }
    }
}

/// A one-shot watch from the client's watcher. The client reports the end of the session as a
/// session event; that becomes [`EventKind::SessionEnded`].
fn oneshot(watcher: zk::OneshotWatcher, path: &str) -> OneshotWatch {
    let path = path.to_string();
    OneshotWatch::new(async move { convert::event(watcher.changed().await, &path) })
}

/// A persistent watch from the client's watcher. A terminal session state is the last event.
/// Dropping the stream drops the client's watcher, which removes the server's watch.
///
/// After a reconnection the watch is set again before it yields [`EventKind::Reconnected`]:
/// zookeeper-client 0.11 re-sends only one-shot watches when it reconnects (its
/// `resend_watches` never reaches the persistent kinds), so the server would otherwise have
/// forgotten this one and the stream would go silent.
fn persistent(
    watcher: zk::PersistentWatcher,
    path: &str,
    mode: zk::AddWatchMode,
    client: Weak<ClientSlot>,
) -> PersistentWatch {
    let watch = Rearming { watcher, path: path.to_string(), mode, client, disconnected: false };
    let events = futures::stream::unfold(Some(watch), |watch| async move {
        let mut watch = watch?;
        loop {
            let event = watch.watcher.changed().await;
            if convert::node_event(&event).is_some() {
                return Some((convert::event(event, &watch.path), Some(watch)));
            }
            let state = convert::session_state(event.session_state);
            if state.is_terminal() {
                // The client panics if asked for events after a terminal one: stop here.
                return Some((watch.ended(state), None));
            }
            match state {
                SessionState::Disconnected => watch.disconnected = true,
                SessionState::Connected if watch.disconnected => match watch.rearm().await {
                    Rearmed::Yes => {
                        let event = WatchEvent { kind: EventKind::Reconnected, path: watch.path.clone() };
                        return Some((event, Some(watch)));
                    }
                    // Gone again: the next reconnection tries again.
                    Rearmed::NotYet => {}
                    Rearmed::Closed => return Some((watch.ended(SessionState::Closed), None)),
                },
                _ => {}
            }
        }
    });
    PersistentWatch::new(events.boxed())
}

/// A persistent watch's client-side state, for setting it again after a reconnection.
struct Rearming {
    watcher: zk::PersistentWatcher,
    path: String,
    mode: zk::AddWatchMode,
    client: Weak<ClientSlot>,
    disconnected: bool,
}

enum Rearmed {
    Yes,
    NotYet,
    Closed,
}

impl Rearming {
    /// Sets the watch again. The old watcher is dropped only after the new one is in place, so
    /// the client does not ask the server to remove the watch.
    async fn rearm(&mut self) -> Rearmed {
        let Some(client) = self.client.upgrade().and_then(|slot| slot.lock().clone()) else {
            return Rearmed::Closed;
        };
        match client.watch(&self.path, self.mode).await {
            Ok(watcher) => {
                self.watcher = watcher;
                self.disconnected = false;
                Rearmed::Yes
            }
            // A lost session shows as a terminal event of the watcher still held.
            Err(e) => {
                tracing::debug!(path = %self.path, error = %e, "persistent watch not set again yet");
                Rearmed::NotYet
            }
        }
    }

    fn ended(&self, state: SessionState) -> WatchEvent {
        WatchEvent { kind: EventKind::SessionEnded(state), path: self.path.clone() }
    }
}

/// The client's create options for ours. The ACL list is converted by the caller and
/// borrowed here.
fn create_options<'a>(options: &CreateOptions, acl: &'a [zk::Acl]) -> zk::CreateOptions<'a> {
    let zk_options = convert::create_mode(options.mode).with_acls(zk::Acls::new(acl));
    match options.ttl {
        Some(ttl) => zk_options.with_ttl(ttl),
        None => zk_options,
    }
}

fn zk_acl(acl: &[Acl]) -> Vec<zk::Acl> {
    acl.iter().map(convert::acl_to_zk).collect()
}

/// `zookeeper-client` 0.11 has no way to send null data (its requests take `&[u8]`), and it
/// reads null as empty: so this backend refuses null writes rather than write empty data.
fn null_data(op: OpKind, path: &str) -> StoreError {
    StoreError::new(Code::Unimplemented, op, path)
        .with_detail("null data cannot be sent through zookeeper-client 0.11; send empty data")
}

/// The data a request sends, or the refusal of null (see [`null_data`]).
fn sendable<'a>(data: Option<&'a [u8]>, op: OpKind, path: &str) -> Result<&'a [u8], StoreError> {
    data.ok_or_else(|| null_data(op, path))
}

impl Store for ZkStore {
    /// Null data (`None`) is refused with `Unimplemented`: see [`null_data`].
    fn create<'a>(
        &'a self,
        path: &'a str,
        data: Option<&'a [u8]>,
        options: &'a CreateOptions,
    ) -> Reply<'a, Created> {
        let data = match sendable(data, OpKind::Create, path) {
            Ok(data) => data,
            Err(e) => return futures::future::ready(Err(e)).boxed(),
        };
        let acl = zk_acl(&options.acl);
        let sequential = options.mode.is_sequential();
        self.send(OpKind::Create, path, |client| {
            client.create(path, data, &create_options(options, &acl)).map(move |result| {
                result.map(|(stat, sequence)| Created {
                    // The client checks the server's name against `path` and hands back only the
                    // number; its Display is ZooKeeper's zero-padded form.
                    path: if sequential { format!("{path}{sequence}") } else { path.to_string() },
                    stat: convert::stat(&stat),
                })
            })
        })
    }

    fn delete<'a>(&'a self, path: &'a str, version: Option<i32>) -> Reply<'a, ()> {
        self.send(OpKind::Delete, path, |client| client.delete(path, version))
    }

    fn exists<'a>(&'a self, path: &'a str) -> Reply<'a, Option<Stat>> {
        self.send(OpKind::Exists, path, |client| {
            client.check_stat(path).map(|result| result.map(|stat| stat.as_ref().map(convert::stat)))
        })
    }

    fn exists_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Stat>, OneshotWatch)> {
        self.send(OpKind::Exists, path, |client| {
            client.check_and_watch_stat(path).map(move |result| {
                result.map(|(stat, watcher)| (stat.as_ref().map(convert::stat), oneshot(watcher, path)))
            })
        })
    }

    /// Null data reads as `Some` (empty): `zookeeper-client` 0.11 does not keep them apart.
    fn get_data<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Vec<u8>>, Stat)> {
        self.send(OpKind::GetData, path, |client| {
            client.get_data(path).map(|result| result.map(|(data, stat)| (Some(data), convert::stat(&stat))))
        })
    }

    /// Null data reads as `Some` (empty), as in [`Store::get_data`].
    fn get_data_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Vec<u8>>, Stat, OneshotWatch)> {
        self.send(OpKind::GetData, path, |client| {
            client.get_and_watch_data(path).map(move |result| {
                result.map(|(data, stat, watcher)| (Some(data), convert::stat(&stat), oneshot(watcher, path)))
            })
        })
    }

    /// Null data (`None`) is refused with `Unimplemented`: see [`null_data`].
    fn set_data<'a>(
        &'a self,
        path: &'a str,
        data: Option<&'a [u8]>,
        version: Option<i32>,
    ) -> Reply<'a, Stat> {
        let data = match sendable(data, OpKind::SetData, path) {
            Ok(data) => data,
            Err(e) => return futures::future::ready(Err(e)).boxed(),
        };
        self.send(OpKind::SetData, path, |client| {
            client.set_data(path, data, version).map(|result| result.map(|stat| convert::stat(&stat)))
        })
    }

    fn get_children<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<String>, Stat)> {
        self.send(OpKind::GetChildren, path, |client| {
            client
                .get_children(path)
                .map(|result| result.map(|(children, stat)| (children, convert::stat(&stat))))
        })
    }

    fn get_children_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<String>, Stat, OneshotWatch)> {
        self.send(OpKind::GetChildren, path, |client| {
            client.get_and_watch_children(path).map(move |result| {
                result
                    .map(|(children, stat, watcher)| (children, convert::stat(&stat), oneshot(watcher, path)))
            })
        })
    }

    fn get_acl<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<Acl>, Stat)> {
        self.send(OpKind::GetAcl, path, |client| {
            client.get_acl(path).map(|result| {
                result
                    .map(|(acl, stat)| (acl.iter().map(convert::acl_from_zk).collect(), convert::stat(&stat)))
            })
        })
    }

    fn set_acl<'a>(&'a self, path: &'a str, acl: &'a [Acl], version: Option<i32>) -> Reply<'a, Stat> {
        let acl = zk_acl(acl);
        self.send(OpKind::SetAcl, path, |client| {
            client.set_acl(path, &acl, version).map(|result| result.map(|stat| convert::stat(&stat)))
        })
    }

    fn multi<'a>(&'a self, ops: &'a [Op]) -> Reply<'a, Vec<OpResult>, MultiError> {
        // Errors of the request as a whole name the first op's path: there is no better one.
        let first_path = ops.first().map(Op::path).unwrap_or("");
        let reply = self.send(OpKind::Multi, first_path, |client| {
            let mut writer = client.new_multi_writer();
            for (index, op) in ops.iter().enumerate() {
                let data = match op {
                    Op::Create { data, .. } | Op::SetData { data, .. } => {
                        match sendable(data.as_deref(), op.kind(), op.path()) {
                            Ok(data) => data,
                            Err(error) => {
                                let failed = MultiError::Op { index, error };
                                return futures::future::ready(Ok(Err(failed))).left_future();
                            }
                        }
                    }
                    Op::Check { .. } | Op::Delete { .. } => &[],
                };
                let added = match op {
                    Op::Check { path, version } => writer.add_check_version(path, *version),
                    Op::Create { path, options, .. } => {
                        let acl = zk_acl(&options.acl);
                        writer.add_create(path, data, &create_options(options, &acl))
                    }
                    Op::SetData { path, version, .. } => writer.add_set_data(path, data, *version),
                    Op::Delete { path, version } => writer.add_delete(path, *version),
                };
                // The client refuses a bad argument (a bad path, ...) before sending anything:
                // report it as the failing op, as the server does for the ones it checks.
                if let Err(e) = added {
                    let failed = MultiError::Op { index, error: convert::error(e, op.kind(), op.path()) };
                    return futures::future::ready(Ok(Err(failed))).left_future();
                }
            }
            // Op failures are a result of the transaction (`Ok(Err(..))`); only a failure of
            // the request itself goes through `send`'s error mapping.
            writer
                .commit()
                .map(move |result| match result {
                    Ok(results) => results.into_iter().map(op_result).collect::<Result<_, _>>().map(Ok),
                    Err(zk::MultiWriteError::OperationFailed { index, source }) => {
                        let (kind, path) =
                            ops.get(index).map_or((OpKind::Multi, ""), |op| (op.kind(), op.path()));
                        Ok(Err(MultiError::Op { index, error: convert::error(source, kind, path) }))
                    }
                    Err(zk::MultiWriteError::RequestFailed { source }) => Err(source),
                })
                .right_future()
        });
        Box::pin(reply.map(|result| result.map_err(MultiError::Request).and_then(|outcome| outcome)))
    }

    fn multi_read<'a>(&'a self, ops: &'a [ReadOp]) -> Reply<'a, Vec<Result<ReadResult, StoreError>>> {
        // Errors of the request as a whole name the first op's path: there is no better one.
        let first_path = ops.first().map(ReadOp::path).unwrap_or("");
        self.send(OpKind::Multi, first_path, |client| {
            let mut reader = client.new_multi_reader();
            // A path the client refuses is left out of the request and answered with its error.
            let refused: Vec<Option<zk::Error>> = ops
                .iter()
                .map(|op| match op {
                    ReadOp::GetData(path) => reader.add_get_data(path),
                    ReadOp::GetChildren(path) => reader.add_get_children(path),
                })
                .map(Result::err)
                .collect();
            reader.commit().map(move |result| {
                let mut answers = result?.into_iter();
                let results = ops.iter().zip(refused).map(|(op, refused)| {
                    let kind = match op {
                        ReadOp::GetData(_) => OpKind::GetData,
                        ReadOp::GetChildren(_) => OpKind::GetChildren,
                    };
                    if let Some(e) = refused {
                        return Err(convert::error(e, kind, op.path()));
                    }
                    match answers.next() {
                        Some(zk::MultiReadResult::Data { data, stat }) => {
                            Ok(ReadResult::Data(Some(data), convert::stat(&stat)))
                        }
                        Some(zk::MultiReadResult::Children { children }) => {
                            Ok(ReadResult::Children(children))
                        }
                        Some(zk::MultiReadResult::Error { err }) => Err(convert::error(err, kind, op.path())),
                        _ => Err(StoreError::new(Code::MarshallingError, kind, op.path())
                            .with_detail("the multi-read reply has no answer for this op")),
                    }
                });
                Ok(results.collect())
            })
        })
    }

    fn add_watch<'a>(&'a self, path: &'a str, mode: WatchMode) -> Reply<'a, PersistentWatch> {
        let mode = match mode {
            WatchMode::Persistent => zk::AddWatchMode::Persistent,
            WatchMode::PersistentRecursive => zk::AddWatchMode::PersistentRecursive,
        };
        let slot = Arc::downgrade(&self.client);
        self.send(OpKind::Watch, path, |client| {
            client
                .watch(path, mode)
                .map(move |result| result.map(|watcher| persistent(watcher, path, mode, slot)))
        })
    }

    fn sync<'a>(&'a self, path: &'a str) -> Reply<'a, ()> {
        self.send(OpKind::Sync, path, |client| client.sync(path))
    }

    fn add_auth<'a>(&'a self, scheme: &'a str, auth: &'a [u8]) -> Reply<'a, ()> {
        self.send(OpKind::Auth, scheme, |client| client.auth(scheme, auth))
    }

    fn close(&self) -> Reply<'_, ()> {
        // Dropping the last handle makes the client send CloseSession once the requests in
        // flight are answered; the session's end shows in the state channel.
        drop(self.client.lock().take());
        let mut state = self.state.clone();
        let state_tx = self.state_tx.clone();
        let limit = self.session_timeout;
        Box::pin(async move {
            let ended = tokio::time::timeout(limit, state.wait_for(|s| s.is_terminal())).await;
            if ended.is_err() {
                // No server answered within the session timeout: the server has expired the
                // session by now (its ephemerals are gone), and this store can't be used again.
                tracing::warn!("no ZooKeeper server answered the close of the session; taking it as closed");
                state_tx.send_if_modified(|current| {
                    let changed = !current.is_terminal();
                    if changed {
                        *current = SessionState::Closed;
                    }
                    changed
                });
            }
            Ok(())
        })
    }

    fn session_id(&self) -> i64 {
        self.session.id().0
    }

    fn session_state(&self) -> watch::Receiver<SessionState> {
        self.state.clone()
    }

    /// The `jute.maxbuffer` the connector was given (a server cannot be asked for its own;
    /// ZooKeeper's default unless told), with the chroot of the connection string, which the
    /// client puts before every path.
    fn request_limit(&self) -> RequestLimit {
        let chroot = self.connection_string.find('/').map_or("", |at| &self.connection_string[at..]);
        RequestLimit { max: self.max_request, ..RequestLimit::with_chroot(chroot) }
    }
}

/// Our result for one op of a successful multi.
fn op_result(result: zk::MultiWriteResult) -> Result<OpResult, zk::Error> {
    Ok(match result {
        zk::MultiWriteResult::Check => OpResult::Check,
        zk::MultiWriteResult::Delete => OpResult::Delete,
        zk::MultiWriteResult::Create { path, stat } => {
            OpResult::Create(Created { path, stat: convert::stat(&stat) })
        }
        zk::MultiWriteResult::SetData { stat } => OpResult::SetData(convert::stat(&stat)),
        // The enum is open for kinds of ops this adapter never sends.
        other => return Err(zk::Error::UnexpectedError(format!("unexpected multi result {other:?}"))),
    })
}

impl std::fmt::Debug for ZkStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkStore")
            .field("connection_string", &self.connection_string)
            .field("session_id", &format_args!("{:#x}", self.session.id().0))
            .field("state", &*self.state.borrow())
            .finish()
    }
}
