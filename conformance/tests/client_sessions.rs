//! Sessions (spec section 9): expiry, restore of registrations, re-armed views, close, failed
//! connections; through the high-level client, on every backend.

use std::sync::Arc;
use std::time::Duration;

use crate::client_support::{eventually, json, map, new_session, put, set, Gated, PATIENCE};
use parking_lot::Mutex;
use serde_json::json;
use tokio::sync::broadcast;
use zczk_conformance::{everywhere, on_every_backend, Backend};
use zczk_core::client::{
    ClientError, ClientEvent, ConnectOptions, Flow, RegisterOptions, ViewEvent, ZooKeeper,
};
use zczk_core::store::{Acl, Perms, SessionState, Store};

everywhere!(
    expiry_brings_a_new_session_that_restores_registrations,
    unregistered_and_deleted_registrations_stay_gone,
    a_registration_whose_parent_vanished_is_reported_and_the_rest_restored,
    views_are_rearmed_and_get_the_changes_made_meanwhile,
    close_is_idempotent_and_ephemerals_vanish,
    failed_connect_names_the_address,
    the_wait_option_retries_until_a_session_is_made,
    calls_during_a_renewal_wait_for_the_new_session,
    registrations_deleted_recursively_stay_gone,
    views_catch_up_after_a_reconnection,
);

// On single servers only.
on_every_backend!(
    closing_a_client_over_a_given_session_leaves_it_open,
    a_registration_held_by_the_old_session_comes_back_when_that_session_ends,
    a_registration_unregistered_while_held_by_the_old_session_stays_gone,
    a_registration_the_server_refuses_is_reported_and_forgotten,
);

/// `other`, once it has caught up with the leader: on an ensemble its member may not have yet
/// what another session wrote through another member (ZooKeeper orders each session's own
/// view, not one session's reads after another's writes), so it syncs before reading.
async fn synced<S: Store>(other: &S) -> &S {
    other.sync("/").await.expect("sync");
    other
}

/// Waits for the first event matching `want`, failing after [`PATIENCE`].
async fn event(
    events: &mut broadcast::Receiver<ClientEvent>,
    what: &str,
    want: impl Fn(&ClientEvent) -> bool,
) {
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            match events.recv().await {
                Ok(e) if want(&e) => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("no more events, and no {what}"),
            }
        }
    });
    assert!(found.await.is_ok(), "no {what} event");
}

