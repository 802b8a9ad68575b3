//! The server's own bulk throughput, the limit zczk's import and export are measured against
//! (run by `bench/scale`): a bare `zookeeper-client` program with no reading before writing,
//! no planning and no checks.
//!
//! ```text
//! raw_throughput create|read HOST:PORT PREFIX [WINDOW] < NODES
//! ```
//!
//! `NODES` has one `path<TAB>data` line per node, parents before children. `create` makes
//! `PREFIX` and then every node under it, 100 creates to a `multi` request, up to `WINDOW`
//! requests in flight (default 64); `read` reads every node's data back the same way
//! (`multiRead` of 100). Prints the number of nodes handled.

use std::io::Read;

use futures::stream::{FuturesUnordered, StreamExt};
use zookeeper_client as zk;

/// Operations per request.
const BATCH: usize = 100;
/// Requests in flight, by default.
const WINDOW: usize = 64;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, server, prefix, window) = match &args[..] {
        [mode, server, prefix] => (mode, server, prefix, WINDOW),
        [mode, server, prefix, window] => (mode, server, prefix, window.parse()?),
        _ => return Err("usage: raw_throughput create|read HOST:PORT PREFIX [WINDOW] < NODES".into()),
    };
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let nodes: Vec<(String, &[u8])> = input
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(path, data)| (format!("{prefix}{path}"), data.as_bytes()))
        .collect();
    let client = zk::Client::connect(server).await?;
    let acl = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let mut done = 0;
    match mode.as_str() {
        "create" => {
            client.create(prefix, b"", &acl).await?;
            let mut in_flight = FuturesUnordered::new();
            for batch in nodes.chunks(BATCH) {
                let mut writer = client.new_multi_writer();
                for (path, data) in batch {
                    writer.add_create(path, data, &acl)?;
                }
                in_flight.push(writer.commit());
                if in_flight.len() >= window {
                    done += in_flight.next().await.transpose()?.map_or(0, |r| r.len());
                }
            }
            while let Some(reply) = in_flight.next().await {
                done += reply?.len();
            }
        }
        "read" => {
            let mut in_flight = FuturesUnordered::new();
            let read = |reply: Vec<zk::MultiReadResult>| {
                reply.iter().filter(|r| matches!(r, zk::MultiReadResult::Data { .. })).count()
            };
            for batch in nodes.chunks(BATCH) {
                let mut reader = client.new_multi_reader();
                for (path, _) in batch {
                    reader.add_get_data(path)?;
                }
                in_flight.push(reader.commit());
                if in_flight.len() >= window {
                    done += in_flight.next().await.transpose()?.map_or(0, read);
                }
            }
            while let Some(reply) = in_flight.next().await {
                done += read(reply?);
            }
        }
        _ => return Err(format!("unknown mode {mode}: create or read").into()),
    }
    println!("{done}");
    Ok(())
}
