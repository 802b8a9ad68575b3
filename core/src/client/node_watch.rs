//! A task that keeps one node's data (or children) current with a persistent watch, across
//! reconnection and session expiry, and pokes a `Notify` whenever what it holds changes.
//!
//! Live views are built from these: a properties view has one for its node and one for each
//! node its property links lead to.

use std::sync::Arc;

use futures::StreamExt;
use parking_lot::Mutex;
use serde_json::{Map, Value};
use tokio::sync::{oneshot, Notify};

use super::backoff::Backoff;
use super::ZooKeeper;
use crate::props;
use crate::store::{Code, EventKind, Store, StoreError, WatchMode};

/// What to keep current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Watched {
    /// The node's data, decoded as properties.
    Data,
    /// The node's children names.
    Children,
}

/// The latest state of a watched node.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct NodeState {
    /// False before the first read finished.
    pub loaded: bool,
    /// False when the node does not exist.
    pub exists: bool,
    /// The decoded properties (for `Watched::Data`).
    pub properties: Map<String, Value>,
    /// The data version read.
    pub version: i32,
    /// The children, as the server lists them (for `Watched::Children`).
    pub children: Vec<String>,
    /// The last error reading the node, if any (logged; the watch goes on).
    pub error: Option<StoreError>,
}

/// A handle to the watching task; dropping it stops the task, which drops the store's watch.
pub(crate) struct NodeWatch {
    pub path: String,
    pub state: Arc<Mutex<NodeState>>,
    _stop: oneshot::Sender<()>,
}

impl NodeWatch {
    /// Starts watching `path`; `notify` is poked after every change of the state.
    pub fn start<S: Store + 'static>(
        zk: &ZooKeeper<S>,
        path: String,
        what: Watched,
        notify: Arc<Notify>,
    ) -> Self {
        let state = Arc::new(Mutex::new(NodeState::default()));
        let (stop, stopped) = oneshot::channel();
        let task = Task { zk: zk.clone(), path: path.clone(), what, state: state.clone(), notify };
        tokio::spawn(task.run(stopped));
        NodeWatch { path, state, _stop: stop }
    }
}

/// Why watching on one session stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The handle was dropped.
    Stopped,
    /// The session is over: wait for the client's next one.
    Session,
    /// The watch could not be set on a live session: try again shortly.
    Failed,
}

struct Task<S: Store + 'static> {
    zk: ZooKeeper<S>,
    path: String,
    what: Watched,
    state: Arc<Mutex<NodeState>>,
    notify: Arc<Notify>,
}

impl<S: Store + 'static> Task<S> {
    /// Watches on each session of the client in turn, until stopped or the client is closed.
    async fn run(self, mut stopped: oneshot::Receiver<()>) {
        let mut generation = self.zk.generation();
        // For trying again to set a watch that could not be set on a live session (the
        // connection is down, the server refused).
        let mut retrying = Backoff::new();
        loop {
            // Mark the generation seen *before* taking the session: a session installed after
            // this point bumps it, so the wait below cannot miss it.
            generation.borrow_and_update();
            let store = self.zk.store();
            let ended = self.watch_session(&*store, &mut stopped).await;
            if ended == Ended::Stopped || self.zk.is_closed() {
                return;
            }
            let retry = match ended {
                Ended::Failed => Some(retrying.delay()),
                Ended::Stopped | Ended::Session => {
                    retrying.reset();
                    None
                }
            };
            tokio::select! {
                _ = &mut stopped => return,
                changed = generation.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(retry.unwrap_or_default()), if retry.is_some() => {}
            }
        }
    }

    /// Watches on one session: sets the watch, then reads (so no change falls between the read
    /// and the watch), then re-reads on each event, `Reconnected` included (a persistent watch
    /// is not told what changed while the connection was down).
    async fn watch_session(&self, store: &S, stopped: &mut oneshot::Receiver<()>) -> Ended {
        let mut watch = match store.add_watch(&self.path, WatchMode::Persistent).await {
            Ok(watch) => watch,
            Err(e) => {
                let session_lost = e.code.is_session_lost();
                self.publish(Err(e));
                return if session_lost { Ended::Session } else { Ended::Failed };
            }
        };
        let mut session = store.session_state();
        session.borrow_and_update();
        self.refresh(store).await;
        loop {
            tokio::select! {
                _ = &mut *stopped => return Ended::Stopped,
                event = watch.next() => match event.map(|e| e.kind) {
                    Some(EventKind::SessionEnded(_)) | None => return Ended::Session,
                    Some(kind) if self.cares_about(kind) => self.refresh(store).await,
                    Some(_) => {}
                },
                changed = session.changed() => {
                    if changed.is_err() || session.borrow_and_update().is_terminal() {
                        return Ended::Session;
                    }
                }
            }
        }
    }

    /// True for the events that can change what this task holds.
    fn cares_about(&self, kind: EventKind) -> bool {
        match kind {
            EventKind::NodeChildrenChanged => self.what == Watched::Children,
            EventKind::NodeDataChanged => self.what == Watched::Data,
            _ => true,
        }
    }

    async fn refresh(&self, store: &S) {
        self.publish(read(store, &self.path, self.what).await);
    }

    /// Stores a new state and pokes the view, unless nothing changed.
    fn publish(&self, new: Result<NodeState, StoreError>) {
        let mut current = self.state.lock();
        match new {
            Ok(new) if *current == new => return,
            Ok(new) => *current = new,
            // A view still reading when its client is closed has nothing worth reporting.
            Err(_) if self.zk.is_closed() => return,
            Err(e) => {
                tracing::warn!(path = %self.path, error = %e, "can't read watched node");
                current.error = Some(e);
            }
        }
        drop(current);
        self.notify.notify_one();
    }
}

/// Reads the node: its properties or its children. A missing node is a state, not an error.
async fn read<S: Store + ?Sized>(store: &S, path: &str, what: Watched) -> Result<NodeState, StoreError> {
    let mut state = NodeState { loaded: true, exists: true, ..Default::default() };
    let result = match what {
        Watched::Data => store.get_data(path).await.map(|(data, stat)| {
            state.properties = props::decode(data.as_deref().unwrap_or_default()).properties;
            state.version = stat.version;
        }),
        Watched::Children => store.get_children(path).await.map(|(children, _)| state.children = children),
    };
    match result {
        Ok(()) => Ok(state),
        Err(e) if e.is(Code::NoNode) => Ok(NodeState { loaded: true, ..Default::default() }),
        Err(e) => Err(e),
    }
}
