//! The lines an import reports: dry-run changes, extras, trim notes.

use serde_json::{Map, Value};

use crate::delete::DeleteNote;
use crate::store::Acl;
use crate::tree::{self, LINK_SUFFIX};

/// One line of an import's report, as a value; [`ReportLine::text`] words it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReportLine {
    /// A change to a node of the text, shown by a dry run only: a property change of an
    /// existing node (`/test a change from 1 to 2`), an ACL change
    /// (`/test change ACL from world:anyone:cdrwa to world:anyone:r`) or a new node (`add /x`).
    Change(String),
    /// An extra node left in place (trim unset): `extra path not trimmed: /a/b`.
    ExtraNotTrimmed(String),
    /// What trimming does to an extra node or a node below it (recursive delete's wording).
    Trim(DeleteNote),
}

impl ReportLine {
    /// The line for a dry run (`dry_run`) or for a real import, or `None` when that kind of
    /// run says nothing about it.
    pub fn text(&self, dry_run: bool) -> Option<String> {
        match self {
            ReportLine::Change(line) => dry_run.then(|| line.clone()),
            ReportLine::ExtraNotTrimmed(path) => Some(format!("extra path not trimmed: {path}")),
            ReportLine::Trim(note) => note.message(dry_run),
        }
    }
}

/// A value as zc.zk shows it in a change line: a string bare, anything else as in the tree
/// format (`1`, `True`, `[1, 'a']`).
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => tree::format_value(other),
    }
}

/// The change lines for an existing node at `path` whose data goes from `old` to `new`: first
/// one pass over the old names in name order (removals and changes), then the additions in name
/// order. Only `name ->` keys are shown as links (property links read as properties, as in
/// zc.zk).
pub(crate) fn property_changes(
    path: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    out: &mut Vec<ReportLine>,
) {
    let mut old_sorted: Vec<(&String, &Value)> = old.iter().collect();
    old_sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (name, value) in old_sorted {
        let line = match (new.get(name), name.strip_suffix(LINK_SUFFIX)) {
            (None, Some(_)) => format!("{path} remove link {name} {}", show(value)),
            (None, None) => format!("{path} remove property {name} = {}", show(value)),
            (Some(now), _) if now == value => continue,
            (Some(now), Some(link)) => {
                format!("{path} {link} link change from {} to {}", show(value), show(now))
            }
            (Some(now), None) => format!("{path} {name} change from {} to {}", show(value), show(now)),
        };
        out.push(ReportLine::Change(line));
    }
    let mut added: Vec<(&String, &Value)> = new.iter().filter(|(name, _)| !old.contains_key(*name)).collect();
    added.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (name, value) in added {
        let line = if name.ends_with(LINK_SUFFIX) {
            format!("{path} add link {name} {}", show(value))
        } else {
            format!("{path} add property {name} = {}", show(value))
        };
        out.push(ReportLine::Change(line));
    }
}

/// The change line for an existing node at `path` whose ACL goes from `old` to `new`, each
/// as its entries `SCHEME:ID:PERMS` joined by `, ` (a form no property change line has).
pub(crate) fn acl_change(path: &str, old: &[Acl], new: &[Acl]) -> String {
    let show = |acl: &[Acl]| acl.iter().map(Acl::to_string).collect::<Vec<_>>().join(", ");
    format!("{path} change ACL from {} to {}", show(old), show(new))
}
