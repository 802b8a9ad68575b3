use serde_json::json;

use super::*;

fn node(name: &'static str, node_type: Option<&'static str>) -> Line<'static> {
    Line::Node { name, node_type }
}

fn kind(line: &str) -> ParseErrorKind {
    classify(line).unwrap_err().kind
}

#[test]
fn property_link_with_path_only() {
    assert_eq!(classify("color => /a/b"), Ok(Line::PropertyLink { name: "color", target: "/a/b" }));
}

#[test]
fn property_link_with_path_and_property_name() {
    assert_eq!(classify("c=>../x  color"), Ok(Line::PropertyLink { name: "c", target: "../x  color" }));
}

#[test]
fn property_with_json_and_python_spellings() {
    assert_eq!(classify("a = 1"), Ok(Line::Property { name: "a", value: json!(1) }));
    assert_eq!(classify("a=True"), Ok(Line::Property { name: "a", value: json!(true) }));
    assert_eq!(classify("a = null"), Ok(Line::Property { name: "a", value: json!(null) }));
    assert_eq!(classify("a = {'x': (1, 2,)}"), Ok(Line::Property { name: "a", value: json!({"x": [1, 2]}) }));
}

#[test]
fn property_name_is_greedy() {
    assert_eq!(classify("a=b=1"), Ok(Line::Property { name: "a=b", value: json!(1) }));
    assert_eq!(classify("a->b = 'x'"), Ok(Line::Property { name: "a->b", value: json!("x") }));
}

#[test]
fn property_value_may_contain_link_operators() {
    assert_eq!(classify("a = '-> x'"), Ok(Line::Property { name: "a", value: json!("-> x") }));
    assert_eq!(classify("a = 'x => y'"), Ok(Line::Property { name: "a", value: json!("x => y") }));
}

#[test]
fn property_comes_before_node() {
    assert_eq!(classify("/a = 1"), Ok(Line::Property { name: "/a", value: json!(1) }));
}

#[test]
fn property_with_trailing_comment() {
    assert_eq!(classify("a = 1 # one"), Ok(Line::Property { name: "a", value: json!(1) }));
}

#[test]
fn node_link() {
    assert_eq!(classify("db -> /databases/main"), Ok(Line::Link { name: "db", target: "/databases/main" }));
    assert_eq!(classify("db->../x"), Ok(Line::Link { name: "db", target: "../x" }));
}

#[test]
fn node_plain() {
    assert_eq!(classify("/providers"), Ok(node("providers", None)));
}

#[test]
fn node_name_is_greedy() {
    assert_eq!(classify("/10.0.0.1:8080"), Ok(node("10.0.0.1:8080", None)));
}

#[test]
fn node_type_spellings() {
    for line in ["/lb : ipvs", "/lb: ipvs", "/lb :ipvs", "/lb:ipvs x"] {
        let expected_type = if line.ends_with('x') { "ipvs x" } else { "ipvs" };
        assert_eq!(classify(line), Ok(node("lb", Some(expected_type))), "{line}");
    }
}

#[test]
fn node_type_is_rest_of_line() {
    assert_eq!(classify("/a:b : c d = 1"), Ok(node("a:b", Some("c d = 1"))));
}

#[test]
fn bad_value_points_at_the_value() {
    let error = classify("a = 1+2").unwrap_err();
    assert!(matches!(error.kind, ParseErrorKind::BadValue { .. }));
    assert_eq!(error.offset, 5);
    let error = classify("a = range(3)").unwrap_err();
    assert_eq!(error.offset, 4);
}

#[test]
fn bad_link_format_when_arrow() {
    assert_eq!(kind("a -> b c"), ParseErrorKind::BadLinkFormat);
    assert_eq!(kind("-> b"), ParseErrorKind::BadLinkFormat);
}

#[test]
fn bad_property_link_format() {
    assert_eq!(kind("a => b c d"), ParseErrorKind::BadPropertyLinkFormat);
    assert_eq!(kind("a =>"), ParseErrorKind::BadPropertyLinkFormat);
}

#[test]
fn unrecognized_lines() {
    for line in ["hello", "/", "/a b", "a : b", "/a :"] {
        assert_eq!(kind(line), ParseErrorKind::UnrecognizedLine, "{line}");
    }
    assert!(classify("/a b").unwrap_err().node_like);
    assert!(!classify("hello").unwrap_err().node_like);
}

#[test]
fn acl_line_takes_only_what_no_other_class_does() {
    use crate::store::{Acl, Perms};
    assert_eq!(classify("acl world:anyone:r"), Ok(Line::Acl(Acl::new(Perms::READ, "world", "anyone"))));
    assert_eq!(
        classify("acl  digest:u:a=b->c:cdrwa"),
        Ok(Line::Acl(Acl::new(Perms::ALL, "digest", "u:a=b->c")))
    );
    assert_eq!(classify("acl = 1"), Ok(Line::Property { name: "acl", value: json!(1) }));
    assert_eq!(classify("acl -> /x"), Ok(Line::Link { name: "acl", target: "/x" }));
    assert_eq!(classify("acl => /x y"), Ok(Line::PropertyLink { name: "acl", target: "/x y" }));
    assert_eq!(classify("/acl"), Ok(node("acl", None)));
    assert_eq!(kind("acls world:anyone:r"), ParseErrorKind::UnrecognizedLine);
    assert!(matches!(kind("acl world"), ParseErrorKind::BadAcl { .. }));
}
