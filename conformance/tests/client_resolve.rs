//! `resolve` and `ln` (spec section 5) through the high-level client, on every backend.

use crate::client_support::{client, json, put, set};
use serde_json::json;
use zczk_conformance::{on_every_backend, Backend};
use zczk_core::client::ClientError;
use zczk_core::store::Store;

on_every_backend!(
    dots_are_normalized_first,
    a_real_node_shadows_a_link,
    links_are_followed_anywhere_in_the_path,
    relative_targets_start_at_the_node_holding_the_link,
    links_in_the_root_node_work,
    a_link_loop_lists_the_chain,
    a_link_that_depends_on_itself_is_a_loop,
    one_link_used_twice_in_a_path_is_no_loop,
    no_node_names_the_path_as_given,
    ln_adds_a_link_to_the_parent,
    ln_with_a_trailing_slash_takes_the_targets_name,
    ln_to_a_target_ending_in_a_slash_appends_the_name,
    ln_goes_through_links_to_the_parent,
    concurrent_ln_lose_no_link,
    get_properties_is_raw,
);

async fn dots_are_normalized_first<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/a", json!({})).await;
    put(&*store, "/a/b", json!({})).await;
    assert_eq!(zk.resolve("/a/b/../b/./").await.unwrap(), "/a/b");
    assert_eq!(zk.resolve("/a/..").await.unwrap(), "/");
    assert!(matches!(zk.resolve("/a/../..").await, Err(ClientError::Path(_))));
}

async fn a_real_node_shadows_a_link<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/x", json!({})).await;
    put(&*store, "/a", json!({"b ->": "/x"})).await;
    assert_eq!(zk.resolve("/a/b").await.unwrap(), "/x");
    put(&*store, "/a/b", json!({})).await;
    assert_eq!(zk.resolve("/a/b").await.unwrap(), "/a/b");
}

async fn links_are_followed_anywhere_in_the_path<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/real", json!({"d ->": "/real/deep"})).await;
    put(&*store, "/real/deep", json!({})).await;
    put(&*store, "/real/deep/node", json!({})).await;
    put(&*store, "/top", json!({"l ->": "/real"})).await;
    assert_eq!(zk.resolve("/top/l/d/node").await.unwrap(), "/real/deep/node");
    assert_eq!(zk.resolve("/top/l/d").await.unwrap(), "/real/deep");
    assert_eq!(zk.resolve("/top/l").await.unwrap(), "/real");
}

async fn relative_targets_start_at_the_node_holding_the_link<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/real", json!({})).await;
    put(&*store, "/svc", json!({"up ->": "../real", "down ->": "sub", "here ->": "."})).await;
    put(&*store, "/svc/sub", json!({})).await;
    assert_eq!(zk.resolve("/svc/up").await.unwrap(), "/real");
    assert_eq!(zk.resolve("/svc/down").await.unwrap(), "/svc/sub");
    assert_eq!(zk.resolve("/svc/here/sub").await.unwrap(), "/svc/sub");
    // A relative link reached through another link is relative to its own holder.
    put(&*store, "/alias", json!({"s ->": "/svc"})).await;
    assert_eq!(zk.resolve("/alias/s/up").await.unwrap(), "/real");
}

async fn links_in_the_root_node_work<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/real", json!({})).await;
    put(&*store, "/real/child", json!({})).await;
    set(&*store, "/", json!({"r ->": "/real", "rel ->": "real"})).await;
    assert_eq!(zk.resolve("/r").await.unwrap(), "/real");
    assert_eq!(zk.resolve("/r/child").await.unwrap(), "/real/child");
    assert_eq!(zk.resolve("/rel/child").await.unwrap(), "/real/child");
}

async fn a_link_loop_lists_the_chain<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/n", json!({"a ->": "b", "b ->": "/n/c", "c ->": "a"})).await;
    match zk.resolve("/n/a/x").await {
        Err(ClientError::LinkLoop { chain }) => assert_eq!(chain, ["/n/a", "/n/b", "/n/c", "/n/a"]),
        other => panic!("expected a link loop, got {other:?}"),
    }
}

async fn a_link_that_depends_on_itself_is_a_loop<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    // Resolving /n/a needs /n/a/x, whose parent is /n/a again.
    put(&*store, "/n", json!({"a ->": "/n/a/x"})).await;
    match zk.resolve("/n/a").await {
        Err(ClientError::LinkLoop { chain }) => assert_eq!(chain, ["/n/a", "/n/a"]),
        other => panic!("expected a link loop, got {other:?}"),
    }
}

