//! Keeping an emulator's persistent nodes in a file between runs (the CLI's `file:PATH`).
//!
//! **Format**: one JSON object, versioned:
//! `{"format": "zczk-emulator", "version": 1, "zxid": N, "sessions": [...], "nodes": [...]}`,
//! one entry per persistent, container or TTL node (`/` and the `/zookeeper` nodes included, so
//! their Stat survives), in path order, with its data (`data` when it is UTF-8, else
//! `data_base64`; `"null_data": true` for null data, which older files do not have), ACL, kind
//! and the Stat fields the server keeps. As ZooKeeper keeps sessions and ephemerals in its
//! snapshot, the live sessions (`sessions`: id and timeout) and their ephemerals (kind
//! `ephemeral`, with their `owner`) are saved too, with the key the session passwords derive
//! from (`session_key`): after a restart each session has its whole timeout again for its
//! client to come back. Watches are not saved: a returning client sets its own again.
//!
//! **Lock**: an emulator opened on `PATH` holds an exclusive OS lock (`flock`) on `PATH.lock`
//! for as long as the server lives. [`crate::Emulator::open_file`] waits for the lock (so two
//! processes on one file run one after the other and neither loses the other's writes);
//! [`crate::Emulator::try_open_file`] fails at once with [`FileError::Locked`]. The lock is on
//! a file of its own because the data file is replaced at each save.
//!
//! **Saving**: [`crate::Emulator::flush`] writes `PATH.tmp`, syncs it, renames it over `PATH`
//! and syncs the directory, so a crash leaves the old file or the new one, never half of one.
//! The last handle on the server saves too when it goes away (errors are then only logged).
//! A file that does not parse is an error at open, and is never overwritten by an empty tree.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zczk_core::store::{Acl, Perms};

use crate::tree::{Node, NodeKind, Tree};

/// The `format` field of every file.
pub const FORMAT: &str = "zczk-emulator";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;

/// Why an emulator file could not be opened or saved. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading, writing, syncing, renaming or locking failed.
    #[error("{path}: cannot {action}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done (`read`, `write`, `lock`, ...).
        action: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// Another emulator (in this process or another) has the file open.
    #[error("{path}: in use by another zczk emulator (the lock {lock} is held)")]
    Locked {
        /// The file.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The file is not a valid emulator file; it was left as it is.
    #[error("{path}: not a valid zczk emulator file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The file was written by a newer (or unknown) version of the format.
    #[error("{path}: emulator file format version {version} is not supported (this build reads version {VERSION})")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version the file says it has.
        version: u32,
    },
}

/// The file as saved.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    format: String,
    version: u32,
    zxid: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sessions: Vec<SavedSession>,
    /// The key session passwords derive from, as 32 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_key: Option<String>,
    nodes: Vec<SavedNode>,
}

/// A live session, as saved: it survives a restart with its ephemerals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SavedSession {
    /// The session id.
    pub id: i64,
    /// The timeout it was granted, in ms.
    pub timeout_ms: u64,
}

/// What a file holds.
pub(crate) struct Loaded {
    pub tree: Tree,
    pub zxid: i64,
    pub sessions: Vec<SavedSession>,
    pub session_key: Option<u128>,
}

/// The leading fields only, to check format and version before the rest.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedNode {
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data_base64: Option<String>,
    /// The node holds null data (neither `data` nor `data_base64` is then given).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    null_data: bool,
    acl: Vec<SavedAcl>,
    /// `persistent`, `container`, `ttl` or `ephemeral`.
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl_ms: Option<i64>,
    /// The session an ephemeral belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedAcl {
    perms: i32,
    scheme: String,
    id: String,
}

/// An open emulator file: its path and the held lock.
pub(crate) struct Storage {
    path: PathBuf,
    /// Holding the open lock file holds the lock; closing it releases the lock.
    _lock: File,
}

