//! Pre-loading an emulator with a tree.

use serde_json::json;
use zczk_core::store::{Acl, Code, Store};
use zczk_core::tree::Node;
use zczk_emulator::{Emulator, LoadError};

#[tokio::test]
async fn from_tree_text_creates_every_node_with_its_properties() {
    let text = "/app : service\n  port = 8080\n  db -> /db\n  /providers\n/db\n";
    let emulator = Emulator::from_tree_text(text).unwrap();
    let s = emulator.session();
    let (data, stat) = s.get_data("/app").await.unwrap();
    let value: serde_json::Value = serde_json::from_slice(&data.unwrap()).unwrap();
    assert_eq!(value, json!({"type": "service", "port": 8080, "db ->": "/db"}));
    assert_eq!((stat.num_children, stat.version), (1, 0));
    assert_eq!(s.get_data("/app/providers").await.unwrap().0.as_deref(), Some(&b""[..]));
    assert_eq!(s.get_data("/db").await.unwrap().0.as_deref(), Some(&b""[..]));
    assert_eq!(s.get_acl("/db").await.unwrap().0, Acl::open());
    // Parents are made before their children: zxids grow down the tree.
    let app = s.exists("/app").await.unwrap().unwrap();
    let providers = s.exists("/app/providers").await.unwrap().unwrap();
    assert!(providers.czxid > app.czxid);
}

#[test]
fn bad_tree_text_is_a_parse_error() {
    assert!(matches!(Emulator::from_tree_text("/a\n  x = 1+2\n"), Err(LoadError::Parse(_))));
}

#[tokio::test]
async fn load_adds_a_tree_below_an_existing_node_and_stops_at_a_conflict() {
    let emulator = Emulator::new();
    let mut root = Node::default();
    let mut a = Node::default();
    a.properties.insert("k".into(), json!("v"));
    a.children.insert("b".into(), Node::default());
    root.children.insert("a".into(), a);
    assert_eq!(emulator.load("/", &root).unwrap(), 2);
    assert_eq!(emulator.session().get_data("/a").await.unwrap().0.as_deref(), Some(&br#"{"k":"v"}"#[..]));
    let again = emulator.load("/", &root).unwrap_err();
    assert_eq!((again.code, again.path.as_str()), (Code::NodeExists, "/a"));
    assert_eq!(emulator.load("/a/b", &root).unwrap(), 2);
    assert!(emulator.session().exists("/a/b/a/b").await.unwrap().is_some());
    assert_eq!(emulator.load("/missing", &root).unwrap_err().code, Code::NoNode);
    assert_eq!(Emulator::from_tree(&root).unwrap().node_count(), 6);
}
