//! Fault injection: disconnect and reconnect, expiry (by hand and by timeout), failing and
//! delaying requests, refusing connections.

use std::time::Duration;

use futures::{FutureExt as _, StreamExt as _};
use zczk_core::store::{
    Code, Connector, CreateMode, CreateOptions, EventKind, SessionState, Store, WatchEvent, WatchMode,
};
use zczk_emulator::{Emulator, SessionOptions};

fn event(kind: EventKind, path: &str) -> WatchEvent {
    WatchEvent { kind, path: path.to_string() }
}

#[tokio::test]
async fn disconnected_session_fails_requests_and_applies_nothing() {
    let emulator = Emulator::new();
    let s = emulator.session();
    s.faults().disconnect();
    assert!(s.faults().is_disconnected());
    assert_eq!(*s.session_state().borrow(), SessionState::Disconnected);
    let error = s.create("/a", Some(b""), &CreateOptions::default()).await.unwrap_err();
    assert_eq!((error.code, error.path.as_str()), (Code::ConnectionLoss, "/a"));
    s.faults().reconnect();
    assert_eq!(*s.session_state().borrow(), SessionState::Connected);
    assert_eq!(s.exists("/a").await.unwrap(), None);
    s.create("/a", Some(b""), &CreateOptions::default()).await.unwrap();
}

#[tokio::test]
async fn watches_wait_while_disconnected_and_fire_on_reconnect() {
    let emulator = Emulator::new();
    let s = emulator.session();
    let other = emulator.session();
    other.create("/w", Some(b""), &CreateOptions::default()).await.unwrap();
    let (_, _, data) = s.get_data_watch("/w").await.unwrap();
    let (_, created) = s.exists_watch("/later").await.unwrap();
    let (_, _, untouched) = s.get_data_watch("/w").await.unwrap();
    let mut data = data.boxed();
    let mut created = created.boxed();
    s.faults().disconnect();
    other.set_data("/w", Some(b"1"), None).await.unwrap();
    other.create("/later", Some(b""), &CreateOptions::default()).await.unwrap();
    // Unlike upstream's mock, nothing reaches a disconnected client.
    assert!((&mut data).now_or_never().is_none());
    assert!((&mut created).now_or_never().is_none());
    s.faults().reconnect();
    assert_eq!(data.now_or_never(), Some(event(EventKind::NodeDataChanged, "/w")));
    assert_eq!(created.now_or_never(), Some(event(EventKind::NodeCreated, "/later")));
    // Both data watches on /w were for the same change; each fires once.
    assert_eq!(untouched.now_or_never(), Some(event(EventKind::NodeDataChanged, "/w")));
}

#[tokio::test]
async fn watches_on_unchanged_nodes_stay_armed_across_a_reconnect() {
    let emulator = Emulator::new();
    let s = emulator.session();
    s.create("/calm", Some(b""), &CreateOptions::default()).await.unwrap();
    let (_, _, watch) = s.get_data_watch("/calm").await.unwrap();
    let mut watch = watch.boxed();
    s.faults().disconnect();
    s.faults().reconnect();
    assert!((&mut watch).now_or_never().is_none());
    s.set_data("/calm", Some(b"1"), None).await.unwrap();
    assert_eq!(watch.now_or_never(), Some(event(EventKind::NodeDataChanged, "/calm")));
}

