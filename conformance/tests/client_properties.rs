//! Live properties views (spec section 6) through the high-level client, on every backend.

use std::sync::Arc;

use crate::client_support::{client, eventually, json, map, put, set};
use futures::StreamExt;
use parking_lot::Mutex;
use serde_json::{json, Value};
use zczk_conformance::{on_every_backend, Backend};
use zczk_core::client::{ClientError, Flow, PropertiesSnapshot, ViewEvent};
use zczk_core::props::MAX_VALUE_DEPTH;
use zczk_core::store::{Acl, Code, Store};

on_every_backend!(
    a_view_is_a_map_of_the_nodes_properties,
    property_links_are_followed,
    a_chain_of_property_links_across_three_nodes,
    a_property_link_loop_is_a_link_loop,
    bad_property_links_name_the_link_and_cause,
    iteration_strips_the_arrow_and_counts_each_key_once,
    writes_go_to_the_resolved_path_with_compare_and_set,
    a_bad_property_link_in_new_data_is_refused,
    set_if_version_refuses_a_concurrent_change,
    written_values_read_back_exactly_and_deeper_ones_are_refused,
    links_between_new_properties_are_checked_against_the_new_data,
    concurrent_updaters_lose_no_update,
    callbacks_are_called_at_once_and_on_each_change,
    callbacks_are_called_when_a_linked_node_changes,
    callbacks_are_called_when_a_linked_node_changes_but_the_value_does_not,
    re_pointing_a_node_link_on_a_property_links_way_is_seen,
    a_callback_can_cancel_itself,
    a_failing_callback_is_removed,
    a_failing_first_call_does_not_register,
    a_deleted_node_is_followed_through_a_new_link,
    a_deleted_node_without_a_link_is_a_deleted_view,
    a_view_is_a_stream_of_snapshots,
    a_view_without_watch_refuses_callbacks_but_writes,
    dropping_the_last_handle_stops_the_view,
);

type Seen = Arc<Mutex<Vec<ViewEvent<PropertiesSnapshot>>>>;

/// A callback that records every event, and what it records.
fn recorder(
) -> (Seen, impl FnMut(&ViewEvent<PropertiesSnapshot>) -> Result<Flow, zczk_core::client::CallbackError>) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    (seen, move |event: &ViewEvent<PropertiesSnapshot>| {
        record.lock().push(event.clone());
        Ok(Flow::Continue)
    })
}

/// The value of `key` in each `Changed` event recorded.
fn values(seen: &Seen, key: &str) -> Vec<Value> {
    seen.lock()
        .iter()
        .filter_map(|e| match e {
            ViewEvent::Changed(s) => Some(s.get(key).ok().flatten().unwrap_or(Value::Null)),
            ViewEvent::Deleted => None,
        })
        .collect()
}

async fn a_view_is_a_map_of_the_nodes_properties<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/src", json!({"b": 2})).await;
    put(&*store, "/n", json!({"a": 1, "x ->": "/src", "b =>": "/src", "s": "text"})).await;
    let view = zk.properties("/n", true).await.unwrap();
    assert_eq!(view.path(), "/n");
    assert_eq!(view.get("a").unwrap(), Some(json!(1)));
    assert_eq!(view.get("s").unwrap(), Some(json!("text")));
    assert_eq!(view.get("x ->").unwrap(), Some(json!("/src")), "raw node link keys are keys");
    assert_eq!(view.get("b =>").unwrap(), Some(json!("/src")), "raw property link keys are keys");
    assert_eq!(view.get("b").unwrap(), Some(json!(2)));
    assert_eq!(view.get("nope").unwrap(), None);
    let snapshot = view.snapshot();
    assert!(snapshot.contains_key("b") && !snapshot.contains_key("nope"));
    assert_eq!(snapshot.followed(), map(json!({"a": 1, "x ->": "/src", "b": 2, "s": "text"})));
    // Reached through a node link, the view is of the real node.
    put(&*store, "/alias", json!({"l ->": "/n"})).await;
    let through = zk.properties("/alias/l", true).await.unwrap();
    assert_eq!(through.path(), "/n");
    assert_eq!(through.get("b").unwrap(), Some(json!(2)));
    assert!(
        matches!(zk.properties("/alias/none", true).await, Err(ClientError::NoNode { path }) if path == "/alias/none")
    );
}

