//! The data tree: nodes by path with their data, ACL and the fields a `Stat` is made of, plus
//! the indexes the server keeps beside it (ephemerals by session, containers, TTL nodes).
//!
//! This module only stores and mutates; the checks a request must pass (versions, ACLs,
//! existence) live in [`crate::txn`].

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use zczk_core::store::{Acl, Perms, Stat};

use crate::path;

/// What kind of node this is, which decides who deletes it and what `ephemeralOwner` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// Lives until deleted.
    Persistent,
    /// Deleted when the owning session ends.
    Ephemeral(i64),
    /// Deleted by the container cleanup once it had children and has none left.
    Container,
    /// Deleted by the cleanup when it has no children and was not modified for this many ms.
    Ttl(i64),
}

impl NodeKind {
    /// The owner the server reports in `Stat.ephemeralOwner`: the session for ephemerals,
    /// 0 for everything else (the server hides its container and TTL markers from clients).
    pub fn client_owner(self) -> i64 {
        match self {
            NodeKind::Ephemeral(session) => session,
            _ => 0,
        }
    }

    /// The session an ephemeral belongs to; `None` for other kinds.
    pub fn owner(self) -> Option<i64> {
        match self {
            NodeKind::Ephemeral(session) => Some(session),
            _ => None,
        }
    }
}

/// One node.
#[derive(Debug, Clone)]
pub struct Node {
    /// The data; `None` is null (created or set with no data).
    pub data: Option<Vec<u8>>,
    /// The ACL (shared: most nodes have one of a few ACLs, as the server's ACL cache knows).
    pub acl: Arc<Vec<Acl>>,
    /// zxid of the creating transaction.
    pub czxid: i64,
    /// zxid of the last data change.
    pub mzxid: i64,
    /// zxid of the last child change.
    pub pzxid: i64,
    /// Creation time (ms).
    pub ctime: i64,
    /// Last data change time (ms).
    pub mtime: i64,
    /// Data version.
    pub version: i32,
    /// Number of children ever created here: the server's persisted `cversion`, which also
    /// numbers sequential children. The reported cversion is `2 * creates - children`.
    pub creates: i32,
    /// ACL version.
    pub aversion: i32,
    /// Who deletes it.
    pub kind: NodeKind,
    /// Child names.
    pub children: BTreeSet<String>,
}

impl Node {
    /// A fresh node made by the transaction `zxid` at `time`.
    pub fn new(data: Option<Vec<u8>>, acl: Arc<Vec<Acl>>, kind: NodeKind, zxid: i64, time: i64) -> Node {
        Node {
            data,
            acl,
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            ctime: time,
            mtime: time,
            version: 0,
            creates: 0,
            aversion: 0,
            kind,
            children: BTreeSet::new(),
        }
    }

    /// The node's Stat as the server reports it.
    pub fn stat(&self) -> Stat {
        let num_children = self.children.len() as i32;
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime: self.ctime,
            mtime: self.mtime,
            version: self.version,
            // Every create but the children still present was followed by a delete.
            cversion: self.creates.wrapping_mul(2).wrapping_sub(num_children),
            aversion: self.aversion,
            ephemeral_owner: self.kind.client_owner(),
            data_length: self.data.as_ref().map_or(0, Vec::len) as i32,
            num_children,
            pzxid: self.pzxid,
        }
    }

    /// True for the nodes that cannot have children.
    pub fn is_ephemeral(&self) -> bool {
        matches!(self.kind, NodeKind::Ephemeral(_))
    }
}

/// How many nodes a tree with a [`Backing`] keeps in memory between requests, at most, besides
/// the ones not yet saved and the ephemeral, container and TTL nodes (see
/// [`Tree::shrink_cache`]).
pub const CACHED_NODES: usize = 16_384;

/// Where a tree reads the nodes it does not hold yet: a `file:` store's database.
pub trait Backing: Send + Sync {
    /// The node at `path`, with its child names, first, if the store holds it; after it,
    /// possibly up to `more` nodes of its subtree (with theirs) that requests are likely to
    /// ask for next (the store reads a small subtree in one pass). Empty when the store does
    /// not hold it.
    fn read(&self, path: &str, more: usize) -> Vec<(String, Node)>;
    /// How many nodes the store holds, ephemerals aside (the tree holds those all).
    fn count(&self) -> usize;
    /// The bytes of the paths and data of those nodes.
    fn data_bytes(&self) -> usize;
}

