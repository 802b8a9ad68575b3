//! Members of an ensemble come and go: sessions move between members with their ephemerals
//! and watches, a member cut off from its quorum serves no one, and a follower behind the
//! leader serves what it has until a `sync`. Each case runs on the emulated ensemble and on
//! the real 3-server ensemble of `.ci/zookeeper-ensemble`. The ensemble's membership is in
//! `/zookeeper/config`, which a reconfig request (disabled, as by default) cannot change.

use std::time::Duration;

use zczk_conformance::{on_members, Members};
use zczk_core::store::{CreateMode, CreateOptions, EventKind, SessionState, Store};

const MUST: Duration = Duration::from_secs(30);

on_members!(
    sessions_move_between_members,
    ephemerals_and_watches_survive_a_members_loss,
    a_minority_member_serves_no_one,
    a_lagging_followers_read_is_stale_until_a_sync,
    the_config_node_lists_the_members,
    reconfig_is_refused_when_disabled,
);

/// The member its client is on stops: the client moves to another member and goes on in the
/// same session.
async fn sessions_move_between_members<M: Members>(m: M) {
    let store = m.session().await;
    let session = store.session_id();
    let left = m.moved(&store, None).await;
    m.stop(left).await;
    let now = m.moved(&store, Some(left)).await;
    assert_ne!(now, left);
    assert_eq!(store.session_id(), session, "{}: the client kept its session", M::NAME);
    store.create("/after", Some(b""), &CreateOptions::default()).await.unwrap();
    m.start(left).await;
}

/// The owner of an ephemeral and of a watch loses its member: once it has moved, the
/// ephemeral is still its own and the watch, set through the lost member, still fires.
async fn ephemerals_and_watches_survive_a_members_loss<M: Members>(m: M) {
    let owner = m.session().await;
    let left = m.moved(&owner, None).await;
    let other = m.session_on(left % 3 + 1).await;
    other.create("/data", Some(b"1"), &CreateOptions::default()).await.unwrap();
    owner.create("/eph", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    let (_, _, changed) = owner.get_data_watch("/data").await.unwrap();

    m.stop(left).await;
    m.moved(&owner, Some(left)).await;
    // The other client's member may have gone through an election too: wait until it is back.
    m.moved(&other, Some(left)).await;
    let stat = other.exists("/eph").await.unwrap();
    assert_eq!(
        stat.map(|s| s.ephemeral_owner),
        Some(owner.session_id()),
        "{}: the ephemeral survived",
        M::NAME
    );
    other.set_data("/data", Some(b"2"), None).await.unwrap();
    let event = tokio::time::timeout(MUST, changed).await.expect("the watch fired");
    assert_eq!(event.kind, EventKind::NodeDataChanged);
    m.start(left).await;
}

/// Two members of three stop: the one left has no quorum; it drops its clients, refuses new
/// ones and says it is not serving, until a second member is back.
async fn a_minority_member_serves_no_one<M: Members>(m: M) {
    let store = m.session_on(1).await;
    let mut state = store.session_state();
    m.stop(2).await;
    m.stop(3).await;
    let seen = tokio::time::timeout(MUST, state.wait_for(|s| *s == SessionState::Disconnected)).await;
    assert!(seen.is_ok(), "{}: the client of the minority member stayed connected", M::NAME);
    // (Requests would wait for a reconnection: zookeeper-client queues them meanwhile.)
    assert_eq!(m.word(1, "srvr").await, "This ZooKeeper instance is not currently serving requests\n");
    assert_eq!(m.word(1, "isro").await, "null");
    drop(store);

    m.start(2).await;
    let back = m.session_on(1).await;
    assert!(back.exists("/").await.unwrap().is_some());
    m.start(3).await;
}

/// A write through member 1, read through member 2 that lags: the read is stale until the
/// reader's `sync`, after which it sees the write. On the real ensemble a lag cannot be forced
/// (a follower applies a write within milliseconds): there the case checks only that `sync`
/// then read sees the write, while the read before may show either value.
async fn a_lagging_followers_read_is_stale_until_a_sync<M: Members>(m: M) {
    let writer = m.session_on(1).await;
    let reader = m.session_on(2).await;
    writer.create("/app", Some(b"1"), &CreateOptions::default()).await.unwrap();
    reader.sync("/app").await.unwrap();
    let lagging = m.lag(2).await;

    writer.set_data("/app", Some(b"2"), None).await.unwrap();
    let before = reader.get_data("/app").await.unwrap().0;
    if lagging {
        assert_eq!(before.as_deref(), Some(&b"1"[..]), "{}: the lagging member showed the write", M::NAME);
    } else {
        assert!(matches!(before.as_deref(), Some(b"1" | b"2")), "{}: {before:?}", M::NAME);
    }
    reader.sync("/app").await.unwrap();
    assert_eq!(reader.get_data("/app").await.unwrap().0.as_deref(), Some(&b"2"[..]), "{}", M::NAME);
}

/// A client at the server's root (no chroot) on member `member`.
async fn root_client<M: Members>(m: &M, member: usize) -> zookeeper_client::Client {
    let address = m.address(member);
    tokio::time::timeout(MUST, zookeeper_client::Client::connect(&address))
        .await
        .expect("connecting in time")
        .expect("connecting")
}

/// Checks that `data` is `server.N=127.0.0.1:QUORUM:ELECTION:participant` for members 1 to 3,
/// each with ports of its own, then `version=0`.
fn assert_members_config(name: &str, data: &[u8]) {
    let text = std::str::from_utf8(data).expect("the config is text");
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines.len(), 4, "{name}: {text:?}");
    let mut ports = Vec::new();
    for (member, line) in (1..=3).zip(&lines) {
        let rest = line
            .strip_prefix(&format!("server.{member}=127.0.0.1:"))
            .unwrap_or_else(|| panic!("{name}: {line:?}"));
        let fields: Vec<&str> = rest.split(':').collect();
        assert_eq!(fields.len(), 3, "{name}: {line:?}");
        assert_eq!(fields[2], "participant", "{name}: {line:?}");
        for port in &fields[..2] {
            ports.push(port.parse::<u16>().unwrap_or_else(|_| panic!("{name}: {line:?}")));
        }
    }
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 6, "{name}: the members' ports differ: {text:?}");
    assert_eq!(lines[3], "version=0", "{name}: {text:?}");
}

