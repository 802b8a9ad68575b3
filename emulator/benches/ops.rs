//! Emulator throughput: get, set and create from one task, and get and create from many
//! tasks at once (one session each). Run with `cargo bench -p zczk-emulator`; criterion prints
//! the ops/s as `thrpt`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::FutureExt as _;
use zczk_core::store::{CreateOptions, Store};
use zczk_emulator::Emulator;

/// The data of a typical zc.zk node: a small JSON object.
const DATA: &[u8] = br#"{"type": "service", "port": 8080, "host": "10.0.0.1"}"#;

/// Every emulator reply is ready when the call returns (no injected delay here), so the
/// benchmark polls it once instead of paying for an executor.
fn now<T>(reply: impl std::future::Future<Output = T>) -> T {
    reply.now_or_never().expect("an emulator reply without injected delay is ready at once")
}

fn one_task(c: &mut Criterion) {
    let mut group = c.benchmark_group("one task");
    group.throughput(Throughput::Elements(1));

    let emulator = Emulator::new();
    let s = emulator.session();
    now(s.create("/bench", Some(DATA), &CreateOptions::default())).unwrap();
    group.bench_function("get_data", |b| b.iter(|| now(s.get_data("/bench")).unwrap()));
    group.bench_function("exists", |b| b.iter(|| now(s.exists("/bench")).unwrap()));
    group.bench_function("set_data", |b| b.iter(|| now(s.set_data("/bench", Some(DATA), None)).unwrap()));

    let open = CreateOptions::default();
    group.bench_function("create", |b| {
        b.iter_custom(|iters| {
            // A fresh parent per sample, so the tree does not grow without bound.
            let emulator = Emulator::new();
            let s = emulator.session();
            now(s.create("/c", Some(b""), &open)).unwrap();
            let names: Vec<String> = (0..iters).map(|i| format!("/c/n{i}")).collect();
            let start = Instant::now();
            for name in &names {
                now(s.create(name, Some(DATA), &open)).unwrap();
            }
            start.elapsed()
        })
    });
    group.finish();
}

/// Runs `per_task` ops in each of `tasks` tokio tasks on a multi-thread runtime and returns
/// the wall time.
fn many_tasks(runtime: &tokio::runtime::Runtime, tasks: u64, per_task: u64, create: bool) -> Duration {
    let emulator = Emulator::new();
    let setup = emulator.session();
    now(setup.create("/m", Some(DATA), &CreateOptions::default())).unwrap();
    runtime.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let emulator = emulator.clone();
                tokio::spawn(async move {
                    let s = emulator.session();
                    let open = CreateOptions::default();
                    for i in 0..per_task {
                        if create {
                            s.create(&format!("/m/t{t}-{i}"), Some(DATA), &open).await.unwrap();
                        } else {
                            s.get_data("/m").await.unwrap();
                        }
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        start.elapsed()
    })
}

fn tasks(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut group = c.benchmark_group("8 tasks");
    const TASKS: u64 = 8;
    group.throughput(Throughput::Elements(TASKS));
    group.bench_function("get_data", |b| b.iter_custom(|iters| many_tasks(&runtime, TASKS, iters, false)));
    group.bench_function("create", |b| b.iter_custom(|iters| many_tasks(&runtime, TASKS, iters, true)));
    group.finish();
}

criterion_group!(benches, one_task, tasks);
criterion_main!(benches);
