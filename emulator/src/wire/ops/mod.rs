//! Runs one decoded request on the connection's emulator session and encodes its reply.
//!
//! Each request becomes a future that calls the session's `Store` method on its first poll;
//! the connection polls it once as soon as the request arrives, so requests apply in arrival
//! order, as on a real server, even when an injected delay holds a reply back.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt as _;
use zczk_core::store::{
    Code, CreateMode, CreateOptions, MultiError, OneshotWatch, Op, OpResult, PersistentWatch, Store,
    StoreError, WatchMode,
};

use super::jute::Writer;
use super::proto::{finish_reply, op, start_reply, CreateBody, MultiOp, ReadOp, Request, SetWatches};
use crate::session::Session;

/// Which of the server's two watch tables a one-shot watch is in: exists and getData watches
/// share the data table, getChildren watches have the child table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Table {
    Data,
    Child,
}

/// A watch a request left, for the connection to listen to.
pub(crate) enum NewWatch {
    Oneshot { path: String, table: Table, watch: OneshotWatch },
    Persistent { path: String, mode: WatchMode, watch: PersistentWatch },
}

/// What a request produced.
pub(crate) struct Outcome {
    /// The reply frame; its header zxid is filled in when it is written.
    pub frame: Vec<u8>,
    /// Notifications (type, path) to send just before the reply (setWatches).
    pub events: Vec<(i32, String)>,
    /// Watches the request left.
    pub watches: Vec<NewWatch>,
    /// Close the connection after the reply (closeSession, failed auth, lost session).
    pub close: bool,
}

impl Outcome {
    fn new(frame: Vec<u8>) -> Outcome {
        Outcome { frame, events: Vec::new(), watches: Vec::new(), close: false }
    }

    /// An empty success reply.
    pub fn empty(xid: i32) -> Outcome {
        Outcome::ok(xid, |_| {})
    }

    fn ok(xid: i32, body: impl FnOnce(&mut Writer)) -> Outcome {
        let mut w = start_reply(xid, 0);
        body(&mut w);
        Outcome::new(finish_reply(w))
    }

    /// An error reply. Codes that mean the session cannot go on on this connection close it,
    /// as the server drops such a client.
    pub fn error(xid: i32, code: Code) -> Outcome {
        let mut out = Outcome::new(finish_reply(start_reply(xid, code.as_i32())));
        out.close = matches!(
            code,
            Code::ConnectionLoss | Code::SessionExpired | Code::SessionClosed | Code::AuthFailed
        );
        out
    }

    fn watch(mut self, watch: NewWatch) -> Outcome {
        self.watches.push(watch);
        self
    }
}

/// Work to do for one request: a future that applies it on its first poll.
pub(crate) type Work = BoxFuture<'static, Outcome>;

fn version(v: i32) -> Option<i32> {
    (v != -1).then_some(v)
}

/// Create options from the wire's mode flags and TTL, or the error the server gives.
fn create_options(body: &CreateBody) -> Result<CreateOptions, Code> {
    let (mode, ttl_mode) = match body.flags {
        0 => (CreateMode::Persistent, false),
        1 => (CreateMode::Ephemeral, false),
        2 => (CreateMode::PersistentSequential, false),
        3 => (CreateMode::EphemeralSequential, false),
        4 => (CreateMode::Container, false),
        5 => (CreateMode::Persistent, true),
        6 => (CreateMode::PersistentSequential, true),
        _ => return Err(Code::BadArguments),
    };
    let ttl = body.ttl.unwrap_or(-1);
    let options = CreateOptions::new(mode).with_acl(body.acl.clone());
    match (ttl_mode, ttl) {
        (true, ttl) if ttl > 0 => Ok(options.with_ttl(Duration::from_millis(ttl as u64))),
        // A TTL mode needs a TTL; other modes must not have one.
        (true, _) => Err(Code::BadArguments),
        (false, ttl) if ttl >= 0 => Err(Code::BadArguments),
        (false, _) => Ok(options),
    }
}

/// The Stat-carrying create replies (create2, createContainer, createTTL) versus plain create.
fn create_has_stat(op_code: i32) -> bool {
    op_code != op::CREATE
}

