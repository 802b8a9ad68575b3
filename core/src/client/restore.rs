//! Restoring registrations: once a new session replaces an expired one, every registration
//! still wanted gets its ephemeral node again, with its latest data and ACL.
//!
//! A node that cannot be made yet is waited for with a watch, never given up on:
//! - its name is still taken, typically by the old session itself (after an outage longer than
//!   the session timeout, the server comes back with its data and keeps the old session until
//!   that times out again): it is made once the node is deleted;
//! - its parent is missing (the tree is being re-imported, say): it is made once the parent
//!   is created;
//! - the connection is down: it is tried again once the session is connected.
//!
//! Only a refusal that no watch can report the end of (no permission, a bad ACL) makes the
//! client forget the registration. Each wait is reported, as is each outcome. A registration
//! forgotten meanwhile (unregistered, deleted through the client, the client closed) is not
//! made again, and the wait for it stops; so does a wait on a session that has been replaced,
//! as the new session restores the registration itself.

use std::sync::{Arc, Weak};

use tokio::sync::watch;

use super::backoff::Backoff;
use super::{ClientEvent, Shared};
use crate::path;
use crate::store::{
    Code, CreateMode, CreateOptions, EventKind, OneshotWatch, SessionState, Store, StoreError,
};

/// Tells whether one registration is still wanted: its channel closes when the registration is
/// forgotten or replaced by a new one at the same path. Nothing is ever sent on it.
pub(super) type Wanted = watch::Receiver<()>;

/// Restores, on `store` (the session just installed), every registration not yet restored on
/// it. The first tries are made together (pipelined) and awaited; waits go on in the
/// background.
pub(super) async fn restore_all<S: Store + 'static>(shared: &Arc<Shared<S>>, store: &Arc<S>) {
    let claimed = claim(shared, store.session_id(), |_| true);
    futures::future::join_all(claimed.into_iter().map(|(path, wanted)| restore(shared, store, path, wanted)))
        .await;
}

/// Restores `paths` on the current session if their nodes were made on an older one: a
/// registration recorded after its session expired and was replaced was not seen by
/// [`restore_all`].
pub(super) async fn catch_up<S: Store + 'static>(shared: &Arc<Shared<S>>, paths: &[String]) {
    let store = shared.session.read().clone();
    let claimed = claim(shared, store.session_id(), |path| paths.iter().any(|p| p == path));
    futures::future::join_all(
        claimed.into_iter().map(|(path, wanted)| restore(shared, &store, path, wanted)),
    )
    .await;
}

/// Marks the registrations chosen by `pick` that are not yet on `session` as restored on it,
/// so that no other restore takes them up, and returns them.
fn claim<S: Store + 'static>(
    shared: &Shared<S>,
    session: i64,
    pick: impl Fn(&str) -> bool,
) -> Vec<(String, Wanted)> {
    let mut registrations = shared.registrations.lock();
    registrations
        .iter_mut()
        .filter(|(path, registration)| registration.session != session && pick(path))
        .map(|(path, registration)| {
            registration.session = session;
            (path.clone(), registration.wanted())
        })
        .collect()
}

/// Makes the node of one registration on `store`; if that cannot be done yet, reports why
/// and goes on waiting in the background.
async fn restore<S: Store + 'static>(shared: &Arc<Shared<S>>, store: &S, path: String, wanted: Wanted) {
    match try_once(shared, store, &path, &wanted).await {
        Tried::Blocked(blocked) => {
            let reason = blocked.reason();
            report_waiting(shared, &path, &reason);
            let pending = Pending {
                shared: Arc::downgrade(shared),
                session: store.session_id(),
                path,
                wanted,
                reported: reason,
            };
            tokio::spawn(pending.run(blocked));
        }
        outcome => report(shared, &path, &wanted, outcome),
    }
}

