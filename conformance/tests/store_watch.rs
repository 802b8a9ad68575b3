//! Watches: one-shot data/exists/child watches, their ordering guarantee, and persistent and
//! persistent-recursive watches, on both backends.

use std::time::Duration;

use futures::{FutureExt as _, StreamExt as _};
use zczk_conformance::{close, everywhere, on_every_backend, Backend};
use zczk_core::store::{
    CreateOptions, EventKind, OneshotWatch, PersistentWatch, Store, WatchEvent, WatchMode,
};

/// How long a test waits for an event that must come (generous: it only matters on failure).
const MUST: Duration = Duration::from_secs(5);

fn event(kind: EventKind, path: &str) -> WatchEvent {
    WatchEvent { kind, path: path.to_string() }
}

async fn fired(watch: OneshotWatch) -> WatchEvent {
    tokio::time::timeout(MUST, watch).await.expect("the watch did not fire")
}

async fn next(stream: &mut PersistentWatch) -> WatchEvent {
    tokio::time::timeout(MUST, stream.next()).await.expect("no event came").expect("the watch ended")
}

/// Asserts that `stream`'s next event is `marker`, the event of a change made after the ones
/// the test expected: the events of a session come in change order, so no other event is
/// coming before it.
async fn next_is_the_marker(stream: &mut PersistentWatch, marker: WatchEvent) {
    assert_eq!(next(stream).await, marker, "an event came before the marker");
}

everywhere!(
    data_watch_fires_once_on_change,
    data_watch_fires_on_delete,
    exists_watch_on_a_missing_node_fires_on_create,
    exists_watch_on_a_node_fires_on_data_change_and_delete,
    child_watch_fires_on_child_create_and_delete_only,
    watch_event_comes_before_the_read_that_sees_the_change,
    the_writers_own_watch_fires_before_its_write_returns,
    watches_of_one_session_fire_in_change_order,
    every_kind_of_watch_on_a_deleted_node_fires_once,
    events_of_one_multi_arrive_in_op_order,
    persistent_watch_sees_its_node_and_its_children_list,
    persistent_recursive_watch_sees_the_whole_subtree,
    a_oneshot_watch_fires_on_reconnection_for_a_change_it_missed,
    persistent_watches_are_armed_again_after_a_reconnection,
);

// On single servers only.
on_every_backend!(the_last_persistent_mode_on_a_path_decides_what_is_heard);

async fn data_watch_fires_once_on_change<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/d", Some(b"0"), &CreateOptions::default()).await.unwrap();
    let (data, _, watch) = s.get_data_watch("/d").await.unwrap();
    assert_eq!(data.as_deref(), Some(&b"0"[..]));
    let mut watch = watch.boxed();
    assert!((&mut watch).now_or_never().is_none(), "fired before any change");
    s.set_data("/d", Some(b"1"), None).await.unwrap();
    assert_eq!(fired(OneshotWatch::new(watch)).await, event(EventKind::NodeDataChanged, "/d"));
    // One-shot: a new watch is needed for the next change, and a child does not fire it.
    let (_, _, again) = s.get_data_watch("/d").await.unwrap();
    s.create("/d/kid", Some(b""), &CreateOptions::default()).await.unwrap();
    s.set_data("/d", Some(b"2"), None).await.unwrap();
    assert_eq!(fired(again).await, event(EventKind::NodeDataChanged, "/d"));
    close(s).await;
}

async fn data_watch_fires_on_delete<B: Backend>(b: B) {
    let s = b.session().await;
    let other = b.session().await;
    s.create("/gone", Some(b""), &CreateOptions::default()).await.unwrap();
    let (_, _, watch) = s.get_data_watch("/gone").await.unwrap();
    other.delete("/gone", None).await.unwrap();
    assert_eq!(fired(watch).await, event(EventKind::NodeDeleted, "/gone"));
    close(s).await;
    close(other).await;
}

