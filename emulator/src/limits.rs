//! The request size limit, enforced as a real server enforces it.
//!
//! A real server closes the connection of a client whose request is longer than
//! `jute.maxbuffer`, without applying anything: the client sees `ConnectionLoss`. The length
//! is the whole encoded request, so the emulator measures it, and compares it with the limit,
//! with core's [`RequestLimit`] (the same lengths core sizes its batches and checks imports
//! with; see `zczk_core::store::size` for the boundaries measured on a real server).
//! `zczk serve` checks each frame's length against the same limit before decoding it.

use zczk_core::store::{Code, OpKind, RequestLimit, StoreError};

/// The limit of an emulator whose `jute.maxbuffer` is `max`. There is no chroot: a session
/// gets whole paths (over the wire, the client has put its chroot in them already).
pub(crate) fn of(max: usize) -> RequestLimit {
    RequestLimit { max, chroot: 0 }
}

/// Refuses a request `len` bytes long when it is over `limit`, as a real server does: with
/// `ConnectionLoss`, naming the op's path and the length.
pub(crate) fn check(limit: &RequestLimit, len: usize, op: OpKind, path: &str) -> Result<(), StoreError> {
    if limit.fits(len) {
        return Ok(());
    }
    Err(StoreError::new(Code::ConnectionLoss, op, path).with_detail(format!(
        "the request is {len} bytes, over jute.maxbuffer ({}): the server drops the connection",
        limit.max
    )))
}
