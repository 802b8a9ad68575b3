//! Tests of `plan` on hand-built trees and snapshots (no store).

use serde_json::{json, Value};

use super::*;
use crate::delete::PlannedDelete;
use crate::snapshot::NodeState;
use crate::store::{Perms, RequestLimit, Stat};

/// A text node: `props` is the node's data object (`"x ->"` keys become links).
fn node(props: Value, children: Vec<(&str, Node)>) -> Node {
    let Value::Object(map) = props else { panic!("properties must be an object") };
    let mut n = Node::from_properties(map);
    n.children = children.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    n
}

/// A parsed text: a nameless root holding the top-level nodes.
fn text(children: Vec<(&str, Node)>) -> Node {
    node(json!({}), children)
}

/// An existing node: data, version 7, aversion 2, open ACL.
fn existing(data: &str) -> NodeState {
    let stat = Stat { version: 7, aversion: 2, ..Stat::default() };
    NodeState { acl: Some(Acl::open()), ..NodeState::new(data.as_bytes(), stat) }
}

fn ephemeral(data: &str) -> NodeState {
    let stat = Stat { version: 1, ephemeral_owner: 42, ..Stat::default() };
    NodeState::new(data.as_bytes(), stat)
}

fn snap(root: &str, nodes: Vec<(&str, NodeState)>) -> Snapshot {
    let mut s = Snapshot::new(root);
    s.insert(root, existing(""));
    for (path, state) in nodes {
        s.insert(path, state);
    }
    s
}

fn extras(extras: Extras) -> ImportOptions {
    ImportOptions { extras, ..ImportOptions::default() }
}

fn paths<T>(items: &[T], path: impl Fn(&T) -> &str) -> Vec<&str> {
    items.iter().map(path).collect()
}

