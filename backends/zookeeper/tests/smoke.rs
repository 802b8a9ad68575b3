//! Smoke tests against a real server (address in `ZCZK_TEST_ZOOKEEPER`; ignored unless run with
//! `--include-ignored`, see `needs_real_server!`). The behaviour suite is in `zczk-conformance`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use zczk_core::store::{Code, CreateMode, CreateOptions, EventKind, OpKind, SessionState, Store, WatchMode};
use zczk_zookeeper::{connect, testing, ZkConnector};

zczk_zookeeper::real_server_tests!(
    creates_and_reads_a_node,
    requests_pipeline_on_one_session,
    dropping_a_persistent_watch_removes_it_from_the_server,
    expire_ends_the_session_as_expired,
    a_cut_connection_resumes_the_same_session,
    close_twice_is_fine_and_later_requests_fail_closed,
    identities_are_added_again_after_an_expiry,
);

const TIMEOUT: Duration = Duration::from_secs(10);

/// A node name no other test run uses.
fn unique(name: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("/zczk-smoke-{name}-{}-{nanos}", std::process::id())
}

async fn creates_and_reads_a_node(server: String) {
    let store = connect(&server, TIMEOUT).await.unwrap();
    let path = unique("node");
    let created =
        store.create(&path, Some(b"hello"), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    assert_eq!(created.path, path);
    let (data, stat) = store.get_data(&path).await.unwrap();
    assert_eq!(data.as_deref(), Some(&b"hello"[..]));
    assert_eq!(stat.ephemeral_owner, store.session_id());
    assert_eq!(stat, created.stat);
    store.close().await.unwrap();
}

#[tokio::test]
async fn unreachable_server_fails_naming_the_address() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let error = ZkConnector::new("127.0.0.1:1/app")
        .with_connect_timeout(Duration::from_secs(5))
        .open()
        .await
        .unwrap_err();
    assert_eq!((error.code, error.op), (Code::ConnectionLoss, OpKind::Connect));
    assert!(error.to_string().contains("127.0.0.1:1/app"), "{error}");
}

#[tokio::test]
async fn silent_server_fails_within_the_connect_timeout() {
    // A listener that accepts and never answers: the client waits for a handshake that never
    // comes, and the connect timeout must end it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let _accepting = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = std::time::Instant::now();
    let error =
        ZkConnector::new(&address).with_connect_timeout(Duration::from_millis(500)).open().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(error.code, Code::ConnectionLoss);
    assert!(error.to_string().contains(&address), "{error}");
}

async fn requests_pipeline_on_one_session(server: String) {
    let store = connect(&server, TIMEOUT).await.unwrap();
    let root = unique("pipeline");
    let options = CreateOptions::default();
    store.create(&root, Some(b""), &options).await.unwrap();
    let paths: Vec<String> = (0..200).map(|i| format!("{root}/n{i:03}")).collect();
    // All sent before any is awaited.
    let creates: Vec<_> = paths.iter().map(|p| store.create(p, Some(b"x"), &options)).collect();
    for (created, path) in futures::future::join_all(creates).await.into_iter().zip(&paths) {
        assert_eq!(&created.unwrap().path, path);
    }
    let (children, stat) = store.get_children(&root).await.unwrap();
    assert_eq!((children.len(), stat.num_children), (200, 200));
    let deletes: Vec<_> = paths.iter().map(|p| store.delete(p, None)).collect();
    assert!(futures::future::join_all(deletes).await.iter().all(Result::is_ok));
    store.delete(&root, None).await.unwrap();
    store.close().await.unwrap();
}

