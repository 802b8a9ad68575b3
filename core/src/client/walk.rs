//! Walking a subtree in pre-order, with pruning by the caller.

use std::sync::Arc;

use super::{ClientError, Result, ZooKeeper};
use crate::path;
use crate::store::{Code, Store};

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

/// A pre-order walk of a subtree, children in name order (see [`ZooKeeper::walk`]).
///
/// Nodes deleted while walking are skipped. Each node costs one request (`get_children`, whose
/// Stat also tells whether the node is ephemeral).
pub struct Walk<S: Store + 'static> {
    store: Arc<S>,
    options: WalkOptions,
    /// Paths still to visit, the next on top.
    stack: Vec<String>,
    /// The last item yielded, whose children are pushed when the walk goes on.
    last: Option<WalkItem>,
}

impl<S: Store + 'static> Walk<S> {
    /// The next node, or `None` when the walk is done.
    pub async fn next(&mut self) -> Option<Result<WalkItem>> {
        if let Some(last) = self.last.take() {
            self.stack.extend(last.children.iter().rev().map(|name| path::child(&last.path, name)));
        }
        while let Some(path) = self.stack.pop() {
            match self.store.get_children(&path).await {
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

impl<S: Store + 'static> ZooKeeper<S> {
    /// Walks the subtree at `path` in pre-order, children sorted, `/zookeeper` included.
    /// `options.ephemeral == false` skips ephemeral nodes and their subtrees, throughout the
    /// walk. A `path` that does not exist gives an empty walk.
    pub fn walk(&self, path: &str, options: WalkOptions) -> Result<Walk<S>> {
        path::validate(path).map_err(ClientError::from)?;
        Ok(Walk { store: self.store(), options, stack: vec![path.to_string()], last: None })
    }
}
