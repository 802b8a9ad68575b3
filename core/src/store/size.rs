//! How long a request is on the wire, and the longest one a server takes.
//!
//! A ZooKeeper server reads each request's 4-byte length and, when it is over `jute.maxbuffer`
//! (default `0xfffff` = 1,048,575 bytes), closes the connection without applying anything: the
//! client sees `ConnectionLoss`, and so does every other request in flight on that connection.
//! The length counts the whole request after the prefix, in jute's encoding: the header (xid,
//! op type) and the record, whose strings and buffers each carry a 4-byte length. So the
//! largest data a node can get depends on its path (chroot included) and on the request
//! (create carries an ACL and flags, setData a version, a `multi` a header per op).
//!
//! Measured on 3.8.0 (zookeeper-client 0.11): `setData` of 1,048,553 bytes on `/x` (a
//! 1,048,575-byte request) passes and one byte more loses the connection; the same holds for
//! `create` (`/c1` with the open ACL: 1,048,525 bytes of data), for a name of 1,048,527
//! characters, and for `multi` and `multiRead` requests. Replies have no such limit: a 1.2 MB
//! children list and a 2.7 MB `multiRead` reply arrive whole.
//!
//! Core computes these lengths (batching, import's size check) and the emulator enforces its
//! limit with the very same functions.

use super::{Acl, CreateOptions, Op, ReadOp};

/// ZooKeeper's default `jute.maxbuffer`: the longest request a server accepts.
pub const DEFAULT_MAX_REQUEST: usize = 0xfffff;

/// Request header: xid and op type.
const HEADER: usize = 4 + 4;
/// The header before each op of a `multi` or `multiRead`, and the closing one: op type, done
/// flag, error.
const MULTI_HEADER: usize = 4 + 1 + 4;

/// The requests one session may send: the server's limit, and what the session's chroot adds
/// to each path. A [`Store`](super::Store) tells its own with
/// [`Store::request_limit`](super::Store::request_limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimit {
    /// The longest request the server accepts (its `jute.maxbuffer`), without the length prefix.
    pub max: usize,
    /// The length of the chroot the client puts before every path (0 for none).
    pub chroot: usize,
}

impl Default for RequestLimit {
    /// The default limit, no chroot.
    fn default() -> Self {
        RequestLimit { max: DEFAULT_MAX_REQUEST, chroot: 0 }
    }
}

impl RequestLimit {
    /// The default limit for a session chrooted at `chroot` (`""` or `/app`).
    pub fn with_chroot(chroot: &str) -> RequestLimit {
        RequestLimit { chroot: chroot.trim_end_matches('/').len(), ..RequestLimit::default() }
    }

    /// True when a request of `len` bytes reaches the server.
    pub fn fits(&self, len: usize) -> bool {
        len <= self.max
    }

    /// A path as the server receives it: the chroot, then the path (`/` is the chroot alone).
    fn path(&self, path: &str) -> usize {
        let on_server = if self.chroot > 0 && path == "/" { self.chroot } else { self.chroot + path.len() };
        4 + on_server
    }

    fn acl(entries: &[Acl]) -> usize {
        4 + entries.iter().map(|a| 4 + 4 + a.scheme.len() + 4 + a.id.len()).sum::<usize>()
    }

    /// A create record: path, data, ACL, flags, and the TTL of a TTL node.
    fn create_body(&self, path: &str, data: &[u8], options: &CreateOptions) -> usize {
        let ttl = if options.ttl.is_some() { 8 } else { 0 };
        self.path(path) + 4 + data.len() + Self::acl(&options.acl) + 4 + ttl
    }

    /// The length of a create request.
    pub fn create(&self, path: &str, data: &[u8], options: &CreateOptions) -> usize {
        HEADER + self.create_body(path, data, options)
    }

    /// The length of a setData request.
    pub fn set_data(&self, path: &str, data: &[u8]) -> usize {
        HEADER + self.path(path) + 4 + data.len() + 4
    }

