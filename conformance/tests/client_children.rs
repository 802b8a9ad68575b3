//! Live children views (spec section 6) through the high-level client, on every backend.

use std::sync::Arc;

use crate::client_support::{client, eventually, put, set};
use futures::StreamExt;
use parking_lot::Mutex;
use serde_json::json;
use zczk_conformance::{on_every_backend, Backend};
use zczk_core::client::{ChildrenSnapshot, ClientError, Flow, ViewEvent};
use zczk_core::store::Store;

on_every_backend!(
    children_are_listed_and_kept_current,
    children_are_found_through_links,
    children_callbacks_cancel_and_fail_like_properties_callbacks,
    a_deleted_parent_is_followed_through_a_new_link,
    a_deleted_parent_without_a_link_is_a_deleted_view,
    children_views_are_streams,
    data_changes_do_not_call_children_callbacks,
    dropping_the_last_children_handle_stops_the_view,
);

type Seen = Arc<Mutex<Vec<ViewEvent<ChildrenSnapshot>>>>;

fn recorder(
) -> (Seen, impl FnMut(&ViewEvent<ChildrenSnapshot>) -> Result<Flow, zczk_core::client::CallbackError>) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    (seen, move |event: &ViewEvent<ChildrenSnapshot>| {
        record.lock().push(event.clone());
        Ok(Flow::Continue)
    })
}

/// The sorted names of each `Changed` event recorded.
fn lists(seen: &Seen) -> Vec<Vec<String>> {
    seen.lock()
        .iter()
        .filter_map(|e| match e {
            ViewEvent::Changed(s) => {
                let mut names = s.children.clone();
                names.sort();
                Some(names)
            }
            ViewEvent::Deleted => None,
        })
        .collect()
}

fn sorted(view: &zczk_core::client::Children) -> Vec<String> {
    let mut names = view.names();
    names.sort();
    names
}

async fn children_are_listed_and_kept_current<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/p", json!({})).await;
    put(&*store, "/p/a", json!({})).await;
    let view = zk.children("/p").await.unwrap();
    assert_eq!(view.path(), "/p");
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    assert_eq!(lists(&seen), [vec!["a".to_string()]], "called at once");
    put(&*store, "/p/b", json!({})).await;
    eventually("the new child", || sorted(&view) == ["a", "b"]).await;
    store.delete("/p/a", None).await.unwrap();
    eventually("the removed child", || sorted(&view) == ["b"]).await;
    eventually("the callback", || lists(&seen).last().map(Vec::as_slice) == Some(&["b".to_string()][..]))
        .await;
    assert_eq!(lists(&seen).len(), 3);
}

async fn children_are_found_through_links<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/real", json!({})).await;
    put(&*store, "/real/x", json!({})).await;
    put(&*store, "/alias", json!({"l ->": "/real"})).await;
    let view = zk.children("/alias/l").await.unwrap();
    assert_eq!(view.path(), "/real");
    assert_eq!(view.names(), ["x"]);
    assert!(
        matches!(zk.children("/alias/nope").await, Err(ClientError::NoNode { path }) if path == "/alias/nope")
    );
}

async fn children_callbacks_cancel_and_fail_like_properties_callbacks<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/p", json!({})).await;
    let view = zk.children("/p").await.unwrap();
    assert!(view.on_change(|_| Err("refused".into())).is_err());
    assert_eq!(view.callback_count(), 0, "a failing first call is not registered");
    view.on_change(|e| {
        Ok(if matches!(e, ViewEvent::Changed(s) if !s.children.is_empty()) {
            Flow::Cancel
        } else {
            Flow::Continue
        })
    })
    .unwrap();
    let failures = Arc::new(Mutex::new(0));
    let counted = failures.clone();
    view.on_change(move |e| {
        if matches!(e, ViewEvent::Changed(s) if !s.children.is_empty()) {
            *counted.lock() += 1;
            return Err("broken".into());
        }
        Ok(Flow::Continue)
    })
    .unwrap();
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    assert_eq!(view.callback_count(), 3);
    put(&*store, "/p/a", json!({})).await;
    eventually("the change", || lists(&seen).len() == 2).await;
    put(&*store, "/p/b", json!({})).await;
    eventually("the second change", || lists(&seen).len() == 3).await;
    assert_eq!(view.callback_count(), 1, "the cancelled and the failed callbacks are gone");
    assert_eq!(*failures.lock(), 1);
}

async fn a_deleted_parent_is_followed_through_a_new_link<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/svc", json!({})).await;
    put(&*store, "/svc/p", json!({})).await;
    put(&*store, "/svc/p/old", json!({})).await;
    let view = zk.children("/svc/p").await.unwrap();
    put(&*store, "/moved", json!({})).await;
    put(&*store, "/moved/new", json!({})).await;
    set(&*store, "/svc", json!({"p ->": "/moved"})).await;
    store.delete("/svc/p/old", None).await.unwrap();
    store.delete("/svc/p", None).await.unwrap();
    eventually("the view to follow the link", || view.path() == "/moved" && view.names() == ["new"]).await;
    assert!(!view.is_deleted());
    put(&*store, "/moved/newer", json!({})).await;
    eventually("the change at the new place", || sorted(&view) == ["new", "newer"]).await;
}

async fn a_deleted_parent_without_a_link_is_a_deleted_view<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/p", json!({})).await;
    put(&*store, "/p/a", json!({})).await;
    let view = zk.children("/p").await.unwrap();
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    store.delete("/p/a", None).await.unwrap();
    store.delete("/p", None).await.unwrap();
    eventually("the deleted event", || seen.lock().last() == Some(&ViewEvent::Deleted)).await;
    assert!(view.is_deleted());
    assert!(view.names().is_empty());
}

async fn children_views_are_streams<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/p", json!({})).await;
    let view = zk.children("/p").await.unwrap();
    let mut stream = Box::pin(view.stream());
    macro_rules! next {
        () => {
            tokio::time::timeout(crate::client_support::PATIENCE, stream.next())
                .await
                .expect("a snapshot in time")
        };
    }
    assert!(next!().unwrap().children.is_empty());
    put(&*store, "/p/a", json!({})).await;
    assert_eq!(next!().unwrap().children, ["a"]);
    store.delete("/p/a", None).await.unwrap();
    assert!(next!().unwrap().children.is_empty());
    store.delete("/p", None).await.unwrap();
    assert!(next!().unwrap().deleted);
    assert!(next!().is_none());
}

async fn data_changes_do_not_call_children_callbacks<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/p", json!({})).await;
    let view = zk.children("/p").await.unwrap();
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    set(&*store, "/p", json!({"a": 1})).await;
    put(&*store, "/p/c", json!({})).await;
    eventually("the child", || lists(&seen).len() == 2).await;
    assert_eq!(lists(&seen), [vec![], vec!["c".to_string()]]);
}

async fn dropping_the_last_children_handle_stops_the_view<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/p", json!({})).await;
    let view = zk.children("/p").await.unwrap();
    let (seen, callback) = recorder();
    view.on_change(callback).unwrap();
    let clone = view.clone();
    drop(view);
    put(&*store, "/p/a", json!({})).await;
    eventually("the clone to live on", || lists(&seen).len() == 2).await;
    drop(clone);
    // No call after the last handle is gone: the view lets its callbacks go (so none can be
    // called again), rather than a wait to see that a later change calls none.
    eventually("the callbacks to be dropped with the view", || Arc::strong_count(&seen) == 1).await;
    assert_eq!(lists(&seen).len(), 2);
}
