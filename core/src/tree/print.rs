//! Printing a [`Node`](super::Node) as canonical tree text.
//!
//! Two spaces per level. Each node is its `/name` line (with ` : type` when the type is a
//! non-empty string that line can hold), then its properties sorted by name, its node links
//! sorted, its property links sorted, then its children sorted by name. Values print as
//! Python 3 literals, so zc.zk can read the text too.

use std::fmt::Write as _;

use serde_json::Value;

use super::value::write_value;
use super::Node;

/// Prints the children of `root` as tree text (the root's own line, and so its properties,
/// are not printed). [`parse`](super::parse) reads the text back to an equal tree whenever
/// the tree can be written at all: names non-empty, without blanks and not starting with
/// `#`; node names without `=` or `->`, property names without `=>`, node link names
/// without `=`; link targets one word, property link targets one or two; values within
/// the value grammar (integers in the i64 range, nesting within
/// [`MAX_VALUE_DEPTH`](super::MAX_VALUE_DEPTH)). Anything else is printed as it is and
/// refused by the parser.
pub fn print(root: &Node) -> String {
    let mut out = String::new();
    // An explicit stack rather than recursion: a tree read from ZooKeeper can be deep.
    let mut stack: Vec<(usize, &str, &Node)> =
        root.children.iter().rev().map(|(name, child)| (0, name.as_str(), child)).collect();
    while let Some((depth, name, node)) = stack.pop() {
        write_node(&mut out, depth, name, node);
        stack.extend(node.children.iter().rev().map(|(name, child)| (depth + 1, name.as_str(), child)));
    }
    out
}

/// Writes a node's own line and its property lines (not its children).
fn write_node(out: &mut String, depth: usize, name: &str, node: &Node) {
    indent(out, depth);
    out.push('/');
    out.push_str(name);
    let header = header_type(node);
    if let Some(node_type) = header {
        out.push_str(" : ");
        out.push_str(node_type);
    }
    out.push('\n');

    let mut names: Vec<&String> =
        node.properties.keys().filter(|name| !(header.is_some() && *name == "type")).collect();
    names.sort_unstable();
    for name in names {
        indent(out, depth + 1);
        out.push_str(name);
        out.push_str(" = ");
        write_value(out, &node.properties[name.as_str()]);
        out.push('\n');
    }
    for (name, target) in &node.links {
        indent(out, depth + 1);
        let _ = writeln!(out, "{name} -> {target}");
    }
    for (name, target) in &node.property_links {
        indent(out, depth + 1);
        let _ = writeln!(out, "{name} => {target}");
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
mod tests;
