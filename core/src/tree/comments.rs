//! The comments of tree text, by the item they precede: what the parser records and the
//! printer writes back, so that [`format`](fn@super::format) keeps them.
//!
//! The tree model has no place for comments, so the parser records which item (node,
//! property or link, named by its node's path) each run of comment lines precedes, and the
//! printer writes them back before that item, at its indentation, wherever sorting puts it.
//! Comments after the last item stay at the end. Blank lines are not kept.

use std::collections::HashMap;

/// One item of a node, as comments are attached to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Item {
    /// A child node, by name.
    Node(String),
    /// A property, by name.
    Property(String),
    /// A node link, by name.
    Link(String),
    /// A property link, by name.
    PropertyLink(String),
    /// An ACL entry, by its text `SCHEME:ID:PERMS`.
    Acl(String),
}

/// Comment lines (trimmed, `#` included) by the item they precede.
#[derive(Debug, Default)]
pub(crate) struct Comments {
    /// Comments seen since the last item.
    pub pending: Vec<String>,
    /// By (path of names of the node holding the item, item).
    pub before: HashMap<(Vec<String>, Item), Vec<String>>,
    /// Comments after the last item.
    pub trailing: Vec<String>,
}

impl Comments {
    /// The comments before `item` of the node at `node_path`.
    pub fn before(&self, node_path: &[String], item: Item) -> &[String] {
        // The key is built only when there are comments at all.
        if self.before.is_empty() {
            return &[];
        }
        self.before.get(&(node_path.to_vec(), item)).map_or(&[], Vec::as_slice)
    }
}
