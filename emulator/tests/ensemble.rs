//! The emulated ensemble (`zczk_emulator::ensemble`): clients move between members with their
//! sessions when a member stops, is cut off or an election runs; a member without a quorum
//! serves no one, or reads only to read-only clients; the control words do the same from
//! another process.

use std::time::Duration;

use futures::future::join_all;
use zczk_core::store::{Code, CreateMode, CreateOptions, EventKind, SessionState, Store};
use zczk_emulator::ensemble::{Ensemble, EnsembleOptions, Mode};
use zczk_emulator::wire::proto::op;
use zczk_emulator::wire::{Control, ServerOptions};
use zczk_emulator::{Config, Emulator};
use zczk_zookeeper::{ZkConnector, ZkStore};

use crate::wire_support::{create_body, Raw, MUST};

const NOT_READ_ONLY: i32 = -119;

async fn ensemble_with(emulator: Emulator, options: EnsembleOptions) -> Ensemble {
    Ensemble::bind([127, 0, 0, 1], 3, emulator, options).await.unwrap()
}

async fn ensemble() -> Ensemble {
    ensemble_with(Emulator::new(), EnsembleOptions::default()).await
}

async fn client(ensemble: &Ensemble) -> ZkStore {
    ZkConnector::new(ensemble.connection_string())
        .with_session_timeout(Duration::from_secs(10))
        .open()
        .await
        .unwrap()
}

/// The member the session is connected to.
fn member_of(ensemble: &Ensemble, store: &ZkStore) -> usize {
    ensemble.member_of(store.session_id()).expect("the session is connected")
}

