//! Live children views: a node's list of children, kept current by a watch.

use std::sync::Arc;

use tokio::sync::{oneshot, watch, Notify};

use super::callbacks::{Callback, CallbackError, Callbacks, Flow, ViewEvent};
use super::node_watch::{NodeWatch, Watched};
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

struct Inner {
    virtual_path: String,
    snapshot: watch::Sender<Arc<ChildrenSnapshot>>,
    callbacks: Callbacks<ChildrenSnapshot>,
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
        let (children, _) = self.store().get_children(&resolved).await?;
        let (snapshot, _) =
            watch::channel(Arc::new(ChildrenSnapshot { path: resolved.clone(), children, deleted: false }));
        let (stop, stopped) = oneshot::channel();
        let inner = Arc::new(Inner {
            virtual_path: path.to_string(),
            snapshot,
            callbacks: Callbacks::default(),
            _stop: stop,
        });
        tokio::spawn(run(Arc::downgrade(&inner), self.clone(), resolved, stopped));
        Ok(Children { inner })
    }
}

impl Children {
    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<ChildrenSnapshot> {
        self.inner.snapshot.borrow().clone()
    }

    /// The current children's names.
    pub fn names(&self) -> Vec<String> {
        self.snapshot().children.clone()
    }

    /// True when the node is gone for good.
    pub fn is_deleted(&self) -> bool {
        self.snapshot().deleted
    }

    /// Every snapshot, now and as it changes.
    pub fn subscribe(&self) -> watch::Receiver<Arc<ChildrenSnapshot>> {
        self.inner.snapshot.subscribe()
    }

    /// The number of callbacks registered.
    pub fn callback_count(&self) -> usize {
        self.inner.callbacks.len()
    }

    /// Registers a callback, as [`super::Properties::on_change`].
    pub fn on_change(
        &self,
        callback: impl FnMut(&ViewEvent<ChildrenSnapshot>) -> Result<Flow, CallbackError> + Send + 'static,
    ) -> Result<(), CallbackError> {
        let snapshot = self.snapshot();
        let first = if snapshot.deleted { ViewEvent::Deleted } else { ViewEvent::Changed(snapshot) };
        self.inner.callbacks.register(Box::new(callback) as Callback<_>, &first)
    }
}

async fn run<S: Store + 'static>(
    inner: std::sync::Weak<Inner>,
    zk: ZooKeeper<S>,
    resolved: String,
    mut stopped: oneshot::Receiver<()>,
) {
    let notify = Arc::new(Notify::new());
    let mut watch = NodeWatch::start(&zk, resolved, Watched::Children, notify.clone());
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = notify.notified() => {}
        }
        let state = watch.state.lock().clone();
        if !state.loaded {
            continue;
        }
        let Some(inner) = inner.upgrade() else { return };
        if !state.exists {
            match zk.resolve(&inner.virtual_path).await {
                Ok(path) if path != watch.path => {
                    watch = NodeWatch::start(&zk, path, Watched::Children, notify.clone());
                    continue;
                }
                Ok(_) => continue,
                Err(_) => {
                    let gone =
                        ChildrenSnapshot { path: watch.path.clone(), children: Vec::new(), deleted: true };
                    inner.snapshot.send_replace(Arc::new(gone));
                    inner.callbacks.dispatch(&inner.virtual_path, &ViewEvent::Deleted);
                    return;
                }
            }
        }
        let snapshot =
            ChildrenSnapshot { path: watch.path.clone(), children: state.children, deleted: false };
        if **inner.snapshot.borrow() == snapshot {
            continue;
        }
        let snapshot = Arc::new(snapshot);
        inner.snapshot.send_replace(snapshot.clone());
        inner.callbacks.dispatch(&inner.virtual_path, &ViewEvent::Changed(snapshot));
    }
}