#[tokio::test(start_paused = true)]
async fn disconnected_session_expires_after_its_timeout() {
    let emulator = Emulator::new();
    let options = SessionOptions { timeout: Duration::from_secs(5), ..SessionOptions::default() };
    let s = emulator.session_with(&options);
    let other = emulator.session();
    s.create("/eph", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    let (_, gone) = other.exists_watch("/eph").await.unwrap();
    s.faults().disconnect();
    tokio::time::sleep(Duration::from_secs(4)).await;
    // Reconnecting in time keeps the session.
    s.faults().reconnect();
    assert!(other.exists("/eph").await.unwrap().is_some());
    s.faults().disconnect();
    let mut state = s.session_state();
    tokio::time::timeout(Duration::from_secs(6), state.wait_for(|st| *st == SessionState::Expired))
        .await
        .expect("the session did not expire")
        .unwrap();
    assert_eq!(gone.await, event(EventKind::NodeDeleted, "/eph"));
    assert_eq!(s.get_data("/").await.unwrap_err().code, Code::SessionExpired);
    // A reconnect after expiry does not revive it.
    s.faults().reconnect();
    assert_eq!(*s.session_state().borrow(), SessionState::Expired);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_session_keeps_its_ephemerals_until_its_timeout() {
    let emulator = Emulator::new();
    let s = emulator
        .session_with(&SessionOptions { timeout: Duration::from_secs(4), ..SessionOptions::default() });
    let other = emulator.session();
    s.create("/eph", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    drop(s);
    assert!(other.exists("/eph").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(4100)).await;
    assert_eq!(other.exists("/eph").await.unwrap(), None);
    assert_eq!(emulator.session_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_session_expired_on_the_client_keeps_its_ephemerals_until_the_server_ends_it() {
    let emulator = Emulator::new();
    let s = emulator
        .session_with(&SessionOptions { timeout: Duration::from_secs(4), ..SessionOptions::default() });
    let other = emulator.session();
    s.create("/eph", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    let (_, own) = s.exists_watch("/later").await.unwrap();
    let (_, gone) = other.exists_watch("/eph").await.unwrap();
    s.faults().expire_on_client();
    assert_eq!(*s.session_state().borrow(), SessionState::Expired);
    assert_eq!(own.await, event(EventKind::SessionEnded(SessionState::Expired), "/later"));
    assert_eq!(s.get_data("/").await.unwrap_err().code, Code::SessionExpired);
    let stat = other.exists("/eph").await.unwrap().expect("the server still holds the session");
    assert_eq!(stat.ephemeral_owner, s.session_id());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(other.exists("/eph").await.unwrap().is_some());
    // No client keeps it alive: the server expires it when its timeout passes.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(gone.await, event(EventKind::NodeDeleted, "/eph"));
    assert_eq!(*s.session_state().borrow(), SessionState::Expired);
}

#[tokio::test]
async fn expire_deletes_the_ephemerals_of_a_session_expired_on_the_client() {
    let emulator = Emulator::new();
    let s = emulator.session();
    let other = emulator.session();
    s.create("/eph", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    let (_, gone) = other.exists_watch("/eph").await.unwrap();
    s.faults().expire_on_client();
    assert!(other.exists("/eph").await.unwrap().is_some());
    s.faults().expire();
    assert_eq!(gone.await, event(EventKind::NodeDeleted, "/eph"));
}

#[tokio::test]
async fn expire_deletes_ephemerals_and_ends_persistent_watches() {
    let emulator = Emulator::new();
    let s = emulator.session();
    s.create("/e", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    let mut stream = s.add_watch("/", WatchMode::PersistentRecursive).await.unwrap();
    s.faults().expire();
    let ended = stream.next().await;
    assert_eq!(ended.map(|e| e.kind), Some(EventKind::SessionEnded(SessionState::Expired)));
    assert_eq!(stream.next().await, None);
    assert_eq!(emulator.session().exists("/e").await.unwrap(), None);
    assert_eq!(emulator.watch_count_for(s.id()), 0);
}

#[tokio::test]
async fn fail_next_fails_that_many_requests_without_applying_them() {
    let emulator = Emulator::new();
    let s = emulator.session();
    s.faults().fail_next(2, Code::ConnectionLoss);
    let first = s.create("/a", Some(b""), &CreateOptions::default()).await.unwrap_err();
    assert_eq!(first.code, Code::ConnectionLoss);
    assert_eq!(s.get_data("/").await.unwrap_err().code, Code::ConnectionLoss);
    s.create("/b", Some(b""), &CreateOptions::default()).await.unwrap();
    assert_eq!(s.exists("/a").await.unwrap(), None);
    // A multi fails as a whole request.
    s.faults().fail_next(1, Code::OperationTimeout);
    let ops = [zczk_core::store::Op::Check { path: "/b".into(), version: 0 }];
    let error = s.multi(&ops).await.unwrap_err();
    assert!(
        matches!(error, zczk_core::store::MultiError::Request(ref e) if e.code == Code::OperationTimeout)
    );
    s.faults().fail_next(5, Code::ConnectionLoss);
    s.faults().clear();
    s.get_data("/b").await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn delay_next_holds_replies_but_applies_in_call_order() {
    let emulator = Emulator::new();
    let s = emulator.session();
    let other = emulator.session();
    s.faults().delay_next(1, Duration::from_secs(3));
    let open = CreateOptions::default();
    let slow = s.create("/slow", Some(b""), &open);
    // Already applied: the other session sees it before the reply arrives.
    assert!(other.exists("/slow").await.unwrap().is_some());
    let start = tokio::time::Instant::now();
    slow.await.unwrap();
    assert!(start.elapsed() >= Duration::from_secs(3));
    let start = tokio::time::Instant::now();
    s.get_data("/slow").await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(1));
}

#[tokio::test]
async fn refused_connections_fail_with_connection_loss_naming_the_address() {
    let emulator = Emulator::new();
    let connector = emulator.connector();
    emulator.refuse_connections(true);
    let error = connector.connect().await.unwrap_err();
    assert_eq!((error.code, error.path.as_str()), (Code::ConnectionLoss, "mem:"));
    emulator.refuse_connections(false);
    let s = connector.connect().await.unwrap();
    assert_eq!(*s.session_state().borrow(), SessionState::Connected);
}

#[tokio::test]
async fn connector_adds_its_identities_to_every_session() {
    let emulator = Emulator::new();
    let connector = emulator.connector().with_auth("digest", "u:p");
    let s = connector.connect().await.unwrap();
    s.create("/mine", Some(b""), &CreateOptions::default().with_acl(zczk_core::store::Acl::creator_all()))
        .await
        .unwrap();
    let again = connector.connect().await.unwrap();
    assert_ne!(s.session_id(), again.session_id());
    again.get_data("/mine").await.unwrap();
    assert_eq!(emulator.session().get_data("/mine").await.unwrap_err().code, Code::NoAuth);
}

#[tokio::test]
async fn unknown_auth_scheme_fails_the_session() {
    let emulator = Emulator::new();
    let s = emulator.session();
    let (_, _, watch) = s.get_data_watch("/").await.unwrap();
    assert_eq!(s.add_auth("nope", b"x").await.unwrap_err().code, Code::AuthFailed);
    assert_eq!(*s.session_state().borrow(), SessionState::AuthFailed);
    assert_eq!(watch.await.kind, EventKind::SessionEnded(SessionState::AuthFailed));
    assert_eq!(s.get_data("/").await.unwrap_err().code, Code::AuthFailed);
}

#[tokio::test]
async fn many_sessions_from_many_tasks() {
    let emulator = Emulator::new();
    emulator.session().create("/n", Some(b""), &CreateOptions::default()).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let emulator = emulator.clone();
            tokio::spawn(async move {
                let s = emulator.session();
                let seq = CreateOptions::new(CreateMode::PersistentSequential);
                for _ in 0..100 {
                    s.create(&format!("/n/t{t}-"), Some(b""), &seq).await.unwrap();
                }
                s.close().await.unwrap();
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let (children, stat) = emulator.session().get_children("/n").await.unwrap();
    assert_eq!((children.len(), stat.cversion), (1600, 1600));
    // Every sequence number was given out once.
    let mut numbers: Vec<u32> = children.iter().map(|c| c[c.len() - 10..].parse().unwrap()).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..1600).collect::<Vec<_>>());
}

#[tokio::test]
async fn multi_read_is_one_request_for_faults_and_answers_each_op_on_its_own() {
    use zczk_core::store::{ReadOp, ReadResult};
    let emulator = Emulator::new();
    let s = emulator.session();
    s.create("/a", Some(b"x"), &CreateOptions::default()).await.unwrap();
    let ops =
        [ReadOp::GetData("/a".into()), ReadOp::GetChildren("/nope".into()), ReadOp::GetData("bad".into())];
    // One injected failure fails the whole request, once.
    s.faults().fail_next(1, Code::ConnectionLoss);
    assert_eq!(s.multi_read(&ops).await.unwrap_err().code, Code::ConnectionLoss);
    let results = s.multi_read(&ops).await.unwrap();
    assert!(matches!(&results[0], Ok(ReadResult::Data(Some(data), _)) if data == b"x"));
    assert_eq!(results[1].as_ref().unwrap_err().code, Code::NoNode);
    assert_eq!(results[2].as_ref().unwrap_err().code, Code::BadArguments);
    s.faults().disconnect();
    assert_eq!(s.multi_read(&ops).await.unwrap_err().code, Code::ConnectionLoss);
}
