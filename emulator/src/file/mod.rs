//! Keeping an emulator's nodes and sessions in a file (the CLI's `file:PATH`), written as
//! they change.
//!
//! **Format**: an SQLite database (one file; schema in `file/db.rs`), one row per node (`/`
//! and the `/zookeeper` nodes included, so their Stat survives) with its data (NULL for null
//! data, kept apart from empty data as ZooKeeper keeps it), ACL, kind and the Stat fields the
//! server keeps (those equal to another left out), keyed by path, plus the last zxid. As ZooKeeper keeps
//! sessions and ephemerals in its snapshot and log, the live sessions (id and timeout) have a
//! table of their own, their ephemerals are rows beside the other nodes (with their owner: a
//! node's children are then found in one index, whatever their kind), and the key session
//! passwords derive from is kept too: after a restart each session has its whole timeout again
//! for its client to come back. Watches are not saved: a returning client sets its own again.
//! A file in the first format (one JSON object, version 1), or a database of version 3 (with a
//! `parent` column and index), is read as it is by a reader, and converted once by the first
//! writer (logged as a warning).
//!
//! **Why a database** (measured on a 2-core machine, release build): every write must be on
//! disk before its client hears "ok", and a point command must not read the whole tree.
//! ZooKeeper's own design (a log synced per batch, plus snapshots) gives the first, but every
//! process that opens the store must still load a snapshot and replay the log: the JSON store
//! did that in 0.57 s and 167 MB for one `get` from 100,000 nodes (about 6 us per node), so even
//! a snapshot ten times faster to load would take about 0.6 s at a million nodes, against a goal
//! of 50 ms. A B-tree keyed by path reads only what a request needs: the same `get` takes
//! 0.01-0.02 s and 11 MB, and at 1,000,000 nodes under 0.03 s and 9 MB. SQLite (bundled, so
//! nothing to install) is the most used and tested embedded B-tree; it commits a transaction
//! atomically and survives a crash at any moment. Its rollback journal is used rather than
//! WAL: a WAL database cannot be read without writing its `-shm` file, and stores are read in
//! read-only directories. A writer syncs with `synchronous = EXTRA`, so that a commit survives
//! power loss too (see `db::tune_writer`).
//!
//! **When it is written**: the tree remembers which paths each write changes, the server
//! which sessions were opened or ended. The reply to a write, to a `closeSession` and to a
//! connect that opens a session waits until it is on disk (`Storage::durable`), and a
//! session's expiry is committed when it happens (a session opened in process, which no
//! reply tells of, is kept at the next commit): the first reply to wait, under the
//! emulator's lock, writes every node changed so far into one SQLite transaction and commits
//! it, synced (group commit: a pipeline of writes costs one sync, and a node changed by many
//! of them is written once). Everything applied before that moment is in the commit and
//! nothing after it, so a crash keeps a prefix of the writes, holding every acknowledged one.
//! A failed commit (a full disk, a store made read-only meanwhile) is answered as a lost
//! connection, and so is every later write ([`FileError::Failed`]). The tree reads nodes it
//! does not hold from the database as requests need them (`tree::Backing`), a small subtree
//! (up to 1,024 nodes) in one pass, and keeps a bounded cache of them, a new store's too.
//!
//! **Access**: an emulator opened for [`Access::Read`] never writes the file (nor creates
//! anything next to it when it can't: a read works in a read-only directory), and a missing
//! file is [`FileError::NoSuchStore`]. With [`Access::ReadWrite`] a missing file is created at
//! the first change, and a file without any write permission bit (`chmod a-w`), or one this user
//! may not write, is refused with [`FileError::ReadOnly`] or [`FileError::Io`] rather than
//! written: the mode bits are checked themselves (at open and before each commit), since root
//! may write anything.
//!
//! **The file itself**: `PATH` is followed through symbolic links to the real file, which is
//! the one read, locked and written, so a link stays a link and its target gets the writes.
//! Anything but a regular file (a directory, a FIFO, a device) is refused with
//! [`FileError::NotAFile`] before it is opened, and opened without blocking in case it changed.
//!
//! **Lock**: an emulator holds an OS lock (`flock`) on `REAL.lock` next to the real file for as
//! long as the server lives: exclusive for [`Access::ReadWrite`], shared for [`Access::Read`]
//! (readers run together, writers one at a time and never beside a reader).
//! [`crate::Emulator::open_file`] waits for the lock; [`crate::Emulator::try_open_file`] fails
//! at once with [`FileError::Locked`]. The lock is on a file of its own because the data file
//! is replaced when it is made or converted. A reader that finds no lock file and may not
//! create one (a read-only directory) reads without it: no writer can have written there
//! without creating it.
//!
//! **Making the file**: a new store (or a converted one) is written whole into a new
//! temporary file next to the real one (created exclusively under a fresh random name, so
//! nothing planted there is followed), with the mode and owner of the file it replaces
//! (`0600` for a new store: it may hold digest ACL hashes), synced, renamed over the real file
//! and the directory synced. A file that does not parse is an error at open, and is never
//! overwritten. [`crate::Emulator::flush`] commits what is not yet (the writes whose replies
//! nobody awaited, and the last zxid); the last handle on the server does too when it goes.