fn multi_op(op: &MultiOp) -> Result<Op, Code> {
    Ok(match op {
        MultiOp::Create(body) => {
            Op::Create { path: body.path.clone(), data: body.data.clone(), options: create_options(body)? }
        }
        MultiOp::Delete { path, version: v } => Op::Delete { path: path.clone(), version: version(*v) },
        MultiOp::SetData { path, data, version: v } => {
            Op::SetData { path: path.clone(), data: data.clone(), version: version(*v) }
        }
        MultiOp::Check { path, version } => Op::Check { path: path.clone(), version: *version },
    })
}

/// The op code of a multi op's result record. Creates of every kind answer as a plain
/// create (path, no Stat), as ZooKeeper 3.8 does.
fn result_type(op: &MultiOp) -> i32 {
    match op {
        MultiOp::Create(_) => op::CREATE,
        MultiOp::Delete { .. } => op::DELETE,
        MultiOp::SetData { .. } => op::SET_DATA,
        MultiOp::Check { .. } => op::CHECK,
    }
}

/// A multi response where every op failed: those before `index` with 0, `index` with `code`,
/// the rest with RuntimeInconsistency, as the server reports an aborted transaction.
fn multi_failure(w: &mut Writer, count: usize, index: usize, code: i32) {
    for i in 0..count {
        let err = match i.cmp(&index) {
            std::cmp::Ordering::Less => 0,
            std::cmp::Ordering::Equal => code,
            std::cmp::Ordering::Greater => Code::RuntimeInconsistency.as_i32(),
        };
        w.i32(op::ERROR).bool(false).i32(err).i32(err);
    }
    w.i32(-1).bool(true).i32(-1);
}

/// True when the server would refuse `path` (the session's `Store` methods check paths as a
/// client library does, before anything is sent).
fn invalid(path: &str) -> bool {
    crate::path::invalid_reason(path).is_some()
}

/// The code the server gives a create of an invalid path: the parent is looked up first, so
/// a missing parent is `NoNode`; `/` exists already.
async fn invalid_create(s: &Session, path: &str) -> Code {
    match path.rfind('/') {
        None => Code::BadArguments,
        Some(_) if path == "/" => Code::NodeExists,
        Some(i) => {
            let parent = if i == 0 { "/" } else { &path[..i] };
            match s.exists(parent).await {
                Ok(Some(_)) => Code::BadArguments,
                _ => Code::NoNode,
            }
        }
    }
}

