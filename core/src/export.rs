//! Exporting a subtree as tree text, or as JSON for tools.
//!
//! Both read the subtree with [`snapshot::read`] (one `get_data` per node plus one
//! `get_children` per node that has children, batched, up to [`ExportOptions::window`] in
//! flight). JSON is made from one snapshot of the whole subtree ([`to_json`], pure). Text is
//! written as it is read ([`write_text`]), so a large tree is never held whole: the top levels
//! are read first, down to where the tree has at least [`UNITS`] subtrees (or stops), then
//! those subtrees are read [`CONCURRENT`] at a time, each printed once it has arrived and in
//! order, then dropped. Memory is then bounded by a few subtrees, not by the tree. [`to_text`]
//! prints a snapshot already read (pure), with the same printer.
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
use std::io;

use futures::stream::{self, StreamExt};
use serde_json::{Map, Value};

use crate::path::{self, PathError};
use crate::props;
use crate::snapshot::{self, NodeState, Snapshot, SnapshotOptions, Visit, DEFAULT_WINDOW};
use crate::store::{Acl, Code, Store, StoreError};
use crate::tree::{self, Node};

/// [`write_text`] reads the top of the tree down to where it has at least this many subtrees
/// to read one by one (few: each level of the top costs a round trip more, and a small tree is
/// best read in few subtrees).
pub const UNITS: usize = 8;

/// Subtrees [`write_text`] reads at once (each with its own window of requests); also the most
/// it holds in memory, printed or waiting to be.
pub const CONCURRENT: usize = 16;

/// The top of the tree is not read deeper once it holds this many nodes.
const TOP_NODES: usize = 100_000;

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

/// Why [`write_text`] failed: reading, or writing the text out.
#[derive(Debug, thiserror::Error)]
pub enum WriteTextError {
    /// Reading failed; what was read before may have been written.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Writing the text failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The read options of an export.
fn snapshot_options(options: &ExportOptions) -> SnapshotOptions<'static> {
    SnapshotOptions {
        window: options.window,
        skip_zookeeper: true,
        skip_ephemeral: !options.ephemeral,
        acl: options.acl,
        ..SnapshotOptions::default()
    }
}

/// The path in normal form, or why it is not a path.
fn export_point(path: &str) -> Result<String, ExportError> {
    let path = path::normalize(path)?;
    path::validate(&path)?;
    Ok(path)
}

/// Reads the subtree at `path` as export needs it. `progress` gets the number of nodes read.
pub async fn read<S: Store + ?Sized>(
    store: &S,
    path: &str,
    options: &ExportOptions,
    progress: Option<snapshot::Progress<'_>>,
) -> Result<Snapshot, ExportError> {
    let path = export_point(path)?;
    let snapshot = snapshot::read(store, &path, &snapshot_options(options), progress).await?;
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
    let mut text = Vec::new();
    match write_text(store, path, options, &mut text).await {
        Ok(()) => Ok(String::from_utf8_lossy(&text).into_owned()),
        Err(WriteTextError::Export(e)) => Err(e),
        // Writing to memory does not fail.
        Err(WriteTextError::Io(e)) => unreachable!("writing to a Vec failed: {e}"),
    }
}

