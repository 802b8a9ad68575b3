//! Sessions: ephemerals live as long as their session; expiry and close delete them and fire
//! the other sessions' watches; an expired or closed session refuses requests.

use std::time::Duration;

use futures::StreamExt as _;
use zczk_conformance::{close, everywhere, Backend};
use zczk_core::store::{
    Code, CreateMode, CreateOptions, EventKind, SessionState, Store, WatchEvent, WatchMode,
};

const MUST: Duration = Duration::from_secs(10);

fn event(kind: EventKind, path: &str) -> WatchEvent {
    WatchEvent { kind, path: path.to_string() }
}

everywhere!(
    new_sessions_are_connected_and_distinct,
    close_deletes_ephemerals_and_fires_watches,
    expiry_deletes_ephemerals_and_fires_other_sessions_watches,
    expired_session_refuses_requests_and_ends_its_watches,
    close_is_idempotent_and_ends_the_session,
    close_ends_the_sessions_watches,
    unknown_auth_scheme_fails_the_session,
);

async fn new_sessions_are_connected_and_distinct<B: Backend>(b: B) {
    let one = b.session().await;
    let two = b.session().await;
    assert_eq!(*one.session_state().borrow(), SessionState::Connected);
    assert_ne!(one.session_id(), two.session_id());
    assert_ne!(one.session_id(), 0);
    close(one).await;
    close(two).await;
}

async fn close_deletes_ephemerals_and_fires_watches<B: Backend>(b: B) {
    let owner = b.session().await;
    let watcher = b.session().await;
    watcher.create("/svc", Some(b""), &CreateOptions::default()).await.unwrap();
    owner.create("/svc/me", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    owner.create("/svc/seq-", Some(b""), &CreateOptions::new(CreateMode::EphemeralSequential)).await.unwrap();
    owner.create("/svc/kept", Some(b""), &CreateOptions::default()).await.unwrap();
    let (_, gone) = watcher.exists_watch("/svc/me").await.unwrap();
    let (_, _, children) = watcher.get_children_watch("/svc").await.unwrap();
    close(owner).await;
    assert_eq!(tokio::time::timeout(MUST, gone).await.unwrap(), event(EventKind::NodeDeleted, "/svc/me"));
    assert_eq!(
        tokio::time::timeout(MUST, children).await.unwrap(),
        event(EventKind::NodeChildrenChanged, "/svc")
    );
    let (names, stat) = watcher.get_children("/svc").await.unwrap();
    assert_eq!(names, vec!["kept".to_string()]);
    assert_eq!((stat.num_children, stat.cversion), (1, 5));
    close(watcher).await;
}

async fn expiry_deletes_ephemerals_and_fires_other_sessions_watches<B: Backend>(b: B) {
    let doomed = b.session().await;
    let watcher = b.session().await;
    doomed.create("/lease", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    let (stat, gone) = watcher.exists_watch("/lease").await.unwrap();
    assert_eq!(stat.map(|s| s.ephemeral_owner), Some(doomed.session_id()));
    let mut recursive = watcher.add_watch("/", WatchMode::PersistentRecursive).await.unwrap();
    b.expire(&doomed).await;
    assert_eq!(tokio::time::timeout(MUST, gone).await.unwrap(), event(EventKind::NodeDeleted, "/lease"));
    let seen = tokio::time::timeout(MUST, recursive.next()).await.unwrap();
    assert_eq!(seen, Some(event(EventKind::NodeDeleted, "/lease")));
    assert_eq!(watcher.exists("/lease").await.unwrap(), None);
    assert_eq!(*watcher.session_state().borrow(), SessionState::Connected);
    close(watcher).await;
}

async fn expired_session_refuses_requests_and_ends_its_watches<B: Backend>(b: B) {
    let doomed = b.session().await;
    doomed.create("/n", Some(b""), &CreateOptions::default()).await.unwrap();
    let (_, _, watch) = doomed.get_data_watch("/n").await.unwrap();
    b.expire(&doomed).await;
    assert_eq!(*doomed.session_state().borrow(), SessionState::Expired);
    let ended = tokio::time::timeout(MUST, watch).await.unwrap();
    assert_eq!(ended.kind, EventKind::SessionEnded(SessionState::Expired));
    let error = doomed.get_data("/n").await.unwrap_err();
    assert_eq!(error.code, Code::SessionExpired);
    // The node it made is persistent and stays.
    let other = b.session().await;
    assert!(other.exists("/n").await.unwrap().is_some());
    close(other).await;
}

async fn close_is_idempotent_and_ends_the_session<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/c", Some(b""), &CreateOptions::default()).await.unwrap();
    s.close().await.unwrap();
    s.close().await.unwrap();
    assert_eq!(*s.session_state().borrow(), SessionState::Closed);
    let error = s.get_data("/c").await.unwrap_err();
    assert!(error.code.is_session_lost(), "{error}");
}

async fn close_ends_the_sessions_watches<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/w", Some(b""), &CreateOptions::default()).await.unwrap();
    let (_, _, oneshot) = s.get_data_watch("/w").await.unwrap();
    let mut stream = s.add_watch("/w", WatchMode::Persistent).await.unwrap();
    s.close().await.unwrap();
    let ended = tokio::time::timeout(MUST, oneshot).await.unwrap();
    assert_eq!(ended.kind, EventKind::SessionEnded(SessionState::Closed));
    let last = tokio::time::timeout(MUST, stream.next()).await.unwrap();
    assert_eq!(last.map(|e| e.kind), Some(EventKind::SessionEnded(SessionState::Closed)));
    assert_eq!(tokio::time::timeout(MUST, stream.next()).await.unwrap(), None);
}

async fn unknown_auth_scheme_fails_the_session<B: Backend>(b: B) {
    let s = b.session().await;
    let error = s.add_auth("no-such-scheme", b"x").await.unwrap_err();
    assert_eq!(error.code, Code::AuthFailed);
    let mut state = s.session_state();
    tokio::time::timeout(MUST, state.wait_for(|st| *st == SessionState::AuthFailed)).await.unwrap().unwrap();
    assert_eq!(s.get_data("/").await.unwrap_err().code, Code::AuthFailed);
}
