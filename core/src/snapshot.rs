//! Reading a subtree as plain data, with many requests in flight.
//!
//! [`read`] walks a subtree breadth-first and returns a [`Snapshot`]: for each node its data,
//! Stat, children and (when asked) ACL. Export prints a snapshot; import plans against one;
//! recursive delete decides from one what to delete.
//!
//! **Requests.** Per node one data read (data and Stat), then one children read only when the
//! Stat says the node has children (a leaf costs one read), and one `get_acl` when the ACL is
//! wanted (sent together with the data read, not after its reply). Data and children reads
//! travel in [`Store::multi_read`] requests of up to [`SnapshotOptions::batch`] reads (on
//! ZooKeeper one `multiRead` request, which costs the server about as much as one plain read),
//! each no longer than the store's request limit ([`Store::request_limit`]: a server drops the
//! connection of a longer one, and long paths fill a request fast); ACL reads go one per
//! request. Up to [`SnapshotOptions::window`] requests are in flight at once, so a subtree of
//! `n` nodes costs about `2 * depth` round trips and `n / batch` requests (plus one per ACL),
//! not `n` round trips. Replies have no such limit (a `multiRead` reply of several nodes of
//! nearly 1 MB arrives whole), and their length is not known before they come, so a batch is
//! not cut by the data it will bring back.
//!
//! A snapshot is not atomic: ZooKeeper has no consistent multi-node read. Each node's data and Stat come
//! from one reply and agree with each other, which is what versioned writes need; nodes that
//! vanish while the walk goes on are left out.

use std::collections::{HashMap, VecDeque};

use futures::future::{join_all, BoxFuture};
use futures::stream::{FuturesUnordered, StreamExt};

use crate::path;
use crate::store::size::{self, RequestLimit};
use crate::store::{Acl, Code, OpKind, ReadOp, ReadResult, Stat, Store, StoreError};

/// How many reads [`read`] puts in one `multi_read` request by default.
pub const DEFAULT_BATCH: usize = 100;

/// How many requests [`read`] keeps in flight by default.
pub const DEFAULT_WINDOW: usize = 1024;

/// One node as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeState {
    /// The node's data.
    pub data: Vec<u8>,
    /// The Stat that came with the data (so `stat.version` is the version of `data`).
    pub stat: Stat,
    /// The names of its children that are in the snapshot, sorted; `None` when the children
    /// were not read (see [`Visit::children`]).
    pub children: Option<Vec<String>>,
    /// The node's ACL, when it was read.
    pub acl: Option<Vec<Acl>>,
}

impl NodeState {
    /// A node with this data and Stat, no children, no ACL (handy for building snapshots by
    /// hand in tests and tools).
    pub fn new(data: impl Into<Vec<u8>>, stat: Stat) -> NodeState {
        NodeState { data: data.into(), stat, children: Some(Vec::new()), acl: None }
    }

    /// The names of the children in the snapshot (empty when they were not read).
    pub fn child_names(&self) -> &[String] {
        self.children.as_deref().unwrap_or_default()
    }
}

/// A subtree as read: its root path and the nodes by path.
///
/// Every node but the root is listed in its parent's `children`, and every name listed there is
/// a node of the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The path the walk started at.
    pub root: String,
    /// The nodes read, by path.
    pub nodes: HashMap<String, NodeState>,
}

impl Snapshot {
    /// An empty snapshot of the subtree at `root`.
    pub fn new(root: impl Into<String>) -> Snapshot {
        Snapshot { root: root.into(), nodes: HashMap::new() }
    }

    /// The node at `path`, if it was read.
    pub fn get(&self, path: &str) -> Option<&NodeState> {
        self.nodes.get(path)
    }

    /// Adds a node, and lists it among its parent's children when the parent is in the
    /// snapshot (for building snapshots by hand; [`read`] builds them itself).
    pub fn insert(&mut self, path: impl Into<String>, node: NodeState) {
        let path = path.into();
        if let Some((parent, name)) = path::split(&path) {
            if let Some(parent) = self.nodes.get_mut(parent) {
                let children = parent.children.get_or_insert_with(Vec::new);
                if let Err(at) = children.binary_search_by(|c| c.as_str().cmp(name)) {
                    children.insert(at, name.to_string());
                }
            }
        }
        self.nodes.insert(path, node);
    }