impl Storage {
    /// Locks `path` (waiting if `wait`), then reads it: `None` when it does not exist.
    pub fn open(path: &Path, wait: bool) -> Result<(Storage, Option<Loaded>), FileError> {
        let lock_path = lock_path(path);
        let io_error = |action, source| FileError::Io { path: path.to_path_buf(), action, source };
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| io_error("create its lock file", e))?;
        if wait {
            fs4::FileExt::lock(&lock).map_err(|e| io_error("lock", e))?;
        } else {
            match fs4::FileExt::try_lock(&lock) {
                Ok(()) => {}
                Err(fs4::TryLockError::WouldBlock) => {
                    return Err(FileError::Locked { path: path.to_path_buf(), lock: lock_path })
                }
                Err(fs4::TryLockError::Error(e)) => return Err(io_error("lock", e)),
            }
        }
        let loaded = match fs::read(path) {
            Ok(bytes) => Some(decode(path, &bytes)?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error("read", e)),
        };
        Ok((Storage { path: path.to_path_buf(), _lock: lock }, loaded))
    }

    /// The data file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the nodes of `tree` and the live `sessions` atomically.
    pub fn save(
        &self,
        tree: &Tree,
        zxid: i64,
        sessions: &[SavedSession],
        session_key: u128,
    ) -> Result<(), FileError> {
        let bytes = encode(tree, zxid, sessions, session_key);
        let io_error = |action, source| FileError::Io { path: self.path.clone(), action, source };
        let tmp = tmp_path(&self.path);
        let mut file = File::create(&tmp).map_err(|e| io_error("create the temporary file", e))?;
        file.write_all(&bytes).map_err(|e| io_error("write the temporary file", e))?;
        file.sync_all().map_err(|e| io_error("sync the temporary file", e))?;
        drop(file);
        fs::rename(&tmp, &self.path).map_err(|e| io_error("rename the temporary file over it", e))?;
        // The rename itself must reach the disk too.
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// `PATH.lock`.
pub fn lock_path(path: &Path) -> PathBuf {
    with_suffix(path, ".lock")
}

fn tmp_path(path: &Path) -> PathBuf {
    with_suffix(path, ".tmp")
}

/// The file's bytes for `tree` and `sessions`: pretty JSON, nodes in path order. Ephemerals
/// of sessions that are not among `sessions` are left out.
fn encode(tree: &Tree, zxid: i64, sessions: &[SavedSession], session_key: u128) -> Vec<u8> {
    let mut nodes: Vec<SavedNode> = tree
        .iter()
        .filter_map(|(path, node)| {
            let (kind, ttl_ms, owner) = match node.kind {
                NodeKind::Ephemeral(owner) if sessions.iter().any(|s| s.id == owner) => {
                    ("ephemeral", None, Some(owner))
                }
                NodeKind::Ephemeral(_) => return None,
                NodeKind::Persistent => ("persistent", None, None),
                NodeKind::Container => ("container", None, None),
                NodeKind::Ttl(ms) => ("ttl", Some(ms), None),
            };
            let (data, data_base64) = match node.data.as_deref() {
                None => (None, None),
                Some(bytes) => match std::str::from_utf8(bytes) {
                    Ok(text) => (Some(text.to_string()), None),
                    Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(bytes))),
                },
            };
            Some(SavedNode {
                path: path.clone(),
                data,
                data_base64,
                null_data: node.data.is_none(),
                acl: node
                    .acl
                    .iter()
                    .map(|a| SavedAcl { perms: a.perms.0, scheme: a.scheme.clone(), id: a.id.clone() })
                    .collect(),
                kind: kind.to_string(),
                ttl_ms,
                owner,
                czxid: node.czxid,
                mzxid: node.mzxid,
                pzxid: node.pzxid,
                ctime: node.ctime,
                mtime: node.mtime,
                version: node.version,
                creates: node.creates,
                aversion: node.aversion,
            })
        })
        .collect();
    nodes.sort_by(|a, b| a.path.cmp(&b.path));
    let saved = Saved {
        format: FORMAT.to_string(),
        version: VERSION,
        zxid,
        sessions: sessions.to_vec(),
        session_key: Some(format!("{session_key:032x}")),
        nodes,
    };
    // Plain structs of strings and numbers always serialize.
    let mut bytes = serde_json::to_vec_pretty(&saved).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// The tree, zxid and sessions in a file's bytes.
fn decode(path: &Path, bytes: &[u8]) -> Result<Loaded, FileError> {
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
            ("ephemeral", None, Some(owner)) if saved.sessions.iter().any(|s| s.id == owner) => {
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
    Ok(Loaded { tree, zxid: saved.zxid, sessions: saved.sessions, session_key })
}
