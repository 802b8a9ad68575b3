//! Parsing tree text into a [`Node`](super::Node).
//!
//! Lines are read one at a time against a stack of open levels: the root (column 0), then one
//! level per indentation column in use, each holding the item last seen at that column. A
//! line deeper than the top level opens a new level under it; a line at an open level's
//! column closes everything deeper and replaces that level's item, so it belongs to the item
//! one level down (which is why a property at the column of a sibling node belongs to the
//! parent). A finished node is moved into its parent when its level closes, so the tree is
//! built without an arena and without recursion.
//!
//! After an error the parser carries on, so that [`parse_all`] reports every error: a line
//! that cannot be used becomes a placeholder whose indented lines are still checked but kept
//! nowhere.
//!
//! What ZooKeeper would refuse is an error here too, with its line and column (see
//! [`check`](super::check)): a node name it refuses (as a node is opened) and node data over
//! its size limit (as a node is closed, when all its properties are known).

use crate::store::size::DEFAULT_MAX_REQUEST;
use serde_json::Value;

use super::check::{self, Refusal};
use super::comments::{Comments, Item};
use super::error::{ParseError, ParseErrorKind};
use super::line::{classify, Line};
use super::value::column_of;
use super::Node;
use crate::path;

/// The deepest nesting of nodes the parser accepts. Deeper trees would make the recursive
/// operations on [`Node`] (drop, compare, clone) risk the stack; ZooKeeper trees are far
/// shallower.
pub const MAX_NODE_DEPTH: usize = 1000;

/// Parses tree text; the result's children are the text's top-level nodes. On error, the
/// first error (see [`parse_all`] for all of them). This is zc.zk's `parse_tree`: the tree as
/// plain values, each [`Node`] with its properties, node links, property links and children
/// (keyed by name).
#[doc(alias = "parse_tree")]
pub fn parse(text: &str) -> Result<Node, ParseError> {
    parse_all(text).map_err(|mut errors| errors.swap_remove(0))
}

/// Parses tree text, reporting every error, in line order (never an empty list).
pub fn parse_all(text: &str) -> Result<Node, Vec<ParseError>> {
    parse_with(text, None, None)
}

/// Tree text from bytes: the text, or an error at the line and column of the first byte that
/// is not UTF-8 (numbered as the parser numbers lines and columns).
pub fn decode_text(bytes: Vec<u8>) -> Result<String, ParseError> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let start = bytes[..at].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let end = bytes[at..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |i| at + i);
        // Everything before `at` is UTF-8; the parser does not count a byte-order mark.
        let before = String::from_utf8_lossy(&bytes[start..at]);
        let before = if start == 0 { before.trim_start_matches('\u{feff}') } else { &before };
        let line = 1 + bytes[..at].iter().filter(|b| **b == b'\n').count();
        let text = String::from_utf8_lossy(&bytes[start..end]);
        error_at(line, &text, before.chars().count() + 1, ParseErrorKind::InvalidUtf8 { byte: bytes[at] })
    })
}

/// Parses tree text to be imported under `import_path`, reporting every error: as
/// [`parse_all`], and also refusing a top-level node that would go into `/zookeeper`,
/// ZooKeeper's own subtree. So an import into `import_path` of a text that parses here fails
/// only for what exists in ZooKeeper (or for an invalid `import_path`), never for the text.
pub fn parse_for_import(text: &str, import_path: &str) -> Result<Node, Vec<ParseError>> {
    parse_with(text, None, Some(import_path))
}

/// Parses tree text; with `comments`, also records which item each comment line precedes;
/// with `import_path`, refuses top-level nodes that would go into `/zookeeper` there.
pub(crate) fn parse_with(
    text: &str,
    comments: Option<&mut Comments>,
    import_path: Option<&str>,
) -> Result<Node, Vec<ParseError>> {
    let (root, _) = run(text, comments, import_path, Pass::Parse)?;
    Ok(root)
}

/// Where one top-level node of a text is: its name, its lines (a byte range of the text, BOM
/// stripped) and the number of its first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopLines {
    pub name: String,
    pub bytes: std::ops::Range<usize>,
    pub line: usize,
}

/// What a run of the parser keeps and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Check everything and keep the tree.
    Parse,
    /// Check everything and keep no node: each is dropped once checked (only the names of
    /// the open nodes' children are kept, to find duplicates), so the tree returned has no
    /// children and the memory used does not grow with the text. Node data must fit a
    /// server whose `jute.maxbuffer` is `max_request`.
    Check {
        /// The longest request the server accepts.
        max_request: usize,
    },
    /// Keep the tree of a text that a [`Pass::Check`] for the same import path found free of
    /// errors: node data is not encoded again to check its size.
    Checked,
}