async fn property_links_are_followed<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/app", json!({"port": 80, "other": "o"})).await;
    put(
        &*store,
        "/app/view",
        json!({
            "port =>": "..",
            "renamed =>": "/app other",
            "via =>": "/links/app port",
            "self =>": ". local",
            "local": "here",
        }),
    )
    .await;
    put(&*store, "/links", json!({"app ->": "/app"})).await;
    let view = zk.properties("/app/view", false).await.unwrap();
    assert_eq!(view.get("port").unwrap(), Some(json!(80)), "relative target, default name");
    assert_eq!(view.get("renamed").unwrap(), Some(json!("o")), "explicit property name");
    assert_eq!(view.get("via").unwrap(), Some(json!(80)), "target through a node link");
    assert_eq!(view.get("self").unwrap(), Some(json!("here")), "a link to the node itself");
}

async fn a_chain_of_property_links_across_three_nodes<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n3", json!({"w": 42})).await;
    put(&*store, "/n2", json!({"v =>": "/n3 w"})).await;
    put(&*store, "/n1", json!({"v =>": "/n2"})).await;
    let view = zk.properties("/n1", true).await.unwrap();
    assert_eq!(view.get("v").unwrap(), Some(json!(42)));
    // The view watches the end of the chain too.
    set(&*store, "/n3", json!({"w": 43})).await;
    eventually("the change at the end of the chain", || view.get("v").ok().flatten() == Some(json!(43)))
        .await;
}

async fn a_property_link_loop_is_a_link_loop<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/a", json!({"x =>": "/b"})).await;
    put(&*store, "/b", json!({"x =>": "/a"})).await;
    put(&*store, "/c", json!({"y =>": ". y"})).await;
    let view = zk.properties("/a", false).await.unwrap();
    match view.get("x") {
        Err(ClientError::LinkLoop { chain }) => assert_eq!(chain, ["/a x", "/b x", "/a x"]),
        other => panic!("expected a loop, got {other:?}"),
    }
    let own = zk.properties("/c", false).await.unwrap();
    assert!(matches!(own.get("y"), Err(ClientError::LinkLoop { .. })));
}

async fn bad_property_links_name_the_link_and_cause<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/src", json!({"a": 1})).await;
    put(&*store, "/n", json!({"gone =>": "/missing", "none =>": "/src", "bad =>": "/src a b", "num =>": 3}))
        .await;
    let view = zk.properties("/n", false).await.unwrap();
    for (name, link, cause) in [
        ("gone", "gone => /missing", "no such node"),
        ("none", "none => /src", "no property"),
        ("bad", "bad => /src a b", "expected a path"),
        ("num", "num => ", "expected a path"),
    ] {
        match view.get(name) {
            Err(ClientError::BadPropertyLink { path, link: l, reason }) => {
                assert_eq!(path, "/n");
                assert_eq!(l, link);
                assert!(reason.contains(cause), "{name}: {reason}");
            }
            other => panic!("{name}: expected a bad link, got {other:?}"),
        }
    }
}

async fn iteration_strips_the_arrow_and_counts_each_key_once<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/src", json!({"x": "linked", "y": 2})).await;
    put(&*store, "/n", json!({"x": "direct", "x =>": "/src", "y =>": "/src", "z": 3})).await;
    let view = zk.properties("/n", false).await.unwrap();
    let snapshot = view.snapshot();
    assert_eq!(snapshot.keys(), ["x", "y", "z"]);
    assert_eq!(snapshot.len(), 3);
    let items: Vec<(String, Value)> = snapshot.iter().map(|(k, v)| (k, v.unwrap())).collect();
    assert_eq!(
        items,
        [("x".to_string(), json!("direct")), ("y".to_string(), json!(2)), ("z".to_string(), json!(3))]
    );
}

