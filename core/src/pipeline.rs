//! Sending writes in phases, many in flight within a phase, stopping at the first failure seen.
//!
//! Shared by import's apply and by recursive delete. Each write is sent by calling its `Store`
//! method, which sends the request at once, so requests leave in list order, and the server
//! applies one session's requests in the order they arrive.
//!
//! **Phases.** Writes that depend on each other go in different phases ([`by_level`]: the
//! creates of one tree level, parents before children; the deletes of one level, children
//! before parents). A phase is sent only once every write of the phase before it has been
//! answered without failure, so a child is never created under a parent whose create failed,
//! and a parent is never deleted while a child's delete is in doubt.
//!
//! **What stops when.** At most `window` writes are in flight. When a reply reports a failure,
//! no further write is *sent*; the writes already in flight are still awaited (the server may
//! apply them, and each outcome is recorded), so after a failure up to `window - 1` later
//! writes of the same phase may have landed. Nothing is rolled back: that is what the atomic
//! mode is for.

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;

use std::ops::Range;

use crate::store::size::{self, RequestLimit};
use crate::store::{Acl, Code, CreateOptions, MultiError, Op, Store, StoreError};

/// Most writes per `multi` request when batching (see
/// [`ApplyOptions::batch`](crate::import::ApplyOptions::batch)).
pub const DEFAULT_BATCH: usize = 100;

/// Most write requests in flight by default (see
/// [`ApplyOptions::window`](crate::import::ApplyOptions::window)): with [`DEFAULT_BATCH`]
/// writes to a request, 12,800 writes, enough to keep a server busy (more does not write
/// faster) while bounding what is held as requests.
pub const DEFAULT_WINDOW: usize = 128;

/// How writes are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Most requests in flight at once.
    pub window: usize,
    /// Most writes per `multi` request; 1 sends each write as its own request. ACL changes
    /// always go one per request (a `multi` cannot change an ACL).
    pub batch: usize,
}

/// One write to send.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Write<'p> {
    /// Create a node.
    Create { path: &'p str, data: &'p [u8], options: &'p CreateOptions },
    /// Replace a node's data if it still has `version`.
    SetData { path: &'p str, data: &'p [u8], version: i32 },
    /// Replace a node's ACL if it still has ACL version `aversion`.
    SetAcl { path: &'p str, acl: &'p [Acl], aversion: i32 },
    /// Delete a node if it still has `version`; a node already gone counts as deleted.
    Delete { path: &'p str, version: i32 },
}

/// What happened to a list of writes.
#[derive(Debug, Default)]
pub(crate) struct Sent {
    /// Writes the server applied.
    pub applied: usize,
    /// Deletes of nodes that were already gone (not failures).
    pub vanished: usize,
    /// The failures, in list order.
    pub failures: Vec<StoreError>,
    /// Writes not applied other than the failures: never sent because a failure was seen
    /// first, or part of a failed `multi` (which applies nothing).
    pub not_sent: usize,
    /// Requests sent.
    pub requests: usize,
}

impl Sent {
    /// Adds the counts and failures of a later part of the same list; true when that part
    /// failed (its failures are then this one's).
    fn absorb(&mut self, part: Sent) -> bool {
        self.applied += part.applied;
        self.vanished += part.vanished;
        self.requests += part.requests;
        self.not_sent += part.not_sent;
        let failed = !part.failures.is_empty();
        if failed {
            self.failures = part.failures;
        }
        failed
    }
}

impl Write<'_> {
    /// The write as a `multi` op, or `None` for an ACL change (which a `multi` cannot hold).
    fn to_op(self) -> Option<Op> {
        Some(match self {
            Write::Create { path, data, options } => {
                Op::Create { path: path.to_string(), data: Some(data.to_vec()), options: options.clone() }
            }
            Write::SetData { path, data, version } => {
                Op::SetData { path: path.to_string(), data: Some(data.to_vec()), version: Some(version) }
            }
            Write::Delete { path, version } => Op::Delete { path: path.to_string(), version: Some(version) },
            Write::SetAcl { .. } => return None,
        })
    }

    /// What the write adds to a `multi` request (nothing for an ACL change, which none holds).
    fn multi_len(&self, limit: &RequestLimit) -> usize {
        match *self {
            Write::Create { path, data, options } => limit.multi_create(path, data, options),
            Write::SetData { path, data, .. } => limit.multi_set_data(path, data),
            Write::Delete { path, .. } => limit.multi_delete(path),
            Write::SetAcl { .. } => 0,
        }
    }

    /// The node the write is about.
    pub(crate) fn path(&self) -> &str {
        match self {
            Write::Create { path, .. }
            | Write::SetData { path, .. }
            | Write::SetAcl { path, .. }
            | Write::Delete { path, .. } => path,
        }
    }
}

