//! One client connection: the handshake, then requests in, replies and notifications out.
//!
//! Replies leave in request order. Before each reply, every watch event already delivered to
//! the connection is sent, so a client always hears of a change before it sees a reply that
//! reflects it (ZooKeeper's ordering guarantee).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::{AbortHandle, Abortable, BoxFuture};
use futures::stream::{BoxStream, FuturesOrdered, FuturesUnordered, SelectAll};
use futures::{FutureExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::task::AbortOnDropHandle;
use zczk_core::store::{Code, EventKind, SessionState, Store, WatchEvent, WatchMode};

use super::ops::{self, event, NewWatch, Outcome, Table, Work};
use super::proto::{self, connect_response, decode_request, ConnectRequest, Request, WatcherType};
use super::shared::{Attach, ConnStats, Shared};
use crate::session::Session;

/// How long a new connection may take to send its connect request.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames read ahead of the requests being handled.
const READ_AHEAD: usize = 1024;
/// Bytes of frames read ahead, beyond one frame of the largest size: bounds a connection's
/// memory when its client sends faster than it reads the replies.
const READ_AHEAD_BYTES: usize = 4 << 20;
/// Requests handled before the replies are flushed, when more keep coming.
const BATCH: usize = 256;

/// A frame read ahead, holding its share of the read-ahead budget until it is handled.
struct Incoming {
    bytes: Vec<u8>,
    _budget: tokio::sync::OwnedSemaphorePermit,
}

/// Serves one accepted connection to its end.
pub(crate) async fn serve(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let (mut read, write) = stream.into_split();
    let mut out = BufWriter::with_capacity(64 * 1024, write);
    // The first four bytes: a frame length, or one of ZooKeeper's four-letter words.
    let mut head = [0u8; 4];
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, read.read_exact(&mut head)).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => return,
        Err(_) => {
            tracing::warn!(%peer, "closing a connection that sent no connect request");
            return;
        }
    }
    if head.iter().all(u8::is_ascii_lowercase) {
        super::admin::command(&shared, head, read, out, peer).await;
        return;
    }
    let (frames_tx, mut frames) = mpsc::channel(READ_AHEAD);
    // Aborted when dropped: the reader ends with this function, whichever way it returns.
    let reader = tokio::spawn(read_frames(read, head, frames_tx, shared.max_frame, peer));
    let _reader = AbortOnDropHandle::new(reader);
    let first = match tokio::time::timeout(HANDSHAKE_TIMEOUT, frames.recv()).await {
        Ok(Some(frame)) => frame.bytes,
        Ok(None) => return,
        Err(_) => {
            tracing::warn!(%peer, "closing a connection that sent no connect request");
            return;
        }
    };
    let request = match ConnectRequest::decode(&first) {
        Ok(request) => request,
        Err(error) => {
            tracing::warn!(%peer, %error, "closing a connection: bad connect request");
            return;
        }
    };
    let attached = match shared.attach(&request, peer) {
        Attach::Session(attached) => attached,
        Attach::Expired => {
            // As the server answers a session it no longer has: timeout 0, then close.
            let _ = out.write_all(&connect_response(0, 0, &[0; proto::PASSWORD_LEN], false)).await;
            let _ = out.flush().await;
            return;
        }
        Attach::Refused(why) => {
            tracing::info!(%peer, why, "refusing a connection");
            return;
        }
    };
    let session = attached.session.clone();
    // A new session is kept before its client hears of it (a `file:` store), as a write.
    if request.session_id == 0 {
        if let Err(error) = session.kept().await {
            tracing::error!(%peer, %error, "closing a connection: its new session was not kept");
            shared.detach(session.id(), attached.conn, false);
            return;
        }
    }
    let timeout = session.timeout();
    let response =
        connect_response(timeout.as_millis() as i32, session.id(), &attached.password, attached.read_only);
    if out.write_all(&response).await.is_err() || out.flush().await.is_err() {
        shared.detach(session.id(), attached.conn, false);
        return;
    }
    tracing::debug!(%peer, session = format_args!("{:#x}", session.id()), ?timeout, "session attached");
    let mut conn = Conn {
        shared: shared.clone(),
        stats: attached.stats.clone(),
        session,
        peer,
        out,
        pending: FuturesOrdered::new(),
        oneshots: FuturesUnordered::new(),
        oneshot_keys: HashMap::new(),
        persistent: SelectAll::new(),
        persistent_keys: HashMap::new(),
        read_only: attached.read_only,
        stale: None,
    };
    let end = conn.run(&mut frames, attached.kicked, timeout).await;
    let id = conn.session.id();
    match end {
        End::Silent => {
            tracing::info!(%peer, session = format_args!("{id:#x}"), "no request or ping within the session timeout: expiring the session");
            shared.detach(id, attached.conn, true);
        }
        End::Closed | End::Dropped => shared.detach(id, attached.conn, false),
    }
}