async fn writes_go_to_the_resolved_path_with_compare_and_set<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/real", json!({"a": 1, "b": 2})).await;
    put(&*store, "/alias", json!({"l ->": "/real"})).await;
    let view = zk.properties("/alias/l", true).await.unwrap();
    let version = |stat: Option<zczk_core::store::Stat>| stat.unwrap().version;
    let v0 = version(store.exists("/real").await.unwrap());
    view.update(map(json!({"c": 3}))).await.unwrap();
    assert_eq!(json(&*store, "/real").await, json!({"a": 1, "b": 2, "c": 3}));
    view.remove(&["a"]).await.unwrap();
    assert_eq!(json(&*store, "/real").await, json!({"b": 2, "c": 3}));
    view.set(map(json!({"only": true}))).await.unwrap();
    assert_eq!(json(&*store, "/real").await, json!({"only": true}));
    assert_eq!(version(store.exists("/real").await.unwrap()), v0 + 3, "one write each");
    assert_eq!(json(&*store, "/alias").await, json!({"l ->": "/real"}), "the link's node is untouched");
    assert!(store.exists("/alias/l").await.unwrap().is_none());
    eventually("the view to see its own writes", || view.get("only").ok().flatten() == Some(json!(true)))
        .await;
    // A change made by someone else between the view's read and its write is kept.
    set(&*store, "/real", json!({"only": true, "theirs": 1})).await;
    view.update(map(json!({"mine": 2}))).await.unwrap();
    assert_eq!(json(&*store, "/real").await, json!({"only": true, "theirs": 1, "mine": 2}));
}

async fn set_if_version_refuses_a_concurrent_change<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/real", json!({"a": 1})).await;
    put(&*store, "/alias", json!({"l ->": "/real"})).await;
    let view = zk.properties("/alias/l", false).await.unwrap();
    let read = view.snapshot().version;
    view.set_if_version(map(json!({"a": 2})), read).await.unwrap();
    assert_eq!(json(&*store, "/real").await, json!({"a": 2}), "written to the resolved path");
    // Someone else writes: an edit made on the old version is refused, and theirs is kept.
    set(&*store, "/real", json!({"theirs": 1})).await;
    let refused = view.set_if_version(map(json!({"mine": 1})), read + 1).await;
    assert!(matches!(&refused, Err(e) if e.code() == Some(Code::BadVersion)), "{refused:?}");
    assert_eq!(json(&*store, "/real").await, json!({"theirs": 1}));
    let refused = view.set_if_version(map(json!({"x =>": "/missing"})), read + 2).await;
    assert!(matches!(refused, Err(ClientError::BadPropertyLink { .. })), "{refused:?}");
    assert_eq!(json(&*store, "/real").await, json!({"theirs": 1}));
}

async fn written_values_read_back_exactly_and_deeper_ones_are_refused<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n", json!({"a": 1})).await;
    let view = zk.properties("/n", false).await.unwrap();
    let deepest = (0..MAX_VALUE_DEPTH).fold(json!(1), |inner, _| json!([inner]));
    // A float that serde_json, unless told to round-trip floats, reads back one bit off.
    let float = -2.6904824113900647e-147;
    view.update(map(json!({"deep": deepest, "f": float}))).await.unwrap();
    assert_eq!(zk.get_properties("/n").await.unwrap(), map(json!({"a": 1, "deep": deepest, "f": float})));
    // A lone `string_value` that raw data would not give back.
    for text in ["", "{\"b\": 2}"] {
        view.set(map(json!({ "string_value": text }))).await.unwrap();
        assert_eq!(zk.get_properties("/n").await.unwrap(), map(json!({ "string_value": text })));
    }
    // One level deeper would read back as a string: refused, and nothing changes.
    let before = store.get_data("/n").await.unwrap();
    let refused = view.update(map(json!({ "x": [deepest] }))).await;
    assert!(matches!(&refused, Err(ClientError::BadProperties { path, .. }) if path == "/n"), "{refused:?}");
    let refused = zk.create_recursive("/m", &map(json!({ "x": [deepest] })), &Acl::open()).await;
    assert!(matches!(&refused, Err(ClientError::BadProperties { path, .. }) if path == "/m"), "{refused:?}");
    assert_eq!(store.get_data("/n").await.unwrap(), before);
    assert_eq!(store.exists("/m").await.unwrap(), None);
}

