//! Members of an ensemble come and go: sessions move between members with their ephemerals
//! and watches, and a member cut off from its quorum serves no one. Each case runs on the
//! emulated ensemble and on the real 3-server ensemble of `.ci/zookeeper-ensemble`.

use std::time::Duration;

use zczk_conformance::{on_members, Members};
use zczk_core::store::{CreateMode, CreateOptions, EventKind, SessionState, Store};

const MUST: Duration = Duration::from_secs(30);

on_members!(
    sessions_move_between_members,
    ephemerals_and_watches_survive_a_members_loss,
    a_minority_member_serves_no_one,
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
    assert_eq!(stat.map(|s| s.ephemeral_owner), Some(owner.session_id()), "{}: the ephemeral survived", M::NAME);
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