/// Waits for a `Restored` event for each of `paths`, in any order, failing after [`PATIENCE`].
async fn restored(events: &mut broadcast::Receiver<ClientEvent>, paths: &[&str]) {
    let mut missing = paths.to_vec();
    let all = async {
        while !missing.is_empty() {
            match events.recv().await {
                Ok(ClientEvent::Restored { path }) => missing.retain(|p| *p != path),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    };
    let _ = tokio::time::timeout(PATIENCE, all).await;
    assert!(missing.is_empty(), "no restored event for {missing:?}");
}

async fn expiry_brings_a_new_session_that_restores_registrations<B: Backend>(backend: B) {
    let zk = ZooKeeper::new(backend.clone()).await.unwrap();
    let mut events = zk.events();
    let other = backend.session().await;
    put(&other, "/svc", json!({})).await;
    assert_eq!(zk.state(), SessionState::Connected);
    let writable = vec![Acl::new(Perms::READ | Perms::WRITE | Perms::ADMIN, "world", "anyone")];
    let options = RegisterOptions { acl: writable, properties: map(json!({"a": 1})) };
    zk.register_with("/svc", ("h", 1), options).await.unwrap();
    // The latest data and ACL, written through the client, are what comes back.
    zk.properties("/svc/h:1", false).await.unwrap().update(map(json!({"a": 2}))).await.unwrap();
    zk.set_acl("/svc/h:1", &Acl::read_only(), None).await.unwrap();
    let old_session = zk.store().session_id();

    backend.expire(&*zk.store()).await;
    event(&mut events, "expired state", |e| *e == ClientEvent::State(SessionState::Expired)).await;
    event(&mut events, "new session", |e| matches!(e, ClientEvent::NewSession { .. })).await;
    event(&mut events, "restored", |e| *e == ClientEvent::Restored { path: "/svc/h:1".into() }).await;
    new_session(&zk, 1).await;

    let store = zk.store();
    assert_ne!(store.session_id(), old_session);
    assert_eq!(zk.state(), SessionState::Connected);
    let stat = synced(&other).await.exists("/svc/h:1").await.unwrap().expect("the restored node");
    assert_eq!(stat.ephemeral_owner, store.session_id());
    assert_eq!(json(&other, "/svc/h:1").await, json!({"a": 2, "pid": std::process::id()}));
    assert_eq!(synced(&other).await.get_acl("/svc/h:1").await.unwrap().0, Acl::read_only());
    // The new session works for everything else too.
    assert_eq!(zk.resolve("/svc/h:1").await.unwrap(), "/svc/h:1");
    zk.close().await.unwrap();
}

async fn unregistered_and_deleted_registrations_stay_gone<B: Backend>(backend: B) {
    let zk = ZooKeeper::new(backend.clone()).await.unwrap();
    let other = backend.session().await;
    put(&other, "/svc", json!({})).await;
    for addr in ["h:1", "h:2", "h:3"] {
        zk.register("/svc", addr, Default::default()).await.unwrap();
    }
    zk.unregister("/svc", "h:2").await.unwrap();
    zk.delete("/svc/h:3", None).await.unwrap();
    backend.expire(&*zk.store()).await;
    new_session(&zk, 1).await;
    assert_eq!(synced(&other).await.get_children("/svc").await.unwrap().0, ["h:1"]);
    assert_eq!(zk.registrations(), ["/svc/h:1"]);
}

/// A registration whose parent is gone at restore time (its tree is being re-imported, say)
/// is reported, the others are restored, and it comes back once its parent is made again.
async fn a_registration_whose_parent_vanished_is_reported_and_the_rest_restored<B: Backend>(backend: B) {
    let gate = Gated::new(backend.clone());
    let zk = ZooKeeper::new(gate.clone()).await.unwrap();
    let mut events = zk.events();
    let other = backend.session().await;
    put(&other, "/a", json!({})).await;
    put(&other, "/a/svc", json!({})).await;
    put(&other, "/b", json!({})).await;
    zk.register("/a/svc", "h:1", map(json!({"n": 1}))).await.unwrap();
    zk.register("/b", "h:2", Default::default()).await.unwrap();
    // Hold the new session back while /a goes away.
    gate.shut();
    backend.expire(&*zk.store()).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while synced(&other).await.exists("/a/svc/h:1").await.unwrap().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "the expired session's ephemeral stayed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    other.delete("/a/svc", None).await.unwrap();
    other.delete("/a", None).await.unwrap();
    gate.open();
    event(&mut events, "report of the wait", |e| {
        matches!(e, ClientEvent::RestoreWaiting { path, reason }
            if path == "/a/svc/h:1" && reason == "its parent /a/svc is missing")
    })
    .await;
    new_session(&zk, 1).await;
    assert!(
        synced(&other).await.exists("/b/h:2").await.unwrap().is_some(),
        "the other registration is restored"
    );
    assert_eq!(zk.registrations(), ["/a/svc/h:1", "/b/h:2"], "both are still wanted");
    // The tree comes back, parents first: so does the registration.
    put(&other, "/a", json!({})).await;
    put(&other, "/a/svc", json!({})).await;
    event(&mut events, "restored", |e| *e == ClientEvent::Restored { path: "/a/svc/h:1".into() }).await;
    let stat = synced(&other).await.exists("/a/svc/h:1").await.unwrap().expect("the restored node");
    assert_eq!(stat.ephemeral_owner, zk.store().session_id());
    assert_eq!(json(&other, "/a/svc/h:1").await, json!({"n": 1, "pid": std::process::id()}));
}

/// After an outage longer than the session timeout, the server can still hold the old session
/// (it came back with its data) and so the registration's node, after the client made a new
/// one: the client makes the node on its new session once the old session ends.
async fn a_registration_held_by_the_old_session_comes_back_when_that_session_ends<B: Backend>(backend: B) {
    let zk = ZooKeeper::new(backend.clone()).await.unwrap();
    let mut events = zk.events();
    let other = backend.session().await;
    put(&other, "/svc", json!({})).await;
    zk.register("/svc", "h:1", map(json!({"a": 1}))).await.unwrap();
    zk.register("/svc", "h:2", Default::default()).await.unwrap();
    let old_session = zk.store().session_id();
    let orphan = backend.orphan(&*zk.store()).await;
    let held = format!("/svc/h:1 exists, held by session {old_session:#x}");
    event(&mut events, "report of the wait", |e| {
        matches!(e, ClientEvent::RestoreWaiting { path, reason } if path == "/svc/h:1" && *reason == held)
    })
    .await;
    new_session(&zk, 1).await;
    let stat = synced(&other).await.exists("/svc/h:1").await.unwrap().expect("the old session's node");
    assert_eq!(stat.ephemeral_owner, old_session, "the server still holds the old session");
    assert_eq!(zk.registrations(), ["/svc/h:1", "/svc/h:2"], "still wanted");
    orphan.end().await;
    restored(&mut events, &["/svc/h:1", "/svc/h:2"]).await;
    for path in ["/svc/h:1", "/svc/h:2"] {
        let stat = synced(&other).await.exists(path).await.unwrap().expect("the restored node");
        assert_eq!(stat.ephemeral_owner, zk.store().session_id());
    }
    assert_eq!(json(&other, "/svc/h:1").await, json!({"a": 1, "pid": std::process::id()}));
    zk.close().await.unwrap();
}

/// A registration unregistered while its node is still held by the old session is not made
/// again when that session ends; the others are.
async fn a_registration_unregistered_while_held_by_the_old_session_stays_gone<B: Backend>(backend: B) {
    let zk = ZooKeeper::new(backend.clone()).await.unwrap();
    let mut events = zk.events();
    let other = backend.session().await;
    put(&other, "/svc", json!({})).await;
    zk.register("/svc", "h:1", Default::default()).await.unwrap();
    zk.register("/svc", "h:2", Default::default()).await.unwrap();
    let orphan = backend.orphan(&*zk.store()).await;
    new_session(&zk, 1).await;
    // Deletes the old session's node too.
    zk.unregister("/svc", "h:1").await.unwrap();
    assert_eq!(zk.registrations(), ["/svc/h:2"]);
    orphan.end().await;
    event(&mut events, "restored", |e| *e == ClientEvent::Restored { path: "/svc/h:2".into() }).await;
    assert_eq!(synced(&other).await.get_children("/svc").await.unwrap().0, ["h:2"]);
    assert_eq!(zk.registrations(), ["/svc/h:2"]);
}

async fn views_are_rearmed_and_get_the_changes_made_meanwhile<B: Backend>(backend: B) {
    let gate = Gated::new(backend.clone());
    let zk = ZooKeeper::new(gate.clone()).await.unwrap();
    let other = backend.session().await;
    put(&other, "/n", json!({"v": 0})).await;
    put(&other, "/p", json!({})).await;
    let view = zk.properties("/n", true).await.unwrap();
    let children = zk.children("/p").await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    view.on_change(move |e| {
        if let ViewEvent::Changed(s) = e {
            record.lock().push(s.get("v").unwrap().unwrap_or_default());
        }
        Ok(Flow::Continue)
    })
    .unwrap();
    gate.shut();
    backend.expire(&*zk.store()).await;
    set(&other, "/n", json!({"v": 1})).await;
    put(&other, "/p/c", json!({})).await;
    gate.open();
    new_session(&zk, 1).await;
    eventually("the change made meanwhile", || seen.lock().last() == Some(&json!(1))).await;
    eventually("the child made meanwhile", || children.names() == ["c"]).await;
    // Re-armed: later changes come too.
    set(&other, "/n", json!({"v": 2})).await;
    eventually("a change after the new session", || seen.lock().last() == Some(&json!(2))).await;
    put(&other, "/p/d", json!({})).await;
    eventually("a child after the new session", || children.names().len() == 2).await;
}

async fn close_is_idempotent_and_ephemerals_vanish<B: Backend>(backend: B) {
    let gate = Gated::new(backend.clone());
    let zk = ZooKeeper::new(gate.clone()).await.unwrap();
    let other = backend.session().await;
    put(&other, "/svc", json!({})).await;
    zk.register("/svc", "h:1", Default::default()).await.unwrap();
    let mut events = zk.events();
    zk.close().await.unwrap();
    assert!(zk.is_closed());
    assert!(
        synced(&other).await.exists("/svc/h:1").await.unwrap().is_none(),
        "the ephemeral is gone at once"
    );
    zk.close().await.unwrap();
    event(&mut events, "closed state", |e| *e == ClientEvent::State(SessionState::Closed)).await;
    assert!(matches!(zk.resolve("/svc").await, Err(ClientError::Closed)));
    assert!(matches!(zk.register("/svc", "h:2", Default::default()).await, Err(ClientError::Closed)));
    // The events end when nothing holds the client any more; a session being asked for would
    // hold it, so once they have ended no new session can come.
    drop(zk);
    let ended = tokio::time::timeout(PATIENCE, async {
        while !matches!(events.recv().await, Err(broadcast::error::RecvError::Closed)) {}
    });
    assert!(ended.await.is_ok(), "the closed and dropped client's events did not end");
    assert_eq!(gate.attempts(), 1, "no new session after close");
}

async fn closing_a_client_over_a_given_session_leaves_it_open<B: Backend>(backend: B) {
    let other = backend.session().await;
    put(&other, "/svc", json!({})).await;
    let zk = ZooKeeper::wrap(backend.session().await);
    let session = zk.store();
    zk.register("/svc", "h:1", Default::default()).await.unwrap();
    zk.close().await.unwrap();
    assert!(zk.is_closed());
    assert!(matches!(zk.resolve("/svc").await, Err(ClientError::Closed)));
    // The session is still its owner's: open, with its ephemeral, and usable.
    assert_eq!(*session.session_state().borrow(), SessionState::Connected);
    assert!(synced(&other).await.exists("/svc/h:1").await.unwrap().is_some(), "the ephemeral lives on");
    assert!(session.exists("/svc").await.unwrap().is_some());
    session.close().await.unwrap();
    assert!(synced(&other).await.exists("/svc/h:1").await.unwrap().is_none(), "its owner closed it");
}

async fn failed_connect_names_the_address<B: Backend>(backend: B) {
    let gate = Gated::new(backend.clone());
    gate.fail_next(1);
    match ZooKeeper::new(gate).await {
        Err(ClientError::FailedConnect { address, reason }) => {
            assert_eq!(address, backend.address());
            assert!(reason.contains("refused by the test"), "{reason}");
        }
        Err(e) => panic!("expected FailedConnect, got {e}"),
        Ok(_) => panic!("expected FailedConnect, got a client"),
    }
}

async fn the_wait_option_retries_until_a_session_is_made<B: Backend>(backend: B) {
    let gate = Gated::new(backend.clone());
    gate.fail_next(2);
    let zk = ZooKeeper::with_options(gate.clone(), ConnectOptions { wait: true }).await.unwrap();
    assert_eq!(gate.attempts(), 3);
    assert_eq!(zk.resolve("/").await.unwrap(), "/");
}

/// On the real server: no server at the address is a `FailedConnect` naming it.
#[tokio::test]
async fn no_server_is_a_failed_connect_naming_the_address() {
    let connector =
        zczk_zookeeper::ZkConnector::new("127.0.0.1:1/app").with_connect_timeout(Duration::from_secs(3));
    match ZooKeeper::new(connector).await {
        Err(e @ ClientError::FailedConnect { .. }) => {
            assert!(e.to_string().contains("127.0.0.1:1/app"), "{e}");
        }
        Err(e) => panic!("expected FailedConnect, got {e}"),
        Ok(_) => panic!("a session on a port where no server listens"),
    }
}

/// A view gets the changes made while its session's connection was down (a persistent watch
/// misses them), and keeps watching after.
async fn views_catch_up_after_a_reconnection<B: Backend>(backend: B) {
    let zk = ZooKeeper::new(backend.clone()).await.unwrap();
    let other = backend.session().await;
    put(&other, "/n", json!({"v": 0})).await;
    put(&other, "/p", json!({})).await;
    let view = zk.properties("/n", true).await.unwrap();
    let children = zk.children("/p").await.unwrap();
    // A connected client's view of the same node: once it has the change, the server has sent
    // it to every session watching.
    let witness = ZooKeeper::new(backend.clone()).await.unwrap();
    let witnessed = witness.properties("/n", true).await.unwrap();
    let mut events = zk.events();
    let session = zk.store().session_id();
    backend.disconnect(&*zk.store()).await;
    event(&mut events, "disconnected state", |e| *e == ClientEvent::State(SessionState::Disconnected)).await;
    set(&other, "/n", json!({"v": 1})).await;
    put(&other, "/p/c", json!({})).await;
    eventually("a connected client to see the change", || witnessed.get("v").unwrap() == Some(json!(1)))
        .await;
    assert_eq!(view.get("v").unwrap(), Some(json!(0)), "nothing arrives while disconnected");
    backend.reconnect(&*zk.store()).await;
    event(&mut events, "connected state", |e| *e == ClientEvent::State(SessionState::Connected)).await;
    eventually("the change made while disconnected", || view.get("v").unwrap() == Some(json!(1))).await;
    eventually("the child made while disconnected", || children.names() == ["c"]).await;
    set(&other, "/n", json!({"v": 2})).await;
    eventually("a change after reconnecting", || view.get("v").unwrap() == Some(json!(2))).await;
    assert_eq!(zk.generation().borrow().to_owned(), 0, "the same session");
    assert_eq!(zk.store().session_id(), session);
}

async fn calls_during_a_renewal_wait_for_the_new_session<B: Backend>(backend: B) {
    let gate = Gated::new(backend.clone());
    let zk = ZooKeeper::new(gate.clone()).await.unwrap();
    let other = backend.session().await;
    put(&other, "/svc", json!({})).await;
    gate.shut();
    backend.expire(&*zk.store()).await;
    let call = zk.register("/svc", "h:1", Default::default());
    tokio::pin!(call);
    // Started while no session can be made; it can only end well in the new session.
    assert!(futures::poll!(&mut call).is_pending(), "the call waits for the new session");
    gate.open();
    let created = tokio::time::timeout(PATIENCE, call).await.expect("the call to end");
    assert_eq!(created.unwrap(), ["/svc/h:1"]);
    let stat = synced(&other).await.exists("/svc/h:1").await.unwrap().expect("the node");
    assert_eq!(stat.ephemeral_owner, zk.store().session_id());
}

async fn registrations_deleted_recursively_stay_gone<B: Backend>(backend: B) {
    let zk = ZooKeeper::new(backend.clone()).await.unwrap();
    let other = backend.session().await;
    put(&other, "/gone", json!({})).await;
    put(&other, "/kept", json!({})).await;
    zk.register("/gone", "h:1", Default::default()).await.unwrap();
    zk.register("/kept", "h:2", Default::default()).await.unwrap();
    let force = zczk_core::delete::DeleteOptions { force: true, ..Default::default() };
    zk.delete_recursive("/gone", &force).await.unwrap();
    // Without force the ephemeral (and so its parent) is kept, and so is the registration.
    let report = zk.delete_recursive("/kept", &Default::default()).await.unwrap();
    assert_eq!(
        report.lines,
        ["Not deleting /kept/h:2 because it's ephemeral.", "/kept not deleted due to ephemeral descendent."]
    );
    assert_eq!(zk.registrations(), ["/kept/h:2"]);
    backend.expire(&*zk.store()).await;
    new_session(&zk, 1).await;
    assert!(synced(&other).await.exists("/gone").await.unwrap().is_none());
    assert!(synced(&other).await.exists("/kept/h:2").await.unwrap().is_some());
}

/// A registration the server refuses to make again (its parent no longer lets this client
/// create children) is reported and forgotten; the others are restored.
async fn a_registration_the_server_refuses_is_reported_and_forgotten<B: Backend>(backend: B) {
    let gate = Gated::new(backend.clone());
    let zk = ZooKeeper::new(gate.clone()).await.unwrap();
    let mut events = zk.events();
    let other = backend.session().await;
    put(&other, "/closed", json!({})).await;
    put(&other, "/open", json!({})).await;
    zk.register("/closed", "h:1", Default::default()).await.unwrap();
    zk.register("/open", "h:2", Default::default()).await.unwrap();
    gate.shut();
    backend.expire(&*zk.store()).await;
    other.set_acl("/closed", &Acl::read_only(), None).await.unwrap();
    gate.open();
    event(&mut events, "restore failure", |e| {
        matches!(e, ClientEvent::RestoreFailed { path, reason } if path == "/closed/h:1" && reason.contains("/closed/h:1"))
    })
    .await;
    new_session(&zk, 1).await;
    assert!(
        synced(&other).await.exists("/open/h:2").await.unwrap().is_some(),
        "the other registration is restored"
    );
    assert_eq!(zk.registrations(), ["/open/h:2"]);
}

/// A connector over the emulator whose sessions, after the first, fail their first request
/// with `ConnectionLoss` (without applying it), as when the connection drops at once.
#[derive(Clone)]
struct Flaky(zczk_conformance::EmulatorBackend, Arc<std::sync::atomic::AtomicUsize>);

#[async_trait::async_trait]
impl zczk_core::store::Connector for Flaky {
    type Store = zczk_emulator::Session;

    async fn connect(&self) -> Result<zczk_emulator::Session, zczk_core::store::StoreError> {
        let session = self.0.connect().await?;
        if self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0 {
            session.faults().fail_next(1, zczk_core::store::Code::ConnectionLoss);
        }
        Ok(session)
    }
}

/// On the emulator: a restore whose request is lost with the connection is tried again, not
/// given up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_lost_with_the_connection_is_tried_again() {
    let backend = zczk_conformance::EmulatorBackend::new();
    let zk = ZooKeeper::new(Flaky(backend.clone(), Default::default())).await.unwrap();
    let mut events = zk.events();
    let other = backend.session().await;
    put(&other, "/svc", json!({})).await;
    zk.register("/svc", "h:1", Default::default()).await.unwrap();
    zk.store().faults().expire();
    event(&mut events, "report of the wait", |e| {
        matches!(e, ClientEvent::RestoreWaiting { path, reason } if path == "/svc/h:1" && reason.contains("connection"))
    })
    .await;
    restored(&mut events, &["/svc/h:1"]).await;
    let stat = synced(&other).await.exists("/svc/h:1").await.unwrap().expect("the restored node");
    assert_eq!(stat.ephemeral_owner, zk.store().session_id());
}