/// A tree's [`Backing`], if it has one.
#[derive(Clone)]
struct Lazy(Arc<dyn Backing>);

impl std::fmt::Debug for Lazy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lazy")
    }
}

/// The tree and its indexes.
///
/// A tree with a [`Backing`] holds only the nodes it was asked for: before a request looks a
/// node up, [`Tree::fault_in`] reads it from the backing (with its child names, so a node in
/// memory always knows its children). Nodes changed here stay in memory from then on, so the
/// tree is right whether or not the backing gets its changes.
#[derive(Debug, Clone)]
pub struct Tree {
    /// Boxed, so that the table (which grows by doubling and is up to half empty) holds two
    /// pointers a slot rather than a whole node: 24 bytes, not 152. Paths as `Box<str>`: no
    /// spare capacity, and no capacity word.
    /// Hashed with foldhash: std's SipHash of every path was 8% of a big import.
    nodes: foldhash::HashMap<Box<str>, Box<Node>>,
    ephemerals: HashMap<i64, BTreeSet<String>>,
    containers: BTreeSet<String>,
    ttls: BTreeSet<String>,
    /// The paths changed since [`Tree::take_changed`], when a store keeps the tree (`None`
    /// for `mem:`, which pays nothing for it).
    changed: Option<HashSet<String>>,
    /// Where nodes not in memory are, for a tree kept in a store.
    lazy: Option<Lazy>,
    /// Paths whose node was removed here: the backing may still hold them.
    gone: HashSet<String>,
    /// For a tree kept in a store, the paths of the nodes read from the backing or added here,
    /// oldest first: what [`Tree::shrink_cache`] may drop.
    cached: VecDeque<String>,
    /// For a tree kept in a store that does not save its changes (opened to read), the paths
    /// changed here: only memory holds them, so they are never dropped.
    unsaved: HashSet<String>,
}

