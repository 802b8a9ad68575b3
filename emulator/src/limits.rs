//! The request size limit.
//!
//! A real server reads each request's length prefix and, when it exceeds `jute.maxbuffer`
//! (default `0xfffff` = 1,048,575 bytes), closes the connection without applying anything:
//! the client sees `ConnectionLoss` (checked on 3.8.0: `set_data("/x", 1,048,553 bytes)`
//! succeeds, 1,048,554 bytes loses the connection). The limit is on the whole serialized
//! request (header, path, data, ACL, ...), not on the data alone, so the emulator computes the
//! request's jute length the same way.

use zczk_core::store::{Acl, CreateOptions, Op};

/// The server's default `jute.maxbuffer`.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 0xfffff;

/// Request header: xid and op type.
const HEADER: usize = 8;
/// A multi's per-op header: type, done flag, error.
const MULTI_HEADER: usize = 4 + 1 + 4;

fn string(s: &str) -> usize {
    4 + s.len()
}

/// A buffer; null (`None`) is its length -1 alone.
fn buffer(b: Option<&[u8]>) -> usize {
    4 + b.map_or(0, <[u8]>::len)
}

fn acl(acl: &[Acl]) -> usize {
    4 + acl.iter().map(|a| 4 + string(&a.scheme) + string(&a.id)).sum::<usize>()
}

fn create_body(path: &str, data: Option<&[u8]>, options: &CreateOptions) -> usize {
    // path, data, ACL, flags, and the TTL for a TTL create.
    string(path) + buffer(data) + acl(&options.acl) + 4 + if options.ttl.is_some() { 8 } else { 0 }
}

/// Length of a create request.
pub fn create(path: &str, data: Option<&[u8]>, options: &CreateOptions) -> usize {
    HEADER + create_body(path, data, options)
}

/// Length of a set_data request.
pub fn set_data(path: &str, data: Option<&[u8]>) -> usize {
    HEADER + string(path) + buffer(data) + 4
}

/// Length of a set_acl request.
pub fn set_acl(path: &str, entries: &[Acl]) -> usize {
    HEADER + string(path) + acl(entries) + 4
}

/// Length of a multi request.
pub fn multi(ops: &[Op]) -> usize {
    let body: usize = ops
        .iter()
        .map(|op| {
            MULTI_HEADER
                + match op {
                    Op::Check { path, .. } | Op::Delete { path, .. } => string(path) + 4,
                    Op::SetData { path, data, .. } => string(path) + buffer(data.as_deref()) + 4,
                    Op::Create { path, data, options } => create_body(path, data.as_deref(), options),
                }
        })
        .sum();
    HEADER + body + MULTI_HEADER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_boundaries_measured_on_a_real_server() {
        // set_data on /x: 1,048,553 bytes of data passes, 1,048,554 does not.
        assert_eq!(set_data("/x", Some(&vec![0; 1_048_553])), DEFAULT_MAX_REQUEST_BYTES);
        // create /c6 with the open ACL: 1,048,526 bytes of data is one byte too many.
        assert_eq!(
            create("/c6", Some(&vec![0; 1_048_526]), &CreateOptions::default()),
            DEFAULT_MAX_REQUEST_BYTES + 1
        );
    }
}
