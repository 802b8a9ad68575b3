//! Fault injection: a handle the test owns to break one session on purpose.

use std::sync::Arc;
use std::time::Duration;

use zczk_core::store::{Code, SessionState};

use crate::server::{schedule_expiry, Inner, Status};

/// Breaks one session on the test's command. Cheap to clone; acting on a session that has
/// ended does nothing.
#[derive(Clone)]
pub struct Faults {
    inner: Arc<Inner>,
    session: i64,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").field("session", &format_args!("{:#x}", self.session)).finish()
    }
}

impl Faults {
    pub(crate) fn new(inner: Arc<Inner>, session: i64) -> Faults {
        Faults { inner, session }
    }

    /// The session this handle breaks.
    pub fn session_id(&self) -> i64 {
        self.session
    }

    /// Drops the session's connection. Until [`Faults::reconnect`]: every request fails with
    /// `ConnectionLoss` and is not applied, the state is `Disconnected`, one-shot watches stay
    /// armed (changes meanwhile are reported on reconnect) and persistent watches miss what
    /// happens (as with a real server; they yield `Reconnected` when the connection is back).
    /// If the session stays disconnected longer than its
    /// timeout (on tokio's clock, so `tokio::time::pause` works), it expires.
    pub fn disconnect(&self) {
        let expiry = self.inner.state.lock().disconnect(self.session);
        if let Some((epoch, timeout)) = expiry {
            schedule_expiry(&self.inner, self.session, epoch, timeout);
        }
    }

    /// Restores the connection of a disconnected session (no effect otherwise). One-shot
    /// watches whose node changed meanwhile fire now, as after a real client's `setWatches`:
    /// data watches with `NodeDataChanged` or `NodeDeleted`, exists watches with
    /// `NodeCreated`, child watches with `NodeChildrenChanged` or `NodeDeleted`.
    pub fn reconnect(&self) {
        self.inner.state.lock().reconnect(self.session);
    }

    /// Expires the session now: its ephemerals are deleted in one transaction (firing the
    /// other sessions' watches), its own watches get `SessionEnded(Expired)`, its persistent
    /// watches end, and every later request fails with `SessionExpired`.
    pub fn expire(&self) {
        let mut st = self.inner.state.lock();
        st.end_session(self.session, SessionState::Expired, Some(SessionState::Expired));
        // Kept at once in a `file:` store, as an expiry the timer finds.
        st.commit();
    }

    /// Makes the client give the session up as expired while the server keeps it, as after
    /// an outage longer than the session timeout: the client (zookeeper-client declares its
    /// session expired after 7/5 of the timeout without an answer) goes on with a new session,
    /// but the server, back with its data, holds the old one until the timeout passes again.
    /// From now on the session's state is `Expired`, its requests fail with `SessionExpired`
    /// and its watches end with `SessionEnded(Expired)`; its ephemerals stay until
    /// [`Faults::expire`] or its timeout (on tokio's clock).
    pub fn expire_on_client(&self) {
        let expiry = self.inner.state.lock().abandon(self.session, SessionState::Expired);
        if let Some((epoch, timeout)) = expiry {
            schedule_expiry(&self.inner, self.session, epoch, timeout);
        }
    }

    /// Makes the next `n` requests of the session fail with `code` without being applied
    /// (`close` is exempt). Replaces any earlier `fail_next`.
    pub fn fail_next(&self, n: u32, code: Code) {
        if let Some(entry) = self.inner.state.lock().sessions.get_mut(&self.session) {
            entry.fail = (n > 0).then_some((n, code));
        }
    }

    /// Delays the replies of the next `n` requests by `delay` (on tokio's clock). The requests
    /// themselves are still applied at call time, in call order: only the reply waits, like a
    /// slow network after the server has done the work. Replaces any earlier `delay_next`.
    pub fn delay_next(&self, n: u32, delay: Duration) {
        if let Some(entry) = self.inner.state.lock().sessions.get_mut(&self.session) {
            entry.delay = (n > 0).then_some((n, delay));
        }
    }

    /// Cancels pending `fail_next` and `delay_next` faults.
    pub fn clear(&self) {
        if let Some(entry) = self.inner.state.lock().sessions.get_mut(&self.session) {
            entry.fail = None;
            entry.delay = None;
        }
    }

    /// True while the session is disconnected by [`Faults::disconnect`].
    pub fn is_disconnected(&self) -> bool {
        self.inner.state.lock().sessions.get(&self.session).is_some_and(|e| e.status == Status::Disconnected)
    }
}
