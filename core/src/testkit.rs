//! Proptest strategies for users' own property tests (feature `proptest`): valid node names,
//! the values tree text can hold, ACLs, and whole trees (as [`crate::tree::parse`] returns
//! them).
//!
//! ```
//! use proptest::prelude::*;
//! use zczk_core::{testkit, tree};
//!
//! proptest!(|(root in testkit::tree())| {
//!     // Every tree prints as text that reads back as the same tree.
//!     prop_assert_eq!(tree::parse(&tree::print(&root)).unwrap(), root);
//! });
//! ```

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::store::{Acl, Perms};
use crate::tree::Node;

/// A valid node name: 1 to 8 characters, letters, digits and `-_.:@é`, never `.` or `..`
/// (which ZooKeeper refuses).
pub fn node_name() -> impl Strategy<Value = String> {
    name_with("")
}

/// A name of the characters of [`node_name`] and `extra`.
fn name_with(extra: &'static str) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[-a-zA-Z0-9_.:@é{extra}]{{1,8}}"))
        .expect("a valid regex")
        .prop_filter("not . or ..", |name| name != "." && name != "..")
}

/// Any value tree text can hold: null, booleans, i64 integers, finite floats, any string, and
/// lists and string-keyed maps of these (nested a few levels).
pub fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// A link target: an absolute or relative path of a few segments.
fn target() -> impl Strategy<Value = String> {
    proptest::string::string_regex("(/|\\.\\./)?[a-z0-9]{1,5}(/[a-z0-9]{1,5}){0,3}").expect("a valid regex")
}

/// An ACL of 1 to 3 distinct entries ZooKeeper accepts: `world:anyone`, `digest` (`user:hash`,
/// the hash base64 as ZooKeeper makes it), `ip`, and `x509` distinguished names (with blanks,
/// commas and `=`), each with some permissions.
pub fn acl() -> impl Strategy<Value = Vec<Acl>> {
    let perms = (1..=Perms::ALL.0).prop_map(Perms);
    let id = prop_oneof![
        Just(("world".to_string(), "anyone".to_string())),
        ("[a-z][a-z0-9_.-]{0,7}", "[A-Za-z0-9+/]{27}=")
            .prop_map(|(u, h)| ("digest".into(), format!("{u}:{h}"))),
        "(10|127)\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(/[0-9]{1,2})?".prop_map(|ip| ("ip".into(), ip)),
        "CN=[a-z]{1,5}( [a-z]{1,5})?(,O=[a-z]{1,5})?".prop_map(|dn| ("x509".into(), dn)),
    ];
    prop::collection::vec((perms, id), 1..4).prop_map(|entries| {
        let mut acl: Vec<Acl> = Vec::new();
        for (perms, (scheme, id)) in entries {
            let entry = Acl::new(perms, scheme, id);
            if !acl.contains(&entry) {
                acl.push(entry);
            }
        }
        acl
    })
}

/// A node with properties (sometimes a `type`), node links, property links, sometimes an ACL,
/// and children, a few levels deep.
pub fn node() -> impl Strategy<Value = Node> {
    let properties = prop::collection::vec((name_with("/"), value()), 0..4);
    let node_type = prop_oneof![3 => Just(None), 1 => "[a-z][a-z ]{0,6}[a-z]".prop_map(Some)];
    let links = prop::collection::btree_map(name_with("/"), target(), 0..3);
    let property_links = prop::collection::btree_map(
        name_with("/"),
        (target(), prop::option::of(node_name()))
            .prop_map(|(t, n)| n.map_or(t.clone(), |n| format!("{t} {n}"))),
        0..3,
    );
    let acl = prop_oneof![2 => Just(Vec::new()), 1 => acl()];
    let leaf = (properties, node_type, links, property_links, acl).prop_map(
        |(pairs, node_type, links, property_links, acl)| {
            let mut properties = Map::new();
            for (name, value) in pairs {
                properties.insert(name, value);
            }
            if let Some(t) = node_type {
                properties.insert("type".into(), Value::String(t));
            }
            Node { properties, links, property_links, acl, children: Default::default() }
        },
    );
    nested(leaf)
}

/// Nodes made by `leaf`, with children of their own, a few levels deep.
pub(crate) fn nested(leaf: impl Strategy<Value = Node> + 'static) -> impl Strategy<Value = Node> {
    leaf.prop_recursive(4, 40, 4, |inner| {
        (inner.clone(), prop::collection::btree_map(node_name(), inner, 0..4)).prop_map(
            |(mut node, children)| {
                node.children = children;
                node
            },
        )
    })
}

/// A whole tree: a root standing for `/` (no properties) with a few top-level nodes.
pub fn tree() -> impl Strategy<Value = Node> {
    rooted(node())
}

/// A root standing for `/` (no properties) over a few top-level nodes made by `node`.
pub(crate) fn rooted(node: impl Strategy<Value = Node> + 'static) -> impl Strategy<Value = Node> {
    prop::collection::btree_map(node_name(), node, 0..4)
        .prop_map(|children| Node { children, ..Node::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{path, tree as text};

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn names_are_valid(name in node_name()) {
            prop_assert!(path::validate_name(&name).is_ok(), "{}", name);
        }

        #[test]
        fn trees_print_and_read_back(root in tree()) {
            let printed = text::print(&root);
            prop_assert_eq!(text::parse(&printed).map_err(|e| e.to_string()), Ok(root), "{}", printed);
        }

        #[test]
        fn values_read_back(value in value()) {
            prop_assert_eq!(text::parse_value(&text::format_value(&value)).ok(), Some(value));
        }
    }
}
