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
    if let Err(e) = store.create(path, Some(&data), &CreateOptions::default()).await {
        panic!("creating {path}: {e}");
    }
}

/// Creates an ephemeral node holding `properties`.
pub async fn put_ephemeral<S: Store + ?Sized>(store: &S, path: &str, properties: Value) {
    let data = serde_json::to_vec(&properties).expect("JSON");
    let options = CreateOptions::new(CreateMode::Ephemeral);
    if let Err(e) = store.create(path, Some(&data), &options).await {
        panic!("creating ephemeral {path}: {e}");
    }
}

/// Replaces a node's data with `properties`, whatever its version.
pub async fn set<S: Store + ?Sized>(store: &S, path: &str, properties: Value) {
    let data = serde_json::to_vec(&properties).expect("JSON");
    if let Err(e) = store.set_data(path, Some(&data), None).await {
        panic!("setting {path}: {e}");
    }
}

/// A node's data parsed as JSON.
pub async fn json<S: Store + ?Sized>(store: &S, path: &str) -> Value {
    let (data, _) = store.get_data(path).await.unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let data = data.unwrap_or_default();
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

/// A connector over a backend that a test can hold shut (new sessions wait until it is
/// opened) or make fail, to act between a session's expiry and its replacement.
#[derive(Clone)]
pub struct Gated<B: Backend> {
    /// The backend the sessions come from.
    pub backend: B,
    open: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    failures: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// How many sessions were asked for.
    pub attempts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl<B: Backend> Gated<B> {
    /// An open gate.
    pub fn new(backend: B) -> Self {
        Gated {
            backend,
            open: std::sync::Arc::new(tokio::sync::watch::Sender::new(true)),
            failures: Default::default(),
            attempts: Default::default(),
        }
    }

    /// New sessions wait from now on.
    pub fn shut(&self) {
        self.open.send_replace(false);
    }

    /// New sessions are made again (waiting ones too).
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    /// The next `n` connections fail with `ConnectionLoss`.
    pub fn fail_next(&self, n: usize) {
        self.failures.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many sessions were asked for so far.
    pub fn attempts(&self) -> usize {
        self.attempts.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl<B: Backend> zczk_core::store::Connector for Gated<B> {
    type Store = B::Store;

    async fn connect(&self) -> Result<B::Store, zczk_core::store::StoreError> {
        use std::sync::atomic::Ordering;
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let mut open = self.open.subscribe();
        let _ = open.wait_for(|open| *open).await;
        let fail =
            self.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if fail {
            let error = zczk_core::store::StoreError::new(
                zczk_core::store::Code::ConnectionLoss,
                zczk_core::store::OpKind::Connect,
                self.address(),
            );
            return Err(error.with_detail("refused by the test"));
        }
        self.backend.connect().await
    }

    fn address(&self) -> String {
        self.backend.address()
    }
}
