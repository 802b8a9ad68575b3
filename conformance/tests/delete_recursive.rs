//! `delete_recursive` on both backends (spec section 7): children first, ephemerals kept with
//! upstream's messages unless forced, dry run, `/` and `/zookeeper` kept.

use zczk_conformance::{close, on_every_backend, Backend};
use zczk_core::delete::{self, DeleteError, DeleteOptions};
use zczk_core::import::{self, ImportOptions};
use zczk_core::store::{Code, CreateMode, CreateOptions, Store};

on_every_backend!(
    delete_recursive_deletes_the_whole_subtree,
    delete_recursive_keeps_ephemerals_and_their_ancestors,
    force_deletes_ephemerals_too,
    dry_run_reports_and_deletes_nothing,
    delete_of_root_keeps_root_and_zookeeper,
    delete_of_a_missing_node_is_no_node,
    delete_of_a_deep_and_wide_tree,
);

async fn setup<S: Store>(s: &S, text: &str) {
    import::import_tree(s, text, "/", &ImportOptions::default(), None).await.expect("import");
}

async fn delete<S: Store>(s: &S, path: &str, options: &DeleteOptions) -> delete::DeleteReport {
    delete::delete_recursive(s, path, options).await.unwrap_or_else(|e| panic!("delete -r {path}: {e}"))
}

async fn exists<S: Store>(s: &S, path: &str) -> bool {
    s.exists(path).await.unwrap().is_some()
}

async fn delete_recursive_deletes_the_whole_subtree<B: Backend>(b: B) {
    let s = b.session().await;
    setup(&s, "/f\n  /a\n    /x\n    /y\n  /b\n/keep\n").await;
    let report = delete(&s, "/f", &DeleteOptions::default()).await;
    assert!(report.lines.is_empty(), "{:?}", report.lines);
    assert_eq!((report.deleted, report.vanished), (5, 0));
    assert!(!exists(&s, "/f").await);
    assert!(exists(&s, "/keep").await);
    close(s).await;
}

async fn delete_recursive_keeps_ephemerals_and_their_ancestors<B: Backend>(b: B) {
    let (s, owner) = (b.session().await, b.session().await);
    setup(&s, "/f\n  /p\n  /q\n    /r\n").await;
    for server in ["/f/p/h:1", "/f/p/h:2"] {
        owner.create(server, Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    }
    let report = delete(&s, "/f", &DeleteOptions::default()).await;
    assert_eq!(
        report.lines,
        [
            "Not deleting /f/p/h:1 because it's ephemeral.",
            "Not deleting /f/p/h:2 because it's ephemeral.",
            "/f/p not deleted due to ephemeral descendent.",
            "/f not deleted due to ephemeral descendent.",
        ]
    );
    assert_eq!(report.deleted, 2);
    assert!(!exists(&s, "/f/q").await);
    assert!(exists(&s, "/f/p/h:1").await && exists(&s, "/f/p/h:2").await);
    close(owner).await;
    close(s).await;
}

async fn force_deletes_ephemerals_too<B: Backend>(b: B) {
    let (s, owner) = (b.session().await, b.session().await);
    setup(&s, "/f\n  /p\n").await;
    owner.create("/f/p/h:1", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    let forced = DeleteOptions { force: true, ..DeleteOptions::default() };
    let report = delete(&s, "/f", &forced).await;
    assert!(report.lines.is_empty(), "{:?}", report.lines);
    assert_eq!(report.deleted, 3);
    assert!(!exists(&s, "/f").await);
    close(owner).await;
    close(s).await;
}

async fn dry_run_reports_and_deletes_nothing<B: Backend>(b: B) {
    let (s, owner) = (b.session().await, b.session().await);
    setup(&s, "/f\n  /a\n    /x\n  /p\n").await;
    owner.create("/f/p/e", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    let options = DeleteOptions { dry_run: true, ..DeleteOptions::default() };
    let report = delete(&s, "/f", &options).await;
    assert_eq!(
        report.lines,
        [
            "would delete /f/a/x.",
            "would delete /f/a.",
            "wouldn't delete /f/p/e because it's ephemeral.",
            "/f/p not deleted due to ephemeral descendent.",
            "/f not deleted due to ephemeral descendent.",
        ]
    );
    assert_eq!(report.deleted, 0);
    assert!(exists(&s, "/f/a/x").await);
    close(owner).await;
    close(s).await;
}

async fn delete_of_root_keeps_root_and_zookeeper<B: Backend>(b: B) {
    let s = b.session().await;
    setup(&s, "/a\n  /b\n/c\n").await;
    let zookeeper = exists(&s, "/zookeeper").await;
    let report = delete(&s, "/", &DeleteOptions::default()).await;
    assert!(report.lines.is_empty(), "{:?}", report.lines);
    assert_eq!(report.deleted, 3);
    assert!(exists(&s, "/").await);
    assert_eq!(exists(&s, "/zookeeper").await, zookeeper, "/zookeeper is left as it was");
    let (children, _) = s.get_children("/").await.unwrap();
    let expected: Vec<&str> = if zookeeper { vec!["zookeeper"] } else { vec![] };
    assert_eq!(children, expected);
    close(s).await;
}

async fn delete_of_a_missing_node_is_no_node<B: Backend>(b: B) {
    let s = b.session().await;
    match delete::delete_recursive(&s, "/missing", &DeleteOptions::default()).await {
        Err(DeleteError::Read(e)) => assert_eq!((e.code, e.path.as_str()), (Code::NoNode, "/missing")),
        other => panic!("expected NoNode, got {other:?}"),
    }
    close(s).await;
}

async fn delete_of_a_deep_and_wide_tree<B: Backend>(b: B) {
    let s = b.session().await;
    // 4 levels, 6 children each: 1 + 6 + 36 + 216 nodes, more than one batch per level.
    let mut text = String::from("/t\n");
    for i in 0..6 {
        text.push_str(&format!("  /a{i}\n"));
        for j in 0..6 {
            text.push_str(&format!("    /b{j}\n"));
            for k in 0..6 {
                text.push_str(&format!("      /c{k}\n"));
            }
        }
    }
    setup(&s, &text).await;
    let small = DeleteOptions { batch: 7, window: 3, ..DeleteOptions::default() };
    let report = delete(&s, "/t", &small).await;
    assert_eq!(report.deleted, 1 + 6 + 36 + 216);
    assert!(!exists(&s, "/t").await);
    close(s).await;
}
