//! `walk`, `is_ephemeral` and `create_recursive` (spec section 7) through the high-level
//! client, on every backend.

use crate::client_support::{client, json, map, put, put_ephemeral};
use serde_json::json;
use zczk_conformance::{on_every_backend, Backend};
use zczk_core::client::{ClientError, WalkOptions};
use zczk_core::store::{Acl, Perms, Store};

on_every_backend!(
    walk_is_pre_order_with_children_sorted,
    walk_without_ephemerals_skips_them_everywhere,
    walk_items_carry_their_children_and_the_caller_prunes,
    nodes_deleted_during_a_walk_are_skipped,
    a_sibling_deleted_while_the_walk_is_below_an_earlier_one_is_skipped,
    walking_a_missing_path_yields_nothing,
    is_ephemeral_tells_ephemeral_nodes,
    create_recursive_makes_the_missing_ancestors,
    create_recursive_sets_an_existing_node,
    concurrent_create_recursive_both_succeed,
);

/// Makes `/t` with `b/y`, `b/x`, `a`, `c` below it (created out of order).
async fn tree<S: Store + ?Sized>(store: &S) {
    for path in ["/t", "/t/c", "/t/b", "/t/b/y", "/t/b/x", "/t/a"] {
        put(store, path, json!({})).await;
    }
}

async fn walk_is_pre_order_with_children_sorted<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    tree(&*zk.store()).await;
    let paths = zk.walk("/t", WalkOptions::default()).unwrap().paths().await.unwrap();
    assert_eq!(paths, ["/t", "/t/a", "/t/b", "/t/b/x", "/t/b/y", "/t/c"]);
    let all = zk.walk("/", WalkOptions::default()).unwrap().paths().await.unwrap();
    assert_eq!(all[0], "/");
    let t = all.iter().position(|p| p == "/t").expect("/t in the walk of /");
    assert_eq!(all[t..t + 6], paths, "the subtree comes whole, in order");
    // Without a chroot (the emulator) the server's own /zookeeper is walked too, after /t.
    if let Some(z) = all.iter().position(|p| p == "/zookeeper") {
        assert!(z > t + 5);
    }
    if B::NAME == "emulator" {
        assert!(all.contains(&"/zookeeper".to_string()), "/zookeeper is walked: {all:?}");
    }
}

async fn walk_without_ephemerals_skips_them_everywhere<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    tree(&*store).await;
    put_ephemeral(&*store, "/t/b/eph", json!({})).await;
    put_ephemeral(&*store, "/t/eph", json!({})).await;
    let with = zk.walk("/t", WalkOptions::default()).unwrap().paths().await.unwrap();
    assert_eq!(with, ["/t", "/t/a", "/t/b", "/t/b/eph", "/t/b/x", "/t/b/y", "/t/c", "/t/eph"]);
    let without = zk.walk("/t", WalkOptions { ephemeral: false }).unwrap().paths().await.unwrap();
    assert_eq!(without, ["/t", "/t/a", "/t/b", "/t/b/x", "/t/b/y", "/t/c"]);
    let from_ephemeral = zk.walk("/t/eph", WalkOptions { ephemeral: false }).unwrap().paths().await.unwrap();
    assert!(from_ephemeral.is_empty());
}

async fn walk_items_carry_their_children_and_the_caller_prunes<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    tree(&*zk.store()).await;
    let mut walk = zk.walk("/t", WalkOptions::default()).unwrap();
    let first = walk.next().await.unwrap().unwrap();
    assert_eq!(first.path, "/t");
    assert_eq!(first.children, ["a", "b", "c"]);
    walk.prune("b");
    let mut rest = Vec::new();
    while let Some(item) = walk.next().await {
        let item = item.unwrap();
        rest.push((item.path, item.children));
    }
    assert_eq!(rest, [("/t/a".to_string(), vec![]), ("/t/c".to_string(), vec![])]);
}

