//! A task that keeps one node's data (or children) current with a persistent watch, across
//! session expiry, and pokes a `Notify` whenever what it holds changes.
//!
//! Live views are built from these: a properties view has one for its node and one for each
//! node its property links lead to.

use std::sync::Arc;

use futures::StreamExt;
use parking_lot::Mutex;
use serde_json::{Map, Value};
use tokio::sync::{oneshot, Notify};

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

/// A handle to the watching task; dropping it stops the task and removes its watch.
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
        tokio::spawn(run(zk.clone(), path.clone(), what, state.clone(), notify, stopped));
        NodeWatch { path, state, _stop: stop }
    }
}

async fn run<S: Store + 'static>(
    zk: ZooKeeper<S>,
    path: String,
    what: Watched,
    state: Arc<Mutex<NodeState>>,
    notify: Arc<Notify>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut generation = zk.generation();
    loop {
        generation.borrow_and_update();
        let store = zk.store();
        // Watch first, then read: no change can fall between the read and the watch.
        match store.add_watch(&path, WatchMode::Persistent).await {
            Ok(mut watch) => {
                publish(&state, &notify, read(&*store, &path, what).await);
                loop {
                    tokio::select! {
                        _ = &mut stopped => return,
                        event = watch.next() => match event.map(|e| e.kind) {
                            Some(EventKind::NodeChildrenChanged) if what == Watched::Data => {}
                            Some(EventKind::NodeDataChanged) if what == Watched::Children => {}
                            Some(EventKind::SessionEnded(_)) | None => break,
                            Some(_) => publish(&state, &notify, read(&*store, &path, what).await),
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(path, error = %e, "can't watch node");
                publish_error(&state, &notify, e);
            }
        }
        if zk.is_closed() {
            return;
        }
        // The session ended (or the watch could not be set): wait for the next session.
        tokio::select! {
            _ = &mut stopped => return,
            changed = generation.changed() => if changed.is_err() { return },
        }
    }
}

async fn read<S: Store + ?Sized>(store: &S, path: &str, what: Watched) -> Result<NodeState, StoreError> {
    let mut state = NodeState { loaded: true, exists: true, ..Default::default() };
    let result = match what {
        Watched::Data => store.get_data(path).await.map(|(data, stat)| {
            state.properties = props::decode(&data).properties;
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

fn publish(state: &Mutex<NodeState>, notify: &Notify, new: Result<NodeState, StoreError>) {
    match new {
        Ok(new) => {
            let mut current = state.lock();
            if *current != new {
                *current = new;
                drop(current);
                notify.notify_one();
            }
        }
        Err(e) => publish_error(state, notify, e),
    }
}

fn publish_error(state: &Mutex<NodeState>, notify: &Notify, error: StoreError) {
    tracing::warn!(path = %error.path, error = %error, "can't read watched node");
    state.lock().error = Some(error);
    notify.notify_one();
}
