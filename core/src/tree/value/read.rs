//! Reading one value literal: a recursive-descent parser over the bytes of the text.
//!
//! All the grammar's punctuation is ASCII, so the parser works on bytes and copies string
//! contents as `&str` slices between ASCII positions, which are always character boundaries.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

use super::MAX_DEPTH;

/// A value error at a byte offset of the text; the caller turns the offset into a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawError {
    /// Byte offset in the text where the problem is.
    pub offset: usize,
    /// What was wrong, and what was expected instead.
    pub message: String,
}

type Result<T> = std::result::Result<T, RawError>;

/// What the message says was expected where a value should start.
const EXPECTED_VALUE: &str =
    "expected a value (a number, a quoted string, True, False, None, a list, a tuple or a dict)";

/// Parses one value filling `text`, allowing surrounding whitespace and a trailing comment.
pub(crate) fn parse_value_at(text: &str) -> Result<Value> {
    let mut reader = Reader { text, bytes: text.as_bytes(), pos: 0 };
    reader.skip_space();
    let value = reader.value(0)?;
    reader.skip_space();
    match reader.peek() {
        None | Some(b'#') => Ok(value),
        Some(_) => Err(reader.error_here(format!(
            "unexpected {} after a complete value; expected the end of the line or a `# comment` \
             (values are literals, never evaluated)",
            reader.describe_here()
        ))),
    }
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    /// Skips ASCII whitespace (what Python's tokenizer skips between tokens).
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c') = self.peek() {
            self.pos += 1;
        }
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) -> RawError {
        RawError { offset, message: message.into() }
    }

    fn error_here(&self, message: impl Into<String>) -> RawError {
        self.error_at(self.pos, message)
    }

    /// Names what is at the current position for a message: `` `+` `` or "the end of the line".
    fn describe_here(&self) -> String {
        match self.text.get(self.pos..).and_then(|rest| rest.chars().next()) {
            None => "the end of the line".to_string(),
            Some(c) => format!("`{}`", c.escape_debug()),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        match self.peek() {
            Some(b'[') => self.list(depth),
            Some(b'(') => self.tuple(depth),
            Some(b'{') => self.dict(depth),
            Some(b'\'' | b'"') => self.strings().map(Value::String),
            Some(b'0'..=b'9' | b'.' | b'-' | b'+') => self.number(),
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'_') => self.word(),
            _ => Err(self.error_here(format!("{EXPECTED_VALUE}, found {}", self.describe_here()))),
        }
    }

    /// Enters a container, refusing nesting that could exhaust the stack.
    fn deeper(&self, depth: usize) -> Result<usize> {
        if depth >= MAX_DEPTH {
            return Err(self.error_here(format!("value nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(depth + 1)
    }

    /// Reads comma-separated items up to `close` (a trailing comma allowed); the opening
    /// bracket has been consumed. Returns whether any comma was seen (which makes `(x,)` a
    /// tuple rather than a parenthesized `x`).
    fn items(
        &mut self,
        open: usize,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<bool> {
        let mut comma = false;
        loop {
            self.skip_space();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(comma);
            }
            if self.peek().is_none() {
                return Err(self.error_at(open, format!("unclosed `{}`", self.bytes[open] as char)));
            }
            item(self)?;
            self.skip_space();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    comma = true;
                }
                Some(c) if c == close => {}
                None => return Err(self.error_at(open, format!("unclosed `{}`", self.bytes[open] as char))),
                Some(_) => {
                    return Err(self.error_here(format!(
                        "expected `,` or `{}`, found {}",
                        close as char,
                        self.describe_here()
                    )))
                }
            }
        }
    }

    fn list(&mut self, depth: usize) -> Result<Value> {
        let depth = self.deeper(depth)?;
        let open = self.pos;
        self.pos += 1;
        let mut values = Vec::new();
        self.items(open, b']', |r| {
            values.push(r.value(depth)?);
            Ok(())
        })?;
        Ok(Value::Array(values))
    }

    /// `()` and `(a, b)` are tuples (arrays); `(a)` is just `a`, as in Python.
    fn tuple(&mut self, depth: usize) -> Result<Value> {
        let depth = self.deeper(depth)?;
        let open = self.pos;
        self.pos += 1;
        let mut values = Vec::new();
        let comma = self.items(open, b')', |r| {
            values.push(r.value(depth)?);
            Ok(())
        })?;
        if values.len() == 1 && !comma {
            return Ok(values.pop().unwrap_or(Value::Null));
        }
        Ok(Value::Array(values))
    }

    fn dict(&mut self, depth: usize) -> Result<Value> {
        let depth = self.deeper(depth)?;
        let open = self.pos;
        self.pos += 1;
        let mut map = Map::new();
        self.items(open, b'}', |r| {
            let key_at = r.pos;
            let key = match r.value(depth)? {
                Value::String(key) => key,
                _ => return Err(r.error_at(key_at, "dict keys must be strings")),
            };
            r.skip_space();
            if r.peek() != Some(b':') {
                return Err(r.error_here(format!(
                    "expected `:` after a dict key, found {} (sets are not supported)",
                    r.describe_here()
                )));
            }
            r.pos += 1;
            r.skip_space();
            let value = r.value(depth)?;
            // A repeated key keeps its first position and its last value, as in Python.
            map.insert(key, value);
            Ok(())
        })?;
        Ok(Value::Object(map))
    }

    /// A bare word: a constant, or a string prefix directly followed by a quote.
    fn word(&mut self) -> Result<Value> {
        let start = self.pos;
        while let Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_') = self.peek() {
            self.pos += 1;
        }
        let word = &self.text[start..self.pos];
        if matches!(self.peek(), Some(b'\'' | b'"')) && string_prefix(word).is_some() {
            self.pos = start;
            return self.strings().map(Value::String);
        }
        match word {
            "True" | "true" => Ok(Value::Bool(true)),
            "False" | "false" => Ok(Value::Bool(false)),
            "None" | "null" => Ok(Value::Null),
            "nan" | "NaN" | "inf" | "Infinity" => {
                Err(self.error_at(start, format!("`{word}` is not allowed: JSON cannot hold it")))
            }
            _ => Err(self.error_at(
                start,
                format!("unknown name `{word}`: {EXPECTED_VALUE} (values are literals, never evaluated)"),
            )),
        }
    }

    /// One or more adjacent string literals, concatenated as Python does (`'a' "b"` is `ab`).
    fn strings(&mut self) -> Result<String> {
        let mut out = String::new();
        self.string(&mut out)?;
        loop {
            let before = self.pos;
            self.skip_space();
            if self.at_string_start() {
                self.string(&mut out)?;
            } else {
                self.pos = before;
                return Ok(out);
            }
        }
    }

    /// Whether a string literal (with an optional prefix) starts here.
    fn at_string_start(&self) -> bool {
        let mut len = 0;
        while let Some(b'a'..=b'z' | b'A'..=b'Z') = self.peek_at(len) {
            len += 1;
        }
        matches!(self.peek_at(len), Some(b'\'' | b'"'))
            && string_prefix(&self.text[self.pos..self.pos + len]).is_some()
    }

    /// One string literal, appended to `out`.
    fn string(&mut self, out: &mut String) -> Result<()> {
        let start = self.pos;
        let mut prefix_len = 0;
        while let Some(b'a'..=b'z' | b'A'..=b'Z') = self.peek_at(prefix_len) {
            prefix_len += 1;
        }
        let prefix = &self.text[start..start + prefix_len];
        let Some(Prefix { raw, bytes }) = string_prefix(prefix) else {
            return Err(self.error_at(start, format!("unknown string prefix `{prefix}`")));
        };
        self.pos += prefix_len;
        let Some(quote) = self.peek() else {
            return Err(self.error_here("expected a quote"));
        };
        let triple = self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote);
        let quote_len = if triple { 3 } else { 1 };
        self.pos += quote_len;
        let mut run = self.pos; // start of the pending run of plain characters
        loop {
            let Some(c) = self.peek() else {
                let q = quote as char;
                let closing = if triple { format!("{q}{q}{q}") } else { q.to_string() };
                return Err(
                    self.error_at(start, format!("unterminated string: expected a closing `{closing}`"))
                );
            };
            if c == quote && (!triple || (self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote))) {
                out.push_str(&self.text[run..self.pos]);
                self.pos += quote_len;
                return Ok(());
            }
            match c {
                b'\n' if !triple => {
                    return Err(self.error_at(start, "unterminated string: a line ends inside it"));
                }
                b'\\' => {
                    out.push_str(&self.text[run..self.pos]);
                    if raw {
                        // A raw string keeps the backslash, and it still protects the next
                        // character (so `r'\''` is a backslash and a quote).
                        let next = self.text[self.pos + 1..].chars().next().map_or(0, char::len_utf8);
                        out.push_str(&self.text[self.pos..self.pos + 1 + next]);
                        self.pos += 1 + next;
                    } else {
                        self.escape(out, bytes)?;
                    }
                    run = self.pos;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// One backslash escape (the backslash is at the current position), appended to `out`.
    fn escape(&mut self, out: &mut String, bytes: bool) -> Result<()> {
        let at = self.pos;
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Err(self.error_at(at, "unterminated string: it ends with a backslash"));
        };
        self.pos += 1;
        let simple = match c {
            b'\\' => Some('\\'),
            b'\'' => Some('\''),
            b'"' => Some('"'),
            b'a' => Some('\x07'),
            b'b' => Some('\x08'),
            b'f' => Some('\x0c'),
            b'n' => Some('\n'),
            b'r' => Some('\r'),
            b't' => Some('\t'),
            b'v' => Some('\x0b'),
            b'\n' => return Ok(()), // a line continuation
            _ => None,
        };
        if let Some(ch) = simple {
            out.push(ch);
            return Ok(());
        }
        match c {
            b'0'..=b'7' => {
                let mut code = u32::from(c - b'0');
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            code = code * 8 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                // At most 0o777, always a valid character.
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            b'x' => {
                let code = self.hex(at, 2)?;
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            b'u' | b'U' if !bytes => {
                let code = self.hex(at, if c == b'u' { 4 } else { 8 })?;
                out.push(self.unicode(at, code)?);
            }
            b'N' if !bytes => {
                return Err(self.error_at(at, "`\\N{...}` escapes are not supported; use `\\u`"));
            }
            _ => {
                // Python keeps an unknown escape as it is, backslash included.
                out.push('\\');
                self.pos -= 1;
            }
        }
        Ok(())
    }

    /// Exactly `len` hex digits.
    fn hex(&mut self, at: usize, len: usize) -> Result<u32> {
        let digits = self.bytes.get(self.pos..self.pos + len).filter(|d| d.iter().all(u8::is_ascii_hexdigit));
        let Some(digits) = digits else {
            let kind = self.bytes.get(at + 1).map_or('x', |b| *b as char);
            return Err(self.error_at(at, format!("bad `\\{kind}` escape: expected {len} hex digits")));
        };
        let code = digits.iter().fold(0u32, |acc, d| acc * 16 + (*d as char).to_digit(16).unwrap_or(0));
        self.pos += len;
        Ok(code)
    }

    /// A `\u`/`\U` code point; a UTF-16 surrogate pair written as two `\u` escapes (as JSON
    /// does) is joined, and a lone surrogate is an error since text cannot hold it.
    fn unicode(&mut self, at: usize, code: u32) -> Result<char> {
        if (0xD800..0xDC00).contains(&code) && self.peek() == Some(b'\\') && self.peek_at(1) == Some(b'u') {
            let save = self.pos;
            self.pos += 2;
            if let Ok(low @ 0xDC00..=0xDFFF) = self.hex(save, 4) {
                let joined = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                if let Some(ch) = char::from_u32(joined) {
                    return Ok(ch);
                }
            }
            self.pos = save;
        }
        char::from_u32(code).ok_or_else(|| {
            self.error_at(at, format!("`\\u{code:x}` is not a character (lone surrogate or too big)"))
        })
    }

    /// A number: decimal, hex/octal/binary integer, or float, with an optional sign and
    /// Python's `_` digit separators.
    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        let negative = match self.peek() {
            Some(b'-') => true,
            Some(b'+') => false,
            _ => return self.unsigned_number(start, false),
        };
        self.pos += 1;
        self.skip_space();
        match self.peek() {
            Some(b'0'..=b'9' | b'.') => self.unsigned_number(start, negative),
            _ => {
                Err(self
                    .error_here(format!("expected a number after the sign, found {}", self.describe_here())))
            }
        }
    }

    fn unsigned_number(&mut self, start: usize, negative: bool) -> Result<Value> {
        let digits_at = self.pos;
        if self.peek() == Some(b'0') {
            let radix = match self.peek_at(1) {
                Some(b'x' | b'X') => 16,
                Some(b'o' | b'O') => 8,
                Some(b'b' | b'B') => 2,
                _ => 0,
            };
            if radix != 0 {
                self.pos += 2;
                let digits = self.digits(radix)?;
                return self.integer(start, negative, &digits, radix);
            }
        }
        let int_part = self.digits(10)?;
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            float = true;
            if matches!(self.peek(), Some(b'0'..=b'9')) {
                self.digits(10)?;
            } else if int_part.is_empty() {
                return Err(self.error_at(digits_at, format!("{EXPECTED_VALUE}, found `.`")));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let e_at = self.pos;
            self.pos += 1;
            float = true;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error_at(e_at, "bad exponent: expected digits after `e`"));
            }
            self.digits(10)?;
        }
        self.number_end(!float)?;
        if !float {
            // Python 3 refuses `012` (and JSON does too); only all-zero spellings may lead with 0.
            if int_part.len() > 1 && int_part.starts_with('0') && int_part.bytes().any(|b| b != b'0') {
                return Err(self.error_at(
                    digits_at,
                    "leading zeros are not allowed in an integer (write 0o17 for octal)",
                ));
            }
            return self.integer(start, negative, &int_part, 10);
        }
        // The spelling is one Rust reads too (`5.`, `.5`, `1E+5`), once separators are dropped.
        let raw = &self.text[digits_at..self.pos];
        let text = if raw.contains('_') { Cow::Owned(raw.replace('_', "")) } else { Cow::Borrowed(raw) };
        let magnitude: f64 = text
            .parse()
            .map_err(|_| self.error_at(start, format!("bad number `{}`", &self.text[start..self.pos])))?;
        let value = if negative { -magnitude } else { magnitude };
        Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| self.error_at(start, "float out of range (JSON cannot hold inf)"))
    }

    /// Digits of `radix` with single `_` separators between them; the underscores are dropped.
    fn digits(&mut self, radix: u32) -> Result<Cow<'a, str>> {
        let start = self.pos;
        let mut separated = false;
        loop {
            match self.peek() {
                Some(d) if (d as char).is_digit(radix) => self.pos += 1,
                Some(b'_')
                    if self.pos > start && self.peek_at(1).is_some_and(|d| (d as char).is_digit(radix)) =>
                {
                    separated = true;
                    self.pos += 1;
                }
                _ => break,
            }
        }
        if self.pos == start && radix != 10 {
            return Err(self.error_here("expected digits after the base prefix"));
        }
        // Borrowed unless there are separators to drop: numbers are most of a tree's values.
        let raw = &self.text[start..self.pos];
        Ok(if separated { Cow::Owned(raw.replace('_', "")) } else { Cow::Borrowed(raw) })
    }

    /// Refuses a number glued to letters or digits (`12abc`, `1j`, `0x1g`); allows Python 2's
    /// `L` suffix on integers (`integer`), which zc.zk under Python 2 printed for longs.
    fn number_end(&mut self, integer: bool) -> Result<()> {
        match self.peek() {
            Some(b'L' | b'l')
                if integer
                    && !matches!(self.peek_at(1), Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_')) =>
            {
                self.pos += 1;
                Ok(())
            }
            Some(b'j' | b'J') => Err(self.error_here("complex numbers are not supported")),
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_') => {
                Err(self.error_here(format!("unexpected {} in a number", self.describe_here())))
            }
            _ => Ok(()),
        }
    }

    fn integer(&mut self, start: usize, negative: bool, digits: &str, radix: u32) -> Result<Value> {
        if radix != 10 {
            self.number_end(true)?;
        }
        let mut magnitude: i128 = 0;
        for d in digits.chars() {
            let d = i128::from(d.to_digit(radix).unwrap_or(0));
            magnitude = magnitude
                .checked_mul(i128::from(radix))
                .and_then(|m| m.checked_add(d))
                .ok_or_else(|| self.out_of_range(start))?;
        }
        let value = if negative { -magnitude } else { magnitude };
        i64::try_from(value).map(Value::from).map_err(|_| self.out_of_range(start))
    }

    fn out_of_range(&self, start: usize) -> RawError {
        self.error_at(start, "integer out of range: it must fit in 64 bits (-2**63 to 2**63-1)")
    }
}

/// What a string prefix means.
struct Prefix {
    raw: bool,
    bytes: bool,
}

/// The prefixes Python 2 and 3 allow on plain string literals (any case); f-strings are
/// code, so they are not among them.
fn string_prefix(prefix: &str) -> Option<Prefix> {
    let lower = prefix.to_ascii_lowercase();
    match lower.as_str() {
        "" | "u" => Some(Prefix { raw: false, bytes: false }),
        "r" | "ur" => Some(Prefix { raw: true, bytes: false }),
        "b" => Some(Prefix { raw: false, bytes: true }),
        "br" | "rb" => Some(Prefix { raw: true, bytes: true }),
        _ => None,
    }
}
