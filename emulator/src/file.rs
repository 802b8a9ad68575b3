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
//! **Access**: an emulator opened for [`Access::Read`] never writes the file (nor creates
//! anything next to it when it can't: a read works in a read-only directory), and a missing
//! file is [`FileError::NoSuchStore`]. With [`Access::ReadWrite`] a missing file is created at
//! the first save, and a file without any write permission bit (`chmod a-w`), or one this user
//! may not write, is refused with [`FileError::ReadOnly`] or [`FileError::Io`] rather than
//! replaced: the mode bits are checked themselves, since root may write anything.
//!
//! **The file itself**: `PATH` is followed through symbolic links to the real file, which is
//! the one read, locked and replaced, so a link stays a link and its target gets the writes.
//! Anything but a regular file (a directory, a FIFO, a device) is refused with
//! [`FileError::NotAFile`] before it is opened, and opened without blocking in case it changed.
//!
//! **Lock**: an emulator holds an OS lock (`flock`) on `REAL.lock` next to the real file for as
//! long as the server lives: exclusive for [`Access::ReadWrite`], shared for [`Access::Read`]
//! (readers run together, writers one at a time and never beside a reader).
//! [`crate::Emulator::open_file`] waits for the lock; [`crate::Emulator::try_open_file`] fails
//! at once with [`FileError::Locked`]. The lock is on a file of its own because the data file
//! is replaced at each save. A reader that finds no lock file and may not create one (a
//! read-only directory) reads without it: no writer can have written there without creating
//! it, and a save is an atomic rename, so the reader sees one whole version of the file.
//!
//! **Saving**: [`crate::Emulator::flush`] writes a new temporary file next to the real one
//! (created exclusively under a fresh random name, so nothing planted there is followed), with
//! the mode and owner of the file it replaces (`0600` for a new store: it may hold digest ACL
//! hashes), syncs it, renames it over the real file and syncs the directory, so a crash leaves
//! the old file or the new one, never half of one. Nothing is written when nothing changed
//! since the file was read or last saved. The last handle on the server saves too when it goes
//! away (errors are then only logged). A file that does not parse is an error at open, and is
//! never overwritten by an empty tree.

