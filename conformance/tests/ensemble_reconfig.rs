//! Dynamic reconfiguration with `reconfigEnabled=true` (ZooKeeper 3.5+): a superuser's
//! `reconfig` changes the membership in `/zookeeper/config`, whose `version=` line is the
//! reconfig's zxid; the leader's checks come in its order (a version mismatch, then bad
//! servers, then a new membership without a synced quorum, then the permission); a member that
//! leaves keeps serving without a vote, and the quorum is the remaining participants'. Each
//! case runs on the emulated ensemble (`zczk serve --servers 3 --reconfig`) and on the real
//! ensemble of `RECONFIG=1 .ci/zookeeper-ensemble`, and puts the membership back.

use std::time::Duration;

use zczk_conformance::{on_reconfig_members, Members, SUPERUSER};
use zczk_core::store::{Code, CreateOptions, Store};
use zookeeper_client::{Client, EnsembleUpdate, Error};

const MUST: Duration = Duration::from_secs(30);

on_reconfig_members!(
    reconfig_checks_come_in_the_leaders_order,
    a_superuser_changes_the_membership,
    a_removed_member_serves_without_a_vote,
    removing_the_leader_elects_another,
);

/// A client at the server's root on member `member`; the superuser when `superuser`.
async fn client<M: Members>(m: &M, member: usize, superuser: bool) -> Client {
    let mut connector = Client::connector();
    if superuser {
        connector = connector.with_auth("digest", SUPERUSER.as_bytes());
    }
    let address = m.address(member);
    tokio::time::timeout(MUST, connector.connect(&address))
        .await
        .expect("connecting in time")
        .unwrap_or_else(|e| panic!("connecting to member {member}: {e}"))
}

/// The code a reconfig failed with.
fn code(error: Error) -> Code {
    match error {
        Error::MarshallingError => Code::MarshallingError,
        Error::BadArguments(_) => Code::BadArguments,
        Error::NoAuth => Code::NoAuth,
        Error::BadVersion => Code::BadVersion,
        Error::ConnectionLoss => Code::ConnectionLoss,
        Error::ReconfigDisabled => Code::ReconfigDisabled,
        Error::UnexpectedErrorCode(n) => Code::from_i32(n),
        other => panic!("unexpected error {other:?}"),
    }
}

/// An incremental reconfig: servers joining (`server.N=...`) and leaving (ids).
async fn change(
    client: &Client,
    joining: &[&str],
    leaving: &[&str],
    from: Option<i64>,
) -> Result<Vec<u8>, Code> {
    let update =
        EnsembleUpdate::Incremental { joinings: joining.iter().copied(), leavings: leaving.iter().copied() };
    client.update_ensemble(update, from).await.map(|(data, _)| data).map_err(code)
}

/// A non-incremental reconfig: `lines` are the whole new membership.
async fn replace(client: &Client, lines: &[String]) -> Result<Vec<u8>, Code> {
    let update = EnsembleUpdate::New { ensemble: lines.iter().map(String::as_str) };
    client.update_ensemble(update, None).await.map(|(data, _)| data).map_err(code)
}

/// The `server.` lines (sorted: ZooKeeper writes them in the order of a Java hash map, which
/// the emulator does not copy; it writes them by id) and the version of a config node's data.
fn parse(name: &str, data: &[u8]) -> (Vec<String>, i64) {
    let text = std::str::from_utf8(data).expect("the config is text");
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let version = lines.pop().and_then(|last| last.strip_prefix("version=").map(str::to_string));
    let version = version.and_then(|v| i64::from_str_radix(&v, 16).ok());
    let version = version.unwrap_or_else(|| panic!("{name}: no version line in {text:?}"));
    assert!(lines.iter().all(|l| l.starts_with("server.")), "{name}: {text:?}");
    lines.sort();
    (lines, version)
}

/// The members' mode as `srvr` tells it (`leader`, `follower`), or `None` while not serving.
async fn mode<M: Members>(m: &M, member: usize) -> Option<String> {
    let srvr = m.word(member, "srvr").await;
    srvr.lines().find_map(|l| l.strip_prefix("Mode: ").map(str::to_string))
}

