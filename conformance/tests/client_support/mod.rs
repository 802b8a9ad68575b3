//! Helpers shared by the `client_*` behaviour tests: a client per backend, nodes with JSON
//! properties, and waiting for a live view to reach a state.
#![allow(dead_code)]

use std::time::Duration;

use serde_json::{Map, Value};
use zczk_conformance::Backend;
use zczk_core::client::ZooKeeper;
use zczk_core::store::{CreateMode, CreateOptions, Store};

/// How long a test waits for something that should happen soon (a watch event, a new session).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A client on the backend, failing the test if none can be made.
pub async fn client<B: Backend>(backend: &B) -> ZooKeeper<B::Store> {
    match ZooKeeper::new(backend.clone()).await {
        Ok(zk) => zk,
        Err(e) => panic!("{}: can't make a client: {e}", B::NAME),
    }
}

/// A JSON object literal as a property map.
pub fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// Creates a persistent node holding `properties` (compact JSON).
pub async fn put<S: Store + ?Sized>(store: &S, path: &str, properties: Value) {
    let data = serde_json::to_vec(&properties).expect("JSON");
    if let Err(e) = store.create(path, &data, &CreateOptions::default()).await {
        panic!("creating {path}: {e}");
    }
}

/// Creates an ephemeral node holding `properties`.
pub async fn put_ephemeral<S: Store + ?Sized>(store: &S, path: &str, properties: Value) {
    let data = serde_json::to_vec(&properties).expect("JSON");
    let options = CreateOptions::new(CreateMode::Ephemeral);
    if let Err(e) = store.create(path, &data, &options).await {
        panic!("creating ephemeral {path}: {e}");
    }
}

/// Replaces a node's data with `properties`, whatever its version.
pub async fn set<S: Store + ?Sized>(store: &S, path: &str, properties: Value) {
    let data = serde_json::to_vec(&properties).expect("JSON");
    if let Err(e) = store.set_data(path, &data, None).await {
        panic!("setting {path}: {e}");
    }
}

/// A node's data parsed as JSON.
pub async fn json<S: Store + ?Sized>(store: &S, path: &str) -> Value {
    let (data, _) = store.get_data(path).await.unwrap_or_else(|e| panic!("reading {path}: {e}"));
    if data.is_empty() {
        return Value::Object(Map::new());
    }
    serde_json::from_slice(&data).unwrap_or_else(|e| panic!("{path} holds no JSON: {e}"))
}

/// Waits until `check` holds, polling; fails the test naming `what` after [`PATIENCE`].
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check() {
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the client has replaced its session `generations` times.
pub async fn new_session<S: Store + 'static>(zk: &ZooKeeper<S>, generations: u64) {
    let mut generation = zk.generation();
    let waited = tokio::time::timeout(PATIENCE, generation.wait_for(|g| *g >= generations)).await;
    assert!(matches!(waited, Ok(Ok(_))), "the client made no new session");
}