/// Reads length-prefixed frames into `frames` (the first length is `head`, already read)
/// until the connection ends or sends a frame that is negative or longer than `max`.
async fn read_frames(
    mut read: OwnedReadHalf,
    head: [u8; 4],
    frames: mpsc::Sender<Incoming>,
    max: usize,
    peer: SocketAddr,
) {
    let mut read_buf = tokio::io::BufReader::with_capacity(64 * 1024, &mut read);
    let budget = Arc::new(tokio::sync::Semaphore::new(READ_AHEAD_BYTES + max));
    let mut len = head;
    let mut first = true;
    loop {
        if !first {
            match read_buf.read_exact(&mut len).await {
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return,
                Err(error) => {
                    tracing::debug!(%peer, %error, "connection read failed");
                    return;
                }
            }
        }
        first = false;
        let len = i32::from_be_bytes(len);
        if len < 0 || !crate::limits::of(max).fits(len as usize) {
            tracing::warn!(%peer, len, max, "closing a connection: frame length out of bounds");
            return;
        }
        // Wait for earlier frames to be handled before taking more memory.
        let Ok(permit) = budget.clone().acquire_many_owned(len.max(1) as u32).await else {
            return;
        };
        let mut frame = vec![0; len as usize];
        if let Err(error) = read_buf.read_exact(&mut frame).await {
            tracing::warn!(%peer, len, %error, "closing a connection: truncated frame");
            return;
        }
        if frames.send(Incoming { bytes: frame, _budget: permit }).await.is_err() {
            return;
        }
    }
}

/// Why a connection ended.
enum End {
    /// The client, the server or a fault closed it; the session stays (if it is alive).
    Closed,
    /// The connection broke or the client sent garbage.
    Dropped,
    /// The client sent nothing for the whole session timeout.
    Silent,
}

type OneshotFuture = Abortable<BoxFuture<'static, (String, Table, WatchEvent)>>;
type PersistentStream = futures::stream::Abortable<BoxStream<'static, (bool, WatchEvent)>>;

struct Conn {
    shared: Arc<Shared>,
    /// Counts for the four-letter words.
    stats: Arc<ConnStats>,
    session: Arc<Session>,
    peer: SocketAddr,
    out: BufWriter<OwnedWriteHalf>,
    /// Replies waiting for an injected delay, and every reply queued behind one.
    pending: FuturesOrdered<Work>,
    oneshots: FuturesUnordered<OneshotFuture>,
    /// One watch per path and table, as the server keeps one per connection.
    oneshot_keys: HashMap<(String, Table), AbortHandle>,
    persistent: SelectAll<PersistentStream>,
    /// One persistent watch per path, in one mode, as the server keeps one per connection:
    /// a later addWatch on the path replaces the earlier one, so no change is told twice.
    persistent_keys: HashMap<String, (WatchMode, AbortHandle)>,
    /// Served by an ensemble member cut off from its quorum: writes fail with NotReadOnly.
    read_only: bool,
    /// For a lagging ensemble member: the session plain reads go to, on the view it is on.
    stale: Option<(u64, Arc<Session>)>,
}