/// Waits until member `member` is in `wanted` mode (`None`: serves no one).
async fn wait_mode<M: Members>(m: &M, member: usize, wanted: Option<&str>) {
    let deadline = tokio::time::Instant::now() + MUST;
    while mode(m, member).await.as_deref() != wanted {
        assert!(tokio::time::Instant::now() < deadline, "{}: member {member} is not {wanted:?}", M::NAME);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for a leader other than `not`; returns it.
async fn leader<M: Members>(m: &M, not: Option<usize>) -> usize {
    let deadline = tokio::time::Instant::now() + MUST;
    loop {
        for member in (1..=3).filter(|n| Some(*n) != not) {
            if mode(m, member).await.as_deref() == Some("leader") {
                return member;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "{}: no leader but {not:?}", M::NAME);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Puts the membership `lines` back, through a superuser on a serving member, and checks it.
async fn put_back<M: Members>(m: &M, lines: &[String]) {
    let member = leader(m, None).await;
    let data = replace(&client(m, member, true).await, lines).await;
    let data = data.unwrap_or_else(|code| panic!("{}: putting the membership back: {code:?}", M::NAME));
    assert_eq!(parse(M::NAME, &data).0, lines, "{}", M::NAME);
}

/// A port no one listens on (held until the case ends, so no one takes it).
fn free_port() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a port");
    let port = listener.local_addr().expect("its address").port();
    (listener, port)
}

/// Requests a client without the superuser identity makes: each fails with the code of the
/// first check it fails, in the leader's order, and the membership stays.
async fn reconfig_checks_come_in_the_leaders_order<M: Members>(m: M) {
    let name = M::NAME;
    let client = client(&m, 1, false).await;
    let (before, stat) = client.get_config().await.unwrap();
    let (lines, version) = parse(name, &before);
    assert_eq!(lines.len(), 3, "{name}: {lines:?}");
    assert!(version >= 0x1_0000_0000, "{name}: version {version:x}");
    assert_eq!(stat.version, -1, "{name}: {stat:?}");

    // A stale version comes first, then the servers, then the quorum, then the permission.
    assert_eq!(
        change(&client, &[], &["1", "2", "3"], Some(version + 1)).await,
        Err(Code::BadVersion),
        "{name}"
    );
    assert_eq!(change(&client, &[], &["1", "2", "3"], None).await, Err(Code::BadArguments), "{name}");
    assert_eq!(change(&client, &[], &["2", "3"], None).await, Err(Code::BadArguments), "{name}: 1 left");
    assert_eq!(change(&client, &["some thing"], &[], None).await, Err(Code::BadArguments), "{name}");
    let no_client_port = "server.9=127.0.0.1:1:2:participant";
    assert_eq!(change(&client, &[no_client_port], &[], None).await, Err(Code::BadArguments), "{name}");
    assert_eq!(change(&client, &[], &["x"], None).await, Err(Code::MarshallingError), "{name}");
    let absent =
        ["server.7=127.0.0.1:1:2:participant".to_string(), "server.8=127.0.0.1:3:4:participant".to_string()];
    assert_eq!(replace(&client, &absent).await, Err(Code::NewConfigNoQuorum), "{name}");
    assert_eq!(change(&client, &[], &["9"], Some(version)).await, Err(Code::NoAuth), "{name}");
    let observer = "server.999=0.0.0.0:1234:2345:observer;3456";
    assert_eq!(change(&client, &[observer], &[], None).await, Err(Code::NoAuth), "{name}");

    assert_eq!(client.get_config().await.unwrap(), (before, stat), "{name}: the membership stayed");
}

/// The superuser's reconfigs: each commits a new version, the reconfig's zxid, with the config
/// node's data version still -1, and fires the node's data watches; an empty request or one
/// that removes a non-member changes only the version; an observer with a client address
/// joins and leaves.
async fn a_superuser_changes_the_membership<M: Members>(m: M) {
    let name = M::NAME;
    let store = m.session().await;
    store.create("/mark", Some(b""), &CreateOptions::default()).await.unwrap();
    let mark = store.exists("/mark").await.unwrap().expect("the mark").mzxid;
    let client = client(&m, 1, true).await;
    let (before, _) = client.get_config().await.unwrap();
    let (lines, start) = parse(name, &before);

    let (_, _, watch) = client.get_and_watch_config().await.unwrap();
    let update = EnsembleUpdate::Incremental { joinings: [].iter().copied(), leavings: [].iter().copied() };
    let (data, stat) = client.update_ensemble(update, None).await.unwrap();
    let (same, version) = parse(name, &data);
    assert_eq!(same, lines, "{name}: an empty reconfig keeps the members");
    assert!(version > mark, "{name}: version {version:x} after the write at {mark:x}");
    assert!(version > start, "{name}: version {version:x} after {start:x}");
    assert_eq!((stat.mzxid, stat.version, stat.czxid), (version, -1, 0), "{name}: {stat:?}");
    assert_eq!(stat.data_length as usize, data.len(), "{name}");
    assert_eq!(client.get_config().await.unwrap(), (data, stat), "{name}: the reply is the node");
    let event = tokio::time::timeout(MUST, watch.changed()).await.expect("the config watch fired");
    assert_eq!(event.event_type, zookeeper_client::EventType::NodeDataChanged, "{name}");

    let data = change(&client, &[], &["9"], Some(version)).await.expect("removing a non-member");
    let (same, next) = parse(name, &data);
    assert_eq!(same, lines, "{name}");
    assert!(next > version, "{name}: {next:x} after {version:x}");

    let ports = [free_port(), free_port(), free_port()];
    let [q, e, c] = [ports[0].1, ports[1].1, ports[2].1];
    let observer = format!("server.100=127.0.0.1:{q}:{e}:observer;127.0.0.1:{c}");
    let data = change(&client, &[&observer], &[], None).await.expect("adding an observer");
    let mut with_observer = lines.clone();
    with_observer.push(observer);
    with_observer.sort();
    assert_eq!(parse(name, &data).0, with_observer, "{name}");
    let data = change(&client, &[], &["100"], None).await.expect("removing the observer");
    assert_eq!(parse(name, &data).0, lines, "{name}");
}

/// A follower leaves the membership: it goes on serving its clients as a follower, its old
/// line (no client address) cannot bring it back, and the quorum is now 2 of the 2 remaining
/// participants, so stopping one of them stops every member serving.
async fn a_removed_member_serves_without_a_vote<M: Members>(m: M) {
    let name = M::NAME;
    let leader = leader(&m, None).await;
    let (removed, other) = (leader % 3 + 1, (leader + 1) % 3 + 1);
    let client = client(&m, leader, true).await;
    let (before, _) = client.get_config().await.unwrap();
    let (lines, _) = parse(name, &before);

    let data = change(&client, &[], &[&removed.to_string()], None).await.expect("removing a follower");
    let old_line = lines.iter().find(|l| l.starts_with(&format!("server.{removed}="))).expect("its line");
    let kept: Vec<String> = lines.iter().filter(|l| *l != old_line).cloned().collect();
    assert_eq!(parse(name, &data).0, kept, "{name}");
    wait_mode(&m, removed, Some("follower")).await;
    let store = m.session_on(removed).await;
    store.create("/through-the-removed-member", Some(b""), &CreateOptions::default()).await.unwrap();
    assert_eq!(change(&client, &[old_line], &[], None).await, Err(Code::BadArguments), "{name}");
    drop(store);

    m.stop(other).await;
    wait_mode(&m, leader, None).await;
    wait_mode(&m, removed, None).await;
    m.start(other).await;
    put_back(&m, &lines).await;
}

/// The superuser removes the leader: the leader commits the membership without itself, then
/// every member goes through an election, so the client's connection is lost (the reply
/// comes first, or is lost with it), another member leads, and the old leader serves as a
/// follower without a vote.
async fn removing_the_leader_elects_another<M: Members>(m: M) {
    let name = M::NAME;
    let old = leader(&m, None).await;
    let client = client(&m, old, true).await;
    let (before, _) = client.get_config().await.unwrap();
    let (lines, _) = parse(name, &before);
    let kept: Vec<String> =
        lines.iter().filter(|l| !l.starts_with(&format!("server.{old}="))).cloned().collect();

    let mut state = client.state_watcher();
    match change(&client, &[], &[&old.to_string()], None).await {
        Ok(data) => assert_eq!(parse(name, &data).0, kept, "{name}"),
        Err(code) => assert_eq!(code, Code::ConnectionLoss, "{name}"),
    }
    let lost = tokio::time::timeout(MUST, state.changed()).await.expect("a state change");
    assert_eq!(lost, zookeeper_client::SessionState::Disconnected, "{name}");
    let new = leader(&m, Some(old)).await;
    let (data, _) = self::client(&m, new, false).await.get_config().await.unwrap();
    assert_eq!(parse(name, &data).0, kept, "{name}");
    wait_mode(&m, old, Some("follower")).await;
    put_back(&m, &lines).await;
}