async fn a_bad_property_link_in_new_data_is_refused<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n", json!({"a": 1})).await;
    let view = zk.properties("/n", true).await.unwrap();
    let before = store.get_data("/n").await.unwrap();
    let refused = view.update(map(json!({"b": 2, "x =>": "/missing"}))).await;
    assert!(matches!(refused, Err(ClientError::BadPropertyLink { .. })), "{refused:?}");
    let refused = view.set(map(json!({"x =>": "/n nothing"}))).await;
    assert!(matches!(refused, Err(ClientError::BadPropertyLink { .. })), "{refused:?}");
    assert_eq!(store.get_data("/n").await.unwrap(), before, "nothing changed");
    // Data with a bad link written by someone else is accepted (and shown as bad).
    set(&*store, "/n", json!({"a": 1, "y =>": "/missing"})).await;
    eventually("the view to take the data", || view.get("y").is_err()).await;
    assert_eq!(view.get("a").unwrap(), Some(json!(1)));
    // ... and does not block unrelated updates.
    view.update(map(json!({"c": 3}))).await.unwrap();
    assert_eq!(json(&*store, "/n").await["c"], 3);
}

async fn links_between_new_properties_are_checked_against_the_new_data<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n", json!({})).await;
    let view = zk.properties("/n", false).await.unwrap();
    view.set(map(json!({"b": 1, "a =>": ". b"}))).await.unwrap();
    assert_eq!(json(&*store, "/n").await, json!({"b": 1, "a =>": ". b"}));
    assert_eq!(view.get("a").unwrap(), Some(json!(1)), "a view without watch shows its own writes");
}

async fn concurrent_updaters_lose_no_update<B: Backend>(backend: B) {
    const TASKS: usize = 8;
    const UPDATES: usize = 500;
    let sessions = [client(&backend).await, client(&backend).await];
    put(&*sessions[0].store(), "/counter", json!({"n": 0})).await;
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let view = sessions[t % 2].properties("/counter", true).await.unwrap();
        tasks.push(tokio::spawn(async move {
            for _ in 0..UPDATES {
                // Each update re-reads the node, so `n` is read inside the retry loop.
                let done = view.update_with(|p| {
                    let n = p.get("n").and_then(Value::as_i64).unwrap_or(0);
                    p.insert("n".into(), json!(n + 1));
                });
                done.await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(json(&*sessions[1].store(), "/counter").await, json!({"n": TASKS * UPDATES}));
}

async fn callbacks_are_called_at_once_and_on_each_change<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n", json!({"v": 0})).await;
    let view = zk.properties("/n", true).await.unwrap();
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    assert_eq!(values(&seen, "v"), [json!(0)], "called at once");
    for v in 1..=3 {
        set(&*store, "/n", json!({"v": v})).await;
        eventually("the change", || values(&seen, "v").last() == Some(&json!(v))).await;
    }
    assert_eq!(values(&seen, "v"), [json!(0), json!(1), json!(2), json!(3)]);
    assert_eq!(view.callback_count(), 1);
}

async fn callbacks_are_called_when_a_linked_node_changes<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/src", json!({"p": "one"})).await;
    put(&*store, "/alias", json!({"s ->": "/src"})).await;
    put(&*store, "/n", json!({"p =>": "/alias/s"})).await;
    let view = zk.properties("/n", true).await.unwrap();
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    set(&*store, "/src", json!({"p": "two"})).await;
    eventually("the linked change", || values(&seen, "p").last() == Some(&json!("two"))).await;
    // Pointing the link elsewhere stops watching the old node and watches the new one.
    put(&*store, "/src2", json!({"p": "three"})).await;
    set(&*store, "/n", json!({"p =>": "/src2"})).await;
    eventually("the re-pointed link", || values(&seen, "p").last() == Some(&json!("three"))).await;
    set(&*store, "/src2", json!({"p": "four"})).await;
    eventually("the new target's change", || values(&seen, "p").last() == Some(&json!("four"))).await;
}

async fn callbacks_are_called_when_a_linked_node_changes_but_the_value_does_not<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/a", json!({})).await;
    put(&*store, "/a/c", json!({"x": 1})).await;
    put(&*store, "/a/b", json!({"x =>": "../c"})).await;
    let view = zk.properties("/a/b", true).await.unwrap();
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    // Another property of the linked node changes: the followed value stays 1, but the
    // linked node changed, so the callbacks hear of it (as upstream's do).
    set(&*store, "/a/c", json!({"x": 1, "y": 1})).await;
    eventually("a call for the linked node's change", || seen.lock().len() == 2).await;
    assert_eq!(values(&seen, "x"), [json!(1), json!(1)]);
    // So does writing the same data again: each change is a new version.
    set(&*store, "/a/c", json!({"x": 1, "y": 1})).await;
    eventually("a call for the rewrite", || seen.lock().len() == 3).await;
}

async fn a_callback_can_cancel_itself<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n", json!({"v": 0})).await;
    let view = zk.properties("/n", true).await.unwrap();
    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    view.on_change(move |_| {
        *counted.lock() += 1;
        Ok(if *counted.lock() == 2 { Flow::Cancel } else { Flow::Continue })
    })
    .unwrap();
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    for v in 1..=3 {
        set(&*store, "/n", json!({"v": v})).await;
        eventually("the change", || values(&seen, "v").last() == Some(&json!(v))).await;
    }
    assert_eq!(*calls.lock(), 2, "called at once and for the first change, then cancelled");
    assert_eq!(view.callback_count(), 1);
}

