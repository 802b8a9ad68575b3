//! The emulator over the wire, what only a wire server has: a client resuming its session on a
//! new connection, pipelined requests, pings. (Every conformance case runs over the wire too,
//! as its `served` test: see `zczk_conformance::ServedEmulator`.)

use std::time::Duration;

use zczk_conformance::{close, Backend, ServedEmulator, SESSION_TIMEOUT};
use zczk_core::store::{Connector, CreateMode, CreateOptions, EventKind, SessionState, Store, WatchEvent};
use zczk_emulator::Emulator;
use zczk_zookeeper::ZkConnector;

/// How long a test waits for something that must happen.
const MUST: Duration = Duration::from_secs(5);

type Served = ServedEmulator;

fn event(kind: EventKind, path: &str) -> WatchEvent {
    WatchEvent { kind, path: path.to_string() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_resumes_the_session() {
    let b = Served::start().await;
    let s = b.session().await;
    let id = s.session_id();
    s.create("/e", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    let (_, _, watch) = s.get_data_watch("/e").await.unwrap();
    let other = b.session().await;
    // Drop the client's connection; it reconnects with its id and password.
    b.emulator().faults(id).disconnect();
    other.set_data("/e", Some(b"changed"), None).await.unwrap();
    let mut state = s.session_state();
    tokio::time::timeout(MUST, state.wait_for(|st| *st == SessionState::Connected)).await.unwrap().unwrap();
    // The watch is re-armed by setWatches and fires for the change made while away.
    let fired = tokio::time::timeout(MUST, watch).await.expect("the watch did not fire after the reconnect");
    assert_eq!(fired, event(EventKind::NodeDataChanged, "/e"));
    let (data, stat) = s.get_data("/e").await.unwrap();
    assert_eq!((data.as_deref(), stat.ephemeral_owner), (Some(&b"changed"[..]), id));
    assert_eq!(s.session_id(), id);
    close(s).await;
    close(other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_pipelined_requests_are_answered_in_order() {
    let b = Served::start().await;
    let s = b.session().await;
    s.create("/p", Some(b""), &CreateOptions::default()).await.unwrap();
    let paths: Vec<String> = (0..500).map(|i| format!("/p/n{i}")).collect();
    let options = CreateOptions::default();
    let creates: Vec<_> = paths.iter().map(|p| s.create(p, Some(p.as_bytes()), &options)).collect();
    for (created, path) in futures::future::join_all(creates).await.into_iter().zip(&paths) {
        assert_eq!(&created.unwrap().path, path);
    }
    let reads: Vec<_> = paths.iter().map(|p| s.get_data(p)).collect();
    let mut last = 0;
    for (read, path) in futures::future::join_all(reads).await.into_iter().zip(&paths) {
        let (data, stat) = read.unwrap();
        assert_eq!(data.as_deref(), Some(path.as_bytes()));
        assert!(stat.czxid > last, "creates applied out of order");
        last = stat.czxid;
    }
    close(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_client_keeps_its_session_by_pinging() {
    // Short timeouts: the server grants 600 ms, so the client must ping several times a second.
    let config = zczk_emulator::Config {
        min_session_timeout: Duration::from_millis(300),
        max_session_timeout: Duration::from_millis(600),
        ..zczk_emulator::Config::default()
    };
    let server = zczk_emulator::serve("127.0.0.1:0", Emulator::with_config(config)).await.unwrap();
    let connector = ZkConnector::new(server.local_addr().to_string()).with_session_timeout(SESSION_TIMEOUT);
    let s = connector.connect().await.unwrap();
    assert_eq!(s.session_timeout(), Duration::from_millis(600));
    s.create("/idle", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(*s.session_state().borrow(), SessionState::Connected);
    assert_eq!(s.exists("/idle").await.unwrap().map(|st| st.ephemeral_owner), Some(s.session_id()));
    assert_eq!(server.emulator().session_count(), 1);
    close(s).await;
}
