//! The store's SQLite schema, and nodes to and from its rows.
//!
//! ```sql
//! meta     (key TEXT PRIMARY KEY, value)     -- 'zxid': the last zxid the store holds,
//!                                            -- 'next_session': the next session id,
//!                                            -- 'session_key': 32 hex digits
//! nodes    (path TEXT PRIMARY KEY, data BLOB, acl TEXT, kind INTEGER, ttl_ms, owner,
//!           czxid, mzxid, pzxid, ctime, mtime, version, creates, aversion)
//! sessions (id INTEGER PRIMARY KEY, timeout_ms INTEGER)
//! index nodes_kept (path) WHERE kind <> 0     -- container, TTL and ephemeral nodes without a scan
//! ```
//!
//! The file says what it is in its header: `application_id` [`APPLICATION_ID`] ("zczk") and
//! `user_version` [`super::VERSION`]. `data` is NULL for null data (a zero-length blob is
//! empty data); `acl` is NULL for the open ACL (most nodes), else a JSON list of `[perms,
//! scheme, id]`; `kind` is 0 persistent, 1 container, 2 TTL (`ttl_ms` set), 3 ephemeral
//! (`owner` set: a row of `sessions`). `mzxid` and `pzxid` are NULL when they equal `czxid`,
//! `mtime` when it equals `ctime` (a node never changed since it was made: most of them), so
//! those rows carry no copy. `sessions` holds the live sessions; watches live in the process.
//!
//! A node's children are the rows whose path starts with its own and a `/` and has no further
//! `/`: they are found by seeking the path B-tree, one seek per child and one more past each
//! child's own subtree (see [`child_names`]). Version 3 kept a `parent` column with an index of
//! its own for this, about a third of the file; it is read as it is (the columns read are the
//! same) and converted by the first writer ([`convert_v3`]).

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension as _};
use zczk_core::path::PathError;
use zczk_core::store::{Acl, Perms};

use crate::tree::{Node, NodeKind, Tree};

/// `PRAGMA application_id` of a store: "zczk" in ASCII.
pub const APPLICATION_ID: i32 = 0x7a63_7a6b;

/// The columns of the `nodes` table: one definition for a new store and for the conversion of
/// a version 3 store, so the two cannot drift apart.
macro_rules! nodes_columns {
    () => {
        "(
    path TEXT PRIMARY KEY,
    data BLOB,
    acl TEXT,
    kind INTEGER NOT NULL,
    ttl_ms INTEGER,
    owner INTEGER,
    czxid INTEGER NOT NULL,
    mzxid INTEGER,
    pzxid INTEGER,
    ctime INTEGER NOT NULL,
    mtime INTEGER,
    version INTEGER NOT NULL,
    creates INTEGER NOT NULL,
    aversion INTEGER NOT NULL
) WITHOUT ROWID;"
    };
}

/// The tables of a new store.
const SCHEMA: &str = concat!(
    "
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE sessions (id INTEGER PRIMARY KEY, timeout_ms INTEGER NOT NULL);
CREATE TABLE nodes ",
    nodes_columns!(),
    "
CREATE INDEX nodes_kept ON nodes (path) WHERE kind <> 0;
"
);

/// Turns a version 3 store's nodes (with a `parent` column and its index, every Stat field
/// written out) into this version's, in the caller's transaction.
const CONVERT_V3: &str = concat!(
    "
CREATE TABLE nodes_v4 ",
    nodes_columns!(),
    "
INSERT INTO nodes_v4 SELECT path, data, acl, kind, ttl_ms, owner, czxid, nullif(mzxid, czxid),
    nullif(pzxid, czxid), ctime, nullif(mtime, ctime), version, creates, aversion
    FROM nodes ORDER BY path;
DROP TABLE nodes;
ALTER TABLE nodes_v4 RENAME TO nodes;
CREATE INDEX nodes_kept ON nodes (path) WHERE kind <> 0;
"
);

