//! Tree text checked for import but not held parsed: each top-level node is parsed again when
//! it is needed, so that an import holds one text and a few subtrees, not the whole tree
//! (a parsed node takes several times the memory of its text).

use super::error::ParseError;
use super::parse::{run, run_part, Pass, TopLines};
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
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let pass = Pass::Check { max_request };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let parts = cores.min(text.len() / MIN_PART);
    let mut tops = match check_in_parts(text, import_path, pass, parts) {
        Some(tops) => tops,
        None => run(text, None, Some(import_path), pass)?.1,
    };
    tops.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(CheckedText { text, import_path: import_path.to_string(), tops })
}

/// The shortest part of a text [`check_in_parts`] checks on a thread of its own: below
/// that, starting a thread costs about what it saves.
const MIN_PART: usize = 1 << 20;

/// Checks a long text in up to `parts` parts at once, on threads of their own (the check was
/// a fifth of a million-node import into `mem:`), each part after the first starting at a
/// top-level node line without indentation, and gives where its top-level nodes are (in text
/// order). `None` when there are not two parts, or when the parts do not tell all that one
/// pass would: some part has an error (one pass then reports them all, numbered in the whole
/// text), two parts have a top-level node of the same name, or a part ends with its top-level
/// nodes indented, so that the next part's first line would not be one of them (with one
/// pass it is then an indentation error).
pub(super) fn check_in_parts(
    text: &str,
    import_path: &str,
    pass: Pass,
    parts: usize,
) -> Option<Vec<TopLines>> {
    // Each part after the first starts at a line that starts with `/`, near an equal share.
    let mut starts = vec![0];
    for share in 1..parts {
        let share = (share * text.len() / parts).max(starts[starts.len() - 1]);
        // The share may fall inside a character: the search starts at the next one.
        let from = (share..text.len()).find(|&at| text.is_char_boundary(at)).unwrap_or(text.len());
        match text[from..].find("\n/") {
            Some(at) => starts.push(from + at + 1),
            None => break,
        }
    }
    starts.dedup();
    if starts.len() < 2 {
        return None;
    }
    let ends: Vec<usize> = starts.iter().skip(1).copied().chain([text.len()]).collect();
    let checked: Vec<_> = std::thread::scope(|scope| {
        let threads: Vec<_> = starts
            .iter()
            .zip(&ends)
            .skip(1)
            .map(|(&start, &end)| scope.spawn(move || check_part(&text[start..end], import_path, pass)))
            .collect();
        let first = check_part(&text[..ends[0]], import_path, pass);
        std::iter::once(first).chain(threads.into_iter().map(|thread| thread.join().ok().flatten())).collect()
    });
    let mut tops = Vec::new();
    let mut lines_before = 0;
    let last = checked.len() - 1;
    for (index, (part, start)) in checked.into_iter().zip(&starts).enumerate() {
        let (part_tops, at_column_one, lines) = part?;
        if !at_column_one && index < last {
            return None;
        }
        tops.extend(part_tops.into_iter().map(|top| TopLines {
            bytes: top.bytes.start + start..top.bytes.end + start,
            line: top.line + lines_before,
            ..top
        }));
        lines_before += lines;
    }
    let mut names: Vec<&str> = tops.iter().map(|top| top.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|pair| pair[0] == pair[1]) {
        return None;
    }
    Some(tops)
}

/// One part of [`check_in_parts`]: its top-level nodes (bytes and lines counted in the
/// part), whether they were at column 1 at its end, and its number of line ends; `None` on
/// an error.
fn check_part(part: &str, import_path: &str, pass: Pass) -> Option<(Vec<TopLines>, bool, usize)> {
    let (_, tops, at_column_one) = run_part(part, None, Some(import_path), pass).ok()?;
    let lines = part.bytes().filter(|&byte| byte == b'\n').count();
    Some((tops, at_column_one, lines))
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
        parse_top(&self.text.text[self.top.bytes.clone()], self.top, &self.text.import_path)
    }

    /// [`TopText::parse`] on a thread of Tokio's blocking pool (which needs its own copy of
    /// the node's lines), then `then` on the node there too, so that parsing (and what an
    /// import does with the node) goes on beside its writes; on the caller's thread outside a
    /// Tokio runtime.
    pub(crate) async fn parse_aside<T: Send + 'static>(
        &self,
        then: impl FnOnce(Node) -> T + Send + 'static,
    ) -> Result<T, ParseError> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return self.parse().map(then) };
        let (lines, top, import_path) = (
            self.text.text[self.top.bytes.clone()].to_string(),
            self.top.clone(),
            self.text.import_path.clone(),
        );
        let task = runtime.spawn_blocking(move || parse_top(&lines, &top, &import_path).map(then));
        match task.await {
            Ok(done) => done,
            // A panic while parsing is the caller's. A blocking task is cancelled only when its
            // runtime shuts down, which drops this future before.
            Err(error) => std::panic::resume_unwind(
                error
                    .try_into_panic()
                    .unwrap_or_else(|_| Box::new("the runtime shut down while a node was parsed")),
            ),
        }
    }
}

/// Parses the `lines` of the top-level node `top` (see [`TopText::parse`]).
fn parse_top(lines: &str, top: &TopLines, import_path: &str) -> Result<Node, ParseError> {
    let shift = |mut error: ParseError| {
        error.line += top.line - 1;
        error
    };
    let (mut root, _) = run(lines, None, Some(import_path), Pass::Checked)
        .map_err(|mut errors| shift(errors.swap_remove(0)))?;
    Ok(root.children.remove(&top.name).unwrap_or_default())
}