async fn exists_watch_on_a_missing_node_fires_on_create<B: Backend>(b: B) {
    let s = b.session().await;
    let (stat, watch) = s.exists_watch("/later").await.unwrap();
    assert_eq!(stat, None);
    let other = b.session().await;
    other.create("/later", Some(b""), &CreateOptions::default()).await.unwrap();
    assert_eq!(fired(watch).await, event(EventKind::NodeCreated, "/later"));
    close(s).await;
    close(other).await;
}

async fn exists_watch_on_a_node_fires_on_data_change_and_delete<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/x", Some(b""), &CreateOptions::default()).await.unwrap();
    let (stat, watch) = s.exists_watch("/x").await.unwrap();
    assert!(stat.is_some());
    s.set_data("/x", Some(b"1"), None).await.unwrap();
    assert_eq!(fired(watch).await, event(EventKind::NodeDataChanged, "/x"));
    let (_, watch) = s.exists_watch("/x").await.unwrap();
    s.delete("/x", None).await.unwrap();
    assert_eq!(fired(watch).await, event(EventKind::NodeDeleted, "/x"));
    close(s).await;
}

async fn child_watch_fires_on_child_create_and_delete_only<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/c", Some(b""), &CreateOptions::default()).await.unwrap();
    s.create("/c/a", Some(b""), &CreateOptions::default()).await.unwrap();
    let (children, _, watch) = s.get_children_watch("/c").await.unwrap();
    assert_eq!(children, vec!["a".to_string()]);
    let mut watch = watch.boxed();
    // Data changes of the node or of a child are not child changes.
    s.set_data("/c", Some(b"1"), None).await.unwrap();
    s.set_data("/c/a", Some(b"1"), None).await.unwrap();
    s.sync("/c").await.unwrap();
    assert!((&mut watch).now_or_never().is_none(), "fired on a data change");
    s.create("/c/b", Some(b""), &CreateOptions::default()).await.unwrap();
    assert_eq!(fired(OneshotWatch::new(watch)).await, event(EventKind::NodeChildrenChanged, "/c"));
    let (_, _, watch) = s.get_children_watch("/c").await.unwrap();
    s.delete("/c/a", None).await.unwrap();
    assert_eq!(fired(watch).await, event(EventKind::NodeChildrenChanged, "/c"));
    // The watched node's own deletion fires a child watch with NodeDeleted.
    s.delete("/c/b", None).await.unwrap();
    let (_, _, watch) = s.get_children_watch("/c").await.unwrap();
    s.delete("/c", None).await.unwrap();
    assert_eq!(fired(watch).await, event(EventKind::NodeDeleted, "/c"));
    close(s).await;
}

async fn watch_event_comes_before_the_read_that_sees_the_change<B: Backend>(b: B) {
    let reader = b.session().await;
    let writer = b.session().await;
    reader.create("/o", Some(b"old"), &CreateOptions::default()).await.unwrap();
    for round in 0..20 {
        let (_, _, watch) = reader.get_data_watch("/o").await.unwrap();
        let new = format!("new{round}");
        writer.set_data("/o", Some(new.as_bytes()), None).await.unwrap();
        // Once this session reads the new data, the event is already here.
        loop {
            let (data, _) = reader.get_data("/o").await.unwrap();
            if data.as_deref() == Some(new.as_bytes()) {
                break;
            }
        }
        let seen = watch.now_or_never();
        assert_eq!(seen, Some(event(EventKind::NodeDataChanged, "/o")), "round {round}");
    }
    close(reader).await;
    close(writer).await;
}

