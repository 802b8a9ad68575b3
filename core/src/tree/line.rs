//! Classifying one line of tree text, stripped of its indentation.
//!
//! The classes are tried in upstream's order: property link, property, node link, node; then
//! zczk's own ACL line, `acl SCHEME:ID:PERMS`, which takes only lines that are none of the
//! others (a property, link or node named `acl` keeps its meaning). Each
//! class is a pattern `NAME <op> REST` in which `NAME` is a run of non-blank characters that
//! may itself contain the operator: as with upstream's greedy regular expressions, the
//! longest `NAME` for which the rest of the line still fits wins. So `a=b=1` is the property
//! `a=b` with value `1`, `/10.0.0.1:8080` is the node `10.0.0.1:8080`, and `/lb: ipvs` is
//! the node `lb` of type `ipvs`. "Blank" is `char::is_whitespace` throughout, in the parser
//! and the printer alike.

use serde_json::Value;

use super::check;
use super::error::ParseErrorKind;
use super::value::parse_value_at;
use super::ACL_KEYWORD;
use crate::store::{Acl, Perms};

/// What one item line says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Line<'a> {
    /// `/name` or `/name : type`.
    Node {
        /// The node's name.
        name: &'a str,
        /// The text after the `:`, if any.
        node_type: Option<&'a str>,
    },
    /// `name = value`.
    Property {
        /// The property's name.
        name: &'a str,
        /// The parsed value.
        value: Value,
    },
    /// `name -> path`.
    Link {
        /// The link's name.
        name: &'a str,
        /// The target path as written.
        target: &'a str,
    },
    /// `name => path [property]`.
    PropertyLink {
        /// The link's name.
        name: &'a str,
        /// The target as written (a path, or a path, blanks and a property name).
        target: &'a str,
    },
    /// `acl SCHEME:ID:PERMS`: one entry of the node's ACL.
    Acl(Acl),
}

/// A line that is none of the classes, at a byte offset of the stripped line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LineError {
    /// Byte offset in the stripped line.
    pub offset: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// Whether the line looks like a node (so lines indented under it belong to it).
    pub node_like: bool,
}

/// Classifies a line stripped of surrounding blanks (non-empty, not a comment).
pub(crate) fn classify(s: &str) -> Result<Line<'_>, LineError> {
    let bytes = s.as_bytes();
    // The first blank ends the first token; NAME never reaches past it.
    let first_end = s.find(char::is_whitespace).unwrap_or(s.len());
    let first = &s[..first_end];
    let has = |op: &[u8]| bytes.windows(2).any(|w| w == op);

    if has(b"=>") {
        if let Some((name, target)) = property_link(s, first) {
            return Ok(Line::PropertyLink { name, target });
        }
    }
    if bytes.contains(&b'=') {
        if let Some((name, eq, expr_at)) = property(s, first) {
            return match parse_value_at(&s[expr_at..]) {
                Ok(value) => Ok(Line::Property { name, value }),
                // `a => x y z` fits the property pattern with the "value" `> x y z`.
                Err(_) if bytes.get(eq + 1) == Some(&b'>') => Err(LineError {
                    offset: 0,
                    kind: ParseErrorKind::BadPropertyLinkFormat,
                    node_like: false,
                }),
                Err(e) => Err(LineError {
                    offset: expr_at + e.offset,
                    kind: ParseErrorKind::BadValue { message: e.message },
                    node_like: false,
                }),
            };
        }
    }
    if has(b"->") {
        if let Some((name, target)) = link(s, first) {
            return Ok(Line::Link { name, target });
        }
    }
    if let Some((name, node_type)) = node(s, first) {
        return Ok(Line::Node { name, node_type });
    }
    if first == ACL_KEYWORD {
        let entry = s[first_end..].trim_start();
        let at = s.len() - entry.len();
        return acl_entry(entry).map(Line::Acl).map_err(|(offset, reason)| LineError {
            offset: at + offset,
            kind: ParseErrorKind::BadAcl { reason },
            node_like: false,
        });
    }
    let (kind, node_like) = if has(b"->") {
        (ParseErrorKind::BadLinkFormat, false)
    } else if has(b"=>") {
        (ParseErrorKind::BadPropertyLinkFormat, false)
    } else {
        (ParseErrorKind::UnrecognizedLine, s.starts_with('/'))
    };
    Err(LineError { offset: 0, kind, node_like })
}