/// Parses tree text as [`parse_with`] does (keeping and checking as `pass` says), and where
/// each top-level node's lines are.
pub(crate) fn run(
    text: &str,
    comments: Option<&mut Comments>,
    import_path: Option<&str>,
    pass: Pass,
) -> Result<(Node, Vec<TopLines>), Vec<ParseError>> {
    // A byte-order mark (some editors write one) is no part of the first line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (root, tops, _) = run_part(text, comments, import_path, pass)?;
    Ok((root, tops))
}

/// As [`run`], for text without a byte-order mark, which may be a part of a longer text that
/// starts at a line: also says whether the top-level nodes were at column 1 at its end, so
/// that a next part starting with a node at column 1 (no indentation) would go on as if the
/// two were parsed as one text (see [`super::checked`]).
pub(crate) fn run_part(
    text: &str,
    comments: Option<&mut Comments>,
    import_path: Option<&str>,
    pass: Pass,
) -> Result<(Node, Vec<TopLines>, bool), Vec<ParseError>> {
    let mut parser = Parser {
        levels: vec![Level { column: 0, item: Open::Node(String::new(), Box::default()), line: 0, text: "" }],
        errors: Vec::new(),
        comments,
        // An import path that is not a path fails the import anyway.
        import_point: import_path.and_then(|path| path::normalize(path).ok()),
        pass,
        tops: Vec::new(),
        path: String::new(),
    };
    let mut start = 0;
    for (index, raw) in text.split('\n').enumerate() {
        parser.line(index + 1, start, raw);
        start += raw.len() + 1;
    }
    let top_level_at_column_one = parser.levels.get(1).map_or(true, |level| level.column == 1);
    let root = parser.finish();
    if let Some(comments) = parser.comments {
        comments.trailing = std::mem::take(&mut comments.pending);
    }
    if parser.errors.is_empty() {
        // Each top-level node's lines run to the next one's.
        let mut tops = parser.tops;
        let ends: Vec<usize> = tops.iter().skip(1).map(|top| top.bytes.start).chain([text.len()]).collect();
        for (top, end) in tops.iter_mut().zip(ends) {
            top.bytes.end = end;
        }
        Ok((root, tops, top_level_at_column_one))
    } else {
        // A node's data is checked when it closes, after the lines below it.
        parser.errors.sort_by_key(|e| e.line);
        Err(parser.errors)
    }
}

/// What an open level holds.
enum Open {
    /// A node being built, with its name (the root's is empty); boxed, as every line pushes
    /// a level and a node is large to move.
    Node(String, Box<Node>),
    /// A property or link line: nothing may be indented under it.
    Leaf,
    /// A line that could not be used (or one under it): lines under it are checked, not kept.
    Discard,
}

struct Level<'t> {
    /// 1-based column of the level's lines; 0 for the root.
    column: usize,
    item: Open,
    /// The 1-based number and the text of the line that opened the level (0 for the root).
    line: usize,
    text: &'t str,
}

struct Parser<'t, 'c> {
    /// Never empty: the root level stays at the bottom.
    levels: Vec<Level<'t>>,
    errors: Vec<ParseError>,
    comments: Option<&'c mut Comments>,
    /// Where the text is to be imported (normalized), when known.
    import_point: Option<String>,
    /// Whether finished nodes are kept (moved into their parent) or dropped once checked, and
    /// whether their data is checked.
    pass: Pass,
    /// The top-level nodes seen, their byte ranges ending where they start.
    tops: Vec<TopLines>,
    /// The buffer [`Parser::path_of`] builds paths in, kept to build each without allocating.
    path: String,
}

/// An error on line `line` (whose text is `raw`) at `column`.
fn error_at(line: usize, raw: &str, column: usize, kind: ParseErrorKind) -> ParseError {
    ParseError { line, column, text: raw.trim_end().to_string(), kind }
}

