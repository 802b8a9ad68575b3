//! Runs one decoded request on the connection's emulator session and encodes its reply.
//!
//! Each request becomes a future that calls the session's `Store` method on its first poll;
//! the connection polls it once as soon as the request arrives, so requests apply in arrival
//! order, as on a real server, even when an injected delay holds a reply back.
//!
//! [`work`] sends each request to its function, one module per group: [`reads`], [`writes`],
//! [`watches`] and [`session`] (auth, whoAmI, close). Each function has the same shape:
//! wire values in, the session's `Store` method called, the reply encoded.

mod reads;
mod session;
mod watches;
mod writes;

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt as _;
use zczk_core::store::{Code, OneshotWatch, PersistentWatch, WatchMode};

use super::jute::Writer;
use super::proto::{finish_reply, start_reply, Request};
use crate::session::Session;

pub(crate) use watches::event;

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

/// The reply to a request that fails with `code` before reaching the session.
fn failed(xid: i32, code: Code) -> Work {
    futures::future::ready(Outcome::error(xid, code)).boxed()
}

/// True when the server would refuse `path` (the session's `Store` methods check paths as a
/// client library does, before anything is sent).
fn invalid(path: &str) -> bool {
    zczk_core::path::validate(path).is_err()
}

/// A reconfig request (its undecoded `body`) of `session` on ensemble member `member`: the
/// config node's new data and stat, or the member's error code.
pub(crate) fn reconfig(member: &crate::ensemble::Seat, session: &Session, xid: i32, body: &[u8]) -> Outcome {
    let result = super::proto::reconfig_body(body)
        .map_err(|_| Code::MarshallingError)
        .and_then(|request| member.reconfig(session.id(), &request));
    match result {
        Ok((data, stat)) => Outcome::ok(xid, |w| {
            w.buffer(&data).stat(&stat);
        }),
        Err(code) => Outcome::error(xid, code),
    }
}

/// Turns a request into work on `session`, by the function for its operation.
pub(crate) fn work(session: &Arc<Session>, xid: i32, request: Request) -> Work {
    let s = session.clone();
    match request {
        Request::Exists { path, watch } => reads::exists(s, xid, path, watch),
        Request::GetData { path, watch } => reads::get_data(s, xid, path, watch),
        Request::GetChildren { path, watch, with_stat } => {
            reads::get_children(s, xid, path, watch, with_stat)
        }
        Request::GetAcl { path } => reads::get_acl(s, xid, path),
        Request::Sync { path } => reads::sync(s, xid, path),
        Request::MultiRead(ops) => reads::multi_read(s, xid, ops),
        Request::GetEphemerals { prefix } => reads::get_ephemerals(s, xid, prefix),
        Request::GetAllChildrenNumber { path } => reads::get_all_children_number(s, xid, path),
        Request::Create(body) => writes::create(s, xid, body),
        Request::Delete { path, version } => writes::delete(s, xid, path, version),
        Request::SetData { path, data, version } => writes::set_data(s, xid, path, data, version),
        Request::SetAcl { path, acl, version } => writes::set_acl(s, xid, path, acl, version),
        Request::Multi(ops) => writes::multi(s, xid, ops),
        Request::SetWatches(set) => watches::set_watches(s, xid, set),
        Request::AddWatch { path, mode } => watches::add_watch(s, xid, path, mode),
        Request::Auth { scheme, auth } => session::auth(s, xid, scheme, auth),
        Request::WhoAmI => session::who_am_i(s, xid),
        Request::CloseSession => session::close(s, xid),
        // A server that is no ensemble member refuses it, as a lone ZooKeeper does by
        // default (members answer it with [`reconfig`]).
        Request::Reconfig(_) => failed(xid, Code::ReconfigDisabled),
        Request::Unimplemented(_) => failed(xid, Code::Unimplemented),
        // Answered by the connection itself, which knows the session's watches.
        Request::Ping | Request::RemoveWatches { .. } => futures::future::ready(Outcome::empty(xid)).boxed(),
    }
}