/// Splits `writes` into one phase per tree level (depth of the path), shallowest first, or
/// deepest first with `deepest_first`; the order within a level is kept. Empty levels are left
/// out.
pub(crate) fn by_level<'p>(
    writes: impl IntoIterator<Item = Write<'p>>,
    deepest_first: bool,
) -> Vec<Vec<Write<'p>>> {
    let mut levels: Vec<Vec<Write<'p>>> = Vec::new();
    for write in writes {
        let depth = write.path().bytes().filter(|&b| b == b'/').count();
        if levels.len() <= depth {
            levels.resize_with(depth + 1, Vec::new);
        }
        levels[depth].push(write);
    }
    levels.retain(|level| !level.is_empty());
    if deepest_first {
        levels.reverse();
    }
    levels
}

/// Sends `phases` one after another (see the module docs): a phase starts only when the one
/// before it had no failure. `progress` is called with the number of writes answered so far,
/// counted over all phases.
pub(crate) async fn send_phases<'a, S: Store + ?Sized>(
    store: &'a S,
    phases: &'a [Vec<Write<'a>>],
    limits: Limits,
    mut progress: Option<&mut (dyn FnMut(usize) + Send)>,
) -> Sent {
    let mut total = Sent::default();
    for (i, phase) in phases.iter().enumerate() {
        let base = total.applied + total.vanished;
        let mut offset = |answered: usize| {
            if let Some(progress) = progress.as_mut() {
                progress(base + answered);
            }
        };
        let batchable = phase.iter().all(|w| !matches!(w, Write::SetAcl { .. }));
        let sent = if limits.batch > 1 && batchable {
            send_batched(store, phase, limits, Some(&mut offset)).await
        } else {
            send(store, phase, limits.window, Some(&mut offset)).await
        };
        if total.absorb(sent) {
            total.not_sent += phases[i + 1..].iter().map(Vec::len).sum::<usize>();
            break;
        }
    }
    total
}

/// Sends `writes` in order with at most `window` in flight (see the module docs).
/// `progress` is called with the number of writes answered so far.
pub(crate) async fn send<'a, S: Store + ?Sized>(
    store: &'a S,
    writes: &'a [Write<'a>],
    window: usize,
    mut progress: Option<&mut (dyn FnMut(usize) + Send)>,
) -> Sent {
    let window = window.max(1);
    let mut sent = Sent::default();
    let mut in_flight: FuturesUnordered<BoxFuture<'a, (usize, Result<(), StoreError>)>> =
        FuturesUnordered::new();
    let mut next = 0;
    let mut answered = 0;
    let mut outcomes: Vec<(usize, StoreError)> = Vec::new();
    loop {
        while outcomes.is_empty() && in_flight.len() < window && next < writes.len() {
            in_flight.push(issue(store, writes[next], next));
            sent.requests += 1;
            next += 1;
        }
        let Some((index, result)) = in_flight.next().await else { break };
        answered += 1;
        match result {
            Ok(()) => sent.applied += 1,
            Err(e) if e.is(Code::NoNode) && matches!(writes[index], Write::Delete { .. }) => {
                sent.vanished += 1
            }
            Err(e) => outcomes.push((index, e)),
        }
        if let Some(progress) = progress.as_mut() {
            progress(answered);
        }
    }
    outcomes.sort_by_key(|(index, _)| *index);
    sent.failures = outcomes.into_iter().map(|(_, e)| e).collect();
    sent.not_sent = writes.len() - next;
    sent
}

