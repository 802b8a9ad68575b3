//! Text quoted in messages. Names, paths and values come from users and servers and can be
//! megabytes long or hold line breaks; every error that quotes one goes through [`short`] (and
//! lists through [`few`]), so that a message stays one short line.

use std::fmt::{self, Display, Write as _};

/// The most characters of a quoted text shown whole; longer ones keep their start and end.
pub const MAX_CHARS: usize = 120;
/// Characters kept from the start of a cut text.
const HEAD: usize = 80;
/// Characters kept from the end of a cut text.
const TAIL: usize = 37;
/// The most items of a list shown; the rest are counted.
pub const MAX_ITEMS: usize = 3;

/// `text` for a message: whole when at most [`MAX_CHARS`] characters, else its start and end
/// around `...`; control characters escaped (`\n`) so it stays on one line. `{}` shows it
/// bare, `{:?}` in quotes.
pub fn short(text: &str) -> Short<'_> {
    Short(text)
}

/// A text cut for a message; see [`short`].
#[derive(Clone, Copy)]
pub struct Short<'a>(&'a str);

impl Short<'_> {
    /// The start and, when cut, the end of the text.
    fn parts(&self) -> (&str, Option<&str>) {
        let text = self.0;
        if text.chars().nth(MAX_CHARS).is_none() {
            return (text, None);
        }
        let head_end = text.char_indices().nth(HEAD).map_or(text.len(), |(i, _)| i);
        let tail_start = text.char_indices().rev().nth(TAIL - 1).map_or(0, |(i, _)| i);
        (&text[..head_end], Some(&text[tail_start..]))
    }
}

/// Writes `text` with control characters escaped (or, `quoted`, everything `{:?}` escapes).
fn escaped(f: &mut fmt::Formatter<'_>, text: &str, quoted: bool) -> fmt::Result {
    for c in text.chars() {
        if quoted || c.is_control() {
            write!(f, "{}", c.escape_debug())?;
        } else {
            f.write_char(c)?;
        }
    }
    Ok(())
}

impl Display for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, tail) = self.parts();
        escaped(f, head, false)?;
        if let Some(tail) = tail {
            f.write_str("...")?;
            escaped(f, tail, false)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, tail) = self.parts();
        f.write_char('"')?;
        escaped(f, head, true)?;
        if let Some(tail) = tail {
            f.write_str("...")?;
            escaped(f, tail, true)?;
        }
        f.write_char('"')
    }
}

/// The first [`MAX_ITEMS`] of `items` joined by `separator`, then `and N more` for the rest.
pub fn few<T: Display>(items: &[T], separator: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().take(MAX_ITEMS).enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        let _ = write!(out, "{item}");
    }
    if items.len() > MAX_ITEMS {
        let _ = write!(out, "{separator}and {} more", items.len() - MAX_ITEMS);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_are_whole_and_long_ones_keep_start_and_end() {
        assert_eq!(short("/a/b").to_string(), "/a/b");
        let limit = "x".repeat(MAX_CHARS);
        assert_eq!(short(&limit).to_string(), limit);
        let long = format!("/{}{}", "é".repeat(10_000_000), "end");
        let shown = short(&long).to_string();
        assert_eq!(shown.chars().count(), HEAD + 3 + TAIL);
        assert!(shown.starts_with("/éé") && shown.ends_with("éend") && shown.contains("é...é"));
        assert_eq!(format!("{:?}", short("a\"b")), r#""a\"b""#);
    }

    #[test]
    fn control_characters_never_break_the_line() {
        assert_eq!(short("a\nb\u{1b}[31m").to_string(), "a\\nb\\u{1b}[31m");
        let long = "\n".repeat(1000);
        assert!(!short(&long).to_string().contains('\n'));
    }

    #[test]
    fn few_counts_what_it_leaves_out() {
        assert_eq!(few(&["a", "b"], "; "), "a; b");
        assert_eq!(few(&["a", "b", "c", "d", "e"], ", "), "a, b, c, and 2 more");
    }
}
