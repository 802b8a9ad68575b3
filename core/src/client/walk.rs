//! Walking a subtree in pre-order, with pruning by the caller.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::{ClientError, Result, ZooKeeper};
use crate::path;
use crate::store::{Code, OpKind, Stat, Store, StoreError};

/// Options of [`ZooKeeper::walk`].
#[derive(Debug, Clone, Copy)]
pub struct WalkOptions {
    /// Include ephemeral nodes (and so their subtrees). Default: true.
    pub ephemeral: bool,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions { ephemeral: true }
    }
}

/// One node of a walk: its path and its children's names, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkItem {
    /// The node's path.
    pub path: String,
    /// Its children's names, sorted. Remove names with [`Walk::prune`] to skip subtrees.
    pub children: Vec<String>,
}

/// A reply asked for ahead of its turn.
type Pending = JoinHandle<Result<(Vec<String>, Stat), StoreError>>;

/// A pre-order walk of a subtree, children in name order (see [`ZooKeeper::walk`]).
///
/// Nodes deleted while walking are skipped. Each node costs one request (`get_children`, whose
/// Stat also tells whether the node is ephemeral); when a node has been yielded (and the
/// caller has pruned what it wanted), the requests for all its remaining children are sent at
/// once, so a walk waits about one round trip per node with children, not per node. When the
/// walk goes below a node, the replies already asked for its later siblings are dropped: they
/// are asked for again (all at once) when the walk comes back up, so that a sibling deleted
/// meanwhile is skipped.
pub struct Walk<S: Store + 'static> {
    store: Arc<S>,
    options: WalkOptions,
    /// Paths still to visit, the next on top.
    stack: Vec<String>,
    /// The requests already sent, by path.
    pending: HashMap<String, Pending>,
    /// Paths on the stack whose requests were dropped because the walk went deeper.
    stale: HashSet<String>,
    /// The last item yielded, whose children are pushed when the walk goes on.
    last: Option<WalkItem>,
}

impl<S: Store + 'static> Walk<S> {
    /// The next node, or `None` when the walk is done.
    pub async fn next(&mut self) -> Option<Result<WalkItem>> {
        if let Some(last) = self.last.take() {
            self.visit_children_of(&last);
        }
        while let Some(path) = self.stack.pop() {
            if self.stale.contains(&path) {
                self.ask_again(&path);
            }
            match self.children_of(&path).await {
                Ok((mut children, stat)) => {
                    if !self.options.ephemeral && stat.is_ephemeral() {
                        continue;
                    }
                    children.sort();
                    let item = WalkItem { path, children };
                    self.last = Some(item.clone());
                    return Some(Ok(item));
                }
                Err(e) if e.is(Code::NoNode) => continue,
                Err(e) => return Some(Err(e.into())),
            }
        }
        None
    }

    /// Puts the children of `item` on the stack (first name on top) and asks for theirs.
    /// The replies already asked for are dropped first: they would be old by the time the walk
    /// comes back up to them.
    fn visit_children_of(&mut self, item: &WalkItem) {
        if !item.children.is_empty() {
            for (path, pending) in self.pending.drain() {
                pending.abort();
                self.stale.insert(path);
            }
        }
        for name in item.children.iter().rev() {
            let path = path::child(&item.path, name);
            self.ask(path.clone());
            self.stack.push(path);
        }
    }

    /// Sends the request for the children of `path`.
    fn ask(&mut self, path: String) {
        let store = self.store.clone();
        let asked = path.clone();
        self.pending.insert(path, tokio::spawn(async move { store.get_children(&asked).await }));
    }

    /// Asks again for `path` and its stale siblings (the walk is back at their level).
    fn ask_again(&mut self, path: &str) {
        let parent = path::split(path).map(|(parent, _)| parent.to_string());
        let siblings: Vec<String> = self
            .stale
            .iter()
            .filter(|p| path::split(p).map(|(parent, _)| parent.to_string()) == parent)
            .cloned()
            .collect();
        for sibling in siblings {
            self.stale.remove(&sibling);
            self.ask(sibling);
        }
    }

    /// The children and Stat of `path`: the reply already asked for, or a new request.
    async fn children_of(&mut self, path: &str) -> Result<(Vec<String>, Stat), StoreError> {
        match self.pending.remove(path) {
            Some(pending) => pending.await.unwrap_or_else(|e| {
                Err(StoreError::new(Code::ConnectionLoss, OpKind::GetChildren, path)
                    .with_detail(e.to_string()))
            }),
            None => self.store.get_children(path).await,
        }
    }

    /// Skips the subtree of the child `name` of the node last returned.
    pub fn prune(&mut self, name: &str) {
        if let Some(last) = &mut self.last {
            last.children.retain(|c| c != name);
        }
    }

    /// Collects the remaining paths.
    pub async fn paths(mut self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        while let Some(item) = self.next().await {
            out.push(item?.path);
        }
        Ok(out)
    }
}

impl<S: Store + 'static> Drop for Walk<S> {
    fn drop(&mut self) {
        // A walk given up early does not leave its requests' tasks behind.
        for pending in self.pending.values() {
            pending.abort();
        }
    }
}

impl<S: Store + 'static> ZooKeeper<S> {
    /// Walks the subtree at `path` in pre-order, children sorted, `/zookeeper` included.
    /// `options.ephemeral == false` skips ephemeral nodes and their subtrees, throughout the
    /// walk. A `path` that does not exist gives an empty walk.
    pub fn walk(&self, path: &str, options: WalkOptions) -> Result<Walk<S>> {
        path::validate(path).map_err(ClientError::from)?;
        let stack = vec![path.to_string()];
        let (pending, stale) = (HashMap::new(), HashSet::new());
        Ok(Walk { store: self.store(), options, stack, pending, stale, last: None })
    }
}
