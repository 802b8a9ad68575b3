//! The task behind every watching live view (properties and children alike): it keeps a watch
//! on the view's node, publishes a new snapshot at each change, and when the node is deleted,
//! follows the view's path to wherever a link now leads, or publishes the deleted snapshot.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{oneshot, Notify};

use super::backoff::Backoff;
use super::callbacks::{ViewChannel, ViewState};
use super::node_watch::{NodeState, NodeWatch, Watched};
use super::resolve::Relocation;
use super::ZooKeeper;
use crate::store::Store;

/// What one kind of view watches and how it makes its snapshots.
pub(crate) trait ViewKind<S: Store + 'static>: Send + 'static {
    /// The view's snapshot.
    type Snapshot: ViewState;

    /// What of the node the view watches.
    const WATCHED: Watched;

    /// The snapshot of the existing node at `path`, in `state`. `previous` is the snapshot
    /// published before; `notify` pokes the view (for more watches the snapshot depends on).
    fn snapshot(
        &mut self,
        zk: &ZooKeeper<S>,
        path: String,
        state: NodeState,
        previous: Arc<Self::Snapshot>,
        notify: &Arc<Notify>,
    ) -> impl Future<Output = Self::Snapshot> + Send;

    /// The snapshot of a view whose node at `path` is gone for good.
    fn deleted(path: String) -> Self::Snapshot;
}

/// Starts the task of a watching view of `virtual_path` (the path as the user gave it), now
/// at `resolved`, publishing into `channel`. Dropping the returned sender stops the task, and
/// so its watches.
pub(crate) fn watch<S: Store + 'static, K: ViewKind<S>>(
    zk: &ZooKeeper<S>,
    virtual_path: String,
    resolved: String,
    channel: Arc<ViewChannel<K::Snapshot>>,
    kind: K,
) -> oneshot::Sender<()> {
    let (stop, stopped) = oneshot::channel();
    let task = ViewTask { zk: zk.clone(), virtual_path, channel, kind };
    tokio::spawn(task.run(resolved, stopped));
    stop
}

struct ViewTask<S: Store + 'static, K: ViewKind<S>> {
    zk: ZooKeeper<S>,
    virtual_path: String,
    channel: Arc<ViewChannel<K::Snapshot>>,
    kind: K,
}

impl<S: Store + 'static, K: ViewKind<S>> ViewTask<S, K> {
    /// Publishes a new snapshot whenever the node (or what the snapshot depends on) changes,
    /// until the view is dropped or its node is gone for good.
    async fn run(mut self, resolved: String, mut stopped: oneshot::Receiver<()>) {
        let notify = Arc::new(Notify::new());
        let mut node = NodeWatch::start(&self.zk, resolved, K::WATCHED, notify.clone());
        // For asking again where the path leads when the answer could not be had.
        let mut relocating = Backoff::new();
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                _ = notify.notified() => {}
            }
            let state = node.state.lock().clone();
            if !state.loaded {
                continue;
            }
            if !state.exists {
                match self.zk.relocate(&self.virtual_path, &node.path, &notify, &mut relocating).await {
                    Relocation::Moved(path) => {
                        node = NodeWatch::start(&self.zk, path, K::WATCHED, notify.clone())
                    }
                    Relocation::Same | Relocation::Unknown => {}
                    Relocation::Gone => {
                        self.channel.publish(K::deleted(node.path.clone())).await;
                        return;
                    }
                }
                continue;
            }
            let previous = self.channel.current();
            let snapshot = self.kind.snapshot(&self.zk, node.path.clone(), state, previous, &notify).await;
            self.channel.publish(snapshot).await;
        }
    }
}
