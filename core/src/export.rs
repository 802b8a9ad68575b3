//! Exporting a subtree as tree text, or as JSON for tools.
//!
//! Both read the subtree once with [`snapshot::read`] (one `get_data` per node plus one
//! `get_children` per node that has children, up to [`ExportOptions::window`] in flight), then
//! turn the snapshot into text or JSON with pure functions ([`to_text`], [`to_json`]).
//!
//! **Text** (zc.zk's `export_tree`): at `/` the root's own line is not printed (its children
//! are at indent 0) and `/zookeeper` is left out; elsewhere the top node is printed under its
//! name; with [`ExportOptions::name`] it is printed under that name, and at `/` the root then
//! gets a line of its own with its properties. Ephemeral nodes are left out unless
//! [`ExportOptions::ephemeral`]. An empty result is a single newline. With
//! [`ExportOptions::acl`], each node's ACL is printed under its line, one
//! `acl SCHEME:ID:PERMS` line per entry, which import gives the node back.
//!
//! **JSON**: one object per node, children nested by name:
//!
//! ```json
//! {"name": "app", "properties": {"threads": 4, "db ->": "/databases/main"},
//!  "children": {"providers": {"properties": {}, "children": {}}}}
//! ```
//!
//! `properties` is the node's data as stored, decoded as zczk decodes it (node links keep
//! their ` ->` suffix and property links their ` =>` suffix, data that is not a JSON object is
//! `{"string_value": ...}`); `children` maps each child's name to its object, in name order.
//! Only the top object has a `name`: the `name` option, else the last segment of the path
//! (none for `/`). At `/`, `/zookeeper` is left out and the root's own properties are included.
//! An ephemeral top node that is left out gives `null`. With [`ExportOptions::acl`], each
//! object also has `"acl": ["SCHEME:ID:PERMS", ...]`.
//!
//! **ACLs** are read with one `get_acl` request per node. ZooKeeper shows a `digest` entry's
//! hash only to a session with ADMIN permission on the node (others see `user:x`); such an ACL
//! could not be given back by an import, so the export fails with
//! [`ExportError::HiddenDigest`] instead.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::path::{self, PathError};
use crate::props;
use crate::snapshot::{self, NodeState, Snapshot, SnapshotOptions, DEFAULT_WINDOW};
use crate::store::{Acl, Store, StoreError};
use crate::tree::{self, Node};

/// Options of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// Include ephemeral nodes.
    pub ephemeral: bool,
    /// Print the top node under this name instead of its own.
    pub name: Option<String>,
    /// Read and print each node's ACL.
    pub acl: bool,
    /// Most requests in flight at once.
    pub window: usize,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions { ephemeral: false, name: None, acl: false, window: DEFAULT_WINDOW }
    }
}

/// Why an export failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The path is not a valid path.
    #[error(transparent)]
    Path(#[from] PathError),
    /// Reading failed (`NoNode` naming the path when it does not exist).
    #[error(transparent)]
    Read(#[from] StoreError),
    /// ZooKeeper hid the hash of a `digest` entry of the node's ACL (`digest:user:x`), as it
    /// does from a session without ADMIN permission on the node.
    #[error(
        "{path}: ZooKeeper hides the hash of ACL entry `digest:{user}:..` from this session \
         (it shows it only to one with ADMIN permission on the node); authenticate as an identity \
         the ACL grants ADMIN to export the ACL"
    )]
    HiddenDigest {
        /// The node.
        path: String,
        /// The entry's user.
        user: String,
    },
}

/// Reads the subtree at `path` as export needs it. `progress` gets the number of nodes read.
pub async fn read<S: Store + ?Sized>(
    store: &S,
    path: &str,
    options: &ExportOptions,
    progress: Option<snapshot::Progress<'_>>,
) -> Result<Snapshot, ExportError> {
    let path = path::normalize(path)?;
    path::validate(&path)?;
    let read_options = SnapshotOptions {
        window: options.window,
        skip_zookeeper: true,
        skip_ephemeral: !options.ephemeral,
        acl: options.acl,
        ..SnapshotOptions::default()
    };
    let snapshot = snapshot::read(store, &path, &read_options, progress).await?;
    if options.acl {
        check_digests_shown(&snapshot)?;
    }
    Ok(snapshot)
}

