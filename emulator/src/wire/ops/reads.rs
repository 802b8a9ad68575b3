//! The reads: exists, getData, getChildren, getACL, sync, multiRead, and the two subtree
//! queries (getEphemerals, getAllChildrenNumber). A read of an invalid path finds no node, as
//! on the server (the session's methods would refuse it as a client library does).

use std::sync::Arc;

use futures::FutureExt as _;
use zczk_core::path::child;
use zczk_core::store::{Code, Stat, Store, StoreError};

use super::{failed, invalid, NewWatch, Outcome, Table, Work};
use crate::session::Session;
use crate::wire::jute::Writer;
use crate::wire::proto::{op, ReadOp};

/// `exists`, leaving a data watch (or an exist watch, for a missing node) when asked.
pub(super) fn exists(s: Arc<Session>, xid: i32, path: String, watch: bool) -> Work {
    if invalid(&path) {
        return failed(xid, Code::NoNode);
    }
    async move {
        let found = |stat: Option<Stat>| match stat {
            Some(stat) => Outcome::ok(xid, |w| {
                w.stat(&stat);
            }),
            None => Outcome::error(xid, Code::NoNode),
        };
        if !watch {
            return match s.exists(&path).await {
                Ok(stat) => found(stat),
                Err(e) => Outcome::error(xid, e.code),
            };
        }
        match s.exists_watch(&path).await {
            Ok((stat, watch)) => found(stat).watch(NewWatch::Oneshot { path, table: Table::Data, watch }),
            Err(e) => Outcome::error(xid, e.code),
        }
    }
    .boxed()
}

/// `getData`, leaving a data watch when asked.
pub(super) fn get_data(s: Arc<Session>, xid: i32, path: String, watch: bool) -> Work {
    if invalid(&path) {
        return failed(xid, Code::NoNode);
    }
    async move {
        let reply = |data: Option<Vec<u8>>, stat: Stat| {
            Outcome::ok(xid, |w| {
                w.nullable_buffer(data.as_deref()).stat(&stat);
            })
        };
        if !watch {
            return match s.get_data(&path).await {
                Ok((data, stat)) => reply(data, stat),
                Err(e) => Outcome::error(xid, e.code),
            };
        }
        match s.get_data_watch(&path).await {
            Ok((data, stat, watch)) => {
                reply(data, stat).watch(NewWatch::Oneshot { path, table: Table::Data, watch })
            }
            Err(e) => Outcome::error(xid, e.code),
        }
    }
    .boxed()
}

/// `getChildren` (and `getChildren2`, which adds the Stat), leaving a child watch when asked.
pub(super) fn get_children(s: Arc<Session>, xid: i32, path: String, watch: bool, with_stat: bool) -> Work {
    if invalid(&path) {
        return failed(xid, Code::NoNode);
    }
    async move {
        let reply = |names: &[String], stat| {
            Outcome::ok(xid, |w| {
                w.strings(names);
                if with_stat {
                    w.stat(&stat);
                }
            })
        };
        if !watch {
            return match s.get_children(&path).await {
                Ok((names, stat)) => reply(&names, stat),
                Err(e) => Outcome::error(xid, e.code),
            };
        }
        match s.get_children_watch(&path).await {
            Ok((names, stat, watch)) => {
                reply(&names, stat).watch(NewWatch::Oneshot { path, table: Table::Child, watch })
            }
            Err(e) => Outcome::error(xid, e.code),
        }
    }
    .boxed()
}

/// `getACL`.
pub(super) fn get_acl(s: Arc<Session>, xid: i32, path: String) -> Work {
    async move {
        match s.get_acl(&path).await {
            Ok((acl, stat)) => Outcome::ok(xid, |w| {
                w.acls(&acl).stat(&stat);
            }),
            Err(e) => Outcome::error(xid, e.code),
        }
    }
    .boxed()
}

/// `sync`: the reply names the path.
pub(super) fn sync(s: Arc<Session>, xid: i32, path: String) -> Work {
    async move {
        match s.sync(&path).await {
            Ok(()) => Outcome::ok(xid, |w| {
                w.string(&path);
            }),
            Err(e) => Outcome::error(xid, e.code),
        }
    }
    .boxed()
}