/// Every member publishes the membership in `/zookeeper/config`, read-only to clients, as a
/// ZooKeeper member puts it there when it starts (data version -1, zxids 0), and in its `conf`
/// word with its own number and peer ports.
async fn the_config_node_lists_the_members<M: Members>(m: M) {
    let mut configs = Vec::new();
    for member in 1..=3 {
        let client = root_client(&m, member).await;
        let (data, stat) = client.get_config().await.unwrap();
        assert_members_config(M::NAME, &data);
        assert_eq!((stat.version, stat.aversion, stat.czxid, stat.mzxid), (-1, -1, 0, 0), "{}", M::NAME);
        assert_eq!(stat.data_length as usize, data.len(), "{}", M::NAME);
        let (acl, _) = client.get_acl("/zookeeper/config").await.unwrap();
        assert_eq!(acl, zookeeper_client::Acls::anyone_read().to_vec(), "{}", M::NAME);
        let set = client.set_data("/zookeeper/config", b"x", None).await;
        assert_eq!(set.unwrap_err(), zookeeper_client::Error::NoAuth, "{}", M::NAME);
        // `conf` ends with the member's number and peer ports, then the same membership.
        let conf = m.word(member, "conf").await;
        let text = String::from_utf8_lossy(&data);
        assert!(conf.ends_with(&format!("\npeerType=0\nmembership: \n{text}")), "{}: {conf}", M::NAME);
        assert!(conf.contains(&format!("\nserverId={member}\n")), "{}: {conf}", M::NAME);
        let line = text.lines().nth(member - 1).unwrap_or_default().to_string();
        let ports = |key: &str| conf.lines().find_map(|l| l.strip_prefix(key).map(str::to_string));
        let (quorum, election) =
            (ports("quorumPort=").unwrap_or_default(), ports("electionPort=").unwrap_or_default());
        assert!(
            line.ends_with(&format!(":{quorum}:{election}:participant")),
            "{}: {line} in {conf}",
            M::NAME
        );
        configs.push(data);
    }
    assert!(configs.iter().all(|c| *c == configs[0]), "{}: the members agree", M::NAME);
}

/// A reconfig request, incremental or not, is refused with `ReconfigDisabled` (ZooKeeper's
/// `reconfigEnabled=false`, its default) whatever it asks, and the membership stays.
async fn reconfig_is_refused_when_disabled<M: Members>(m: M) {
    use zookeeper_client::EnsembleUpdate;
    let client = root_client(&m, 1).await;
    let (before, _) = client.get_config().await.unwrap();
    let leave = EnsembleUpdate::Incremental { joinings: [].iter().copied(), leavings: ["2"].iter().copied() };
    let refused = client.update_ensemble(leave, None).await;
    assert_eq!(refused.unwrap_err(), zookeeper_client::Error::ReconfigDisabled, "{}", M::NAME);
    let stale = EnsembleUpdate::Incremental { joinings: [].iter().copied(), leavings: ["1"].iter().copied() };
    let refused = client.update_ensemble(stale, Some(12345)).await;
    assert_eq!(refused.unwrap_err(), zookeeper_client::Error::ReconfigDisabled, "{}", M::NAME);
    let new = EnsembleUpdate::New { ensemble: ["server.1=127.0.0.1:1:2:participant"].iter().copied() };
    let refused = client.update_ensemble(new, None).await;
    assert_eq!(refused.unwrap_err(), zookeeper_client::Error::ReconfigDisabled, "{}", M::NAME);
    assert_eq!(client.get_config().await.unwrap().0, before, "{}: the membership stayed", M::NAME);
}
