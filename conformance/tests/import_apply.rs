//! Applying an import plan on both backends: what a concurrent writer between plan and apply
//! does to batched and unbatched writes, and that nothing after a failure is written.

use zczk_conformance::{close, on_every_backend, Backend};
use zczk_core::import::{self, ApplyOptions, Extras, ImportError, ImportOptions, Plan};
use zczk_core::store::{Code, CreateOptions, Store};
use zczk_core::tree;

on_every_backend!(
    a_trimmed_node_deleted_meanwhile_is_not_an_error,
    a_node_created_meanwhile_stops_the_import_before_the_next_level,
    one_write_per_request_detects_conflicts_too,
    a_node_deleted_meanwhile_is_a_conflict_for_its_update,
);

/// Reads and plans importing `text` at `/` with `options`.
async fn plan<S: Store>(s: &S, text: &str, options: &ImportOptions) -> Plan {
    let tree = tree::parse(text).expect("test text parses");
    let snap = import::read(s, &tree, "/", options, None).await.expect("read");
    import::plan(&tree, "/", &snap, options).expect("plan")
}

fn conflict_paths(err: &ImportError) -> Vec<(Code, String)> {
    match err {
        ImportError::Conflict { failures, .. } => failures.iter().map(|e| (e.code, e.path.clone())).collect(),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn a_trimmed_node_deleted_meanwhile_is_not_an_error<B: Backend>(b: B) {
    let (s, other) = (b.session().await, b.session().await);
    let text = "/t\n  /keep\n";
    import::import_tree(&s, "/t\n  /keep\n  /x\n  /y\n  /z\n", "/", &ImportOptions::default(), None)
        .await
        .unwrap();
    let options = ImportOptions { extras: Extras::Trim, ..ImportOptions::default() };
    let plan = plan(&s, text, &options).await;
    assert_eq!(plan.deletes.len(), 3);
    other.delete("/t/y", None).await.unwrap();
    // The batch holding /t/y fails as a whole on the real server; it is re-sent one by one.
    let applied = import::apply(&s, &plan, &options.apply, None).await.unwrap();
    assert_eq!((applied.deletes, applied.vanished), (2, 1));
    let (children, _) = s.get_children("/t").await.unwrap();
    assert_eq!(children, ["keep"]);
    close(other).await;
    close(s).await;
}

async fn a_node_created_meanwhile_stops_the_import_before_the_next_level<B: Backend>(b: B) {
    let (s, other) = (b.session().await, b.session().await);
    let text = "/a\n  /x\n/b\n  /y\n/c\n";
    let plan = plan(&s, text, &ImportOptions::default()).await;
    assert_eq!(plan.creates.len(), 5);
    other.create("/b", Some(b"theirs"), &CreateOptions::default()).await.unwrap();
    let err = import::apply(&s, &plan, &ApplyOptions::default(), None).await.unwrap_err();
    assert_eq!(conflict_paths(&err), [(Code::NodeExists, "/b".to_string())]);
    assert!(err.to_string().contains("/b"), "{err}");
    // The top level went in one batch, which failed as a whole; the level below was never sent.
    for path in ["/a", "/c", "/a/x", "/b/y"] {
        assert_eq!(s.exists(path).await.unwrap(), None, "{path} not written");
    }
    let (data, _) = s.get_data("/b").await.unwrap();
    assert_eq!(data.as_deref(), Some(&b"theirs"[..]));
    close(other).await;
    close(s).await;
}

async fn one_write_per_request_detects_conflicts_too<B: Backend>(b: B) {
    let (s, other) = (b.session().await, b.session().await);
    import::import_tree(&s, "/a\n  v = 1\n/b\n  v = 1\n", "/", &ImportOptions::default(), None)
        .await
        .unwrap();
    let plan = plan(&s, "/a\n  v = 2\n/b\n  v = 2\n  /new\n", &ImportOptions::default()).await;
    other.set_data("/b", Some(b"{}"), None).await.unwrap();
    let single = ApplyOptions { batch: 1, window: 1, ..ApplyOptions::default() };
    let err = import::apply(&s, &plan, &single, None).await.unwrap_err();
    assert_eq!(conflict_paths(&err), [(Code::BadVersion, "/b".to_string())]);
    // Creates come first (level by level), then updates one at a time: /b/new and /a were
    // written before /b's update failed, nothing after it.
    assert!(s.exists("/b/new").await.unwrap().is_some());
    let (a, _) = s.get_data("/a").await.unwrap();
    assert_eq!(a.as_deref(), Some(&br#"{"v":2}"#[..]));
    let (b_data, _) = s.get_data("/b").await.unwrap();
    assert_eq!(b_data.as_deref(), Some(&b"{}"[..]), "the other client's write is kept");
    close(other).await;
    close(s).await;
}

async fn a_node_deleted_meanwhile_is_a_conflict_for_its_update<B: Backend>(b: B) {
    let (s, other) = (b.session().await, b.session().await);
    import::import_tree(&s, "/a\n  v = 1\n", "/", &ImportOptions::default(), None).await.unwrap();
    let plan = plan(&s, "/a\n  v = 2\n", &ImportOptions::default()).await;
    other.delete("/a", None).await.unwrap();
    let err = import::apply(&s, &plan, &ApplyOptions::default(), None).await.unwrap_err();
    assert_eq!(conflict_paths(&err), [(Code::NoNode, "/a".to_string())]);
    assert_eq!(s.exists("/a").await.unwrap(), None, "not re-created");
    close(other).await;
    close(s).await;
}
