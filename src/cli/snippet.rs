//! The line a parse error is on, shown under its one-line message with a caret under the
//! column, as rustc and ripgrep do:
//!
//! ```text
//! zczk: -:2:8: bad value: ...
//!   2 |   x = 1+2
//!     |        ^
//! ```

use unicode_width::UnicodeWidthChar;
use zczk_core::message::MAX_CHARS;
use zczk_core::tree::ParseError;

/// The most terminal columns of the line shown; a longer line is cut around the error's column.
const WIDTH: usize = MAX_CHARS;
/// A tab, shown as spaces so that the caret lines up whatever the terminal's tab stops.
const TAB: &str = "    ";
/// Marks where a cut line goes on.
const CUT: &str = "...";

/// rustc's colours: the gutter bold blue, the caret bold red.
const GUTTER_COLOUR: &str = "\x1b[1;34m";
const CARET_COLOUR: &str = "\x1b[1;31m";
const RESET: &str = "\x1b[0m";

/// Two lines, each ending in a line break: `error`'s line (cut around the column when long)
/// and a caret under the column; coloured with ANSI codes when `colour`.
pub(super) fn snippet(error: &ParseError, colour: bool) -> String {
    let cells: Vec<(String, usize)> = error.text.chars().map(cell).collect();
    let at = error.column.saturating_sub(1);
    // The column can be just past the line's end (something expected there).
    let anchor = at.min(cells.len());
    let (start, end) = window(&cells, anchor);

    let mut line = String::new();
    let mut pad = 0;
    if start > 0 {
        line.push_str(CUT);
        pad += CUT.len();
    }
    for (i, (shown, width)) in cells[start..end].iter().enumerate() {
        line.push_str(shown);
        if start + i < anchor {
            pad += width;
        }
    }
    if end < cells.len() {
        line.push_str(CUT);
    }
    pad += at - anchor;
    let caret = "^".repeat(cells.get(at).map_or(1, |(_, width)| (*width).max(1)));

    let number = error.line.to_string();
    let (gutter, red, reset) = if colour { (GUTTER_COLOUR, CARET_COLOUR, RESET) } else { ("", "", "") };
    let blank = " ".repeat(number.len());
    let separator = if line.is_empty() { "" } else { " " };
    format!(
        "  {gutter}{number} |{reset}{separator}{line}\n  {gutter}{blank} |{reset} {}{red}{caret}{reset}\n",
        " ".repeat(pad)
    )
}

/// How a character is shown and how many columns it takes: tabs as spaces, control and
/// bidirectional-override characters escaped (they would move the text or the cursor), the
/// rest as they are at their display width.
fn cell(c: char) -> (String, usize) {
    if c == '\t' {
        return (TAB.to_string(), TAB.len());
    }
    if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
        let shown = c.escape_debug().to_string();
        let width = shown.len();
        return (shown, width);
    }
    (c.to_string(), c.width().unwrap_or(0))
}

/// The cells shown, `start..end`, at most [`WIDTH`] columns: up to half before `anchor`, the
/// rest after it, and more before when the line ends first.
fn window(cells: &[(String, usize)], anchor: usize) -> (usize, usize) {
    let (mut start, mut end, mut used) = (anchor, anchor, 0);
    while start > 0 && used + cells[start - 1].1 <= WIDTH / 2 {
        start -= 1;
        used += cells[start].1;
    }
    while end < cells.len() && used + cells[end].1 <= WIDTH {
        used += cells[end].1;
        end += 1;
    }
    while start > 0 && used + cells[start - 1].1 <= WIDTH {
        start -= 1;
        used += cells[start].1;
    }
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zczk_core::tree::parse_all;

    /// The snippet of the first error parsing `text`, without colour.
    fn of(text: &str) -> String {
        let errors = parse_all(text).expect_err("a parse error");
        snippet(&errors[0], false)
    }

    /// The column the caret is at in a snippet, counting from the first column after `| `.
    fn caret_column(snippet: &str) -> usize {
        let caret_line = snippet.lines().nth(1).unwrap();
        caret_line.split_once(" | ").unwrap().1.find('^').unwrap() + 1
    }

    #[test]
    fn the_caret_is_under_the_column() {
        assert_eq!(of("/a\n  x = 1+2\n"), "  2 |   x = 1+2\n    |        ^\n");
        // The gutter is as wide as the line number.
        let text = format!("/a\n{}  x = @\n", "  # comment\n".repeat(9));
        assert_eq!(of(&text), "  11 |   x = @\n     |       ^\n");
    }

    #[test]
    fn tabs_and_control_characters_keep_the_caret_aligned() {
        // A tab counts as one column in the error, as four in the snippet.
        let shown = of("/a\n\tx = 1+2\n");
        assert_eq!(shown, "  2 |     x = 1+2\n    |          ^\n");
        let shown = of("/a\n  /b\u{1}c\u{1b}[2J = 1+2\n");
        let line = shown.lines().next().unwrap();
        assert!(!shown.contains('\u{1b}') && line.contains(r"\u{1}c\u{1b}[2J"), "{shown}");
        // Under the `+`, after the escapes' full width.
        let text = line.split_once(" | ").unwrap().1;
        assert_eq!(&text[caret_column(&shown) - 1..][..1], "+", "{shown}");
    }

    #[test]
    fn wide_characters_keep_the_caret_aligned() {
        let shown = of("/a\n  名前 = 1+2\n");
        assert_eq!(shown, "  2 |   名前 = 1+2\n    |           ^\n");
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let text = format!("/a\n  x = [{}1+2, {}]\n", "1, ".repeat(100_000), "2, ".repeat(100_000));
        let shown = of(&text);
        let line = shown.lines().next().unwrap();
        assert!(line.starts_with("  2 | ...") && line.ends_with("..."), "{shown}");
        let text = line.split_once(" | ").unwrap().1;
        assert!(text.chars().count() <= WIDTH + 2 * CUT.len(), "{shown}");
        assert_eq!(&text[caret_column(&shown) - 1..][..1], "+", "{shown}");
        // Near the end of a long line, the window reaches back.
        let text = format!("/a\n  x = [{}1+2]\n", "1, ".repeat(100_000));
        let line = of(&text).lines().next().unwrap().to_string();
        assert!(
            line.ends_with("1, 1+2]") && line.split_once(" | ").unwrap().1.chars().count() > WIDTH / 2 + 3
        );
    }

    #[test]
    fn colours_only_when_asked() {
        let errors = parse_all("/a\n  x = 1+2\n").unwrap_err();
        assert!(!snippet(&errors[0], false).contains('\x1b'));
        assert_eq!(
            snippet(&errors[0], true),
            "  \x1b[1;34m2 |\x1b[0m   x = 1+2\n  \x1b[1;34m  |\x1b[0m        \x1b[1;31m^\x1b[0m\n"
        );
    }
}