async fn a_failing_callback_is_removed<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n", json!({"v": 0})).await;
    let view = zk.properties("/n", true).await.unwrap();
    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    view.on_change(move |_| {
        *counted.lock() += 1;
        if *counted.lock() > 1 {
            return Err("broken".into());
        }
        Ok(Flow::Continue)
    })
    .unwrap();
    view.on_change(|_| Ok(Flow::Continue)).unwrap();
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    assert_eq!(view.callback_count(), 3);
    set(&*store, "/n", json!({"v": 1})).await;
    eventually("the change", || values(&seen, "v").last() == Some(&json!(1))).await;
    set(&*store, "/n", json!({"v": 2})).await;
    eventually("the change", || values(&seen, "v").last() == Some(&json!(2))).await;
    assert_eq!(*calls.lock(), 2, "not called after failing");
    assert_eq!(view.callback_count(), 2);
}

async fn a_failing_first_call_does_not_register<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    put(&*zk.store(), "/n", json!({})).await;
    let view = zk.properties("/n", true).await.unwrap();
    assert!(view.on_change(|_| Err("no".into())).is_err());
    assert!(view.on_change(|_| panic!("a panicking callback")).is_err());
    assert_eq!(view.callback_count(), 0);
}

async fn a_deleted_node_is_followed_through_a_new_link<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/svc", json!({})).await;
    put(&*store, "/svc/node", json!({"where": "old"})).await;
    let view = zk.properties("/svc/node", true).await.unwrap();
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    // The node moves: its new place, then a link from the old name, then the old node goes.
    put(&*store, "/moved", json!({"where": "new"})).await;
    set(&*store, "/svc", json!({"node ->": "/moved"})).await;
    store.delete("/svc/node", None).await.unwrap();
    eventually("the view to follow the link", || view.path() == "/moved").await;
    assert_eq!(view.get("where").unwrap(), Some(json!("new")));
    assert_eq!(values(&seen, "where").last(), Some(&json!("new")));
    assert!(!seen.lock().contains(&ViewEvent::Deleted));
    // It watches the new node now.
    set(&*store, "/moved", json!({"where": "newer"})).await;
    eventually("the change at the new place", || view.get("where").ok().flatten() == Some(json!("newer")))
        .await;
}

