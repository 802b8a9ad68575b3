//! Parse errors: where (line, column, the line's text) and what was expected.

/// What was wrong with a line, and what was expected instead. `Display` gives the one-line
/// message (without the position).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The line is none of the line classes.
    #[error(
        "unrecognized line: expected `/node`, `/node : type`, `name = value`, `name -> path`, \
         `name => path [property]` or `acl SCHEME:ID:PERMS`"
    )]
    UnrecognizedLine,
    /// The line contains `->` but is not a node link.
    #[error("bad link format: expected `name -> path` (the path one word)")]
    BadLinkFormat,
    /// The line contains `=>` but is not a property link.
    #[error("bad link format: expected `name => path [property]`")]
    BadPropertyLinkFormat,
    /// A line starting with `acl` that is not one ACL entry `acl SCHEME:ID:PERMS` ZooKeeper
    /// accepts.
    #[error("bad ACL line: {reason} (e.g. `acl world:anyone:r`, `acl digest:admin:HASH:cdrwa`)")]
    BadAcl {
        /// What is wrong.
        reason: &'static str,
    },
    /// The same ACL entry twice for one node (ZooKeeper would keep it once).
    #[error("duplicate ACL entry `{entry}`: it is already given above for this node")]
    DuplicateAcl {
        /// The entry, `SCHEME:ID:PERMS`.
        entry: String,
    },
    /// The text after `name =` is not a literal of the value grammar.
    #[error("bad value: {message}")]
    BadValue {
        /// What was wrong with the value, and what was expected.
        message: String,
    },
    /// A dedent to a column no open level has.
    #[error("invalid indentation: expected {}", expected_columns(expected))]
    InvalidIndentation {
        /// The 1-based columns the line could have started at (those of the open levels).
        expected: Vec<usize>,
    },
    /// A line indented under a property (only a node can hold lines).
    #[error("indent under a property: only a node line can have lines indented under it")]
    IndentUnderProperty,
    /// A second node of the same name under one parent.
    #[error("duplicate node `{name}`: a node of this name is already given above")]
    DuplicateNode {
        /// The node's name.
        name: String,
    },
    /// A second property of the same name (including links) in one node; a `type` line
    /// under a `/node : type` line is one.
    #[error("duplicate property `{name}`: it is already given above for this node")]
    DuplicateProperty {
        /// The property's name, with ` ->` or ` =>` for links.
        name: String,
    },
    /// A property (or link) outside every node.
    #[error("property above the top-level nodes: expected a `/node` line (properties belong to a node)")]
    PropertyAboveTopLevel,
    /// Nodes nested deeper than [`MAX_NODE_DEPTH`](super::MAX_NODE_DEPTH) levels.
    #[error("nodes nested deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A node name ZooKeeper refuses: `.`, `..`, one holding `/` (`/a/b` is the node `a/b`),
    /// a control character or another character ZooKeeper's path check refuses.
    #[error("invalid node name `{}`: {reason}", crate::message::short(&.name.escape_debug().to_string()))]
    InvalidNodeName {
        /// The name.
        name: String,
        /// Why ZooKeeper refuses it.
        reason: &'static str,
    },
    /// A top-level node that the import would put into `/zookeeper`, ZooKeeper's own subtree.
    #[error("`{}` is in ZooKeeper's own subtree, which is not imported into", .path.escape_debug())]
    ReservedNode {
        /// The node's path once imported.
        path: String,
    },
    /// A node whose data (its properties and links as stored) is larger than ZooKeeper
    /// accepts.
    #[error("node data is {size} bytes, more than ZooKeeper's limit of {limit} bytes")]
    DataTooLarge {
        /// The encoded size of the node's data.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The text is not UTF-8 (the position is that of the first byte that is not).
    #[error("invalid UTF-8: byte 0x{byte:02x} is not part of a UTF-8 character (tree text is UTF-8)")]
    InvalidUtf8 {
        /// The first invalid byte.
        byte: u8,
    },
}

/// `column 1`, `column 1 or 3`, `column 1, 3 or 5`.
fn expected_columns(columns: &[usize]) -> String {
    match columns {
        [] => "a deeper column".to_string(),
        [one] => format!("column {one}"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(usize::to_string).collect();
            format!("column {} or {last}", init.join(", "))
        }
    }
}

/// A parse error: where it is (line, column and the line's text) and what was wrong.
/// `Display` gives one line such as `line 3, column 5: invalid indentation: expected column 3`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters (a tab is one column).
    pub column: usize,
    /// The line's text, without its line break and trailing blanks.
    pub text: String,
    /// What was wrong, and what was expected.
    pub kind: ParseErrorKind,
}
