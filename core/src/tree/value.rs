//! Property values: the literal grammar (JSON and Python spellings) and Python 3 printing.
//!
//! Upstream `eval`s the text after `=`. We never evaluate anything: a value is one literal of
//! a small grammar that accepts what both JSON and Python write for the values JSON can hold.
//! The reader lives in [`read`](self::read) (a hand-written recursive-descent parser over
//! bytes); the printer in [`repr`](self::repr) writes what Python 3's `repr` writes, so that
//! zc.zk can read our output back too.

mod read;
mod repr;

use serde_json::Value;

pub(crate) use read::parse_value_at;
pub(crate) use repr::write_value;

/// The deepest nesting of lists, tuples and dicts a value may have: the properties codec's
/// [`MAX_VALUE_DEPTH`](crate::props::MAX_VALUE_DEPTH), the most that node data can hold and
/// read back. So every value the grammar accepts is stored and read back exactly, and every
/// value read from ZooKeeper data fits.
pub const MAX_DEPTH: usize = crate::props::MAX_VALUE_DEPTH;

/// A value that is not a literal of the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ValueError {
    /// 1-based column (in characters) within the value text.
    pub column: usize,
    /// What was wrong, and what was expected instead.
    pub message: String,
}

/// Parses one value literal: `'red'`, `"red"`, `3`, `-1.5e3`, `True`, `null`, `[1, 'a']`,
/// `(1, 2)`, `{'a': 1}`. Surrounding whitespace and a trailing `# comment` are allowed.
///
/// Tuples become JSON arrays; `u`, `r` and `b` string prefixes are accepted (a bytes
/// literal is read as text, each `\xNN` giving the character U+00NN). Integers must fit in
/// an i64 and floats must be finite. Anything else, such as `1+2` or `range(3)`, is an error
/// saying where and what was expected.
pub fn parse_value(text: &str) -> Result<Value, ValueError> {
    parse_value_at(text).map_err(|e| ValueError { column: column_of(text, e.offset), message: e.message })
}

/// Prints a value as a Python 3 literal (`'red'`, `3`, `1.5`, `True`, `None`, `[1, 'a']`,
/// `{'a': 1}`), exactly as Python's `repr` would, except that which non-ASCII characters
/// count as printable is approximated (see the `repr` module). [`parse_value`] reads it
/// back to an equal value, for every value but integers beyond the i64 range and values
/// nested deeper than [`MAX_DEPTH`].
pub fn format_value(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// The 1-based character column of byte `offset` in `text`.
pub(crate) fn column_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    // An offset inside a multi-byte character (never produced, but cheap to survive) counts
    // the partial character as a whole one.
    text.as_bytes()[..offset].iter().filter(|b| (**b & 0xC0) != 0x80).count() + 1
}

#[cfg(test)]
mod tests;