/// Polls `work` once, which applies its request now; returns it if its reply must wait.
fn start(mut work: Work) -> Result<Outcome, Work> {
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    match work.as_mut().poll(&mut cx) {
        Poll::Ready(outcome) => Ok(outcome),
        Poll::Pending => Err(work),
    }
}

/// Whether `request` changes the tree (a read-only server refuses it).
fn is_write(request: &Request) -> bool {
    matches!(
        request,
        Request::Create(_)
            | Request::Delete { .. }
            | Request::SetData { .. }
            | Request::SetAcl { .. }
            | Request::Multi(_)
            | Request::Reconfig(_)
    )
}

fn event_type(kind: EventKind) -> Option<i32> {
    match kind {
        EventKind::NodeCreated => Some(event::NODE_CREATED),
        EventKind::NodeDeleted => Some(event::NODE_DELETED),
        EventKind::NodeDataChanged => Some(event::NODE_DATA_CHANGED),
        EventKind::NodeChildrenChanged => Some(event::NODE_CHILDREN_CHANGED),
        // The client learns of its session's end from the connection, not from a watch.
        EventKind::SessionEnded(_) => None,
        // The client re-arms its watches itself when it reconnects.
        EventKind::Reconnected => None,
    }
}

impl Conn {
    async fn run(
        &mut self,
        frames: &mut mpsc::Receiver<Incoming>,
        mut kicked: tokio::sync::oneshot::Receiver<()>,
        timeout: Duration,
    ) -> End {
        let mut state = self.session.session_state();
        let mut shutdown = self.shared.shutdown.clone();
        let silence = tokio::time::sleep(timeout);
        tokio::pin!(silence);
        loop {
            let step = tokio::select! {
                biased;
                _ = &mut kicked => Err(End::Closed),
                _ = shutdown.changed() => Err(End::Closed),
                changed = state.changed() => match changed {
                    Ok(()) if *state.borrow_and_update() == SessionState::Connected => Ok(()),
                    // Disconnected by a fault, expired or closed: the client must reconnect.
                    _ => Err(End::Closed),
                },
                frame = frames.recv() => match frame {
                    None => Err(End::Dropped),
                    Some(frame) => {
                        silence.as_mut().reset(Instant::now() + timeout);
                        self.requests(frame.bytes, frames).await
                    }
                },
                Some(outcome) = self.pending.next(), if !self.pending.is_empty() => {
                    self.reply(outcome).await
                }
                Some(fired) = self.oneshots.next(), if !self.oneshots.is_empty() => {
                    let mut batch = Vec::new();
                    self.oneshot_fired(fired, &mut batch);
                    self.drain(batch).await
                }
                Some(fired) = self.persistent.next(), if !self.persistent.is_empty() => {
                    self.drain(vec![(fired.1, true)]).await
                }
                () = &mut silence => Err(End::Silent),
            };
            if let Err(end) = step {
                let _ = self.out.flush().await;
                return end;
            }
            if !self.out.buffer().is_empty() && self.out.flush().await.is_err() {
                return End::Dropped;
            }
        }
    }

    /// Handles `first` and the frames already waiting behind it.
    async fn requests(&mut self, first: Vec<u8>, frames: &mut mpsc::Receiver<Incoming>) -> Result<(), End> {
        self.request(first).await?;
        for _ in 1..BATCH {
            match frames.try_recv() {
                Ok(frame) => self.request(frame.bytes).await?,
                Err(_) => break,
            }
        }
        Ok(())
    }

