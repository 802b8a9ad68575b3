//! Raw pipelining of the ZooKeeper backend on one session: 10,000 creates and 10,000 gets of
//! small nodes, one awaited at a time versus many in flight, and batched (`multi` for the
//! creates, `multi_read` for the gets: what import and export use).
//!
//! Runs against the real server in `ZCZK_TEST_ZOOKEEPER` (skips with a message when unset):
//!
//! ```text
//! .ci/zookeeper-server cargo bench -p zczk-zookeeper --bench pipelining
//! ```
//!
//! `ZCZK_BENCH_RUNS` (default 5) repeats each measurement; the median is printed.
//! `ZCZK_BENCH_WINDOW` (default 1024) is the most requests in flight in the pipelined runs.

mod common;

use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use zczk_core::store::{CreateOptions, Op, ReadOp, ReadResult, Store, StoreError};
use zczk_zookeeper::ZkStore;

use common::{median, runs, secs, timed};

/// Nodes created and read per run.
const NODES: usize = 10_000;
/// Creates per `multi` request in the batched run.
const BATCH: usize = 100;
/// The data of each node: small, like a registration.
const DATA: &[u8] = br#"{"pid":12345,"host":"10.0.0.1"}"#;

fn window() -> usize {
    std::env::var("ZCZK_BENCH_WINDOW").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(1024)
}

fn paths(parent: &str) -> Vec<String> {
    (0..NODES).map(|i| format!("{parent}/n{i:05}")).collect()
}

async fn create_sequential(store: &ZkStore, paths: &[String]) -> Result<(), StoreError> {
    let options = CreateOptions::default();
    for path in paths {
        store.create(path, Some(DATA), &options).await?;
    }
    Ok(())
}

async fn get_sequential(store: &ZkStore, paths: &[String]) -> Result<(), StoreError> {
    for path in paths {
        let (data, _) = store.get_data(path).await?;
        assert_eq!(data.as_deref(), Some(DATA));
    }
    Ok(())
}

/// Calls `request` for each path with at most `window` replies outstanding; each call sends
/// its request at once.
async fn pipelined<'a, T>(
    paths: &'a [String],
    window: usize,
    request: impl Fn(&'a str) -> futures::future::BoxFuture<'a, Result<T, StoreError>>,
) -> Result<Vec<T>, StoreError> {
    let mut in_flight = FuturesUnordered::new();
    let mut out = Vec::with_capacity(paths.len());
    let mut next = paths.iter();
    loop {
        while in_flight.len() < window {
            let Some(path) = next.next() else { break };
            in_flight.push(request(path));
        }
        match in_flight.next().await {
            Some(reply) => out.push(reply?),
            None => return Ok(out),
        }
    }
}

/// Creates the nodes with one `multi` per [`BATCH`] paths, all the requests in flight together.
async fn create_batched(store: &ZkStore, paths: &[String]) -> Result<(), StoreError> {
    let batches: Vec<Vec<Op>> = paths
        .chunks(BATCH)
        .map(|chunk| {
            chunk
                .iter()
                .map(|path| Op::Create {
                    path: path.clone(),
                    data: Some(DATA.to_vec()),
                    options: CreateOptions::default(),
                })
                .collect()
        })
        .collect();
    let replies: Vec<_> = batches.iter().map(|ops| store.multi(ops)).collect();
    for reply in futures::future::join_all(replies).await {
        reply.map_err(|e| e.error().clone())?;
    }
    Ok(())
}

/// Reads the nodes with one `multi_read` per [`BATCH`] paths, all the requests in flight
/// together.
async fn get_batched(store: &ZkStore, paths: &[String]) -> Result<(), StoreError> {
    let batches: Vec<Vec<ReadOp>> =
        paths.chunks(BATCH).map(|chunk| chunk.iter().map(|p| ReadOp::GetData(p.clone())).collect()).collect();
    let replies: Vec<_> = batches.iter().map(|ops| store.multi_read(ops)).collect();
    for reply in futures::future::join_all(replies).await {
        for result in reply? {
            assert!(
                matches!(result?, ReadResult::Data(Some(data), _) if data == DATA),
                "every node read back"
            );
        }
    }
    Ok(())
}

async fn delete_all(store: &ZkStore, parent: &str, paths: &[String]) {
    pipelined(paths, 4096, |p| store.delete(p, None)).await.expect("deleting the benchmark's nodes");
    store.delete(parent, None).await.expect("deleting the benchmark's parent node");
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(server) = common::server("pipelining") else { return };
    let store = common::chrooted_session(&server, "pipelining").await;
    let window = window();
    let options = CreateOptions::default();
    let (mut seq_create, mut seq_get, mut pipe_create, mut pipe_get) = (vec![], vec![], vec![], vec![]);
    let (mut multi_create, mut multi_get) = (vec![], vec![]);

    for run in 0..runs() {
        let parent = format!("/seq{run}");
        store.create(&parent, Some(b""), &options).await.expect("creating the parent");
        let seq_paths = paths(&parent);
        let (done, t) = timed(create_sequential(&store, &seq_paths)).await;
        done.expect("sequential creates");
        seq_create.push(t);
        let (done, t) = timed(get_sequential(&store, &seq_paths)).await;
        done.expect("sequential gets");
        seq_get.push(t);
        delete_all(&store, &parent, &seq_paths).await;

        let parent = format!("/pipe{run}");
        store.create(&parent, Some(b""), &options).await.expect("creating the parent");
        let pipe_paths = paths(&parent);
        let (done, t) = timed(pipelined(&pipe_paths, window, |p| {
            let fut = store.create(p, Some(DATA), &options);
            Box::pin(async move { fut.await.map(drop) })
        }))
        .await;
        done.expect("pipelined creates");
        pipe_create.push(t);
        let (done, t) = timed(pipelined(&pipe_paths, window, |p| store.get_data(p))).await;
        let replies = done.expect("pipelined gets");
        assert!(replies.iter().all(|(data, _)| data.as_deref() == Some(DATA)), "every node read back");
        pipe_get.push(t);
        delete_all(&store, &parent, &pipe_paths).await;

        let parent = format!("/multi{run}");
        store.create(&parent, Some(b""), &options).await.expect("creating the parent");
        let multi_paths = paths(&parent);
        let (done, t) = timed(create_batched(&store, &multi_paths)).await;
        done.expect("batched creates");
        multi_create.push(t);
        let (done, t) = timed(get_batched(&store, &multi_paths)).await;
        done.expect("batched gets");
        multi_get.push(t);
        delete_all(&store, &parent, &multi_paths).await;
    }

    let report = |what: &str, seq: Vec<_>, pipe: Vec<_>| {
        let (seq, pipe) = (median(seq), median(pipe));
        let ratio = seq.as_secs_f64() / pipe.as_secs_f64();
        println!(
            "{what:<8} one at a time {:>9.0} ops/s ({}) | pipelined (window {window}) {:>9.0} ops/s ({}) | x{ratio:.1} {}",
            rate(NODES, seq),
            secs(seq),
            rate(NODES, pipe),
            secs(pipe),
            if ratio >= 5.0 { "(target x5 met)" } else { "(target x5 MISSED)" },
        );
    };
    println!("pipelining: {NODES} small nodes on one session, median of {} runs", runs());
    report("creates", seq_create, pipe_create);
    report("gets", seq_get, pipe_get);
    for (what, times) in [("creates  in multi", multi_create), ("gets     in multi_read", multi_get)] {
        let t = median(times);
        println!("{what} requests of {BATCH}, all in flight: {:>9.0} ops/s ({})", rate(NODES, t), secs(t));
    }
    let _ = store.close().await;
}