/// `multiRead`: each read succeeds or fails on its own; a lost session fails the whole request.
pub(super) fn multi_read(s: Arc<Session>, xid: i32, ops: Vec<ReadOp>) -> Work {
    async move {
        // Each read is called before any is awaited, so they apply back to back.
        let mut body = Writer::default();
        let mut watches = Vec::new();
        for op in ops {
            let result: Result<(), StoreError> = match op {
                ReadOp::GetData { path, watch } => {
                    let read = if watch {
                        s.get_data_watch(&path).await.map(|(d, st, w)| (d, st, Some(w)))
                    } else {
                        s.get_data(&path).await.map(|(d, st)| (d, st, None))
                    };
                    read.map(|(data, stat, watch)| {
                        body.i32(op::GET_DATA)
                            .bool(false)
                            .i32(0)
                            .nullable_buffer(data.as_deref())
                            .stat(&stat);
                        if let Some(watch) = watch {
                            watches.push(NewWatch::Oneshot { path, table: Table::Data, watch });
                        }
                    })
                }
                ReadOp::GetChildren { path, watch } => {
                    let read = if watch {
                        s.get_children_watch(&path).await.map(|(n, _, w)| (n, Some(w)))
                    } else {
                        s.get_children(&path).await.map(|(n, _)| (n, None))
                    };
                    read.map(|(names, watch)| {
                        body.i32(op::GET_CHILDREN).bool(false).i32(0).strings(&names);
                        if let Some(watch) = watch {
                            watches.push(NewWatch::Oneshot { path, table: Table::Child, watch });
                        }
                    })
                }
            };
            if let Err(e) = result {
                if matches!(e.code, Code::SessionExpired | Code::SessionClosed | Code::ConnectionLoss) {
                    return Outcome::error(xid, e.code);
                }
                let code = e.code.as_i32();
                body.i32(op::ERROR).bool(false).i32(code).i32(code);
            }
        }
        body.i32(-1).bool(true).i32(-1);
        let mut out = Outcome::ok(xid, |w| w.buf.extend_from_slice(&body.buf));
        out.watches = watches;
        out
    }
    .boxed()
}

/// `getEphemerals`: the session's own ephemerals whose paths start with `prefix`.
pub(super) fn get_ephemerals(s: Arc<Session>, xid: i32, prefix: String) -> Work {
    async move {
        let mut found = Vec::new();
        let mine =
            |path: &str, stat: &Stat| stat.ephemeral_owner == s.id() && path.starts_with(prefix.as_str());
        match subtree(&s, "/", &mut |path, stat| {
            if mine(path, stat) {
                found.push(path.to_string());
            }
        })
        .await
        {
            Ok(()) => Outcome::ok(xid, |w| {
                w.strings(&found);
            }),
            Err(e) => Outcome::error(xid, e.code),
        }
    }
    .boxed()
}

/// `getAllChildrenNumber`: how many nodes are below `path`.
pub(super) fn get_all_children_number(s: Arc<Session>, xid: i32, path: String) -> Work {
    async move {
        let mut count = 0;
        match subtree(&s, &path, &mut |_, _| count += 1).await {
            // The node itself is not counted.
            Ok(()) => Outcome::ok(xid, |w| {
                w.i32(count - 1);
            }),
            Err(e) => Outcome::error(xid, e.code),
        }
    }
    .boxed()
}

/// Visits `root` and every node below it that the session may list, parents first. Fails
/// only when `root` itself cannot be read; nodes that vanish or are unreadable meanwhile are
/// skipped (the emulator has no snapshot read, so this is not atomic).
async fn subtree(
    s: &Session,
    root: &str,
    visit: &mut (dyn FnMut(&str, &Stat) + Send),
) -> Result<(), StoreError> {
    let (names, stat) = s.get_children(root).await?;
    visit(root, &stat);
    let mut stack: Vec<String> = names.iter().map(|n| child(root, n)).collect();
    while let Some(path) = stack.pop() {
        if let Ok((names, stat)) = s.get_children(&path).await {
            visit(&path, &stat);
            stack.extend(names.iter().map(|n| child(&path, n)));
        }
    }
    Ok(())
}