/// Fails on the first node (in breadth-first order) whose ACL has a `digest` entry with its
/// hash hidden: ZooKeeper shows `user:x`, and no real hash is one character long.
fn check_digests_shown(snapshot: &Snapshot) -> Result<(), ExportError> {
    for path in snapshot.paths_breadth_first() {
        let acl = snapshot.get(path).and_then(|state| state.acl.as_deref()).unwrap_or_default();
        let hidden = acl.iter().find_map(|entry| match entry.id.split_once(':') {
            Some((user, "x")) if entry.scheme == "digest" => Some(user),
            _ => None,
        });
        if let Some(user) = hidden {
            return Err(ExportError::HiddenDigest { path: path.to_string(), user: user.to_string() });
        }
    }
    Ok(())
}

/// The text of the subtree at `path` (see the module docs).
#[tracing::instrument(level = "debug", skip(store))]
pub async fn export_tree<S: Store + ?Sized>(
    store: &S,
    path: &str,
    options: &ExportOptions,
) -> Result<String, ExportError> {
    let snapshot = read(store, path, options, None).await?;
    Ok(to_text(&snapshot, options))
}

/// The JSON form of the subtree at `path` (see the module docs).
#[tracing::instrument(level = "debug", skip(store))]
pub async fn export_json<S: Store + ?Sized>(
    store: &S,
    path: &str,
    options: &ExportOptions,
) -> Result<Value, ExportError> {
    let snapshot = read(store, path, options, None).await?;
    Ok(to_json(&snapshot, options))
}

/// The tree to print for a snapshot: a nameless root whose children are the top-level lines.
/// Pure.
pub fn to_tree(snapshot: &Snapshot, options: &ExportOptions) -> Node {
    let Some(top) = build(
        snapshot,
        |state| Node {
            acl: state.acl.clone().unwrap_or_default(),
            ..Node::from_properties(props::decode(&state.data).properties)
        },
        |node, name, child| {
            node.children.insert(name.to_string(), child);
        },
    ) else {
        return Node::default();
    };
    match (&options.name, path::split(&snapshot.root)) {
        (Some(name), _) => Node { children: [(name.clone(), top)].into(), ..Node::default() },
        (None, Some((_, last))) => Node { children: [(last.to_string(), top)].into(), ..Node::default() },
        // At `/` the root's line is not printed, so neither are its properties.
        (None, None) => Node { children: top.children, ..Node::default() },
    }
}

/// The text of a snapshot (see the module docs). Pure.
pub fn to_text(snapshot: &Snapshot, options: &ExportOptions) -> String {
    let tree = to_tree(snapshot, options);
    // Nothing to print is one newline, as zc.zk gives.
    let text = if tree.children.is_empty() { String::new() } else { tree::print(&tree) };
    if text.is_empty() {
        "\n".to_string()
    } else {
        text
    }
}

/// The JSON form of a snapshot (see the module docs). Pure.
pub fn to_json(snapshot: &Snapshot, options: &ExportOptions) -> Value {
    let built = build(
        snapshot,
        |state| {
            let mut object = Map::new();
            object.insert("properties".into(), Value::Object(props::decode(&state.data).properties));
            if let Some(acl) = &state.acl {
                object.insert("acl".into(), acl.iter().map(Acl::to_string).collect());
            }
            object.insert("children".into(), Value::Object(Map::new()));
            object
        },
        |object, name, child| {
            if let Some(Value::Object(children)) = object.get_mut("children") {
                children.insert(name.to_string(), Value::Object(child));
            }
        },
    );
    let Some(top) = built else { return Value::Null };
    let name = options.name.clone().or_else(|| path::split(&snapshot.root).map(|(_, last)| last.to_string()));
    let mut object = Map::new();
    if let Some(name) = name {
        object.insert("name".into(), Value::String(name));
    }
    object.extend(top);
    Value::Object(object)
}

