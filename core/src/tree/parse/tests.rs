use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::tree::ParseErrorKind as K;

fn tree(text: &str) -> Node {
    parse(text).unwrap_or_else(|e| panic!("{e}"))
}

fn errors(text: &str) -> Vec<ParseError> {
    parse_all(text).expect_err("should not parse")
}

/// Every error as `LINE:COLUMN: message`, one per line.
fn report(text: &str) -> String {
    errors(text).iter().map(|e| format!("{}:{}: {}\n", e.line, e.column, e.kind)).collect()
}

fn child<'n>(node: &'n Node, path: &str) -> &'n Node {
    path.split('/').filter(|s| !s.is_empty()).fold(node, |node, name| &node.children[name])
}

#[test]
fn builds_nodes_properties_links_and_children() {
    let root = tree(
        "# a system\n\
         /app : web\n\
         \x20 threads = 4\n\
         \x20 colors = ['red', u\"blue\"]\n\
         \n\
         \x20 db -> /databases/main\n\
         \x20 color => /config color\n\
         \x20 /providers\n\
         /databases\n\
         \x20 /main\n",
    );
    assert_eq!(root.children.keys().collect::<Vec<_>>(), ["app", "databases"]);
    let app = child(&root, "app");
    assert_eq!(app.properties.get("type"), Some(&json!("web")));
    assert_eq!(app.properties.get("threads"), Some(&json!(4)));
    assert_eq!(app.properties.get("colors"), Some(&json!(["red", "blue"])));
    assert_eq!(app.links.get("db").map(String::as_str), Some("/databases/main"));
    assert_eq!(app.property_links.get("color").map(String::as_str), Some("/config color"));
    assert_eq!(app.children.keys().collect::<Vec<_>>(), ["providers"]);
    assert_eq!(child(&root, "databases/main"), &Node::default());
    assert!(root.properties.is_empty());
}

#[test]
fn empty_and_comment_only_texts_are_empty_trees() {
    assert_eq!(tree(""), Node::default());
    assert_eq!(tree("\n  \n# x\n   # y\n\t\n"), Node::default());
}

#[test]
fn indentation_width_is_free_and_relative() {
    let two = tree("/a\n  /b\n    x = 1\n  /c\n");
    let odd = tree("/a\n     /b\n        x = 1\n     /c\n");
    let tabs = tree("/a\n\t/b\n\t\tx = 1\n\t/c\n");
    assert_eq!(two, odd);
    assert_eq!(two, tabs);
    assert_eq!(child(&two, "a/b").properties.get("x"), Some(&json!(1)));
}

#[test]
fn a_tab_counts_as_one_column() {
    // The tab and the space are both one column, so `/c` is a sibling of `/b`.
    let root = tree("/a\n\t/b\n /c\n");
    assert_eq!(child(&root, "a").children.keys().collect::<Vec<_>>(), ["b", "c"]);
}

