//! Tree text checked for import but not held parsed: each top-level node is parsed again when
//! it is needed, so that an import holds one text and a few subtrees, not the whole tree
//! (a parsed node takes several times the memory of its text).

use super::error::ParseError;
use super::parse::{run, Pass, TopLines};
use super::Node;
use crate::store::size::DEFAULT_MAX_REQUEST;

/// Tree text that [`check_for_import`] found free of errors, with where each of its top-level
/// nodes is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedText<'t> {
    /// The text, byte-order mark stripped.
    text: &'t str,
    /// The import path it was checked for.
    import_path: String,
    /// The top-level nodes, in name order.
    tops: Vec<TopLines>,
}

/// Checks tree text to be imported under `import_path` exactly as [`parse_for_import`]
/// does, reporting every error, without keeping the parsed tree: memory grows with the
/// widest node of the text, not with the text.
///
/// [`parse_for_import`]: super::parse_for_import
pub fn check_for_import<'t>(text: &'t str, import_path: &str) -> Result<CheckedText<'t>, Vec<ParseError>> {
    check_for_server(text, import_path, DEFAULT_MAX_REQUEST)
}

/// As [`check_for_import`], for a server whose `jute.maxbuffer` (the longest request it
/// accepts) is `max_request` rather than ZooKeeper's default: node data may be as long as
/// such a server takes.
pub fn check_for_server<'t>(
    text: &'t str,
    import_path: &str,
    max_request: usize,
) -> Result<CheckedText<'t>, Vec<ParseError>> {
    let (_, mut tops) = run(text, None, Some(import_path), Pass::Check { max_request })?;
    tops.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok(CheckedText { text, import_path: import_path.to_string(), tops })
}

impl CheckedText<'_> {
    /// The import path the text was checked for.
    pub fn import_path(&self) -> &str {
        &self.import_path
    }

    /// The top-level nodes, in name order (the order of a parsed tree's children).
    pub fn tops(&self) -> impl ExactSizeIterator<Item = TopText<'_>> {
        self.tops.iter().map(|top| TopText { text: self, top })
    }
}

/// One top-level node of a [`CheckedText`], not yet parsed.
#[derive(Debug, Clone, Copy)]
pub struct TopText<'c> {
    text: &'c CheckedText<'c>,
    top: &'c TopLines,
}

impl TopText<'_> {
    /// The node's name.
    pub fn name(&self) -> &str {
        &self.top.name
    }

    /// The node with its subtree: what [`parse_for_import`](super::parse_for_import) gives
    /// under its name. An error (not expected: the text was checked) has its line and column
    /// in the whole text.
    pub fn parse(&self) -> Result<Node, ParseError> {
        let top = self.top;
        let lines = &self.text.text[top.bytes.clone()];
        let shift = |mut error: ParseError| {
            error.line += top.line - 1;
            error
        };
        let (mut root, _) = run(lines, None, Some(&self.text.import_path), Pass::Checked)
            .map_err(|mut errors| shift(errors.swap_remove(0)))?;
        Ok(root.children.remove(&top.name).unwrap_or_default())
    }
}