    /// The length of a setACL request.
    pub fn set_acl(&self, path: &str, entries: &[Acl]) -> usize {
        HEADER + self.path(path) + Self::acl(entries) + 4
    }

    /// The length of a request that carries only a path and a watch flag (getData,
    /// getChildren, exists).
    pub fn read(&self, path: &str) -> usize {
        HEADER + self.path(path) + 1
    }

    /// The length of a `multi` request with no op; each op adds [`RequestLimit::multi_op`].
    pub const EMPTY_MULTI: usize = HEADER + MULTI_HEADER;

    /// What one op adds to a `multi` request: its header and its record.
    pub fn multi_op(&self, op: &Op) -> usize {
        match op {
            Op::Check { path, .. } | Op::Delete { path, .. } => self.multi_delete(path),
            // Null data (`None`) is encoded as length -1: as long as empty data.
            Op::SetData { path, data, .. } => self.multi_set_data(path, data.as_deref().unwrap_or_default()),
            Op::Create { path, data, options } => {
                self.multi_create(path, data.as_deref().unwrap_or_default(), options)
            }
        }
    }

    /// What a create adds to a `multi` request ([`RequestLimit::multi_op`] without the op).
    pub fn multi_create(&self, path: &str, data: &[u8], options: &CreateOptions) -> usize {
        MULTI_HEADER + self.create_body(path, data, options)
    }

    /// What a setData adds to a `multi` request.
    pub fn multi_set_data(&self, path: &str, data: &[u8]) -> usize {
        MULTI_HEADER + self.path(path) + 4 + data.len() + 4
    }

    /// What a delete (or a version check) adds to a `multi` request.
    pub fn multi_delete(&self, path: &str) -> usize {
        MULTI_HEADER + self.path(path) + 4
    }

    /// The length of a `multi` request.
    pub fn multi(&self, ops: &[Op]) -> usize {
        Self::EMPTY_MULTI + ops.iter().map(|op| self.multi_op(op)).sum::<usize>()
    }

    /// What a read of `path` (data or children) adds to a `multiRead` request (which starts at
    /// [`RequestLimit::EMPTY_MULTI`] bytes too): its header, path and watch flag.
    pub fn multi_read_op(&self, path: &str) -> usize {
        MULTI_HEADER + self.path(path) + 1
    }

    /// The length of a `multiRead` request.
    pub fn multi_read(&self, ops: &[ReadOp]) -> usize {
        Self::EMPTY_MULTI + ops.iter().map(|op| self.multi_read_op(op.path())).sum::<usize>()
    }

    /// The most data a setData request of `path` can carry.
    pub fn data_room(&self, path: &str) -> usize {
        self.room_for_data(self.set_data(path, &[]), 0)
    }

    /// The most data a request can carry when it is `len` bytes long with `data` bytes of
    /// data: what the limit leaves for it once the rest of the request is counted.
    pub fn room_for_data(&self, len: usize, data: usize) -> usize {
        self.max.saturating_sub(len - data)
    }
}

/// How many of `items`, from the first, go in one batch: at most `count`, whose request
/// (`empty` bytes plus `size` of each item) is no longer than `max`, and at least one (an item
/// too long even alone is a batch of its own, to go in a smaller request than a batch, or not
/// at all). 0 only when there is no item.
pub(crate) fn first_batch<T>(
    items: impl IntoIterator<Item = T>,
    count: usize,
    max: usize,
    empty: usize,
    size: impl Fn(T) -> usize,
) -> usize {
    let (mut n, mut len) = (0, empty);
    for item in items {
        let more = size(item);
        if n > 0 && (n >= count || len + more > max) {
            break;
        }
        (n, len) = (n + 1, len + more);
    }
    n
}

