//! The values that cross the `Store` door: Stat, ACLs, create modes, multi ops, watch events.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{Future, Stream};

/// A node's metadata, field for field as ZooKeeper's `Stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Stat {
    /// zxid of the change that created the node.
    pub czxid: i64,
    /// zxid of the change that last modified the node's data.
    pub mzxid: i64,
    /// Creation time, milliseconds since the epoch.
    pub ctime: i64,
    /// Last data modification time, milliseconds since the epoch.
    pub mtime: i64,
    /// Number of changes to the data.
    pub version: i32,
    /// Number of changes to the children.
    pub cversion: i32,
    /// Number of changes to the ACL.
    pub aversion: i32,
    /// Session id of the owner if the node is ephemeral, else 0.
    pub ephemeral_owner: i64,
    /// Length of the data in bytes.
    pub data_length: i32,
    /// Number of children.
    pub num_children: i32,
    /// zxid of the change that last modified the children.
    pub pzxid: i64,
}

impl Stat {
    /// True when the node is ephemeral (has an owner session).
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral_owner != 0
    }
}

/// ACL permission bits, as ZooKeeper's `Perms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Perms(pub i32);

impl Perms {
    /// May read data and list children.
    pub const READ: Perms = Perms(1);
    /// May set data.
    pub const WRITE: Perms = Perms(2);
    /// May create children.
    pub const CREATE: Perms = Perms(4);
    /// May delete children.
    pub const DELETE: Perms = Perms(8);
    /// May set the ACL.
    pub const ADMIN: Perms = Perms(16);
    /// Every permission.
    pub const ALL: Perms = Perms(31);

    /// True when every bit of `other` is set here.
    pub fn contains(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }

    /// Parses the letters `r w c d a` (any order, each at most once), as zc.zk's `-p` flag and
    /// ZooKeeper's shell spell permissions.
    pub fn parse(letters: &str) -> Option<Perms> {
        let mut bits = 0;
        for c in letters.chars() {
            let bit = match c {
                'r' => 1,
                'w' => 2,
                'c' => 4,
                'd' => 8,
                'a' => 16,
                _ => return None,
            };
            if bits & bit != 0 {
                return None;
            }
            bits |= bit;
        }
        Some(Perms(bits))
    }
}

impl std::ops::BitOr for Perms {
    type Output = Perms;
    fn bitor(self, rhs: Perms) -> Perms {
        Perms(self.0 | rhs.0)
    }
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, c) in [(1, 'r'), (2, 'w'), (4, 'c'), (8, 'd'), (16, 'a')] {
            if self.0 & bit != 0 {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// One entry of an access control list: who (`scheme:id`) may do what (`perms`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Acl {
    /// Permission bits granted.
    pub perms: Perms,
    /// `world`, `auth`, `digest`, `ip`, ...
    pub scheme: String,
    /// The identity within the scheme (`anyone`, `user:base64(sha1(user:password))`, ...).
    pub id: String,
}

impl Acl {
    /// An entry.
    pub fn new(perms: Perms, scheme: impl Into<String>, id: impl Into<String>) -> Acl {
        Acl { perms, scheme: scheme.into(), id: id.into() }
    }

    /// `world:anyone` with every permission: ZooKeeper's `OPEN_ACL_UNSAFE`.
    pub fn open() -> Vec<Acl> {
        vec![Acl::new(Perms::ALL, "world", "anyone")]
    }

    /// `world:anyone` may read: ZooKeeper's `READ_ACL_UNSAFE` (zc.zk's default for `register`).
    pub fn read_only() -> Vec<Acl> {
        vec![Acl::new(Perms::READ, "world", "anyone")]
    }

    /// Every permission for the identities the session authenticated with: `CREATOR_ALL_ACL`.
    pub fn creator_all() -> Vec<Acl> {
        vec![Acl::new(Perms::ALL, "auth", "")]
    }
}

impl fmt::Display for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.scheme, self.id, self.perms)
    }
}

/// Why text is not an ACL entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an ACL entry SCHEME:ID:PERMS (world:anyone:r, auth::cdrwa, digest:user:HASH:cdrwa)")]
pub struct BadAcl {
    /// The text as given.
    pub text: String,
}

impl std::str::FromStr for Acl {
    type Err = BadAcl;

