//! Import and export through the high-level client, on every backend.

use crate::client_support::client;
use zczk_conformance::{on_every_backend, Backend};
use zczk_core::client::ClientError;
use zczk_core::export::ExportOptions;
use zczk_core::import::{ImportError, ImportOptions};

on_every_backend!(
    client_import_then_export_round_trips,
    client_import_of_bad_text_writes_nothing,
    closed_client_refuses_import_and_export
);

const TEXT: &str = "/app : web\n  threads = 4\n  db -> /db\n  /providers\n/db\n  host = 'h'\n";

async fn client_import_then_export_round_trips<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let imported = zk.import_tree(TEXT, "/", &ImportOptions::default()).await.unwrap();
    assert!(imported.lines.is_empty(), "{:?}", imported.lines);
    let text = zk.export_tree("/", &ExportOptions::default()).await.unwrap();
    assert_eq!(text, "/app : web\n  threads = 4\n  db -> /db\n  /providers\n/db\n  host = 'h'\n");
    let json = zk.export_json("/db", &ExportOptions::default()).await.unwrap();
    assert_eq!(json["properties"]["host"], "h");
    // Unchanged: nothing written.
    let again = zk.import_tree(&text, "/", &ImportOptions::default()).await.unwrap();
    assert_eq!(again.writes, 0);
}

async fn client_import_of_bad_text_writes_nothing<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let error =
        zk.import_tree("/a\n  x = 1\n/b\n  y = oops\n", "/", &ImportOptions::default()).await.unwrap_err();
    assert!(matches!(error, ImportError::Parse(ref e) if e.line == 4), "{error}");
    assert_eq!(zk.export_tree("/", &ExportOptions::default()).await.unwrap(), "\n");
}

async fn closed_client_refuses_import_and_export<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    zk.close().await.unwrap();
    assert!(zk.export_tree("/", &ExportOptions::default()).await.is_err());
    assert!(zk.import_tree(TEXT, "/", &ImportOptions::default()).await.is_err());
    assert!(matches!(zk.resolve("/").await, Err(ClientError::Closed)));
}
