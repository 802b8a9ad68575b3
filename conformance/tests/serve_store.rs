//! The emulator over the wire: representative conformance cases run through the
//! `zookeeper-client` crate (`zczk_zookeeper::ZkConnector`) against an in-process
//! `zczk_emulator::serve` server, so the jute encoding, session handling and watch delivery
//! are checked end to end by a real ZooKeeper client.

use std::time::Duration;

use futures::StreamExt as _;
use zczk_conformance::{close, Backend, ServedEmulator, SESSION_TIMEOUT};
use zczk_core::store::{
    Acl, Code, Connector, CreateMode, CreateOptions, EventKind, MultiError, Op, OpResult, Perms,
    SessionState, Store, StoreError, WatchEvent, WatchMode,
};
use zczk_emulator::Emulator;
use zczk_zookeeper::ZkConnector;

/// How long a test waits for something that must happen.
const MUST: Duration = Duration::from_secs(5);

type Served = ServedEmulator;

fn code<T: std::fmt::Debug>(result: Result<T, StoreError>) -> Code {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.code,
    }
}

fn event(kind: EventKind, path: &str) -> WatchEvent {
    WatchEvent { kind, path: path.to_string() }
}

macro_rules! served {
    ($($case:ident),+ $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            cases::$case(Served::start().await).await;
        }
    )+};
}

served!(
    create_get_set_with_versions,
    children_and_sequential_names,
    ephemeral_nodes_go_with_close,
    multi_is_all_or_nothing,
    watches_fire_in_order_before_the_read,
    persistent_watches_stream_events,
    acl_and_digest_auth,
    expiry_deletes_ephemerals_and_ends_the_session,
);

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

mod cases {
    use super::*;

    pub async fn create_get_set_with_versions<B: Backend>(b: B) {
        let s = b.session().await;
        let created = s.create("/a", Some(b"one"), &CreateOptions::default()).await.unwrap();
        assert_eq!(created.path, "/a");
        assert_eq!((created.stat.version, created.stat.data_length), (0, 3));
        let (data, stat) = s.get_data("/a").await.unwrap();
        assert_eq!((data.as_deref(), stat), (Some(&b"one"[..]), created.stat));
        let set = s.set_data("/a", Some(b"two"), Some(0)).await.unwrap();
        assert_eq!(set.version, 1);
        assert!(set.mzxid > stat.mzxid);
        assert_eq!(code(s.set_data("/a", Some(b"x"), Some(0)).await), Code::BadVersion);
        assert_eq!(code(s.create("/a", Some(b""), &CreateOptions::default()).await), Code::NodeExists);
        assert_eq!(code(s.get_data("/missing").await), Code::NoNode);
        assert_eq!(code(s.create("/no/parent", Some(b""), &CreateOptions::default()).await), Code::NoNode);
        assert_eq!(s.exists("/missing").await.unwrap(), None);
        assert_eq!(s.exists("/a").await.unwrap(), Some(set));
        assert_eq!(code(s.delete("/a", Some(0)).await), Code::BadVersion);
        s.delete("/a", Some(1)).await.unwrap();
        assert_eq!(s.exists("/a").await.unwrap(), None);
        let ttl = CreateOptions::default().with_ttl(Duration::from_secs(60));
        let with_ttl = s.create("/ttl", Some(b""), &ttl).await.unwrap();
        assert_eq!(s.exists("/ttl").await.unwrap(), Some(with_ttl.stat));
        s.sync("/").await.unwrap();
        close(s).await;
    }

    pub async fn children_and_sequential_names<B: Backend>(b: B) {
        let s = b.session().await;
        s.create("/c", Some(b""), &CreateOptions::default()).await.unwrap();
        let seq = CreateOptions::new(CreateMode::PersistentSequential);
        let first = s.create("/c/n-", Some(b""), &seq).await.unwrap();
        let second = s.create("/c/n-", Some(b""), &seq).await.unwrap();
        assert_eq!((first.path.as_str(), second.path.as_str()), ("/c/n-0000000000", "/c/n-0000000001"));
        s.create("/c/x", Some(b""), &CreateOptions::default()).await.unwrap();
        let (mut names, stat) = s.get_children("/c").await.unwrap();
        names.sort();
        assert_eq!(names, ["n-0000000000", "n-0000000001", "x"]);
        assert_eq!((stat.num_children, stat.cversion), (3, 3));
        assert_eq!(code(s.delete("/c", None).await), Code::NotEmpty);
        close(s).await;
    }

