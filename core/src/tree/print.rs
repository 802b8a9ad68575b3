//! Printing a [`Node`](super::Node) as canonical tree text.
//!
//! Two spaces per level. Each node is its `/name` line (with ` : type` when the type is a
//! non-empty string that line can hold), then its ACL entries (`acl SCHEME:ID:PERMS`) in their
//! order, its properties sorted by name, its node links sorted, its property links sorted,
//! then its children sorted by name. Values print as
//! Python 3 literals, so zc.zk can read the text too.

use std::fmt::Write as _;

use serde_json::Value;

use super::comments::{Comments, Item};
use super::value::write_value;
use super::{Node, ACL_KEYWORD};

/// Prints the children of `root` as tree text (the root's own line, and so its properties,
/// are not printed). [`parse`](super::parse) reads the text back to an equal tree whenever
/// the tree can be written at all: names non-empty, without blanks and not starting with
/// `#`; node names without `=` or `->` that ZooKeeper accepts (not `.` or `..`, no control
/// characters), property names without `=>`, node link names without `=`; link targets one
/// word, property link targets one or two; values within the value grammar (integers in the
/// i64 range, nesting within [`MAX_VALUE_DEPTH`](super::MAX_VALUE_DEPTH)); each node's data
/// within ZooKeeper's size limit; ACL entries that ZooKeeper accepts, each once, with
/// permissions and a scheme without blanks that starts with neither `=` nor `->`. Anything else is printed as it is and refused by the
/// parser.
pub fn print(root: &Node) -> String {
    print_with(root, None)
}

/// [`print`], writing `comments` back before the items they preceded.
pub(crate) fn print_with(root: &Node, comments: Option<&Comments>) -> String {
    let mut out = String::new();
    // The names from the root to the node being written, kept only for comments.
    let mut path: Vec<String> = Vec::new();
    // An explicit stack rather than recursion: a tree read from ZooKeeper can be deep.
    let mut stack: Vec<(usize, &str, &Node)> =
        root.children.iter().rev().map(|(name, child)| (0, name.as_str(), child)).collect();
    while let Some((depth, name, node)) = stack.pop() {
        let comments = comments.map(|comments| {
            path.truncate(depth);
            (comments, &path[..])
        });
        write_node(&mut out, depth, name, node, comments);
        if comments.is_some() {
            path.push(name.to_string());
        }
        stack.extend(node.children.iter().rev().map(|(name, child)| (depth + 1, name.as_str(), child)));
    }
    if let Some(comments) = comments {
        write_comments(&mut out, 0, &comments.trailing);
    }
    out
}

/// Appends one node's own lines (its `/name` line, properties and links; not its children)
/// indented `depth` levels: what [`print`] writes for each node, for printers that walk
/// something other than a [`Node`] tree (export walks what it reads).
pub(crate) fn print_node(out: &mut String, depth: usize, name: &str, node: &Node) {
    write_node(out, depth, name, node, None);
}

/// Writes a node's own line and its property lines (not its children), each after the
/// comments that preceded it; `comments` comes with the path of the node's parent.
fn write_node(
    out: &mut String,
    depth: usize,
    name: &str,
    node: &Node,
    comments: Option<(&Comments, &[String])>,
) {
    let header = header_type(node);
    let mut own_path = Vec::new();
    if let Some((comments, parent_path)) = comments {
        write_comments(out, depth, comments.before(parent_path, Item::Node(name.to_string())));
        own_path = [parent_path, &[name.to_string()]].concat();
        if header.is_some() {
            // A `type` line that became the node line's ` : type` keeps its comments above it.
            write_comments(out, depth, comments.before(&own_path, Item::Property("type".into())));
        }
    }
    let before = |item: Item| match comments {
        Some((comments, _)) => comments.before(&own_path, item),
        None => &[],
    };

    indent(out, depth);
    out.push('/');
    out.push_str(name);
    if let Some(node_type) = header {
        out.push_str(" : ");
        out.push_str(node_type);
    }
    out.push('\n');

    for entry in &node.acl {
        let entry = entry.to_string();
        write_comments(out, depth + 1, before(Item::Acl(entry.clone())));
        indent(out, depth + 1);
        let _ = writeln!(out, "{ACL_KEYWORD} {entry}");
    }
    let mut names: Vec<&String> =
        node.properties.keys().filter(|name| !(header.is_some() && *name == "type")).collect();
    names.sort_unstable();
    for name in names {
        write_comments(out, depth + 1, before(Item::Property(name.clone())));
        indent(out, depth + 1);
        out.push_str(name);
        out.push_str(" = ");
        write_value(out, &node.properties[name.as_str()]);
        out.push('\n');
    }
    for (name, target) in &node.links {
        write_comments(out, depth + 1, before(Item::Link(name.clone())));
        indent(out, depth + 1);
        let _ = writeln!(out, "{name} -> {target}");
    }
    for (name, target) in &node.property_links {
        write_comments(out, depth + 1, before(Item::PropertyLink(name.clone())));
        indent(out, depth + 1);
        let _ = writeln!(out, "{name} => {target}");
    }
}

fn write_comments(out: &mut String, depth: usize, lines: &[String]) {
    for line in lines {
        indent(out, depth);
        out.push_str(line);
        out.push('\n');
    }
}

/// The type to show on the node's line: a non-empty string that reads back unchanged as the
/// rest of that line (one line, no surrounding blanks). Any other `type` stays an ordinary
/// property, so nothing is dropped.
fn header_type(node: &Node) -> Option<&str> {
    match node.properties.get("type") {
        Some(Value::String(t)) if !t.is_empty() && !t.contains('\n') && t.trim() == t => Some(t),
        _ => None,
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

#[cfg(test)]
pub(crate) mod tests;
