//! The request layer: what every request of a session goes through, whatever its kind. The
//! gate ([`State::admit`]) turns away a session that cannot be served and takes injected
//! faults; a write then runs as one transaction ([`State::write`], applying the functions of
//! [`crate::txn`]); reads check permissions with [`txn::check_perm`].

use std::time::Duration;

use zczk_core::store::{Code, OpKind, SessionState, StoreError};

use crate::acl::Identity;
use crate::server::{State, Status};
use crate::tree::Tree;
use crate::txn::{self, Ctx, Fail, Log};

/// What the request gate decided: how long to hold the reply, and whether the request may run.
pub(crate) struct Admission {
    pub delay: Option<Duration>,
    pub result: Result<(), StoreError>,
}

impl State {
    /// The gate every request of a session passes: the session must be usable, then injected
    /// delays and failures are taken, in that order (a failed request can be delayed too).
    pub fn admit(&mut self, session: i64, op: OpKind, path: &str) -> Admission {
        // Between requests: what the last one read or wrote may leave memory.
        self.tree.shrink_cache();
        let Some(entry) = self.sessions.get_mut(&session) else {
            return Admission { delay: None, result: Err(StoreError::new(Code::SessionExpired, op, path)) };
        };
        let code = match entry.status {
            Status::Connected => None,
            Status::Disconnected => Some(Code::ConnectionLoss),
            Status::Abandoned(SessionState::AuthFailed) => Some(Code::AuthFailed),
            Status::Abandoned(_) => Some(Code::SessionExpired),
            Status::Ended(SessionState::Closed) => Some(Code::SessionClosed),
            Status::Ended(_) => Some(Code::SessionExpired),
        };
        if let Some(code) = code {
            return Admission { delay: None, result: Err(StoreError::new(code, op, path)) };
        }
        let delay = take_one(&mut entry.delay);
        let result = match take_one(&mut entry.fail) {
            Some(code) => Err(StoreError::new(code, op, path).with_detail("injected fault")),
            None => Ok(()),
        };
        Admission { delay, result }
    }

    /// The identities `session` holds (none for an unknown session).
    pub fn auth_of(&self, session: i64) -> &[Identity] {
        self.sessions.get(&session).map(|e| e.auth.as_slice()).unwrap_or(&[])
    }

    /// Runs one write transaction for `session`: takes a zxid (failed writes take one too, as
    /// on the server), applies `f`, and sends the watch events if it succeeded; a failed one
    /// is rolled back when `undo` kept the records to do it.
    pub fn write<T>(
        &mut self,
        session: i64,
        time: i64,
        extended_types: bool,
        undo: bool,
        f: impl FnOnce(&mut Tree, &Ctx, &mut Log) -> Result<T, Fail>,
    ) -> Result<T, Fail> {
        self.zxid += 1;
        let auth = self.sessions.get(&session).map(|e| e.auth.as_slice()).unwrap_or(&[]);
        let ctx = Ctx { zxid: self.zxid, time, session, auth, extended_types };
        let mut log = Log::new(self.watches.has_any(), undo);
        let result = f(&mut self.tree, &ctx, &mut log);
        if result.is_err() {
            if let Some(undo) = log.undo.take() {
                txn::rollback(&mut self.tree, undo);
            }
        }
        if result.is_ok() {
            self.fire(log);
        }
        result
    }
}

fn take_one<T: Copy>(slot: &mut Option<(u32, T)>) -> Option<T> {
    let (n, value) = (*slot)?;
    *slot = if n > 1 { Some((n - 1, value)) } else { None };
    Some(value)
}
