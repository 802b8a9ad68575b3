//! The tree text format and its plain-data model.
//!
//! A [`Node`] is plain data: properties (JSON values), node links (`name -> path`), property
//! links (`name => path [property]`), ACL entries (`acl SCHEME:ID:PERMS`, when the text gives
//! the node's ACL) and children, in ordered maps so that printing is deterministic. The root of a parsed text is a nameless `Node` whose children are the
//! text's top-level nodes.
//!
//! - [`parse`] / [`parse_all`]: text to a tree (the first error, or every error, each with
//!   line, column, the line's text and what was expected). Values are literals of a grammar
//!   taking JSON and Python spellings ([`parse_value`]); nothing is ever evaluated.
//! - [`print()`]: a tree as canonical text (sorted, values as Python 3 literals), which
//!   `parse` reads back to an equal tree.
//! - [`format()`]: canonical text of a text, keeping its comment lines (`zczk fmt`).
//!
//! ```
//! use zczk_core::tree;
//!
//! let root = tree::parse("/web: wsgi\n    db->/db/providers\n    threads = 4\n").unwrap();
//! assert_eq!(root.children["web"].properties["threads"], 4);
//! assert_eq!(tree::print(&root), "/web : wsgi\n  threads = 4\n  db -> /db/providers\n");
//! ```

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::store::Acl;

/// One node of a tree.
///
/// In ZooKeeper the node's data holds all three kinds of property in one JSON object: plain
/// properties under their names, node links under `"name ->"` and property links under
/// `"name =>"` (see [`Node::to_properties`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    /// Plain properties (including `type`), in the order they were given.
    pub properties: Map<String, Value>,
    /// Node links: link name (without ` ->`) to target path (absolute or relative).
    pub links: BTreeMap<String, String>,
    /// Property links: link name (without ` =>`) to target text, `path` or `path property`.
    pub property_links: BTreeMap<String, String>,
    /// The node's ACL, one `acl SCHEME:ID:PERMS` line per entry, in the order given; empty
    /// when the text gives none (import then gives the node its default ACL). It is not part
    /// of the node's data.
    pub acl: Vec<Acl>,
    /// Children by name.
    pub children: BTreeMap<String, Node>,
}

/// The suffix that marks a node link in a node's properties.
pub const LINK_SUFFIX: &str = " ->";
/// The suffix that marks a property link in a node's properties.
pub const PROPERTY_LINK_SUFFIX: &str = " =>";
/// The word that starts an ACL line (`acl world:anyone:r`).
pub const ACL_KEYWORD: &str = "acl";

impl Node {
    /// The node's `type`, when it is a non-empty string (what the format shows after the name).
    pub fn node_type(&self) -> Option<&str> {
        match self.properties.get("type") {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            _ => None,
        }
    }

    /// The node's data as one JSON object: properties, then `name ->` links, then
    /// `name =>` property links.
    pub fn to_properties(&self) -> Map<String, Value> {
        let mut all = self.properties.clone();
        for (name, target) in &self.links {
            all.insert(format!("{name}{LINK_SUFFIX}"), Value::String(target.clone()));
        }
        for (name, target) in &self.property_links {
            all.insert(format!("{name}{PROPERTY_LINK_SUFFIX}"), Value::String(target.clone()));
        }
        all
    }

    /// Splits one JSON object of node data into properties, links and property links (no
    /// children). A `name ->` or `name =>` key whose value is not a string stays an ordinary
    /// property, so nothing is lost.
    pub fn from_properties(data: Map<String, Value>) -> Node {
        let mut node = Node::default();
        for (key, value) in data {
            match value {
                Value::String(target) if key.ends_with(LINK_SUFFIX) => {
                    node.links.insert(key[..key.len() - LINK_SUFFIX.len()].to_string(), target);
                }
                Value::String(target) if key.ends_with(PROPERTY_LINK_SUFFIX) => {
                    node.property_links
                        .insert(key[..key.len() - PROPERTY_LINK_SUFFIX.len()].to_string(), target);
                }
                value => {
                    node.properties.insert(key, value);
                }
            }
        }
        node
    }
}

pub(crate) mod check;
mod checked;
mod comments;
mod error;
mod format;
mod line;
mod parse;
mod print;
mod value;

/// The property tests' configuration: `default_cases` cases unless `PROPTEST_CASES` says
/// otherwise, drawn with XorShift (the default ChaCha generator dominates the run time in
/// unoptimized builds).
#[cfg(test)]
fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default_cases),
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..proptest::test_runner::Config::default()
    }
}

pub use checked::{check_for_import, check_for_server, CheckedText, TopText};
pub use error::{ParseError, ParseErrorKind};
pub use format::format;
pub use parse::{decode_text, parse, parse_all, parse_for_import, MAX_NODE_DEPTH};
pub use print::print;
pub(crate) use print::print_node;
pub use value::{format_value, parse_value, ValueError, MAX_DEPTH as MAX_VALUE_DEPTH};