    /// Number of nodes read.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when nothing was read (the root was skipped).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The paths of the snapshot, breadth-first from the root, children in name order.
    pub fn paths_breadth_first(&self) -> Vec<&str> {
        let mut out = Vec::with_capacity(self.nodes.len());
        if let Some((root, _)) = self.nodes.get_key_value(&self.root) {
            out.push(root.as_str());
        }
        let mut i = 0;
        while i < out.len() {
            let parent = out[i];
            if let Some(node) = self.nodes.get(parent) {
                for name in node.child_names() {
                    if let Some((child, _)) = self.nodes.get_key_value(&path::child(parent, name)) {
                        out.push(child.as_str());
                    }
                }
            }
            i += 1;
        }
        out
    }
}

/// What to read of one node (see [`SnapshotOptions::visit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    /// Read its children (and then visit them).
    pub children: bool,
    /// Read its ACL.
    pub acl: bool,
}

/// Chooses, per path, whether and how a node is read: `None` skips it (and its subtree).
pub type VisitFn<'f> = &'f (dyn Fn(&str) -> Option<Visit> + Send + Sync);

/// Options of [`read`].
#[derive(Clone, Copy)]
pub struct SnapshotOptions<'f> {
    /// Most requests in flight at once (at least 1).
    pub window: usize,
    /// Most reads (data or children) per `multi_read` request (at least 1); fewer when their
    /// paths would make the request longer than the store's limit.
    pub batch: usize,
    /// Read every node's ACL (when `visit` is not given).
    pub acl: bool,
    /// When the walk starts at `/`, leave out `/zookeeper` (ZooKeeper's own subtree).
    pub skip_zookeeper: bool,
    /// Leave out ephemeral nodes (they have no children, so nothing below them is lost).
    pub skip_ephemeral: bool,
    /// Per-node choice of what to read; without it every node is read with its children, and
    /// its ACL when `acl` is set.
    pub visit: Option<VisitFn<'f>>,
}

impl Default for SnapshotOptions<'_> {
    fn default() -> Self {
        SnapshotOptions {
            window: DEFAULT_WINDOW,
            batch: DEFAULT_BATCH,
            acl: false,
            skip_zookeeper: true,
            skip_ephemeral: false,
            visit: None,
        }
    }
}

impl std::fmt::Debug for SnapshotOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotOptions")
            .field("window", &self.window)
            .field("batch", &self.batch)
            .field("acl", &self.acl)
            .field("skip_zookeeper", &self.skip_zookeeper)
            .field("skip_ephemeral", &self.skip_ephemeral)
            .field("visit", &self.visit.map(|_| "fn"))
            .finish()
    }
}

/// A progress callback: called with the number of nodes read so far.
pub type Progress<'p> = &'p mut (dyn FnMut(usize) + Send);

/// A read waiting for a free slot in the window: the data or the children of a node, which
/// travel together in `multi_read` requests.
enum Read {
    Data(String, Visit),
    Children(String),
}

impl Read {
    fn op(&self) -> ReadOp {
        match self {
            Read::Data(path, _) => ReadOp::GetData(path.clone()),
            Read::Children(path) => ReadOp::GetChildren(path.clone()),
        }
    }

    fn path(&self) -> &str {
        let (Read::Data(path, _) | Read::Children(path)) = self;
        path
    }

    /// Sends the read as a request of its own (a plain getData or getChildren).
    async fn alone<S: Store + ?Sized>(&self, store: &S) -> Result<ReadResult, StoreError> {
        match self {
            Read::Data(path, _) => {
                store.get_data(path).await.map(|(data, stat)| ReadResult::Data(data, stat))
            }
            Read::Children(path) => {
                store.get_children(path).await.map(|(names, _)| ReadResult::Children(names))
            }
        }
    }
}

/// A reply, tagged with what it answers.
enum Reply {
    Reads(Vec<Read>, Result<Vec<Result<ReadResult, StoreError>>, StoreError>),
    Acl(String, Result<(Vec<Acl>, Stat), StoreError>),
}

/// The walk's state between replies.
struct Walk<'o, 'f, 'p> {
    root: &'o str,
    options: &'o SnapshotOptions<'f>,
    snapshot: Snapshot,
    acls: HashMap<String, Vec<Acl>>,
    reads: VecDeque<Read>,
    acl_reads: VecDeque<String>,
    progress: Option<Progress<'p>>,
}

