//! What the benchmark binaries share: the server to run against (or a reason to skip), a private
//! chroot, timing with medians, and an observer that counts write requests.

// Each bench binary uses a different part of this module.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use zczk_core::store::{CreateOptions, Observer, Seen, Store};
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

/// An observer that counts the write requests a store sends (create, set data, set ACL,
/// delete, multi), to show that a run wrote nothing.
#[derive(Default)]
pub struct Writes(AtomicUsize);

impl Writes {
    /// Write requests seen so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Observer for Writes {
    fn request(&self, request: Seen<'_>) {
        if matches!(request, Seen::Write(..) | Seen::Multi(_)) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}