/// The byte positions at which `NAME` may end, longest first: the end of the first token,
/// then each position inside it (at least one character in) where `op` starts.
fn name_ends<'s>(first: &'s str, op: &'s [u8]) -> impl Iterator<Item = usize> + 's {
    let bytes = first.as_bytes();
    std::iter::once(first.len()).chain((1..bytes.len()).rev().filter(move |&k| bytes[k..].starts_with(op)))
}

/// The text after `op` when `NAME` ends at `k`: blanks, `op`, blanks, then the rest.
fn after_op<'s>(s: &'s str, k: usize, op: &str) -> Option<&'s str> {
    let rest = s[k..].trim_start().strip_prefix(op)?;
    Some(rest.trim_start())
}

/// `name => target`, the target being a path optionally followed by one property name.
fn property_link<'s>(s: &'s str, first: &'s str) -> Option<(&'s str, &'s str)> {
    name_ends(first, b"=>").find_map(|k| {
        let target = after_op(s, k, "=>")?;
        let words = target.split_whitespace().count();
        (1..=2).contains(&words).then_some((&s[..k], target))
    })
}

/// `name = value`: the name, the offset of the `=` and the offset of the value text.
fn property<'s>(s: &'s str, first: &'s str) -> Option<(&'s str, usize, usize)> {
    name_ends(first, b"=").find_map(|k| {
        let eq = k + (s[k..].len() - s[k..].trim_start().len());
        let expr = after_op(s, k, "=")?;
        (!expr.is_empty()).then_some((&s[..k], eq, s.len() - expr.len()))
    })
}

/// `name -> path`, the path being one word.
fn link<'s>(s: &'s str, first: &'s str) -> Option<(&'s str, &'s str)> {
    name_ends(first, b"->").find_map(|k| {
        let target = after_op(s, k, "->")?;
        (!target.is_empty() && !target.contains(char::is_whitespace)).then_some((&s[..k], target))
    })
}

/// `/name` or `/name : type`, where the type is the rest of the line.
fn node<'s>(s: &'s str, first: &'s str) -> Option<(&'s str, Option<&'s str>)> {
    let name_part = first.strip_prefix('/')?;
    if name_part.is_empty() {
        return None;
    }
    if first.len() == s.len() {
        return Some((name_part, None));
    }
    // Offsets below are within `s`, which starts with the one-byte `/`.
    name_ends(name_part, b":").find_map(|k| {
        let node_type = after_op(s, k + 1, ":")?;
        (!node_type.is_empty()).then_some((&name_part[..k], Some(node_type)))
    })
}

/// `SCHEME:ID:PERMS` (the scheme ends at the first colon, the permission letters follow the
/// last, the id is what is between), checked as ZooKeeper checks ACL entries; on error, the
/// byte offset in `entry` to point at and why.
fn acl_entry(entry: &str) -> Result<Acl, (usize, &'static str)> {
    const FORM: &str = "expected SCHEME:ID:PERMS after `acl`";
    let Some((scheme, rest)) = entry.split_once(':') else { return Err((0, FORM)) };
    if scheme.is_empty() || scheme.contains(char::is_whitespace) {
        return Err((
            0,
            "expected a scheme (`world`, `digest`, `ip`, ...) without blanks before the first `:`",
        ));
    }
    let Some((id, letters)) = rest.rsplit_once(':') else { return Err((scheme.len() + 1, FORM)) };
    let Some(perms) = Perms::parse(letters).filter(|p| p.0 != 0) else {
        return Err((
            entry.len() - letters.len(),
            "expected permissions: letters of `rwcda`, each at most once",
        ));
    };
    let acl = Acl::new(perms, scheme, id);
    check::acl_entry(&acl).map_err(|reason| (scheme.len() + 1, reason))?;
    Ok(acl)
}

#[cfg(test)]
mod tests;
