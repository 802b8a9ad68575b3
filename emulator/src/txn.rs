//! The write transactions: each checks what the server checks, in the server's order (so the
//! same request gets the same error code), then applies itself to the tree, recording the
//! watch events it causes and, inside a `multi`, how to undo it. [`check_perm`] is the
//! permission check reads share with them.

use std::sync::{Arc, LazyLock};

use zczk_core::path::PathError;
use zczk_core::store::{Acl, Code, CreateMode, CreateOptions, Created, EventKind, Perms, Stat};

use crate::acl::{self, Identity};
use crate::path;
use crate::tree::{Node, NodeKind, Tree};
use crate::watch::Change;

/// The largest TTL the server accepts, in ms (its 40-bit extended value).
pub const MAX_TTL_MS: u128 = 0xff_ffff_ffff;

/// The open ACL, shared by every node that has it.
static OPEN: LazyLock<Arc<Vec<Acl>>> = LazyLock::new(|| Arc::new(Acl::open()));

/// Who runs a transaction, and when.
pub struct Ctx<'a> {
    /// The transaction's zxid.
    pub zxid: i64,
    /// Its time (ms since the epoch).
    pub time: i64,
    /// The session making the request (0 for the server itself).
    pub session: i64,
    /// The session's identities.
    pub auth: &'a [Identity],
    /// Whether TTL nodes are enabled (`extendedTypesEnabled`).
    pub extended_types: bool,
}

/// Why a transaction failed: the code, and words for the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    /// The server's code.
    pub code: Code,
    /// An explanation, when the code alone is not clear.
    pub detail: Option<String>,
}

impl From<Code> for Fail {
    fn from(code: Code) -> Fail {
        Fail { code, detail: None }
    }
}

fn fail(code: Code, detail: impl Into<String>) -> Fail {
    Fail { code, detail: Some(detail.into()) }
}

/// How to take back one applied op of a failed `multi`.
pub enum Undo {
    /// A node was created.
    Created {
        /// Its path.
        path: String,
        /// The parent's pzxid before.
        parent_pzxid: i64,
    },
    /// A node was deleted.
    Deleted {
        /// Its path.
        path: String,
        /// The node as it was.
        node: Node,
        /// The parent's pzxid before.
        parent_pzxid: i64,
    },
    /// A node's data was set.
    DataSet {
        /// Its path.
        path: String,
        /// The data before.
        data: Option<Vec<u8>>,
        /// mtime before.
        mtime: i64,
        /// mzxid before.
        mzxid: i64,
        /// version before.
        version: i32,
    },
}

/// What applied transactions leave behind: the watch events to send once committed, and,
/// inside a `multi`, the undo records. Each is only kept when asked for, so a lone write with
/// no watches anywhere allocates nothing here.
#[derive(Default)]
pub struct Log {
    /// Watch events in apply order, if wanted.
    pub changes: Option<Vec<Change>>,
    /// Undo records in apply order, if wanted.
    pub undo: Option<Vec<Undo>>,
}

impl Log {
    /// A log that keeps changes when `changes` and undo records when `undo`.
    pub fn new(changes: bool, undo: bool) -> Log {
        Log { changes: changes.then(Vec::new), undo: undo.then(Vec::new) }
    }

    fn change(&mut self, kind: EventKind, path: &str) {
        if let Some(changes) = &mut self.changes {
            changes.push(Change { kind, path: path.to_string() });
        }
    }

    fn undo(&mut self, undo: impl FnOnce() -> Undo) {
        if let Some(list) = &mut self.undo {
            list.push(undo());
        }
    }
}

/// Takes back the applied ops of a failed multi, newest first.
pub fn rollback(tree: &mut Tree, undo: Vec<Undo>) {
    for record in undo.into_iter().rev() {
        match record {
            Undo::Created { path, parent_pzxid } => tree.unwind_insert(&path, parent_pzxid),
            Undo::Deleted { path, node, parent_pzxid } => tree.restore_removed(path, node, parent_pzxid),
            Undo::DataSet { path, data, mtime, mzxid, version } => {
                if let Some(node) = tree.get_mut(&path) {
                    node.data = data;
                    node.mtime = mtime;
                    node.mzxid = mzxid;
                    node.version = version;
                }
            }
        }
    }
}

fn check_version(current: i32, expected: Option<i32>) -> Result<(), Fail> {
    match expected {
        Some(v) if v != -1 && v != current => {
            Err(fail(Code::BadVersion, format!("expected version {v}, the node has {current}")))
        }
        _ => Ok(()),
    }
}

