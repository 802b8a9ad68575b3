use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::*;
use crate::testkit::{nested, rooted, value as any_value};
use crate::tree::{parse, parse_all};

fn node(properties: Value) -> Node {
    let Value::Object(properties) = properties else { panic!("not an object") };
    Node::from_properties(properties)
}

fn root(children: Vec<(&str, Node)>) -> Node {
    Node { children: children.into_iter().map(|(n, c)| (n.to_string(), c)).collect(), ..Node::default() }
}

#[test]
fn canonical_order_and_python_literals() {
    let mut app = node(json!({
        "zeta": [1, "a", null],
        "type": "web",
        "alpha": {"b": true, "a": 1.5},
        "db ->": "/databases/main",
        "cache ->": "../cache",
        "color =>": "/config color",
        "size =>": "/config",
        "name": "it's",
    }));
    app.children.insert("providers".into(), Node::default());
    app.children.insert("config".into(), node(json!({"color": "red"})));
    let tree = root(vec![("app", app), ("10.0.0.1:8080", Node::default())]);
    let text = print(&tree);
    insta::assert_snapshot!(text, @r#"
    /10.0.0.1:8080
    /app : web
      alpha = {'b': True, 'a': 1.5}
      name = "it's"
      zeta = [1, 'a', None]
      cache -> ../cache
      db -> /databases/main
      color => /config color
      size => /config
      /config
        color = 'red'
      /providers
    "#);
    assert_eq!(parse(&text).unwrap(), tree);
}

#[test]
fn acl_lines_follow_the_node_line_in_their_order() {
    use crate::store::{Acl, Perms};
    let mut app = node(json!({"x": 1, "acl": "p"}));
    app.acl = vec![Acl::new(Perms::READ, "world", "anyone"), Acl::new(Perms::ALL, "digest", "admin:H=")];
    app.children.insert("c".into(), Node::default());
    let tree = root(vec![("app", app)]);
    let text = print(&tree);
    assert_eq!(text, "/app\n  acl world:anyone:r\n  acl digest:admin:H=:rwcda\n  acl = 'p'\n  x = 1\n  /c\n");
    assert_eq!(parse(&text).unwrap(), tree);
}

#[test]
fn empty_tree_prints_nothing() {
    assert_eq!(print(&Node::default()), "");
}

#[test]
fn root_properties_are_not_printed() {
    let mut tree = root(vec![("a", Node::default())]);
    tree.properties.insert("x".into(), json!(1));
    assert_eq!(print(&tree), "/a\n");
}

#[test]
fn a_type_that_the_node_line_cannot_hold_stays_a_property() {
    for bad in [json!(""), json!(3), json!(null), json!(" padded"), json!("two\nlines"), json!(["a"])] {
        let tree = root(vec![("a", node(json!({ "type": bad.clone() })))]);
        let text = print(&tree);
        assert!(text.starts_with("/a\n  type = "), "{text}");
        assert_eq!(parse(&text).unwrap(), tree, "{text}");
    }
}

#[test]
fn type_with_blanks_inside_is_shown_on_the_node_line() {
    let tree = root(vec![("a", node(json!({"type": "web server"})))]);
    assert_eq!(print(&tree), "/a : web server\n");
}

#[test]
fn deep_trees_print_without_recursion() {
    let mut tree = Node::default();
    for _ in 0..2_000 {
        tree = Node { children: [("n".to_string(), tree)].into(), ..Node::default() };
    }
    // A stack this small would not hold 2,000 nested calls.
    // The tree comes back out to be dropped: dropping is recursive.
    let _tree = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || {
            let text = print(&tree);
            assert_eq!(text.lines().count(), 2_000);
            assert!(text.lines().last().unwrap().starts_with(&"  ".repeat(1_999)));
            tree
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Names the format can hold: no blanks, no leading `#`; `extra` adds characters only some
/// kinds of name may have.
fn name(extra: &'static str) -> impl Strategy<Value = String> {
    let chars = format!("[-a-zA-Z0-9_.:@é{extra}]");
    proptest::string::string_regex(&format!("{chars}{{1,8}}")).expect("regex")
}

/// Values up to the deepest nesting node data holds, now and then.
fn any_property_value() -> impl Strategy<Value = Value> {
    let deep = (0usize..3).prop_map(|less| {
        (1..crate::props::MAX_VALUE_DEPTH - less).fold(json!([1, "a"]), |inner, _| json!([inner]))
    });
    prop_oneof![50 => any_value(), 1 => deep]
}

fn path() -> impl Strategy<Value = String> {
    proptest::string::string_regex("(/|\\.\\./)?[a-z0-9.]{1,5}(/[a-z0-9]{1,5}){0,3}").expect("regex")
}

fn any_node() -> impl Strategy<Value = Node> {
    let properties = prop::collection::vec((name("=>/"), any_property_value()), 0..4);
    let node_type = prop_oneof![
        3 => Just(None),
        1 => "[a-z][a-z =]{0,6}[a-z]".prop_map(|t| Some(Value::String(t))),
        1 => any_value().prop_map(Some),
    ];
    let links = prop::collection::btree_map(name(">/"), path(), 0..3);
    let property_links = prop::collection::btree_map(
        name("=>/"),
        (path(), prop::option::of(name(""))).prop_map(|(p, n)| n.map_or(p.clone(), |n| format!("{p} {n}"))),
        0..3,
    );
    let acl = prop_oneof![2 => Just(Vec::new()), 1 => crate::testkit::acl()];
    let leaf = (properties, node_type, links, property_links, acl).prop_map(
        |(props, node_type, links, property_links, acl)| {
            let mut properties = Map::new();
            for (name, value) in props {
                properties.insert(name.replace("=>", "=_>"), value);
            }
            if let Some(t) = node_type {
                properties.insert("type".into(), t);
            }
            Node { properties, links, property_links, acl, children: Default::default() }
        },
    );
    nested(leaf)
}

pub(crate) fn any_tree() -> impl Strategy<Value = Node> {
    rooted(any_node())
}

proptest! {
    #![proptest_config(crate::tree::proptest_config(2_000))]

    #[test]
    fn parse_of_print_is_the_tree(tree in any_tree()) {
        let text = print(&tree);
        let parsed = parse_all(&text);
        prop_assert_eq!(parsed.as_ref().map_err(|e| e[0].to_string()), Ok(&tree), "{}", text);
        prop_assert_eq!(print(&parsed.unwrap()), text);
    }
}