mod db;
mod legacy;

use std::fs::{self, File, Metadata, OpenOptions, Permissions};
use std::future::Future;
use std::io::{self, Read as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll};

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use zczk_core::connection::Access;
use zczk_core::message::short;

use crate::tree::{Backing, Node, Tree};

/// The format version this build writes: `PRAGMA user_version` of the database. Version 1
/// was the JSON file, and version 3 a database with a `parent` column: both are read and
/// converted; version 2, a database without null data and sessions, was never released (a
/// development branch's), and is refused.
pub const VERSION: u32 = 4;

/// The database version before [`VERSION`], read as it is and converted by a writer.
const VERSION_3: u32 = 3;

/// The first bytes of every SQLite database.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

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
    #[error("file:{}: emulator file format version {version} is not supported (this build reads versions 1, 3 and {VERSION})", short(&.path.to_string_lossy()))]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version the file says it has.
        version: u32,
    },
    /// The database refused a read or a write (a full disk, a damaged file, ...).
    #[error("file:{}: cannot {action}: {reason}", short(&.path.to_string_lossy()))]
    Database {
        /// The file.
        path: PathBuf,
        /// What was being done (`open`, `write`, `commit`, ...).
        action: &'static str,
        /// SQLite's words.
        reason: String,
    },
    /// An earlier commit failed: the file no longer follows the tree, so no later write is
    /// acknowledged as kept.
    #[error("file:{}: the store failed earlier and keeps no more writes: {reason}", short(&.path.to_string_lossy()))]
    Failed {
        /// The file.
        path: PathBuf,
        /// The first failure.
        reason: String,
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

/// What [`Storage::open`] read.
pub(crate) struct Loaded {
    /// The nodes, or those that must be in memory from the start.
    pub nodes: Nodes,
    /// The last zxid.
    pub zxid: i64,
    /// The live sessions, by id.
    pub sessions: Vec<SavedSession>,
    /// The next session id to give out, when the store keeps it (the JSON format did not).
    pub next_session: Option<i64>,
}

/// The nodes [`Storage::open`] read.
pub(crate) enum Nodes {
    /// The whole tree (a JSON file, only read).
    Whole(Box<Tree>),
    /// The container, TTL and ephemeral nodes: the rest is read as needed.
    Lazy(Vec<(String, Node)>),
}

/// A live session, as kept: it survives a restart with its ephemerals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SavedSession {
    /// The session id.
    pub id: i64,
    /// The timeout it was granted, in ms.
    pub timeout_ms: u64,
}

/// The sessions to write at a commit.
pub(crate) struct SessionRows {
    /// The sessions opened or ended since the last commit: each with its row, `None` when it
    /// ended.
    pub changed: Vec<(i64, Option<SavedSession>)>,
    /// The next session id the server gives out.
    pub next: i64,
}