/// Whether `auth` may do what `perm` names on `node`: its ACL is open or grants it. Reads and
/// writes alike fail with `NoAuth`.
pub(crate) fn check_perm(node: &Node, perm: Perms, auth: &[Identity]) -> Result<(), Fail> {
    if acl::is_open(&node.acl) || acl::allows(&node.acl, perm, auth) {
        Ok(())
    } else {
        Err(fail(Code::NoAuth, format!("the ACL grants no {perm} permission to this session")))
    }
}

/// The ACL to store for a create or set_acl, as the server fixes it up.
fn fixed_acl(acl: &[Acl], auth: &[Identity]) -> Result<Arc<Vec<Acl>>, Fail> {
    if acl::is_open(acl) {
        return Ok(OPEN.clone());
    }
    match acl::fixup(acl, auth) {
        Some(fixed) if acl::is_open(&fixed) => Ok(OPEN.clone()),
        Some(fixed) => Ok(Arc::new(fixed)),
        None if acl.is_empty() => Err(fail(Code::InvalidAcl, "the ACL is empty")),
        None => Err(fail(
            Code::InvalidAcl,
            "an entry has an unknown scheme or a malformed id, or `auth` was used with no digest identity",
        )),
    }
}

/// The node kind a create makes, after the server's TTL checks.
fn node_kind(ctx: &Ctx, options: &CreateOptions) -> Result<NodeKind, Fail> {
    if let Some(ttl) = options.ttl {
        if !matches!(options.mode, CreateMode::Persistent | CreateMode::PersistentSequential) {
            return Err(fail(Code::BadArguments, "a TTL is only valid with a persistent mode"));
        }
        if !ctx.extended_types {
            return Err(fail(Code::Unimplemented, "TTL nodes are disabled (extendedTypesEnabled=false)"));
        }
        let ms = ttl.as_millis();
        if ms == 0 || ms > MAX_TTL_MS {
            return Err(fail(Code::BadArguments, format!("TTL must be 1 to {MAX_TTL_MS} ms")));
        }
        return Ok(NodeKind::Ttl(ms as i64));
    }
    Ok(match options.mode {
        CreateMode::Persistent | CreateMode::PersistentSequential => NodeKind::Persistent,
        CreateMode::Ephemeral | CreateMode::EphemeralSequential => NodeKind::Ephemeral(ctx.session),
        CreateMode::Container => NodeKind::Container,
    })
}

/// Creates a node. The path was validated by the caller (with a digit appended when
/// sequential).
pub fn create(
    tree: &mut Tree,
    ctx: &Ctx,
    path: &str,
    data: Option<&[u8]>,
    options: &CreateOptions,
    log: &mut Log,
) -> Result<Created, Fail> {
    if path == "/" && !options.mode.is_sequential() {
        // The root has no parent to create it in.
        return Err(fail(Code::BadArguments, "the root cannot be created"));
    }
    let kind = node_kind(ctx, options)?;
    let acl = fixed_acl(&options.acl, ctx.auth)?;
    let parent_path = path::parent(path);
    let parent =
        tree.get(parent_path).ok_or_else(|| fail(Code::NoNode, format!("no parent {parent_path}")))?;
    check_perm(parent, Perms::CREATE, ctx.auth)?;
    let full = if options.mode.is_sequential() {
        // Java's %010d: the number of children ever created here, zero-padded.
        format!("{path}{:010}", parent.creates)
    } else {
        path.to_string()
    };
    if let Err(PathError { reason, .. }) = zczk_core::path::validate(&full) {
        return Err(fail(Code::BadArguments, reason));
    }
    if tree.contains(&full) {
        return Err(Code::NodeExists.into());
    }
    if parent.is_ephemeral() {
        return Err(fail(Code::NoChildrenForEphemerals, format!("{parent_path} is ephemeral")));
    }
    let parent_pzxid = parent.pzxid;
    let node = Node::new(data.map(<[u8]>::to_vec), acl, kind, ctx.zxid, ctx.time);
    let stat = node.stat();
    tree.insert(full.clone(), node, ctx.zxid);
    log.change(EventKind::NodeCreated, &full);
    log.change(EventKind::NodeChildrenChanged, parent_path);
    log.undo(|| Undo::Created { path: full.clone(), parent_pzxid });
    Ok(Created { path: full, stat })
}

