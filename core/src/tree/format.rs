//! Formatting tree text: `zczk fmt` must not delete what people wrote, so comment lines are
//! kept (see [`Comments`]).

use super::comments::Comments;
use super::error::ParseError;
use super::parse::parse_with;
use super::print::print_with;

/// The canonical form of tree text (as [`print`](super::print) gives it), keeping comment
/// lines: each run of comments stays before the item it preceded, at that item's indentation;
/// blank lines are dropped. Invalid text gives every parse error.
pub fn format(text: &str) -> Result<String, Vec<ParseError>> {
    let mut comments = Comments::default();
    let root = parse_with(text, Some(&mut comments), None)?;
    Ok(print_with(&root, Some(&comments)))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::tree::print::tests::any_tree;
    use crate::tree::{parse, print};

    #[test]
    fn comments_move_with_their_items() {
        let text = "\
# the web service
/web : wsgi
    # why so many
    threads = 8
  # the db
    db -> /db/providers
    # blue, as agreed
    color = 'blue'
# databases
/db
   /providers
# the end
";
        insta::assert_snapshot!(format(text).unwrap(), @r"
        # databases
        /db
          /providers
        # the web service
        /web : wsgi
          # blue, as agreed
          color = 'blue'
          # why so many
          threads = 8
          # the db
          db -> /db/providers
        # the end
        ");
    }

    #[test]
    fn a_type_line_that_becomes_the_node_line_keeps_its_comment() {
        let text = "/a\n  x = 1\n  # what it is\n  type = 'web'\n";
        assert_eq!(format(text).unwrap(), "# what it is\n/a : web\n  x = 1\n");
    }

    #[test]
    fn without_comments_format_is_print() {
        let text = "/b\n  z = 1\n  a = (1, 2)\n/a\n";
        assert_eq!(format(text).unwrap(), print(&parse(text).unwrap()));
    }

    #[test]
    fn only_comments() {
        assert_eq!(format("\n# one\n\n  # two\n").unwrap(), "# one\n# two\n");
    }

    #[test]
    fn errors_are_reported() {
        assert_eq!(format("/a\n  x = y\n# c\n").unwrap_err().len(), 1);
    }

    proptest! {
        #![proptest_config(crate::tree::proptest_config(1_000))]

        #[test]
        fn comments_change_nothing_and_stay(
            tree in any_tree(),
            inserts in prop::collection::vec((any::<prop::sample::Index>(), 0usize..5, "[ a-z#]{0,8}"), 0..6),
        ) {
            let mut lines: Vec<String> = print(&tree).lines().map(str::to_string).collect();
            let mut count = 0;
            for (at, indent, words) in inserts {
                let at = at.index(lines.len() + 1);
                lines.insert(at, format!("{}# {}", " ".repeat(indent), words.trim()));
                count += 1;
            }
            let text = lines.join("\n");
            let formatted = format(&text).map_err(|e| e[0].to_string());
            prop_assert!(formatted.is_ok(), "{:?}\n{}", formatted, text);
            let formatted = formatted.unwrap();
            prop_assert_eq!(parse(&formatted).ok(), Some(tree));
            prop_assert_eq!(formatted.lines().filter(|l| l.trim_start().starts_with('#')).count(), count);
            prop_assert_eq!(format(&formatted).ok(), Some(formatted.clone()));
        }
    }
}
