//! The one error type of the `Store` door: a ZooKeeper error code plus the operation and path.

use std::fmt;

use crate::message::{few, short};

/// ZooKeeper's error codes, as the server returns them (plus the client-side ones a store can
/// produce). The numeric value is ZooKeeper's own, so backends map them one to one.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// -2: a condition the server did not expect; also the result of the ops after a failed op
    /// in a `multi`.
    RuntimeInconsistency,
    /// -3
    DataInconsistency,
    /// -4: the connection to the server was lost; the request may or may not have been applied.
    ConnectionLoss,
    /// -5
    MarshallingError,
    /// -6: the server does not implement the request.
    Unimplemented,
    /// -7
    OperationTimeout,
    /// -8: invalid arguments (a bad path, a bad TTL, ...).
    BadArguments,
    /// -13
    NewConfigNoQuorum,
    /// -14
    ReconfigInProgress,
    /// -100
    ApiError,
    /// -101: the node does not exist.
    NoNode,
    /// -102: the session lacks the permission the operation needs.
    NoAuth,
    /// -103: the node's version is not the one the request expected.
    BadVersion,
    /// -108: ephemeral nodes cannot have children.
    NoChildrenForEphemerals,
    /// -110: the node already exists.
    NodeExists,
    /// -111: the node has children.
    NotEmpty,
    /// -112: the session has expired.
    SessionExpired,
    /// -113: the callback was invalid.
    InvalidCallback,
    /// -114: the ACL is invalid (empty, unknown scheme, bad id, `auth` with no identity).
    InvalidAcl,
    /// -115: authentication failed.
    AuthFailed,
    /// -118: the session moved to another server.
    SessionMoved,
    /// -119: a write was sent to a read-only server.
    NotReadOnly,
    /// -120: an ephemeral node already exists on the server.
    EphemeralOnLocalSession,
    /// -121: no watch matched a remove-watches request.
    NoWatcher,
    /// -122: the request was rejected because the server is overloaded.
    Throttled,
    /// -123: reconfiguration is disabled.
    ReconfigDisabled,
    /// -125: a quota was exceeded.
    QuotaExceeded,
    /// The session was closed by its owner; no further request can be made on it.
    SessionClosed,
    /// Any other code the server sent.
    Other(i32),
}

impl Code {
    /// ZooKeeper's numeric code (client-only codes get the closest server code).
    pub fn as_i32(self) -> i32 {
        match self {
            Code::RuntimeInconsistency => -2,
            Code::DataInconsistency => -3,
            Code::ConnectionLoss => -4,
            Code::MarshallingError => -5,
            Code::Unimplemented => -6,
            Code::OperationTimeout => -7,
            Code::BadArguments => -8,
            Code::NewConfigNoQuorum => -13,
            Code::ReconfigInProgress => -14,
            Code::ApiError => -100,
            Code::NoNode => -101,
            Code::NoAuth => -102,
            Code::BadVersion => -103,
            Code::NoChildrenForEphemerals => -108,
            Code::NodeExists => -110,
            Code::NotEmpty => -111,
            Code::SessionExpired => -112,
            Code::InvalidCallback => -113,
            Code::InvalidAcl => -114,
            Code::AuthFailed => -115,
            Code::SessionMoved => -118,
            Code::NotReadOnly => -119,
            Code::EphemeralOnLocalSession => -120,
            Code::NoWatcher => -121,
            Code::Throttled => -122,
            Code::ReconfigDisabled => -123,
            Code::QuotaExceeded => -125,
            Code::SessionClosed => -112,
            Code::Other(n) => n,
        }
    }

    /// The code for ZooKeeper's numeric value.
    pub fn from_i32(n: i32) -> Code {
        match n {
            -2 => Code::RuntimeInconsistency,
            -3 => Code::DataInconsistency,
            -4 => Code::ConnectionLoss,
            -5 => Code::MarshallingError,
            -6 => Code::Unimplemented,
            -7 => Code::OperationTimeout,
            -8 => Code::BadArguments,
            -13 => Code::NewConfigNoQuorum,
            -14 => Code::ReconfigInProgress,
            -100 => Code::ApiError,
            -101 => Code::NoNode,
            -102 => Code::NoAuth,
            -103 => Code::BadVersion,
            -108 => Code::NoChildrenForEphemerals,
            -110 => Code::NodeExists,
            -111 => Code::NotEmpty,
            -112 => Code::SessionExpired,
            -113 => Code::InvalidCallback,
            -114 => Code::InvalidAcl,
            -115 => Code::AuthFailed,
            -118 => Code::SessionMoved,
            -119 => Code::NotReadOnly,
            -120 => Code::EphemeralOnLocalSession,
            -121 => Code::NoWatcher,
            -122 => Code::Throttled,
            -123 => Code::ReconfigDisabled,
            -125 => Code::QuotaExceeded,
            n => Code::Other(n),
        }
    }

