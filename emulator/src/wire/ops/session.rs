//! The requests about the session itself: `auth`, `whoAmI` and `closeSession`.

use std::sync::Arc;

use futures::FutureExt as _;
use zczk_core::store::Store;

use super::{Outcome, Work};
use crate::session::Session;

/// `auth`: a failed one ends the session's use of this connection.
pub(super) fn auth(s: Arc<Session>, xid: i32, scheme: String, auth: Vec<u8>) -> Work {
    async move {
        match s.add_auth(&scheme, &auth).await {
            Ok(()) => Outcome::ok(xid, |_| {}),
            Err(e) => {
                tracing::info!(session = format_args!("{:#x}", s.id()), %e, "authentication failed");
                Outcome::error(xid, e.code)
            }
        }
    }
    .boxed()
}

/// `whoAmI`: the identities the session holds.
pub(super) fn who_am_i(s: Arc<Session>, xid: i32) -> Work {
    async move {
        let ids = s.identities();
        Outcome::ok(xid, |w| {
            w.i32(ids.len() as i32);
            for id in &ids {
                w.string(&id.scheme).string(&id.id);
            }
        })
    }
    .boxed()
}

/// `closeSession`: the connection closes after the reply.
pub(super) fn close(s: Arc<Session>, xid: i32) -> Work {
    async move {
        let _ = s.close().await;
        let mut out = Outcome::ok(xid, |_| {});
        out.close = true;
        out
    }
    .boxed()
}