impl Tree {
    /// The tree of a fresh 3.8 server: `/`, `/zookeeper`, `/zookeeper/config` (world-readable
    /// only, aversion -1) and `/zookeeper/quota`, all with zxid 0 and time 0. The server adds
    /// the `/zookeeper` nodes without counting them as creates, so `/` reports cversion -1 and
    /// `/zookeeper` cversion -2, as a real server does.
    pub fn new() -> Tree {
        let open = Arc::new(Acl::open());
        let mut tree = Tree {
            nodes: foldhash::HashMap::default(),
            ephemerals: HashMap::new(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            changed: None,
            lazy: None,
            gone: HashSet::new(),
            cached: VecDeque::new(),
            unsaved: HashSet::new(),
        };
        let mut root = Node::new(Some(Vec::new()), open.clone(), NodeKind::Persistent, 0, 0);
        root.children.insert("zookeeper".to_string());
        let mut zookeeper = Node::new(Some(Vec::new()), open.clone(), NodeKind::Persistent, 0, 0);
        zookeeper.children.insert("config".to_string());
        zookeeper.children.insert("quota".to_string());
        let mut config = Node::new(
            Some(Vec::new()),
            Arc::new(vec![Acl::new(Perms::READ, "world", "anyone")]),
            NodeKind::Persistent,
            0,
            0,
        );
        config.aversion = -1;
        let quota = Node::new(Some(Vec::new()), open, NodeKind::Persistent, 0, 0);
        tree.nodes.insert("/".into(), Box::new(root));
        tree.nodes.insert("/zookeeper".into(), Box::new(zookeeper));
        tree.nodes.insert("/zookeeper/config".into(), Box::new(config));
        tree.nodes.insert("/zookeeper/quota".into(), Box::new(quota));
        tree
    }

    /// A tree of saved nodes (see [`crate::file`]): every node but `/` must have its parent
    /// among them. The child lists and indexes are rebuilt from the paths; the nodes' own
    /// child lists are ignored. Fails with the first orphan's path.
    pub fn from_nodes(mut nodes: HashMap<String, Node>) -> Result<Tree, String> {
        if !nodes.contains_key("/") {
            return Err("/".to_string());
        }
        for node in nodes.values_mut() {
            node.children.clear();
        }
        let paths: Vec<String> = nodes.keys().filter(|p| p.as_str() != "/").cloned().collect();
        let mut tree = Tree {
            nodes: foldhash::HashMap::default(),
            ephemerals: HashMap::new(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            changed: None,
            lazy: None,
            gone: HashSet::new(),
            cached: VecDeque::new(),
            unsaved: HashSet::new(),
        };
        for path in &paths {
            match nodes.get_mut(path::parent(path)) {
                Some(parent) => {
                    parent.children.insert(path::name(path).to_string());
                }
                None => return Err(path.clone()),
            }
        }
        for (path, node) in nodes {
            tree.index(&path, node.kind);
            tree.nodes.insert(path.into(), Box::new(node));
        }
        Ok(tree)
    }

    /// A tree that reads its nodes from `backing` as they are needed. `kept` are the
    /// container and TTL nodes, which the cleanup must find without being asked for them.
    pub fn lazy(backing: Arc<dyn Backing>, kept: Vec<(String, Node)>) -> Tree {
        let mut tree = Tree::new();
        tree.nodes.clear();
        tree.lazy = Some(Lazy(backing));
        for (path, node) in kept {
            tree.index(&path, node.kind);
            tree.nodes.insert(path.into(), Box::new(node));
        }
        tree
    }

    /// Gives a tree that holds every node (a store just made from it) the `backing` that
    /// now holds them too, so that from then on it keeps a bounded cache of them as a tree
    /// read from a store does (see [`Tree::shrink_cache`]). The special nodes stay: the
    /// membership in `/zookeeper/config` is never saved. Does nothing to a tree that has one.
    pub fn attach(&mut self, backing: Arc<dyn Backing>) {
        if self.lazy.is_some() {
            return;
        }
        self.cached = self
            .nodes
            .iter()
            .filter(|(path, node)| node.kind == NodeKind::Persistent && !path::is_special(path))
            .map(|(path, _)| path.to_string())
            .collect();
        self.lazy = Some(Lazy(backing));
    }

    /// Whether the tree reads the nodes it does not hold from a [`Backing`].
    pub fn has_backing(&self) -> bool {
        self.lazy.is_some()
    }

    /// Reads the node at `path` from the backing unless it is in memory or was removed here
    /// (nothing to do without a backing). Call it before looking a node up, and for the
    /// parent too before adding or removing a node.
    pub fn fault_in(&mut self, path: &str) {
        let Some(Lazy(backing)) = &self.lazy else { return };
        if self.nodes.contains_key(path) || self.gone.contains(path) {
            return;
        }
        if self.known_absent(path) {
            return;
        }
        // Read with the node: what the cache has room for, up to twice its size (a request
        // that reads many subtrees at once stays bounded until the next shrink).
        let more = (2 * CACHED_NODES).saturating_sub(self.cached.len());
        for (path, node) in backing.read(path, more) {
            // What memory holds is newer than the backing, or was never saved there.
            if self.nodes.contains_key(path.as_str()) || self.gone.contains(&path) {
                continue;
            }
            self.index(&path, node.kind);
            self.nodes.insert(path.as_str().into(), Box::new(node));
            self.cached.push_back(path);
        }
    }

    /// Whether memory alone shows that no node is at `path` (one not in memory): the nearest
    /// ancestor in memory, which knows its children, does not lead to it, or one was removed
    /// here. A create's new path most often: it need not be looked for in the backing.
    fn known_absent(&self, path: &str) -> bool {
        let mut below = path;
        for ancestor in path::self_and_ancestors(path).skip(1) {
            if let Some(node) = self.nodes.get(ancestor) {
                return !node.children.contains(path::name(below));
            }
            if self.gone.contains(ancestor) {
                return true;
            }
            below = ancestor;
        }
        false
    }

    /// Drops the oldest nodes of a tree kept in a store down to [`CACHED_NODES`], so that
    /// reading or writing a large store (an export, an import) holds a bounded part of it, not
    /// all of it. Only nodes the backing holds as they are here are dropped (saved, and not
    /// changed since; never one changed in a store opened to read), and never an ephemeral,
    /// container or TTL node (the tree holds those all); a dropped node is read again when it
    /// is asked for. Call it between requests,
    /// never between [`Tree::fault_in`] and the use of what it read.
    pub fn shrink_cache(&mut self) {
        // Changed and not saved yet: kept, and looked at again later.
        let mut kept = Vec::new();
        while self.cached.len() > CACHED_NODES {
            let Some(path) = self.cached.pop_front() else { break };
            if self.changed.as_ref().is_some_and(|changed| changed.contains(&path)) {
                kept.push(path);
            } else if !self.unsaved.contains(&path) {
                // One lookup: taken out, and put back in the rare case that it stays.
                if let Some((key, node)) = self.nodes.remove_entry(path.as_str()) {
                    if node.kind != NodeKind::Persistent {
                        self.nodes.insert(key, node);
                    }
                }
            }
        }
        self.cached.extend(kept);
    }

    /// [`Tree::fault_in`] for `path` and its parent.
    pub fn fault_in_with_parent(&mut self, path: &str) {
        if self.lazy.is_some() {
            self.fault_in(path::parent(path));
            self.fault_in(path);
        }
    }

    /// The node at `path`.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path).map(|node| &**node)
    }

    /// The node at `path`, to change it.
    pub fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        self.mark(path);
        self.nodes.get_mut(path).map(|node| &mut **node)
    }

