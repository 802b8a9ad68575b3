//! ZooKeeper's client protocol records: the connect handshake, request headers and bodies,
//! reply headers and watch notifications, with the op codes and special xids.

use zczk_core::store::Acl;

use super::jute::{DecodeError, Reader, Writer};

/// Op codes of `RequestHeader.type`.
pub mod op {
    #![allow(missing_docs)]
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const EXISTS: i32 = 3;
    pub const GET_DATA: i32 = 4;
    pub const SET_DATA: i32 = 5;
    pub const GET_ACL: i32 = 6;
    pub const SET_ACL: i32 = 7;
    pub const GET_CHILDREN: i32 = 8;
    pub const SYNC: i32 = 9;
    pub const PING: i32 = 11;
    pub const GET_CHILDREN2: i32 = 12;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const RECONFIG: i32 = 16;
    pub const CHECK_WATCHES: i32 = 17;
    pub const REMOVE_WATCHES: i32 = 18;
    pub const CREATE_CONTAINER: i32 = 19;
    pub const DELETE_CONTAINER: i32 = 20;
    pub const CREATE_TTL: i32 = 21;
    pub const MULTI_READ: i32 = 22;
    pub const AUTH: i32 = 100;
    pub const SET_WATCHES: i32 = 101;
    pub const SASL: i32 = 102;
    pub const GET_EPHEMERALS: i32 = 103;
    pub const GET_ALL_CHILDREN_NUMBER: i32 = 104;
    pub const SET_WATCHES2: i32 = 105;
    pub const ADD_WATCH: i32 = 106;
    pub const WHO_AM_I: i32 = 107;
    pub const CLOSE_SESSION: i32 = -11;
    /// The type of a failed op in a multi response.
    pub const ERROR: i32 = -1;
}

/// Special xids.
pub mod xid {
    /// A watch notification.
    pub const NOTIFICATION: i32 = -1;
    /// A ping and its reply.
    pub const PING: i32 = -2;
}

/// The `KeeperState` of notifications sent on a live connection.
pub const STATE_SYNC_CONNECTED: i32 = 3;

/// The password length clients expect.
pub const PASSWORD_LEN: usize = 16;

/// A record could not be decoded, or names an op this server does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A field did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The op code is not ZooKeeper's.
    #[error("unknown op code {0}")]
    UnknownOp(i32),
    /// A request left bytes unread.
    #[error("{0} unexpected bytes after the request")]
    Trailing(usize),
}

/// The first frame of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    /// Always 0.
    pub protocol_version: i32,
    /// The last zxid the client saw (0 for a new client).
    pub last_zxid_seen: i64,
    /// The requested session timeout, ms.
    pub timeout_ms: i32,
    /// 0 for a new session, else the session to resume.
    pub session_id: i64,
    /// The session's password (anything for a new session).
    pub password: Vec<u8>,
    /// Whether the client accepts a read-only server (one cut off from its quorum).
    pub read_only: bool,
}

impl ConnectRequest {
    /// Decodes a connect frame (the trailing `readOnly` flag is optional, as for old clients).
    pub fn decode(frame: &[u8]) -> Result<ConnectRequest, DecodeError> {
        let mut r = Reader::new(frame);
        Ok(ConnectRequest {
            protocol_version: r.i32("protocolVersion")?,
            last_zxid_seen: r.i64("lastZxidSeen")?,
            timeout_ms: r.i32("timeOut")?,
            session_id: r.i64("sessionId")?,
            password: r.buffer("passwd")?.to_vec(),
            read_only: r.remaining() > 0 && r.bool("readOnly")?,
        })
    }

    /// Encodes the frame (for tests).
    #[cfg(any(test, feature = "wire-internals"))]
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.i32(self.protocol_version).i64(self.last_zxid_seen).i32(self.timeout_ms).i64(self.session_id);
        w.buffer(&self.password).bool(self.read_only);
        frame(w.buf)
    }
}