#[test]
fn first_line_may_be_indented() {
    let root = tree("   /a\n     x = 1\n   /b\n");
    assert_eq!(root.children.keys().collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn property_at_column_of_a_sibling_node_belongs_to_the_parent() {
    let root = tree("/a\n  /b\n  x = 1\n  /c\n    y = 2\n");
    let a = child(&root, "a");
    assert_eq!(a.properties.get("x"), Some(&json!(1)));
    assert!(child(&root, "a/b").properties.is_empty());
    assert_eq!(child(&root, "a/c").properties.get("y"), Some(&json!(2)));
}

#[test]
fn greedy_node_names_and_type_spellings() {
    let root = tree("/10.0.0.1:8080\n/lb : ipvs\n/lb2: ipvs\n/lb3 :ipvs\n");
    assert!(child(&root, "10.0.0.1:8080").properties.is_empty());
    for name in ["lb", "lb2", "lb3"] {
        assert_eq!(child(&root, name).properties.get("type"), Some(&json!("ipvs")), "{name}");
    }
}

#[test]
fn crlf_line_ends_are_accepted() {
    assert_eq!(tree("/a\r\n  x = 1\r\n"), tree("/a\n  x = 1\n"));
}

#[test]
fn a_byte_order_mark_is_skipped() {
    assert_eq!(tree("\u{feff}/a\n  x = 1\n"), tree("/a\n  x = 1\n"));
}

#[test]
fn same_name_for_property_and_links_is_no_duplicate() {
    let a = tree("/a\n  x = 1\n  x -> /b\n  x => /c\n");
    let a = child(&a, "a");
    assert_eq!((a.properties.len(), a.links.len(), a.property_links.len()), (1, 1, 1));
}

#[test]
fn errors_carry_line_column_text_and_kind() {
    let all = errors("/a\n  x = 1\n    y = 2\n");
    assert_eq!(
        all,
        vec![ParseError { line: 3, column: 5, text: "    y = 2".into(), kind: K::IndentUnderProperty }]
    );
}

#[test]
fn display_is_one_line() {
    let error = parse("/a\n    /b\n  /c\n").unwrap_err();
    assert_eq!(error.to_string(), "line 3, column 3: invalid indentation: expected column 1 or 5");
    assert!(!error.to_string().contains('\n'));
}

#[test]
fn unrecognized_line() {
    insta::assert_snapshot!(report("/a\n  hello world\n"), @"2:3: unrecognized line: expected `/node`, `/node : type`, `name = value`, `name -> path`, `name => path [property]` or `acl SCHEME:ID:PERMS`");
}

#[test]
fn bad_link_format() {
    insta::assert_snapshot!(report("/a\n  x -> /b /c\n  y => a b c\n"), @r"
    2:3: bad link format: expected `name -> path` (the path one word)
    3:3: bad link format: expected `name => path [property]`
    ");
}

#[test]
fn bad_value_points_at_the_value() {
    insta::assert_snapshot!(report("/a\n  x = 1+2\n\ty = range(3)\n  z = nan\n"), @r"
    2:8: bad value: unexpected `+` after a complete value; expected the end of the line or a `# comment` (values are literals, never evaluated)
    3:2: invalid indentation: expected column 1 or 3
    3:6: bad value: unknown name `range`: expected a value (a number, a quoted string, True, False, None, a list, a tuple or a dict) (values are literals, never evaluated)
    4:7: bad value: `nan` is not allowed: JSON cannot hold it
    ");
}

#[test]
fn invalid_indentation() {
    insta::assert_snapshot!(report("/a\n    x = 1\n  y = 2\n  /b\n /c\n"), @r"
    3:3: invalid indentation: expected column 1 or 5
    5:2: invalid indentation: expected column 1 or 3
    ");
}

#[test]
fn indent_under_a_property() {
    insta::assert_snapshot!(report("/a\n  x = 1\n    /b\n      y = 2\n"), @"3:5: indent under a property: only a node line can have lines indented under it");
}

#[test]
fn duplicate_node() {
    insta::assert_snapshot!(report("/a\n  /b\n  /b\n    x = 1\n/a\n"), @r"
    3:3: duplicate node `b`: a node of this name is already given above
    5:1: duplicate node `a`: a node of this name is already given above
    ");
}

#[test]
fn duplicate_property_and_links() {
    insta::assert_snapshot!(report("/a\n  x = 1\n  x = 2\n  l -> /b\n  l -> /c\n  p => /b\n  p => /c x\n"), @r"
    3:3: duplicate property `x`: it is already given above for this node
    5:3: duplicate property `l ->`: it is already given above for this node
    7:3: duplicate property `p =>`: it is already given above for this node
    ");
}

#[test]
fn type_line_under_a_typed_node_is_a_duplicate() {
    insta::assert_snapshot!(report("/a : web\n  type = 'db'\n"), @"2:3: duplicate property `type`: it is already given above for this node");
    // Without the `: type` form, a `type` line is an ordinary property.
    assert_eq!(child(&tree("/a\n  type = 'db'\n"), "a").properties.get("type"), Some(&json!("db")));
}

#[test]
fn property_above_the_top_level_nodes() {
    insta::assert_snapshot!(report("x = 1\n/a\nl -> /a\n"), @r"
    1:1: property above the top-level nodes: expected a `/node` line (properties belong to a node)
    3:1: property above the top-level nodes: expected a `/node` line (properties belong to a node)
    ");
}

#[test]
fn parse_all_reports_every_error_and_parse_the_first() {
    let text = "/a\n  x = 1+\n  /a\n    ??\n  x = 2\n  x = 3\n";
    let all = errors(text);
    assert_eq!(all.iter().map(|e| e.line).collect::<Vec<_>>(), [2, 4, 6]);
    assert_eq!(parse(text).unwrap_err(), all[0]);
}

#[test]
fn lines_under_a_bad_node_are_checked_but_not_kept() {
    insta::assert_snapshot!(report("/a b\n  x = 1\n  y = oops\n"), @r"
    1:1: unrecognized line: expected `/node`, `/node : type`, `name = value`, `name -> path`, `name => path [property]` or `acl SCHEME:ID:PERMS`
    3:7: bad value: unknown name `oops`: expected a value (a number, a quoted string, True, False, None, a list, a tuple or a dict) (values are literals, never evaluated)
    ");
}

#[test]
fn too_deep() {
    let mut text = String::new();
    for depth in 0..=MAX_NODE_DEPTH {
        text.push_str(&" ".repeat(depth));
        text.push_str("/n\n");
    }
    let all = errors(&text);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].line, MAX_NODE_DEPTH + 1);
    assert_eq!(all[0].kind, K::TooDeep { limit: MAX_NODE_DEPTH });
    // One level less is fine.
    let shallower: String = text.lines().take(MAX_NODE_DEPTH).map(|l| format!("{l}\n")).collect();
    assert!(parse(&shallower).is_ok());
}

/// `x = [[...[1]...]]`, the value `depth` lists deep, under the node `/a`.
fn nested_value_text(depth: usize) -> String {
    format!("/a\n  x = {}1{}\n", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn values_nest_as_deep_as_node_data_reads_back_and_no_deeper() {
    let deepest = tree(&nested_value_text(crate::props::MAX_VALUE_DEPTH));
    let properties = child(&deepest, "a").to_properties();
    let data = crate::props::encode(&properties).unwrap();
    assert_eq!(crate::props::decode(&data).properties, properties);

    let all = errors(&nested_value_text(crate::props::MAX_VALUE_DEPTH + 1));
    assert_eq!(all.len(), 1);
    // `  x = ` is six columns; the 127th `[` is the one too many.
    assert_eq!((all[0].line, all[0].column), (2, 6 + 127));
    insta::assert_snapshot!(all[0].kind, @"bad value: value nested deeper than 126 levels");
}

#[test]
fn node_names_zookeeper_refuses_are_errors_at_the_offending_character() {
    insta::assert_snapshot!(
        report("/ok\n  /a/b\n  /..\n  /.\n  /x\u{1}y\n  /\u{e000}\n  /😀\n  /n\u{7f}\n/top\n  x = 1\n"),
        @r"
    2:5: invalid node name `a/b`: a node name cannot contain /
    3:4: invalid node name `..`: relative paths (. and ..) are not allowed
    4:4: invalid node name `.`: relative paths (. and ..) are not allowed
    5:5: invalid node name `x\u{1}y`: invalid character
    6:4: invalid node name `\u{e000}`: invalid character
    7:4: invalid node name `😀`: invalid character
    8:5: invalid node name `n\u{7f}`: invalid character
    "
    );
    // Lines under a refused node are checked, not kept.
    insta::assert_snapshot!(report("/..\n  x = oops\n"), @r"
    1:2: invalid node name `..`: relative paths (. and ..) are not allowed
    2:7: bad value: unknown name `oops`: expected a value (a number, a quoted string, True, False, None, a list, a tuple or a dict) (values are literals, never evaluated)
    ");
    // Dots within a name are fine.
    assert!(parse("/.a\n  /..b\n  /a.\n").is_ok());
}

#[test]
fn a_top_level_zookeeper_node_is_refused_only_where_it_would_go_into_zookeeper() {
    let text = "/a\n/zookeeper\n  /quota\n";
    let all = parse_for_import(text, "/").expect_err("refused at /");
    assert_eq!(all.len(), 1);
    insta::assert_snapshot!(
        format!("{}:{}: {}", all[0].line, all[0].column, all[0].kind),
        @"2:2: `/zookeeper` is in ZooKeeper's own subtree, which is not imported into"
    );
    assert_eq!(parse_for_import(text, "/x/..").unwrap_err(), all, "the import path is normalized");
    assert!(parse_for_import(text, "/apps").is_ok());
    assert!(parse_for_import("/a\n  /zookeeper\n", "/").is_ok(), "/a/zookeeper is an ordinary node");
    assert!(parse(text).is_ok(), "without an import path, nothing is reserved");
}

#[test]
fn node_data_over_the_limit_is_an_error_on_the_node_line() {
    // The most data a setData of `/top/big` carries: the path counts against the request limit.
    let limit = crate::store::RequestLimit::default().data_room("/top/big");
    // `{"x":"..."}` is the string and 8 bytes.
    let node = |len: usize| format!("  /big\n    x = '{}'\n", "a".repeat(len));
    assert!(parse(&format!("/top\n{}", node(limit - 8))).is_ok());
    let all = errors(&format!("/top\n{}  /other\n    y = oops\n", node(limit - 7)));
    // In line order, although the data is checked when the node ends.
    assert_eq!(all.iter().map(|e| (e.line, e.column)).collect::<Vec<_>>(), [(2, 3), (5, 9)]);
    assert_eq!(all[0].text, "  /big");
    assert_eq!(
        all[0].kind.to_string(),
        format!("node data is {} bytes, more than ZooKeeper's limit of {limit} bytes", limit + 1)
    );
    // Links count: they are stored in the data too.
    let link = format!("/l\n  x -> /{}\n", "a".repeat(limit));
    assert!(matches!(errors(&link)[0].kind, K::DataTooLarge { .. }));
}

#[test]
fn a_server_with_a_larger_jute_maxbuffer_takes_larger_data_up_to_its_limit() {
    let max = 4 << 20;
    let room = crate::store::RequestLimit { max, chroot: 0 }.data_room("/big");
    let text = |len: usize| format!("/big\n  x = '{}'\n", "a".repeat(len - 8));
    // Too long for the default limit, not for this server's.
    assert!(crate::tree::check_for_import(&text(room), "/").is_err());
    assert!(crate::tree::check_for_server(&text(room), "/", max).is_ok());
    let over = crate::tree::check_for_server(&text(room + 1), "/", max).unwrap_err();
    assert_eq!((over[0].line, over[0].column), (1, 1));
    assert_eq!(over[0].kind, K::DataTooLarge { size: room + 1, limit: room });
}

#[test]
fn text_that_is_not_utf8_is_an_error_at_its_line_and_column() {
    let error = decode_text(b"/a\n  x = 1\n  y = '\xc3\xa9\xff'\n  z = 2\n".to_vec()).unwrap_err();
    assert_eq!((error.line, error.column), (3, 9));
    assert_eq!(error.text, "  y = '\u{e9}\u{fffd}'");
    insta::assert_snapshot!(
        error.kind,
        @"invalid UTF-8: byte 0xff is not part of a UTF-8 character (tree text is UTF-8)"
    );
    // A byte-order mark is not a column, as for the parser.
    let error = decode_text(b"\xef\xbb\xbf/a\xfe\n".to_vec()).unwrap_err();
    assert_eq!((error.line, error.column), (1, 3));
    assert_eq!(decode_text(b"/a\n".to_vec()).unwrap(), "/a\n");
}

/// Lines built from the format's tokens, at random indentation.
fn token_lines() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("/"),
        Just("/a"),
        Just("/b"),
        Just("a"),
        Just("type"),
        Just(" "),
        Just("\t"),
        Just("="),
        Just("->"),
        Just("=>"),
        Just(":"),
        Just("#"),
        Just("'"),
        Just("\""),
        Just("["),
        Just("]"),
        Just("("),
        Just(")"),
        Just("{"),
        Just("}"),
        Just(","),
        Just("1"),
        Just("-2.5e3"),
        Just("True"),
        Just("None"),
        Just("\\"),
        Just("u"),
        Just("é"),
        Just("\r"),
        Just("x"),
    ];
    let line = (0usize..6, prop::collection::vec(token, 0..8))
        .prop_map(|(indent, tokens)| format!("{}{}", " ".repeat(indent), tokens.concat()));
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(crate::tree::proptest_config(10_000))]

    #[test]
    fn never_panics_on_token_soup(text in token_lines()) {
        match parse_all(&text) {
            Ok(_) => {}
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                let line_count = text.split('\n').count();
                for e in &errors {
                    prop_assert!(e.line >= 1 && e.line <= line_count);
                    prop_assert!(e.column >= 1);
                }
            }
        }
    }

    #[test]
    fn never_panics_on_any_text(text in any::<String>()) {
        let _ = parse_all(&text);
    }
}

#[test]
fn acl_lines_give_the_node_its_acl_in_order() {
    use crate::store::{Acl, Perms};
    let root = tree(
        "/app : service\n\
         \x20 acl digest:admin:x1y2Z3+/=:cdrwa\n\
         \x20 acl world:anyone:r\n\
         \x20 acl x509:CN=App Server,O=Example:rw\n\
         \x20 acl = 'a property'\n\
         \x20 /c\n",
    );
    let app = child(&root, "app");
    assert_eq!(
        app.acl,
        [
            Acl::new(Perms::ALL, "digest", "admin:x1y2Z3+/="),
            Acl::new(Perms::READ, "world", "anyone"),
            Acl::new(Perms::READ | Perms::WRITE, "x509", "CN=App Server,O=Example"),
        ]
    );
    // A property named `acl` is a property; ACL lines are no part of the node's data.
    assert_eq!(app.properties.get("acl"), Some(&json!("a property")));
    assert_eq!(app.properties.len(), 2);
    assert!(child(&root, "app/c").acl.is_empty());
}

#[test]
fn bad_acl_lines_point_at_what_is_wrong() {
    insta::assert_snapshot!(report(
        "/a\n  acl\n  acl world\n  acl world:anyone:rx\n  acl world:someone:r\n  acl digest:admin:cdrwa\n  \
         acl wo rld:anyone:r\n  acl world:anyone:r\n  acl world:anyone:r\nacl world:anyone:r\n"
    ), @r"
    2:6: bad ACL line: expected SCHEME:ID:PERMS after `acl` (e.g. `acl world:anyone:r`, `acl digest:admin:HASH:cdrwa`)
    3:7: bad ACL line: expected SCHEME:ID:PERMS after `acl` (e.g. `acl world:anyone:r`, `acl digest:admin:HASH:cdrwa`)
    4:20: bad ACL line: expected permissions: letters of `rwcda`, each at most once (e.g. `acl world:anyone:r`, `acl digest:admin:HASH:cdrwa`)
    5:13: bad ACL line: the `world` scheme has one id, `anyone` (e.g. `acl world:anyone:r`, `acl digest:admin:HASH:cdrwa`)
    6:14: bad ACL line: a `digest` id is USER:HASH (the base64 SHA-1 hash of USER:PASSWORD) (e.g. `acl world:anyone:r`, `acl digest:admin:HASH:cdrwa`)
    7:7: bad ACL line: expected a scheme (`world`, `digest`, `ip`, ...) without blanks before the first `:` (e.g. `acl world:anyone:r`, `acl digest:admin:HASH:cdrwa`)
    9:3: duplicate ACL entry `world:anyone:r`: it is already given above for this node
    10:1: property above the top-level nodes: expected a `/node` line (properties belong to a node)
    ");
}

/// What `check_for_import` then each top-level node's `parse` give: as `parse_for_import`.
fn checked_then_parsed(text: &str, import_path: &str) -> Result<Node, Vec<ParseError>> {
    let checked = crate::tree::check_for_import(text, import_path)?;
    let mut root = Node::default();
    for top in checked.tops() {
        let node = top.parse().map_err(|e| vec![e])?;
        root.children.insert(top.name().to_string(), node);
    }
    Ok(root)
}

#[test]
fn checked_text_parses_each_top_level_node_as_the_whole_text_does() {
    let text = "\u{feff}# head\n  /b : x\n    v = 1\n\n    /c\n      w = [1,\n  /a\n    acl world:anyone:r\n# tail\n";
    assert!(parse_for_import(text, "/").is_err(), "the list is not closed");
    let text = "\u{feff}# head\n  /b : x\n    v = 1\n\n    /c\n      w = [1]\r\n  /a\n    acl world:anyone:r\n# tail";
    let checked = crate::tree::check_for_import(text, "/apps").unwrap();
    let names: Vec<_> = checked.tops().map(|top| top.name().to_string()).collect();
    assert_eq!(names, ["a", "b"], "in name order");
    assert_eq!(checked_then_parsed(text, "/apps"), parse_for_import(text, "/apps"));
    assert_eq!(
        crate::tree::check_for_import("/a\n/b\n  /zookeeper\n/zookeeper\n  /a\n  /a\n", "/").unwrap_err(),
        parse_for_import("/a\n/b\n  /zookeeper\n/zookeeper\n  /a\n  /a\n", "/").unwrap_err()
    );
}

proptest! {
    #![proptest_config(crate::tree::proptest_config(2_000))]

    #[test]
    fn checked_text_reports_and_parses_as_parse_for_import(text in token_lines()) {
        prop_assert_eq!(checked_then_parsed(&text, "/"), parse_for_import(&text, "/"));
    }

    #[test]
    fn checked_text_of_a_printed_tree_parses_back_to_the_tree(root in crate::testkit::tree()) {
        let text = crate::tree::print(&root);
        prop_assert_eq!(checked_then_parsed(&text, "/x"), Ok(root));
    }
}

/// Checks `text` in `parts` parts as `check_for_server` does on a long text: the parts find
/// the top-level nodes one pass finds, where they are, or leave the text to one pass; they
/// never pass a text one pass refuses. Whether they found them.
fn parts_agree_with_one_pass(text: &str, parts: usize) -> Result<bool, TestCaseError> {
    let pass = Pass::Check { max_request: DEFAULT_MAX_REQUEST };
    let whole = run(text, None, Some("/"), pass).map(|(_, tops)| tops);
    match (crate::tree::checked::check_in_parts(text, "/", pass, parts), whole) {
        (None, _) => Ok(false),
        (Some(tops), Ok(whole)) => {
            prop_assert_eq!(tops, whole);
            Ok(true)
        }
        (Some(_), Err(errors)) => {
            Err(TestCaseError::fail(format!("the parts passed it; one pass: {errors:?}")))
        }
    }
}

#[test]
fn a_text_checked_in_parts_has_its_top_level_nodes_where_one_pass_finds_them() {
    let text: String =
        (0..300).map(|i| format!("/n{i:03}\n  x = {i}\n  # a comment\n  /c\n\n    y = 'z'\n")).collect();
    for parts in 2..=4 {
        assert!(matches!(parts_agree_with_one_pass(&text, parts), Ok(true)), "{parts} parts");
    }
}

#[test]
fn a_text_is_split_in_parts_wherever_its_shares_fall_between_multibyte_characters() {
    // Values of two-byte characters: with one to three more bytes in front, an equal share
    // falls inside a character in some of these texts.
    for pad in 0..4 {
        let text: String = std::iter::once(format!("/p\n  x = '{}'\n", "a".repeat(pad)))
            .chain((0..50).map(|i| format!("/n{i:02}\n  x = '{}'\n", "é".repeat(40))))
            .collect();
        assert!(matches!(parts_agree_with_one_pass(&text, 2), Ok(true)), "pad {pad}");
    }
}

#[test]
fn a_text_the_parts_cannot_tell_all_of_is_left_to_one_pass() {
    let pass = Pass::Check { max_request: DEFAULT_MAX_REQUEST };
    let in_parts = |text: &str| crate::tree::checked::check_in_parts(text, "/", pass, 2);
    // Top-level nodes at column 3, then one at column 1: an indentation error in one pass,
    // though each part alone is fine.
    let indented = "  /a\n    x = 1\n  /b\n/c\n  /d\n";
    assert!(run(indented, None, Some("/"), pass).is_err());
    assert_eq!(in_parts(indented), None);
    // The same name at the top level of both parts.
    let twice = "/a\n  x = 1\n/b\n/a\n  y = 2\n";
    assert!(run(twice, None, Some("/"), pass).is_err());
    assert_eq!(in_parts(twice), None);
    // An error in the second part: one pass numbers it in the whole text.
    let wrong = "/a\n  x = 1\n/b\n  y = [\n";
    assert_eq!(in_parts(wrong), None);
    // No line to start a second part at.
    assert_eq!(in_parts("/a\n  /b\n  /c\n"), None);
}

#[test]
fn a_long_text_is_checked_with_its_errors_numbered_in_the_whole_text() {
    let mut text: String =
        (0..60_000).map(|i| format!("/n{i:05}\n  x = 'a value of some length {i}'\n")).collect();
    text.push_str("/late\n  y = [\n/n00007\n");
    assert!(text.len() > 2 * (1 << 20), "long enough for two parts");
    assert_eq!(
        crate::tree::check_for_import(&text, "/").unwrap_err(),
        parse_for_import(&text, "/").unwrap_err()
    );
    let fine = &text[..text.find("/late").unwrap()];
    let checked = crate::tree::check_for_import(fine, "/").unwrap();
    assert_eq!(checked.tops().len(), 60_000);
    assert_eq!(checked_then_parsed(fine, "/"), parse_for_import(fine, "/"));
}

proptest! {
    #![proptest_config(crate::tree::proptest_config(2_000))]

    #[test]
    fn token_soup_checked_in_parts_agrees_with_one_pass(text in token_lines(), parts in 2usize..5) {
        parts_agree_with_one_pass(&text, parts)?;
    }

    #[test]
    fn printed_trees_checked_in_parts_agree_with_one_pass(
        trees in prop::collection::vec(crate::testkit::tree(), 1..4),
        indent in prop::sample::select(vec![0usize, 0, 2]),
        parts in 2usize..5,
    ) {
        // Trees one after the other: their top-level names may repeat, and one may be
        // indented as a whole.
        let text: String = trees
            .iter()
            .enumerate()
            .flat_map(|(index, tree)| {
                let pad = if index == 1 { " ".repeat(indent) } else { String::new() };
                crate::tree::print(tree).lines().map(move |line| format!("{pad}{line}\n")).collect::<Vec<_>>()
            })
            .collect();
        parts_agree_with_one_pass(&text, parts)?;
    }
}