impl Walk<'_, '_, '_> {
    fn visit_of(&self, path: &str) -> Option<Visit> {
        match self.options.visit {
            Some(visit) => visit(path),
            None => Some(Visit { children: true, acl: self.options.acl }),
        }
    }

    /// Queues the first requests for a node: its data, and its ACL at the same time when
    /// wanted (both are known to be needed before any reply; its children wait for the Stat).
    fn start(&mut self, path: String, visit: Visit) {
        if visit.acl {
            self.acl_reads.push_back(path.clone());
        }
        self.reads.push_back(Read::Data(path, visit));
    }

    /// Takes in the answer to one read.
    fn answer(&mut self, read: Read, result: Result<ReadResult, StoreError>) -> Result<(), StoreError> {
        match (read, result) {
            (Read::Data(path, visit), Ok(ReadResult::Data(data, stat))) => {
                if self.options.skip_ephemeral && stat.is_ephemeral() {
                    return Ok(());
                }
                let children = if !visit.children {
                    None
                } else if stat.num_children > 0 {
                    self.reads.push_back(Read::Children(path.clone()));
                    None // filled when the children arrive
                } else {
                    Some(Vec::new())
                };
                self.snapshot
                    .nodes
                    .insert(path, NodeState { data: data.unwrap_or_default(), stat, children, acl: None });
                if let Some(progress) = self.progress.as_mut() {
                    progress(self.snapshot.nodes.len());
                }
            }
            (Read::Children(path), Ok(ReadResult::Children(mut names))) => {
                names.sort_unstable();
                if path == "/" && self.options.skip_zookeeper {
                    names.retain(|name| name != "zookeeper");
                }
                let mut kept = Vec::with_capacity(names.len());
                for name in names {
                    let child = path::child(&path, &name);
                    if let Some(visit) = self.visit_of(&child) {
                        self.start(child, visit);
                        kept.push(name);
                    }
                }
                if let Some(node) = self.snapshot.nodes.get_mut(&path) {
                    node.children = Some(kept);
                }
            }
            (Read::Data(path, _), Err(e)) if e.is(Code::NoNode) && path != self.root => {}
            (Read::Children(path), Err(e)) if e.is(Code::NoNode) => {
                // It vanished after its data was read: leave it out (its children too, later).
                self.snapshot.nodes.remove(&path);
            }
            (_, Err(e)) => return Err(e),
            (read, Ok(_)) => {
                let (Read::Data(path, _) | Read::Children(path)) = read;
                return Err(StoreError::new(Code::MarshallingError, OpKind::Multi, path)
                    .with_detail("the store answered a read with the wrong kind of result"));
            }
        }
        Ok(())
    }
}