async fn a_deleted_node_without_a_link_is_a_deleted_view<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n", json!({"a": 1})).await;
    let view = zk.properties("/n", true).await.unwrap();
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    store.delete("/n", None).await.unwrap();
    eventually("the deleted event", || seen.lock().last() == Some(&ViewEvent::Deleted)).await;
    assert!(view.is_deleted());
    assert!(view.snapshot().properties.is_empty());
    assert_eq!(view.get("a").unwrap(), None);
    // A callback registered now is told at once.
    let (late, callback) = recorder();
    view.on_change(callback).unwrap();
    assert_eq!(*late.lock(), [ViewEvent::Deleted]);
}

async fn a_view_is_a_stream_of_snapshots<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n", json!({"v": 0})).await;
    let view = zk.properties("/n", true).await.unwrap();
    let mut stream = Box::pin(view.stream());
    macro_rules! next {
        () => {
            tokio::time::timeout(crate::client_support::PATIENCE, stream.next())
                .await
                .expect("a snapshot in time")
        };
    }
    let first: Option<Arc<PropertiesSnapshot>> = next!();
    assert_eq!(first.unwrap().get("v").unwrap(), Some(json!(0)));
    set(&*store, "/n", json!({"v": 1})).await;
    assert_eq!(next!().unwrap().get("v").unwrap(), Some(json!(1)));
    store.delete("/n", None).await.unwrap();
    assert!(next!().unwrap().deleted);
    assert!(next!().is_none(), "the stream ends after the deletion");
    // A stream also ends when its view is dropped.
    put(&*store, "/m", json!({})).await;
    let view = zk.properties("/m", true).await.unwrap();
    stream = Box::pin(view.stream());
    assert!(next!().is_some());
    drop(view);
    assert!(next!().is_none(), "the stream ends with its view");
}

async fn a_view_without_watch_refuses_callbacks_but_writes<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n", json!({"v": 0})).await;
    let view = zk.properties("/n", false).await.unwrap();
    assert!(view.on_change(|_| Ok(Flow::Continue)).is_err());
    // A watched view of the same node on the same client: once it has the change, the change
    // has reached the client, and the snapshot would have had it too.
    let watched = zk.properties("/n", true).await.unwrap();
    set(&*store, "/n", json!({"v": 1})).await;
    eventually("the watched view to see the change", || watched.get("v").unwrap() == Some(json!(1))).await;
    assert_eq!(view.get("v").unwrap(), Some(json!(0)), "a snapshot does not change by itself");
    view.update(map(json!({"w": 2}))).await.unwrap();
    assert_eq!(json(&*store, "/n").await, json!({"v": 1, "w": 2}));
}

async fn dropping_the_last_handle_stops_the_view<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n", json!({"v": 0, "l =>": "/src"})).await;
    put(&*store, "/src", json!({"l": 1})).await;
    let view = zk.properties("/n", true).await.unwrap();
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    let clone = view.clone();
    drop(view);
    set(&*store, "/n", json!({"v": 1, "l =>": "/src"})).await;
    eventually("the clone to live on", || values(&seen, "v").last() == Some(&json!(1))).await;
    drop(clone);
    // No call after the last handle is gone: the view lets its callbacks go (so none can be
    // called again), rather than a wait to see that later changes call none.
    eventually("the callbacks to be dropped with the view", || Arc::strong_count(&seen) == 1).await;
    assert_eq!(values(&seen, "v").last(), Some(&json!(1)));
}

zczk_conformance::real_server_tests!(dropping_the_last_handle_leaves_no_watch_on_the_server);