    async fn request(&mut self, frame: Vec<u8>) -> Result<(), End> {
        self.stats.received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (xid, kind, request) = match decode_request(&frame) {
            Ok(decoded) => decoded,
            Err(error) => {
                tracing::warn!(peer = %self.peer, session = format_args!("{:#x}", self.session.id()), %error, "closing a connection: bad request");
                return Err(End::Dropped);
            }
        };
        tracing::trace!(xid, kind, ?request, "request");
        let work = match request {
            // The server answers every ping with the ping xid, whatever xid it came with.
            Request::Ping => futures::future::ready(Outcome::empty(proto::xid::PING)).boxed(),
            Request::RemoveWatches { path, kind, remove } => {
                futures::future::ready(self.remove_watches(xid, &path, kind, remove)).boxed()
            }
            request if self.read_only && is_write(&request) => {
                futures::future::ready(Outcome::error(xid, Code::NotReadOnly)).boxed()
            }
            Request::Reconfig(body) => match &self.shared.member {
                Some(member) => {
                    futures::future::ready(ops::reconfig(member, &self.session, xid, &body)).boxed()
                }
                None => ops::work(&self.session, xid, Request::Reconfig(body)),
            },
            request => match self.lagging_reader(&request) {
                Some(stale) => ops::work(&stale, xid, request),
                None => ops::work(&self.session, xid, request),
            },
        };
        match start(work) {
            Ok(outcome) if self.pending.is_empty() => self.reply(outcome).await,
            Ok(outcome) => {
                self.pending.push_back(futures::future::ready(outcome).boxed());
                Ok(())
            }
            Err(work) => {
                self.pending.push_back(work);
                Ok(())
            }
        }
    }

    /// On a lagging ensemble member: the session a plain read is served by (`sync` brings the
    /// member up to date first).
    fn lagging_reader(&mut self, request: &Request) -> Option<Arc<Session>> {
        let member = self.shared.member.as_ref()?;
        let plain_read = match request {
            Request::Sync { .. } => {
                member.catch_up();
                false
            }
            Request::Exists { watch, .. }
            | Request::GetData { watch, .. }
            | Request::GetChildren { watch, .. } => !watch,
            Request::GetAcl { .. } => true,
            _ => false,
        };
        let view = member.lagging_view().filter(|_| plain_read)?;
        if self.stale.as_ref().map(|(generation, _)| *generation) != Some(view.generation) {
            let reader = view.tree.session_as(self.session.identities());
            self.stale = Some((view.generation, Arc::new(reader)));
        }
        self.stale.as_ref().map(|(_, reader)| reader.clone())
    }

    /// Writes a reply, after the notifications it must follow.
    async fn reply(&mut self, mut outcome: Outcome) -> Result<(), End> {
        // Read the zxid first: every event of a change up to it is delivered by now.
        let zxid = self.shared.emulator.last_zxid();
        self.drain(Vec::new()).await?;
        for (kind, path) in std::mem::take(&mut outcome.events) {
            self.write(&proto::notification(kind, &path)).await?;
        }
        proto::set_zxid(&mut outcome.frame, zxid);
        self.write(&outcome.frame).await?;
        for watch in outcome.watches {
            self.add_watch(watch);
        }
        if outcome.close {
            return Err(End::Closed);
        }
        Ok(())
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), End> {
        self.stats.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.out.write_all(bytes).await.map_err(|_| End::Dropped)
    }

    fn add_watch(&mut self, watch: NewWatch) {
        match watch {
            NewWatch::Oneshot { path, table, watch } => {
                let key = (path, table);
                if self.oneshot_keys.contains_key(&key) {
                    // Already watched: the server keeps one watch per path for a connection.
                    return;
                }
                let (path, table) = key.clone();
                let fut: BoxFuture<'static, _> = watch.map(move |event| (path, table, event)).boxed();
                let (fut, handle) = futures::future::abortable(fut);
                self.oneshot_keys.insert(key, handle);
                self.oneshots.push(fut);
            }
            NewWatch::Persistent { path, mode, watch } => {
                if self.persistent_keys.get(&path).is_some_and(|(held, _)| *held == mode) {
                    return;
                }
                let stream: BoxStream<'static, _> = watch.map(|event| (true, event)).boxed();
                let (stream, handle) = futures::stream::abortable(stream);
                if let Some((_, earlier)) = self.persistent_keys.insert(path, (mode, handle)) {
                    earlier.abort();
                }
                self.persistent.push(stream);
            }
        }
    }

