//! The first format of `file:` stores: one JSON object holding every persistent node. It is
//! only read now, to convert such a file to the database (see [`super`]); a store opened only
//! to be read is read from it as it is.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use serde::Deserialize;
use zczk_core::path::PathError;
use zczk_core::store::{Acl, Perms};

use super::{FileError, SavedSession};
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
    #[serde(default)]
    sessions: Vec<JsonSession>,
    /// The key session passwords derive from, as 32 hex digits.
    #[serde(default)]
    session_key: Option<String>,
    nodes: Vec<SavedNode>,
}

/// A live session, as the file held it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSession {
    id: i64,
    timeout_ms: u64,
}

/// What a file holds.
pub struct Legacy {
    /// The nodes, ephemerals of the saved sessions included.
    pub tree: Tree,
    /// The last zxid.
    pub zxid: i64,
    /// The live sessions.
    pub sessions: Vec<SavedSession>,
    /// The key session passwords derive from, if the file has one.
    pub session_key: Option<u128>,
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
    /// The node holds null data (neither `data` nor `data_base64` is then given); older
    /// files do not have it, and their nodes without data hold empty data.
    #[serde(default)]
    null_data: bool,
    acl: Vec<SavedAcl>,
    /// `persistent`, `container`, `ttl` or `ephemeral`.
    kind: String,
    #[serde(default)]
    ttl_ms: Option<i64>,
    /// The session an ephemeral belongs to.
    #[serde(default)]
    owner: Option<i64>,
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

/// The tree, zxid and sessions in a file's bytes.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Legacy, FileError> {
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
    let sessions: Vec<SavedSession> =
        saved.sessions.iter().map(|s| SavedSession { id: s.id, timeout_ms: s.timeout_ms }).collect();
    let mut nodes = HashMap::with_capacity(saved.nodes.len());
    for entry in saved.nodes {
        if let Err(PathError { reason, .. }) = zczk_core::path::validate(&entry.path) {
            return Err(corrupt(format!("node {:?}: {reason}", entry.path)));
        }
        let data = match (entry.data, entry.data_base64, entry.null_data) {
            (Some(text), None, false) => Some(text.into_bytes()),
            (None, Some(b64), false) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| corrupt(format!("node {}: data_base64: {e}", entry.path)))?,
            ),
            (None, None, false) => Some(Vec::new()),
            (None, None, true) => None,
            (Some(_), Some(_), false) => {
                return Err(corrupt(format!("node {}: both data and data_base64", entry.path)));
            }
            (_, _, true) => {
                return Err(corrupt(format!("node {}: data given with null_data", entry.path)));
            }
        };
        let kind = match (entry.kind.as_str(), entry.ttl_ms, entry.owner) {
            ("persistent", None, None) => NodeKind::Persistent,
            ("container", None, None) => NodeKind::Container,
            ("ttl", Some(ms), None) if ms > 0 => NodeKind::Ttl(ms),
            ("ephemeral", None, Some(owner)) if sessions.iter().any(|s| s.id == owner) => {
                NodeKind::Ephemeral(owner)
            }
            (kind, ttl, owner) => {
                return Err(corrupt(format!(
                "node {}: bad kind {kind:?} (ttl_ms {ttl:?}, owner {owner:?}; owners must be saved sessions)",
                entry.path
            )))
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
    let session_key = match saved.session_key {
        None => None,
        Some(hex) => Some(
            u128::from_str_radix(&hex, 16).map_err(|_| corrupt(format!("session_key {hex:?} is not hex")))?,
        ),
    };
    Ok(Legacy { tree, zxid: saved.zxid, sessions, session_key })
}