/// On the real server: a view's watches (its node's and its linked nodes') are on the server
/// while it lives and gone once its last handle is dropped.
async fn dropping_the_last_handle_leaves_no_watch_on_the_server(server: String) {
    let test = "client_properties::dropping_the_last_handle_leaves_no_watch_on_the_server";
    let backend = zczk_conformance::RealZooKeeper::for_test(test).await;
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/src", json!({"l": 1})).await;
    put(&*store, "/n", json!({"l =>": "/src"})).await;
    let session = store.session_id();
    let watched = || async {
        let all = zczk_zookeeper::testing::server_watches(&server).await.expect("the server's watches");
        let mut mine: Vec<String> =
            all.into_iter().filter(|w| w.session_id == session).map(|w| w.path).collect();
        mine.sort();
        mine
    };
    let view = zk.properties("/n", true).await.unwrap();
    let children = zk.children("/n").await.unwrap();
    let deadline = tokio::time::Instant::now() + crate::client_support::PATIENCE;
    loop {
        let now = watched().await;
        if now.len() == 2 && now[0].ends_with("/n") && now[1].ends_with("/src") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the view's watches never showed: {now:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(view);
    drop(children);
    let deadline = tokio::time::Instant::now() + crate::client_support::PATIENCE;
    loop {
        let now = watched().await;
        if now.is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "watches left after the views were dropped: {now:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// On the emulator: a view's watches are counted by the server while it lives and gone once
/// its last handle is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_leaves_no_watch_on_the_emulator() {
    let backend = zczk_conformance::EmulatorBackend::new();
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/src", json!({"l": 1})).await;
    put(&*store, "/n", json!({"l =>": "/src"})).await;
    let emulator = backend.emulator().clone();
    let session = store.session_id();
    assert_eq!(emulator.watch_count_for(session), 0);
    let view = zk.properties("/n", true).await.unwrap();
    let children = zk.children("/n").await.unwrap();
    eventually("the views' watches", || emulator.watch_count_for(session) == 3).await;
    drop(view);
    eventually("the properties view's watches to go", || emulator.watch_count_for(session) == 1).await;
    drop(children);
    eventually("the children view's watch to go", || emulator.watch_count_for(session) == 0).await;
}

/// A slow callback delays only its own view: another view of the same node, on the same
/// session, gets the change while the slow callback is still running.
async fn a_slow_callback_delays_only_its_own_view<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n", json!({"v": 0})).await;
    let slow = zk.properties("/n", true).await.unwrap();
    let fast = zk.properties("/n", true).await.unwrap();
    let (slow_seen, mut slow_record) = recorder();
    slow.on_change(move |e| {
        let result = slow_record(e);
        if matches!(e, ViewEvent::Changed(s) if s.get("v").ok().flatten() == Some(json!(1))) {
            // A callback that blocks its thread, as careless callbacks do.
            std::thread::sleep(std::time::Duration::from_secs(3));
        }
        result
    })
    .unwrap();
    let (fast_seen, callback) = recorder();
    fast.on_change(callback).unwrap();
    set(&*store, "/n", json!({"v": 1})).await;
    eventually("the slow view's call", || values(&slow_seen, "v").last() == Some(&json!(1))).await;
    set(&*store, "/n", json!({"v": 2})).await;
    let started = tokio::time::Instant::now();
    eventually("the fast view", || values(&fast_seen, "v").last() == Some(&json!(2))).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "the fast view waited for the slow one");
    assert_eq!(values(&slow_seen, "v").last(), Some(&json!(1)), "the slow view is still in its callback");
    eventually("the slow view to catch up", || values(&slow_seen, "v").last() == Some(&json!(2))).await;
}

on_every_backend!(a_slow_callback_delays_only_its_own_view);

async fn re_pointing_a_node_link_on_a_property_links_way_is_seen<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/src", json!({"p": "one"})).await;
    put(&*store, "/src2", json!({"p": "two"})).await;
    put(&*store, "/alias", json!({"s ->": "/src"})).await;
    put(&*store, "/n", json!({"p =>": "/alias/s", "q =>": "/alias/none p"})).await;
    let view = zk.properties("/n", true).await.unwrap();
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    assert!(view.get("q").is_err());
    set(&*store, "/alias", json!({"s ->": "/src2", "none ->": "/src"})).await;
    eventually("the re-pointed node link", || values(&seen, "p").last() == Some(&json!("two"))).await;
    eventually("the mended link", || view.get("q").ok().flatten() == Some(json!("one"))).await;
}