/// An open store: its path, the real file, the access, the held lock and the database.
pub(crate) struct Storage {
    /// The path as given, named in errors.
    path: PathBuf,
    /// The real file `path` leads to, symbolic links followed: the one read and written.
    real: PathBuf,
    access: Access,
    /// The key session passwords derive from: the store's, or a new random one it is given.
    session_key: u128,
    db: Mutex<Db>,
    /// The last zxid whose changes are on disk (read without the lock: most acknowledgements
    /// find their write already committed by an earlier one's commit).
    durable_zxid: AtomicI64,
    /// Holding the open lock file holds the lock; closing it releases the lock. `None` for a
    /// reader that could not create the lock file (see the module documentation).
    _lock: Option<File>,
}

/// The database connection and where its transaction stands.
struct Db {
    /// `None` while a store opened to write does not exist yet (it is made at the first
    /// change), and for a JSON file opened to read.
    conn: Option<Connection>,
    /// A write transaction is open, holding the changes made since the last commit.
    open: bool,
    /// The zxid of the last change written into the transaction.
    staged_zxid: i64,
    /// Why the last commit failed: every later acknowledgement fails too, since the file no
    /// longer follows the tree.
    failed: Option<String>,
}

impl Storage {
    /// Locks `path` (waiting if `wait`), then reads it: `None` when it does not exist (an
    /// error for [`Access::Read`]). A JSON file opened to write is converted to the database
    /// here, once.
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
        let mut storage = Storage {
            path: path.to_path_buf(),
            real,
            access,
            session_key: crate::ids::random_key(),
            db: Mutex::new(Db { conn: None, open: false, staged_zxid: 0, failed: None }),
            durable_zxid: AtomicI64::new(0),
            _lock: lock,
        };
        let loaded = match open_regular(path, &storage.real)? {
            Some((mut file, metadata)) => {
                if access == Access::ReadWrite {
                    writable(path, &storage.real, &metadata)?;
                }
                let mut head = Vec::with_capacity(SQLITE_HEADER.len());
                (&mut file)
                    .take(SQLITE_HEADER.len() as u64)
                    .read_to_end(&mut head)
                    .map_err(|e| io_error("read", e))?;
                if head == SQLITE_HEADER {
                    drop(file);
                    Some(storage.open_database()?)
                } else {
                    let mut bytes = head;
                    file.read_to_end(&mut bytes).map_err(|e| io_error("read", e))?;
                    let old = legacy::decode(path, &bytes)?;
                    if let Some(key) = old.session_key {
                        storage.session_key = key;
                    }
                    if access == Access::ReadWrite {
                        // Written whole, then read from the database like any store.
                        let sessions =
                            SessionRows { changed: Vec::new(), next: crate::ids::FIRST_SESSION_ID };
                        storage.create(&old.tree, &old.sessions, &sessions, old.zxid, Some(&metadata))?;
                        tracing::warn!(
                            "file:{}: converted from the old JSON format to an SQLite database (once; it is written as it changes from now on)",
                            short(&path.to_string_lossy())
                        );
                    }
                    if access == Access::ReadWrite {
                        Some(storage.open_database()?)
                    } else {
                        Some(Loaded {
                            nodes: Nodes::Whole(Box::new(old.tree)),
                            zxid: old.zxid,
                            sessions: old.sessions,
                            next_session: None,
                        })
                    }
                }
            }
            None if access == Access::Read => {
                return Err(FileError::NoSuchStore { path: path.to_path_buf() })
            }
            None => None,
        };
        if let Some(Loaded { zxid, .. }) = &loaded {
            storage.durable_zxid.store(*zxid, Ordering::Relaxed);
            storage.db.get_mut().staged_zxid = *zxid;
        }
        Ok((storage, loaded))
    }

    /// The data file, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key session passwords derive from.
    pub fn session_key(&self) -> u128 {
        self.session_key
    }

    /// Whether changes are written (the store was opened for [`Access::ReadWrite`]).
    pub fn writes(&self) -> bool {
        self.access == Access::ReadWrite
    }

    /// Whether the database exists and follows the tree (made, and no commit failed): it
    /// can then be the tree's [`Backing`].
    pub fn has_database(&self) -> bool {
        let db = self.db.lock();
        db.conn.is_some() && db.failed.is_none()
    }

    fn corrupt(&self, reason: impl Into<String>) -> FileError {
        FileError::Corrupt { path: self.path.clone(), reason: reason.into() }
    }

    fn sqlite_error(&self, action: &'static str, error: rusqlite::Error) -> FileError {
        FileError::Database { path: self.path.clone(), action, reason: error.to_string() }
    }

    /// Opens the database at the real file, and reads what a tree needs at once: the zxid,
    /// the sessions, the container, TTL and ephemeral nodes. Every other node is read when it
    /// is needed (see [`crate::tree::Backing`]). A store opened to write that has no session
    /// key yet is given the one this storage made.
    fn open_database(&mut self) -> Result<Loaded, FileError> {
        let recovered = self.access == Access::ReadWrite || self.recover();
        let open_error = |error| match recovered {
            true => self.sqlite_error("open", error),
            false => FileError::Database {
                path: self.path.clone(),
                action: "read",
                reason: "a writer was killed mid-commit and this user may not roll its journal back; \
                         a command that writes (or a user who may write the store) recovers it"
                    .to_string(),
            },
        };
        let flags = match self.access {
            Access::Read => OpenFlags::SQLITE_OPEN_READ_ONLY,
            Access::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.real, flags).map_err(open_error)?;
        match self.access {
            Access::Read => db::tune(&conn),
            Access::ReadWrite => db::tune_writer(&conn),
        }
        .map_err(open_error)?;
        match db::version(&conn) {
            Ok(VERSION) => {}
            Ok(VERSION_3) if self.access == Access::Read => {}
            Ok(VERSION_3) => {
                db::convert_v3(&conn).map_err(|e| self.sqlite_error("convert", e))?;
                tracing::warn!(
                    "file:{}: converted from store format 3 to {VERSION} (once; a smaller file, the same nodes)",
                    short(&self.path.to_string_lossy())
                );
            }
            Ok(version) => return Err(FileError::UnsupportedVersion { path: self.path.clone(), version }),
            Err(reason) => return Err(self.corrupt(reason)),
        }
        let zxid = db::read_meta(&conn, "zxid").map_err(|e| self.corrupt(e.to_string()))?.unwrap_or(0);
        let next_session = db::read_meta(&conn, "next_session").map_err(|e| self.corrupt(e.to_string()))?;
        let sessions = db::read_sessions(&conn).map_err(|e| self.corrupt(e.to_string()))?;
        let kept = db::read_kept(&conn).map_err(|reason| self.corrupt(reason))?;
        if let Some((path, node)) = kept
            .iter()
            .find(|(_, node)| node.kind.owner().is_some_and(|owner| !sessions.iter().any(|s| s.id == owner)))
        {
            let owner = node.kind.owner().unwrap_or_default();
            return Err(self.corrupt(format!("ephemeral {path}: its session {owner:#x} is not in the store")));
        }
        if db::read_one(&conn, "/").map_err(|e| self.corrupt(e.to_string()))?.is_none() {
            return Err(self.corrupt("no root node \"/\""));
        }
        match db::read_session_key(&conn).map_err(|reason| self.corrupt(reason))? {
            Some(key) => self.session_key = key,
            None if self.access == Access::ReadWrite => {
                db::write_session_key(&conn, self.session_key).map_err(|e| self.sqlite_error("write", e))?;
            }
            None => {}
        }
        if self.access == Access::Read {
            // One read transaction for the reader's life: no writer can change the file while
            // the shared lock is held, and each read no longer takes and drops SQLite's own
            // lock (system calls that were a tenth of an export's time).
            conn.execute_batch("BEGIN").map_err(|e| self.sqlite_error("open", e))?;
        }
        self.db.get_mut().conn = Some(conn);
        Ok(Loaded { nodes: Nodes::Lazy(kept), zxid, sessions, next_session })
    }

    /// A writer that was killed mid-commit leaves a hot journal, which SQLite rolls back at
    /// the next read, but only through a connection that may write. No writer can be at work
    /// beside a reader (the lock), so a journal is a crashed one: a reader rolls it back as a
    /// writer would, putting back the last committed store (it changes nothing committed).
    /// Returns false when a journal is left that could not be rolled back (opening read-only
    /// then fails, unless SQLite finds the journal was not hot after all).
    fn recover(&self) -> bool {
        if !hot_journal(&self.real) {
            return true;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let recovered = Connection::open_with_flags(&self.real, flags)
            .and_then(|conn| conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(())));
        match recovered {
            Ok(()) => tracing::info!(
                "file:{}: rolled back a crashed writer's journal",
                short(&self.path.to_string_lossy())
            ),
            Err(error) => tracing::debug!(%error, "a crashed writer's journal could not be rolled back"),
        }
        !hot_journal(&self.real)
    }

    /// Writes the nodes of `tree` at `paths`, the `sessions` that changed (and `zxid`) into
    /// the open write transaction, beginning one if none is open; the store is made first if
    /// it does not exist (with the sessions `live` gives). They reach the disk at the next
    /// [`Storage::commit`]. Does nothing for a store opened only to read, or when nothing
    /// changed.
    pub fn stage(
        &self,
        tree: &Tree,
        paths: &[String],
        sessions: &SessionRows,
        live: impl FnOnce() -> Vec<SavedSession>,
        zxid: i64,
    ) {
        if self.access == Access::Read || (paths.is_empty() && sessions.changed.is_empty()) {
            return;
        }
        let mut db = self.db.lock();
        if db.conn.is_none() {
            let created = self.create_into(&mut db, tree, &live(), sessions, zxid);
            self.staged(&mut db, created);
        } else {
            self.write(&mut db, tree, paths, Some(sessions), zxid);
        }
    }

    /// Writes `paths`, `sessions` and `zxid` into the transaction (see [`Storage::stage`]).
    fn write(&self, db: &mut Db, tree: &Tree, paths: &[String], sessions: Option<&SessionRows>, zxid: i64) {
        let Some(conn) = &db.conn else { return };
        if db.failed.is_some() {
            return;
        }
        let mut result = Ok(());
        if !db.open {
            result = conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| self.sqlite_error("begin a transaction", e));
            db.open = result.is_ok();
        }
        // In key order: each B-tree page a group changes is found once, and filled in order.
        let mut sorted: Vec<&String> = paths.iter().collect();
        sorted.sort_unstable();
        let result = result.and_then(|()| {
            sorted
                .into_iter()
                .try_for_each(|path| db::write_node(conn, tree, path))
                .and_then(|()| sessions.map_or(Ok(()), |sessions| db::write_sessions(conn, sessions)))
                .and_then(|()| db::write_meta(conn, "zxid", zxid))
                .map_err(|e| self.sqlite_error("write", e))
        });
        self.staged(db, result.map(|()| zxid));
    }

    /// Records the outcome of staging: the zxid now staged, or the failure.
    fn staged(&self, db: &mut Db, result: Result<i64, FileError>) {
        match result {
            Ok(zxid) => db.staged_zxid = zxid,
            Err(error) => {
                tracing::error!(%error, "the store no longer follows the tree: later writes fail");
                db.failed = Some(error.to_string());
            }
        }
    }

    /// Stages `zxid` (the last one given out, which sessions take too) when it moved, and
    /// commits. Nothing is written when nothing changed, nor when the store was never made.
    pub fn flush(&self, tree: &Tree, zxid: i64) -> Result<(), FileError> {
        if self.access == Access::Read {
            return Ok(());
        }
        {
            let mut db = self.db.lock();
            if db.conn.is_some() && zxid > db.staged_zxid {
                self.write(&mut db, tree, &[], None, zxid);
            }
        }
        self.commit()
    }

    /// Makes the store (it did not exist) holding `tree` and the `live` sessions, and opens it.
    fn create_into(
        &self,
        db: &mut Db,
        tree: &Tree,
        live: &[SavedSession],
        sessions: &SessionRows,
        zxid: i64,
    ) -> Result<i64, FileError> {
        self.create(tree, live, sessions, zxid, None)?;
        let conn = Connection::open_with_flags(
            &self.real,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| self.sqlite_error("open", e))?;
        db::tune_writer(&conn).map_err(|e| self.sqlite_error("open", e))?;
        db.conn = Some(conn);
        self.durable_zxid.store(zxid, Ordering::Release);
        Ok(zxid)
    }

    /// Writes a whole new store holding `tree`, the `live` sessions (ephemerals of others are
    /// left out), the next session id of `sessions` and the session key next to the real file
    /// and renames it over (creating it if missing, replacing a JSON file): a temporary file made exclusively
    /// under a fresh random name (nothing planted there is followed) with the mode and owner
    /// of the file it replaces (`old`; `0600` for a new store: it may hold digest ACL hashes),
    /// synced, renamed, and the directory synced.
    fn create(
        &self,
        tree: &Tree,
        live: &[SavedSession],
        sessions: &SessionRows,
        zxid: i64,
        old: Option<&Metadata>,
    ) -> Result<(), FileError> {
        let io_error = |action, source| FileError::Io { path: self.path.clone(), action, source };
        let mode = old.map_or(NEW_FILE_MODE, |m| m.permissions().mode() & 0o7777);
        let dir = match self.real.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut prefix = self.real.file_name().unwrap_or_default().to_os_string();
        prefix.push(".");
        let tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .permissions(Permissions::from_mode(NEW_FILE_MODE))
            .tempfile_in(dir)
            .map_err(|e| io_error("create a temporary file next to it", e))?;
        if let Some(old) = old {
            keep_owner(tmp.as_file(), old);
        }
        // Set after creation: the umask applies to the mode given at creation, not to this.
        tmp.as_file()
            .set_permissions(Permissions::from_mode(mode))
            .map_err(|e| io_error("set the mode of the temporary file", e))?;
        {
            let mut conn = Connection::open_with_flags(
                tmp.path(),
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| self.sqlite_error("create", e))?;
            // No journal: the file is not the store until it is complete and renamed.
            conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF")
                .map_err(|e| self.sqlite_error("create", e))?;
            let txn = conn
                .transaction_with_behavior(TransactionBehavior::Exclusive)
                .map_err(|e| self.sqlite_error("create", e))?;
            db::create_schema(&txn).map_err(|e| self.sqlite_error("create", e))?;
            let mut paths: Vec<&str> = tree
                .iter()
                .filter(|(_, node)| {
                    node.kind.owner().map_or(true, |owner| live.iter().any(|s| s.id == owner))
                })
                .map(|(path, _)| path)
                .collect();
            // In key order, the B-tree fills page by page.
            paths.sort_unstable();
            for path in paths {
                db::write_node(&txn, tree, path).map_err(|e| self.sqlite_error("write", e))?;
            }
            let rows =
                SessionRows { changed: live.iter().map(|s| (s.id, Some(*s))).collect(), next: sessions.next };
            db::write_sessions(&txn, &rows).map_err(|e| self.sqlite_error("write", e))?;
            db::write_session_key(&txn, self.session_key).map_err(|e| self.sqlite_error("write", e))?;
            db::write_meta(&txn, "zxid", zxid).map_err(|e| self.sqlite_error("write", e))?;
            txn.commit().map_err(|e| self.sqlite_error("write", e))?;
            conn.close().map_err(|(_, e)| self.sqlite_error("write", e))?;
        }
        tmp.as_file().sync_all().map_err(|e| io_error("sync the temporary file", e))?;
        tmp.persist(&self.real).map_err(|e| io_error("rename the temporary file over it", e.error))?;
        // The rename itself must reach the disk too (some file systems cannot sync a directory).
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Commits the open transaction: once this returns, every staged change is on disk
    /// (SQLite syncs its journal and the database). A store made read-only meanwhile (`chmod
    /// a-w`) is not written: the transaction is rolled back and the store fails from then on.
    pub fn commit(&self) -> Result<(), FileError> {
        let mut db = self.db.lock();
        if let Some(reason) = &db.failed {
            return Err(FileError::Failed { path: self.path.clone(), reason: reason.clone() });
        }
        if !db.open {
            return Ok(());
        }
        let result = match fs::metadata(&self.real) {
            Ok(metadata) => writable(&self.path, &self.real, &metadata),
            Err(source) => Err(FileError::Io { path: self.path.clone(), action: "read", source }),
        }
        .and_then(|()| {
            let conn = db.conn.as_ref().ok_or_else(|| self.corrupt("no database"))?;
            conn.execute_batch("COMMIT").map_err(|e| self.sqlite_error("commit", e))
        });
        db.open = false;
        match result {
            Ok(()) => {
                self.durable_zxid.store(db.staged_zxid, Ordering::Release);
                Ok(())
            }
            Err(error) => {
                if let Some(conn) = &db.conn {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                db.failed = Some(error.to_string());
                Err(error)
            }
        }
    }

    /// Done when every change up to `zxid` is on disk: the acknowledgement of a write waits
    /// for it. It first lets the requests already made run (one yield), then, unless an
    /// earlier commit covered `zxid` meanwhile, calls `commit`, which stages every change
    /// made so far and commits them all (group commit: ZooKeeper too syncs its log once for a
    /// batch of writes).
    pub fn durable<'a>(
        &'a self,
        zxid: i64,
        commit: impl FnOnce() -> Result<(), FileError> + Send + 'a,
    ) -> impl Future<Output = Result<(), FileError>> + Send + 'a {
        let mut yielded = false;
        let mut commit = Some(commit);
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            if self.durable_zxid.load(Ordering::Acquire) >= zxid {
                return Poll::Ready(Ok(()));
            }
            if !yielded {
                yielded = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(commit.take().map_or(Ok(()), |commit| commit()))
        })
    }

    /// Commits what is staged, when every change up to `zxid` is (the caller holds the
    /// emulator's lock, so no change can come in between): from then on, waiting for any
    /// zxid up to it is done at once.
    pub fn commit_through(&self, zxid: i64) -> Result<(), FileError> {
        if self.durable_zxid.load(Ordering::Acquire) >= zxid {
            return Ok(());
        }
        self.commit()?;
        self.durable_zxid.fetch_max(zxid, Ordering::AcqRel);
        Ok(())
    }
}

