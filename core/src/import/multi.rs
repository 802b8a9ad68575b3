//! Fitting a plan into one `multi` request: the ops and an estimate of their encoded size.

use super::Plan;
use crate::store::{CreateMode, CreateOptions, Op};

/// ZooKeeper's default limit on a request (`jute.maxbuffer`, 0xfffff bytes).
pub const MULTI_LIMIT: usize = 0xfffff;

/// The data writes of a plan as `multi` ops: creates (parent first), updates, deletes
/// (children first). ACL changes cannot be part of a `multi` (ZooKeeper has no such op).
pub(crate) fn ops(plan: &Plan) -> Vec<Op> {
    let options = CreateOptions::new(CreateMode::Persistent).with_acl(plan.acl.clone());
    let creates = plan.creates.iter().map(|c| Op::Create {
        path: c.path.clone(),
        data: Some(c.data.clone()),
        options: options.clone(),
    });
    let updates = plan.updates.iter().map(|u| Op::SetData {
        path: u.path.clone(),
        data: Some(u.data.clone()),
        version: Some(u.version),
    });
    let deletes = plan.deletes.iter().map(|d| Op::Delete { path: d.path.clone(), version: Some(d.version) });
    creates.chain(updates).chain(deletes).collect()
}

/// The size of a `multi` request holding `ops`, as ZooKeeper's jute encoding lays it out: the
/// length prefix and request header, then per op a header (type, done flag, error: 9 bytes)
/// and its record (strings and buffers with a 4-byte length), then the closing header. A
/// chroot on the connection adds its length to every path, which this cannot know.
pub fn encoded_size(ops: &[Op]) -> usize {
    const HEADER: usize = 4 + 1 + 4;
    let bytes = |n: usize| 4 + n;
    let mut size = 4 + 4 + 4; // length prefix, xid, op type
    for op in ops {
        size += HEADER;
        size += match op {
            Op::Check { path, .. } => bytes(path.len()) + 4,
            Op::Create { path, data, options } => {
                let acl: usize =
                    options.acl.iter().map(|a| 4 + bytes(a.scheme.len()) + bytes(a.id.len())).sum();
                let ttl = if options.ttl.is_some() { 8 } else { 0 };
                bytes(path.len()) + bytes(data.as_ref().map_or(0, Vec::len)) + 4 + acl + 4 + ttl
            }
            Op::SetData { path, data, .. } => {
                bytes(path.len()) + bytes(data.as_ref().map_or(0, Vec::len)) + 4
            }
            Op::Delete { path, .. } => bytes(path.len()) + 4,
        };
    }
    size + HEADER
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Acl;

    #[test]
    fn size_counts_every_field() {
        // header 12 + op header 9 + path (4+2) + data (4+3) + acl count 4 + one entry
        // (4 + 4+5 + 4+6) + flags 4 + closing header 9
        let op =
            Op::Create { path: "/a".into(), data: Some(b"xyz".to_vec()), options: CreateOptions::default() };
        assert_eq!(Acl::open().len(), 1);
        assert_eq!(encoded_size(&[op]), 12 + 9 + 6 + 7 + 4 + 23 + 4 + 9);
        assert_eq!(encoded_size(&[Op::Delete { path: "/a".into(), version: Some(1) }]), 12 + 9 + 6 + 4 + 9);
    }
}