/// Deletes a node.
pub fn delete(
    tree: &mut Tree,
    ctx: &Ctx,
    path: &str,
    version: Option<i32>,
    log: &mut Log,
) -> Result<(), Fail> {
    if path::is_special(path) {
        return Err(fail(Code::BadArguments, "the server never deletes / or its /zookeeper nodes"));
    }
    let parent_path = path::parent(path);
    let parent = tree.get(parent_path).ok_or(Code::NoNode)?;
    check_perm(parent, Perms::DELETE, ctx.auth)?;
    let parent_pzxid = parent.pzxid;
    let node = tree.get(path).ok_or(Code::NoNode)?;
    check_version(node.version, version)?;
    if !node.children.is_empty() {
        return Err(fail(Code::NotEmpty, format!("{} children", node.children.len())));
    }
    let removed = tree.remove(path, ctx.zxid).ok_or(Code::NoNode)?;
    log.change(EventKind::NodeDeleted, path);
    log.change(EventKind::NodeChildrenChanged, parent_path);
    log.undo(|| Undo::Deleted { path: path.to_string(), node: removed, parent_pzxid });
    Ok(())
}

/// Sets a node's data.
pub fn set_data(
    tree: &mut Tree,
    ctx: &Ctx,
    path: &str,
    data: Option<&[u8]>,
    version: Option<i32>,
    log: &mut Log,
) -> Result<Stat, Fail> {
    let node = tree.get_mut(path).ok_or(Code::NoNode)?;
    check_perm(node, Perms::WRITE, ctx.auth)?;
    check_version(node.version, version)?;
    let old = std::mem::replace(&mut node.data, data.map(<[u8]>::to_vec));
    log.undo(|| Undo::DataSet {
        path: path.to_string(),
        data: old,
        mtime: node.mtime,
        mzxid: node.mzxid,
        version: node.version,
    });
    node.mtime = ctx.time;
    node.mzxid = ctx.zxid;
    node.version = node.version.wrapping_add(1);
    let stat = node.stat();
    log.change(EventKind::NodeDataChanged, path);
    Ok(stat)
}

/// A reconfig's new membership, `data`, into `/zookeeper/config`: only a session that may
/// write the node (a superuser: its ACL lets everyone read and no one write) may commit it.
/// Its data version stays -1, as ZooKeeper keeps it.
pub fn set_config(tree: &mut Tree, ctx: &Ctx, data: Vec<u8>, log: &mut Log) -> Result<Stat, Fail> {
    let node = tree.get(path::CONFIG).ok_or(Code::NoNode)?;
    check_perm(node, Perms::WRITE, ctx.auth)?;
    tree.set_config(data, ctx.time, ctx.zxid);
    log.change(EventKind::NodeDataChanged, path::CONFIG);
    tree.get(path::CONFIG).map(Node::stat).ok_or_else(|| Code::NoNode.into())
}

/// The `check` op of a multi: the node exists, the session may READ it, and its version
/// matches (-1 matches any).
pub fn check(tree: &Tree, ctx: &Ctx, path: &str, version: i32) -> Result<(), Fail> {
    let node = tree.get(path).ok_or(Code::NoNode)?;
    check_perm(node, Perms::READ, ctx.auth)?;
    check_version(node.version, Some(version))
}

/// Replaces a node's ACL (`version` is the ACL version). Fires no watch.
pub fn set_acl(
    tree: &mut Tree,
    ctx: &Ctx,
    path: &str,
    acl: &[Acl],
    version: Option<i32>,
) -> Result<Stat, Fail> {
    // The server fixes up the ACL before it looks at the node.
    let acl = fixed_acl(acl, ctx.auth)?;
    let node = tree.get_mut(path).ok_or(Code::NoNode)?;
    check_perm(node, Perms::ADMIN, ctx.auth)?;
    check_version(node.aversion, version)?;
    node.aversion = node.aversion.wrapping_add(1);
    node.acl = acl;
    Ok(node.stat())
}

/// Deletes a node on the server's own behalf (session end, container and TTL cleanup): no
/// ACL or version check. Returns false when the node is gone or has children.
pub fn server_delete(tree: &mut Tree, zxid: i64, path: &str, log: &mut Log) -> bool {
    if !tree.get(path).is_some_and(|n| n.children.is_empty()) {
        return false;
    }
    tree.remove(path, zxid);
    log.change(EventKind::NodeDeleted, path);
    log.change(EventKind::NodeChildrenChanged, path::parent(path));
    true
}