    /// Sets `/zookeeper/config` to an ensemble's membership, as a ZooKeeper member does when
    /// it starts (`mzxid` 0) or commits a reconfig (`mzxid` its zxid): data version -1,
    /// `mtime` now. Not marked as changed: the membership is the running ensemble's, so a
    /// store keeps no copy of it.
    pub fn set_config(&mut self, data: Vec<u8>, mtime: i64, mzxid: i64) {
        self.fault_in(crate::path::CONFIG);
        if let Some(config) = self.nodes.get_mut(crate::path::CONFIG) {
            config.data = Some(data);
            config.version = -1;
            config.mtime = mtime;
            config.mzxid = mzxid;
        }
    }

    /// True when a node exists at `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.nodes.contains_key(path)
            || (self.lazy.is_some()
                && path != "/"
                && self.nodes.get(path::parent(path)).is_some_and(|p| p.children.contains(path::name(path))))
    }

    /// Number of nodes, the four built-in ones included. For a tree with a backing: the
    /// backing's count plus the ephemerals, which are all in memory (right when the backing
    /// gets every change).
    pub fn len(&self) -> usize {
        match &self.lazy {
            Some(Lazy(backing)) => {
                backing.count() + self.ephemerals.values().map(BTreeSet::len).sum::<usize>()
            }
            None => self.nodes.len(),
        }
    }

    /// The bytes of every node's path and data (the server's `approximateDataSize`). For a
    /// tree with a backing: the backing's plus the ephemerals', as [`Tree::len`] counts.
    pub fn data_bytes(&self) -> usize {
        let size = |(path, node): (&str, &Node)| path.len() + node.data.as_ref().map_or(0, Vec::len);
        match &self.lazy {
            Some(Lazy(backing)) => {
                let ephemerals = self.ephemerals.values().flatten();
                backing.data_bytes()
                    + ephemerals
                        .filter_map(|path| self.get(path).map(|node| (path.as_str(), node)))
                        .map(size)
                        .sum::<usize>()
            }
            None => self.iter().map(size).sum(),
        }
    }

    /// How many nodes memory holds now (all of them, for a tree without a backing).
    pub fn held(&self) -> usize {
        self.nodes.len()
    }

    /// Every node, in no order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(path, node)| (&**path, &**node))
    }

    /// Adds `node` at `path` under its existing parent (the caller checked everything),
    /// counting the create in the parent's cversion and pzxid.
    pub fn insert(&mut self, path: String, node: Node, zxid: i64) {
        self.mark_with_parent(&path);
        let name = path::name(&path).to_string();
        if let Some(parent) = self.nodes.get_mut(path::parent(&path)) {
            parent.children.insert(name);
            parent.creates = parent.creates.wrapping_add(1);
            parent.pzxid = zxid;
        }
        self.index(&path, node.kind);
        if self.lazy.is_some() {
            self.gone.remove(&path);
            // Dropped like any node once saved: an import into a store holds a bounded part.
            self.cached.push_back(path.clone());
        }
        self.nodes.insert(path.into(), Box::new(node));
    }

    /// Removes the node at `path` (the caller checked it has no children) and returns it.
    /// The parent's pzxid moves to `zxid` if that is later.
    pub fn remove(&mut self, path: &str, zxid: i64) -> Option<Node> {
        self.mark_with_parent(path);
        let node = *self.nodes.remove(path)?;
        if let Some(parent) = self.nodes.get_mut(path::parent(path)) {
            parent.children.remove(path::name(path));
            if zxid > parent.pzxid {
                parent.pzxid = zxid;
            }
        }
        self.unindex(path, node.kind);
        if self.lazy.is_some() {
            self.gone.insert(path.to_string());
        }
        Some(node)
    }

    /// Puts back a node removed by [`Tree::remove`] (to roll back a failed multi).
    pub fn restore_removed(&mut self, path: String, node: Node, parent_pzxid: i64) {
        self.mark_with_parent(&path);
        if let Some(parent) = self.nodes.get_mut(path::parent(&path)) {
            parent.children.insert(path::name(&path).to_string());
            parent.pzxid = parent_pzxid;
        }
        self.index(&path, node.kind);
        if self.lazy.is_some() {
            self.gone.remove(&path);
            self.cached.push_back(path.clone());
        }
        self.nodes.insert(path.into(), Box::new(node));
    }

    /// Takes back a node added by [`Tree::insert`] (to roll back a failed multi).
    pub fn unwind_insert(&mut self, path: &str, parent_pzxid: i64) {
        self.mark_with_parent(path);
        if let Some(node) = self.nodes.remove(path) {
            self.unindex(path, node.kind);
            if self.lazy.is_some() {
                self.gone.insert(path.to_string());
            }
        }
        if let Some(parent) = self.nodes.get_mut(path::parent(path)) {
            parent.children.remove(path::name(path));
            parent.creates = parent.creates.wrapping_sub(1);
            parent.pzxid = parent_pzxid;
        }
    }

    /// From now on, remember which paths change (see [`Tree::take_changed`]).
    pub fn track_changes(&mut self) {
        self.changed.get_or_insert_with(HashSet::new);
    }

    /// The paths whose node was added, removed or may have changed since the last call (or
    /// since [`Tree::track_changes`]), in no order; empty when changes are not tracked.
    pub fn take_changed(&mut self) -> Vec<String> {
        match &mut self.changed {
            Some(changed) if !changed.is_empty() => changed.drain().collect(),
            _ => Vec::new(),
        }
    }

    fn mark(&mut self, path: &str) {
        if let Some(changed) = &mut self.changed {
            if !changed.contains(path) {
                changed.insert(path.to_string());
            }
        } else if self.lazy.is_some() && !self.unsaved.contains(path) {
            self.unsaved.insert(path.to_string());
        }
    }

    /// Marks `path` and its parent, whose child list, cversion and pzxid change with it.
    fn mark_with_parent(&mut self, path: &str) {
        if self.changed.is_some() || self.lazy.is_some() {
            self.mark(path);
            self.mark(path::parent(path));
        }
    }

    fn index(&mut self, path: &str, kind: NodeKind) {
        match kind {
            NodeKind::Persistent => {}
            NodeKind::Ephemeral(session) => {
                self.ephemerals.entry(session).or_default().insert(path.to_string());
            }
            NodeKind::Container => {
                self.containers.insert(path.to_string());
            }
            NodeKind::Ttl(_) => {
                self.ttls.insert(path.to_string());
            }
        }
    }

    fn unindex(&mut self, path: &str, kind: NodeKind) {
        match kind {
            NodeKind::Persistent => {}
            NodeKind::Ephemeral(session) => {
                if let Some(set) = self.ephemerals.get_mut(&session) {
                    set.remove(path);
                    if set.is_empty() {
                        self.ephemerals.remove(&session);
                    }
                }
            }
            NodeKind::Container => {
                self.containers.remove(path);
            }
            NodeKind::Ttl(_) => {
                self.ttls.remove(path);
            }
        }
    }

    /// The ephemerals of a session, in path order.
    pub fn ephemerals_of(&self, session: i64) -> Vec<String> {
        self.ephemerals.get(&session).map(|set| set.iter().cloned().collect()).unwrap_or_default()
    }

    /// Container and TTL nodes the server's cleanup would delete now, in path order: empty
    /// containers that have had a child, and childless TTL nodes unmodified for longer than
    /// their TTL.
    pub fn cleanup_candidates(&self, now: i64) -> Vec<String> {
        let mut out: Vec<String> = self
            .containers
            .iter()
            .filter(|p| self.nodes.get(p.as_str()).is_some_and(|n| n.children.is_empty() && n.creates > 0))
            .cloned()
            .collect();
        out.extend(
            self.ttls
                .iter()
                .filter(|p| {
                    self.nodes.get(p.as_str()).is_some_and(|n| match n.kind {
                        NodeKind::Ttl(ttl) => n.children.is_empty() && now.saturating_sub(n.mtime) > ttl,
                        _ => false,
                    })
                })
                .cloned(),
        );
        out.sort();
        out
    }
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_tree_reports_what_a_fresh_server_reports() {
        let tree = Tree::new();
        let root = tree.get("/").map(Node::stat);
        assert_eq!(root.map(|s| (s.cversion, s.num_children)), Some((-1, 1)));
        let zk = tree.get("/zookeeper").map(Node::stat);
        assert_eq!(zk.map(|s| (s.cversion, s.num_children)), Some((-2, 2)));
        let config = tree.get("/zookeeper/config").map(Node::stat);
        assert_eq!(config.map(|s| s.aversion), Some(-1));
    }

    #[test]
    fn cversion_counts_creates_and_deletes() {
        let mut tree = Tree::new();
        let acl = Arc::new(Acl::open());
        tree.insert("/a".into(), Node::new(None, acl.clone(), NodeKind::Persistent, 1, 0), 1);
        tree.insert("/a/b".into(), Node::new(None, acl.clone(), NodeKind::Persistent, 2, 0), 2);
        tree.insert("/a/c".into(), Node::new(None, acl, NodeKind::Persistent, 3, 0), 3);
        tree.remove("/a/b", 4);
        let stat = tree.get("/a").map(Node::stat).unwrap_or_default();
        assert_eq!((stat.cversion, stat.num_children, stat.pzxid), (3, 1, 4));
    }

    /// A backing of `/` and `count` children `/n0`, `/n1`, ... with their index as data.
    struct Flat(usize);

    impl Flat {
        fn node(&self, path: &str) -> Option<Node> {
            let open = Arc::new(Acl::open());
            let mut node = Node::new(Some(path.as_bytes().to_vec()), open, NodeKind::Persistent, 1, 0);
            if path == "/" {
                node.children = (0..self.0).map(|i| format!("n{i}")).collect();
                return Some(node);
            }
            let i: usize = path.strip_prefix("/n")?.parse().ok()?;
            (i < self.0).then_some(node)
        }
    }

    impl Backing for Flat {
        fn read(&self, path: &str, _: usize) -> Vec<(String, Node)> {
            self.node(path).map(|node| (path.to_string(), node)).into_iter().collect()
        }
        fn count(&self) -> usize {
            self.0 + 1
        }
        fn data_bytes(&self) -> usize {
            0
        }
    }

    /// A backing that holds what [`Mirror::save`] copied from a tree, as a store does.
    #[derive(Default)]
    struct Mirror(parking_lot::Mutex<HashMap<String, Node>>);

    impl Mirror {
        /// Copies the nodes changed in `tree` since the last save (a commit).
        fn save(&self, tree: &mut Tree) {
            let mut saved = self.0.lock();
            for path in tree.take_changed() {
                match tree.get(&path) {
                    Some(node) => saved.insert(path, node.clone()),
                    None => saved.remove(&path),
                };
            }
        }
    }

    impl Backing for Mirror {
        fn read(&self, path: &str, _: usize) -> Vec<(String, Node)> {
            self.0.lock().get(path).map(|node| (path.to_string(), node.clone())).into_iter().collect()
        }
        fn count(&self) -> usize {
            self.0.lock().len()
        }
        fn data_bytes(&self) -> usize {
            0
        }
    }

    /// What a reader sees of the node at `path`.
    fn seen(tree: &mut Tree, path: &str) -> Option<(Stat, Option<Vec<u8>>, Vec<String>)> {
        tree.fault_in(path);
        tree.get(path).map(|n| (n.stat(), n.data.clone(), n.children.iter().cloned().collect()))
    }

    #[test]
    fn a_tree_whose_store_was_made_from_it_keeps_a_bounded_cache_of_the_same_values() {
        let mirror = Arc::new(Mirror::default());
        let mut tree = Tree::new();
        tree.track_changes();
        let open = Arc::new(Acl::open());
        let count = 2 * CACHED_NODES;
        let add = |tree: &mut Tree, i: usize| {
            let (path, zxid) = (format!("/n{}/m{i}", i % 7), i as i64 + 10);
            tree.fault_in_with_parent(&path);
            let node =
                Node::new(Some(path.clone().into_bytes()), open.clone(), NodeKind::Persistent, zxid, 5);
            tree.insert(path, node, zxid);
        };
        for i in 0..7 {
            tree.insert(format!("/n{i}"), Node::new(None, open.clone(), NodeKind::Persistent, 1, 1), 1);
        }
        // Made before the store, then added after it: both are dropped once saved.
        for i in 0..count / 2 {
            add(&mut tree, i);
        }
        mirror.save(&mut tree);
        tree.attach(mirror.clone());
        for i in count / 2..count {
            add(&mut tree, i);
        }
        let paths: Vec<String> =
            (0..7).map(|i| format!("/n{i}")).chain((0..count).map(|i| format!("/n{}/m{i}", i % 7))).collect();
        let before: Vec<_> = paths.iter().map(|path| seen(&mut tree, path)).collect();
        assert!(before.iter().all(Option::is_some));
        mirror.save(&mut tree);
        tree.shrink_cache();
        assert!(tree.nodes.len() <= CACHED_NODES + 4, "{} nodes kept", tree.nodes.len());
        assert!(tree.get("/n0/m0").is_none(), "the oldest saved node is dropped");
        assert!(tree.get(crate::path::CONFIG).is_some(), "the special nodes stay");
        let after: Vec<_> = paths.iter().map(|path| seen(&mut tree, path)).collect();
        assert!(before == after, "a node read back differs from the one dropped");
    }

    /// A backing of `/n0`, `/n1`, ... that reads, with each node, as many of the nodes after
    /// it as it may.
    struct Wide;

    impl Backing for Wide {
        fn read(&self, path: &str, more: usize) -> Vec<(String, Node)> {
            let Some(first) = path.strip_prefix("/n").and_then(|i| i.parse::<usize>().ok()) else {
                return Vec::new();
            };
            let open = Arc::new(Acl::open());
            (first..=first + more)
                .map(|i| (format!("/n{i}"), Node::new(None, open.clone(), NodeKind::Persistent, 1, 0)))
                .collect()
        }
        fn count(&self) -> usize {
            0
        }
        fn data_bytes(&self) -> usize {
            0
        }
    }

    #[test]
    fn what_is_read_with_a_node_stays_within_twice_the_cache() {
        let mut tree = Tree::lazy(Arc::new(Wide), Vec::new());
        tree.fault_in("/n0");
        assert_eq!(tree.nodes.len(), 2 * CACHED_NODES + 1);
        // No room left: the node asked for alone.
        let far = 3 * CACHED_NODES;
        tree.fault_in(&format!("/n{far}"));
        assert_eq!(tree.nodes.len(), 2 * CACHED_NODES + 2);
        tree.shrink_cache();
        assert_eq!(tree.nodes.len(), CACHED_NODES);
        assert!(tree.get(&format!("/n{far}")).is_some(), "the newest is kept");
        // Room for as many as the cache holds.
        tree.fault_in("/n0");
        assert_eq!(tree.nodes.len(), 2 * CACHED_NODES + 1);
    }

    #[test]
    fn a_stored_tree_keeps_a_bounded_cache_of_saved_nodes_and_reads_dropped_ones_again() {
        for saving in [true, false] {
            stored_tree_cache(saving);
        }
    }

    /// The cache of a tree whose store saves its changes (`saving`) or only reads.
    fn stored_tree_cache(saving: bool) {
        let count = CACHED_NODES + 1000;
        let mut tree = Tree::lazy(Arc::new(Flat(count)), Vec::new());
        if saving {
            tree.track_changes();
        }
        for i in 0..count {
            tree.fault_in(&format!("/n{i}"));
        }
        // Changed (not saved yet): never dropped.
        if let Some(node) = tree.get_mut("/n0") {
            node.version = 7;
        }
        assert_eq!(tree.nodes.len(), count);
        tree.shrink_cache();
        assert!(tree.nodes.len() <= CACHED_NODES + 1, "{} nodes kept", tree.nodes.len());
        assert_eq!(tree.get("/n0").map(|n| n.version), Some(7));
        assert!(tree.get("/n1").is_none(), "the oldest saved node is dropped");
        tree.fault_in("/n1");
        assert_eq!(tree.get("/n1").and_then(|n| n.data.clone()), Some(b"/n1".to_vec()));
        assert!(tree.get(&format!("/n{}", count - 1)).is_some(), "the newest is kept");
    }
}