/// Reads the subtree at `root` (see the module docs for the requests it sends).
///
/// Fails with the store's `NoNode` error when `root` does not exist, and with the first other
/// error any request gets (`NoAuth`, connection loss, ...). A node that vanishes after its
/// parent listed it is left out. A `root` that is skipped (by `visit`, or as an ephemeral with
/// `skip_ephemeral`) gives an empty snapshot.
pub async fn read<S: Store + ?Sized>(
    store: &S,
    root: &str,
    options: &SnapshotOptions<'_>,
    progress: Option<Progress<'_>>,
) -> Result<Snapshot, StoreError> {
    let window = options.window.max(1);
    let batch = options.batch.max(1);
    let limit = store.request_limit();
    let mut walk = Walk {
        root,
        options,
        snapshot: Snapshot::new(root),
        acls: HashMap::new(),
        reads: VecDeque::new(),
        acl_reads: VecDeque::new(),
        progress,
    };
    if let Some(visit) = walk.visit_of(root) {
        walk.start(root.to_string(), visit);
    }
    let mut in_flight: FuturesUnordered<BoxFuture<'_, Reply>> = FuturesUnordered::new();

    loop {
        // Data and children first: their answers open the next level. ACL reads (one request
        // each: `multi_read` cannot hold them) fill the rest of the window.
        while in_flight.len() < window {
            // Each future owns what its store call borrows, so the call is made inside it and
            // the request is sent when the future is first polled: at the next
            // `in_flight.next()` below, together with the rest of the batch.
            if !walk.reads.is_empty() {
                let n = size::first_batch(&walk.reads, batch, limit.max, RequestLimit::EMPTY_MULTI, |read| {
                    limit.multi_read_op(read.path())
                });
                let reads: Vec<Read> = walk.reads.drain(..n).collect();
                let ops: Vec<ReadOp> = reads.iter().map(Read::op).collect();
                if !limit.fits(limit.multi_read(&ops)) {
                    // Too long for a multiRead even alone: as a plain read, 18 bytes shorter.
                    in_flight.push(Box::pin(async move {
                        let reply = join_all(reads.iter().map(|read| read.alone(store))).await;
                        Reply::Reads(reads, Ok(reply))
                    }));
                    continue;
                }
                in_flight.push(Box::pin(async move {
                    let reply = store.multi_read(&ops).await;
                    Reply::Reads(reads, reply)
                }));
            } else if let Some(path) = walk.acl_reads.pop_front() {
                in_flight.push(Box::pin(async move {
                    let reply = store.get_acl(&path).await;
                    Reply::Acl(path, reply)
                }));
            } else {
                break;
            }
        }
        let Some(reply) = in_flight.next().await else { break };
        match reply {
            Reply::Reads(reads, Ok(results)) => {
                if results.len() != reads.len() {
                    let path = reads.first().map_or(root, Read::path);
                    return Err(StoreError::new(Code::MarshallingError, OpKind::Multi, path)
                        .with_detail("the store answered a multi-read with the wrong number of results"));
                }
                for (read, result) in reads.into_iter().zip(results) {
                    walk.answer(read, result)?;
                }
            }
            Reply::Reads(_, Err(e)) => return Err(e),
            Reply::Acl(path, Ok((acl, _))) => {
                walk.acls.insert(path, acl);
            }
            Reply::Acl(path, Err(e)) if e.is(Code::NoNode) => {
                // It vanished: leave it out (its children too, later).
                walk.snapshot.nodes.remove(&path);
            }
            Reply::Acl(_, Err(e)) => return Err(e),
        }
    }

    let mut snapshot = walk.snapshot;
    for (path, acl) in walk.acls {
        if let Some(node) = snapshot.nodes.get_mut(&path) {
            node.acl = Some(acl);
        }
    }
    prune(&mut snapshot);
    Ok(snapshot)
}

/// Makes the snapshot consistent: children lists name only nodes that were read, and nodes
/// whose parent vanished are dropped.
fn prune(snapshot: &mut Snapshot) {
    let names: Vec<(String, Vec<String>)> = snapshot
        .nodes
        .iter()
        .filter_map(|(path, node)| node.children.as_ref().map(|c| (path.clone(), c.clone())))
        .collect();
    for (parent, children) in names {
        let kept: Vec<String> = children
            .into_iter()
            .filter(|name| snapshot.nodes.contains_key(&path::child(&parent, name)))
            .collect();
        if let Some(node) = snapshot.nodes.get_mut(&parent) {
            node.children = Some(kept);
        }
    }
    let reachable: std::collections::HashSet<String> =
        snapshot.paths_breadth_first().into_iter().map(str::to_string).collect();
    snapshot.nodes.retain(|path, _| reachable.contains(path));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_lists_the_child_under_its_parent_in_order() {
        let mut s = Snapshot::new("/a");
        s.insert("/a", NodeState::new(b"", Stat::default()));
        s.insert("/a/c", NodeState::new(b"", Stat::default()));
        s.insert("/a/b", NodeState::new(b"", Stat::default()));
        assert_eq!(s.get("/a").map(NodeState::child_names), Some(&["b".to_string(), "c".to_string()][..]));
        assert_eq!(s.paths_breadth_first(), ["/a", "/a/b", "/a/c"]);
    }

    #[test]
    fn prune_drops_orphans_and_unread_names() {
        let mut s = Snapshot::new("/");
        s.insert("/", NodeState::new(b"", Stat::default()));
        s.insert("/a", NodeState::new(b"", Stat::default()));
        if let Some(n) = s.nodes.get_mut("/") {
            n.children = Some(vec!["a".into(), "gone".into()]);
        }
        s.nodes.insert("/gone/x".into(), NodeState::new(b"", Stat::default()));
        prune(&mut s);
        assert_eq!(s.get("/").map(NodeState::child_names), Some(&["a".to_string()][..]));
        assert!(s.get("/gone/x").is_none());
        assert_eq!(s.len(), 2);
    }
}