/// Waits until the session is connected again, to a member other than `left`; returns it.
async fn moved(ensemble: &Ensemble, store: &ZkStore, left: usize) -> usize {
    let deadline = tokio::time::Instant::now() + MUST;
    loop {
        match ensemble.member_of(store.session_id()) {
            Some(member) if member != left && *store.session_state().borrow() == SessionState::Connected => {
                return member
            }
            _ => {}
        }
        assert!(tokio::time::Instant::now() < deadline, "the session did not move off member {left}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends a word (with its argument line) to `addr`; the whole answer.
async fn word(addr: std::net::SocketAddr, command: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(command.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(MUST, stream.read_to_string(&mut answer)).await.unwrap().unwrap();
    answer
}

fn mode_line(srvr: &str) -> Option<&str> {
    srvr.lines().find_map(|line| line.strip_prefix("Mode: "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_member_stops_moves_with_its_session_ephemerals_and_watches() {
    let ensemble = ensemble().await;
    let (owner, other) = (client(&ensemble).await, client(&ensemble).await);
    let ephemeral = CreateOptions::new(CreateMode::Ephemeral);
    owner.create("/eph", Some(b"x"), &ephemeral).await.unwrap();
    other.create("/data", Some(b"1"), &CreateOptions::default()).await.unwrap();
    let (_, _, changed) = owner.get_data_watch("/data").await.unwrap();
    let session = owner.session_id();

    let left = member_of(&ensemble, &owner);
    ensemble.stop(left).await.unwrap();
    assert_eq!(ensemble.mode(left), Mode::Stopped);
    moved(&ensemble, &owner, left).await;
    assert_eq!(owner.session_id(), session, "the client kept its session");
    let stat = other.exists("/eph").await.unwrap().expect("the ephemeral survived its member");
    assert_eq!(stat.ephemeral_owner, session);
    // The watch set through the stopped member fires through the new one.
    other.set_data("/data", Some(b"2"), None).await.unwrap();
    let event = tokio::time::timeout(MUST, changed).await.expect("the watch fired");
    assert_eq!(event.kind, EventKind::NodeDataChanged);

    // Back, the member serves again (as a follower: the leader stayed, or another was elected).
    ensemble.start(left).await.unwrap();
    assert!(matches!(ensemble.mode(left), Mode::Follower | Mode::Leader));
    assert_eq!(
        ensemble.start(left).await.unwrap_err().to_string(),
        format!("member {left} is running already")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_cut_off_by_its_member_stopping_is_applied_once_or_reported() {
    let ensemble = ensemble().await;
    let store = client(&ensemble).await;
    store.create("/w", Some(b""), &CreateOptions::default()).await.unwrap();
    let left = member_of(&ensemble, &store);
    let sequential = CreateOptions::new(CreateMode::PersistentSequential);
    let data: Vec<Vec<u8>> = (0..50).map(|i| i.to_string().into_bytes()).collect();
    let writes = join_all(data.iter().map(|d| store.create("/w/n-", Some(d), &sequential)));
    let (results, stopped) = tokio::join!(writes, ensemble.stop(left));
    stopped.unwrap();
    moved(&ensemble, &store, left).await;
    let (children, _) = store.get_children("/w").await.unwrap();
    let mut applied = Vec::new();
    for child in &children {
        applied.push(store.get_data(&format!("/w/{child}")).await.unwrap().0.unwrap());
    }
    for (d, result) in data.iter().zip(&results) {
        let times = applied.iter().filter(|a| *a == d).count();
        match result {
            Ok(created) => {
                assert_eq!(times, 1, "{created:?} is acknowledged and must be there once");
                assert_eq!(store.get_data(&created.path).await.unwrap().0.as_ref(), Some(d));
            }
            Err(error) => {
                assert_eq!(error.code, Code::ConnectionLoss, "{error}");
                assert!(times <= 1, "a write reported lost was applied {times} times");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_member_drops_its_clients_and_serves_no_one() {
    let ensemble = ensemble().await;
    let store = client(&ensemble).await;
    let cut = member_of(&ensemble, &store);
    let addr = ensemble.addresses()[cut - 1];
    let (mut raw, _) = Raw::session(&addr.to_string(), 10_000).await;

    ensemble.isolate(cut).unwrap();
    assert_eq!(ensemble.mode(cut), Mode::NotServing);
    // Its clients' connections close (ConnectionLoss for their requests) and they move on.
    assert!(raw.closed().await, "the isolated member kept a connection");
    moved(&ensemble, &store, cut).await;
    store.create("/after", Some(b""), &CreateOptions::default()).await.unwrap();
    // It refuses new clients, and says so to the words.
    let (_, refused) = Raw::tcp(&addr.to_string()).await.handshake(0, &[0; 16], 10_000).await;
    assert_eq!(refused, None, "the isolated member answered a connect request");
    assert_eq!(word(addr, "srvr").await, "This ZooKeeper instance is not currently serving requests\n");
    assert_eq!(word(addr, "isro").await, "null");
    assert_eq!(word(addr, "ruok").await, "imok");

    ensemble.rejoin(cut).unwrap();
    assert!(mode_line(&word(addr, "srvr").await).is_some_and(|m| m == "follower" || m == "leader"));
    let (_, answered) = Raw::tcp(&addr.to_string()).await.handshake(0, &[0; 16], 10_000).await;
    assert!(answered.is_some(), "the member did not serve again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_election_closes_every_connection_and_refuses_clients_for_its_time() {
    let options = EnsembleOptions { election_time: Duration::from_secs(2), ..EnsembleOptions::default() };
    let ensemble = ensemble_with(Emulator::new(), options).await;
    assert_eq!(ensemble.leader(), Some(3));
    let store = client(&ensemble).await;
    let mut state = store.session_state();
    let mut raws = Vec::new();
    for addr in ensemble.addresses() {
        raws.push(Raw::session(&addr.to_string(), 10_000).await.0);
    }

    assert_eq!(ensemble.elect(), Some(2));
    assert_eq!(ensemble.leader(), None, "no leader while electing");
    for raw in &mut raws {
        assert!(raw.closed().await, "a member kept a connection through the election");
    }
    let (_, refused) =
        Raw::tcp(&ensemble.addresses()[0].to_string()).await.handshake(0, &[0; 16], 10_000).await;
    assert_eq!(refused, None, "a member answered during the election");
    // Once elected, the new leader serves, and the client is back in its session.
    let back = async {
        state.wait_for(|s| *s == SessionState::Disconnected).await.unwrap();
        state.wait_for(|s| *s == SessionState::Connected).await.unwrap();
    };
    tokio::time::timeout(MUST, back).await.expect("the client came back after the election");
    assert_eq!(ensemble.leader(), Some(2));
    assert_eq!(mode_line(&word(ensemble.addresses()[1], "srvr").await), Some("leader"));
    store.create("/after", Some(b""), &CreateOptions::default()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_quorum_members_refuse_or_serve_reads_to_read_only_clients() {
    let emulator = Emulator::from_tree_text("/app\n").unwrap();
    let ensemble = ensemble_with(emulator.clone(), EnsembleOptions::default()).await;
    let left = ensemble.addresses()[0].to_string();
    ensemble.stop(2).await.unwrap();
    ensemble.stop(3).await.unwrap();
    assert_eq!(ensemble.mode(1), Mode::NotServing);
    let (_, refused) = Raw::read_only_session(&left, 10_000).await;
    assert_eq!(refused, None, "a member without a quorum answered");
    drop(ensemble);

    // No election time: the quorum back, a leader is there at once.
    let options =
        EnsembleOptions { read_only: true, election_time: Duration::ZERO, ..EnsembleOptions::default() };
    let ensemble = ensemble_with(emulator, options).await;
    let left = ensemble.addresses()[0];
    ensemble.stop(2).await.unwrap();
    ensemble.stop(3).await.unwrap();
    assert_eq!(ensemble.mode(1), Mode::ReadOnly);
    assert_eq!(word(left, "isro").await, "ro");
    assert_eq!(mode_line(&word(left, "srvr").await), Some("read-only"));
    // A client that did not ask for read-only mode is refused.
    let (_, refused) = Raw::tcp(&left.to_string()).await.handshake(0, &[0; 16], 10_000).await;
    assert_eq!(refused, None);
    let (mut raw, answered) = Raw::read_only_session(&left.to_string(), 10_000).await;
    let (_, read_only) = answered.expect("a read-only client is served");
    assert!(read_only, "the connect response has the read-only flag");
    let (reply, _) = raw
        .call(op::EXISTS, |w| {
            w.string("/app").bool(false);
        })
        .await;
    assert_eq!(reply.err, 0, "reads are served");
    let (reply, _) = raw.call(op::CREATE, create_body("/app/x", b"", 0)).await;
    assert_eq!(reply.err, NOT_READ_ONLY);
    // The quorum back, the read-only connection closes and the member serves writes again.
    ensemble.start(2).await.unwrap();
    assert!(raw.closed().await, "the read-only connection stayed open");
    assert_eq!(word(left, "isro").await, "rw");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_left_without_a_member_expires_and_its_ephemerals_go() {
    let config = Config {
        min_session_timeout: Duration::from_millis(300),
        max_session_timeout: Duration::from_millis(600),
        ..Config::default()
    };
    let ensemble = ensemble_with(Emulator::with_config(config), EnsembleOptions::default()).await;
    let (mut raw, connected) = Raw::session(&ensemble.addresses()[0].to_string(), 300).await;
    let (reply, _) = raw.call(op::CREATE, create_body("/eph", b"", 1)).await;
    assert_eq!(reply.err, 0);
    let watcher = ensemble.emulator().session();
    let (_, gone) = watcher.exists_watch("/eph").await.unwrap();
    ensemble.stop(1).await.unwrap();
    // The client does not come back: the ensemble expires its session after its timeout.
    let event = tokio::time::timeout(MUST, gone).await.expect("the ephemeral was deleted");
    assert_eq!(event.kind, EventKind::NodeDeleted);
    let (_, late) = Raw::tcp(&ensemble.addresses()[1].to_string())
        .await
        .handshake(connected.session_id, &connected.password, 300)
        .await;
    assert_eq!(late.map(|c| c.timeout_ms), Some(0), "the session is expired on every member");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_words_stop_start_isolate_and_elect() {
    // No election time: a member serves again as soon as a leader is elected.
    let options = EnsembleOptions { election_time: Duration::ZERO, ..EnsembleOptions::default() };
    let ensemble = ensemble_with(Emulator::new(), options).await;
    let [one, two, three] = [0, 1, 2].map(|i| ensemble.addresses()[i]);
    assert_eq!(word(one, "lead").await, "3\n");
    assert_eq!(mode_line(&word(three, "srvr").await), Some("leader"));
    assert_eq!(mode_line(&word(one, "srvr").await), Some("follower"));
    assert!(word(one, "mntr").await.contains("zk_server_state\tfollower\n"));

    assert_eq!(word(one, "stop 3\n").await, "stopped member 3\n");
    assert!(tokio::net::TcpStream::connect(three).await.is_err(), "a stopped member's port is closed");
    assert_eq!(word(one, "stop 3\n").await, "error: member 3 is stopped already\n");
    assert_eq!(word(one, "lead").await, "2\n");
    assert_eq!(word(one, "boot 3\n").await, "started member 3\n");
    assert_eq!(mode_line(&word(three, "srvr").await), Some("follower"));

    assert_eq!(word(two, "isol 1\n").await, "isolated member 1\n");
    assert_eq!(ensemble.mode(1), Mode::NotServing);
    assert_eq!(word(two, "join 1\n").await, "rejoined member 1\n");
    assert_eq!(ensemble.mode(1), Mode::Follower);

    assert_eq!(word(one, "elec\n").await, "electing: member 3 will lead\n");
    assert_eq!(word(one, "lead\n").await, "3\n");
    // With a time, the election keeps the members from serving that long.
    assert_eq!(word(one, "elec 60000\n").await, "electing: member 2 will lead\n");
    assert_eq!(word(one, "lead\n").await, "none\n");
    assert_eq!(word(one, "srvr").await, "This ZooKeeper instance is not currently serving requests\n");

    assert_eq!(word(one, "stop 4\n").await, "error: no member 4: the members are 1 to 3\n");
    assert_eq!(word(one, "isol x\n").await, "error: isol needs a member number, not \"x\"\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_words_are_refused_where_control_is_off() {
    let server = ServerOptions { control: Control::Disabled, ..ServerOptions::default() };
    let ensemble =
        ensemble_with(Emulator::new(), EnsembleOptions { server, ..EnsembleOptions::default() }).await;
    let answer = word(ensemble.addresses()[0], "stop 2\n").await;
    assert!(answer.starts_with("error: stop is refused"), "{answer}");
    assert_eq!(ensemble.mode(2), Mode::Follower);
}

/// The README's example: the leader stops, and the client carries on in its session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_example_a_client_carries_on_when_the_leader_stops(
) -> Result<(), Box<dyn std::error::Error>> {
    let ensemble = Ensemble::bind([127, 0, 0, 1], 3, Emulator::new(), EnsembleOptions::default()).await?;
    let zk = zczk_zookeeper::connect(&ensemble.connection_string(), Duration::from_secs(10)).await?;
    zk.create("/worker", Some(b"idle"), &CreateOptions::new(CreateMode::Ephemeral)).await?;
    let (_, _, changed) = zk.get_data_watch("/worker").await?;
    let (session, mut state) = (zk.session_id(), zk.session_state());

    ensemble.stop(ensemble.leader().unwrap()).await?; // an election: every client is disconnected
    state.wait_for(|s| *s == SessionState::Disconnected).await?;
    state.wait_for(|s| *s == SessionState::Connected).await?; // on another member, once elected
    zk.set_data("/worker", Some(b"busy"), None).await?;
    assert_eq!(zk.session_id(), session); // in the same session,
    assert_eq!(changed.await.kind, EventKind::NodeDataChanged); // with its watch,
    assert!(zk.exists("/worker").await?.is_some()); // and its ephemeral
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_member_serves_stale_plain_reads_until_a_sync() {
    let ensemble = ensemble().await;
    let [one, two] = [0, 1].map(|i| ensemble.addresses()[i].to_string());
    let writer = ZkConnector::new(&one).open().await.unwrap();
    let reader = ZkConnector::new(&two).open().await.unwrap();
    writer.create("/app", Some(b"1"), &CreateOptions::default()).await.unwrap();
    assert_eq!(word(ensemble.addresses()[0], "lagg 2\n").await, "member 2 lags\n");

    writer.set_data("/app", Some(b"2"), None).await.unwrap();
    writer.create("/app/new", Some(b""), &CreateOptions::default()).await.unwrap();
    // The lagging member still shows the tree as it was.
    assert_eq!(reader.get_data("/app").await.unwrap().0.as_deref(), Some(&b"1"[..]));
    assert_eq!(reader.exists("/app/new").await.unwrap(), None);
    assert!(reader.get_children("/app").await.unwrap().0.is_empty());
    // A read that sets a watch sees the present, so the watch misses no change.
    assert_eq!(reader.get_data_watch("/app").await.unwrap().0.as_deref(), Some(&b"2"[..]));
    // A member up to date serves the write at once.
    assert_eq!(writer.get_data("/app").await.unwrap().0.as_deref(), Some(&b"2"[..]));

    // sync brings the member up to date; it falls behind again from there.
    reader.sync("/app").await.unwrap();
    assert_eq!(reader.get_data("/app").await.unwrap().0.as_deref(), Some(&b"2"[..]));
    assert!(reader.exists("/app/new").await.unwrap().is_some());
    writer.set_data("/app", Some(b"3"), None).await.unwrap();
    assert_eq!(reader.get_data("/app").await.unwrap().0.as_deref(), Some(&b"2"[..]));

    // Back up to date for good.
    assert_eq!(word(ensemble.addresses()[2], "lagg 2 off\n").await, "member 2 is up to date\n");
    assert_eq!(reader.get_data("/app").await.unwrap().0.as_deref(), Some(&b"3"[..]));
    assert_eq!(
        word(ensemble.addresses()[2], "lagg 2 of\n").await,
        "error: lagg takes a member number and maybe off, not \"2 of\"\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_member_keeps_acls() {
    use zczk_core::store::Acl;
    let ensemble = ensemble().await;
    let address = ensemble.addresses()[0].to_string();
    let owner = ZkConnector::new(&address).with_auth("digest", "alice:secret").open().await.unwrap();
    let stranger = ZkConnector::new(&address).open().await.unwrap();
    // Only alice may read (creator_all: the creator's identities).
    owner
        .create("/private", Some(b"x"), &CreateOptions::default().with_acl(Acl::creator_all()))
        .await
        .unwrap();
    ensemble.lag(1, true).unwrap();
    assert_eq!(owner.get_data("/private").await.unwrap().0.as_deref(), Some(&b"x"[..]));
    assert_eq!(stranger.get_data("/private").await.unwrap_err().code, Code::NoAuth);
}
