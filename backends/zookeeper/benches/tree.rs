//! Import and export of a realistic 10,001-node tree: 100 services of 100 nodes each (3
//! properties per node, a node link per dependency), as zc.zk users keep their systems.
//!
//! Measures, each step repeated `ZCZK_BENCH_RUNS` times (default 5, median printed):
//! import into an empty tree, export, re-import unchanged (which must write nothing: checked by
//! counting write requests and by the server's zxid; also without the ACL check, whose
//! one-request-per-node `get_acl` reads ZooKeeper cannot batch), import with trim after
//! changing 10% of the nodes, and `delete -r`. On the real server in `ZCZK_TEST_ZOOKEEPER` (skipped with a
//! message when unset), and on the in-process emulator:
//!
//! ```text
//! .ci/zookeeper-server cargo bench -p zczk-zookeeper --bench tree
//! ```

mod common;

use std::fmt::Write as _;
use std::time::Duration;

use zczk_core::delete::{self, DeleteOptions};
use zczk_core::export::{self, ExportOptions};
use zczk_core::import::{self, Extras, ImportOptions};
use zczk_core::store::{Acl, Connector, CreateOptions, Observed, Store};
use zczk_core::tree;

use common::{median, runs, secs, timed, Writes};

/// Services in the tree.
const SERVICES: usize = 100;
/// `/config` parameters per service.
const PARAMS: usize = 45;
/// `/deps` entries per service: with the service, `providers`, `config` and `deps` nodes, 100
/// nodes per service.
const DEPS: usize = 51;

/// The tree text. `changed` alters the value of every tenth parameter (10% of the nodes).
fn tree_text(changed: bool) -> String {
    let mut t = String::with_capacity(1 << 20);
    t.push_str("/services\n  owner = 'platform'\n  region = 'eu-1'\n  version = 3\n");
    for s in 0..SERVICES {
        let _ = writeln!(t, "  /svc{s:03} : service\n    threads = {}\n    port = {}", 4 + s % 8, 8000 + s);
        t.push_str("    /providers\n      kind = 'registry'\n      ttl = 30\n      strict = False\n");
        let _ = writeln!(t, "    /config\n      version = {s}\n      format = 'ini'\n      reload = True");
        for p in 0..PARAMS {
            let value = if changed && p % 10 == 0 { format!("'changed-{p}'") } else { format!("'v{p}'") };
            let _ = writeln!(
                t,
                "      /param{p:02}\n        value = {value}\n        min = 0\n        max = {}",
                p * 10
            );
        }
        let _ = writeln!(t, "    /deps\n      count = {DEPS}\n      policy = 'all'\n      retries = 2");
        for d in 0..DEPS {
            let target = (s + d + 1) % SERVICES;
            let _ = writeln!(
                t,
                "      /dep{d:02}\n        weight = {}\n        timeout = 1.5\n        enabled = True\n        \
                 target -> /services/svc{target:03}/providers",
                d % 5
            );
        }
    }
    t
}

/// The step timings of one store kind.
#[derive(Default)]
struct Steps {
    import: Vec<Duration>,
    export: Vec<Duration>,
    reimport: Vec<Duration>,
    reimport_acl: Vec<Duration>,
    trim: Vec<Duration>,
    delete: Vec<Duration>,
}