const UPSERT: &str = "INSERT OR REPLACE INTO nodes
    (path, data, acl, kind, ttl_ms, czxid, mzxid, pzxid, ctime, mtime, version, creates, aversion, owner)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

/// A node's columns, the derived ones filled in: the same query reads versions 3 and 4.
const SELECT: &str = "SELECT path, data, acl, kind, ttl_ms, czxid, coalesce(mzxid, czxid),
    coalesce(pzxid, czxid), ctime, coalesce(mtime, ctime), version, creates, aversion, owner FROM nodes";

/// `kind` of an ephemeral row.
const EPHEMERAL: i64 = 3;

/// The most memory SQLite's page cache may take, in KiB. A commit holds every page it
/// changed in the cache until it is done; with SQLite's default (2 MiB) a large group (an
/// import) spilled pages to the file and read them back, doubling its time.
const CACHE_KIB: i64 = 64 * 1024;

/// Sets up a connection to a store: a page cache large enough for a large group commit (it
/// only grows as pages are used).
pub fn tune(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "cache_size", -CACHE_KIB)
}

/// Sets up a connection that writes a store, so that a commit is on disk when it returns,
/// power loss included. A commit in SQLite's rollback-journal mode ends when it unlinks the
/// journal; `synchronous = FULL` (the default) syncs the journal and the database but not
/// that unlink, so after a power cut the journal could come back and roll an acknowledged
/// commit back. `EXTRA` also syncs the directory after the unlink: one more sync per commit
/// (a group commit: an import of 200,000 nodes makes about 20). WAL, with one sync per
/// commit, is not used: a WAL database cannot be read without writing its `-shm` file, and
/// stores are read in read-only directories; `journal_mode = TRUNCATE` would leave an empty
/// `-journal` file beside every store.
pub fn tune_writer(conn: &Connection) -> rusqlite::Result<()> {
    tune(conn)?;
    conn.pragma_update(None, "synchronous", "EXTRA")
}

/// Makes the tables of a new store in `conn` (in its own transaction).
pub fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    conn.pragma_update(None, "user_version", super::VERSION)?;
    conn.execute_batch(SCHEMA)
}

/// Converts a version 3 store in `conn` to this version, in one transaction (a crash leaves
/// it at version 3), then gives the space freed back to the file system (`VACUUM`, itself
/// atomic).
pub fn convert_v3(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let converted = conn
        .execute_batch(CONVERT_V3)
        .and_then(|()| conn.pragma_update(None, "user_version", super::VERSION))
        .and_then(|()| conn.execute_batch("COMMIT"));
    if let Err(error) = converted {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(error);
    }
    conn.execute_batch("VACUUM")
}

/// The store's format version, or why `conn` is no store: `Err(reason)`.
pub fn version(conn: &Connection) -> Result<u32, String> {
    let id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(|e| e.to_string())?;
    if id != APPLICATION_ID {
        return Err(format!("an SQLite database, but not a zczk store (application_id {id:#x})"));
    }
    conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| e.to_string())
}

/// Writes the node at `path` as `tree` has it now: its row, or no row when it is gone.
pub fn write_node(conn: &Connection, tree: &Tree, path: &str) -> rusqlite::Result<()> {
    match tree.get(path) {
        Some(node) => {
            let (kind, ttl_ms) = match node.kind {
                NodeKind::Persistent => (0, None),
                NodeKind::Container => (1, None),
                NodeKind::Ttl(ms) => (2, Some(ms)),
                NodeKind::Ephemeral(_) => (EPHEMERAL, None),
            };
            let acl = if crate::acl::is_open(&node.acl) { None } else { Some(acl_text(&node.acl)) };
            let unless = |value: i64, same: i64| (value != same).then_some(value);
            conn.prepare_cached(UPSERT)?.execute(params![
                path,
                node.data,
                acl,
                kind,
                ttl_ms,
                node.czxid,
                unless(node.mzxid, node.czxid),
                unless(node.pzxid, node.czxid),
                node.ctime,
                unless(node.mtime, node.ctime),
                node.version,
                node.creates,
                node.aversion,
                node.kind.owner()
            ])?;
        }
        _ => {
            conn.prepare_cached("DELETE FROM nodes WHERE path = ?1")?.execute([path])?;
        }
    }
    Ok(())
}

