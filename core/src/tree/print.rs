//! Printing a [`Node`](super::Node) as canonical tree text.

use super::Node;

/// Prints the children of `root` as tree text (the root's own line is not printed).
pub fn print(_root: &Node) -> String {
    todo!("tree printer")
}