/// Runs every step `runs()` times on `session`, counting its write requests. The tree lives
/// under `/services`.
async fn bench<S: Store>(session: &S, text: &str, changed: &str, nodes: usize) -> Steps {
    let store = &Observed::new(session, Writes::default());
    let expected = tree::print(&tree::parse(text).expect("the generated text parses"));
    let options = ImportOptions::default();
    let trim = ImportOptions { extras: Extras::Trim, ..ImportOptions::default() };
    let mut steps = Steps::default();
    for run in 0..runs() {
        let (done, t) = timed(import::import_tree(store, text, "/", &options, None)).await;
        let done = done.expect("import into an empty tree");
        assert_eq!(done.applied.map(|a| a.creates), Some(nodes), "every node created");
        steps.import.push(t);

        let (text_out, t) = timed(export::export_tree(store, "/", &ExportOptions::default())).await;
        assert!(text_out.expect("export") == expected, "export gives the canonical text of the import");
        steps.export.push(t);

        // Nothing else writes on this server: two markers created around the re-import get
        // consecutive zxids only if the re-import wrote nothing.
        let before = session.create(&format!("/marker{run}a"), Some(b""), &CreateOptions::default()).await;
        let writes = store.observer().count();
        let (done, t) = timed(import::import_tree(store, text, "/", &options, None)).await;
        let done = done.expect("unchanged re-import");
        assert_eq!(store.observer().count(), writes, "an unchanged re-import sends no write request");
        assert_eq!(done.writes, 0, "an unchanged re-import plans nothing");
        let after = session.create(&format!("/marker{run}b"), Some(b""), &CreateOptions::default()).await;
        let (before, after) = (before.expect("marker").stat.czxid, after.expect("marker").stat.czxid);
        assert_eq!(after, before + 1, "no transaction between the markers");
        for marker in [format!("/marker{run}a"), format!("/marker{run}b")] {
            session.delete(&marker, None).await.expect("deleting a marker");
        }
        steps.reimport.push(t);

        // With an ACL to enforce, every existing node's ACL is read (one request each).
        let with_acl = ImportOptions { acl: Some(Acl::open()), ..ImportOptions::default() };
        let (done, t) = timed(import::import_tree(store, text, "/", &with_acl, None)).await;
        assert_eq!(done.expect("unchanged re-import with ACL check").writes, 0);
        assert_eq!(store.observer().count(), writes, "an unchanged re-import sends no write request");
        steps.reimport_acl.push(t);

        let (done, t) = timed(import::import_tree(store, changed, "/", &trim, None)).await;
        let done = done.expect("import with trim");
        assert_eq!(done.applied.map(|a| a.updates), Some(SERVICES * PARAMS.div_ceil(10)));
        steps.trim.push(t);

        let (done, t) = timed(delete::delete_recursive(store, "/services", &DeleteOptions::default())).await;
        assert_eq!(done.expect("delete -r").deleted, nodes);
        steps.delete.push(t);
    }
    steps
}

fn report(server: &str, nodes: usize, steps: Steps) {
    let line = |what: &str, times: Vec<Duration>, target: Option<f64>| {
        let m = median(times);
        let verdict = match target {
            Some(limit) if m.as_secs_f64() < limit => format!("  (target < {limit} s met)"),
            Some(limit) => format!("  (target < {limit} s MISSED)"),
            None => String::new(),
        };
        println!("  {what:<32} {:>9} {:>9.0} nodes/s{verdict}", secs(m), nodes as f64 / m.as_secs_f64());
    };
    println!("{server}: {nodes} nodes, median of {} runs", runs());
    let real = server.starts_with("ZooKeeper");
    line("import into empty tree", steps.import, real.then_some(0.8));
    line("export", steps.export, real.then_some(1.0));
    line("re-import unchanged (0 writes)", steps.reimport, real.then_some(0.6));
    line("  same, enforcing an ACL", steps.reimport_acl, None);
    line("import, trim, 10% changed", steps.trim, None);
    line("delete -r", steps.delete, None);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let text = tree_text(false);
    let changed = tree_text(true);
    let nodes = 1 + SERVICES * (4 + PARAMS + DEPS);

    let emulator = zczk_emulator::Emulator::new();
    let session = emulator.connector().connect().await.expect("an emulator session");
    let steps = bench(&session, &text, &changed, nodes).await;
    report("emulator (in process)", nodes, steps);

    if let Some(server) = common::server("tree") {
        let session = common::chrooted_session(&server, "tree").await;
        let steps = bench(&session, &text, &changed, nodes).await;
        report(&format!("ZooKeeper at {server}"), nodes, steps);
        let _ = session.close().await;
    }
}