/// Builds one value per node bottom-up (no recursion: trees can be deeper than the call stack
/// would like) and returns the root's, or `None` for an empty snapshot.
fn build<T>(
    snapshot: &Snapshot,
    make: impl Fn(&NodeState) -> T,
    mut attach: impl FnMut(&mut T, &str, T),
) -> Option<T> {
    let order = snapshot.paths_breadth_first();
    let mut built: HashMap<&str, T> = HashMap::with_capacity(order.len());
    for &path in order.iter().rev() {
        let Some(state) = snapshot.get(path) else { continue };
        let mut value = make(state);
        for name in state.child_names() {
            if let Some(child) = built.remove(path::child(path, name).as_str()) {
                attach(&mut value, name, child);
            }
        }
        built.insert(path, value);
    }
    built.remove(snapshot.root.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::NodeState;
    use crate::store::Stat;
    use serde_json::json;

    fn snap(root: &str, nodes: &[(&str, &str)]) -> Snapshot {
        let mut s = Snapshot::new(root);
        for (path, data) in nodes {
            s.insert(*path, NodeState::new(data.as_bytes(), Stat::default()));
        }
        s
    }

    #[test]
    fn to_tree_at_root_drops_the_root_line() {
        let s = snap("/", &[("/", r#"{"x":1}"#), ("/a", r#"{"b":2,"l ->":"/t"}"#), ("/a/c", "")]);
        let t = to_tree(&s, &ExportOptions::default());
        assert!(t.properties.is_empty());
        let a = &t.children["a"];
        assert_eq!(a.properties.get("b"), Some(&json!(2)));
        assert_eq!(a.links.get("l").map(String::as_str), Some("/t"));
        assert!(a.children.contains_key("c"));
    }

    #[test]
    fn to_tree_names_the_top_node() {
        let s = snap("/a/b", &[("/a/b", ""), ("/a/b/c", "")]);
        assert!(to_tree(&s, &ExportOptions::default()).children["b"].children.contains_key("c"));
        let named = ExportOptions { name: Some("x".into()), ..ExportOptions::default() };
        assert!(to_tree(&s, &named).children["x"].children.contains_key("c"));
        let root = snap("/", &[("/", r#"{"p":1}"#), ("/a", "")]);
        let t = to_tree(&root, &named);
        assert_eq!(t.children["x"].properties.get("p"), Some(&json!(1)));
    }

    #[test]
    fn empty_snapshot_is_a_newline_and_null() {
        let s = Snapshot::new("/e");
        assert_eq!(to_text(&s, &ExportOptions::default()), "\n");
        assert_eq!(to_json(&s, &ExportOptions::default()), Value::Null);
    }

    #[test]
    fn json_nests_children_by_name_with_raw_properties() {
        let s = snap("/a", &[("/a", r#"{"t":1,"l ->":"/x"}"#), ("/a/c", "raw"), ("/a/b", "")]);
        let v = to_json(&s, &ExportOptions::default());
        assert_eq!(
            v,
            json!({"name": "a", "properties": {"t": 1, "l ->": "/x"}, "children": {
                "b": {"properties": {}, "children": {}},
                "c": {"properties": {"string_value": "raw"}, "children": {}},
            }})
        );
        let keys: Vec<&String> = v["children"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
        assert_eq!(keys, ["b", "c"]);
    }

    #[test]
    fn acls_read_are_in_the_tree_and_the_json() {
        use crate::store::Perms;
        let mut s = snap("/a", &[("/a", r#"{"x":1}"#), ("/a/b", "")]);
        let acl = vec![Acl::new(Perms::ALL, "digest", "u:H="), Acl::new(Perms::READ, "world", "anyone")];
        if let Some(n) = s.nodes.get_mut("/a") {
            n.acl = Some(acl.clone());
        }
        let options = ExportOptions { acl: true, ..ExportOptions::default() };
        let text = to_text(&s, &options);
        assert_eq!(text, "/a\n  acl digest:u:H=:rwcda\n  acl world:anyone:r\n  x = 1\n  /b\n");
        assert_eq!(tree::parse(&text).unwrap().children["a"].acl, acl);
        assert_eq!(
            to_json(&s, &options),
            json!({"name": "a", "properties": {"x": 1}, "acl": ["digest:u:H=:rwcda", "world:anyone:r"],
                   "children": {"b": {"properties": {}, "children": {}}}})
        );
        assert_eq!(check_digests_shown(&s), Ok(()));
    }

    #[test]
    fn a_hidden_digest_hash_is_an_error_naming_the_node() {
        use crate::store::Perms;
        let mut s = snap("/a", &[("/a", ""), ("/a/b", "")]);
        if let Some(n) = s.nodes.get_mut("/a/b") {
            n.acl = Some(vec![
                Acl::new(Perms::READ, "world", "anyone"),
                Acl::new(Perms::ALL, "digest", "admin:x"),
            ]);
        }
        let error = check_digests_shown(&s).unwrap_err();
        assert_eq!(error, ExportError::HiddenDigest { path: "/a/b".into(), user: "admin".into() });
        assert!(error
            .to_string()
            .starts_with("/a/b: ZooKeeper hides the hash of ACL entry `digest:admin:..`"));
    }

    #[test]
    fn json_at_root_has_no_name() {
        let s = snap("/", &[("/", ""), ("/a", "")]);
        let v = to_json(&s, &ExportOptions::default());
        assert_eq!(v, json!({"properties": {}, "children": {"a": {"properties": {}, "children": {}}}}));
    }
}