use std::collections::HashMap;
use std::fs::{self, File, Metadata, OpenOptions, Permissions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use zczk_core::connection::Access;
use zczk_core::message::short;
use zczk_core::store::{Acl, Perms};

use crate::tree::{Node, NodeKind, Tree};

/// The `format` field of every file.
pub const FORMAT: &str = "zczk-emulator";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;

/// The mode of a store the emulator creates: only its owner may read it, as it may hold
/// digest ACL hashes.
pub const NEW_FILE_MODE: u32 = 0o600;

/// How many symbolic links are followed from `PATH` to the real file, as the OS's own limit.
const MAX_LINKS: usize = 40;

/// Why an emulator file could not be opened or saved. Every variant names the file as given,
/// as `file:PATH` (the connection string that names it).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading, writing, syncing, renaming or locking failed.
    #[error("file:{}: cannot {action}: {source}", short(&.path.to_string_lossy()))]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done (`read`, `write`, `lock`, ...).
        action: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// Another emulator (in this process or another) has the file open.
    #[error("file:{}: in use by another zczk emulator (the lock {} is held)", short(&.path.to_string_lossy()), short(&.lock.to_string_lossy()))]
    Locked {
        /// The file.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The file is not a valid emulator file; it was left as it is.
    #[error("file:{}: not a valid zczk emulator file: {reason}", short(&.path.to_string_lossy()))]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The file was written by a newer (or unknown) version of the format.
    #[error("file:{}: emulator file format version {version} is not supported (this build reads version {VERSION})", short(&.path.to_string_lossy()))]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version the file says it has.
        version: u32,
    },
    /// The file does not exist and was opened only to be read.
    #[error("file:{}: no such store (a write creates it)", short(&.path.to_string_lossy()))]
    NoSuchStore {
        /// The file.
        path: PathBuf,
    },
    /// The file (or what its links lead to) is not a regular file; it was not opened.
    #[error("file:{}: not a regular file but {kind}", short(&.path.to_string_lossy()))]
    NotAFile {
        /// The file.
        path: PathBuf,
        /// What it is: `a directory`, `a FIFO`, `a character device`, ...
        kind: &'static str,
    },
    /// The file has no write permission bit: someone made it read-only, so it is not replaced.
    #[error("file:{}: the store is read-only (mode {mode:04o}); make it writable to change it", short(&.path.to_string_lossy()))]
    ReadOnly {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
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

/// What the file holds as read or last saved: a save of the same has nothing new to write.
#[derive(Debug, PartialEq, Eq)]
struct Held {
    zxid: i64,
    sessions: Vec<SavedSession>,
    session_key: u128,
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

/// An open emulator file: its path, the real file, the access and the held lock.
pub(crate) struct Storage {
    /// The path as given, named in errors.
    path: PathBuf,
    /// The real file `path` leads to, symbolic links followed: the one read and replaced.
    real: PathBuf,
    access: Access,
    /// What the file holds (as read or last saved): a save of the same has nothing new.
    saved: Mutex<Option<Held>>,
    /// Holding the open lock file holds the lock; closing it releases the lock. `None` for a
    /// reader that could not create the lock file (see the module documentation).
    _lock: Option<File>,
}

impl Storage {
    /// Locks `path` (waiting if `wait`), then reads it: `None` when it does not exist (an
    /// error for [`Access::Read`]).
    pub fn open(path: &Path, access: Access, wait: bool) -> Result<(Storage, Option<Loaded>), FileError> {
        let io_error = |action, source| FileError::Io { path: path.to_path_buf(), action, source };
        let real = real_file(path).map_err(|e| io_error("follow its symbolic links", e))?;
        // Refuse what is not a regular file, and a missing store that is only to be read,
        // before a lock file is made next to it.
        let exists = match fs::metadata(&real) {
            Ok(metadata) => {
                regular(path, &metadata)?;
                true
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(io_error("read", e)),
        };
        if !exists && access == Access::Read {
            return Err(FileError::NoSuchStore { path: path.to_path_buf() });
        }
        let lock = lock(path, &real, access, wait)?;
        let loaded = match open_regular(path, &real)? {
            Some((mut file, metadata)) => {
                if access == Access::ReadWrite {
                    writable(path, &real, &metadata)?;
                }
                let mut bytes = Vec::with_capacity(metadata.len() as usize);
                file.read_to_end(&mut bytes).map_err(|e| io_error("read", e))?;
                Some(decode(path, &bytes)?)
            }
            None if access == Access::Read => {
                return Err(FileError::NoSuchStore { path: path.to_path_buf() })
            }
            None => None,
        };
        let saved = Mutex::new(loaded.as_ref().and_then(|l| {
            let session_key = l.session_key?;
            Some(Held { zxid: l.zxid, sessions: l.sessions.clone(), session_key })
        }));
        Ok((Storage { path: path.to_path_buf(), real, access, saved, _lock: lock }, loaded))
    }

    /// The data file, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the nodes of `tree` and the live `sessions` atomically, unless the file was
    /// opened for [`Access::Read`] or already holds just that.
    pub fn save(
        &self,
        tree: &Tree,
        zxid: i64,
        sessions: &[SavedSession],
        session_key: u128,
    ) -> Result<(), FileError> {
        if self.access == Access::Read {
            return Ok(());
        }
        let now = Held { zxid, sessions: sessions.to_vec(), session_key };
        let mut saved = self.saved.lock();
        if saved.as_ref() == Some(&now) {
            return Ok(());
        }
        let io_error = |action, source| FileError::Io { path: self.path.clone(), action, source };
        // The file being replaced gives its mode and owner to the new one.
        let old = match fs::metadata(&self.real) {
            Ok(metadata) => {
                regular(&self.path, &metadata)?;
                writable(&self.path, &self.real, &metadata)?;
                Some(metadata)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error("read", e)),
        };
        let mode = old.as_ref().map_or(NEW_FILE_MODE, |m| m.permissions().mode() & 0o7777);
        let dir = match self.real.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut prefix = self.real.file_name().unwrap_or_default().to_os_string();
        prefix.push(".");
        // A fresh name, created exclusively (O_EXCL): nothing already there is followed.
        let mut tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .permissions(Permissions::from_mode(NEW_FILE_MODE))
            .tempfile_in(dir)
            .map_err(|e| io_error("create a temporary file next to it", e))?;
        if let Some(old) = &old {
            keep_owner(tmp.as_file(), old);
        }
        // Set after creation: the umask applies to the mode given at creation, not to this.
        tmp.as_file()
            .set_permissions(Permissions::from_mode(mode))
            .map_err(|e| io_error("set the mode of the temporary file", e))?;
        tmp.write_all(&encode(tree, zxid, sessions, session_key))
            .map_err(|e| io_error("write the temporary file", e))?;
        tmp.as_file().sync_all().map_err(|e| io_error("sync the temporary file", e))?;
        tmp.persist(&self.real).map_err(|e| io_error("rename the temporary file over it", e.error))?;
        // The rename itself must reach the disk too (some file systems cannot sync a directory).
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        *saved = Some(now);
        Ok(())
    }
}

/// The real file `path` names: symbolic links followed, the last one possibly dangling (a
/// store to create at its target).
fn real_file(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                // A relative target is relative to the link's directory; `join` keeps an
                // absolute one as it is.
                current = match current.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::InvalidInput, "too many levels of symbolic links"))
}

/// [`FileError::NotAFile`] unless `metadata` is a regular file's.
fn regular(path: &Path, metadata: &Metadata) -> Result<(), FileError> {
    use std::os::unix::fs::FileTypeExt as _;
    let kind = metadata.file_type();
    let kind = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "something else"
    };
    Err(FileError::NotAFile { path: path.to_path_buf(), kind })
}

/// Opens the real file for reading, `None` when it does not exist. Without blocking: it was
/// a regular file when looked at, but may have been replaced by a FIFO since.
fn open_regular(path: &Path, real: &Path) -> Result<Option<(File, Metadata)>, FileError> {
    let io_error = |action, source| FileError::Io { path: path.to_path_buf(), action, source };
    let file = match OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(real) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("open", e)),
    };
    let metadata = file.metadata().map_err(|e| io_error("read", e))?;
    regular(path, &metadata)?;
    Ok(Some((file, metadata)))
}