    pub async fn ephemeral_nodes_go_with_close<B: Backend>(b: B) {
        let owner = b.session().await;
        let other = b.session().await;
        let created =
            owner.create("/eph", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
        assert_eq!(created.stat.ephemeral_owner, owner.session_id());
        assert_eq!(
            code(owner.create("/eph/kid", Some(b""), &CreateOptions::default()).await),
            Code::NoChildrenForEphemerals
        );
        let (_, watch) = other.exists_watch("/eph").await.unwrap();
        close(owner).await;
        let fired = tokio::time::timeout(MUST, watch).await.expect("no deletion event");
        assert_eq!(fired, event(EventKind::NodeDeleted, "/eph"));
        assert_eq!(other.exists("/eph").await.unwrap(), None);
        close(other).await;
    }

    pub async fn multi_is_all_or_nothing<B: Backend>(b: B) {
        let s = b.session().await;
        let ops = [
            Op::Create { path: "/m".into(), data: Some(b"1".to_vec()), options: CreateOptions::default() },
            Op::Check { path: "/m".into(), version: 0 },
            Op::SetData { path: "/m".into(), data: Some(b"2".to_vec()), version: Some(0) },
            Op::Create { path: "/m/k".into(), data: Some(vec![]), options: CreateOptions::default() },
        ];
        let results = s.multi(&ops).await.unwrap();
        assert_eq!(results.len(), 4);
        assert!(matches!(&results[0], OpResult::Create(c) if c.path == "/m"));
        assert!(matches!(&results[2], OpResult::SetData(stat) if stat.version == 1));
        let failing =
            [Op::Delete { path: "/m/k".into(), version: None }, Op::Check { path: "/m".into(), version: 7 }];
        match s.multi(&failing).await {
            Err(MultiError::Op { index, error }) => assert_eq!((index, error.code), (1, Code::BadVersion)),
            other => panic!("expected the check to fail, got {other:?}"),
        }
        // Nothing of the failed transaction applied.
        assert!(s.exists("/m/k").await.unwrap().is_some());
        assert_eq!(s.multi(&[]).await.unwrap(), Vec::<OpResult>::new());
        close(s).await;
    }

    pub async fn watches_fire_in_order_before_the_read<B: Backend>(b: B) {
        let s = b.session().await;
        let writer = b.session().await;
        s.create("/w", Some(b"0"), &CreateOptions::default()).await.unwrap();
        let (_, _, data_watch) = s.get_data_watch("/w").await.unwrap();
        let (_, _, child_watch) = s.get_children_watch("/w").await.unwrap();
        let (_, exist_watch) = s.exists_watch("/w/new").await.unwrap();
        writer.set_data("/w", Some(b"1"), None).await.unwrap();
        writer.create("/w/new", Some(b""), &CreateOptions::default()).await.unwrap();
        // The read is sent after the changes: its reply comes after their events.
        let (data, _) = s.get_data("/w").await.unwrap();
        assert_eq!(data.as_deref(), Some(&b"1"[..]));
        use futures::FutureExt as _;
        let data_event = data_watch.now_or_never().expect("data event after the read");
        assert_eq!(data_event, event(EventKind::NodeDataChanged, "/w"));
        assert_eq!(exist_watch.now_or_never(), Some(event(EventKind::NodeCreated, "/w/new")));
        assert_eq!(child_watch.now_or_never(), Some(event(EventKind::NodeChildrenChanged, "/w")));
        close(s).await;
        close(writer).await;
    }

    pub async fn persistent_watches_stream_events<B: Backend>(b: B) {
        let s = b.session().await;
        s.create("/pw", Some(b""), &CreateOptions::default()).await.unwrap();
        let mut recursive = s.add_watch("/pw", WatchMode::PersistentRecursive).await.unwrap();
        s.create("/pw/a", Some(b""), &CreateOptions::default()).await.unwrap();
        s.set_data("/pw/a", Some(b"x"), None).await.unwrap();
        s.delete("/pw/a", None).await.unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(tokio::time::timeout(MUST, recursive.next()).await.expect("no event").expect("ended"));
        }
        assert_eq!(
            seen,
            [
                event(EventKind::NodeCreated, "/pw/a"),
                event(EventKind::NodeDataChanged, "/pw/a"),
                event(EventKind::NodeDeleted, "/pw/a"),
            ]
        );
        close(s).await;
    }

    pub async fn acl_and_digest_auth<B: Backend>(b: B) {
        let s = b.session().await;
        s.add_auth("digest", b"alice:secret").await.unwrap();
        let private = CreateOptions::default().with_acl(Acl::creator_all());
        s.create("/private", Some(b"x"), &private).await.unwrap();
        let (acl, _) = s.get_acl("/private").await.unwrap();
        assert_eq!((acl.len(), acl[0].scheme.as_str(), acl[0].perms), (1, "digest", Perms::ALL));
        assert!(acl[0].id.starts_with("alice:"));
        let stranger = b.session().await;
        assert_eq!(code(stranger.get_data("/private").await), Code::NoAuth);
        let read_only = s.set_acl("/private", &Acl::read_only(), Some(0)).await.unwrap();
        assert_eq!(read_only.aversion, 1);
        assert_eq!(stranger.get_data("/private").await.unwrap().0.as_deref(), Some(&b"x"[..]));
        assert_eq!(code(stranger.set_data("/private", Some(b"y"), None).await), Code::NoAuth);
        close(s).await;
        close(stranger).await;
    }

    pub async fn expiry_deletes_ephemerals_and_ends_the_session<B: Backend>(b: B) {
        let s = b.session().await;
        let other = b.session().await;
        s.create("/gone", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
        b.expire(&s).await;
        assert_eq!(*s.session_state().borrow(), SessionState::Expired);
        assert_eq!(code(s.get_data("/").await), Code::SessionExpired);
        assert_eq!(other.exists("/gone").await.unwrap(), None);
        close(other).await;
    }
}
