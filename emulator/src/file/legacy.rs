//! The first format of `file:` stores: one JSON object holding every persistent node. It is
//! only read now, to convert such a file to the database (see [`super`]); a store opened only
//! to be read is read from it as it is.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use serde::Deserialize;
use zczk_core::store::{Acl, Perms};

use super::FileError;
use crate::tree::{Node, NodeKind, Tree};

/// The `format` field of every file.
pub const FORMAT: &str = "zczk-emulator";
/// The version of the JSON format.
pub const VERSION: u32 = 1;

/// The file as saved.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    // Checked through `Header` first; named here so that the file may hold them.
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    version: u32,
    zxid: i64,
    nodes: Vec<SavedNode>,
}

/// The leading fields only, to check format and version before the rest.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedNode {
    path: String,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    data_base64: Option<String>,
    acl: Vec<SavedAcl>,
    /// `persistent`, `container` or `ttl`.
    kind: String,
    #[serde(default)]
    ttl_ms: Option<i64>,
    czxid: i64,
    mzxid: i64,
    pzxid: i64,
    ctime: i64,
    mtime: i64,
    version: i32,
    /// Children ever created (numbers sequential children; see `tree::Node::creates`).
    creates: i32,
    aversion: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedAcl {
    perms: i32,
    scheme: String,
    id: String,
}

/// The tree and zxid in a file's bytes.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<(Tree, i64), FileError> {
    let corrupt = |reason: String| FileError::Corrupt { path: path.to_path_buf(), reason };
    let header: Header = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    if header.format.as_deref() != Some(FORMAT) {
        return Err(corrupt(format!("the \"format\" field is not {FORMAT:?}")));
    }
    match header.version {
        Some(VERSION) => {}
        Some(version) => return Err(FileError::UnsupportedVersion { path: path.to_path_buf(), version }),
        None => return Err(corrupt("no \"version\" field".to_string())),
    }
    let saved: Saved = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    let mut nodes = HashMap::with_capacity(saved.nodes.len());
    for entry in saved.nodes {
        if let Some(reason) = crate::path::invalid_reason(&entry.path) {
            return Err(corrupt(format!("node {:?}: {reason}", entry.path)));
        }
        let data = match (entry.data, entry.data_base64) {
            (Some(text), None) => text.into_bytes(),
            (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| corrupt(format!("node {}: data_base64: {e}", entry.path)))?,
            (None, None) => Vec::new(),
            (Some(_), Some(_)) => {
                return Err(corrupt(format!("node {}: both data and data_base64", entry.path)));
            }
        };
        let kind = match (entry.kind.as_str(), entry.ttl_ms) {
            ("persistent", None) => NodeKind::Persistent,
            ("container", None) => NodeKind::Container,
            ("ttl", Some(ms)) if ms > 0 => NodeKind::Ttl(ms),
            (kind, ttl) => {
                return Err(corrupt(format!("node {}: bad kind {kind:?} (ttl_ms {ttl:?})", entry.path)))
            }
        };
        if entry.acl.is_empty() {
            return Err(corrupt(format!("node {}: empty ACL", entry.path)));
        }
        let acl = entry.acl.into_iter().map(|a| Acl::new(Perms(a.perms), a.scheme, a.id)).collect();
        let mut node = Node::new(data, Arc::new(acl), kind, entry.czxid, entry.ctime);
        node.mzxid = entry.mzxid;
        node.pzxid = entry.pzxid;
        node.mtime = entry.mtime;
        node.version = entry.version;
        node.creates = entry.creates;
        node.aversion = entry.aversion;
        if nodes.insert(entry.path.clone(), node).is_some() {
            return Err(corrupt(format!("node {} appears twice", entry.path)));
        }
    }
    let tree = Tree::from_nodes(nodes).map_err(|orphan| match orphan.as_str() {
        "/" => corrupt("no root node \"/\"".to_string()),
        _ => corrupt(format!("node {orphan} has no parent in the file")),
    })?;
    Ok((tree, saved.zxid))
}
