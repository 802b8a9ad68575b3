//! The `Store` trait: the one door through which zczk talks to ZooKeeper.
//!
//! Every backend (the in-memory emulator, a real ensemble through `zookeeper-client`, the
//! emulator over the wire) implements it, and the conformance suite checks that they all give
//! the same answers.
//!
//! **Pipelining.** Each request method sends (or, in the emulator, applies) its request when it
//! is *called*, and the returned future only waits for the reply. So requests reach the server
//! in call order, and many can be in flight at once: call the methods for a batch, then await
//! the futures together (`futures::future::join_all`, `FuturesOrdered`, ...). A method that
//! cannot even send (a malformed path, a closed session) returns a future that resolves to the
//! error at once.

mod error;
mod observed;
pub mod size;
mod types;

use futures::future::BoxFuture;
use tokio::sync::watch;

pub use error::{summarize, Code, MultiError, OpKind, StoreError};
pub use observed::{Observed, Observer, Seen};
pub use size::RequestLimit;
pub use types::{
    Acl, BadAcl, CreateMode, CreateOptions, Created, EventKind, OneshotWatch, Op, OpResult, Perms,
    PersistentWatch, ReadOp, ReadResult, SessionState, Stat, WatchEvent, WatchMode,
};

/// The future of a request: the request is already sent; awaiting waits for the reply.
pub type Reply<'a, T, E = StoreError> = BoxFuture<'a, Result<T, E>>;

