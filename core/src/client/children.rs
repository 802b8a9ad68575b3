//! Live children views: a node's list of children, kept current by a watch.

use std::sync::Arc;

use futures::Stream;
use tokio::sync::{oneshot, watch, Notify};

use super::callbacks::{Callback, CallbackError, Flow, ViewChannel, ViewEvent, ViewState};
use super::node_watch::{NodeState, Watched};
use super::view::{self, ViewKind};
use super::{Result, ZooKeeper};
use crate::store::Store;

/// A node's children at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChildrenSnapshot {
    /// The real (resolved) path of the node.
    pub path: String,
    /// The children's names, in the order the server gave them.
    pub children: Vec<String>,
    /// True when the node is gone (the list is then empty).
    pub deleted: bool,
}

impl ViewState for ChildrenSnapshot {
    fn is_deleted(&self) -> bool {
        self.deleted
    }
}

struct Inner {
    channel: Arc<ViewChannel<ChildrenSnapshot>>,
    /// Dropped with the last handle: stops the view's task and so its watch.
    _stop: oneshot::Sender<()>,
}

/// A node's children, live (see [`ZooKeeper::children`]). Cheap to clone; dropping the last
/// clone stops its watch.
#[derive(Clone)]
pub struct Children {
    inner: Arc<Inner>,
}

impl<S: Store + 'static> ZooKeeper<S> {
    /// The children of the node at `path` (resolved through links), kept current. When the
    /// node is deleted, the view follows a link that now leads elsewhere, or becomes deleted.
    pub async fn children(&self, path: &str) -> Result<Children> {
        let resolved = self.resolve(path).await?;
        let (children, _) = self.ready_store().await?.get_children(&resolved).await?;
        let first = ChildrenSnapshot { path: resolved.clone(), children, deleted: false };
        let channel = ViewChannel::new(path.to_string(), first);
        let stop = view::watch(self, path.to_string(), resolved, channel.clone(), ChildrenView);
        Ok(Children { inner: Arc::new(Inner { channel, _stop: stop }) })
    }
}

impl Children {
    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<ChildrenSnapshot> {
        self.inner.channel.current()
    }

    /// The current children's names.
    pub fn names(&self) -> Vec<String> {
        self.snapshot().children.clone()
    }

    /// The real path of the node (it changes if a link now leads elsewhere).
    pub fn path(&self) -> String {
        self.snapshot().path.clone()
    }

    /// True when the node is gone for good.
    pub fn is_deleted(&self) -> bool {
        self.snapshot().deleted
    }

    /// Every snapshot, now and as it changes.
    pub fn subscribe(&self) -> watch::Receiver<Arc<ChildrenSnapshot>> {
        self.inner.channel.subscribe()
    }

    /// The snapshots as an async stream: the current one at once, then each change; it ends
    /// after the deleted snapshot, or when the view's last handle is dropped.
    pub fn stream(&self) -> impl Stream<Item = Arc<ChildrenSnapshot>> + Send + 'static {
        self.inner.channel.stream()
    }

    /// The number of callbacks registered.
    pub fn callback_count(&self) -> usize {
        self.inner.channel.len()
    }

    /// Registers a callback, as [`super::Properties::on_change`].
    pub fn on_change(
        &self,
        callback: impl FnMut(&ViewEvent<ChildrenSnapshot>) -> Result<Flow, CallbackError> + Send + 'static,
    ) -> Result<(), CallbackError> {
        self.inner.channel.register(Box::new(callback) as Callback<_>)
    }
}

/// A children view: its snapshot is the node's list of children.
struct ChildrenView;

impl<S: Store + 'static> ViewKind<S> for ChildrenView {
    type Snapshot = ChildrenSnapshot;
    const WATCHED: Watched = Watched::Children;

    async fn snapshot(
        &mut self,
        _: &ZooKeeper<S>,
        path: String,
        state: NodeState,
        _: Arc<ChildrenSnapshot>,
        _: &Arc<Notify>,
    ) -> ChildrenSnapshot {
        ChildrenSnapshot { path, children: state.children, deleted: false }
    }

    fn deleted(path: String) -> ChildrenSnapshot {
        ChildrenSnapshot { path, children: Vec::new(), deleted: true }
    }
}
