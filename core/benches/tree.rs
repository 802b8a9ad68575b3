//! Parsing and printing a generated tree of 100,000 nodes with 3 properties each; criterion
//! reports the throughput in bytes of tree text per second.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;
use zczk_core::tree::{self, Node};

/// 100 services of 1,000 nodes each (the service and 999 children), 3 properties per node.
fn generated_tree() -> Node {
    let mut root = Node::default();
    for s in 0..100 {
        let mut service = node(s);
        for c in 0..999 {
            service.children.insert(format!("10.0.{s}.{c}:8080"), node(c));
        }
        root.children.insert(format!("service-{s:03}"), service);
    }
    root
}

fn node(i: usize) -> Node {
    let mut node = Node::default();
    node.properties.insert("host".into(), json!(format!("host-{i}.example.com")));
    node.properties.insert("weight".into(), json!(i));
    node.properties.insert("tags".into(), json!(["web", i % 7 == 0, 1.5]));
    node
}

fn bench(c: &mut Criterion) {
    let root = generated_tree();
    let text = tree::print(&root);
    println!("tree text: {} bytes, {} lines", text.len(), text.lines().count());
    let mut group = c.benchmark_group("tree_100k_nodes");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("parse", |b| b.iter_with_large_drop(|| tree::parse(black_box(&text)).unwrap()));
    group.bench_function("print", |b| b.iter(|| tree::print(black_box(&root))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