impl<'t> Parser<'t, '_> {
    fn line(&mut self, number: usize, start: usize, raw: &'t str) {
        let unindented = raw.trim_start();
        let stripped = unindented.trim_end();
        if stripped.is_empty() {
            return;
        }
        if stripped.starts_with('#') {
            if let Some(comments) = &mut self.comments {
                comments.pending.push(stripped.to_string());
            }
            return;
        }
        let indent = raw[..raw.len() - unindented.len()].chars().count();
        let column = indent + 1;
        let error = |kind: ParseErrorKind, column: usize| error_at(number, raw, column, kind);

        // Find the level the line goes under, closing the levels it ends.
        let mut usable = true;
        let mut misplaced = false;
        if column <= self.top().column {
            // The open columns, for the message, only when the line matches none of them.
            let open: Vec<usize> = if self.levels.iter().any(|l| l.column == column) {
                Vec::new()
            } else {
                self.levels[1..].iter().map(|l| l.column).collect()
            };
            while self.top().column > column {
                self.close();
            }
            if self.top().column == column {
                self.close();
            } else {
                // Carry on with the line as a placeholder under the level it fell into (a
                // placeholder, so that the lines after it are not blamed for its column).
                self.errors.push(error(ParseErrorKind::InvalidIndentation { expected: open }, column));
                usable = false;
                misplaced = true;
            }
        }
        if usable && matches!(self.top().item, Open::Leaf) {
            self.errors.push(error(ParseErrorKind::IndentUnderProperty, column));
            usable = false;
        }
        let at_root = self.levels.len() == 1;
        let depth = self.levels.len();

        let line = match classify(stripped) {
            Ok(line) => line,
            Err(e) => {
                self.errors.push(error(e.kind, indent + column_of(stripped, e.offset)));
                let item = if e.node_like || misplaced { Open::Discard } else { Open::Leaf };
                self.levels.push(Level { column, item, line: number, text: raw });
                return;
            }
        };

        if usable && self.comments.as_ref().is_some_and(|c| !c.pending.is_empty()) {
            self.attach_comments(&line);
        }
        let mut refused = match &line {
            Line::Node { name, .. } => self.refused_name(name, at_root).map(|(kind, offset)| {
                // The name starts after the one-byte `/`.
                (kind, indent + column_of(stripped, 1 + offset))
            }),
            _ => None,
        };
        let parent = match &mut self.top_mut().item {
            Open::Node(_, node) if usable => Some(node),
            _ => None,
        };
        // What is wrong, and where on the line.
        let (item, kind) = match line {
            Line::Node { name, node_type } => match parent {
                None => (Open::Discard, None),
                Some(_) if depth > MAX_NODE_DEPTH => {
                    (Open::Discard, Some((ParseErrorKind::TooDeep { limit: MAX_NODE_DEPTH }, column)))
                }
                Some(_) if refused.is_some() => (Open::Discard, refused.take()),
                Some(parent) if parent.children.contains_key(name) => {
                    (Open::Discard, Some((ParseErrorKind::DuplicateNode { name: name.to_string() }, column)))
                }
                Some(_) => {
                    let mut node = Node::default();
                    if let Some(node_type) = node_type {
                        node.properties.insert("type".to_string(), Value::String(node_type.to_string()));
                    }
                    (Open::Node(name.to_string(), Box::new(node)), None)
                }
            },
            _ if at_root && usable => (Open::Leaf, Some((ParseErrorKind::PropertyAboveTopLevel, column))),
            property => (
                Open::Leaf,
                parent.and_then(|parent| add_property(parent, property)).map(|kind| (kind, column)),
            ),
        };
        if let Some((kind, at)) = kind {
            self.errors.push(error(kind, at));
        }
        let item = if misplaced { Open::Discard } else { item };
        if let (true, Open::Node(name, _)) = (at_root, &item) {
            self.tops.push(TopLines { name: name.clone(), bytes: start..start, line: number });
        }
        self.levels.push(Level { column, item, line: number, text: raw });
    }

    /// Why ZooKeeper would refuse a node named `name` (`at_root`: a top-level node), with the
    /// byte offset in the name to point at.
    fn refused_name(&self, name: &str, at_root: bool) -> Option<(ParseErrorKind, usize)> {
        if let Err(Refusal::Name { offset, reason }) = check::name(name) {
            return Some((ParseErrorKind::InvalidNodeName { name: name.to_string(), reason }, offset));
        }
        let root = self.import_point.as_deref().filter(|_| at_root)?;
        let path = path::child(root, name);
        check::place(&path).is_err().then_some((ParseErrorKind::ReservedNode { path }, 0))
    }

    /// Gives the pending comment lines to the item `line` adds under the top level.
    fn attach_comments(&mut self, line: &Line<'_>) {
        let node_path: Vec<String> = self.levels[1..]
            .iter()
            .filter_map(|level| match &level.item {
                Open::Node(name, _) => Some(name.clone()),
                _ => None,
            })
            .collect();
        let item = match line {
            Line::Node { name, .. } => Item::Node(name.to_string()),
            Line::Property { name, .. } => Item::Property(name.to_string()),
            Line::Link { name, .. } => Item::Link(name.to_string()),
            Line::PropertyLink { name, .. } => Item::PropertyLink(name.to_string()),
            Line::Acl(entry) => Item::Acl(entry.to_string()),
        };
        if let Some(comments) = &mut self.comments {
            let pending = std::mem::take(&mut comments.pending);
            comments.before.entry((node_path, item)).or_default().extend(pending);
        }
    }

    fn top(&self) -> &Level<'t> {
        &self.levels[self.levels.len() - 1]
    }

    fn top_mut(&mut self) -> &mut Level<'t> {
        let last = self.levels.len() - 1;
        &mut self.levels[last]
    }

    /// Closes the top level (never the root), moving a finished node into its parent once
    /// its data is checked.
    fn close(&mut self) {
        if self.levels.len() < 2 {
            return;
        }
        if let Some(Level { item: Open::Node(name, node), line, text, column }) = self.levels.pop() {
            let checked = match self.pass {
                Pass::Checked => Ok(()),
                Pass::Parse => check::data_size(&node, self.path_of(&name), DEFAULT_MAX_REQUEST),
                Pass::Check { max_request } => check::data_size(&node, self.path_of(&name), max_request),
            };
            let refused = match checked {
                Err(Refusal::DataTooLarge { size, limit }) => {
                    Some(ParseErrorKind::DataTooLarge { size, limit })
                }
                // The value grammar nests no deeper than node data can hold: not expected.
                Err(Refusal::Properties(e)) => Some(ParseErrorKind::BadValue { message: e.to_string() }),
                Err(Refusal::Name { reason, .. }) => {
                    Some(ParseErrorKind::InvalidNodeName { name: name.clone(), reason })
                }
                Ok(()) | Err(Refusal::Reserved) => None,
            };
            if let Some(kind) = refused {
                self.errors.push(error_at(line, text, column, kind));
            }
            // Dropped, a node leaves its name, so that a duplicate is still found.
            let node = if matches!(self.pass, Pass::Check { .. }) { Node::default() } else { *node };
            if let Open::Node(_, parent) = &mut self.top_mut().item {
                parent.children.insert(name, node);
            }
        }
    }

    /// The path of a node named `name` under the open levels, from the import point (`/`
    /// without one).
    fn path_of(&mut self, name: &str) -> &str {
        // Built in a kept buffer: this runs for every node of the text.
        let path = &mut self.path;
        path.clear();
        path.push_str(self.import_point.as_deref().unwrap_or("/"));
        let names = self.levels[1..].iter().filter_map(|level| match &level.item {
            Open::Node(name, _) => Some(name.as_str()),
            _ => None,
        });
        for name in names.chain([name]) {
            if path != "/" {
                path.push('/');
            }
            path.push_str(name);
        }
        path
    }

    /// Closes every level and returns the root.
    fn finish(&mut self) -> Node {
        while self.levels.len() > 1 {
            self.close();
        }
        match self.levels.pop() {
            Some(Level { item: Open::Node(_, root), .. }) => *root,
            _ => Node::default(),
        }
    }
}