/// Turns a request into work on `session`. Invalid paths get the codes the server gives them
/// (reads find no node), not the client-side `BadArguments` of the session's methods.
pub(crate) fn work(session: &Arc<Session>, xid: i32, request: Request) -> Work {
    let s = session.clone();
    match request {
        Request::Exists { path, .. } | Request::GetData { path, .. } | Request::GetChildren { path, .. }
            if invalid(&path) =>
        {
            futures::future::ready(Outcome::error(xid, Code::NoNode)).boxed()
        }
        Request::Delete { path, .. } if invalid(&path) => {
            let code = if path.starts_with('/') && path != "/" { Code::NoNode } else { Code::BadArguments };
            futures::future::ready(Outcome::error(xid, code)).boxed()
        }
        Request::Create(body)
            if body.path == "/" || (invalid(&body.path) && !matches!(body.flags, 2 | 3 | 6)) =>
        {
            async move { Outcome::error(xid, invalid_create(&s, &body.path).await) }.boxed()
        }
        Request::Create(body) => async move {
            let options = match create_options(&body) {
                Ok(options) => options,
                Err(code) => return Outcome::error(xid, code),
            };
            match s.create(&body.path, body.data.as_deref(), &options).await {
                Ok(created) => Outcome::ok(xid, |w| {
                    w.string(&created.path);
                    if create_has_stat(body.op) {
                        w.stat(&created.stat);
                    }
                }),
                Err(e) => Outcome::error(xid, e.code),
            }
        }
        .boxed(),
        Request::Delete { path, version: v } => async move {
            match s.delete(&path, version(v)).await {
                Ok(()) => Outcome::ok(xid, |_| {}),
                Err(e) => Outcome::error(xid, e.code),
            }
        }
        .boxed(),
        Request::Exists { path, watch } => async move {
            if !watch {
                return match s.exists(&path).await {
                    Ok(Some(stat)) => Outcome::ok(xid, |w| {
                        w.stat(&stat);
                    }),
                    Ok(None) => Outcome::error(xid, Code::NoNode),
                    Err(e) => Outcome::error(xid, e.code),
                };
            }
            match s.exists_watch(&path).await {
                Ok((stat, watch)) => {
                    let out = match stat {
                        Some(stat) => Outcome::ok(xid, |w| {
                            w.stat(&stat);
                        }),
                        None => Outcome::error(xid, Code::NoNode),
                    };
                    out.watch(NewWatch::Oneshot { path, table: Table::Data, watch })
                }
                Err(e) => Outcome::error(xid, e.code),
            }
        }
        .boxed(),
        Request::GetData { path, watch } => async move {
            if !watch {
                return match s.get_data(&path).await {
                    Ok((data, stat)) => Outcome::ok(xid, |w| {
                        w.nullable_buffer(data.as_deref()).stat(&stat);
                    }),
                    Err(e) => Outcome::error(xid, e.code),
                };
            }
            match s.get_data_watch(&path).await {
                Ok((data, stat, watch)) => Outcome::ok(xid, |w| {
                    w.nullable_buffer(data.as_deref()).stat(&stat);
                })
                .watch(NewWatch::Oneshot { path, table: Table::Data, watch }),
                Err(e) => Outcome::error(xid, e.code),
            }
        }
        .boxed(),
        Request::SetData { path, data, version: v } => async move {
            match s.set_data(&path, data.as_deref(), version(v)).await {
                Ok(stat) => Outcome::ok(xid, |w| {
                    w.stat(&stat);
                }),
                Err(e) => Outcome::error(xid, e.code),
            }
        }
        .boxed(),
        Request::GetAcl { path } => async move {
            match s.get_acl(&path).await {
                Ok((acl, stat)) => Outcome::ok(xid, |w| {
                    w.acls(&acl).stat(&stat);
                }),
                Err(e) => Outcome::error(xid, e.code),
            }
        }
        .boxed(),
        Request::SetAcl { path, acl, version: v } => async move {
            match s.set_acl(&path, &acl, version(v)).await {
                Ok(stat) => Outcome::ok(xid, |w| {
                    w.stat(&stat);
                }),
                Err(e) => Outcome::error(xid, e.code),
            }
        }
        .boxed(),
        Request::GetChildren { path, watch, with_stat } => async move {
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
        .boxed(),
        Request::Sync { path } => async move {
            match s.sync(&path).await {
                Ok(()) => Outcome::ok(xid, |w| {
                    w.string(&path);
                }),
                Err(e) => Outcome::error(xid, e.code),
            }
        }
        .boxed(),
        Request::Multi(ops) => async move { multi(&s, xid, ops).await }.boxed(),
        Request::MultiRead(ops) => async move { multi_read(&s, xid, ops).await }.boxed(),
        Request::Auth { scheme, auth } => async move {
            match s.add_auth(&scheme, &auth).await {
                Ok(()) => Outcome::ok(xid, |_| {}),
                Err(e) => {
                    tracing::info!(session = format_args!("{:#x}", s.id()), %e, "authentication failed");
                    Outcome::error(xid, e.code)
                }
            }
        }
        .boxed(),
        Request::SetWatches(set) => async move { set_watches(&s, xid, set).await }.boxed(),
        Request::AddWatch { path, mode } => async move {
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
        .boxed(),
        Request::GetEphemerals { prefix } => async move {
            let mut found = Vec::new();
            let mine = |path: &str, stat: &zczk_core::store::Stat| {
                stat.ephemeral_owner == s.id() && path.starts_with(prefix.as_str())
            };
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
        .boxed(),
        Request::GetAllChildrenNumber { path } => async move {
            let mut count = 0;
            match subtree(&s, &path, &mut |_, _| count += 1).await {
                // The node itself is not counted.
                Ok(()) => Outcome::ok(xid, |w| {
                    w.i32(count - 1);
                }),
                Err(e) => Outcome::error(xid, e.code),
            }
        }
        .boxed(),
        Request::WhoAmI => async move {
            let ids = s.identities();
            Outcome::ok(xid, |w| {
                w.i32(ids.len() as i32);
                for id in &ids {
                    w.string(&id.scheme).string(&id.id);
                }
            })
        }
        .boxed(),
        Request::CloseSession => async move {
            let _ = s.close().await;
            let mut out = Outcome::ok(xid, |_| {});
            out.close = true;
            out
        }
        .boxed(),
        Request::Unimplemented(_) => futures::future::ready(Outcome::error(xid, Code::Unimplemented)).boxed(),
        // Answered by the connection itself, which knows the session's watches.
        Request::Ping | Request::RemoveWatches { .. } => futures::future::ready(Outcome::empty(xid)).boxed(),
    }
}

/// Visits `root` and every node below it that the session may list, parents first. Fails
/// only when `root` itself cannot be read; nodes that vanish or are unreadable meanwhile are
/// skipped (the emulator has no snapshot read, so this is not atomic).
async fn subtree(
    s: &Session,
    root: &str,
    visit: &mut (dyn FnMut(&str, &zczk_core::store::Stat) + Send),
) -> Result<(), StoreError> {
    let (names, stat) = s.get_children(root).await?;
    visit(root, &stat);
    let mut stack: Vec<String> = names.iter().map(|n| child_path(root, n)).collect();
    while let Some(path) = stack.pop() {
        if let Ok((names, stat)) = s.get_children(&path).await {
            visit(&path, &stat);
            stack.extend(names.iter().map(|n| child_path(&path, n)));
        }
    }
    Ok(())
}

fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

async fn multi(s: &Session, xid: i32, wire_ops: Vec<MultiOp>) -> Outcome {
    let mut ops = Vec::with_capacity(wire_ops.len());
    for (index, op) in wire_ops.iter().enumerate() {
        match multi_op(op) {
            Ok(op) => ops.push(op),
            Err(code) => {
                return Outcome::ok(xid, |w| multi_failure(w, wire_ops.len(), index, code.as_i32()));
            }
        }
    }
    match s.multi(&ops).await {
        Ok(results) => Outcome::ok(xid, |w| {
            for (op, result) in wire_ops.iter().zip(&results) {
                let kind = result_type(op);
                w.i32(kind).bool(false).i32(0);
                match result {
                    OpResult::Create(created) => {
                        w.string(&created.path);
                        if kind == op::CREATE2 {
                            w.stat(&created.stat);
                        }
                    }
                    OpResult::SetData(stat) => {
                        w.stat(stat);
                    }
                    OpResult::Check | OpResult::Delete => {}
                }
            }
            w.i32(-1).bool(true).i32(-1);
        }),
        Err(MultiError::Op { index, error }) => {
            Outcome::ok(xid, |w| multi_failure(w, wire_ops.len(), index, error.code.as_i32()))
        }
        Err(MultiError::Request(error)) => Outcome::error(xid, error.code),
    }
}

async fn multi_read(s: &Session, xid: i32, ops: Vec<ReadOp>) -> Outcome {
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
                    body.i32(op::GET_DATA).bool(false).i32(0).nullable_buffer(data.as_deref()).stat(&stat);
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

/// Event type numbers of `WatcherEvent.type`.
pub(crate) mod event {
    pub const NODE_CREATED: i32 = 1;
    pub const NODE_DELETED: i32 = 2;
    pub const NODE_DATA_CHANGED: i32 = 3;
    pub const NODE_CHILDREN_CHANGED: i32 = 4;
}

/// Re-arms a reconnecting client's watches as the server does: a watch whose node changed
/// after `relative_zxid` fires at once, the others are registered.
async fn set_watches(s: &Session, xid: i32, set: SetWatches) -> Outcome {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn body(flags: i32, ttl: Option<i64>) -> CreateBody {
        CreateBody { op: op::CREATE2, path: "/a".into(), data: None, acl: vec![], flags, ttl }
    }

    #[test]
    fn create_flags_map_to_modes() {
        assert_eq!(create_options(&body(3, None)).unwrap().mode, CreateMode::EphemeralSequential);
        let ttl = create_options(&body(5, Some(500))).unwrap();
        assert_eq!((ttl.mode, ttl.ttl), (CreateMode::Persistent, Some(Duration::from_millis(500))));
        assert_eq!(create_options(&body(5, Some(0))), Err(Code::BadArguments));
        assert_eq!(create_options(&body(0, Some(10))), Err(Code::BadArguments));
        assert_eq!(create_options(&body(0, Some(-1))).unwrap().mode, CreateMode::Persistent);
        assert_eq!(create_options(&body(9, None)), Err(Code::BadArguments));
    }
}
