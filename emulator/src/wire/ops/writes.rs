//! The writes: create (all its kinds), delete, setData, setACL and multi. A write of an
//! invalid path gets the code the server gives it, not the client-side `BadArguments` of the
//! session's methods.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use zczk_core::store::{Acl, Code, CreateMode, CreateOptions, MultiError, Op, OpResult, Store};

use super::{failed, invalid, Outcome, Work};
use crate::session::Session;
use crate::wire::jute::Writer;
use crate::wire::proto::{op, CreateBody, MultiOp};

/// A wire version: -1 means any.
fn version(v: i32) -> Option<i32> {
    (v != -1).then_some(v)
}

/// `create`, `create2`, `createContainer` and `createTTL`.
pub(super) fn create(s: Arc<Session>, xid: i32, body: CreateBody) -> Work {
    if body.path == "/" || (invalid(&body.path) && !matches!(body.flags, 2 | 3 | 6)) {
        return async move { Outcome::error(xid, invalid_create(&s, &body.path).await) }.boxed();
    }
    async move {
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
    .boxed()
}

/// `delete`.
pub(super) fn delete(s: Arc<Session>, xid: i32, path: String, v: i32) -> Work {
    if invalid(&path) {
        let code = if path.starts_with('/') && path != "/" { Code::NoNode } else { Code::BadArguments };
        return failed(xid, code);
    }
    async move {
        match s.delete(&path, version(v)).await {
            Ok(()) => Outcome::ok(xid, |_| {}),
            Err(e) => Outcome::error(xid, e.code),
        }
    }
    .boxed()
}

/// `setData`.
pub(super) fn set_data(s: Arc<Session>, xid: i32, path: String, data: Option<Vec<u8>>, v: i32) -> Work {
    async move {
        match s.set_data(&path, data.as_deref(), version(v)).await {
            Ok(stat) => Outcome::ok(xid, |w| {
                w.stat(&stat);
            }),
            Err(e) => Outcome::error(xid, e.code),
        }
    }
    .boxed()
}

/// `setACL`.
pub(super) fn set_acl(s: Arc<Session>, xid: i32, path: String, acl: Vec<Acl>, v: i32) -> Work {
    async move {
        match s.set_acl(&path, &acl, version(v)).await {
            Ok(stat) => Outcome::ok(xid, |w| {
                w.stat(&stat);
            }),
            Err(e) => Outcome::error(xid, e.code),
        }
    }
    .boxed()
}

/// `multi`: all or nothing; a failed op fails every op, as the server reports it.
pub(super) fn multi(s: Arc<Session>, xid: i32, wire_ops: Vec<MultiOp>) -> Work {
    async move {
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
    .boxed()
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

/// The code the server gives a create of an invalid path: the parent is looked up first, so
/// a missing parent is `NoNode`; `/` exists already.
async fn invalid_create(s: &Session, path: &str) -> Code {
    if !path.contains('/') {
        return Code::BadArguments;
    }
    if path == "/" {
        return Code::NodeExists;
    }
    match s.exists(crate::path::parent(path)).await {
        Ok(Some(_)) => Code::BadArguments,
        _ => Code::NoNode,
    }
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