/// Records a number in `meta`: `zxid` (the last one given out) or `next_session`.
pub fn write_meta(conn: &Connection, key: &str, value: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
        .execute(params![key, value])?;
    Ok(())
}

/// A number the store holds in `meta`, if any.
pub fn read_meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
}

/// Records the key session passwords derive from, as 32 hex digits.
pub fn write_session_key(conn: &Connection, key: u128) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('session_key', ?1)",
        [format!("{key:032x}")],
    )?;
    Ok(())
}

/// The key session passwords derive from, if the store holds one; `Err(reason)` when it is
/// not valid.
pub fn read_session_key(conn: &Connection) -> Result<Option<u128>, String> {
    let text: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'session_key'", [], |r| r.get(0))
        .optional()
        .map_err(|e| format!("session_key: {e}"))?;
    text.map(|hex| u128::from_str_radix(&hex, 16).map_err(|_| format!("session_key {hex:?} is not hex")))
        .transpose()
}

/// Writes the sessions that changed (a row for each live one, none for one that ended) and
/// the next session id.
pub fn write_sessions(conn: &Connection, sessions: &super::SessionRows) -> rusqlite::Result<()> {
    if sessions.changed.is_empty() {
        return Ok(());
    }
    for (id, row) in &sessions.changed {
        match row {
            Some(session) => {
                let timeout_ms = i64::try_from(session.timeout_ms).unwrap_or(i64::MAX);
                conn.prepare_cached("INSERT OR REPLACE INTO sessions (id, timeout_ms) VALUES (?1, ?2)")?
                    .execute([*id, timeout_ms])?;
            }
            None => {
                conn.prepare_cached("DELETE FROM sessions WHERE id = ?1")?.execute([*id])?;
            }
        }
    }
    write_meta(conn, "next_session", sessions.next)
}

/// The live sessions the store holds, by id.
pub fn read_sessions(conn: &Connection) -> rusqlite::Result<Vec<super::SavedSession>> {
    let mut statement = conn.prepare("SELECT id, timeout_ms FROM sessions ORDER BY id")?;
    let sessions = statement
        .query_map([], |row| {
            let timeout_ms: i64 = row.get(1)?;
            Ok(super::SavedSession { id: row.get(0)?, timeout_ms: timeout_ms.max(0) as u64 })
        })?
        .collect();
    sessions
}

/// The node at `path` with its child names, if the store holds it: `Ok(Some(Err(reason)))`
/// when its row is not valid.
pub fn read_one(conn: &Connection, path: &str) -> rusqlite::Result<Option<Result<Node, String>>> {
    let mut statement = conn.prepare_cached(&format!("{SELECT} WHERE path = ?1"))?;
    let mut rows = statement.query([path])?;
    let Some(row) = rows.next()? else { return Ok(None) };
    let node = match read_node(row, &mut HashMap::new())? {
        Ok((_, mut node)) => {
            node.children = child_names(conn, path)?;
            Ok(node)
        }
        Err(reason) => Err(reason),
    };
    Ok(Some(node))
}

/// What [`read_subtree`] read: the nodes by path, the one asked for first, or why its row is
/// not valid.
pub type Subtree = Result<Vec<(String, Node)>, String>;