    /// `SCHEME:ID:PERMS`, as [`Acl`]'s `Display` prints it and ZooKeeper's shell takes it: the
    /// scheme ends at the first colon, the permission letters follow the last, and the id (which
    /// may hold colons, as `digest`'s `user:HASH` does) is what is between.
    fn from_str(text: &str) -> Result<Acl, BadAcl> {
        let bad = || BadAcl { text: text.to_string() };
        let (scheme, rest) = text.split_once(':').ok_or_else(bad)?;
        let (id, letters) = rest.rsplit_once(':').ok_or_else(bad)?;
        let perms = Perms::parse(letters).filter(|p| p.0 != 0).ok_or_else(bad)?;
        if scheme.is_empty() || scheme.contains(char::is_whitespace) {
            return Err(bad());
        }
        Ok(Acl::new(perms, scheme, id))
    }
}

/// How a node is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CreateMode {
    /// Lives until deleted.
    #[default]
    Persistent,
    /// Persistent, with a 10-digit sequence number appended to the name.
    PersistentSequential,
    /// Deleted when the creating session ends.
    Ephemeral,
    /// Ephemeral, with a sequence number appended.
    EphemeralSequential,
    /// Deleted by the server some time after its last child is deleted.
    Container,
}

impl CreateMode {
    /// True for the sequential modes.
    pub fn is_sequential(self) -> bool {
        matches!(self, CreateMode::PersistentSequential | CreateMode::EphemeralSequential)
    }

    /// True for the ephemeral modes.
    pub fn is_ephemeral(self) -> bool {
        matches!(self, CreateMode::Ephemeral | CreateMode::EphemeralSequential)
    }
}

/// The options of a create: mode, ACL and an optional TTL (persistent modes only; the server
/// must run with `extendedTypesEnabled=true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    /// The node's mode.
    pub mode: CreateMode,
    /// The node's ACL; must not be empty.
    pub acl: Vec<Acl>,
    /// Time to live of a persistent node with no children and no changes.
    pub ttl: Option<Duration>,
}

impl CreateOptions {
    /// Options with this mode and an open ACL.
    pub fn new(mode: CreateMode) -> CreateOptions {
        CreateOptions { mode, acl: Acl::open(), ttl: None }
    }

    /// The same options with another ACL.
    pub fn with_acl(mut self, acl: Vec<Acl>) -> CreateOptions {
        self.acl = acl;
        self
    }

    /// The same options with a TTL.
    pub fn with_ttl(mut self, ttl: Duration) -> CreateOptions {
        self.ttl = Some(ttl);
        self
    }
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions::new(CreateMode::Persistent)
    }
}

/// The result of a create: the path the server gave the node (with the sequence number for
/// sequential modes) and its Stat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The node's actual path.
    pub path: String,
    /// The new node's Stat. Inside a `multi`, real servers return no Stat (all fields -1 in
    /// 3.8); the emulator answers the same.
    pub stat: Stat,
}

/// One op of a `multi` transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Fails unless the node exists with this version.
    Check {
        /// Path of the node.
        path: String,
        /// Expected version.
        version: i32,
    },
    /// Creates a node.
    Create {
        /// Path of the new node.
        path: String,
        /// Its data; `None` is null.
        data: Option<Vec<u8>>,
        /// Mode, ACL and TTL.
        options: CreateOptions,
    },
    /// Sets a node's data.
    SetData {
        /// Path of the node.
        path: String,
        /// The new data; `None` is null.
        data: Option<Vec<u8>>,
        /// Expected version, `None` for any.
        version: Option<i32>,
    },
    /// Deletes a node.
    Delete {
        /// Path of the node.
        path: String,
        /// Expected version, `None` for any.
        version: Option<i32>,
    },
}

impl Op {
    /// The path the op acts on.
    pub fn path(&self) -> &str {
        match self {
            Op::Check { path, .. }
            | Op::Create { path, .. }
            | Op::SetData { path, .. }
            | Op::Delete { path, .. } => path,
        }
    }

    /// The kind of operation, for errors naming it.
    pub fn kind(&self) -> super::OpKind {
        match self {
            Op::Check { .. } => super::OpKind::Check,
            Op::Create { .. } => super::OpKind::Create,
            Op::SetData { .. } => super::OpKind::SetData,
            Op::Delete { .. } => super::OpKind::Delete,
        }
    }
}

/// One read of a [`Store::multi_read`](super::Store::multi_read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOp {
    /// The node's data and Stat.
    GetData(String),
    /// The names of the node's children.
    GetChildren(String),
}

impl ReadOp {
    /// The path the read is about.
    pub fn path(&self) -> &str {
        match self {
            ReadOp::GetData(path) | ReadOp::GetChildren(path) => path,
        }
    }
}