/// One ZooKeeper session. See the module docs for the pipelining contract.
///
/// Paths are absolute ZooKeeper paths (`/a/b`), validated as the server validates them.
/// Versions are `Option<i32>`: `None` means "any version" (ZooKeeper's -1).
///
/// Data is `Option` too: `None` is ZooKeeper's null, what a node created or set with no data
/// holds (length -1 on the wire; Java's `null`, kazoo's `None`). It reads back as `None`, apart
/// from `Some(vec![])`, and its Stat says `dataLength` 0.
///
/// An `Arc` of a store is a store too (every method forwarded), so one session can be shared.
#[auto_impl::auto_impl(Arc)]
pub trait Store: Send + Sync {
    /// Creates a node. Fails with `NodeExists`, `NoNode` (no parent),
    /// `NoChildrenForEphemerals`, `InvalidAcl`, `NoAuth` (no CREATE on the parent),
    /// `BadArguments` (bad path or TTL).
    fn create<'a>(
        &'a self,
        path: &'a str,
        data: Option<&'a [u8]>,
        options: &'a CreateOptions,
    ) -> Reply<'a, Created>;

    /// Deletes a node, if `version` is `None` or matches. Fails with `NoNode`, `BadVersion`,
    /// `NotEmpty`, `NoAuth` (no DELETE on the parent).
    fn delete<'a>(&'a self, path: &'a str, version: Option<i32>) -> Reply<'a, ()>;

    /// The node's Stat, or `None` when it does not exist.
    fn exists<'a>(&'a self, path: &'a str) -> Reply<'a, Option<Stat>>;

    /// As [`Store::exists`], and leaves a one-shot watch that fires on the node's creation,
    /// deletion or data change.
    fn exists_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Stat>, OneshotWatch)>;

    /// The node's data and Stat. Fails with `NoNode`, `NoAuth` (no READ).
    fn get_data<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Vec<u8>>, Stat)>;

    /// As [`Store::get_data`], and leaves a one-shot watch that fires on the node's data change
    /// or deletion. No watch is left when the read fails.
    fn get_data_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Vec<u8>>, Stat, OneshotWatch)>;

    /// Replaces the node's data, if `version` is `None` or matches; returns the new Stat.
    /// Fails with `NoNode`, `BadVersion`, `NoAuth` (no WRITE), `BadArguments` (data too large).
    fn set_data<'a>(&'a self, path: &'a str, data: Option<&'a [u8]>, version: Option<i32>)
        -> Reply<'a, Stat>;

    /// The names of the node's children (in no particular order) and its Stat.
    fn get_children<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<String>, Stat)>;

    /// As [`Store::get_children`], and leaves a one-shot watch that fires when a child is
    /// created or deleted, or the node is deleted.
    fn get_children_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<String>, Stat, OneshotWatch)>;

    /// The node's ACL and Stat.
    fn get_acl<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<Acl>, Stat)>;

    /// Replaces the node's ACL if `version` (the ACL version, `aversion`) is `None` or matches.
    fn set_acl<'a>(&'a self, path: &'a str, acl: &'a [Acl], version: Option<i32>) -> Reply<'a, Stat>;

    /// Applies `ops` as one transaction: all or nothing. On success, one result per op.
    fn multi<'a>(&'a self, ops: &'a [Op]) -> Reply<'a, Vec<OpResult>, MultiError>;

    /// Several reads in one request where the server has one (ZooKeeper 3.6+ `multiRead`),
    /// which costs the server far less than one request per read. One result per op, in order;
    /// each op succeeds or fails on its own (a missing node fails only its op, with `NoNode`).
    /// Not a transaction: it sets no watch and is no more consistent than separate reads.
    ///
    /// The default sends each op as its own request, all at once.
    fn multi_read<'a>(&'a self, ops: &'a [ReadOp]) -> Reply<'a, Vec<Result<ReadResult, StoreError>>> {
        use futures::FutureExt;
        let replies: Vec<BoxFuture<'a, Result<ReadResult, StoreError>>> = ops
            .iter()
            .map(|op| match op {
                ReadOp::GetData(path) => {
                    self.get_data(path).map(|r| r.map(|(data, stat)| ReadResult::Data(data, stat))).boxed()
                }
                ReadOp::GetChildren(path) => {
                    self.get_children(path).map(|r| r.map(|(names, _)| ReadResult::Children(names))).boxed()
                }
            })
            .collect();
        Box::pin(futures::future::join_all(replies).map(Ok))
    }

    /// Adds a persistent (or persistent-recursive) watch on `path` (which need not exist). It
    /// lasts as long as the session: after a disconnection it is armed again and yields
    /// [`EventKind::Reconnected`], and the end of the
    /// session is its last event.
    fn add_watch<'a>(&'a self, path: &'a str, mode: WatchMode) -> Reply<'a, PersistentWatch>;

    /// Waits until the server this session talks to has caught up with the leader.
    fn sync<'a>(&'a self, path: &'a str) -> Reply<'a, ()>;

    /// Adds an identity to the session (`digest` with `user:password`, ...).
    fn add_auth<'a>(&'a self, scheme: &'a str, auth: &'a [u8]) -> Reply<'a, ()>;

    /// Closes the session: its ephemerals are deleted at once. Idempotent.
    fn close(&self) -> Reply<'_, ()>;

    /// The session id (the `ephemeral_owner` of the ephemerals this session creates).
    fn session_id(&self) -> i64;

    /// The session's state, now and as it changes.
    fn session_state(&self) -> watch::Receiver<SessionState>;

    /// The longest request this session's server accepts, and what the session adds to each
    /// path (its chroot), for sizing batches and checking writes before they are sent (see
    /// [`size`]). The default is ZooKeeper's default limit with no chroot.
    fn request_limit(&self) -> RequestLimit {
        RequestLimit::default()
    }
}

/// Makes new sessions: what the high-level client uses to replace an expired session.
#[async_trait::async_trait]
pub trait Connector: Send + Sync + 'static {
    /// The kind of session this connector makes.
    type Store: Store + 'static;

    /// Opens a new session. Fails with `ConnectionLoss` (code) naming the address when no
    /// server answers in time.
    async fn connect(&self) -> Result<Self::Store, StoreError>;

    /// Where this connector connects to, for messages (`127.0.0.1:2181/app`, `mem:`, ...).
    fn address(&self) -> String {
        "ZooKeeper".to_string()
    }
}