/// The node at `path` with its child names, then, when its subtree holds at most `limit`
/// nodes besides it, each of those with theirs: a subtree is one run of the path B-tree, read
/// in one pass, where reading its nodes one by one costs a lookup and a seek for children
/// each. `Ok(None)` when the store does not hold `path`, `Ok(Some(Err(reason)))` when its row
/// is not valid; a descendant whose row is not valid is left out (it is read, and refused,
/// when asked for), as a name in its parent's children still.
pub fn read_subtree(conn: &Connection, path: &str, limit: usize) -> rusqlite::Result<Option<Subtree>> {
    let mut statement = conn.prepare_cached(&format!("{SELECT} WHERE path = ?1"))?;
    let mut rows = statement.query([path])?;
    let Some(row) = rows.next()? else { return Ok(None) };
    let mut acls = HashMap::new();
    let top = match read_node(row, &mut acls)? {
        Ok((_, node)) => node,
        Err(reason) => return Ok(Some(Err(reason))),
    };
    drop(rows);
    let prefix = if path == "/" { "/".to_string() } else { format!("{path}/") };
    // Every path below `path` sorts before this: '0' follows '/'.
    let end = format!("{}0", &prefix[..prefix.len() - 1]);
    let mut top = top;
    // Counted first, stepping over keys only: a large subtree (the root's) is not read.
    let mut probe = conn.prepare_cached(
        "SELECT 1 FROM nodes WHERE path > ?1 AND path < ?2 ORDER BY path LIMIT 1 OFFSET ?3",
    )?;
    if probe.exists(params![prefix, end, limit as i64])? {
        top.children = child_names(conn, path)?;
        return Ok(Some(Ok(vec![(path.to_string(), top)])));
    }
    let mut scan = conn.prepare_cached(&format!("{SELECT} WHERE path > ?1 AND path < ?2 ORDER BY path"))?;
    let mut rows = scan.query(params![prefix, end])?;
    let mut below = Vec::new();
    while let Some(row) = rows.next()? {
        let child: String = row.get(0)?;
        // A row that is not valid is refused (and logged) when a request asks for it.
        below.push((child, read_node(row, &mut acls)?.ok().map(|(_, node)| node)));
    }
    drop(rows);
    // In path order, a parent comes before its children.
    let mut nodes = vec![(path.to_string(), top)];
    let mut at: HashMap<String, usize> = HashMap::from([(path.to_string(), 0)]);
    for (child, node) in below {
        if let Some(&parent) = at.get(crate::path::parent(&child)) {
            nodes[parent].1.children.insert(crate::path::name(&child).to_string());
        }
        if let Some(node) = node {
            at.insert(child.clone(), nodes.len());
            nodes.push((child, node));
        }
    }
    Ok(Some(Ok(nodes)))
}

/// The container, TTL and ephemeral nodes, with their child names: the cleanup looks at the
/// first unasked, and a session's end deletes the last.
pub fn read_kept(conn: &Connection) -> Result<Vec<(String, Node)>, String> {
    let mut statement = conn.prepare(&format!("{SELECT} WHERE kind <> 0")).map_err(|e| e.to_string())?;
    let mut rows = statement.query([]).map_err(|e| e.to_string())?;
    let mut acls = HashMap::new();
    let mut kept = Vec::new();
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        let (path, mut node) = read_node(row, &mut acls).map_err(|e| e.to_string())??;
        node.children = child_names(conn, &path).map_err(|e| e.to_string())?;
        kept.push((path, node));
    }
    Ok(kept)
}

/// The names of the children of `path` the store holds, found by seeking the path B-tree
/// (paths compare as UTF-8 bytes): the first path after the last one found, below the end
/// of `path`'s subtree, is either a child or lies in the subtree of a child found already (a
/// sibling's name may sort between a child and its own descendants: `a`, `a-b`, `a/c`), whose
/// subtree is then skipped. At most two seeks per child, whatever the subtree holds.
fn child_names(conn: &Connection, path: &str) -> rusqlite::Result<std::collections::BTreeSet<String>> {
    let prefix = if path == "/" { "/".to_string() } else { format!("{path}/") };
    // Every path below `path` sorts before this: '0' follows '/'.
    let end = format!("{}0", &prefix[..prefix.len() - 1]);
    let mut after =
        conn.prepare_cached("SELECT path FROM nodes WHERE path > ?1 AND path < ?2 ORDER BY path LIMIT 1")?;
    let mut from =
        conn.prepare_cached("SELECT path FROM nodes WHERE path >= ?1 AND path < ?2 ORDER BY path LIMIT 1")?;
    let mut names = std::collections::BTreeSet::new();
    let mut next = after.query_row([&prefix, &end], |row| row.get::<_, String>(0)).optional()?;
    while let Some(found) = next {
        let Some(rest) = found.strip_prefix(&prefix) else { break };
        next = match rest.split_once('/') {
            None => {
                names.insert(rest.to_string());
                after.query_row([&found, &end], |row| row.get::<_, String>(0)).optional()?
            }
            Some((child, _)) => {
                let past = format!("{prefix}{child}0");
                from.query_row([&past, &end], |row| row.get::<_, String>(0)).optional()?
            }
        };
    }
    Ok(names)
}