async fn one_link_used_twice_in_a_path_is_no_loop<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    // /l/a goes through `l ->`, then `a ->` leads to /l/b, through `l ->` again.
    set(&*store, "/", json!({"l ->": "/real"})).await;
    put(&*store, "/real", json!({"a ->": "../l/b"})).await;
    put(&*store, "/real/b", json!({})).await;
    assert_eq!(zk.resolve("/l/a").await.unwrap(), "/real/b");
}

async fn no_node_names_the_path_as_given<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/a", json!({"gone ->": "/nowhere"})).await;
    for path in ["/missing", "/a/./missing", "/a/gone", "/a/gone/below", "/x/../a/nope/deeper"] {
        match zk.resolve(path).await {
            Err(ClientError::NoNode { path: named }) => assert_eq!(named, path),
            other => panic!("{path}: expected NoNode, got {other:?}"),
        }
    }
}

async fn ln_adds_a_link_to_the_parent<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/real", json!({})).await;
    put(&*store, "/top", json!({"keep": 1})).await;
    let before = store.exists("/top").await.unwrap().unwrap().version;
    zk.ln("/real", "/top/x").await.unwrap();
    assert_eq!(json(&*store, "/top").await, json!({"keep": 1, "x ->": "/real"}));
    assert_eq!(store.exists("/top").await.unwrap().unwrap().version, before + 1);
    assert_eq!(zk.resolve("/top/x").await.unwrap(), "/real");
    // The target is not checked: a link may come before its node.
    zk.ln("/later", "/top/y").await.unwrap();
    assert_eq!(json(&*store, "/top").await["y ->"], "/later");
    assert!(matches!(zk.ln("/real", "/nope/x").await, Err(ClientError::NoNode { .. })));
}

async fn ln_with_a_trailing_slash_takes_the_targets_name<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/real", json!({})).await;
    put(&*store, "/real/deep", json!({})).await;
    put(&*store, "/top", json!({})).await;
    zk.ln("/real/deep", "/top/").await.unwrap();
    assert_eq!(json(&*store, "/top").await, json!({"deep ->": "/real/deep"}));
    zk.ln("/real/", "/").await.unwrap();
    assert_eq!(json(&*store, "/").await["real ->"], "/real/");
}

async fn ln_to_a_target_ending_in_a_slash_appends_the_name<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/fooservice", json!({})).await;
    zk.ln("/databases/", "/fooservice/main").await.unwrap();
    assert_eq!(json(&*store, "/fooservice").await, json!({"main ->": "/databases/main"}));
}

async fn ln_goes_through_links_to_the_parent<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/real", json!({})).await;
    put(&*store, "/top", json!({"r ->": "/real"})).await;
    zk.ln("/elsewhere", "/top/r/y").await.unwrap();
    assert_eq!(json(&*store, "/real").await, json!({"y ->": "/elsewhere"}));
    assert_eq!(json(&*store, "/top").await, json!({"r ->": "/real"}));
}

async fn concurrent_ln_lose_no_link<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let other = client(&backend).await;
    put(&*zk.store(), "/top", json!({})).await;
    let links = (0..20).map(|i| {
        let zk = if i % 2 == 0 { zk.clone() } else { other.clone() };
        async move { zk.ln(&format!("/t{i}"), &format!("/top/l{i}")).await }
    });
    for result in futures::future::join_all(links).await {
        result.unwrap();
    }
    let stored = json(&*zk.store(), "/top").await;
    assert_eq!(stored.as_object().unwrap().len(), 20, "{stored}");
    for i in 0..20 {
        assert_eq!(stored[format!("l{i} ->")], format!("/t{i}"));
    }
}

async fn get_properties_is_raw<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/real", json!({"a": 1})).await;
    put(&*store, "/top", json!({"x ->": "/real", "b =>": "/real a"})).await;
    let got = zk.get_properties("/top").await.unwrap();
    assert_eq!(serde_json::Value::Object(got), json!({"x ->": "/real", "b =>": "/real a"}));
    store.create("/raw", Some(b"not json"), &Default::default()).await.unwrap();
    assert_eq!(
        serde_json::Value::Object(zk.get_properties("/raw").await.unwrap()),
        json!({"string_value": "not json"})
    );
}
