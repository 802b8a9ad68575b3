//! Session supervision: when the client's session expires, a new one is made, the registered
//! ephemerals still wanted are re-created in it, and the live views are told to re-arm.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::watch;

use super::{ClientEvent, Registration, Shared};
use crate::store::{Code, CreateMode, CreateOptions, SessionState, Store};

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

/// Opens a new session (retrying with back-off), installs it, re-creates registrations, and
/// then tells the live views (through the generation) to re-arm on it.
async fn renew<S: Store + 'static>(shared: &Shared<S>) -> Option<watch::Receiver<SessionState>> {
    let Some(connector) = &shared.connector else {
        tracing::warn!("the ZooKeeper session given to the client is over; it cannot make a new one");
        return None;
    };
    let mut delay = Duration::from_millis(50);
    let store = loop {
        if shared.closed.load(Ordering::SeqCst) {
            return None;
        }
        match connector.connect().await {
            Ok(store) => break Arc::new(store),
            Err(e) => {
                tracing::warn!(address = %connector.address(), error = %e, "can't open a new ZooKeeper session; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
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
    restore_registrations(shared, &store).await;
    shared.generation.send_modify(|g| *g += 1);
    Some(state)
}

/// Re-creates, pipelined, the registered ephemerals still wanted. One that cannot be made (its
/// parent is gone, someone else holds its name) is reported and forgotten; the rest are
/// still restored.
async fn restore_registrations<S: Store + 'static>(shared: &Shared<S>, store: &S) {
    let wanted: Vec<(String, Registration)> =
        shared.registrations.lock().iter().map(|(p, r)| (p.clone(), r.clone())).collect();
    let options: Vec<CreateOptions> = wanted
        .iter()
        .map(|(_, r)| CreateOptions::new(CreateMode::Ephemeral).with_acl(r.acl.clone()))
        .collect();
    let creates: Vec<_> =
        wanted.iter().zip(&options).map(|((path, r), o)| store.create(path, &r.data, o)).collect();
    for ((path, _), result) in wanted.iter().zip(futures::future::join_all(creates).await) {
        let failure = match result {
            Ok(_) => None,
            Err(e) if e.is(Code::NodeExists) => held_by_other(store, path).await,
            Err(e) => Some(e.to_string()),
        };
        let event = match failure {
            None => {
                tracing::info!(path, "restored registered ephemeral node");
                ClientEvent::Restored { path: path.clone() }
            }
            Some(reason) => {
                tracing::warn!(path, reason, "can't restore registered ephemeral node");
                shared.registrations.lock().remove(path);
                ClientEvent::RestoreFailed { path: path.clone(), reason }
            }
        };
        let _ = shared.events.send(event);
    }
}

/// Why the existing node at `path` is not this session's registration, if it is not.
async fn held_by_other<S: Store + 'static>(store: &S, path: &str) -> Option<String> {
    match store.exists(path).await {
        Ok(Some(stat)) if stat.ephemeral_owner == store.session_id() => None,
        Ok(Some(stat)) => Some(format!("{path} exists, held by session {:#x}", stat.ephemeral_owner)),
        Ok(None) => Some(format!("{path} existed, then vanished")),
        Err(e) => Some(e.to_string()),
    }
}