/// How many nodes the store holds, ephemerals aside.
pub fn count(conn: &Connection) -> rusqlite::Result<usize> {
    conn.query_row("SELECT count(*) FROM nodes WHERE kind <> ?1", [EPHEMERAL], |row| row.get::<_, i64>(0))
        .map(|n| n as usize)
}

/// The bytes of the paths and data of the nodes the store holds, ephemerals aside.
pub fn data_bytes(conn: &Connection) -> rusqlite::Result<usize> {
    conn.query_row(
        "SELECT coalesce(sum(length(CAST(path AS BLOB)) + coalesce(length(data), 0)), 0) FROM nodes WHERE kind <> ?1",
        [EPHEMERAL],
        |row| row.get::<_, i64>(0),
    )
    .map(|n| n as usize)
}

/// One row as a node: `Ok(Err(reason))` when its values are not valid.
fn read_node(
    row: &rusqlite::Row,
    acls: &mut HashMap<Option<String>, Arc<Vec<Acl>>>,
) -> rusqlite::Result<Result<(String, Node), String>> {
    let path: String = row.get(0)?;
    if let Err(PathError { reason, .. }) = zczk_core::path::validate(&path) {
        return Ok(Err(format!("node {path:?}: {reason}")));
    }
    let acl_text: Option<String> = row.get(2)?;
    let acl = match acls.get(&acl_text) {
        Some(acl) => acl.clone(),
        None => {
            let acl = match &acl_text {
                None => Acl::open(),
                Some(text) => match parse_acl(text) {
                    Some(acl) => acl,
                    None => return Ok(Err(format!("node {path}: bad ACL {text:?}"))),
                },
            };
            let acl = Arc::new(acl);
            acls.insert(acl_text, acl.clone());
            acl
        }
    };
    let kind = match (row.get::<_, i64>(3)?, row.get::<_, Option<i64>>(4)?, row.get::<_, Option<i64>>(13)?) {
        (0, None, None) => NodeKind::Persistent,
        (1, None, None) => NodeKind::Container,
        (2, Some(ms), None) if ms > 0 => NodeKind::Ttl(ms),
        (EPHEMERAL, None, Some(owner)) => NodeKind::Ephemeral(owner),
        (kind, ttl, owner) => {
            return Ok(Err(format!("node {path}: bad kind {kind} (ttl_ms {ttl:?}, owner {owner:?})")))
        }
    };
    let mut node = Node::new(row.get(1)?, acl, kind, row.get(5)?, row.get(8)?);
    node.mzxid = row.get(6)?;
    node.pzxid = row.get(7)?;
    node.mtime = row.get(9)?;
    node.version = row.get(10)?;
    node.creates = row.get(11)?;
    node.aversion = row.get(12)?;
    Ok(Ok((path, node)))
}

fn acl_text(acl: &[Acl]) -> String {
    let entries: Vec<(i32, &str, &str)> =
        acl.iter().map(|a| (a.perms.0, a.scheme.as_str(), a.id.as_str())).collect();
    serde_json::to_string(&entries).unwrap_or_default()
}

fn parse_acl(text: &str) -> Option<Vec<Acl>> {
    let entries: Vec<(i32, String, String)> = serde_json::from_str(text).ok()?;
    if entries.is_empty() {
        return None;
    }
    Some(entries.into_iter().map(|(perms, scheme, id)| Acl::new(Perms(perms), scheme, id)).collect())
}