/// A registration waiting for the moment its node can be made.
struct Pending<S: Store + 'static> {
    /// Weak, so a waiting restore does not keep a dropped client (and its session) alive.
    shared: Weak<Shared<S>>,
    session: i64,
    path: String,
    wanted: Wanted,
    /// The last reason reported, so that each reason is reported once.
    reported: String,
}

impl<S: Store + 'static> Pending<S> {
    /// Waits until `blocked` may have cleared, tries again, and so on until the node is made,
    /// the registration is forgotten or refused, or the session is over.
    async fn run(mut self, mut blocked: Blocked) {
        let mut backoff = Backoff::new();
        loop {
            let cleared = tokio::select! {
                // Closes (an error) when the registration is forgotten.
                _ = self.wanted.changed() => false,
                cleared = blocked.cleared(&mut backoff) => cleared,
            };
            if !cleared {
                return;
            }
            let Some(shared) = self.shared.upgrade() else { return };
            let store = shared.session.read().clone();
            if store.session_id() != self.session {
                return;
            }
            match try_once(&shared, &*store, &self.path, &self.wanted).await {
                Tried::Blocked(next) => {
                    let reason = next.reason();
                    if reason != self.reported {
                        report_waiting(&shared, &self.path, &reason);
                        self.reported = reason;
                    }
                    blocked = next;
                }
                outcome => return report(&shared, &self.path, &self.wanted, outcome),
            }
        }
    }
}

/// How one try to make a registration's node ended.
enum Tried {
    /// The node is this session's.
    Made,
    /// It cannot be made yet.
    Blocked(Blocked),
    /// Nothing more to do on this session: the registration was forgotten, or the session is
    /// over (the next one restores the registration).
    Stop,
    /// The server refuses the node in a way no watch reports the end of.
    Refused(StoreError),
}

/// What keeps a node from being made, and what tells when to try again.
enum Blocked {
    /// The node, or its parent, is not as it must be; the watch fires when that changes.
    Watching { watch: OneshotWatch, reason: String },
    /// The request could not reach the server: try again once the session is connected.
    Disconnected { error: StoreError, state: watch::Receiver<SessionState> },
}

impl Blocked {
    fn reason(&self) -> String {
        match self {
            Blocked::Watching { reason, .. } => reason.clone(),
            Blocked::Disconnected { error, .. } => error.to_string(),
        }
    }

    /// Waits until it is worth trying again; false when the session ended meanwhile.
    async fn cleared(&mut self, backoff: &mut Backoff) -> bool {
        match self {
            Blocked::Watching { watch, .. } => {
                *backoff = Backoff::new();
                !matches!(watch.await.kind, EventKind::SessionEnded(_))
            }
            Blocked::Disconnected { state, .. } => {
                // The state can lag the connection: do not hammer a server that just failed.
                backoff.wait().await;
                let connected = state.wait_for(|s| *s == SessionState::Connected || s.is_terminal()).await;
                connected.is_ok_and(|s| *s == SessionState::Connected)
            }
        }
    }
}

/// Tries once to make the node of the registration at `path` on `store`, with the
/// registration's latest data and ACL, and finds out what blocks it if it cannot be made.
async fn try_once<S: Store + 'static>(shared: &Shared<S>, store: &S, path: &str, wanted: &Wanted) -> Tried {
    loop {
        let Some((data, options)) = latest(shared, path, wanted) else { return Tried::Stop };
        let error = match store.create(path, Some(&data), &options).await {
            Ok(_) => return made(shared, store, path, wanted).await,
            Err(error) => error,
        };
        let blocked = if error.is(Code::NodeExists) {
            match store.exists_watch(path).await {
                Ok((Some(stat), _)) if stat.ephemeral_owner == store.session_id() => {
                    return made(shared, store, path, wanted).await
                }
                Ok((Some(stat), watch)) => {
                    Blocked::Watching { watch, reason: held_by(path, stat.ephemeral_owner) }
                }
                // Deleted meanwhile: the name is free.
                Ok((None, _)) => continue,
                Err(error) => return failed(store, error),
            }
        } else if error.is(Code::NoNode) || error.is(Code::NoChildrenForEphemerals) {
            let parent = path::split(path).map_or("/", |(parent, _)| parent);
            match store.exists_watch(parent).await {
                Ok((None, watch)) => {
                    Blocked::Watching { watch, reason: format!("its parent {parent} is missing") }
                }
                Ok((Some(stat), watch)) if stat.is_ephemeral() => {
                    Blocked::Watching { watch, reason: format!("its parent {parent} is ephemeral") }
                }
                // Made again meanwhile: try again.
                Ok((Some(_), _)) => continue,
                Err(error) => return failed(store, error),
            }
        } else {
            return failed(store, error);
        };
        return Tried::Blocked(blocked);
    }
}

