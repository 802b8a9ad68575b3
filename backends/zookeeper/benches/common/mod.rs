//! What the benchmark binaries share: the server to run against (or a reason to skip), a private
//! chroot, timing with medians, and a `Store` wrapper that counts write requests.

// Each bench binary uses a different part of this module.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use zczk_core::store::{
    Acl, CreateOptions, Created, MultiError, OneshotWatch, Op, OpResult, PersistentWatch, ReadOp, ReadResult,
    Reply, SessionState, Stat, Store, StoreError, WatchMode,
};
use zczk_zookeeper::ZkStore;

/// The session timeout the benchmarks ask for.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(30);

/// The real server's address from `ZCZK_TEST_ZOOKEEPER`, or `None` after saying the benchmark
/// is skipped.
pub fn server(bench: &str) -> Option<String> {
    match std::env::var("ZCZK_TEST_ZOOKEEPER") {
        Ok(address) if !address.trim().is_empty() => Some(address),
        _ => {
            eprintln!(
                "{bench}: skipped: ZCZK_TEST_ZOOKEEPER is not set \
                 (run it as: .ci/zookeeper-server cargo bench -p zczk-zookeeper --bench {bench})"
            );
            None
        }
    }
}

/// A fresh node on `server` for one benchmark run, and a session chrooted to it.
pub async fn chrooted_session(server: &str, bench: &str) -> ZkStore {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let chroot = format!("/zczk-bench-{bench}-{}-{nanos}", std::process::id());
    // A server that has just started may answer `ruok` before it accepts sessions.
    let mut attempts = 0;
    let root = loop {
        match zczk_zookeeper::connect(server, SESSION_TIMEOUT).await {
            Ok(store) => break store,
            Err(e) if attempts < 20 => {
                attempts += 1;
                eprintln!("{bench}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("{bench}: {e}"),
        }
    };
    root.create(&chroot, Some(b""), &CreateOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{bench}: {e}"));
    root.close().await.unwrap_or_else(|e| panic!("{bench}: {e}"));
    zczk_zookeeper::connect(&format!("{server}{chroot}"), SESSION_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{bench}: {e}"))
}

/// How many times each measurement is repeated (`ZCZK_BENCH_RUNS`, default 5).
pub fn runs() -> usize {
    std::env::var("ZCZK_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(5)
}

/// The median of some durations.
pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// Seconds with three decimals.
pub fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// Runs `f` and returns its result and how long it took.
pub async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    let out = f.await;
    (out, start.elapsed())
}

/// A store that counts the write requests going through it (create, set data, set ACL,
/// delete, multi), to show that a run wrote nothing.
pub struct Counting<S> {
    inner: S,
    writes: AtomicUsize,
}

impl<S: Store> Counting<S> {
    /// Wraps a store; the count starts at zero.
    pub fn new(inner: S) -> Counting<S> {
        Counting { inner, writes: AtomicUsize::new(0) }
    }

    /// Write requests sent so far.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::Relaxed)
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn count(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }
}

impl<S: Store> Store for Counting<S> {
    fn create<'a>(
        &'a self,
        path: &'a str,
        data: Option<&'a [u8]>,
        options: &'a CreateOptions,
    ) -> Reply<'a, Created> {
        self.count();
        self.inner.create(path, data, options)
    }
    fn delete<'a>(&'a self, path: &'a str, version: Option<i32>) -> Reply<'a, ()> {
        self.count();
        self.inner.delete(path, version)
    }
    fn exists<'a>(&'a self, path: &'a str) -> Reply<'a, Option<Stat>> {
        self.inner.exists(path)
    }
    fn exists_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Stat>, OneshotWatch)> {
        self.inner.exists_watch(path)
    }
    fn get_data<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Vec<u8>>, Stat)> {
        self.inner.get_data(path)
    }
    fn get_data_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Vec<u8>>, Stat, OneshotWatch)> {
        self.inner.get_data_watch(path)
    }
    fn set_data<'a>(
        &'a self,
        path: &'a str,
        data: Option<&'a [u8]>,
        version: Option<i32>,
    ) -> Reply<'a, Stat> {
        self.count();
        self.inner.set_data(path, data, version)
    }
    fn get_children<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<String>, Stat)> {
        self.inner.get_children(path)
    }
    fn get_children_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<String>, Stat, OneshotWatch)> {
        self.inner.get_children_watch(path)
    }
    fn get_acl<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<Acl>, Stat)> {
        self.inner.get_acl(path)
    }
    fn set_acl<'a>(&'a self, path: &'a str, acl: &'a [Acl], version: Option<i32>) -> Reply<'a, Stat> {
        self.count();
        self.inner.set_acl(path, acl, version)
    }
    fn multi<'a>(&'a self, ops: &'a [Op]) -> Reply<'a, Vec<OpResult>, MultiError> {
        self.count();
        self.inner.multi(ops)
    }
    fn multi_read<'a>(&'a self, ops: &'a [ReadOp]) -> Reply<'a, Vec<Result<ReadResult, StoreError>>> {
        self.inner.multi_read(ops)
    }
    fn add_watch<'a>(&'a self, path: &'a str, mode: WatchMode) -> Reply<'a, PersistentWatch> {
        self.inner.add_watch(path, mode)
    }
    fn sync<'a>(&'a self, path: &'a str) -> Reply<'a, ()> {
        self.inner.sync(path)
    }
    fn add_auth<'a>(&'a self, scheme: &'a str, auth: &'a [u8]) -> Reply<'a, ()> {
        self.inner.add_auth(scheme, auth)
    }
    fn close(&self) -> Reply<'_, ()> {
        self.inner.close()
    }
    fn session_id(&self) -> i64 {
        self.inner.session_id()
    }
    fn session_state(&self) -> watch::Receiver<SessionState> {
        self.inner.session_state()
    }
    fn request_limit(&self) -> zczk_core::store::RequestLimit {
        self.inner.request_limit()
    }
}