#[test]
fn dry_run_lines_match_zc_zk() {
    // zc.zk's own dry-run example, line for line.
    let s = snap(
        "/",
        vec![
            ("/test", existing(r#"{"a":1,"b":2,"ae ->":"/x","ad ->":"/y"}"#)),
            ("/test/c1", existing("")),
            ("/test/c1/c12", existing("")),
            ("/test/c2", existing("")),
        ],
    );
    let t = text(vec![(
        "test",
        node(
            json!({"a": 2, "ae ->": "/z"}),
            vec![(
                "c1",
                node(
                    json!({}),
                    vec![(
                        "c12",
                        node(json!({"a": 1, "b ->": "/b"}), vec![("c123", node(json!({}), vec![]))]),
                    )],
                ),
            )],
        ),
    )]);
    let plan = plan(&t, "/", &s, &ImportOptions::default()).unwrap();
    assert_eq!(
        plan.report(),
        [
            "/test a change from 1 to 2",
            "/test remove link ad -> /y",
            "/test ae link change from /x to /z",
            "/test remove property b = 2",
            "extra path not trimmed: /test/c2",
            "/test/c1/c12 add property a = 1",
            "/test/c1/c12 add link b -> /b",
            "add /test/c1/c12/c123",
        ]
    );
}

#[test]
fn change_lines_show_strings_bare() {
    let s = snap("/", vec![("/n", existing(r#"{"color":"red","gone":"x","l ->":"/y"}"#))]);
    let t = text(vec![("n", node(json!({"color": "blue", "l ->": "/z", "new ->": "/w", "s": "t"}), vec![]))]);
    let plan = plan(&t, "/", &s, &ImportOptions::default()).unwrap();
    assert_eq!(
        plan.report(),
        [
            "/n color change from red to blue",
            "/n remove property gone = x",
            "/n l link change from /y to /z",
            "/n add link new -> /w",
            "/n add property s = t",
        ]
    );
}

#[test]
fn change_lines_show_other_values_as_the_tree_format_does() {
    let s = snap("/", vec![("/n", existing(r#"{"on":true,"list":[1,"a"]}"#))]);
    let t = text(vec![("n", node(json!({"on": false, "list": [1, "a"], "n": null}), vec![]))]);
    let plan = plan(&t, "/", &s, &ImportOptions::default()).unwrap();
    assert_eq!(plan.report(), ["/n on change from True to False", "/n add property n = None"]);
}

#[test]
fn new_nodes_are_created_parent_first_and_each_reported() {
    let s = snap("/", vec![]);
    let t = text(vec![
        (
            "x",
            node(
                json!({"a": "1"}),
                vec![
                    ("y", node(json!({}), vec![("z", node(json!({}), vec![]))])),
                    ("b", node(json!({}), vec![])),
                ],
            ),
        ),
        ("w", node(json!({}), vec![])),
    ]);
    let plan = plan(&t, "/", &s, &ImportOptions::default()).unwrap();
    assert_eq!(paths(&plan.creates, |c| &c.path), ["/w", "/x", "/x/b", "/x/y", "/x/y/z"]);
    assert_eq!(plan.creates[1].data, br#"{"a":"1"}"#);
    assert_eq!(plan.report(), ["add /w", "add /x", "add /x/b", "add /x/y", "add /x/y/z"]);
    assert!(plan.notices().is_empty());
    assert!(plan.updates.is_empty() && plan.deletes.is_empty() && plan.acl_changes.is_empty());
}

#[test]
fn nodes_that_already_match_are_not_written_whatever_the_key_order() {
    let s = snap(
        "/",
        vec![("/a", existing(r#"{"y":{"q":1,"p":2},"x":"1","l ->":"/t"}"#)), ("/a/b", existing(""))],
    );
    let t = text(vec![(
        "a",
        node(json!({"x": "1", "y": {"p": 2, "q": 1}, "l ->": "/t"}), vec![("b", node(json!({}), vec![]))]),
    )]);
    let plan = plan(&t, "/", &s, &ImportOptions::default()).unwrap();
    assert!(plan.is_empty(), "{plan:?}");
    assert!(plan.report().is_empty());
}

#[test]
fn raw_data_equal_to_its_string_value_is_not_rewritten() {
    let s = snap("/", vec![("/a", existing("hello"))]);
    let t = text(vec![("a", node(json!({"string_value": "hello"}), vec![]))]);
    assert!(plan(&t, "/", &s, &ImportOptions::default()).unwrap().is_empty());
}

#[test]
fn updates_replace_the_data_conditional_on_the_version_read() {
    let s = snap("/", vec![("/a", existing(r#"{"x":"1","old":"2"}"#))]);
    let t = text(vec![("a", node(json!({"x": "2"}), vec![]))]);
    let plan = plan(&t, "/", &s, &ImportOptions::default()).unwrap();
    assert_eq!(
        plan.updates,
        [PlannedUpdate { path: "/a".into(), data: br#"{"x":"2"}"#.to_vec(), version: 7 }]
    );
}

#[test]
fn differing_acl_is_changed_with_the_aversion_read() {
    let mut s = snap("/", vec![("/a", existing("")), ("/b", existing(""))]);
    let two = vec![Acl::new(Perms::READ, "world", "anyone"), Acl::new(Perms::ALL, "digest", "u:h")];
    if let Some(n) = s.nodes.get_mut("/b") {
        n.acl = Some(two.iter().rev().cloned().collect());
    }
    let t = text(vec![("a", node(json!({}), vec![])), ("b", node(json!({}), vec![]))]);
    let options = ImportOptions { acl: Some(two.clone()), ..ImportOptions::default() };
    let plan = plan(&t, "/", &s, &options).unwrap();
    // /a has the open ACL: changed; /b has the same entries in another order: left alone.
    assert_eq!(plan.acl_changes, [PlannedAclChange { path: "/a".into(), acl: None, aversion: 2 }]);
    assert_eq!(plan.acl, two);
    assert!(plan.updates.is_empty());
}

#[test]
fn a_nodes_own_acl_wins_for_creates_and_changes_and_the_dry_run_says_so() {
    let own = vec![Acl::new(Perms::ALL, "digest", "admin:H="), Acl::new(Perms::READ, "world", "anyone")];
    let with_own = |children| {
        let mut n = node(json!({}), children);
        n.acl = own.clone();
        n
    };
    let mut s = snap("/", vec![("/a", existing("")), ("/same", existing(""))]);
    if let Some(n) = s.nodes.get_mut("/same") {
        n.acl = Some(own.iter().rev().cloned().collect());
    }
    let t = text(vec![
        ("a", with_own(vec![])),
        ("same", with_own(vec![])),
        ("new", with_own(vec![("plain", node(json!({}), vec![]))])),
    ]);
    let options = ImportOptions { acl: Some(Acl::read_only()), ..ImportOptions::default() };
    let plan = plan(&t, "/", &s, &options).unwrap();
    let creates: Vec<_> = plan.creates.iter().map(|c| (c.path.as_str(), plan.acl_of(&c.acl))).collect();
    assert_eq!(creates, [("/new", &own[..]), ("/new/plain", &Acl::read_only()[..])]);
    // /a has the open ACL; /same has the text's entries in another order.
    assert_eq!(
        plan.acl_changes,
        [PlannedAclChange { path: "/a".into(), acl: Some(own.clone()), aversion: 2 }]
    );
    assert_eq!(
        plan.report(),
        [
            "/a change ACL from world:anyone:rwcda to digest:admin:H=:rwcda, world:anyone:r",
            "add /new",
            "add /new/plain",
        ]
    );
    assert!(plan.notices().is_empty());
}

#[test]
fn an_acl_change_from_the_import_option_is_reported_too() {
    let s = snap("/", vec![("/a", existing(r#"{"x":1}"#))]);
    let t = text(vec![("a", node(json!({"x": 2}), vec![]))]);
    let options = ImportOptions { acl: Some(Acl::read_only()), ..ImportOptions::default() };
    assert_eq!(
        plan(&t, "/", &s, &options).unwrap().report(),
        ["/a x change from 1 to 2", "/a change ACL from world:anyone:rwcda to world:anyone:r"]
    );
}

#[test]
fn acl_not_read_plans_no_acl_change() {
    let mut s = snap("/", vec![("/a", existing(""))]);
    if let Some(n) = s.nodes.get_mut("/a") {
        n.acl = None;
    }
    let t = text(vec![("a", node(json!({}), vec![]))]);
    let options = ImportOptions { acl: Some(Acl::read_only()), ..ImportOptions::default() };
    assert!(plan(&t, "/", &s, &options).unwrap().is_empty());
}

fn with_extras() -> (Node, Snapshot) {
    let s = snap(
        "/",
        vec![
            ("/top", existing("")),
            ("/top/keep", existing("")),
            ("/top/extra", existing("")),
            ("/top/extra/x", existing("")),
            ("/top/extra/x/y", existing("")),
            ("/top/keep/more", existing("")),
            ("/other", existing("")),
        ],
    );
    let t = text(vec![("top", node(json!({}), vec![("keep", node(json!({}), vec![]))]))]);
    (t, s)
}

#[test]
fn trim_unset_reports_each_extra() {
    let (t, s) = with_extras();
    let plan = plan(&t, "/", &s, &extras(Extras::Report)).unwrap();
    let expected = ["extra path not trimmed: /top/extra", "extra path not trimmed: /top/keep/more"];
    assert_eq!(plan.report(), expected);
    assert_eq!(plan.notices(), expected);
    assert!(plan.deletes.is_empty());
}

#[test]
fn trim_false_is_silent() {
    let (t, s) = with_extras();
    let plan = plan(&t, "/", &s, &extras(Extras::Ignore)).unwrap();
    assert!(plan.report().is_empty() && plan.deletes.is_empty());
}

#[test]
fn trim_true_deletes_extras_children_first_with_versions() {
    let (t, s) = with_extras();
    let plan = plan(&t, "/", &s, &extras(Extras::Trim)).unwrap();
    assert_eq!(
        paths(&plan.deletes, |d| &d.path),
        ["/top/extra/x/y", "/top/extra/x", "/top/extra", "/top/keep/more"]
    );
    assert!(plan.deletes.iter().all(|d| d.version == 7));
    assert_eq!(
        plan.report(),
        [
            "would delete /top/extra/x/y.",
            "would delete /top/extra/x.",
            "would delete /top/extra.",
            "would delete /top/keep/more."
        ]
    );
    assert!(plan.notices().is_empty());
}

#[test]
fn trim_keeps_ephemeral_descendants_of_extras() {
    let s = snap(
        "/",
        vec![
            ("/top", existing("")),
            ("/top/svc", existing("")),
            ("/top/svc/providers", existing("")),
            ("/top/svc/providers/1.2.3.4:80", ephemeral("")),
            ("/top/svc/old", existing("")),
        ],
    );
    let t = text(vec![("top", node(json!({}), vec![]))]);
    let plan = plan(&t, "/", &s, &extras(Extras::Trim)).unwrap();
    assert_eq!(plan.deletes, [PlannedDelete { path: "/top/svc/old".into(), version: 7 }]);
    assert_eq!(
        plan.notices(),
        [
            "Not deleting /top/svc/providers/1.2.3.4:80 because it's ephemeral.",
            "/top/svc/providers not deleted due to ephemeral descendent.",
            "/top/svc not deleted due to ephemeral descendent.",
        ]
    );
    assert_eq!(
        plan.report(),
        [
            "would delete /top/svc/old.",
            "wouldn't delete /top/svc/providers/1.2.3.4:80 because it's ephemeral.",
            "/top/svc/providers not deleted due to ephemeral descendent.",
            "/top/svc not deleted due to ephemeral descendent.",
        ]
    );
}

#[test]
fn ephemeral_extra_is_never_deleted_nor_reported() {
    let s = snap(
        "/",
        vec![("/svc", existing("")), ("/svc/providers", existing("")), ("/svc/providers/h:1", ephemeral(""))],
    );
    let t = text(vec![("svc", node(json!({}), vec![("providers", node(json!({}), vec![]))]))]);
    for mode in [Extras::Report, Extras::Trim, Extras::Ignore] {
        let plan = plan(&t, "/", &s, &extras(mode)).unwrap();
        assert!(plan.is_empty(), "trim {mode:?}: {plan:?}");
        assert!(plan.report().is_empty(), "trim {mode:?}");
    }
}

#[test]
fn children_of_the_import_point_are_never_trimmed() {
    let s =
        snap("/app", vec![("/app/a", existing("")), ("/app/b", existing("")), ("/app/b/x", existing(""))]);
    let t = text(vec![("a", node(json!({}), vec![]))]);
    for mode in [Extras::Report, Extras::Trim] {
        let plan = plan(&t, "/app", &s, &extras(mode)).unwrap();
        assert!(plan.is_empty() && plan.report().is_empty(), "trim {mode:?}: {plan:?}");
    }
}

#[test]
fn import_into_a_subtree_touches_only_that_subtree() {
    let s = snap("/app", vec![("/app/a", existing(r#"{"v":"1"}"#))]);
    let t = text(vec![("a", node(json!({"v": "2"}), vec![])), ("n", node(json!({}), vec![]))]);
    let plan = plan(&t, "/app/", &s, &extras(Extras::Trim)).unwrap();
    assert_eq!(plan.path, "/app");
    assert_eq!(paths(&plan.updates, |u| &u.path), ["/app/a"]);
    assert_eq!(paths(&plan.creates, |c| &c.path), ["/app/n"]);
    assert!(plan.deletes.is_empty());
}

#[test]
fn extras_come_after_the_nodes_own_lines_and_before_its_childrens() {
    let s = snap("/", vec![("/t", existing(r#"{"a":"1"}"#)), ("/t/b", existing("")), ("/t/z", existing(""))]);
    let t = text(vec![("t", node(json!({"a": "2"}), vec![("b", node(json!({"c": "3"}), vec![]))]))]);
    let plan = plan(&t, "/", &s, &extras(Extras::Report)).unwrap();
    assert_eq!(
        plan.report(),
        ["/t a change from 1 to 2", "extra path not trimmed: /t/z", "/t/b add property c = 3"]
    );
}

#[test]
fn invalid_node_names_are_refused() {
    let s = snap("/", vec![]);
    for bad in ["..", "a\u{1}b", ""] {
        let t = text(vec![("ok", node(json!({}), vec![(bad, node(json!({}), vec![]))]))]);
        match plan(&t, "/", &s, &ImportOptions::default()) {
            Err(ImportError::InvalidName { path, .. }) => assert_eq!(path, format!("/ok/{bad}")),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[test]
fn data_too_large_for_any_write_of_its_node_is_refused() {
    // The most a setData of /big carries at the default limit; the data is {"x":"..."}.
    let limit = RequestLimit::default();
    let room = limit.max - limit.set_data("/big", b"");
    assert_eq!(room, 1_048_551);
    let big = |len: usize| text(vec![("big", node(json!({"x": "a".repeat(len - 8)}), vec![]))]);
    assert!(check(&big(room), "/").is_ok());
    match check(&big(room + 1), "/") {
        Err(e @ ImportError::DataTooLarge { .. }) => assert_eq!(
            e.to_string(),
            "/big: data is 1048552 bytes, more than the 1048551 bytes ZooKeeper takes for this node"
        ),
        other => panic!("{other:?}"),
    }
    // A server with a larger jute.maxbuffer takes it.
    assert!(check_for_server(&big(room + 1), "/", limit.max + 1).is_ok());
}

#[test]
fn values_too_deep_to_read_back_are_refused() {
    let deep = (0..=crate::props::MAX_VALUE_DEPTH).fold(json!(1), |inner, _| json!([inner]));
    let t = text(vec![("a", node(json!({}), vec![("deep", node(json!({ "x": deep }), vec![]))]))]);
    match check(&t, "/") {
        Err(ImportError::BadProperties { path, source }) => {
            assert_eq!(path, "/a/deep");
            assert_eq!(source.name, "x");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_import_point_is_an_error() {
    let s = Snapshot::new("/nope");
    let t = text(vec![("a", node(json!({}), vec![]))]);
    assert_eq!(
        plan(&t, "/nope", &s, &ImportOptions::default()),
        Err(ImportError::NoImportPoint { path: "/nope".into() })
    );
}

#[test]
fn zookeeper_subtree_is_refused() {
    let s = snap("/", vec![]);
    let t = text(vec![("zookeeper", node(json!({}), vec![]))]);
    assert_eq!(
        plan(&t, "/", &s, &ImportOptions::default()),
        Err(ImportError::Reserved { path: "/zookeeper".into() })
    );
    assert!(matches!(check(&text(vec![]), "/zookeeper/quota"), Err(ImportError::Reserved { .. })));
}

#[test]
fn children_under_an_existing_ephemeral_are_refused() {
    let s = snap("/", vec![("/e", ephemeral(""))]);
    let t = text(vec![("e", node(json!({}), vec![("c", node(json!({}), vec![]))]))]);
    assert_eq!(
        plan(&t, "/", &s, &ImportOptions::default()),
        Err(ImportError::EphemeralParent { path: "/e/c".into() })
    );
}

#[test]
fn import_reads_text_nodes_with_acl_and_extras_per_trim_mode() {
    let t = text(vec![("a", node(json!({}), vec![("b", node(json!({}), vec![]))]))]);
    let full = Some(Visit { children: true, acl: true });
    assert_eq!(
        visit_for_import(&t, "/r", Extras::Report, true, "/r"),
        Some(Visit { children: true, acl: false })
    );
    assert_eq!(visit_for_import(&t, "/r", Extras::Report, true, "/r/a"), full);
    assert_eq!(visit_for_import(&t, "/r", Extras::Report, true, "/r/a/b"), full);
    assert_eq!(
        visit_for_import(&t, "/r", Extras::Report, true, "/r/zz"),
        None,
        "children of the import point not in the text"
    );
    assert_eq!(
        visit_for_import(&t, "/r", Extras::Report, true, "/r/a/x"),
        Some(Visit { children: false, acl: false })
    );
    assert_eq!(visit_for_import(&t, "/r", Extras::Ignore, true, "/r/a/x"), None);
    assert_eq!(
        visit_for_import(&t, "/r", Extras::Trim, true, "/r/a/x"),
        Some(Visit { children: true, acl: false })
    );
    assert_eq!(
        visit_for_import(&t, "/r", Extras::Trim, true, "/r/a/x/y"),
        Some(Visit { children: true, acl: false })
    );
    assert_eq!(visit_for_import(&t, "/", Extras::Report, true, "/a"), full);
}

#[test]
fn import_reads_the_acl_of_text_nodes_that_give_one_without_an_import_acl() {
    let mut a = node(json!({}), vec![("b", node(json!({}), vec![]))]);
    a.acl = Acl::read_only();
    let t = text(vec![("a", a)]);
    assert_eq!(
        visit_for_import(&t, "/", Extras::Report, false, "/a"),
        Some(Visit { children: true, acl: true })
    );
    assert_eq!(
        visit_for_import(&t, "/", Extras::Report, false, "/a/b"),
        Some(Visit { children: true, acl: false })
    );
}
