//! Parsing tree text into a [`Node`](super::Node).

use super::Node;

/// What was wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Placeholder: the parser is being written.
    Todo,
}

/// A parse error with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {kind:?}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The line's text.
    pub text: String,
    /// What was wrong.
    pub kind: ParseErrorKind,
}

/// Parses tree text; the first error stops it.
pub fn parse(text: &str) -> Result<Node, ParseError> {
    parse_all(text).map_err(|mut errors| errors.remove(0))
}

/// Parses tree text, reporting every error.
pub fn parse_all(_text: &str) -> Result<Node, Vec<ParseError>> {
    todo!("tree parser")
}