    /// True for the codes after which the session is gone for good (a new session is needed).
    pub fn is_session_lost(self) -> bool {
        matches!(self, Code::SessionExpired | Code::SessionClosed | Code::AuthFailed)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Code::RuntimeInconsistency => "runtime inconsistency",
            Code::DataInconsistency => "data inconsistency",
            Code::ConnectionLoss => "connection lost",
            Code::MarshallingError => "marshalling error",
            Code::Unimplemented => "not implemented by the server",
            Code::OperationTimeout => "operation timed out",
            Code::BadArguments => "bad arguments",
            Code::NewConfigNoQuorum => "new config has no quorum",
            Code::ReconfigInProgress => "reconfiguration in progress",
            Code::ApiError => "API error",
            Code::NoNode => "no such node",
            Code::NoAuth => "not authorized",
            Code::BadVersion => "version conflict (the node was changed by someone else)",
            Code::NoChildrenForEphemerals => "ephemeral nodes cannot have children",
            Code::NodeExists => "node already exists",
            Code::NotEmpty => "node has children",
            Code::SessionExpired => "session expired",
            Code::InvalidCallback => "invalid callback",
            Code::InvalidAcl => "invalid ACL",
            Code::AuthFailed => "authentication failed",
            Code::SessionMoved => "session moved",
            Code::NotReadOnly => "server is read-only",
            Code::EphemeralOnLocalSession => "ephemeral node on a local session",
            Code::NoWatcher => "no such watch",
            Code::Throttled => "request throttled",
            Code::ReconfigDisabled => "reconfiguration disabled",
            Code::QuotaExceeded => "quota exceeded",
            Code::SessionClosed => "session closed",
            Code::Other(n) => return write!(f, "ZooKeeper error code {n}"),
        };
        f.write_str(text)
    }
}

/// The operation a request made, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// `create`
    Create,
    /// `delete`
    Delete,
    /// `exists`
    Exists,
    /// `get data`
    GetData,
    /// `set data`
    SetData,
    /// `get children`
    GetChildren,
    /// `get ACL`
    GetAcl,
    /// `set ACL`
    SetAcl,
    /// `check` (in a multi)
    Check,
    /// `multi`
    Multi,
    /// `sync`
    Sync,
    /// `add watch` / `remove watch`
    Watch,
    /// `add auth`
    Auth,
    /// `connect`
    Connect,
    /// `close`
    Close,
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OpKind::Create => "create",
            OpKind::Delete => "delete",
            OpKind::Exists => "exists",
            OpKind::GetData => "get data",
            OpKind::SetData => "set data",
            OpKind::GetChildren => "get children",
            OpKind::GetAcl => "get ACL",
            OpKind::SetAcl => "set ACL",
            OpKind::Check => "check",
            OpKind::Multi => "multi",
            OpKind::Sync => "sync",
            OpKind::Watch => "watch",
            OpKind::Auth => "auth",
            OpKind::Connect => "connect",
            OpKind::Close => "close",
        })
    }
}

/// A failed request: the ZooKeeper code, the operation and the path it was made on.
///
/// Displays as one line: `create /a/b: node already exists` (a long path cut short).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{op} {}: {code}{}", short(.path), in_brackets(.detail))]
pub struct StoreError {
    /// What went wrong, as ZooKeeper says it.
    pub code: Code,
    /// The operation that failed.
    pub op: OpKind,
    /// The path the operation was made on (for a multi, the path of the failing op).
    pub path: String,
    /// Extra words for the reader (for example why an argument is bad).
    pub detail: Option<String>,
}

impl StoreError {
    /// An error with no detail.
    pub fn new(code: Code, op: OpKind, path: impl Into<String>) -> Self {
        StoreError { code, op, path: path.into(), detail: None }
    }

    /// The same error with a human explanation attached.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// True when the error has this code.
    pub fn is(&self, code: Code) -> bool {
        self.code == code
    }
}

/// Failed requests as one short line: failures with the same operation and reason share it
/// (`create /a, /b: not authorized`); the paths and the groups are cut by [`few`].
pub fn summarize(failures: &[StoreError]) -> String {
    let mut groups: Vec<(&StoreError, Vec<&str>)> = Vec::new();
    for failure in failures {
        let same = |(first, _): &&mut (&StoreError, Vec<&str>)| {
            (first.op, first.code, &first.detail) == (failure.op, failure.code, &failure.detail)
        };
        match groups.iter_mut().find(same) {
            Some((_, paths)) => paths.push(&failure.path),
            None => groups.push((failure, vec![&failure.path])),
        }
    }
    let groups: Vec<String> = groups
        .iter()
        .map(|(first, paths)| {
            let paths: Vec<_> = paths.iter().map(|p| short(p)).collect();
            format!("{} {}: {}{}", first.op, few(&paths, ", "), first.code, in_brackets(&first.detail))
        })
        .collect();
    few(&groups, "; ")
}

/// ` (detail)`, cut short, or nothing.
fn in_brackets(detail: &Option<String>) -> String {
    detail.as_deref().map(|d| format!(" ({})", short(d))).unwrap_or_default()
}

/// The failure of a `multi`: either one op failed (nothing was applied) or the request as a
/// whole failed (connection loss, expired session, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultiError {
    /// Op number `index` (0-based) failed with `error`; no op of the multi was applied.
    #[error("multi op {index} failed: {error}")]
    Op {
        /// Position of the failing op in the request.
        index: usize,
        /// The failing op's error (its code, kind and path).
        error: StoreError,
    },
    /// The request as a whole failed.
    #[error(transparent)]
    Request(StoreError),
}

impl MultiError {
    /// The underlying store error, whichever kind of failure this is.
    pub fn error(&self) -> &StoreError {
        match self {
            MultiError::Op { error, .. } | MultiError::Request(error) => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_group_failures_by_reason_and_cut_long_lists() {
        let mut failures: Vec<StoreError> =
            (0..5).map(|i| StoreError::new(Code::NoAuth, OpKind::Create, format!("/a{i}"))).collect();
        failures.insert(1, StoreError::new(Code::BadVersion, OpKind::SetData, "/b").with_detail("why"));
        assert_eq!(
            summarize(&failures),
            "create /a0, /a1, /a2, and 2 more: not authorized; set data /b: version conflict \
             (the node was changed by someone else) (why)"
        );
        let long = StoreError::new(Code::NoNode, OpKind::Delete, "/x".repeat(1_000_000));
        assert!(summarize(std::slice::from_ref(&long)).len() < 200);
        assert!(long.to_string().len() < 200);
    }
}