/// Refuses to replace a file that has no write permission bit (so root respects a `chmod
/// a-w` too), or that this user may not write (the rename alone would not stop them).
fn writable(path: &Path, real: &Path, metadata: &Metadata) -> Result<(), FileError> {
    if metadata.permissions().readonly() {
        return Err(FileError::ReadOnly {
            path: path.to_path_buf(),
            mode: metadata.permissions().mode() & 0o7777,
        });
    }
    // Opening for writing changes nothing, and asks the OS.
    OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(real)
        .map(drop)
        .map_err(|source| FileError::Io { path: path.to_path_buf(), action: "write", source })
}

/// Gives `file` the owner and group of `old` where the OS allows it (root may; others may
/// only pick a group of their own): a store root writes for a user stays the user's.
fn keep_owner(file: &File, old: &Metadata) {
    let Ok(new) = file.metadata() else { return };
    if (new.uid(), new.gid()) == (old.uid(), old.gid()) {
        return;
    }
    if std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())).is_err() {
        if let Err(error) = std::os::unix::fs::fchown(file, None, Some(old.gid())) {
            tracing::debug!(%error, "the store's group could not be kept");
        }
    }
}

/// Takes the lock for `access` on `REAL.lock`; `None` when reading without one (see the
/// module documentation).
fn lock(path: &Path, real: &Path, access: Access, wait: bool) -> Result<Option<File>, FileError> {
    let lock_path = lock_path(real);
    let io_error = |action, source| FileError::Io { path: path.to_path_buf(), action, source };
    // Never blocks on a FIFO planted there.
    let create = || {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NONBLOCK)
            .open(&lock_path)
    };
    let file = match access {
        Access::ReadWrite => create().map_err(|e| io_error("create its lock file", e))?,
        // A shared lock needs only a read-only descriptor: no write to the directory.
        Access::Read => match OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&lock_path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => match create() {
                Ok(file) => file,
                Err(e)
                    if e.kind() == io::ErrorKind::PermissionDenied
                        || e.raw_os_error() == Some(libc::EROFS) =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(io_error("create its lock file", e)),
            },
            Err(e) => return Err(io_error("open its lock file", e)),
        },
    };
    let locked = match (access, wait) {
        (Access::Read, true) => fs4::FileExt::lock_shared(&file).map_err(fs4::TryLockError::Error),
        (Access::Read, false) => fs4::FileExt::try_lock_shared(&file),
        (Access::ReadWrite, true) => fs4::FileExt::lock(&file).map_err(fs4::TryLockError::Error),
        (Access::ReadWrite, false) => fs4::FileExt::try_lock(&file),
    };
    match locked {
        Ok(()) => Ok(Some(file)),
        Err(fs4::TryLockError::WouldBlock) => {
            Err(FileError::Locked { path: path.to_path_buf(), lock: lock_path })
        }
        Err(fs4::TryLockError::Error(e)) => Err(io_error("lock", e)),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// `REAL.lock`, next to the real file `real`.
fn lock_path(real: &Path) -> PathBuf {
    with_suffix(real, ".lock")
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
