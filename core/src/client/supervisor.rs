//! Session supervision: when the client's session expires, a new one is made, the registered
//! ephemerals still wanted are re-created in it (see `restore`), and the live views are told to
//! re-arm.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use tokio::sync::watch;

use super::backoff::Backoff;
use super::{restore, ClientEvent, Shared};
use crate::store::{SessionState, Store};

/// Watches the current session; replaces it when it expires and restores registrations.
pub(super) async fn supervise<S: Store + 'static>(
    shared: Weak<Shared<S>>,
    mut state: watch::Receiver<SessionState>,
) {
    loop {
        if state.changed().await.is_err() {
            // The session's state sender is gone: the store was dropped with the client.
            return;
        }
        let current = *state.borrow_and_update();
        let Some(strong) = shared.upgrade() else { return };
        tracing::info!(state = ?current, "ZooKeeper session state changed");
        let _ = strong.events.send(ClientEvent::State(current));
        match current {
            SessionState::Closed => return,
            SessionState::Expired | SessionState::AuthFailed if !strong.closed.load(Ordering::SeqCst) => {
                let Some(new_state) = renew(&strong).await else { return };
                state = new_state;
            }
            _ => {}
        }
    }
}

/// Opens a new session (retrying with back-off), installs it, re-creates registrations (those
/// that must wait go on in the background), and then tells the live views (through the
/// generation) to re-arm on it.
async fn renew<S: Store + 'static>(shared: &Arc<Shared<S>>) -> Option<watch::Receiver<SessionState>> {
    let Some(connector) = &shared.connector else {
        tracing::warn!("the ZooKeeper session given to the client is over; it cannot make a new one");
        return None;
    };
    let mut backoff = Backoff::new();
    let store = loop {
        if shared.closed.load(Ordering::SeqCst) {
            return None;
        }
        match connector.connect().await {
            Ok(store) => break Arc::new(store),
            Err(e) => {
                tracing::warn!(address = %connector.address(), error = %e, "can't open a new ZooKeeper session; retrying");
                backoff.wait().await;
            }
        }
    };
    if shared.closed.load(Ordering::SeqCst) {
        // Closed while connecting: this session must not outlive the client.
        let _ = store.close().await;
        return None;
    }
    let state = store.session_state();
    let session_id = store.session_id();
    *shared.session.write() = store.clone();
    tracing::info!(session_id, "new ZooKeeper session");
    let _ = shared.events.send(ClientEvent::NewSession { session_id });
    restore::restore_all(shared, &store).await;
    shared.generation.send_modify(|g| *g += 1);
    Some(state)
}