/// The registration's data and create options, if it is still the one wanted.
fn latest<S: Store + 'static>(
    shared: &Shared<S>,
    path: &str,
    wanted: &Wanted,
) -> Option<(Vec<u8>, CreateOptions)> {
    let registrations = shared.registrations.lock();
    let registration = registrations.get(path).filter(|r| r.is(wanted))?;
    let options = CreateOptions::new(CreateMode::Ephemeral).with_acl(registration.acl.clone());
    Some((registration.data.clone(), options))
}

/// The node at `path` is this session's: done, unless the registration was forgotten while
/// the create was on its way, in which case the node is taken back.
async fn made<S: Store + 'static>(shared: &Shared<S>, store: &S, path: &str, wanted: &Wanted) -> Tried {
    let forgotten = match shared.registrations.lock().get(path) {
        Some(registration) if registration.is(wanted) => return Tried::Made,
        // Registered anew meanwhile: the node is that registration's now.
        Some(_) => false,
        None => true,
    };
    if forgotten {
        match store.delete(path, None).await {
            Err(error) if !error.is(Code::NoNode) => {
                tracing::warn!(path, %error, "can't delete a node restored for a registration forgotten meanwhile");
            }
            _ => {}
        }
    }
    Tried::Stop
}

/// What a failed request means for the restore.
fn failed<S: Store + 'static>(store: &S, error: StoreError) -> Tried {
    match error.code {
        code if code.is_session_lost() => Tried::Stop,
        Code::ConnectionLoss
        | Code::OperationTimeout
        | Code::Throttled
        | Code::NotReadOnly
        | Code::SessionMoved => Tried::Blocked(Blocked::Disconnected { error, state: store.session_state() }),
        _ => Tried::Refused(error),
    }
}

/// Why the node at `path`, held by `owner`, is not this session's.
fn held_by(path: &str, owner: i64) -> String {
    if owner == 0 {
        format!("{path} exists, a persistent node")
    } else {
        format!("{path} exists, held by session {owner:#x}")
    }
}

fn report_waiting<S: Store + 'static>(shared: &Shared<S>, path: &str, reason: &str) {
    tracing::warn!(path, reason, "can't restore registered ephemeral node yet; waiting");
    let _ = shared
        .events
        .send(ClientEvent::RestoreWaiting { path: path.to_string(), reason: reason.to_string() });
}

/// Reports how a restore ended; a refused registration is forgotten.
fn report<S: Store + 'static>(shared: &Shared<S>, path: &str, wanted: &Wanted, outcome: Tried) {
    let event = match outcome {
        Tried::Made => {
            tracing::info!(path, "restored registered ephemeral node");
            ClientEvent::Restored { path: path.to_string() }
        }
        Tried::Refused(error) => {
            let reason = error.to_string();
            tracing::warn!(path, reason, "can't restore registered ephemeral node; forgetting it");
            let mut registrations = shared.registrations.lock();
            if registrations.get(path).is_some_and(|r| r.is(wanted)) {
                registrations.remove(path);
            }
            ClientEvent::RestoreFailed { path: path.to_string(), reason }
        }
        Tried::Stop | Tried::Blocked(_) => return,
    };
    let _ = shared.events.send(event);
}