/// The result of one successful read of a [`Store::multi_read`](super::Store::multi_read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadResult {
    /// For [`ReadOp::GetData`]: the data (`None` for null) and Stat.
    Data(Option<Vec<u8>>, Stat),
    /// For [`ReadOp::GetChildren`]: the children's names, in no particular order.
    Children(Vec<String>),
}

/// The result of one op of a successful `multi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// A check passed.
    Check,
    /// A node was created (see [`Created`] for the Stat caveat).
    Create(Created),
    /// Data was set; the node's new Stat.
    SetData(Stat),
    /// A node was deleted.
    Delete,
}

/// Kind of a persistent watch (ZooKeeper 3.6+ `addWatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchMode {
    /// Data, exists and child events of the node itself, until removed.
    Persistent,
    /// Data and exists events of the node and every node below it, until removed.
    PersistentRecursive,
}

/// The state of a session, as a store reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Connected; requests are served.
    Connected,
    /// The connection dropped; the session may still be alive and will be resumed on reconnect.
    Disconnected,
    /// The session expired: its ephemerals are gone and it can never be used again.
    Expired,
    /// The session was closed by its owner.
    Closed,
    /// Authentication failed; the session can not be used.
    AuthFailed,
}

impl SessionState {
    /// True for the states a session never leaves.
    pub fn is_terminal(self) -> bool {
        matches!(self, SessionState::Expired | SessionState::Closed | SessionState::AuthFailed)
    }
}

/// What a watch saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The node was created.
    NodeCreated,
    /// The node was deleted.
    NodeDeleted,
    /// The node's data changed.
    NodeDataChanged,
    /// The node's list of children changed.
    NodeChildrenChanged,
    /// The session ended (expired, closed or failed authentication) before the watch fired:
    /// it will never fire. For persistent watches this is the last event.
    SessionEnded(SessionState),
    /// Persistent watches only: the session's connection came back after a disconnection, and
    /// the watch is armed again. What changed while the connection was down was not reported
    /// (as on the server, a persistent watch does not replay missed changes): re-read the node.
    /// The path is the watched one.
    Reconnected,
}

/// A watch event: what happened and to which path (for recursive watches, the node that
/// changed, not the watched one).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatchEvent {
    /// What happened.
    pub kind: EventKind,
    /// The path of the node it happened to.
    pub path: String,
}

/// A one-shot watch: a future that resolves once, with the first event.
///
/// Dropping it forgets the watch on the client side (the server may still hold it until it
/// fires, as with real ZooKeeper's one-shot watches).
pub struct OneshotWatch(BoxFuture<'static, WatchEvent>);

impl OneshotWatch {
    /// Wraps a future that yields the event.
    pub fn new(fut: impl Future<Output = WatchEvent> + Send + 'static) -> Self {
        OneshotWatch(Box::pin(fut))
    }
}

impl Future for OneshotWatch {
    type Output = WatchEvent;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WatchEvent> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for OneshotWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneshotWatch")
    }
}

/// A persistent (or persistent-recursive) watch: a stream of events. It ends after a
/// [`EventKind::SessionEnded`] event. Dropping it removes the watch.
pub struct PersistentWatch(BoxStream<'static, WatchEvent>);

impl PersistentWatch {
    /// Wraps a stream of events.
    pub fn new(stream: impl Stream<Item = WatchEvent> + Send + 'static) -> Self {
        PersistentWatch(Box::pin(stream))
    }
}

impl Stream for PersistentWatch {
    type Item = WatchEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WatchEvent>> {
        self.0.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for PersistentWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersistentWatch")
    }
}

#[cfg(test)]
mod acl_text_tests {
    use super::*;

    #[test]
    fn acl_entries_read_back_what_display_prints() {
        for text in ["world:anyone:r", "auth::cdrwa", "digest:admin:x1y2Z3+/=:rwcda", "ip:127.0.0.1:rw"] {
            let acl: Acl = text.parse().unwrap();
            assert_eq!(acl.to_string().parse::<Acl>().unwrap(), acl, "{text}");
        }
        let digest: Acl = "digest:admin:HASH:cdrwa".parse().unwrap();
        assert_eq!(digest, Acl::new(Perms::ALL, "digest", "admin:HASH"));
        assert_eq!("auth::cdrwa".parse::<Acl>().unwrap(), Acl::creator_all()[0]);
    }

    #[test]
    fn malformed_acl_entries_are_refused() {
        for text in
            ["", "world", "world:anyone", "world:anyone:", "world:anyone:rx", ":anyone:r", "world:anyone:rr"]
        {
            assert!(text.parse::<Acl>().is_err(), "{text:?}");
        }
    }
}