/// Writes the text of the subtree at `path` to `out` as it is read (see the module docs): the
/// same text as [`export_tree`], never the whole tree in memory. After an error, part of the
/// text may have been written.
#[tracing::instrument(level = "debug", skip(store, out))]
pub async fn write_text<S: Store + ?Sized, W: io::Write>(
    store: &S,
    path: &str,
    options: &ExportOptions,
    out: &mut W,
) -> Result<(), WriteTextError> {
    let root = export_point(path)?;
    let read_options = snapshot_options(options);
    let (top, depth) = read_top(store, &root, &read_options).await?;
    let printer = Printer::new(&top, options);

    // The top nodes in print order; those at `depth` with children are read again, whole.
    enum Item {
        Lines(String),
        Subtree(String, usize),
    }
    let mut items = Vec::new();
    let mut lines = String::new();
    printer.walk(&top, &top.root, 0, |path, level, state| {
        if level == depth && state.stat.num_children > 0 {
            items.push(Item::Lines(std::mem::take(&mut lines)));
            items.push(Item::Subtree(path.to_string(), level));
            false
        } else {
            printer.node(&mut lines, path, level, state);
            true
        }
    });
    items.push(Item::Lines(lines));
    drop(top);

    let mut chunks = stream::iter(items)
        .map(|item| async {
            match item {
                Item::Lines(lines) => Ok(lines),
                Item::Subtree(path, level) => {
                    let subtree = match snapshot::read(store, &path, &read_options, None).await {
                        Ok(subtree) => subtree,
                        // It vanished since the top was read: left out, as the walk does.
                        Err(e) if e.is(Code::NoNode) && e.path == path => return Ok(String::new()),
                        Err(e) => return Err(e.into()),
                    };
                    if read_options.acl {
                        check_digests_shown(&subtree)?;
                    }
                    let mut lines = String::new();
                    printer.walk(&subtree, &path, level, |path, level, state| {
                        printer.node(&mut lines, path, level, state);
                        true
                    });
                    Ok::<_, ExportError>(lines)
                }
            }
        })
        .buffered(CONCURRENT);
    let mut empty = true;
    while let Some(lines) = chunks.next().await {
        let lines = lines?;
        empty &= lines.is_empty();
        out.write_all(lines.as_bytes())?;
    }
    if empty {
        // Nothing to print is one newline, as zc.zk gives.
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Reads the top of the subtree at `root`: level by level, one level deeper each time, until it
/// has [`UNITS`] nodes with children at its deepest level (or none, or [`TOP_NODES`] nodes).
/// Returns the snapshot and its deepest level (0 is `root`); the children of the nodes at that
/// level are not read.
async fn read_top<S: Store + ?Sized>(
    store: &S,
    root: &str,
    options: &SnapshotOptions<'_>,
) -> Result<(Snapshot, usize), ExportError> {
    let mut depth = 0;
    loop {
        let visit = |path: &str| Some(Visit { children: level(root, path) < depth, acl: options.acl });
        let top =
            snapshot::read(store, root, &SnapshotOptions { visit: Some(&visit), ..*options }, None).await?;
        let units = top
            .nodes
            .iter()
            .filter(|(path, state)| state.stat.num_children > 0 && level(root, path) == depth)
            .count();
        if units == 0 || units >= UNITS || top.len() >= TOP_NODES {
            if options.acl {
                check_digests_shown(&top)?;
            }
            return Ok((top, depth));
        }
        depth += 1;
    }
}

/// How far below `root` the node at `path` is (0 for `root` itself).
fn level(root: &str, path: &str) -> usize {
    match path.get(root.len()..) {
        _ if path == root => 0,
        // Below `/`, the slash after the root is the root's own.
        _ if root == "/" => path.bytes().filter(|&b| b == b'/').count(),
        below => below.unwrap_or_default().bytes().filter(|&b| b == b'/').count(),
    }
}

/// Prints nodes of a snapshot as lines of the export's text.
struct Printer {
    /// The name to print the top node under; `None` when its line is not printed (at `/`).
    top_name: Option<String>,
}

impl Printer {
    fn new(snapshot: &Snapshot, options: &ExportOptions) -> Printer {
        let top_name = match (&options.name, path::split(&snapshot.root)) {
            (Some(name), _) => Some(name.clone()),
            (None, Some((_, last))) => Some(last.to_string()),
            // At `/` the root's line is not printed, so neither are its properties.
            (None, None) => None,
        };
        Printer { top_name }
    }

    /// Visits the nodes of `snapshot` from `top` (at `level` below the export's root) depth
    /// first in name order; `visit` returns false to skip a node's children.
    fn walk(
        &self,
        snapshot: &Snapshot,
        top: &str,
        level: usize,
        mut visit: impl FnMut(&str, usize, &snapshot::NodeState) -> bool,
    ) {
        // An explicit stack: trees can be deeper than the call stack would like.
        let mut stack = vec![(top.to_string(), level)];
        while let Some((path, level)) = stack.pop() {
            let Some(state) = snapshot.get(&path) else { continue };
            if visit(&path, level, state) {
                stack.extend(
                    state.child_names().iter().rev().map(|name| (path::child(&path, name), level + 1)),
                );
            }
        }
    }

    /// Appends the lines of the node at `path`, `level` below the export's root.
    fn node(&self, out: &mut String, path: &str, level: usize, state: &snapshot::NodeState) {
        let (name, depth) = match (level, &self.top_name) {
            (0, None) => return,
            (0, Some(name)) => (name.as_str(), 0),
            (level, top) => {
                (path::split(path).map_or("", |(_, name)| name), level - usize::from(top.is_none()))
            }
        };
        let node = Node {
            acl: state.acl.clone().unwrap_or_default(),
            ..Node::from_properties(props::decode(&state.data).properties)
        };
        tree::print_node(out, depth, name, &node);
    }
}

/// The JSON form of the subtree at `path` (see the module docs), from one snapshot of it.
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
    let printer = Printer::new(snapshot, options);
    let mut text = String::new();
    printer.walk(snapshot, &snapshot.root, 0, |path, level, state| {
        printer.node(&mut text, path, level, state);
        true
    });
    if text.is_empty() {
        // Nothing to print is one newline, as zc.zk gives.
        text.push('\n');
    }
    text
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
    fn level_counts_from_the_root_at_slash_and_below() {
        assert_eq!([level("/", "/"), level("/", "/a"), level("/", "/a/b")], [0, 1, 2]);
        assert_eq!([level("/a", "/a"), level("/a", "/a/b"), level("/a", "/a/b/c")], [0, 1, 2]);
    }

    #[test]
    fn to_text_prints_what_the_tree_printer_prints() {
        let s = snap("/", &[("/", r#"{"x":1}"#), ("/a", r#"{"type":"t","b":2,"l ->":"/t"}"#), ("/a/c", "")]);
        let options = ExportOptions::default();
        assert_eq!(to_text(&s, &options), tree::print(&to_tree(&s, &options)));
        let named = ExportOptions { name: Some("x".into()), ..ExportOptions::default() };
        assert_eq!(to_text(&s, &named), tree::print(&to_tree(&s, &named)));
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
