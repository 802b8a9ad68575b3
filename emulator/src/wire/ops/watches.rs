//! The watch requests: `addWatch` (persistent watches) and `setWatches` (a reconnecting
//! client's watches, re-armed). Watches left by reads are set by the reads themselves.

use std::sync::Arc;

use futures::FutureExt as _;
use zczk_core::store::{Code, Store, WatchMode};

use super::{NewWatch, Outcome, Table, Work};
use crate::session::Session;
use crate::wire::proto::SetWatches;

/// `addWatch`: mode 0 is persistent, 1 persistent and recursive.
pub(super) fn add_watch(s: Arc<Session>, xid: i32, path: String, mode: i32) -> Work {
    async move {
        let mode = match mode {
            0 => WatchMode::Persistent,
            1 => WatchMode::PersistentRecursive,
            _ => return Outcome::error(xid, Code::BadArguments),
        };
        match s.add_watch(&path, mode).await {
            Ok(watch) => Outcome::ok(xid, |_| {}).watch(NewWatch::Persistent { path, mode, watch }),
            Err(e) => Outcome::error(xid, e.code),
        }
    }
    .boxed()
}

/// Event type numbers of `WatcherEvent.type`.
pub(crate) mod event {
    pub const NODE_CREATED: i32 = 1;
    pub const NODE_DELETED: i32 = 2;
    pub const NODE_DATA_CHANGED: i32 = 3;
    pub const NODE_CHILDREN_CHANGED: i32 = 4;
}

/// Re-arms a reconnecting client's watches as the server does: a watch whose node changed
/// after `relative_zxid` fires at once, the others are registered.
pub(super) fn set_watches(s: Arc<Session>, xid: i32, set: SetWatches) -> Work {
    async move { rearm(&s, xid, set).await }.boxed()
}

async fn rearm(s: &Session, xid: i32, set: SetWatches) -> Outcome {
    let mut out = Outcome::ok(xid, |_| {});
    let rel = set.relative_zxid;
    for path in set.data {
        match s.exists_watch(&path).await {
            Ok((None, _)) => out.events.push((event::NODE_DELETED, path)),
            Ok((Some(stat), _)) if stat.mzxid > rel => out.events.push((event::NODE_DATA_CHANGED, path)),
            Ok((Some(_), watch)) => out.watches.push(NewWatch::Oneshot { path, table: Table::Data, watch }),
            Err(e) => return Outcome::error(xid, e.code),
        }
    }
    for path in set.exist {
        match s.exists_watch(&path).await {
            Ok((Some(_), _)) => out.events.push((event::NODE_CREATED, path)),
            Ok((None, watch)) => out.watches.push(NewWatch::Oneshot { path, table: Table::Data, watch }),
            Err(e) => return Outcome::error(xid, e.code),
        }
    }
    for path in set.child {
        match s.get_children_watch(&path).await {
            Err(e) if e.code == Code::NoNode => out.events.push((event::NODE_DELETED, path)),
            Ok((_, stat, _)) if stat.pzxid > rel => out.events.push((event::NODE_CHILDREN_CHANGED, path)),
            Ok((_, _, watch)) => out.watches.push(NewWatch::Oneshot { path, table: Table::Child, watch }),
            // A child watch on a node the session may no longer read: nothing to re-arm.
            Err(e) if e.code == Code::NoAuth => {}
            Err(e) => return Outcome::error(xid, e.code),
        }
    }
    for (paths, mode) in
        [(set.persistent, WatchMode::Persistent), (set.recursive, WatchMode::PersistentRecursive)]
    {
        for path in paths {
            match s.add_watch(&path, mode).await {
                Ok(watch) => out.watches.push(NewWatch::Persistent { path, mode, watch }),
                Err(e) => return Outcome::error(xid, e.code),
            }
        }
    }
    out
}