async fn the_writers_own_watch_fires_before_its_write_returns<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/own", Some(b""), &CreateOptions::default()).await.unwrap();
    for round in 0..20 {
        let (_, _, data) = s.get_data_watch("/own").await.unwrap();
        let (_, _, children) = s.get_children_watch("/own").await.unwrap();
        s.set_data("/own", Some(format!("{round}").as_bytes()), None).await.unwrap();
        assert_eq!(data.now_or_never(), Some(event(EventKind::NodeDataChanged, "/own")), "round {round}");
        s.create(&format!("/own/c{round}"), Some(b""), &CreateOptions::default()).await.unwrap();
        assert_eq!(
            children.now_or_never(),
            Some(event(EventKind::NodeChildrenChanged, "/own")),
            "round {round}"
        );
    }
    close(s).await;
}

async fn watches_of_one_session_fire_in_change_order<B: Backend>(b: B) {
    let s = b.session().await;
    let other = b.session().await;
    s.create("/r", Some(b""), &CreateOptions::default()).await.unwrap();
    let mut stream = s.add_watch("/r", WatchMode::PersistentRecursive).await.unwrap();
    let writes: Vec<_> = (0..10).map(|i| format!("/r/n{i}")).collect();
    let open = CreateOptions::default();
    let replies: Vec<_> = writes.iter().map(|p| other.create(p, Some(b""), &open)).collect();
    for reply in futures::future::join_all(replies).await {
        reply.unwrap();
    }
    for path in &writes {
        assert_eq!(next(&mut stream).await, event(EventKind::NodeCreated, path));
    }
    close(s).await;
    close(other).await;
}

async fn every_kind_of_watch_on_a_deleted_node_fires_once<B: Backend>(b: B) {
    let s = b.session().await;
    let other = b.session().await;
    s.create("/all", Some(b""), &CreateOptions::default()).await.unwrap();
    let (_, _, data) = s.get_data_watch("/all").await.unwrap();
    let (_, exists) = s.exists_watch("/all").await.unwrap();
    let (_, _, children) = s.get_children_watch("/all").await.unwrap();
    let (_, _, other_data) = other.get_data_watch("/all").await.unwrap();
    other.delete("/all", None).await.unwrap();
    for watch in [data, exists, children, other_data] {
        assert_eq!(fired(watch).await, event(EventKind::NodeDeleted, "/all"));
    }
    close(s).await;
    close(other).await;
}

async fn events_of_one_multi_arrive_in_op_order<B: Backend>(b: B) {
    use zczk_core::store::Op;
    let s = b.session().await;
    s.create("/mt", Some(b""), &CreateOptions::default()).await.unwrap();
    let mut stream = s.add_watch("/mt", WatchMode::PersistentRecursive).await.unwrap();
    let create =
        |path: &str| Op::Create { path: path.into(), data: Some(vec![]), options: CreateOptions::default() };
    let ops = vec![
        create("/mt/a"),
        create("/mt/b"),
        Op::SetData { path: "/mt/a".into(), data: Some(b"1".to_vec()), version: None },
        Op::Delete { path: "/mt/b".into(), version: None },
    ];
    s.multi(&ops).await.unwrap();
    for want in [
        event(EventKind::NodeCreated, "/mt/a"),
        event(EventKind::NodeCreated, "/mt/b"),
        event(EventKind::NodeDataChanged, "/mt/a"),
        event(EventKind::NodeDeleted, "/mt/b"),
    ] {
        assert_eq!(next(&mut stream).await, want);
    }
    s.set_data("/mt", Some(b"marker"), None).await.unwrap();
    next_is_the_marker(&mut stream, event(EventKind::NodeDataChanged, "/mt")).await;
    close(s).await;
}