/// Whether a journal of an unfinished commit lies next to the database `real`.
fn hot_journal(real: &Path) -> bool {
    fs::metadata(with_suffix(real, "-journal")).is_ok_and(|m| m.len() > 0)
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

/// How many nodes below a node read from the database are read with it, at most: a subtree
/// that small is read in one pass (a store's lowest levels: a service's providers, a pool's
/// nodes), which an export or a walk asks for next. Well within the tree's cache
/// ([`crate::tree::CACHED_NODES`]), so that the subtrees an export reads at once fit in it.
const SUBTREE_NODES: usize = 1024;

/// Nodes are read from the database as requests need them. A read that fails is logged and
/// taken as a missing node (the store answers `NoNode`).
impl Backing for Storage {
    fn read(&self, path: &str, more: usize) -> Vec<(String, Node)> {
        let db = self.db.lock();
        let Some(conn) = db.conn.as_ref() else { return Vec::new() };
        match db::read_subtree(conn, path, more.min(SUBTREE_NODES)) {
            Ok(Some(Ok(nodes))) => nodes,
            Ok(None) => Vec::new(),
            Ok(Some(Err(reason))) => {
                tracing::error!(path, %reason, "file: store: a node is not valid; taken as missing");
                Vec::new()
            }
            Err(error) => {
                tracing::error!(path, %error, "file: store: a node could not be read; taken as missing");
                Vec::new()
            }
        }
    }

    fn count(&self) -> usize {
        let db = self.db.lock();
        db.conn.as_ref().and_then(|conn| db::count(conn).ok()).unwrap_or(0)
    }

    fn data_bytes(&self) -> usize {
        let db = self.db.lock();
        db.conn.as_ref().and_then(|conn| db::data_bytes(conn).ok()).unwrap_or(0)
    }
}