/// Cuts `items` into consecutive batches as [`first_batch`] does.
pub(crate) fn batches<T>(
    items: &[T],
    count: usize,
    max: usize,
    empty: usize,
    size: impl Fn(&T) -> usize,
) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let n = first_batch(&items[start..], count, max, empty, &size);
        ranges.push(start..start + n);
        start += n;
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::Range;

    #[test]
    fn lengths_match_the_boundaries_measured_on_a_real_server() {
        let limit = RequestLimit::default();
        // setData on /x: 1,048,553 bytes of data is a request at the limit.
        assert_eq!(limit.set_data("/x", &vec![0; 1_048_553]), DEFAULT_MAX_REQUEST);
        // create /c1 with the open ACL: 1,048,525 bytes of data is at the limit.
        let open = CreateOptions::default();
        assert_eq!(limit.create("/c1", &vec![0; 1_048_525], &open), DEFAULT_MAX_REQUEST);
        // A name of 1,048,527 characters with no data.
        let name = format!("/{}", "n".repeat(1_048_527));
        assert_eq!(limit.create(&name, b"", &open), DEFAULT_MAX_REQUEST);
        assert_eq!(limit.room_for_data(limit.set_data("/x", b"abc"), 3), 1_048_553);
    }

    #[test]
    fn a_chroot_lengthens_every_path_and_is_the_whole_root() {
        let plain = RequestLimit::default();
        let chrooted = RequestLimit::with_chroot("/app/");
        assert_eq!(chrooted.chroot, 4);
        assert_eq!(chrooted.set_data("/a", b"") - plain.set_data("/a", b""), 4);
        // "/" is sent as "/app": 4 bytes where "/" alone is 1.
        assert_eq!(chrooted.read("/") - plain.read("/"), 3);
    }

    #[test]
    fn multi_lengths_add_a_header_per_op_and_a_closing_one() {
        let limit = RequestLimit::default();
        let delete = Op::Delete { path: "/a".into(), version: Some(1) };
        // header 8, op header 9 + path 6 + version 4, closing header 9
        assert_eq!(limit.multi(std::slice::from_ref(&delete)), 8 + 9 + 6 + 4 + 9);
        assert_eq!(limit.multi(&[]), RequestLimit::EMPTY_MULTI);
        let create =
            Op::Create { path: "/a".into(), data: Some(b"xyz".to_vec()), options: CreateOptions::default() };
        // op header 9 + path 6 + data 7 + ACL (count 4, perms 4, "world" 9, "anyone" 10) + flags 4
        assert_eq!(limit.multi_op(&create), 9 + 6 + 7 + 27 + 4);
        assert_eq!(limit.create("/a", b"xyz", &CreateOptions::default()) + 18, limit.multi(&[create]));
        let read = ReadOp::GetData("/a".into());
        assert_eq!(limit.multi_read(&[read]), 8 + 9 + 6 + 1 + 9);
    }

    #[test]
    fn batches_are_cut_by_count_and_by_length() {
        let sizes = [10, 10, 10, 10, 10, 10, 10];
        assert_eq!(batches(&sizes, 3, 1000, 0, |s| *s), [0..3, 3..6, 6..7]);
        assert_eq!(batches(&sizes, 100, 1000, 0, |s| *s), vec![Range { start: 0, end: 7 }]);
        assert_eq!(batches(&sizes[..0], 3, 1000, 0, |s| *s), []);
        // 5 + 10 + 10 + 10 fits 35 exactly; one byte less does not.
        assert_eq!(batches(&sizes, 100, 35, 5, |s| *s), [0..3, 3..6, 6..7]);
        assert_eq!(batches(&sizes, 100, 34, 5, |s| *s), [0..2, 2..4, 4..6, 6..7]);
        // Too long to share, or even alone: a batch of its own.
        assert_eq!(batches(&[10, 50, 10, 10], 100, 40, 5, |s| *s), [0..1, 1..2, 2..4]);
        assert_eq!(first_batch([50, 10], 100, 40, 5, |s| s), 1);
        assert_eq!(first_batch(Vec::<usize>::new(), 100, 40, 5, |s| s), 0);
    }
}