async fn persistent_watch_sees_its_node_and_its_children_list<B: Backend>(b: B) {
    let s = b.session().await;
    let other = b.session().await;
    let mut stream = s.add_watch("/p", WatchMode::Persistent).await.unwrap();
    other.create("/p", Some(b""), &CreateOptions::default()).await.unwrap();
    assert_eq!(next(&mut stream).await, event(EventKind::NodeCreated, "/p"));
    other.set_data("/p", Some(b"1"), None).await.unwrap();
    assert_eq!(next(&mut stream).await, event(EventKind::NodeDataChanged, "/p"));
    other.create("/p/kid", Some(b""), &CreateOptions::default()).await.unwrap();
    assert_eq!(next(&mut stream).await, event(EventKind::NodeChildrenChanged, "/p"));
    // Not recursive: a child's data is not watched.
    other.set_data("/p/kid", Some(b"1"), None).await.unwrap();
    other.delete("/p/kid", None).await.unwrap();
    assert_eq!(next(&mut stream).await, event(EventKind::NodeChildrenChanged, "/p"));
    other.delete("/p", None).await.unwrap();
    assert_eq!(next(&mut stream).await, event(EventKind::NodeDeleted, "/p"));
    // Still armed after the node is gone.
    other.create("/p", Some(b""), &CreateOptions::default()).await.unwrap();
    assert_eq!(next(&mut stream).await, event(EventKind::NodeCreated, "/p"));
    other.set_data("/p", Some(b"marker"), None).await.unwrap();
    next_is_the_marker(&mut stream, event(EventKind::NodeDataChanged, "/p")).await;
    close(s).await;
    close(other).await;
}

async fn persistent_recursive_watch_sees_the_whole_subtree<B: Backend>(b: B) {
    let s = b.session().await;
    let other = b.session().await;
    let mut stream = s.add_watch("/t", WatchMode::PersistentRecursive).await.unwrap();
    let open = CreateOptions::default();
    other.create("/t", Some(b""), &open).await.unwrap();
    other.create("/t/a", Some(b""), &open).await.unwrap();
    other.create("/t/a/b", Some(b""), &open).await.unwrap();
    other.set_data("/t/a/b", Some(b"1"), None).await.unwrap();
    other.delete("/t/a/b", None).await.unwrap();
    // A sibling of the watched node is outside.
    other.create("/t2", Some(b""), &open).await.unwrap();
    other.set_data("/t", Some(b"1"), None).await.unwrap();
    let expected = [
        event(EventKind::NodeCreated, "/t"),
        event(EventKind::NodeCreated, "/t/a"),
        event(EventKind::NodeCreated, "/t/a/b"),
        event(EventKind::NodeDataChanged, "/t/a/b"),
        event(EventKind::NodeDeleted, "/t/a/b"),
        event(EventKind::NodeDataChanged, "/t"),
    ];
    for want in expected {
        assert_eq!(next(&mut stream).await, want);
    }
    // No NodeChildrenChanged events on a recursive watch.
    other.set_data("/t/a", Some(b"marker"), None).await.unwrap();
    next_is_the_marker(&mut stream, event(EventKind::NodeDataChanged, "/t/a")).await;
    close(s).await;
    close(other).await;
}

async fn a_oneshot_watch_fires_on_reconnection_for_a_change_it_missed<B: Backend>(b: B) {
    let s = b.session().await;
    let other = b.session().await;
    other.create("/d", Some(b"0"), &CreateOptions::default()).await.unwrap();
    let (_, _, changed) = s.get_data_watch("/d").await.unwrap();
    let (_, _, children) = s.get_children_watch("/d").await.unwrap();
    b.disconnect(&s).await;
    other.set_data("/d", Some(b"1"), None).await.unwrap();
    b.reconnect(&s).await;
    // The watch is set again with the last zxid the client saw, so the server fires it for
    // the change it missed; the children did not change, so that watch stays armed.
    assert_eq!(fired(changed).await, event(EventKind::NodeDataChanged, "/d"));
    // A marker change, heard after anything the reconnection fired, shows it did not fire.
    let (_, marker) = s.exists_watch("/marker").await.unwrap();
    other.create("/marker", Some(b""), &CreateOptions::default()).await.unwrap();
    assert_eq!(fired(marker).await, event(EventKind::NodeCreated, "/marker"));
    let mut children = children.boxed();
    assert!((&mut children).now_or_never().is_none(), "the child watch fired");
    other.create("/d/c", Some(b""), &CreateOptions::default()).await.unwrap();
    assert_eq!(fired(OneshotWatch::new(children)).await, event(EventKind::NodeChildrenChanged, "/d"));
    close(s).await;
}