async fn nodes_deleted_during_a_walk_are_skipped<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    tree(&*store).await;
    let mut walk = zk.walk("/t", WalkOptions::default()).unwrap();
    assert_eq!(walk.next().await.unwrap().unwrap().path, "/t");
    store.delete("/t/a", None).await.unwrap();
    store.delete("/t/b/x", None).await.unwrap();
    let mut rest = Vec::new();
    while let Some(item) = walk.next().await {
        rest.push(item.unwrap().path);
    }
    assert_eq!(rest, ["/t/b", "/t/b/y", "/t/c"]);
}

async fn a_sibling_deleted_while_the_walk_is_below_an_earlier_one_is_skipped<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    tree(&*store).await;
    let mut walk = zk.walk("/t", WalkOptions::default()).unwrap();
    assert_eq!(walk.next().await.unwrap().unwrap().path, "/t");
    // Visiting /t/a asks for its siblings too; /t/b and /t/c are still there then.
    assert_eq!(walk.next().await.unwrap().unwrap().path, "/t/a");
    assert_eq!(walk.next().await.unwrap().unwrap().path, "/t/b");
    assert_eq!(walk.next().await.unwrap().unwrap().path, "/t/b/x");
    // Deleted (on the walk's own session, so after those requests) while below /t/b.
    zk.delete("/t/c", None).await.unwrap();
    let mut rest = Vec::new();
    while let Some(item) = walk.next().await {
        rest.push(item.unwrap().path);
    }
    assert_eq!(rest, ["/t/b/y"], "/t/c was deleted before the walk came back up to it");
}

async fn walking_a_missing_path_yields_nothing<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    assert!(zk.walk("/missing", WalkOptions::default()).unwrap().paths().await.unwrap().is_empty());
    assert!(zk.walk("bad", WalkOptions::default()).is_err());
}

async fn is_ephemeral_tells_ephemeral_nodes<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/p", json!({})).await;
    put_ephemeral(&*store, "/p/e", json!({})).await;
    assert!(!zk.is_ephemeral("/p").await.unwrap());
    assert!(zk.is_ephemeral("/p/e").await.unwrap());
    assert!(
        matches!(zk.is_ephemeral("/p/none").await, Err(ClientError::NoNode { path }) if path == "/p/none")
    );
}

async fn create_recursive_makes_the_missing_ancestors<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/have", json!({"keep": 1})).await;
    let acl = vec![Acl::new(Perms::ALL, "world", "anyone")];
    zk.create_recursive("/have/x/y/z", &map(json!({"a": 1})), &acl).await.unwrap();
    assert_eq!(json(&*store, "/have/x/y/z").await, json!({"a": 1}));
    for ancestor in ["/have/x", "/have/x/y"] {
        let (data, _) = store.get_data(ancestor).await.unwrap();
        assert_eq!(data, Some(vec![]), "{ancestor} has empty data");
        assert_eq!(store.get_acl(ancestor).await.unwrap().0, acl);
    }
    assert_eq!(json(&*store, "/have").await, json!({"keep": 1}), "existing ancestors are untouched");
    let read_only = Acl::read_only();
    zk.create_recursive("/ro", &map(json!({})), &read_only).await.unwrap();
    assert_eq!(store.get_acl("/ro").await.unwrap().0, read_only);
}

async fn create_recursive_sets_an_existing_node<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n", json!({"old": 1})).await;
    zk.create_recursive("/n", &map(json!({"new": 2})), &Acl::open()).await.unwrap();
    assert_eq!(json(&*store, "/n").await, json!({"new": 2}));
}

async fn concurrent_create_recursive_both_succeed<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let other = client(&backend).await;
    let props = map(json!({"v": 1}));
    let open = Acl::open();
    let (a, b) = tokio::join!(
        zk.create_recursive("/deep/er/node", &props, &open),
        other.create_recursive("/deep/er/node", &props, &open),
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(json(&*zk.store(), "/deep/er/node").await, json!({"v": 1}));
}
