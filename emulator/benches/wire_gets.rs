//! Pipelined gets from one `zookeeper-client` session: against the emulator served over TCP
//! (on a single-thread runtime of its own, as `zczk serve` runs it) and against the
//! real server in `ZCZK_TEST_ZOOKEEPER` when it is set (`.ci/zookeeper-server cargo bench -p
//! zczk-emulator --bench wire_gets`). `ZCZK_SERVE_ADDR` points the first at an external
//! `zczk serve` instead. Criterion prints the gets/s as `thrpt`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use zczk_emulator::Emulator;
use zookeeper_client as zk;

/// Gets in flight at once: one batch is sent, then all replies awaited.
const PIPELINE: usize = 1000;
/// A typical zc.zk node's data.
const DATA: &[u8] = br#"{"type": "service", "port": 8080, "host": "10.0.0.1"}"#;

fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Connects and makes `path` with the benchmark's data.
async fn prepare(addr: &str, path: &str) -> zk::Client {
    let client = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    match client.create(path, DATA, &options).await {
        Ok(_) | Err(zk::Error::NodeExists) => {}
        Err(e) => panic!("creating {path} on {addr}: {e}"),
    }
    client
}

fn bench_target(c: &mut Criterion, name: &str, addr: &str, path: &str) {
    let runtime = client_runtime();
    let client = runtime.block_on(prepare(addr, path));
    let mut group = c.benchmark_group("pipelined gets, one session");
    group.throughput(Throughput::Elements(PIPELINE as u64));
    group.sample_size(30);
    group.bench_function(name, |b| {
        b.to_async(&runtime).iter(|| async {
            let gets: Vec<_> = (0..PIPELINE).map(|_| client.get_data(path)).collect();
            for got in futures::future::join_all(gets).await {
                assert_eq!(got.unwrap().0.len(), DATA.len());
            }
        })
    });
    group.finish();
    let _ = runtime.block_on(client.delete(path, None));
}

/// Starts a server on a thread of its own with a single-thread runtime, as `zczk serve` runs.
fn start_server() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let server = zczk_emulator::wire::Server::bind("127.0.0.1:0", Emulator::new()).await.unwrap();
            tx.send(server.local_addr().to_string()).unwrap();
            server.run_until(futures::future::pending()).await;
        });
    });
    rx.recv().unwrap()
}

fn served(c: &mut Criterion) {
    let addr = std::env::var("ZCZK_SERVE_ADDR").unwrap_or_else(|_| start_server());
    bench_target(c, "zczk serve", &addr, "/zczk-bench-gets");
}

fn real(c: &mut Criterion) {
    match std::env::var("ZCZK_TEST_ZOOKEEPER") {
        Ok(addr) if !addr.is_empty() => bench_target(c, "zookeeper", &addr, "/zczk-bench-gets"),
        _ => eprintln!("wire_gets: no real server (ZCZK_TEST_ZOOKEEPER unset): only zczk serve measured"),
    }
}

criterion_group!(benches, served, real);
criterion_main!(benches);