async fn persistent_watches_are_armed_again_after_a_reconnection<B: Backend>(b: B) {
    let s = b.session().await;
    let other = b.session().await;
    other.create("/w", Some(b"0"), &CreateOptions::default()).await.unwrap();
    other.create("/t", Some(b""), &CreateOptions::default()).await.unwrap();
    // Different paths: ZooKeeper 3.8 keeps one watch mode per path for a session.
    let mut node = s.add_watch("/w", WatchMode::Persistent).await.unwrap();
    let mut tree = s.add_watch("/t", WatchMode::PersistentRecursive).await.unwrap();
    b.disconnect(&s).await;
    other.set_data("/w", Some(b"1"), None).await.unwrap();
    other.create("/t/missed", Some(b""), &CreateOptions::default()).await.unwrap();
    b.reconnect(&s).await;
    // A persistent watch does not replay what it missed: it says it is back, once.
    assert_eq!(next(&mut node).await, event(EventKind::Reconnected, "/w"));
    assert_eq!(next(&mut tree).await, event(EventKind::Reconnected, "/t"));
    // And it is armed on the server again. The first change of each is one no replay of the
    // missed ones could be, so it also shows that none came.
    other.create("/w/c", Some(b""), &CreateOptions::default()).await.unwrap();
    other.set_data("/w", Some(b"2"), None).await.unwrap();
    other.create("/t/missed/c", Some(b""), &CreateOptions::default()).await.unwrap();
    next_is_the_marker(&mut node, event(EventKind::NodeChildrenChanged, "/w")).await;
    assert_eq!(next(&mut node).await, event(EventKind::NodeDataChanged, "/w"));
    next_is_the_marker(&mut tree, event(EventKind::NodeCreated, "/t/missed/c")).await;
    close(s).await;
}

/// ZooKeeper 3.8 keeps one persistent mode per path and session, the last one added; the
/// client hands what that mode lets through to each of its watches on the path that wants it.
/// So after a persistent and then a recursive watch on one path, no children event comes (the
/// recursive mode has none), and the earlier watch hears only the node's own data change.
async fn the_last_persistent_mode_on_a_path_decides_what_is_heard<B: Backend>(b: B) {
    let s = b.session().await;
    let other = b.session().await;
    other.create("/m", Some(b""), &CreateOptions::default()).await.unwrap();
    let mut first = s.add_watch("/m", WatchMode::Persistent).await.unwrap();
    let mut second = s.add_watch("/m", WatchMode::PersistentRecursive).await.unwrap();
    other.set_data("/m", Some(b"1"), None).await.unwrap();
    other.create("/m/c", Some(b""), &CreateOptions::default()).await.unwrap();
    other.set_data("/m/c", Some(b"1"), None).await.unwrap();
    other.delete("/m/c", None).await.unwrap();
    assert_eq!(next(&mut second).await, event(EventKind::NodeDataChanged, "/m"));
    assert_eq!(next(&mut second).await, event(EventKind::NodeCreated, "/m/c"));
    assert_eq!(next(&mut second).await, event(EventKind::NodeDataChanged, "/m/c"));
    assert_eq!(next(&mut second).await, event(EventKind::NodeDeleted, "/m/c"));
    // The first watch heard only the data changes of /m: the next one after the first is the
    // one made last (events of a session come in change order).
    assert_eq!(next(&mut first).await, event(EventKind::NodeDataChanged, "/m"));
    other.set_data("/m", Some(b"2"), None).await.unwrap();
    assert_eq!(next(&mut first).await, event(EventKind::NodeDataChanged, "/m"));
    assert_eq!(next(&mut second).await, event(EventKind::NodeDataChanged, "/m"));
    close(s).await;
    close(other).await;
}
