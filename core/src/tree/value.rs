//! Property values: the literal grammar (JSON and Python spellings) and Python 3 printing.

use serde_json::Value;

/// A value that is not a literal of the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ValueError {
    /// 1-based column within the value text.
    pub column: usize,
    /// What was expected.
    pub message: String,
}

/// Parses one value literal.
pub fn parse_value(_text: &str) -> Result<Value, ValueError> {
    todo!("value grammar")
}

/// Prints a value as a Python 3 literal (`'red'`, `3`, `True`, `None`, `[1, 'a']`, `{'a': 1}`).
pub fn format_value(_value: &Value) -> String {
    todo!("value printer")
}