    /// Notes a fired one-shot watch; a deletion fires the path's watches in both tables, which
    /// the server reports once.
    fn oneshot_fired(
        &mut self,
        fired: Result<(String, Table, WatchEvent), futures::future::Aborted>,
        batch: &mut Vec<(WatchEvent, bool)>,
    ) {
        let Ok((path, table, event)) = fired else {
            return;
        };
        self.oneshot_keys.remove(&(path.clone(), table));
        if event.kind == EventKind::NodeDeleted {
            let other = match table {
                Table::Data => Table::Child,
                Table::Child => Table::Data,
            };
            if let Some(handle) = self.oneshot_keys.remove(&(path, other)) {
                handle.abort();
            }
        }
        batch.push((event, false));
    }

    /// Sends every watch event already delivered (plus `batch`), once per change: a one-shot
    /// event that a persistent watch also reports is sent once, as the server notifies a
    /// connection once per change.
    async fn drain(&mut self, mut batch: Vec<(WatchEvent, bool)>) -> Result<(), End> {
        loop {
            let mut more = false;
            if !self.oneshots.is_empty() {
                if let Some(Some(fired)) = self.oneshots.next().now_or_never() {
                    self.oneshot_fired(fired, &mut batch);
                    more = true;
                }
            }
            if !self.persistent.is_empty() {
                if let Some(Some((_, event))) = self.persistent.next().now_or_never() {
                    batch.push((event, true));
                    more = true;
                }
            }
            if !more {
                break;
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        let mut sent: Vec<(i32, &str)> = Vec::new();
        for (event, persistent) in &batch {
            let Some(kind) = event_type(event.kind) else { continue };
            if !persistent {
                let dup = batch.iter().any(|(e, p)| *p && e.kind == event.kind && e.path == event.path)
                    || sent.contains(&(kind, event.path.as_str()));
                if dup {
                    continue;
                }
            }
            sent.push((kind, event.path.as_str()));
        }
        let frames: Vec<Vec<u8>> = sent.iter().map(|(kind, path)| proto::notification(*kind, path)).collect();
        for frame in frames {
            self.write(&frame).await?;
        }
        Ok(())
    }

    /// checkWatches / removeWatches, on the watches this connection holds.
    fn remove_watches(&mut self, xid: i32, path: &str, kind: WatcherType, remove: bool) -> Outcome {
        let tables: &[Table] = match kind {
            WatcherType::Children => &[Table::Child],
            WatcherType::Data => &[Table::Data],
            WatcherType::Any => &[Table::Data, Table::Child],
            WatcherType::Persistent | WatcherType::PersistentRecursive => &[],
        };
        let modes: &[WatchMode] = match kind {
            WatcherType::Persistent => &[WatchMode::Persistent],
            WatcherType::PersistentRecursive => &[WatchMode::PersistentRecursive],
            WatcherType::Any => &[WatchMode::Persistent, WatchMode::PersistentRecursive],
            WatcherType::Children | WatcherType::Data => &[],
        };
        let mut found = false;
        for table in tables {
            let key = (path.to_string(), *table);
            found |= self.oneshot_keys.contains_key(&key);
            if remove {
                if let Some(handle) = self.oneshot_keys.remove(&key) {
                    handle.abort();
                }
            }
        }
        if self.persistent_keys.get(path).is_some_and(|(held, _)| modes.contains(held)) {
            found = true;
            if remove {
                if let Some((_, handle)) = self.persistent_keys.remove(path) {
                    handle.abort();
                }
            }
        }
        if found {
            Outcome::empty(xid)
        } else {
            Outcome::error(xid, Code::NoWatcher)
        }
    }
}