/// Sends `writes` (no ACL change among them) as `multi` requests of up to `limits.batch`
/// writes that fit the store's request limit, at most `limits.window` requests in flight; a
/// write too long to go in a `multi` even alone goes as a request of its own (18 bytes
/// shorter). A batch's ops are made when it is sent, so only the requests in flight are held
/// as ops, not the whole list. A request that fails applies none of its writes; its failing write is reported
/// and nothing more is sent. A batch that failed only because a node to delete was already
/// gone is sent again one write at a time, where that is not a failure.
async fn send_batched<'a, S: Store + ?Sized>(
    store: &'a S,
    writes: &'a [Write<'a>],
    limits: Limits,
    mut progress: Option<&mut (dyn FnMut(usize) + Send)>,
) -> Sent {
    let window = limits.window.max(1);
    let limit = store.request_limit();
    let ranges =
        size::batches(writes, limits.batch, limit.max, RequestLimit::EMPTY_MULTI, |w| w.multi_len(&limit));
    let send_batch = |i: usize| {
        let range = ranges[i].clone();
        let first = writes[range.start];
        if range.len() == 1 && !limit.fits(RequestLimit::EMPTY_MULTI + first.multi_len(&limit)) {
            // Alone and still too long for a `multi`: as a plain request, answered as a batch.
            let single = issue(store, first, 0);
            return single
                .map(move |(_, r)| (i, r.map_err(|error| MultiError::Op { index: 0, error })))
                .boxed();
        }
        let ops: Vec<Op> = writes[range].iter().filter_map(|w| w.to_op()).collect();
        // Sent when first polled, which `FuturesUnordered` does in the order of pushing.
        async move { (i, store.multi(&ops).await.map(drop)) }.boxed()
    };

    let mut sent = Sent::default();
    let mut in_flight = FuturesUnordered::new();
    let (mut next, mut answered) = (0, 0);
    let mut failures: Vec<(usize, StoreError)> = Vec::new();
    let mut again: Vec<Range<usize>> = Vec::new();
    loop {
        while failures.is_empty() && in_flight.len() < window && next < ranges.len() {
            let i = next;
            in_flight.push(send_batch(i));
            sent.requests += 1;
            next += 1;
        }
        let Some((i, result)) = in_flight.next().await else { break };
        let range = ranges[i].clone();
        match result {
            Ok(_) => {
                sent.applied += range.len();
                answered += range.len();
                if let Some(progress) = progress.as_mut() {
                    progress(answered);
                }
            }
            Err(MultiError::Op { index, error })
                if error.is(Code::NoNode) && matches!(writes[range.start + index], Write::Delete { .. }) =>
            {
                again.push(range)
            }
            Err(MultiError::Op { index, error }) => {
                sent.not_sent += range.len() - 1;
                failures.push((range.start + index, error));
            }
            Err(MultiError::Request(error)) => {
                sent.not_sent += range.len() - 1;
                failures.push((range.start, error));
            }
        }
    }
    sent.not_sent += ranges[next..].iter().map(Range::len).sum::<usize>();
    if !failures.is_empty() {
        sent.not_sent += again.iter().map(Range::len).sum::<usize>();
    } else {
        for (k, range) in again.iter().enumerate() {
            let base = answered;
            let mut offset = |n: usize| {
                if let Some(progress) = progress.as_mut() {
                    progress(base + n);
                }
            };
            let one = send(store, &writes[range.clone()], window, Some(&mut offset)).await;
            answered += one.applied + one.vanished;
            if sent.absorb(one) {
                sent.not_sent += again[k + 1..].iter().map(Range::len).sum::<usize>();
                return sent;
            }
        }
    }
    failures.sort_by_key(|(index, _)| *index);
    sent.failures = failures.into_iter().map(|(_, e)| e).collect();
    sent
}

/// Sends one write now and returns the future of its reply, tagged with its index.
fn issue<'a, S: Store + ?Sized>(
    store: &'a S,
    write: Write<'a>,
    index: usize,
) -> BoxFuture<'a, (usize, Result<(), StoreError>)> {
    match write {
        Write::Create { path, data, options } => {
            store.create(path, Some(data), options).map(move |r| (index, r.map(drop))).boxed()
        }
        Write::SetData { path, data, version } => {
            store.set_data(path, Some(data), Some(version)).map(move |r| (index, r.map(drop))).boxed()
        }
        Write::SetAcl { path, acl, aversion } => {
            store.set_acl(path, acl, Some(aversion)).map(move |r| (index, r.map(drop))).boxed()
        }
        Write::Delete { path, version } => store.delete(path, Some(version)).map(move |r| (index, r)).boxed(),
    }
}

/// True for the codes a concurrent writer causes: the node changed (`BadVersion`), vanished
/// (`NoNode`), appeared (`NodeExists`) or got children (`NotEmpty`) after the plan read it.
pub(crate) fn is_conflict(code: Code) -> bool {
    matches!(code, Code::BadVersion | Code::NoNode | Code::NodeExists | Code::NotEmpty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delete(path: &str) -> Write<'_> {
        Write::Delete { path, version: 0 }
    }

    #[test]
    fn by_level_groups_by_depth_keeping_the_order_within_a_level() {
        let writes = [delete("/a/b"), delete("/a"), delete("/c/d/e"), delete("/c"), delete("/a/x")];
        let paths = |levels: Vec<Vec<Write<'_>>>| -> Vec<Vec<String>> {
            levels.iter().map(|l| l.iter().map(|w| w.path().to_string()).collect()).collect()
        };
        assert_eq!(paths(by_level(writes, false)), [vec!["/a", "/c"], vec!["/a/b", "/a/x"], vec!["/c/d/e"]]);
        assert_eq!(paths(by_level(writes, true)), [vec!["/c/d/e"], vec!["/a/b", "/a/x"], vec!["/a", "/c"]]);
    }
}