/// The `ConnectResponse` frame. A timeout of 0 tells the client its session is gone;
/// `read_only` that the server serves reads only (it is cut off from its quorum).
pub fn connect_response(timeout_ms: i32, session_id: i64, password: &[u8], read_only: bool) -> Vec<u8> {
    let mut w = Writer::default();
    w.i32(0).i32(timeout_ms).i64(session_id).buffer(password).bool(read_only);
    frame(w.buf)
}

/// Prefixes a payload with its length.
pub fn frame(payload: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&(payload.len() as i32).to_be_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Kinds of watches `checkWatches`/`removeWatches` name (`WatcherType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatcherType {
    /// Child watches.
    Children,
    /// Data (and exists) watches.
    Data,
    /// Every watch on the path.
    Any,
    /// The persistent watch.
    Persistent,
    /// The persistent recursive watch.
    PersistentRecursive,
}

/// The body of a create, whatever its op code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateBody {
    /// The op code it came with (create, create2, createContainer, createTTL).
    pub op: i32,
    /// Path of the new node.
    pub path: String,
    /// Its data; `None` is null.
    pub data: Option<Vec<u8>>,
    /// Its ACL.
    pub acl: Vec<Acl>,
    /// `CreateMode` flags.
    pub flags: i32,
    /// The TTL in ms (createTTL only).
    pub ttl: Option<i64>,
}

/// One op of a multi transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// A create.
    Create(CreateBody),
    /// A delete.
    Delete {
        /// Path.
        path: String,
        /// Version, -1 for any.
        version: i32,
    },
    /// A setData.
    SetData {
        /// Path.
        path: String,
        /// Data; `None` is null.
        data: Option<Vec<u8>>,
        /// Version, -1 for any.
        version: i32,
    },
    /// A version check.
    Check {
        /// Path.
        path: String,
        /// Expected version.
        version: i32,
    },
}

/// One op of a multiRead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOp {
    /// getData.
    GetData {
        /// Path.
        path: String,
        /// Leave a data watch.
        watch: bool,
    },
    /// getChildren.
    GetChildren {
        /// Path.
        path: String,
        /// Leave a child watch.
        watch: bool,
    },
}

/// The watches a reconnecting client re-registers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetWatches {
    /// The last zxid the client saw: changes after it fire at once.
    pub relative_zxid: i64,
    /// Data watches.
    pub data: Vec<String>,
    /// Exists watches (on nodes that did not exist).
    pub exist: Vec<String>,
    /// Child watches.
    pub child: Vec<String>,
    /// Persistent watches (setWatches2).
    pub persistent: Vec<String>,
    /// Persistent recursive watches (setWatches2).
    pub recursive: Vec<String>,
}

/// A decoded request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// ping.
    Ping,
    /// closeSession.
    CloseSession,
    /// create, create2, createContainer, createTTL.
    Create(CreateBody),
    /// delete.
    Delete {
        /// Path.
        path: String,
        /// Version, -1 for any.
        version: i32,
    },
    /// exists.
    Exists {
        /// Path.
        path: String,
        /// Leave a watch.
        watch: bool,
    },
    /// getData.
    GetData {
        /// Path.
        path: String,
        /// Leave a watch.
        watch: bool,
    },
    /// setData.
    SetData {
        /// Path.
        path: String,
        /// Data; `None` is null.
        data: Option<Vec<u8>>,
        /// Version, -1 for any.
        version: i32,
    },
    /// getACL.
    GetAcl {
        /// Path.
        path: String,
    },
    /// setACL.
    SetAcl {
        /// Path.
        path: String,
        /// The new ACL.
        acl: Vec<Acl>,
        /// ACL version, -1 for any.
        version: i32,
    },
    /// getChildren (`with_stat` false) and getChildren2.
    GetChildren {
        /// Path.
        path: String,
        /// Leave a watch.
        watch: bool,
        /// getChildren2: the reply carries the Stat.
        with_stat: bool,
    },
    /// sync.
    Sync {
        /// Path.
        path: String,
    },
    /// multi.
    Multi(Vec<MultiOp>),
    /// multiRead.
    MultiRead(Vec<ReadOp>),
    /// auth.
    Auth {
        /// Scheme (`digest`, ...).
        scheme: String,
        /// Credentials.
        auth: Vec<u8>,
    },
    /// setWatches and setWatches2.
    SetWatches(SetWatches),
    /// addWatch.
    AddWatch {
        /// Path.
        path: String,
        /// 0 persistent, 1 persistent recursive.
        mode: i32,
    },
    /// checkWatches (`remove` false) and removeWatches.
    RemoveWatches {
        /// Path.
        path: String,
        /// Which watches.
        kind: WatcherType,
        /// Remove them, or only check they exist.
        remove: bool,
    },
    /// whoAmI.
    WhoAmI,
    /// getEphemerals: the session's ephemerals whose paths start with `prefix`.
    GetEphemerals {
        /// A string prefix of the paths (`/` for all).
        prefix: String,
    },
    /// getAllChildrenNumber: the number of nodes below `path`.
    GetAllChildrenNumber {
        /// Path.
        path: String,
    },
    /// reconfig, with its body undecoded: a member that refuses it (reconfiguration disabled,
    /// ZooKeeper's default, or a lone server) refuses before reading the body, one that
    /// reconfigures decodes it with [`reconfig_body`].
    Reconfig(Vec<u8>),
    /// An op ZooKeeper has that this server does not implement (sasl, ...).
    Unimplemented(i32),
}

fn create_body(op: i32, r: &mut Reader<'_>) -> Result<CreateBody, DecodeError> {
    let path = r.string("path")?.to_string();
    let data = r.nullable_buffer("data")?.map(<[u8]>::to_vec);
    let acl = r.acls()?;
    let flags = r.i32("flags")?;
    let ttl = if op == op::CREATE_TTL { Some(r.i64("ttl")?) } else { None };
    Ok(CreateBody { op, path, data, acl, flags, ttl })
}

fn watcher_type(r: &mut Reader<'_>) -> Result<WatcherType, DecodeError> {
    Ok(match r.i32("watcherType")? {
        1 => WatcherType::Children,
        2 => WatcherType::Data,
        3 => WatcherType::Any,
        4 => WatcherType::Persistent,
        5 => WatcherType::PersistentRecursive,
        value => return Err(DecodeError::BadValue { field: "watcherType", value: value.into() }),
    })
}

/// The header before each op of a multi (or multiRead) request: the op's code, or `None` for
/// the closing header (`done`). The header's error field is unused in requests.
fn multi_header(r: &mut Reader<'_>) -> Result<Option<i32>, ProtocolError> {
    let kind = r.i32("multi op")?;
    let done = r.bool("multi done")?;
    let _err = r.i32("multi err")?;
    Ok((!done).then_some(kind))
}

fn multi(r: &mut Reader<'_>) -> Result<Vec<MultiOp>, ProtocolError> {
    let mut ops = Vec::new();
    loop {
        let Some(kind) = multi_header(r)? else { return Ok(ops) };
        ops.push(match kind {
            op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => {
                MultiOp::Create(create_body(kind, r)?)
            }
            op::DELETE => MultiOp::Delete { path: r.string("path")?.into(), version: r.i32("version")? },
            op::SET_DATA => MultiOp::SetData {
                path: r.string("path")?.into(),
                data: r.nullable_buffer("data")?.map(<[u8]>::to_vec),
                version: r.i32("version")?,
            },
            op::CHECK => MultiOp::Check { path: r.string("path")?.into(), version: r.i32("version")? },
            other => return Err(ProtocolError::UnknownOp(other)),
        });
    }
}

fn multi_read(r: &mut Reader<'_>) -> Result<Vec<ReadOp>, ProtocolError> {
    let mut ops = Vec::new();
    loop {
        let Some(kind) = multi_header(r)? else { return Ok(ops) };
        let path = r.string("path")?.to_string();
        let watch = r.bool("watch")?;
        ops.push(match kind {
            op::GET_DATA => ReadOp::GetData { path, watch },
            op::GET_CHILDREN => ReadOp::GetChildren { path, watch },
            other => return Err(ProtocolError::UnknownOp(other)),
        });
    }
}

/// Decodes the body of a reconfig request (ZooKeeper's `ReconfigRequest`: joining servers,
/// leaving servers, new members, each a `ustring` that may be null, then `curConfigId`).
pub(crate) fn reconfig_body(body: &[u8]) -> Result<crate::ensemble::ReconfigRequest, DecodeError> {
    let mut r = Reader::new(body);
    let mut text = |field| -> Result<Option<String>, DecodeError> {
        match r.nullable_buffer(field)? {
            None => Ok(None),
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => Ok(Some(text.to_string())),
                Err(_) => Err(DecodeError::NotUtf8 { field }),
            },
        }
    };
    let (joining, leaving, new_members) =
        (text("joiningServers")?, text("leavingServers")?, text("newMembers")?);
    let from_config = r.i64("curConfigId")?;
    Ok(crate::ensemble::ReconfigRequest { joining, leaving, new_members, from_config })
}

/// Decodes a request frame (after the handshake): `(xid, op code, body)`.
pub fn decode_request(frame: &[u8]) -> Result<(i32, i32, Request), ProtocolError> {
    let mut r = Reader::new(frame);
    let xid = r.i32("xid")?;
    let kind = r.i32("type")?;
    let r = &mut r;
    let request = match kind {
        op::PING => Request::Ping,
        op::CLOSE_SESSION => Request::CloseSession,
        op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => {
            Request::Create(create_body(kind, r)?)
        }
        op::DELETE => Request::Delete { path: r.string("path")?.into(), version: r.i32("version")? },
        op::EXISTS => Request::Exists { path: r.string("path")?.into(), watch: r.bool("watch")? },
        op::GET_DATA => Request::GetData { path: r.string("path")?.into(), watch: r.bool("watch")? },
        op::SET_DATA => Request::SetData {
            path: r.string("path")?.into(),
            data: r.nullable_buffer("data")?.map(<[u8]>::to_vec),
            version: r.i32("version")?,
        },
        op::GET_ACL => Request::GetAcl { path: r.string("path")?.into() },
        op::SET_ACL => {
            Request::SetAcl { path: r.string("path")?.into(), acl: r.acls()?, version: r.i32("version")? }
        }
        op::GET_CHILDREN | op::GET_CHILDREN2 => Request::GetChildren {
            path: r.string("path")?.into(),
            watch: r.bool("watch")?,
            with_stat: kind == op::GET_CHILDREN2,
        },
        op::SYNC => Request::Sync { path: r.string("path")?.into() },
        op::MULTI => Request::Multi(multi(r)?),
        op::MULTI_READ => Request::MultiRead(multi_read(r)?),
        op::AUTH => {
            let _type = r.i32("auth type")?;
            Request::Auth { scheme: r.string("scheme")?.into(), auth: r.buffer("auth")?.to_vec() }
        }
        op::SET_WATCHES | op::SET_WATCHES2 => {
            let mut w = SetWatches {
                relative_zxid: r.i64("relativeZxid")?,
                data: r.strings("dataWatches")?,
                exist: r.strings("existWatches")?,
                child: r.strings("childWatches")?,
                ..SetWatches::default()
            };
            if kind == op::SET_WATCHES2 {
                w.persistent = r.strings("persistentWatches")?;
                w.recursive = r.strings("persistentRecursiveWatches")?;
            }
            Request::SetWatches(w)
        }
        op::ADD_WATCH => Request::AddWatch { path: r.string("path")?.into(), mode: r.i32("mode")? },
        op::CHECK_WATCHES | op::REMOVE_WATCHES => Request::RemoveWatches {
            path: r.string("path")?.into(),
            kind: watcher_type(r)?,
            remove: kind == op::REMOVE_WATCHES,
        },
        op::WHO_AM_I => Request::WhoAmI,
        op::GET_EPHEMERALS => Request::GetEphemerals { prefix: r.string("prefixPath")?.into() },
        op::GET_ALL_CHILDREN_NUMBER => Request::GetAllChildrenNumber { path: r.string("path")?.into() },
        // After the header's xid and type.
        op::RECONFIG => return Ok((xid, kind, Request::Reconfig(frame[8..].to_vec()))),
        op::CHECK | op::DELETE_CONTAINER | op::SASL => {
            // Known ops whose bodies we do not read: the reply says Unimplemented.
            return Ok((xid, kind, Request::Unimplemented(kind)));
        }
        other => return Err(ProtocolError::UnknownOp(other)),
    };
    if r.remaining() != 0 {
        return Err(ProtocolError::Trailing(r.remaining()));
    }
    Ok((xid, kind, request))
}

/// Starts a reply frame: length placeholder, then `ReplyHeader{xid, zxid, err}`.
/// [`finish_reply`] fills in the length; the zxid may be patched with [`set_zxid`].
pub fn start_reply(xid: i32, err: i32) -> Writer {
    let mut w = Writer::default();
    w.i32(0).i32(xid).i64(0).i32(err);
    w
}

/// Fills in the length of a frame started by [`start_reply`].
pub fn finish_reply(mut w: Writer) -> Vec<u8> {
    let len = (w.buf.len() - 4) as i32;
    w.buf[..4].copy_from_slice(&len.to_be_bytes());
    w.buf
}

/// Writes the header zxid of a finished reply frame.
pub fn set_zxid(frame: &mut [u8], zxid: i64) {
    frame[8..16].copy_from_slice(&zxid.to_be_bytes());
}

/// A watch notification frame: `ReplyHeader{-1, -1, 0}` and `WatcherEvent{type, state, path}`.
pub fn notification(event_type: i32, path: &str) -> Vec<u8> {
    let mut w = start_reply(xid::NOTIFICATION, 0);
    w.i32(event_type).i32(STATE_SYNC_CONNECTED).string(path);
    let mut out = finish_reply(w);
    set_zxid(&mut out, -1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(xid: i32, kind: i32, body: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::default();
        w.i32(xid).i32(kind);
        body(&mut w);
        w.buf
    }

    #[test]
    fn requests_decode() {
        let f = request(7, op::GET_DATA, |w| {
            w.string("/a").bool(true);
        });
        assert_eq!(decode_request(&f).unwrap(), (7, 4, Request::GetData { path: "/a".into(), watch: true }));
        let f = request(8, op::CREATE_TTL, |w| {
            w.string("/t").buffer(b"d").acls(&Acl::open()).i32(5).i64(1000);
        });
        let (_, _, Request::Create(body)) = decode_request(&f).unwrap() else { panic!("not a create") };
        assert_eq!((body.flags, body.ttl, body.data.as_deref()), (5, Some(1000), Some(&b"d"[..])));
        let f = request(9, op::MULTI, |w| {
            w.i32(op::CHECK).bool(false).i32(-1).string("/a").i32(3);
            w.i32(op::DELETE).bool(false).i32(-1).string("/b").i32(-1);
            w.i32(-1).bool(true).i32(-1);
        });
        let (_, _, Request::Multi(ops)) = decode_request(&f).unwrap() else { panic!("not a multi") };
        assert_eq!(
            ops,
            [
                MultiOp::Check { path: "/a".into(), version: 3 },
                MultiOp::Delete { path: "/b".into(), version: -1 }
            ]
        );
    }

    #[test]
    fn bad_requests_are_errors() {
        assert_eq!(decode_request(&request(1, 999, |_| {})), Err(ProtocolError::UnknownOp(999)));
        let f = request(1, op::EXISTS, |w| {
            w.string("/a").bool(false).i32(5);
        });
        assert_eq!(decode_request(&f), Err(ProtocolError::Trailing(4)));
        let f = request(1, op::SET_DATA, |w| {
            w.string("/a");
        });
        assert!(matches!(decode_request(&f), Err(ProtocolError::Decode(_))));
    }

    #[test]
    fn connect_round_trips() {
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 5,
            timeout_ms: 4000,
            session_id: 9,
            password: vec![1; 16],
            read_only: true,
        };
        assert_eq!(ConnectRequest::decode(&req.encode()[4..]).unwrap(), req);
    }
}
