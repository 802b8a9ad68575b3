//! `export_tree` and the JSON export on both backends (spec section 3).

use serde_json::json;
use zczk_conformance::{close, on_every_backend, Backend};
use zczk_core::export::{self, ExportError, ExportOptions};
use zczk_core::import::{self, ImportOptions};
use zczk_core::store::{Code, CreateMode, CreateOptions, Store};

on_every_backend!(
    export_of_an_empty_tree_is_a_newline,
    export_at_root_prints_top_nodes_at_indent_zero_without_zookeeper,
    export_of_a_subtree_prints_its_top_node,
    export_with_a_name_prints_the_top_node_under_it,
    export_leaves_out_ephemerals_unless_asked,
    export_shows_raw_data_as_string_value,
    export_json_nests_properties_and_children,
    export_of_a_missing_node_is_no_node,
);

const TEXT: &str = "\
/a : svc
  x = 1
  /b
    l -> /a
/c
";

async fn setup<S: Store>(s: &S) {
    import::import_tree(s, TEXT, "/", &ImportOptions::default(), None).await.expect("import");
}

async fn export<S: Store>(s: &S, path: &str, options: &ExportOptions) -> String {
    export::export_tree(s, path, options).await.unwrap_or_else(|e| panic!("export {path}: {e}"))
}

async fn export_of_an_empty_tree_is_a_newline<B: Backend>(b: B) {
    let s = b.session().await;
    assert_eq!(export(&s, "/", &ExportOptions::default()).await, "\n");
    close(s).await;
}

async fn export_at_root_prints_top_nodes_at_indent_zero_without_zookeeper<B: Backend>(b: B) {
    let s = b.session().await;
    setup(&s).await;
    s.set_data("/", Some(br#"{"root":1}"#), None).await.unwrap();
    let text = export(&s, "/", &ExportOptions::default()).await;
    assert_eq!(text, "/a : svc\n  x = 1\n  /b\n    l -> /a\n/c\n");
    close(s).await;
}

async fn export_of_a_subtree_prints_its_top_node<B: Backend>(b: B) {
    let s = b.session().await;
    setup(&s).await;
    assert_eq!(export(&s, "/a/b", &ExportOptions::default()).await, "/b\n  l -> /a\n");
    assert_eq!(export(&s, "/a/b/", &ExportOptions::default()).await, "/b\n  l -> /a\n");
    close(s).await;
}

async fn export_with_a_name_prints_the_top_node_under_it<B: Backend>(b: B) {
    let s = b.session().await;
    setup(&s).await;
    let named = ExportOptions { name: Some("copy".into()), ..ExportOptions::default() };
    assert_eq!(export(&s, "/a", &named).await, "/copy : svc\n  x = 1\n  /b\n    l -> /a\n");
    // At `/`, the whole tree goes under the name.
    assert_eq!(export(&s, "/", &named).await, "/copy\n  /a : svc\n    x = 1\n    /b\n      l -> /a\n  /c\n");
    close(s).await;
}

async fn export_leaves_out_ephemerals_unless_asked<B: Backend>(b: B) {
    let (s, owner) = (b.session().await, b.session().await);
    setup(&s).await;
    owner
        .create("/c/10.0.0.1:80", Some(br#"{"pid":7}"#), &CreateOptions::new(CreateMode::Ephemeral))
        .await
        .unwrap();
    assert_eq!(export(&s, "/c", &ExportOptions::default()).await, "/c\n");
    let with = ExportOptions { ephemeral: true, ..ExportOptions::default() };
    assert_eq!(export(&s, "/c", &with).await, "/c\n  /10.0.0.1:80\n    pid = 7\n");
    // An ephemeral top node is left out entirely.
    assert_eq!(export(&s, "/c/10.0.0.1:80", &ExportOptions::default()).await, "\n");
    close(owner).await;
    close(s).await;
}

async fn export_shows_raw_data_as_string_value<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/raw", Some(b"hello world"), &CreateOptions::default()).await.unwrap();
    assert_eq!(export(&s, "/", &ExportOptions::default()).await, "/raw\n  string_value = 'hello world'\n");
    close(s).await;
}

async fn export_json_nests_properties_and_children<B: Backend>(b: B) {
    let s = b.session().await;
    setup(&s).await;
    let value = export::export_json(&s, "/a", &ExportOptions::default()).await.unwrap();
    assert_eq!(
        value,
        json!({
            "name": "a",
            "properties": {"type": "svc", "x": 1},
            "children": {"b": {"properties": {"l ->": "/a"}, "children": {}}},
        })
    );
    let root = export::export_json(&s, "/", &ExportOptions::default()).await.unwrap();
    let names: Vec<&String> = root["children"].as_object().map(|c| c.keys().collect()).unwrap_or_default();
    assert_eq!(names, ["a", "c"], "no /zookeeper, children in name order");
    assert!(root.get("name").is_none());
    close(s).await;
}

async fn export_of_a_missing_node_is_no_node<B: Backend>(b: B) {
    let s = b.session().await;
    match export::export_tree(&s, "/missing", &ExportOptions::default()).await {
        Err(ExportError::Read(e)) => assert_eq!((e.code, e.path.as_str()), (Code::NoNode, "/missing")),
        other => panic!("expected NoNode, got {other:?}"),
    }
    close(s).await;
}