/// Adds a property, link or ACL line to `node`; a name (or ACL entry) already given is a
/// duplicate.
fn add_property(node: &mut Node, line: Line<'_>) -> Option<ParseErrorKind> {
    use std::collections::btree_map::Entry;
    let duplicate = |name: &str, suffix: &str| {
        Some(ParseErrorKind::DuplicateProperty { name: format!("{name}{suffix}") })
    };
    match line {
        Line::Property { name, value } => match node.properties.entry(name) {
            serde_json::map::Entry::Occupied(_) => return duplicate(name, ""),
            serde_json::map::Entry::Vacant(slot) => {
                slot.insert(value);
            }
        },
        Line::Link { name, target } => match node.links.entry(name.to_string()) {
            Entry::Occupied(_) => return duplicate(name, super::LINK_SUFFIX),
            Entry::Vacant(slot) => {
                slot.insert(target.to_string());
            }
        },
        Line::PropertyLink { name, target } => match node.property_links.entry(name.to_string()) {
            Entry::Occupied(_) => return duplicate(name, super::PROPERTY_LINK_SUFFIX),
            Entry::Vacant(slot) => {
                slot.insert(target.to_string());
            }
        },
        Line::Acl(entry) if node.acl.contains(&entry) => {
            return Some(ParseErrorKind::DuplicateAcl { entry: entry.to_string() });
        }
        Line::Acl(entry) => node.acl.push(entry),
        Line::Node { .. } => {}
    }
    None
}

#[cfg(test)]
mod tests;