async fn dropping_a_persistent_watch_removes_it_from_the_server(server: String) {
    let store = connect(&server, TIMEOUT).await.unwrap();
    let path = unique("watch");
    let mine = |watches: Vec<testing::ServerWatch>| {
        watches.into_iter().filter(|w| w.path == path && w.session_id == store.session_id()).count()
    };
    let mut watch = store.add_watch(&path, WatchMode::Persistent).await.unwrap();
    assert_eq!(mine(testing::server_watches(&server).await.unwrap()), 1);
    store.create(&path, Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    assert_eq!(watch.next().await.unwrap().kind, EventKind::NodeCreated);
    drop(watch);
    // The removal is sent when the watch is dropped; a request after it is answered after it.
    store.sync(&path).await.unwrap();
    assert_eq!(mine(testing::server_watches(&server).await.unwrap()), 0);
    store.close().await.unwrap();
}

async fn expire_ends_the_session_as_expired(server: String) {
    let _ = tracing_subscriber::fmt().with_env_filter("debug").try_init();
    let relay = testing::Relay::start(&server).await.unwrap();
    let store = connect(&relay.address(), TIMEOUT).await.unwrap();
    let path = unique("expire");
    store.create(&path, Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    relay.expire(&store).await.unwrap();
    assert_eq!(*store.session_state().borrow(), SessionState::Expired);
    let error = store.exists(&path).await.unwrap_err();
    assert_eq!(error.code, Code::SessionExpired);
    let other = connect(&server, TIMEOUT).await.unwrap();
    assert_eq!(other.exists(&path).await.unwrap(), None);
}

async fn a_cut_connection_resumes_the_same_session(server: String) {
    let relay = testing::Relay::start(&server).await.unwrap();
    let store = connect(&relay.address(), TIMEOUT).await.unwrap();
    let path = unique("cut");
    store.create(&path, Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    let mut state = store.session_state();
    relay.cut(store.session_id());
    let seen = tokio::time::timeout(TIMEOUT, state.wait_for(|s| *s == SessionState::Disconnected)).await;
    assert!(seen.is_ok_and(|r| r.is_ok()), "no Disconnected state after the cut");
    relay.restore(store.session_id());
    let seen = tokio::time::timeout(TIMEOUT, state.wait_for(|s| *s == SessionState::Connected)).await;
    assert!(seen.is_ok_and(|r| r.is_ok()), "no Connected state after the relay was restored");
    // Back within the session timeout: the same session, its ephemeral kept.
    let stat = store.exists(&path).await.unwrap().expect("the ephemeral outlives the cut");
    assert_eq!(stat.ephemeral_owner, store.session_id());
    store.close().await.unwrap();
}

async fn close_twice_is_fine_and_later_requests_fail_closed(server: String) {
    let store = connect(&server, TIMEOUT).await.unwrap();
    store.close().await.unwrap();
    store.close().await.unwrap();
    assert_eq!(*store.session_state().borrow(), SessionState::Closed);
    assert_eq!(store.get_data("/").await.unwrap_err().code, Code::SessionClosed);
}

/// The identities of a connector are added to the new session made after an expiry too: a
/// node only `auth` may write stays writable.
async fn identities_are_added_again_after_an_expiry(server: String) {
    use zczk_core::client::ZooKeeper;
    use zczk_core::store::Acl;
    let path = unique("auth");
    let relay = testing::Relay::start(&server).await.unwrap();
    let connector = ZkConnector::new(relay.address()).with_auth("digest", "admin:s3cret");
    let zk = ZooKeeper::new(connector).await.unwrap();
    let options = CreateOptions::new(CreateMode::Persistent).with_acl(Acl::creator_all());
    zk.store().create(&path, Some(b"1"), &options).await.unwrap();
    let old = zk.store().session_id();
    relay.expire(&zk.store()).await.unwrap();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while zk.store().session_id() == old || zk.store().session_id() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no new session after the expiry");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    zk.store().set_data(&path, Some(b"2"), None).await.unwrap();
    // Without the identity, the same write is refused.
    let stranger = connect(&server, TIMEOUT).await.unwrap();
    assert_eq!(stranger.set_data(&path, Some(b"3"), None).await.unwrap_err().code, Code::NoAuth);
    stranger.close().await.unwrap();
    zk.store().delete(&path, None).await.unwrap();
    zk.close().await.unwrap();
}
